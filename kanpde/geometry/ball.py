"""Balls :math:`\\{x : |x - c| \\le R\\}` in any dimension :math:`d \\ge 2`; :class:`Disk` is the 2-D ball.

Sampling maps the unit cube onto the ball and the sphere without distortion of measure:

* sphere :math:`S^{k-1} \\subset \\mathbb{R}^k` from ``k - 1`` unit coordinates, recursively: for
  :math:`k = 2`, :math:`(\\cos 2\\pi v, \\sin 2\\pi v)`; for :math:`k \\ge 3` the last coordinate
  :math:`z` of a uniform point on :math:`S^{k-1}` has density :math:`\\propto (1 - z^2)^{(k-3)/2}`, i.e.
  :math:`(z + 1)/2 \\sim \\mathrm{Beta}(\\frac{k-1}{2}, \\frac{k-1}{2})`, so
  :math:`z = 2 I^{-1}_{v}(\\frac{k-1}{2}, \\frac{k-1}{2}) - 1` (inverse regularised incomplete beta), and
  given :math:`z` the other coordinates are uniform on :math:`S^{k-2}` of radius :math:`\\sqrt{1 - z^2}`
  (for :math:`k = 3` this is Archimedes' :math:`z = 2v - 1`);
* ball: radius :math:`R u^{1/d}` (the volume inside radius :math:`r` grows as :math:`r^d`) times a
  point of the sphere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import betaincinv

from ._args import axis_names, real, real_tuple
from .base import Domain

__all__ = ["Ball", "Disk"]

Tensor = torch.Tensor

# Interior radii stay below R (1 - _INSIDE) so that interior points are strictly inside.
_INSIDE = 1e-12
# d-th roots with their own numpy function (bit-for-bit what the 2-D disk always used).
_ROOTS = {2: np.sqrt, 3: np.cbrt}


def sphere_from_unit(v: np.ndarray) -> np.ndarray:
    """Map ``v`` ``(n, k - 1)`` in the unit cube onto the unit sphere in :math:`\\mathbb{R}^k`: ``(n, k)``."""
    k = v.shape[1] + 1
    if k == 2:
        theta = 2.0 * math.pi * v[:, 0]  # (n,)
        return np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (n, 2)
    a = 0.5 * (k - 1)
    z = 2.0 * betaincinv(a, a, v[:, -1]) - 1.0  # (n,) last coordinate
    rest = sphere_from_unit(v[:, :-1]) * np.sqrt(np.clip(1.0 - z * z, 0.0, None))[:, None]  # (n, k - 1)
    return np.concatenate([rest, z[:, None]], axis=1)  # (n, k)


@dataclass(frozen=True)
class Ball(Domain):
    """Ball :math:`\\{x : |x - c| \\le R\\}` in :math:`d = len(c) \\ge 2` dimensions, one face ``"boundary"``.

    Interior points are uniform in the ball, boundary points uniform on the sphere (see the module
    docstring); the outward normal at :math:`c + R\\,s` is :math:`s`. The volume is
    :math:`\\pi^{d/2} R^d / \\Gamma(d/2 + 1)` and the surface :math:`2 \\pi^{d/2} R^{d-1} / \\Gamma(d/2)`.
    """

    center: tuple[float, ...]
    radius: float

    def __post_init__(self) -> None:
        owner = type(self).__name__
        center = real_tuple(self.center, "center", owner)
        if len(center) < 2:
            raise ValueError(
                f"{owner}: center must have at least 2 entries, got center={center}; "
                "use Interval for a 1-D ball"
            )
        radius = real(self.radius, "radius", owner)
        if not radius > 0:
            raise ValueError(f"{owner}: radius must be > 0, got radius={radius}; pass a positive radius")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "radius", radius)

    @property
    def dim(self) -> int:
        return len(self.center)

    @property
    def names(self) -> tuple[str, ...]:
        return axis_names(self.dim)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        r = self.radius
        return tuple(c - r for c in self.center), tuple(c + r for c in self.center)

    @property
    def faces(self) -> tuple[str, ...]:
        return ("boundary",)

    def _measure(self, face: str) -> float:
        d = self.dim
        return 2.0 * math.pi ** (d / 2) / math.gamma(d / 2) * self.radius ** (d - 1)

    def volume(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        root = _ROOTS.get(self.dim, lambda s: s ** (1.0 / self.dim))
        r = np.minimum(self.radius * root(u[:, 0]), self.radius * (1.0 - _INSIDE))  # (n,) strictly < R
        return np.array(self.center) + r[:, None] * sphere_from_unit(u[:, 1:])  # (n, d)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        normal = sphere_from_unit(u)  # (n, d)
        return np.array(self.center) + self.radius * normal, normal

    def _sdf(self, x: Tensor) -> Tensor:
        """:math:`|x - c| - R`."""
        c = torch.tensor(self.center, dtype=x.dtype, device=x.device)
        return torch.linalg.vector_norm(x - c, dim=1) - self.radius

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Rows of ``x`` with :math:`|x - c| \\le R + \\epsilon`."""
        x = self._check_points(x)
        c = torch.tensor(self.center, dtype=x.dtype, device=x.device)
        return torch.linalg.vector_norm(x - c, dim=1) <= self.radius + self._tol(tol)


class Disk(Ball):
    """Disk :math:`\\{x : |x - c| \\le R\\}` in 2-D with one face ``"boundary"`` (the 2-D :class:`Ball`).

    Interior samples are area-uniform: :math:`r = R\\sqrt{u}`, :math:`\\theta = 2\\pi v`. Boundary points are
    :math:`c + R(\\cos\\theta, \\sin\\theta)` with outward normal :math:`(\\cos\\theta, \\sin\\theta)`.
    """

    def __post_init__(self) -> None:
        center = real_tuple(self.center, "center", "Disk")
        if len(center) != 2:
            raise ValueError(f"Disk: center must have 2 entries (x, y), got center={center}")
        super().__post_init__()
