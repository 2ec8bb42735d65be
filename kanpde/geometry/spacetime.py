"""Space-time cylinders :math:`\\Omega \\times [t_0, t_1]` over any stationary domain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._args import real_tuple
from .base import Domain
from .sampling import check_draw, to_tensor

__all__ = ["SpaceTime"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class SpaceTime(Domain):
    """Space-time cylinder :math:`\\Omega \\times [t_0, t_1]`; time is the last column ``"t"``.

    :math:`\\Omega` is any stationary domain (box, ball, polygon, CSG result). Faces are those of
    :math:`\\Omega` (the lateral boundary :math:`\\partial\\Omega \\times [t_0, t_1]`) and ``on=`` takes
    the same face names and shapes as for :math:`\\Omega`; normals have ``space_dim`` spatial components.
    The time column is drawn jointly with the spatial ones (one sample of the unit cube per point). The
    initial slice :math:`\\Omega \\times \\{t_0\\}` is sampled by :meth:`sample_initial`.
    """

    space: Domain
    t: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if not isinstance(self.space, Domain) or isinstance(self.space, SpaceTime):
            raise TypeError(
                "SpaceTime: space must be a stationary Domain (Interval, Rectangle, Box, Disk, Ball, "
                f"Polygon or a CSG combination of them), got {self.space!r}"
            )
        t = real_tuple(self.t, "t", "SpaceTime")
        if len(t) != 2:
            raise ValueError(f"SpaceTime: t must be (t0, t1), got t={t}")
        if not t[0] < t[1]:
            raise ValueError(
                f"SpaceTime: t0 must be < t1, got t=({t[0]}, {t[1]}); pass t=(t0, t1) with t0 < t1"
            )
        object.__setattr__(self, "t", t)

    @property
    def dim(self) -> int:
        return self.space.dim + 1

    @property
    def space_dim(self) -> int:
        return self.space.dim

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.space.names, "t")

    @property
    def spatial(self) -> Domain:
        return self.space

    @property
    def is_time_dependent(self) -> bool:
        return True

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        lo, hi = self.space.bounds()
        return (*lo, self.t[0]), (*hi, self.t[1])

    @property
    def faces(self) -> tuple[str, ...]:
        return self.space.faces

    def _aliases(self) -> dict[str, str]:
        return self.space._aliases()

    def _measure(self, face: str) -> float:
        return self.space._measure(face) * (self.t[1] - self.t[0])

    def volume(self) -> float:
        """Measure of the cylinder: the space's volume times :math:`t_1 - t_0`."""
        return self.space.volume() * (self.t[1] - self.t[0])

    def _shape_selection(self, shapes: tuple[Domain, ...]) -> tuple[str, ...] | tuple[Domain, ...]:
        return self.space._shape_selection(shapes)

    def _nodes(self) -> tuple[Domain, ...]:
        return self.space._nodes()

    def _time_column(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` ``(n, 1)`` in [0, 1) to ``t`` ``(n, 1)`` in :math:`[t_0, t_1)`."""
        t0, t1 = self.t
        return t0 + (t1 - t0) * u

    def _interior_points(self, n: int, sampler: str, seed: int, tag: str) -> np.ndarray:
        x, u = self.space._interior_arrays(n, sampler, seed, tag, 1)  # (n, space_dim), (n, 1)
        return np.concatenate([x, self._time_column(u)], axis=1)  # (n, dim)

    def _boundary_points(
        self, n: int, sampler: str, seed: int, selection: tuple
    ) -> tuple[np.ndarray, np.ndarray]:
        x, normal, u = self.space._boundary_arrays(n, sampler, seed, selection, 1)  # u: (n, 1)
        return np.concatenate([x, self._time_column(u)], axis=1), normal  # (n, dim), (n, space_dim)

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x_min, x_max = self.space._periodic_from_unit(axis, u[:, :-1])  # (n, space_dim) each
        t = self._time_column(u[:, -1:])  # (n, 1)
        return np.concatenate([x_min, t], axis=1), np.concatenate([x_max, t], axis=1)

    def sample_initial(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """``n`` points ``(n, dim)`` strictly inside :math:`\\Omega`, with :math:`t = t_0`."""
        n, seed = check_draw(n, sampler, seed, dtype)
        x = self.space._interior_points(n, sampler, seed, "initial")  # (n, space_dim)
        t = np.full((n, 1), self.t[0])  # (n, 1)
        return to_tensor(np.concatenate([x, t], axis=1), dtype, device)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Rows with spatial part in :math:`\\Omega` and :math:`t_0 - \\epsilon \\le t \\le t_1 + \\epsilon`.

        ``tol`` is relative to the largest coordinate magnitude of :meth:`bounds` (at least 1).
        """
        x = self._check_points(x)
        eps = self._tol(tol)
        t = x[:, -1]
        return self.space.contains(x[:, :-1], tol) & (t >= self.t[0] - eps) & (t <= self.t[1] + eps)
