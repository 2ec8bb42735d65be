"""Axis-aligned boxes: :class:`Box` in any dimension, :class:`Interval` and :class:`Rectangle`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._args import axis_names, real, real_tuple
from .base import Domain
from .sampling import check_draw, inside_open, split_counts, sub_seed, to_tensor, unit_samples

__all__ = ["Box", "Interval", "Rectangle"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class Box(Domain):
    """Axis-aligned box :math:`\\prod_i [lo_i, hi_i]` in any dimension :math:`d \\ge 1`.

    Faces are ``"xmin", "xmax", "ymin", ...`` (``"x1min", ...`` for :math:`d > 3`); the outward normal on
    ``<axis>min`` is :math:`-e_i`, on ``<axis>max`` it is :math:`+e_i`. In 1-D and 2-D the aliases
    ``left, right, bottom, top`` name ``xmin, xmax, ymin, ymax``.
    """

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self) -> None:
        owner = type(self).__name__
        lo, hi = real_tuple(self.lo, "lo", owner), real_tuple(self.hi, "hi", owner)
        if len(lo) != len(hi):
            raise ValueError(
                f"{owner}: lo and hi must have the same length, got len(lo)={len(lo)} len(hi)={len(hi)}; "
                "give one lower and one upper bound per coordinate"
            )
        if len(lo) == 0:
            raise ValueError(f"{owner}: needs dimension >= 1, got empty lo and hi")
        if not all(a < b for a, b in zip(lo, hi, strict=True)):
            raise ValueError(
                f"{owner}: lo must be < hi in every coordinate, got lo={lo} hi={hi}; "
                "pass lo strictly below hi"
            )
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def dim(self) -> int:
        return len(self.lo)

    @property
    def names(self) -> tuple[str, ...]:
        return axis_names(self.dim)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.lo, self.hi

    @property
    def faces(self) -> tuple[str, ...]:
        return tuple(f"{name}{side}" for name in self.names for side in ("min", "max"))

    def _aliases(self) -> dict[str, str]:
        aliases = {"left": "xmin", "right": "xmax", "bottom": "ymin", "top": "ymax"}
        return dict(list(aliases.items())[: 2 * self.dim]) if self.dim <= 2 else {}

    def _face_axis(self, face: str) -> tuple[int, bool]:
        """Axis index of the canonical ``face`` and whether it is the ``max`` side."""
        return self.names.index(face[:-3]), face.endswith("max")

    def _measure(self, face: str) -> float:
        axis, _ = self._face_axis(face)
        return math.prod(b - a for i, (a, b) in enumerate(zip(self.lo, self.hi, strict=True)) if i != axis)

    def volume(self) -> float:
        """:math:`\\prod_i (hi_i - lo_i)`."""
        return math.prod(b - a for a, b in zip(self.lo, self.hi, strict=True))

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        return inside_open(np.array(self.lo), np.array(self.hi), u)  # (n, d)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        axis, is_max = self._face_axis(face)
        lo, hi = np.array(self.lo), np.array(self.hi)
        others = np.arange(self.dim) != axis  # (d,)
        x = np.empty((u.shape[0], self.dim))  # (n, d)
        x[:, others] = inside_open(lo[others], hi[others], u)
        x[:, axis] = hi[axis] if is_max else lo[axis]
        normal = np.zeros_like(x)  # (n, d)
        normal[:, axis] = 1.0 if is_max else -1.0
        return x, normal

    def sample_skeleton(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """Points ``(n, dim)`` on the faces of codimension ``c >= 2`` of the box (its edges and corners; in
        2-D the four corners) and a unit normal at each ``(n, dim)``: the mean of the outward normals of the
        ``c`` faces that meet there, normalised.

        The points are split evenly over ``c = 2, ..., dim`` (``n >= dim - 1``); each point pins ``c``
        coordinates, drawn at random (sub-stream ``"skeleton-pins:<c>"`` of ``seed``), to their lower or
        upper bound, and takes the others from ``sampler`` (sub-stream ``"skeleton:<c>"``). In 2-D every
        point is one of the four corners. Points on the faces themselves (:meth:`sample_boundary`) rarely come
        near these parts in high dimension: a point of a face of ``[-1, 1]^5`` lies within 0.1 of one of the
        face's edges with probability ``1 - 0.9^4 = 0.34``, within 0.1 of a corner (in every coordinate) with
        ``0.1^4``, so a condition on the boundary leaves the corners unconstrained without these points.
        """
        n, seed = check_draw(n, sampler, seed, dtype)
        if self.dim < 2:
            raise ValueError("an interval has no faces of codimension 2; sample_skeleton needs dim >= 2")
        if n < self.dim - 1:
            raise ValueError(
                f"sample_skeleton splits its points over the codimensions 2..{self.dim}; pass n >= {self.dim - 1}"
            )
        lo, hi = np.array(self.lo), np.array(self.hi)
        points, normals = [], []
        for c, count in zip(range(2, self.dim + 1), split_counts(n, [1.0] * (self.dim - 1)), strict=True):
            rng = np.random.default_rng(sub_seed(seed, f"skeleton-pins:{c}"))
            axes = np.argsort(rng.random((count, self.dim)), axis=1)[:, :c]  # (count, c) distinct axes
            upper = rng.random((count, c)) < 0.5  # (count, c)
            x = inside_open(lo, hi, unit_samples(sampler, count, self.dim, seed, f"skeleton:{c}"))
            rows = np.arange(count)[:, None]  # (count, 1)
            x[rows, axes] = np.where(upper, hi[axes], lo[axes])
            normal = np.zeros_like(x)  # (count, dim)
            normal[rows, axes] = np.where(upper, 1.0, -1.0) / math.sqrt(c)
            points.append(x)
            normals.append(normal)
        return to_tensor(np.concatenate(points), dtype, device), to_tensor(
            np.concatenate(normals), dtype, device
        )

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x_min, _ = self._face_from_unit(self.faces[2 * axis], u)  # (n, d) on <axis>min
        x_max = x_min.copy()
        x_max[:, axis] = self.hi[axis]
        return x_min, x_max

    def _sdf(self, x: Tensor) -> Tensor:
        """Exact signed distance: with :math:`q_i = \\max(lo_i - x_i, x_i - hi_i)`,
        :math:`|\\max(q, 0)| + \\min(\\max_i q_i, 0)`."""
        lo = torch.tensor(self.lo, dtype=x.dtype, device=x.device)
        hi = torch.tensor(self.hi, dtype=x.dtype, device=x.device)
        q = torch.maximum(lo - x, x - hi)  # (N, d)
        outside = torch.linalg.vector_norm(q.clamp(min=0.0), dim=1)  # (N,)
        return outside + q.max(dim=1).values.clamp(max=0.0)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Rows of ``x`` with :math:`lo_i - \\epsilon \\le x_i \\le hi_i + \\epsilon` for every ``i``."""
        x = self._check_points(x)
        eps = self._tol(tol)
        lo = torch.tensor(self.lo, dtype=x.dtype, device=x.device)
        hi = torch.tensor(self.hi, dtype=x.dtype, device=x.device)
        return ((x >= lo - eps) & (x <= hi + eps)).all(dim=1)


class Interval(Box):
    """Interval :math:`[a, b]`, a 1-D :class:`Box` with faces ``xmin`` (``left``) and ``xmax`` (``right``)."""

    def __init__(self, a: float, b: float) -> None:
        a, b = real(a, "a", "Interval"), real(b, "b", "Interval")
        if not a < b:
            raise ValueError(f"Interval: a must be < b, got a={a} b={b}; pass a strictly below b")
        super().__init__((a,), (b,))

    @property
    def a(self) -> float:
        return self.lo[0]

    @property
    def b(self) -> float:
        return self.hi[0]

    def __repr__(self) -> str:
        return f"Interval({self.a!r}, {self.b!r})"


class Rectangle(Box):
    """Rectangle :math:`[lo_x, hi_x] \\times [lo_y, hi_y]`, a 2-D :class:`Box`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dim != 2:
            raise ValueError(
                f"Rectangle: lo and hi must have 2 entries, got lo={self.lo}; use Box for d != 2"
            )

    def __repr__(self) -> str:
        return f"Rectangle(lo={self.lo!r}, hi={self.hi!r})"
