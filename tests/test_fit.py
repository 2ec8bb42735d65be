"""Supervised fitting with :func:`kanpde.fit`: the two-moons example of the KAN paper's tutorials.

Two interleaving half circles with Gaussian noise (0.1), 1000 training and 1000 test points per seed,
classified by a single-layer KAN ``[2, 1]`` with G = 3 cubic splines fit by 20 L-BFGS steps on the mean
squared error against labels in {0, 1}; predictions are rounded to the nearer class.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp

F64 = torch.float64
BOUNDS = ((-1.5, -1.0), (2.5, 1.5))  # covers the data of every seed with room for the noise


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``(n, 2)`` on two interleaving half circles, labels ``(n,)`` in {0, 1}.

    Class 0: ``(cos s, sin s)``; class 1: ``(1 - cos s, 1/2 - sin s)``, ``s`` uniform in ``[0, pi]``; then
    Gaussian noise of standard deviation ``noise`` on both coordinates, and a random shuffle.
    """
    n0 = n // 2
    n1 = n - n0
    s0 = rng.uniform(0.0, math.pi, n0)
    s1 = rng.uniform(0.0, math.pi, n1)
    upper = np.stack([np.cos(s0), np.sin(s0)], axis=1)  # (n0, 2)
    lower = np.stack([1.0 - np.cos(s1), 0.5 - np.sin(s1)], axis=1)  # (n1, 2)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    order = rng.permutation(n)
    return torch.tensor(x[order], dtype=F64), torch.tensor(y[order], dtype=F64)


def _data(seed: int):
    rng = np.random.default_rng(seed)
    train = two_moons(1000, 0.1, rng)
    test = two_moons(1000, 0.1, rng)
    return train, test


def _accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        pred = model(x)[:, 0].round().clamp(0, 1)
    return float((pred == y).double().mean())


def test_two_moons_generator() -> None:
    (x, y), (xt, yt) = _data(0)
    assert x.shape == (1000, 2) and y.shape == (1000,) and x.dtype == F64
    assert int(y.sum()) == 500
    assert not torch.equal(x, xt)  # train and test are independent draws
    (x2, _), _ = _data(0)
    assert torch.equal(x, x2)  # reproducible by seed
    lo, hi = torch.tensor(BOUNDS[0], dtype=F64), torch.tensor(BOUNDS[1], dtype=F64)
    for s in range(3):
        for pts, _ in _data(s):
            assert bool((pts > lo).all() and (pts < hi).all())
    # noise-free radii: class 0 lies on the unit circle around the origin, class 1 around (1, 0.5)
    r0 = torch.linalg.vector_norm(x[y == 0], dim=1)
    r1 = torch.linalg.vector_norm(x[y == 1] - torch.tensor([1.0, 0.5], dtype=F64), dim=1)
    assert abs(float(r0.mean()) - 1.0) < 0.02 and abs(float(r1.mean()) - 1.0) < 0.02
    assert 0.07 < float(r0.std()) < 0.13


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_moons_lbfgs_accuracy(seed: int) -> None:
    (x, y), (xt, yt) = _data(seed)
    model = kp.KAN([2, 1], grid=3, k=3, input_bounds=BOUNDS)
    assert model.num_parameters == 2 * 1 * (3 + 3 + 2) + 1
    history = kp.fit(model, x, y, optimizer="lbfgs", steps=20)
    assert len(history) == 20 and [h["step"] for h in history] == list(range(1, 21))
    losses = [h["loss"] for h in history]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.1 * losses[0]
    assert losses[-1] < 0.05
    assert _accuracy(model, x, y) >= 0.99
    assert _accuracy(model, xt, yt) >= 0.99


def test_two_moons_adam_decreases_loss() -> None:
    (x, y), (xt, yt) = _data(0)
    model = kp.KAN([2, 1], grid=3, k=3, input_bounds=BOUNDS)
    history = kp.fit(model, x, y, optimizer="adam", steps=60, lr=1e-2)
    losses = [h["loss"] for h in history]
    assert len(losses) == 60
    assert losses[-1] < 0.3 * losses[0]
    assert min(losses[-10:]) <= min(losses[:10])
    with torch.no_grad():
        final = float((model(x)[:, 0] - y).square().mean())
    assert final < losses[-1]  # history holds the loss before each step; the step improved it
    assert _accuracy(model, xt, yt) >= 0.8  # well on its way (L-BFGS reaches 0.99 in 20 steps)


def test_fit_arguments() -> None:
    (x, y), _ = _data(0)
    model = kp.KAN([2, 1], grid=3, input_bounds=BOUNDS)
    with pytest.raises(ValueError, match=r"x has 1000 rows but y has 999; pass one target per point"):
        kp.fit(model, x, y[:-1])
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgd' for fit; valid ones: lbfgs, adam"):
        kp.fit(model, x, y, optimizer="sgd")
    with pytest.raises(TypeError, match=r"fit takes torch tensors"):
        kp.fit(model, x.numpy(), y)
    with pytest.raises(TypeError, match=r"input dtype torch\.float32 does not match"):
        kp.fit(model, x.float(), y.float())
