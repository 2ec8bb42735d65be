"""Constructive solid geometry: ``a - b`` (:class:`Difference`), ``a | b`` (:class:`Union`), ``a & b``
(:class:`Intersection`) of stationary domains of one dimension.

The result is the regularised set operation (the closure of the interior), described by the signed
distance combination :math:`\\min(s_a, s_b)` (union), :math:`\\max(s_a, s_b)` (intersection),
:math:`\\max(s_a, -s_b)` (difference): negative inside, zero on the boundary.

**Interior points** are drawn by rejection from the bounding box (:meth:`Domain._rejection_interior`).

**Boundary points** come from the primitive shapes the result is built from (its *leaves*). Each face
of each leaf draws candidates uniformly in its own measure, on its own sub-stream of the seed. A
candidate :math:`p` with the leaf's outward normal :math:`n` lies on the result's boundary when exactly
one of :math:`p \\pm \\delta n` is inside the result (:math:`\\delta` = 1e-8 times the domain's size);
the result's outward normal is :math:`n` if :math:`p - \\delta n` is inside and :math:`-n` otherwise (so
on a hole it points into the hole). A candidate also on the boundary of an earlier selected leaf is
dropped, so that a piece of boundary shared by two operands is sampled once. The kept fraction
:math:`k_j / m_j` of piece :math:`j` estimates the measure :math:`\\mu_j k_j / m_j` of its part of the
boundary; the ``n`` points are split over the pieces in proportion to it and each piece contributes its
first accepted candidates (evenly spaced ones for the grid sampler), drawing more where it runs short.
The points are thus uniform in arc length / surface measure over the result's boundary, and the counts
exact.

``on=`` a shape (an operand at any depth) restricts this to the leaves of that shape and keeps the
candidates that also lie on its boundary. The volume and the boundary measure of a result are estimates
(Sobol points; see :meth:`CSGDomain.volume` and :meth:`CSGDomain.measure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import torch

from .base import Domain
from .sampling import inside_open, split_largest_remainder, take, unit_samples

__all__ = ["CSGDomain", "Difference", "Intersection", "OPERATIONS", "Union"]

Tensor = torch.Tensor

# Probe step off the boundary, relative to the domain's coordinate scale.
_PROBE = 1e-8
# Distance within which a candidate counts as lying on another leaf's boundary.
_ON_BOUNDARY = 1e-10
# Sobol points for the volume estimate, candidates per face for the boundary measure estimate.
_VOLUME_POINTS = 2**16
_MEASURE_POINTS = 2**12
# Candidates per boundary piece at least, and rounds of topping up.
_MIN_CANDIDATES = 64
_ROUNDS = 12


@dataclass(frozen=True)
class _Piece:
    """One face of one leaf: where boundary candidates come from."""

    position: int  # index of the leaf among the result's leaves (names its sub-stream)
    leaf: Domain
    face: str
    measure: float
    targets: tuple[Domain, ...]  # compound shapes of on=: points must lie on one's boundary (none: any)
    earlier: tuple[Domain, ...]  # selected leaves before this one (a shared boundary is sampled once)


@dataclass(frozen=True)
class _Draw:
    """Candidates of one piece: points, the result's normals, extra unit columns, accepted indices."""

    m: int
    x: np.ndarray
    normal: np.ndarray
    extra: np.ndarray
    kept: np.ndarray


