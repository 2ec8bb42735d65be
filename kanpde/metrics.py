"""Pure error measures between a prediction and a reference on the same points.

With ``e = u - u*`` on ``N`` evaluation points (a regular grid, so sums approximate integrals up to the
common cell volume):

* ``relative_l2 = ||e|| / ||u*||``
* ``max_abs = max |e|``
* ``relative_h1 = sqrt(||e||^2 + ||∇e||^2) / sqrt(||u*||^2 + ||∇u*||^2)`` (spatial gradient).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["relative_l2", "max_abs", "relative_h1"]


def _norm(t: Tensor) -> Tensor:
    return torch.sqrt(torch.sum(t * t))


def relative_l2(u: Tensor, exact: Tensor) -> float:
    """``||u - u*||_2 / ||u*||_2`` over the points (``u`` and ``exact`` of equal shape)."""
    den = _norm(exact)
    if float(den) == 0.0:
        raise ValueError(
            "relative_l2 is undefined for an exact solution that is zero at every evaluation point"
        )
    return float(_norm(u - exact) / den)


def max_abs(u: Tensor, exact: Tensor) -> float:
    """``max |u - u*|``."""
    return float((u - exact).abs().max())


def relative_h1(u: Tensor, grad_u: Tensor, exact: Tensor, grad_exact: Tensor) -> float:
    """Relative H1 error from values ``(N,)`` and gradients ``(N, d)`` of prediction and reference."""
    num = torch.sum((u - exact) ** 2) + torch.sum((grad_u - grad_exact) ** 2)
    den = torch.sum(exact**2) + torch.sum(grad_exact**2)
    return float(torch.sqrt(num / den))
