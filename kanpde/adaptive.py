"""Residual-driven adaptivity during training: resampling the collocation points and weighting them.

* **RAD resampling** (Wu et al. 2023, "A comprehensive study of non-adaptive and residual-based adaptive
  sampling for PINNs"): every ``resample_every`` steps the interior points are drawn anew from the density
  ``p(x) ∝ |r(x)|^k / E|r|^k + c`` over the domain, by weighted sampling without replacement from a fresh
  uniform candidate set ten times as large (:func:`rad_points`). ``|r|`` is the Euclidean norm of the PDE's
  equations at a point. ``k = 1, c = 1`` are the robust defaults of the paper; ``c`` keeps a uniform share.
  The number of points stays fixed (fixed shapes keep compiled graphs valid).
* **Residual-based attention** (RBA; Anagnostopoulos et al. 2024): per-point multipliers of the PDE's
  residual rows, ``λ_n ← γ λ_n + η |r_n| / max_m |r_m|`` after every step (``γ = 0.999``, ``η = 0.01``),
  starting from ``λ = 1`` and used normalised to mean 1 (:func:`rba_update`).
* **Causal weighting** (Wang, Sankaran & Perdikaris 2022) for time-dependent problems: the interior points
  fall into ``M`` time slices; with ``L_i`` the mean squared residual of slice ``i``, slice ``i`` gets the
  weight ``w_i = exp(-ε Σ_{k<i} L_k)`` (so later times train only once earlier ones are resolved); the rows
  are multiplied by ``sqrt(M w_i / Σ w)`` (:func:`causal_scale`). ``w`` is non-increasing in time by
  construction.

The factors multiply the PDE's rows of the stacked residual (:meth:`kanpde.loss.PINNLoss.set_scale`); they
are constants for the optimiser within a step and travel with the trainer's state, so resume stays
bit-identical.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["rad_points", "rba_update", "causal_scale", "residual_norm", "RBA_GAMMA", "RBA_ETA"]

RBA_GAMMA = 0.999
RBA_ETA = 0.01
CANDIDATES = 10
"""Candidates per point drawn for a RAD resampling."""


def residual_norm(rows: Tensor) -> Tensor:
    """``|r_n|``: the Euclidean norm over the equations of rows ``(N, C)``, shape ``(N,)``."""
    return torch.linalg.vector_norm(rows, dim=1)


def rad_points(domain, residual_at, n: int, k: float, c: float, seed: int, dtype, device) -> Tensor:
    """``n`` interior points drawn with density ``∝ |r|^k / mean |r|^k + c`` from ``10 n`` uniform candidates.

    ``residual_at(x) -> (M, C)`` evaluates the PDE's residual rows; the draw (without replacement, by the
    exponential-keys method: keys ``E_m / p_m`` with ``E_m`` standard exponential, the ``n`` smallest kept)
    is a pure function of ``seed`` and the residuals.
    """
    candidates = domain.sample_interior(
        CANDIDATES * n, sampler="random", seed=seed, dtype=dtype, device=device
    )
    with torch.no_grad():
        r = residual_norm(residual_at(candidates)).double().cpu().numpy()  # (M,)
    r = np.nan_to_num(r, nan=0.0, posinf=0.0)
    power = r**k
    mean = power.mean()
    p = (power / mean if mean > 0 else np.zeros_like(power)) + c
    keys = np.random.default_rng(seed).exponential(size=p.shape) / p
    chosen = np.sort(np.argpartition(keys, n - 1)[:n])
    return candidates[torch.as_tensor(chosen, device=candidates.device)]


def rba_update(weights: Tensor, rows: Tensor, gamma: float = RBA_GAMMA, eta: float = RBA_ETA) -> Tensor:
    """One RBA step: ``λ ← γ λ + η |r| / max |r|`` for rows ``(N, C)``."""
    r = residual_norm(rows)
    top = r.max()
    return gamma * weights + (eta * r / top if float(top) > 0 else 0.0)


def causal_scale(t: Tensor, rows: Tensor, epsilon: float, slices: int, t0: float, t1: float) -> Tensor:
    """Row factors ``sqrt(M w_i / Σ w)`` of causal weighting for points at times ``t`` ``(N,)`` with residual
    rows ``(N, C)``, ``M = slices`` equal slices of ``[t0, t1]``."""
    index = ((t - t0) / (t1 - t0) * slices).floor().clamp(0, slices - 1).long()  # (N,)
    squares = rows.square().sum(dim=1)
    sums = torch.zeros(slices, dtype=rows.dtype, device=rows.device).index_add_(0, index, squares)
    counts = torch.zeros(slices, dtype=rows.dtype, device=rows.device).index_add_(
        0, index, torch.ones_like(squares)
    )
    losses = sums / counts.clamp(min=1)  # L_i
    before = torch.cat([losses.new_zeros(1), torch.cumsum(losses, 0)[:-1]])  # Σ_{k<i} L_k
    w = torch.exp(-epsilon * before)
    w = w * slices / w.sum()
    return torch.sqrt(w)[index]