_NOTHING = _Draw(0, np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True, repr=False)
class CSGDomain(Domain):
    """Base of the three set operations on two stationary domains ``a`` and ``b`` of one dimension."""

    a: Domain
    b: Domain

    symbol: ClassVar[str] = "?"
    word: ClassVar[str] = "combination"

    def __post_init__(self) -> None:
        for name, operand in (("a", self.a), ("b", self.b)):
            if not isinstance(operand, Domain):
                raise TypeError(
                    f"{type(self).__name__}: {name} must be a Domain (a shape such as Rectangle, Disk, "
                    f"Polygon), got {operand!r}; combine one shape at a time, e.g. a - b - c"
                )
            if operand.is_time_dependent:
                raise TypeError(
                    f"{type(self).__name__}: combine stationary domains, got {operand!r}; build the "
                    "space first and then the cylinder, e.g. SpaceTime(a - b, t=(0, 1))"
                )
        if self.a.dim != self.b.dim:
            raise ValueError(
                f"{type(self).__name__}: operands must have the same dimension, got {self.a.dim} "
                f"({self.a!r}) and {self.b.dim} ({self.b!r})"
            )
        lo, hi = self.bounds()
        if any(a >= b for a, b in zip(lo, hi, strict=True)) or self.volume() == 0.0:
            raise ValueError(
                f"the {self.word} {self!r} is empty (no point of {_VOLUME_POINTS} Sobol points in its "
                "bounding box falls inside); check the shapes' positions and sizes"
            )

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"

    @staticmethod
    def _combine_sdf(sa: Tensor, sb: Tensor) -> Tensor:
        raise NotImplementedError

    # ---- description ----
    @property
    def dim(self) -> int:
        return self.a.dim

    @property
    def names(self) -> tuple[str, ...]:
        return self.a.names

    @property
    def faces(self) -> tuple[str, ...]:
        return ("boundary",)

    def _sdf(self, x: Tensor) -> Tensor:
        return self._combine_sdf(self.a._sdf(x), self.b._sdf(x))

    def _nodes(self) -> tuple[Domain, ...]:
        return (self, *self.a._nodes(), *self.b._nodes())

    @cached_property
    def leaves(self) -> tuple[Domain, ...]:
        """The primitive shapes (boxes, balls, polygons) this result is built from, left to right."""
        return tuple(node for node in self._nodes() if not isinstance(node, CSGDomain))

    def _subtrees(self, start: int = 0) -> list[tuple[Domain, range]]:
        """Every node with the positions of its leaves among :attr:`leaves`, in pre-order."""
        out: list[tuple[Domain, range]] = []
        position = start
        for operand in (self.a, self.b):
            if isinstance(operand, CSGDomain):
                inner = operand._subtrees(position)
                out.extend(inner)
                position = inner[0][1].stop
            else:
                out.append((operand, range(position, position + 1)))
                position += 1
        return [(self, range(start, position)), *out]

    # ---- measures ----
    def volume(self) -> float:
        """Estimated volume: the fraction of 2**16 scrambled Sobol points of the bounding box inside
        (seed 0) times the box's volume; its error is of order 1e-4 of the box's volume."""
        return self._volume

    @cached_property
    def _volume(self) -> float:
        lo, hi = (np.array(b) for b in self.bounds())
        u = unit_samples("sobol", _VOLUME_POINTS, self.dim, 0, "volume")  # (V, d)
        inside = self._sdf_np(inside_open(lo, hi, u)) < 0.0  # (V,)
        return float(inside.mean() * math.prod(hi - lo))

    def _measure(self, face: str) -> float:
        """Estimated boundary measure: each leaf face's measure times the fraction of 4096 Sobol
        candidates on it that lie on the result's boundary (see the module docstring)."""
        return self._boundary_measure

    @cached_property
    def _boundary_measure(self) -> float:
        pieces = self._pieces((self,))
        kept = [self._draw(p, _MEASURE_POINTS, "sobol", 0, 0).kept.size for p in pieces]
        return float(sum(p.measure * k / _MEASURE_POINTS for p, k in zip(pieces, kept, strict=True)))

    # ---- selections ----
    def _shape_selection(self, shapes: tuple[Domain, ...]) -> tuple[str, ...] | tuple[Domain, ...]:
        nodes = self._nodes()
        for shape in shapes:
            if shape not in nodes:
                raise ValueError(self._not_part_text(shape))
        return self.faces if self in shapes else shapes

    def _positions(self, targets: tuple[Domain, ...]) -> dict[int, tuple[Domain, ...]]:
        """Positions of the leaves under the shapes ``targets``, each with the compound targets whose
        boundary its points must also lie on (empty: no further condition)."""
        compound: dict[int, list[Domain] | None] = {}  # None: no further condition
        for target in targets:
            for node, positions in self._subtrees():
                if node != target:
                    continue
                for i in positions:
                    if node is self or not isinstance(node, CSGDomain) or compound.get(i, []) is None:
                        compound[i] = None
                    else:
                        compound.setdefault(i, []).append(node)
        return {i: tuple(compound[i] or ()) for i in sorted(compound)}

    def _pieces(self, targets: tuple[Domain, ...]) -> list[_Piece]:
        """Boundary pieces (leaf faces) under the shapes ``targets``, in leaf order."""
        pieces, earlier = [], []
        for i, within in self._positions(targets).items():
            leaf = self.leaves[i]
            for face in leaf.faces:
                pieces.append(_Piece(i, leaf, face, leaf._measure(face), within, tuple(earlier)))
            earlier.append(leaf)
        return pieces

    # ---- sampling ----
    def _interior_arrays(
        self, n: int, sampler: str, seed: int, tag: str, extra: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._rejection_interior(n, sampler, seed, tag, extra)

    def _crosses(self, shape: Domain, x: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``x`` lies on ``shape``'s boundary (exactly one of ``x ± δ normal`` inside), and whether
        the inner side is ``x - δ normal``."""
        step = self._tol(_PROBE)
        minus = shape._sdf_np(x - step * normal) < 0.0  # (m,)
        plus = shape._sdf_np(x + step * normal) < 0.0  # (m,)
        return minus != plus, minus

    def _draw(self, piece: _Piece, m: int, sampler: str, seed: int, extra: int) -> _Draw:
        """``m`` candidates on ``piece`` and the indices of those on the selected boundary."""
        d = self.dim
        tag = f"boundary:{piece.position}:{piece.face}"
        u = unit_samples(sampler, m, d - 1 + extra, seed, tag)  # (m, d - 1 + extra)
        x, normal = piece.leaf._face_from_unit(piece.face, u[:, : d - 1])  # (m, d) each
        keep, inner_minus = self._crosses(self, x, normal)
        if piece.targets:
            keep &= np.any([self._crosses(t, x, normal)[0] for t in piece.targets], axis=0)
        for other in piece.earlier:
            keep &= np.abs(other._sdf_np(x)) > self._tol(_ON_BOUNDARY)
        normal = np.where(inner_minus[:, None], normal, -normal)  # (m, d) outward for the result
        return _Draw(m, x, normal, u[:, d - 1 :], np.flatnonzero(keep))

    def _boundary_arrays(
        self, n: int, sampler: str, seed: int, selection: tuple, extra: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        targets = (self,) if selection == self.faces else selection
        draws, counts = self._draw_enough(self._pieces(targets), n, sampler, seed, extra)
        picks = [take(sampler, draw.kept, int(c)) for draw, c in zip(draws, counts, strict=True)]
        parts = list(zip(draws, picks, strict=True))
        x = np.concatenate([draw.x[p] for draw, p in parts])  # (n, d)
        normal = np.concatenate([draw.normal[p] for draw, p in parts])  # (n, d)
        return x, normal, np.concatenate([draw.extra[p] for draw, p in parts])  # extra: (n, extra)

    def _draw_enough(
        self, pieces: list[_Piece], n: int, sampler: str, seed: int, extra: int
    ) -> tuple[list[_Draw], np.ndarray]:
        """Candidates on every piece and the split of ``n`` over the pieces (counts <= accepted)."""
        total = sum(p.measure for p in pieces)
        sizes = [max(_MIN_CANDIDATES, math.ceil(2 * n * p.measure / total)) for p in pieces]
        draws: list[_Draw] = []
        for _ in range(_ROUNDS):
            draws = [
                draw if draw.m == size else self._draw(piece, size, sampler, seed, extra)
                for piece, size, draw in zip(pieces, sizes, draws or [_NOTHING] * len(pieces), strict=True)
            ]
            kept = np.array([draw.kept.size for draw in draws])  # (pieces,)
            weight = np.array([p.measure * d.kept.size / d.m for p, d in zip(pieces, draws, strict=True)])
            if weight.sum() == 0.0:
                raise ValueError(
                    f"no point of the boundary of {self!r} lies on the selected shapes' boundaries; the "
                    "selected part is empty (is the shape covered by another operand?)"
                )
            counts = split_largest_remainder(n, weight)  # (pieces,)
            short = np.flatnonzero(counts > kept)
            if short.size == 0:
                return draws, counts
            for j in short:
                sizes[j] = math.ceil(1.3 * sizes[j] * counts[j] / max(kept[j], 1)) + 16
        raise ValueError(f"could not draw {n} boundary points on {self!r}; the selected part is too small")


@dataclass(frozen=True, repr=False)
class Difference(CSGDomain):
    """``a - b``: the points of ``a`` not inside ``b`` (regularised), signed distance :math:`\\max(s_a, -s_b)`."""

    symbol: ClassVar[str] = "-"
    word: ClassVar[str] = "difference"

    @staticmethod
    def _combine_sdf(sa: Tensor, sb: Tensor) -> Tensor:
        return torch.maximum(sa, -sb)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.a.bounds()


@dataclass(frozen=True, repr=False)
class Union(CSGDomain):
    """``a | b``: the points of ``a`` or ``b``, signed distance :math:`\\min(s_a, s_b)`."""

    symbol: ClassVar[str] = "|"
    word: ClassVar[str] = "union"

    @staticmethod
    def _combine_sdf(sa: Tensor, sb: Tensor) -> Tensor:
        return torch.minimum(sa, sb)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (alo, ahi), (blo, bhi) = self.a.bounds(), self.b.bounds()
        lo = tuple(min(p, q) for p, q in zip(alo, blo, strict=True))
        return lo, tuple(max(p, q) for p, q in zip(ahi, bhi, strict=True))


@dataclass(frozen=True, repr=False)
class Intersection(CSGDomain):
    """``a & b``: the points of both ``a`` and ``b``, signed distance :math:`\\max(s_a, s_b)`."""

    symbol: ClassVar[str] = "&"
    word: ClassVar[str] = "intersection"

    @staticmethod
    def _combine_sdf(sa: Tensor, sb: Tensor) -> Tensor:
        return torch.maximum(sa, sb)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (alo, ahi), (blo, bhi) = self.a.bounds(), self.b.bounds()
        lo = tuple(max(p, q) for p, q in zip(alo, blo, strict=True))
        return lo, tuple(min(p, q) for p, q in zip(ahi, bhi, strict=True))


OPERATIONS: dict[str, type[CSGDomain]] = {"-": Difference, "|": Union, "&": Intersection}
"""Operator symbol -> CSG class (``a - b``, ``a | b``, ``a & b``)."""
