"""Residual-driven adaptivity: the RAD draw follows its density, RBA and causal weights follow their rules,
and a run that resamples and reweights resumes bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.levers import causal_scale, rad_points, rba_update


def test_rad_draws_from_the_stated_density():
    """|r(x)| = x on [0, 1], k = 1, c = 1: p(x) ∝ x / E[x] + 1 = 2x + 1, normalised (2x + 1) / 2.

    Weighted sampling without replacement of 2000 of 20000 candidates follows p closely (10% of the
    candidates are taken, so the depletion bias is small); the histogram is compared with the density's
    bin masses."""
    domain = kp.Interval(0.0, 1.0)
    x = rad_points(domain, lambda pts: pts, 2000, 1.0, 1.0, seed=3, dtype=torch.float64, device="cpu")
    assert x.shape == (2000, 1) and len(torch.unique(x)) == 2000
    counts, edges = np.histogram(x[:, 0].numpy(), bins=10, range=(0, 1))
    lo, hi = edges[:-1], edges[1:]
    mass = ((hi**2 + hi) - (lo**2 + lo)) / 2  # ∫ (2x + 1)/2 dx over each bin
    expected = 2000 * mass
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 30  # 9 degrees of freedom: p < 5e-4 for a right density
    uniform = np.full(10, 200.0)
    assert float(((counts - uniform) ** 2 / uniform).sum()) > 60  # and clearly not uniform


def test_rad_with_k_zero_is_uniform_and_is_a_function_of_the_seed():
    domain = kp.Interval(0.0, 1.0)
    a = rad_points(domain, lambda pts: pts**3, 500, 0.0, 1.0, seed=5, dtype=torch.float64, device="cpu")
    b = rad_points(domain, lambda pts: pts**3, 500, 0.0, 1.0, seed=5, dtype=torch.float64, device="cpu")
    assert torch.equal(a, b)
    counts, _ = np.histogram(a[:, 0].numpy(), bins=5, range=(0, 1))
    assert counts.min() > 70  # 100 expected per bin


def test_rba_follows_its_rule():
    rows = torch.tensor([[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)  # |r| = 5, 1, 0
    w = rba_update(torch.ones(3, dtype=torch.float64), rows, gamma=0.9, eta=0.5)
    assert torch.allclose(w, torch.tensor([0.9 + 0.5, 0.9 + 0.1, 0.9], dtype=torch.float64), atol=1e-15)


def test_causal_weights_are_monotone_in_time_and_normalised():
    t = torch.linspace(0, 1, 400, dtype=torch.float64)
    rows = (1 + torch.sin(7 * t))[:, None]  # every slice has a positive loss
    scale = causal_scale(t, rows, epsilon=0.5, slices=8, t0=0.0, t1=1.0)
    w = scale**2
    assert bool((w[1:] <= w[:-1] + 1e-15).all())  # later times never weigh more
    assert w[0] > w[-1] * 5  # and clearly less at the end
    index = (t * 8).floor().clamp(max=7).long()
    per_slice = torch.stack([w[index == i][0] for i in range(8)])
    assert float(per_slice.sum()) == pytest.approx(8.0, rel=1e-12)
    flat = causal_scale(t, torch.zeros_like(rows), epsilon=0.5, slices=8, t0=0.0, t1=1.0)
    assert torch.allclose(flat, torch.ones_like(flat))  # resolved everywhere: no preference


OPTIONS = {
    "optimizer": [("adam", 4), ("lm", 4)],
    "grids": (3, 6),
    "n_interior": 60,
    "n_boundary": 12,
    "n_initial": 12,
}


@pytest.mark.parametrize(
    "extra",
    [{"resample_every": 3}, {"point_weights": "rba"}, {"causal": 1.0, "causal_slices": 4}],
    ids=["rad", "rba", "causal"],
)
def test_adaptive_runs_resume_bit_identically(tmp_path, extra):
    problem = kp.load_problem("heat1d")
    full = kp.solve(problem, kp.KAN([2, 3, 1], grid=3), **OPTIONS, **extra)
    part = kp.solve(problem, kp.KAN([2, 3, 1], grid=3), stop_after=7, **OPTIONS, **extra)
    done = kp.resume(kp.load(part.save(tmp_path / "p.pt")))
    for p, q in zip(full.ansatz.parameters(), done.ansatz.parameters(), strict=True):
        assert torch.equal(p, q)
    if "resample_every" in extra:
        assert full.trainer_state.levers[0]["count"] == 5  # before steps 4, 7, 10, 13 and 16 of 16
        assert not torch.equal(full.trainer_state.interior, part.trainer_state.interior)
    else:
        factors = [state for state in full.trainer_state.levers if "weights" in state or "scale" in state]
        assert next(iter(factors[0].values())).shape == (60,)


@pytest.mark.parametrize(
    ("optimizer", "extra"),
    [("lm", {"resample_every": 10}), ("lbfgs", {"causal": 1.0})],
    ids=["lm-rad", "lbfgs-causal"],
)
def test_a_redefined_loss_does_not_end_the_stage(optimizer, extra):
    """A loss that rises on RAD's new points or under new weights is neither a stall nor a failed line
    search. (Before the optimisers dropped what they had measured on the old loss, Levenberg-Marquardt ended
    this stage after its first resample, at step 21 of 30, and L-BFGS with causal weights after one step.)"""
    sol = kp.solve(
        kp.load_problem("heat1d"),
        kp.KAN([2, 3, 1], grid=3),
        optimizer=optimizer,
        steps=30,
        grids=(3,),
        n_interior=40,
        n_boundary=12,
        n_initial=12,
        **extra,
    )
    assert sol.history[-1]["step"] == 30
    assert not any(record.get("stopped") for record in sol.history)


def test_resampling_moves_points_to_where_the_residual_is():
    """After a few steps on burgers1d the residual peaks at the forming shock (x = 0, late t): RAD puts
    more points near x = 0 than the uniform Sobol set does."""
    problem = kp.load_problem("burgers1d")
    options = {
        "optimizer": "adam",
        "steps": 30,
        "grids": (5,),
        "n_interior": 400,
        "n_boundary": 40,
        "n_initial": 40,
    }
    sol = kp.solve(problem, kp.KAN([2, 5, 1]), resample_every=29, resample_k=2.0, resample_c=0.0, **options)
    x = sol.trainer_state.interior
    near = float(((x[:, 0].abs() < 0.2) & (x[:, 1] > 0.3)).double().mean())
    assert near > 0.2 * 0.7 * 1.5  # the uniform share of that region is 0.2 * 0.7 = 0.14


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"resample_every": 0}, ValueError, "resample_every must be a positive integer"),
        ({"resample_k": -1.0}, ValueError, "resample_k must be a finite number >= 0"),
        ({"resample_k": 0.0, "resample_c": 0.0}, ValueError, "defines no density"),
        ({"point_weights": "softmax"}, ValueError, "unknown point_weights 'softmax'; valid ones: None, rba"),
        ({"causal": 0.0}, ValueError, "causal must be a finite number > 0"),
        ({"causal_slices": 0}, ValueError, "causal_slices must be a positive integer"),
    ],
)
def test_bad_adaptive_options(options, error, match):
    with pytest.raises(error, match=match):
        kp.SolveSettings(**options)


def test_causal_needs_time():
    with pytest.raises(ValueError, match="causal weighting needs a time-dependent problem"):
        kp.solve(kp.load_problem("poisson1d"), kp.KAN([1, 3, 1]), causal=1.0)
