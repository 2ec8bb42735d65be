"""Fitting a model to data: ``kp.fit(model, x, y)`` minimises the mean squared error (plus, for a KAN, the
sparsity penalty on its edge magnitudes) with L-BFGS or Adam, in place."""

from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from ._checks import check_positive_int, check_positive_real
from .models import is_kan
from .optim import LBFGS, Adam, Objective

__all__ = ["fit"]


class _DataLoss:
    """``mean |model(x) - y|^2``, plus ``weight`` times the KAN's sparsity penalty when ``weight > 0``."""

    mode = "autograd"

    def __init__(self, x: Tensor, y: Tensor, weight: float) -> None:
        self.x, self.y, self.weight = x, y, weight
        self.names = ["mse", "sparsity"] if weight > 0 else ["mse"]

    def __call__(self, model: nn.Module) -> tuple[Tensor, Tensor]:
        mse = (model(self.x) - self.y).square().mean()
        if self.weight == 0:
            return mse, mse[None]
        penalty = self.weight * model.sparsity_penalty(self.x)
        return mse + penalty, torch.stack([mse, penalty])


def fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    optimizer: str = "lbfgs",
    steps: int = 20,
    lr: float = 1e-2,
    sparsity: float = 0.0,
) -> list[dict]:
    """Fit ``model`` to data in place, minimising ``mean |model(x) - y|^2`` (plus ``sparsity`` times the
    penalty on edge magnitudes, :meth:`kanpde.KAN.sparsity_penalty`, KANs only); returns the history.

    ``x`` is ``(N, d)`` and ``y`` ``(N,)`` or ``(N, n_out)``; ``optimizer`` is ``"lbfgs"`` or ``"adam"``.
    """
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError("fit takes torch tensors x (N, d) and y (N,) or (N, n_out)")
    if y.ndim == 1:
        y = y[:, None]  # (N, 1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; pass one target per point")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"unknown optimizer {optimizer!r} for fit; valid ones: lbfgs, adam")
    weight = check_positive_real("sparsity", sparsity, allow_zero=True)
    if weight > 0 and not is_kan(model):
        raise ValueError(f"sparsity applies to KAN models (edge magnitudes), got {type(model).__name__}")
    objective = Objective(model, _DataLoss(x, y, weight))
    opt = Adam(objective, lr=lr) if optimizer == "adam" else LBFGS(objective)
    history = []
    start = time.perf_counter()
    for i in range(check_positive_int("steps", steps)):
        result = opt.step()
        history.append({"step": i + 1, "loss": float(result.loss), "seconds": time.perf_counter() - start})
    return history
