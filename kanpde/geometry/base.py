"""The :class:`Domain` base class: faces, ``on=`` selections, point sampling and evaluation grids.

A domain is a closed set :math:`\\Omega \\subset \\mathbb{R}^d` (or a space-time cylinder). Points are
tensors ``(N, dim)`` whose columns are named by ``domain.names``. A stationary shape provides either a
measure-preserving map from the unit cube onto its interior (boxes, balls: ``_interior_from_unit``) or
a signed distance ``_sdf`` from which interior points are drawn by rejection (polygons, CSG results);
its boundary is a list of faces, each with a map from the unit cube (``_face_from_unit``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._checks import check_memory, check_positive_int
from ..grids import grid_nodes
from .sampling import check_draw, inside_open, split_counts, take, to_tensor, unit_samples

__all__ = ["Domain", "FaceSelector"]

Tensor = torch.Tensor
FaceSelector = Any  # a face name, a list of names, a mask callable, a shape or a list of shapes, or None

# Oversampling factor for boundary points selected by a callable mask.
_MASK_OVERSAMPLE = 4
_MASK_ROUNDS = 3
# Rounds of topping up when interior points are drawn by rejection.
_REJECTION_ROUNDS = 12

EVALUATION_NODES = 60_000
"""Past three columns, the evaluation grid has ``floor(EVALUATION_NODES ** (1/d))`` nodes a column (15 in
4-D, 9 in 5-D, 3 at least), so that the error records of a high-dimensional solve stay cheap."""


def is_mask(on: object) -> bool:
    """Whether the selector ``on`` is a mask callable ``on(points) -> bool (N,)`` rather than a shape."""
    return callable(on) and not isinstance(on, Domain)


def _is_shapes(on: object) -> bool:
    """Whether ``on`` is a shape or a non-empty sequence of shapes."""
    if isinstance(on, Domain):
        return True
    return (
        isinstance(on, Sequence)
        and not isinstance(on, str)
        and len(on) > 0
        and all(isinstance(s, Domain) for s in on)
    )


class Domain(ABC):
    """A closed domain with named boundary faces and point samplers.

    Sampling, face and shape selection and validation are shared here; subclasses describe the shape.
    Stationary domains combine by ``a - b`` (difference), ``a | b`` (union) and ``a & b``
    (intersection), see :mod:`kanpde.geometry.csg`.
    """

    # ---- geometry description (per subclass) ----
    @property
    @abstractmethod
    def dim(self) -> int:
        """Number of coordinate columns."""

    @property
    def space_dim(self) -> int:
        """Number of spatial coordinate columns (``dim`` for stationary domains)."""
        return self.dim

    @property
    @abstractmethod
    def names(self) -> tuple[str, ...]:
        """Names of the coordinate columns."""

    @property
    def is_time_dependent(self) -> bool:
        """Whether the last column is time ``t``."""
        return False

    @abstractmethod
    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Bounding box ``(lo, hi)`` over all columns."""

    @property
    @abstractmethod
    def faces(self) -> tuple[str, ...]:
        """Canonical names of the faces of the spatial boundary."""

    def _aliases(self) -> dict[str, str]:
        """Alternative face names mapped to canonical ones."""
        return {}

    @abstractmethod
    def _measure(self, face: str) -> float:
        """Measure of a canonical face."""

    @abstractmethod
    def volume(self) -> float:
        """Measure of the domain: length in 1-D, area in 2-D, volume beyond (times :math:`t_1 - t_0`)."""

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` of shape ``(n, dim)`` in the unit cube to interior points ``(n, dim)``."""
        raise NotImplementedError(f"{type(self).__name__} samples its interior by rejection")

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map ``u`` ``(n, dim - 1)`` to points ``(n, dim)`` on ``face`` and normals ``(n, dim)``."""
        raise NotImplementedError(f"{type(self).__name__} has no map from the unit cube to its faces")

    def _sdf(self, x: Tensor) -> Tensor:
        """Signed distance ``(N,)`` of points ``x`` ``(N, dim)``: negative inside, zero on the boundary.

        Exact for boxes, balls and polygons; for CSG results the min/max combination of the operands'
        distances (same sign and zero set, not the exact distance).
        """
        raise TypeError(f"{type(self).__name__} has no signed distance; only stationary shapes have one")

    def _sdf_np(self, x: np.ndarray) -> np.ndarray:
        return self._sdf(torch.from_numpy(x)).numpy()  # (n,)

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise ValueError(
            f"periodic pairs need a Box domain (or SpaceTime over a Box), got {type(self).__name__}; "
            "periodicity is defined between the faces <axis>min and <axis>max of a box"
        )

    def _nodes(self) -> tuple[Domain, ...]:
        """Every shape this domain is built from, itself included (CSG results list their operands)."""
        return (self,)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Boolean mask ``(N,)`` of the rows of ``x`` ``(N, dim)`` in the closed domain.

        Points within ``tol`` times the largest coordinate magnitude of :meth:`bounds` (at least 1) of the
        domain count as inside.
        """
        x = self._check_points(x)
        return self._sdf(x) <= self._tol(tol)

    # ---- CSG ----
    def __sub__(self, other: Domain) -> Domain:
        return self._combine("-", other)

    def __or__(self, other: Domain) -> Domain:
        return self._combine("|", other)

    def __and__(self, other: Domain) -> Domain:
        return self._combine("&", other)

    def _combine(self, op: str, other: Domain) -> Domain:
        from .csg import OPERATIONS  # local import: the CSG module builds on this one

        return OPERATIONS[op](self, other)

    # ---- faces and shapes ----
    def resolve_faces(self, on: str | Sequence[str] | None = None) -> tuple[str, ...]:
        """Canonical face names for ``on``: ``None`` means every face; aliases are mapped."""
        if on is None:
            return self.faces
        if isinstance(on, str):
            on = [on]
        if not isinstance(on, Sequence) or len(on) == 0:
            raise TypeError(
                f"on must be None, a face name or a non-empty list of face names, got {on!r}; "
                f"valid faces: {', '.join(self.faces)}"
            )
        aliases = self._aliases()
        resolved: list[str] = []
        for name in on:
            if not isinstance(name, str):
                raise TypeError(
                    f"face names must be strings, got {name!r}; valid faces: {', '.join(self.faces)}"
                )
            canonical = aliases.get(name, name)
            if canonical not in self.faces:
                raise ValueError(
                    f"unknown face {name!r} for {type(self).__name__}; {self._valid_faces_text()}"
                )
            if canonical not in resolved:
                resolved.append(canonical)
        return tuple(resolved)

    def resolve_on(self, on: FaceSelector = None) -> tuple[str, ...] | tuple[Domain, ...]:
        """Check a boundary selection ``on`` (not a mask callable) and return it in canonical form.

        Face names (``None``, a name or a list) give canonical face names. A shape or a list of shapes
        (operands of a CSG domain, or the domain itself) gives the selection the sampler works with: the
        shapes for a CSG domain, every face for a primitive. A shape that is not part of this domain
        raises ``ValueError``.
        """
        if _is_shapes(on):
            shapes = (on,) if isinstance(on, Domain) else tuple(on)
            return self._shape_selection(shapes)
        return self.resolve_faces(on)

    def _shape_selection(self, shapes: tuple[Domain, ...]) -> tuple[str, ...] | tuple[Domain, ...]:
        for shape in shapes:
            if shape != self:
                raise ValueError(self._not_part_text(shape))
        return self.faces

    def _not_part_text(self, shape: Domain) -> str:
        return (
            f"on={shape!r} is not part of the domain {self!r}; pass the domain itself, one of the shapes "
            f"it is built from, or face names ({self._valid_faces_text()})"
        )

    def _valid_faces_text(self) -> str:
        text = f"valid faces: {', '.join(self.faces)}"
        aliases = self._aliases()
        if aliases:
            text += f" (aliases {', '.join(aliases)})"
        return text

    def measure(self, face: str) -> float:
        """Length/area of ``face`` (a point face of an interval counts 1; times :math:`t_1 - t_0` in time)."""
        if not isinstance(face, str):
            raise TypeError(f"measure takes one face name, got {face!r}; {self._valid_faces_text()}")
        (canonical,) = self.resolve_faces(face)
        return self._measure(canonical)

    # ---- interior sampling ----
    def sample_interior(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """``n`` points ``(n, dim)`` strictly inside the domain (``t`` in :math:`[t_0, t_1)` in time).

        Uniform in the domain: mapped from the unit cube for boxes and balls, drawn by rejection from the
        bounding box for polygons and CSG results (the first ``n`` accepted candidates of the sampler's
        stream, or ``n`` evenly spaced ones for the grid).
        """
        n, seed = check_draw(n, sampler, seed, dtype)
        return to_tensor(self._interior_points(n, sampler, seed, "interior"), dtype, device)

    def _interior_points(self, n: int, sampler: str, seed: int, tag: str) -> np.ndarray:
        return self._interior_arrays(n, sampler, seed, tag, 0)[0]  # (n, dim)

    def _interior_arrays(
        self, n: int, sampler: str, seed: int, tag: str, extra: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Interior points ``(n, dim)`` and ``extra`` more unit columns ``(n, extra)`` drawn with them."""
        u = unit_samples(sampler, n, self.dim + extra, seed, tag)  # (n, dim + extra)
        return self._interior_from_unit(u[:, : self.dim]), u[:, self.dim :]

    def _rejection_interior(
        self, n: int, sampler: str, seed: int, tag: str, extra: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_interior_arrays` by rejection: candidates uniform in the bounding box, ``_sdf < 0`` kept."""
        lo, hi = (np.array(b) for b in self.bounds())
        acceptance = self.volume() / math.prod(hi - lo)
        m = math.ceil(1.2 * n / acceptance) + 16
        for _ in range(_REJECTION_ROUNDS):
            u = unit_samples(sampler, m, self.dim + extra, seed, tag)  # (m, dim + extra)
            x = inside_open(lo, hi, u[:, : self.dim])  # (m, dim)
            kept = np.flatnonzero(self._sdf_np(x) < 0.0)  # (k,)
            if kept.size >= n:
                pick = take(sampler, kept, n)  # (n,)
                return x[pick], u[pick, self.dim :]
            m = math.ceil(1.3 * m * n / max(kept.size, 1)) + 16
        raise ValueError(
            f"{type(self).__name__}: only {kept.size} of {m} candidates in the bounding box fell inside; "
            "the domain is too thin for rejection sampling"
        )

    # ---- boundary sampling ----
    def sample_boundary(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        on: FaceSelector = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """Points ``(n, dim)`` on the spatial boundary and their outward unit normals ``(n, space_dim)``.

        ``on`` selects faces (``None``: all; a name or list of names) and the points are split across
        them in proportion to :meth:`measure`, at least one per face. ``on`` may be a shape or a list of
        shapes the domain is built from: the points of the domain's boundary that lie on their
        boundaries. ``on`` may also be a callable ``on(points) -> bool tensor (N,)``: then candidates are
        drawn on the whole boundary and ``n`` of those that pass (evenly spread over them) are kept.
        """
        n, seed = check_draw(n, sampler, seed, dtype)
        if is_mask(on):
            return self._sample_boundary_masked(n, sampler, seed, on, dtype, device)
        x, normal = self._boundary_points(n, sampler, seed, self.resolve_on(on))
        return to_tensor(x, dtype, device), to_tensor(normal, dtype, device)

    def _boundary_points(
        self, n: int, sampler: str, seed: int, selection: tuple
    ) -> tuple[np.ndarray, np.ndarray]:
        x, normal, _ = self._boundary_arrays(n, sampler, seed, selection, 0)
        return x, normal  # (n, dim), (n, space_dim)

    def _boundary_arrays(
        self, n: int, sampler: str, seed: int, selection: tuple, extra: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boundary points ``(n, dim)``, normals ``(n, dim)`` and ``extra`` unit columns ``(n, extra)``.

        ``selection`` is a tuple of canonical face names; the points are split across the faces in
        proportion to their measure, each face drawing on its own sub-stream.
        """
        counts = split_counts(n, [self._measure(f) for f in selection])
        points, normals, extras = [], [], []
        for face, count in zip(selection, counts, strict=True):
            u = unit_samples(sampler, count, self.dim - 1 + extra, seed, f"boundary:{face}")
            x, normal = self._face_from_unit(face, u[:, : self.dim - 1])
            points.append(x)
            normals.append(normal)
            extras.append(u[:, self.dim - 1 :])
        return np.concatenate(points), np.concatenate(normals), np.concatenate(extras)

    def _sample_boundary_masked(
        self,
        n: int,
        sampler: str,
        seed: int,
        mask_fn: Callable[[Tensor], Tensor],
        dtype: torch.dtype,
        device: torch.device | str,
    ) -> tuple[Tensor, Tensor]:
        total = _MASK_OVERSAMPLE * n
        for _ in range(_MASK_ROUNDS):
            x_np, normal_np = self._boundary_points(max(total, len(self.faces)), sampler, seed, self.faces)
            x, normal = to_tensor(x_np, dtype, device), to_tensor(normal_np, dtype, device)
            keep = torch.nonzero(self._check_mask(mask_fn(x), x.shape[0])).squeeze(1)  # (kept,)
            kept = keep.numel()
            if kept == 0:
                raise ValueError(
                    f"no boundary point satisfies the mask on= (0 of {x.shape[0]} candidates on "
                    f"{type(self).__name__}); check that it returns True on part of the boundary"
                )
            if kept >= n:
                pick = keep[torch.arange(n, device=keep.device) * (kept - 1) // max(n - 1, 1)]  # (n,)
                return x[pick], normal[pick]
            total = math.ceil(1.5 * total * n / kept)
        raise ValueError(
            f"the mask on= selects only {kept} of {x.shape[0]} boundary candidates, fewer than n={n}; "
            "ask for fewer points or widen the mask"
        )

    @staticmethod
    def _check_mask(mask: Any, count: int) -> Tensor:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            raise TypeError(f"the mask on= must return a bool tensor of shape ({count},), got {mask!r:.80}")
        if tuple(mask.shape) != (count,):
            raise ValueError(
                f"the mask on= must return shape ({count},), got {tuple(mask.shape)}; "
                "reduce over columns, e.g. lambda x: x[:, 0] < 0.5"
            )
        return mask

    # ---- initial slice and periodic pairs ----
    def sample_initial(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """Initial points ``(n, dim)``: spatial interior with :math:`t = t_0` (SpaceTime only)."""
        raise ValueError(
            f"Initial conditions need a SpaceTime domain, got {type(self).__name__}; "
            f"wrap it as SpaceTime({type(self).__name__}(...), t=(t0, t1))"
        )

    def sample_periodic_pairs(
        self,
        axis_name: str,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """Matching points ``(n, dim)`` on the faces ``<axis>min`` and ``<axis>max`` (other columns equal)."""
        n, seed = check_draw(n, sampler, seed, dtype)
        spatial = self.names[: self.space_dim]
        if axis_name not in spatial:
            raise ValueError(
                f"unknown periodic axis {axis_name!r} for {type(self).__name__}; "
                f"valid axes: {', '.join(spatial)}"
            )
        axis = spatial.index(axis_name)
        u = unit_samples(sampler, n, self.dim - 1, seed, f"periodic:{axis_name}")  # (n, dim - 1)
        x_min, x_max = self._periodic_from_unit(axis, u)
        return to_tensor(x_min, dtype, device), to_tensor(x_max, dtype, device)

    # ---- evaluation ----
    @property
    def spatial(self) -> Domain:
        """The spatial part: the domain itself, or the space of a space-time cylinder."""
        return self

    def evaluation_sizes(self) -> list[int]:
        """Nodes per column of the documented evaluation grid over :meth:`bounds`: 1001 in 1-D, 101² in 2-D,
        31³ in 3-D, then ``floor(60000^(1/d))`` per column (15⁴, 9⁵, 6⁶, at least 3); space-time: 101 × 101,
        41² × 21, 21³ × 21, 11 per space column × 21."""
        if self.is_time_dependent:
            space = {1: [101], 2: [41, 41], 3: [21, 21, 21]}.get(self.space_dim, [11] * self.space_dim)
            return space + [21 if self.space_dim > 1 else 101]
        per_column = max(3, int(EVALUATION_NODES ** (1 / self.dim) + 1e-9))
        return {1: [1001], 2: [101, 101], 3: [31, 31, 31]}.get(self.dim, [per_column] * self.dim)

    def evaluation_points(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
    ) -> tuple[Tensor, list[np.ndarray], np.ndarray]:
        """The nodes of the evaluation grid (:meth:`evaluation_sizes`) inside the domain, ``(M, d)``, with the
        grid's axes and inside mask: where metrics measure errors against an exact solution."""
        axes, mask = self.evaluation_grid(self.evaluation_sizes())
        nodes = grid_nodes(axes)[mask.ravel()]  # (M, d)
        return torch.as_tensor(nodes, dtype=dtype, device=device), axes, mask

    def evaluation_grid(self, n: int | Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """Regular grid over :meth:`bounds`: per-column coordinates and the inside mask.

        ``n`` is a node count per column (one int for all). Returns ``coords`` (``coords[i]`` of length
        ``n_i``, end points included) and a bool array of shape ``(n_1, ..., n_dim)`` (``'ij'``
        indexing) telling which nodes lie in the closed domain.
        """
        sizes = [n] * self.dim if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else n
        if not isinstance(sizes, Sequence) or len(sizes) != self.dim:
            raise ValueError(f"evaluation_grid: pass one int or {self.dim} ints (one per column), got {n!r}")
        sizes = [check_positive_int("evaluation_grid size", k) for k in sizes]
        if min(sizes) < 2:
            raise ValueError(f"evaluation_grid: need at least 2 nodes per column, got {n!r}")
        nodes = math.prod(sizes)
        check_memory(
            f"a grid of {' x '.join(map(str, sizes))} nodes",
            8 * nodes * (self.dim + 1),
            hint="ask for fewer nodes",
        )
        lo, hi = self.bounds()
        coords = [np.linspace(a, b, k) for a, b, k in zip(lo, hi, sizes, strict=True)]
        nodes = grid_nodes(coords)  # (prod(sizes), dim)
        mask = self.contains(torch.as_tensor(nodes)).numpy().reshape(sizes)  # (n_1, ..., n_dim)
        return coords, mask

    def _check_points(self, x: Any) -> Tensor:
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"{type(self).__name__}.contains expects points of shape (N, {self.dim}), "
                f"got {tuple(x.shape)}"
            )
        return x

    def _tol(self, tol: float) -> float:
        """Absolute tolerance: ``tol`` times the size of the largest coordinate (at least 1)."""
        lo, hi = self.bounds()
        return tol * max(1.0, *(abs(v) for v in lo + hi))
