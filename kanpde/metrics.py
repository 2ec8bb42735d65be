"""Pure error measures between a prediction and a reference on the same points.

With ``e = u - u*`` on ``N`` evaluation points (a regular grid, so sums approximate integrals up to the
common cell volume):

* ``relative_l2 = ||e|| / ||u*||``
* ``max_abs = max |e|``
* ``relative_h1 = sqrt(||e||^2 + ||∇e||^2) / sqrt(||u*||^2 + ||∇u*||^2)`` (spatial gradient).

Norms are scaled (``||t|| = m ||t / m||`` with ``m = max |t|``), so values near the ends of the float
range (``1e160``, ``1e-162``) neither overflow nor underflow. A truth holding NaN or infinite values gives
a NaN (or infinite) measure and a ``RuntimeWarning`` saying how many values are not finite.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

__all__ = ["relative_l2", "max_abs", "relative_h1"]


def _warn_non_finite(exact: Tensor, what: str) -> None:
    bad = int((~torch.isfinite(exact)).sum())
    if bad:
        warnings.warn(
            f"{what}: the exact solution or reference holds {bad} NaN or infinite value(s) of {exact.numel()}; "
            "the error is not finite. Check the exact solution (or the reference file) at the evaluation points",
            RuntimeWarning,
            stacklevel=3,
        )


def _scaled_sum_squares(t: Tensor) -> tuple[Tensor, Tensor]:
    """``(m, s)`` with ``sum(t^2) = m^2 s``: ``m = max |t|`` (1 when ``t`` is zero or not finite)."""
    m = t.abs().max() if t.numel() else t.new_zeros(())
    m = torch.where((m > 0) & torch.isfinite(m), m, torch.ones_like(m))
    return m, torch.sum((t / m) ** 2)


def _norm(t: Tensor) -> Tensor:
    """``sqrt(sum(t^2))`` without overflow or underflow."""
    m, s = _scaled_sum_squares(t)
    return m * torch.sqrt(s)


def relative_l2(u: Tensor, exact: Tensor) -> float:
    """``||u - u*||_2 / ||u*||_2`` over the points (``u`` and ``exact`` of equal shape)."""
    _warn_non_finite(exact, "relative_l2")
    m_den, s_den = _scaled_sum_squares(exact)
    if float(s_den) == 0.0:
        raise ValueError(
            "relative_l2 is undefined for an exact solution that is zero at every evaluation point"
        )
    m_num, s_num = _scaled_sum_squares(u - exact)
    return float((m_num / m_den) * torch.sqrt(s_num / s_den))


def max_abs(u: Tensor, exact: Tensor) -> float:
    """``max |u - u*|``."""
    _warn_non_finite(exact, "max_abs")
    return float((u - exact).abs().max())


def relative_h1(u: Tensor, grad_u: Tensor, exact: Tensor, grad_exact: Tensor) -> float:
    """Relative H1 error from values ``(N,)`` and gradients ``(N, d)`` of prediction and reference."""
    _warn_non_finite(exact, "relative_h1")
    num = torch.hypot(_norm(u - exact), _norm(grad_u - grad_exact))
    den = torch.hypot(_norm(exact), _norm(grad_exact))
    return float(num / den)
