"""A small dense Levenberg-Marquardt solver for a few constants (edge fits and formula refinement).

``min_θ |r(θ)|²`` with ``fun(θ) -> (r, J)``, ``r`` of shape ``(M,)`` and its Jacobian ``J`` ``(M, K)``.
Each step solves ``(JᵀJ + λ D) δ = -Jᵀr`` with Marquardt's scaling ``D = diag(JᵀJ)`` (floored, so
redundant constants, whose columns are zero or dependent, stay solvable); a step is taken when the gain
ratio ``ρ = (|r|² - |r(θ+δ)|²) / (|r|² - |r + Jδ|²)`` is positive, then ``λ ← λ max(1/3, 1 - (2ρ - 1)³)``,
otherwise ``λ ← λ ν``, ``ν ← 2ν`` (Nielsen's rule). It stops at ``max_steps``, when the cost is zero, when
three accepted steps in a row lower the cost by less than ``ftol`` of it, when it reaches ``target``, or when
no damping helps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["least_squares"]

Residual = Callable[[Tensor], tuple[Tensor, Tensor]]


def least_squares(
    fun: Residual,
    theta: Tensor,
    *,
    max_steps: int = 100,
    ftol: float = 1e-14,
    target: float = 0.0,
    damping: float = 1e-3,
    stop: Callable[[], bool] | None = None,
) -> tuple[Tensor, float]:
    """Minimise ``|r(θ)|²`` from ``theta`` ``(K,)``; returns the best ``θ`` and its cost. It also stops once the
    cost is at most ``target``, and before a step when ``stop()`` returns ``True`` (a time budget)."""
    theta = theta.detach().clone()
    if theta.numel() == 0:
        r, _ = fun(theta)
        return theta, float(r @ r)
    r, jac = fun(theta)
    cost = float(r @ r)
    lam, nu, stalls = damping, 2.0, 0
    for _ in range(max_steps):
        if cost <= target or not math.isfinite(cost) or (stop is not None and stop()):
            break
        a, g = jac.T @ jac, jac.T @ r  # (K, K), (K,)
        diag = a.diagonal().clamp(min=1e-12 * float(a.diagonal().max().clamp(min=1e-300)))
        delta = _solve(a + lam * torch.diag(diag), -g)
        if delta is None:
            lam, nu = lam * nu, nu * 2
            continue
        r_new, jac_new = fun(theta + delta)
        new = float(r_new @ r_new)
        predicted = -float(2 * g @ delta + delta @ (a @ delta))
        rho = (cost - new) / predicted if predicted > 0 else -1.0
        if math.isfinite(new) and rho > 0:
            stalls = stalls + 1 if cost - new <= ftol * cost else 0
            theta, r, jac, cost = theta + delta, r_new, jac_new, new
            lam, nu = lam * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
            if stalls >= 3:
                break
        else:
            lam, nu = lam * nu, nu * 2
            if lam > 1e16:
                break
    return theta, cost


def _solve(matrix: Tensor, rhs: Tensor) -> Tensor | None:
    """``matrix⁻¹ rhs`` by Cholesky; ``None`` when the damped matrix is not positive definite."""
    factor, info = torch.linalg.cholesky_ex(matrix)
    if int(info) != 0:
        return None
    out = torch.cholesky_solve(rhs[:, None], factor)[:, 0]
    return out if bool(torch.isfinite(out).all()) else None
