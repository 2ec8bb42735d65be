"""Smooth approximate distance functions :math:`\\phi \\ge 0` that vanish exactly on (part of) a boundary.

For exactly imposed Dirichlet conditions :math:`u = g + \\phi N` (Sukumar & Srivastava 2022) one needs
:math:`\\phi` vanishing exactly on the Dirichlet part of :math:`\\partial\\Omega`, positive elsewhere in
:math:`\\Omega` and smooth inside. :class:`DistanceFunction` builds it in torch (differentiable to any order
off its zero set, so jets come from autograd), for the boundary part ``on`` (face names or shapes, as
``on=`` of the conditions):

* **Box**, selected faces :math:`F`: the normalised product form. Per axis :math:`a`,
  :math:`\\phi_a = (x_a - lo_a)(hi_a - x_a)/(hi_a - lo_a)` when both faces are in :math:`F`, the distance
  :math:`x_a - lo_a` or :math:`hi_a - x_a` when one is; with :math:`m_a = \\max \\phi_a` on the box,
  :math:`\\phi = \\min_a m_a \\prod_a \\phi_a / m_a`. A polynomial, :math:`0 \\le \\phi \\le` the distance to the
  selected faces, equal to it to first order when one axis is selected.
* **Ball**: :math:`\\phi = (R^2 - |x - c|^2)/(2R)`, normalised to first order.
* **Polygon**: each edge :math:`[x_1, x_2]` (length :math:`L`, centre :math:`x_c`) gives the line function
  :math:`f = ((x - x_1) \\times (x_2 - x_1))/L` and the trimming function
  :math:`t = ((L/2)^2 - |x - x_c|^2)/L`, positive on the disc with the edge as diameter; the trimmed
  distance (their eq. 4) :math:`\\tilde\\phi = \\sqrt{f^2 + ((\\sqrt{t^2 + f^4} - t)/2)^2}` vanishes exactly
  on the edge and equals :math:`|f|` to first order near it. The edges are joined by the R-function
  :math:`\\phi_1 \\wedge \\phi_2 = \\phi_1 + \\phi_2 - \\sqrt{\\phi_1^2 + \\phi_2^2}` (zero exactly where one
  of them is, positive where both are, :math:`\\approx \\phi_1` near the zero set of :math:`\\phi_1`; the
  "R-equivalence" of the design notes).
* **CSG results** (R-functions): every face of every selected leaf (box face, sphere, polygon edge) is a
  piece with its carrier function :math:`f` (the face's plane, :math:`(R^2 - |x-c|^2)/(2R)`, the edge's
  line) and a trimming function :math:`t \\ge 0` exactly where the piece is part of the result's boundary:
  the R-conjunction of its own extent (the other axes' slabs of a box face, the disc of a polygon edge) and
  of one condition per ancestor, "inside the sibling" (:math:`g_Q`) for an intersection or for the
  subtracted side of a difference, "outside the sibling" (:math:`-g_Q`) otherwise. The region function
  :math:`g_Q` of a shape is positive inside it (box: conjunction of slabs; ball: as above; polygon: the
  polygon's :math:`\\phi` signed by inside/outside; compound: conjunction, disjunction or
  :math:`g_a \\wedge -g_b` of its operands). Trims are combined with the C\\ :sup:`2` R-functions
  :math:`a \\wedge_2 b = (a + b - \\sqrt{a^2 + b^2})(a^2 + b^2)/s^2` and
  :math:`a \\vee_2 b = (a + b + \\sqrt{a^2 + b^2})(a^2 + b^2)/s^2` (:math:`s` the domain's size; only
  their sign and smoothness matter), so that the trimmed pieces stay twice differentiable inside the
  domain. The pieces are joined with :math:`\\wedge` as for polygons. An ancestor's condition enters a
  leaf's trim only where the sibling actually cuts the leaf's boundary (:func:`cut_table`, probed once per
  function): a hole strictly inside a square leaves the square's sides untrimmed, since the hole's zero set
  would otherwise run through the domain with its curvature. A leaf that nothing cuts and that the result
  lies inside (through intersections and the kept side of differences only) contributes its own function
  (the box's product form above, not normalised to first order); for a union's operands and subtracted
  shapes the trimmed pieces are kept, since a leaf's own function is negative outside it.
* **SpaceTime**: the function of the space, applied to the spatial columns.

Smoothness. Off its zero set :math:`\\phi` is C\\ :sup:`∞` for boxes, balls and polygons, and at least
C\\ :sup:`2` inside a CSG result, with one exception: the region function of a *polygon* operand is only
C\\ :sup:`1` across the polygon's edges, which matters where those edges run through the result's
interior (a polygon in a union or intersection, not a polygonal hole). On the zero set the trimmed forms
behave like :math:`|f|`, so derivatives there are not defined (autograd gives NaN): take jets at interior
points. The box and ball forms are smooth on their boundary too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch

from .ball import Ball
from .base import Domain, is_mask
from .box import Box
from .csg import CSGDomain, Difference, Intersection, Union
from .polygon import Polygon
from .spacetime import SpaceTime

__all__ = ["DistanceFunction"]

Tensor = torch.Tensor
Piece = tuple[Tensor, Tensor | None]  # carrier function f (N,), own trimming function t (N,) or None


# ---------------------------------------------------------------------------------------------------
# R-functions
# ---------------------------------------------------------------------------------------------------


def r_and(a: Tensor, b: Tensor) -> Tensor:
    """:math:`a \\wedge b = a + b - \\sqrt{a^2 + b^2}`: zero where one vanishes and the other is >= 0."""
    return a + b - torch.sqrt(a * a + b * b)


def _and2(a: Tensor, b: Tensor, s2: float) -> Tensor:
    """C² conjunction: positive exactly where ``a > 0`` and ``b > 0``."""
    q = a * a + b * b
    return (a + b - torch.sqrt(q)) * q / s2


def _or2(a: Tensor, b: Tensor, s2: float) -> Tensor:
    """C² disjunction: positive exactly where ``a > 0`` or ``b > 0``."""
    q = a * a + b * b
    return (a + b + torch.sqrt(q)) * q / s2


def _fold(values: list[Tensor], combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    out = values[0]
    for value in values[1:]:
        out = combine(out, value)
    return out


def trimmed(f: Tensor, t: Tensor | None) -> Tensor:
    """Trimmed distance :math:`\\sqrt{f^2 + ((\\sqrt{t^2 + f^4} - t)/2)^2}`: zero where ``f = 0``, ``t >= 0``."""
    if t is None:
        return f.abs()
    psi = 0.5 * (torch.sqrt(t * t + f**4) - t)
    return torch.sqrt(f * f + psi * psi)


# ---------------------------------------------------------------------------------------------------
# Primitives: the function on selected faces, the pieces (for CSG) and the region function
# ---------------------------------------------------------------------------------------------------


def _slab(box: Box, x: Tensor, axis: int) -> Tensor:
    lo, hi = box.lo[axis], box.hi[axis]
    return (x[:, axis] - lo) * (hi - x[:, axis]) / (hi - lo)  # (N,)


def _box_phi(box: Box, x: Tensor, faces: tuple[str, ...]) -> Tensor:
    factors, maxima = [], []
    for axis in range(box.dim):
        lo, hi = box.lo[axis], box.hi[axis]
        has_min = f"{box.names[axis]}min" in faces
        has_max = f"{box.names[axis]}max" in faces
        if has_min and has_max:
            factors.append(_slab(box, x, axis))
            maxima.append((hi - lo) / 4)
        elif has_min or has_max:
            factors.append(x[:, axis] - lo if has_min else hi - x[:, axis])
            maxima.append(hi - lo)
    scale = min(maxima)
    return scale * math.prod(f / m for f, m in zip(factors, maxima, strict=True))


def _box_pieces(box: Box, x: Tensor, s2: float) -> list[Piece]:
    pieces = []
    for face in box.faces:
        axis, is_max = box._face_axis(face)
        f = box.hi[axis] - x[:, axis] if is_max else x[:, axis] - box.lo[axis]  # (N,)
        others = [_slab(box, x, a) for a in range(box.dim) if a != axis]
        pieces.append((f, _fold(others, lambda p, q: _and2(p, q, s2)) if others else None))
    return pieces


def _box_region(box: Box, x: Tensor, s2: float) -> Tensor:
    return _fold([_slab(box, x, a) for a in range(box.dim)], lambda p, q: _and2(p, q, s2))


def _ball_phi(ball: Ball, x: Tensor, faces: tuple[str, ...] = ("boundary",)) -> Tensor:
    c = torch.tensor(ball.center, dtype=x.dtype, device=x.device)
    return (ball.radius**2 - ((x - c) ** 2).sum(dim=1)) / (2.0 * ball.radius)  # (N,)


def _ball_pieces(ball: Ball, x: Tensor, s2: float) -> list[Piece]:
    return [(_ball_phi(ball, x), None)]


def _ball_region(ball: Ball, x: Tensor, s2: float) -> Tensor:
    return _ball_phi(ball, x)


def _polygon_pieces(polygon: Polygon, x: Tensor, s2: float = 1.0) -> list[Piece]:
    edges = polygon._edges
    a = torch.as_tensor(edges["a"], dtype=x.dtype, device=x.device)  # (k, 2)
    b = torch.as_tensor(edges["b"], dtype=x.dtype, device=x.device)  # (k, 2)
    length = torch.as_tensor(edges["length"], dtype=x.dtype, device=x.device)  # (k,)
    rel = x[:, None, :] - a[None, :, :]  # (N, k, 2)
    e = b - a  # (k, 2)
    f = (rel[:, :, 0] * e[:, 1] - rel[:, :, 1] * e[:, 0]) / length  # (N, k) line function
    centre = 0.5 * (a + b)  # (k, 2)
    t = ((0.5 * length) ** 2 - ((x[:, None, :] - centre) ** 2).sum(dim=2)) / length  # (N, k) trimming
    return [(f[:, i], t[:, i]) for i in range(f.shape[1])]


def _polygon_phi(polygon: Polygon, x: Tensor, faces: tuple[str, ...] = ("boundary",)) -> Tensor:
    return _fold([trimmed(f, t) for f, t in _polygon_pieces(polygon, x)], r_and)


def _polygon_region(polygon: Polygon, x: Tensor, s2: float) -> Tensor:
    with torch.no_grad():
        inside = polygon._sdf(x) < 0.0  # (N,) piecewise constant sign
    phi = _polygon_phi(polygon, x)
    return torch.where(inside, phi, -phi)


# type -> (phi on selected faces, pieces for CSG, region function)
_PRIMITIVES: dict[type, tuple[Callable[..., Tensor], Callable[..., list[Piece]], Callable[..., Tensor]]] = {
    Box: (_box_phi, _box_pieces, _box_region),
    Ball: (_ball_phi, _ball_pieces, _ball_region),
    Polygon: (_polygon_phi, _polygon_pieces, _polygon_region),
}


def _primitive(
    domain: Domain,
) -> tuple[Callable[..., Tensor], Callable[..., list[Piece]], Callable[..., Tensor]]:
    for cls in type(domain).__mro__:
        if cls in _PRIMITIVES:
            return _PRIMITIVES[cls]
    valid = ", ".join(c.__name__ for c in _PRIMITIVES)
    raise TypeError(f"no distance function for {type(domain).__name__}; shapes with one: {valid} and CSG")


# ---------------------------------------------------------------------------------------------------
# CSG
# ---------------------------------------------------------------------------------------------------

# operation -> (sign of the sibling's region function in the trim of a leaf under a, under b)
_SIBLING_SIGN: dict[type, tuple[float, float]] = {
    Union: (-1.0, -1.0),
    Intersection: (1.0, 1.0),
    Difference: (-1.0, 1.0),
}
# operation -> region function of the result from those of a and b
_REGION_OPS: dict[type, Callable[[Tensor, Tensor, float], Tensor]] = {
    Union: _or2,
    Intersection: _and2,
    Difference: lambda ga, gb, s2: _and2(ga, -gb, s2),
}


class _CSGPhi:
    """Evaluates the trimmed pieces of a CSG result at fixed points, caching region functions."""

    def __init__(self, domain: CSGDomain, x: Tensor) -> None:
        lo, hi = domain.bounds()
        self.x, self.s2 = x, max(b - a for a, b in zip(lo, hi, strict=True)) ** 2
        self.regions: dict[int, Tensor] = {}

    def region(self, node: Domain) -> Tensor:
        key = id(node)
        if key not in self.regions:
            if isinstance(node, CSGDomain):
                combine = _REGION_OPS[type(node)]
                self.regions[key] = combine(self.region(node.a), self.region(node.b), self.s2)
            else:
                self.regions[key] = _primitive(node)[2](node, self.x, self.s2)
        return self.regions[key]

    def leaf_trims(
        self, node: Domain, trims: list[Any], out: list[tuple[list[Any], bool]], inside: bool = True
    ) -> None:
        """Append, per leaf in order, the conditions (>= 0 where its boundary is the result's) and whether
        the result lies inside the leaf (true only through intersections and the kept side of differences;
        a union's result is inside neither operand, a subtracted leaf's result is outside it)."""
        if not isinstance(node, CSGDomain):
            out.append((trims, inside))
            return
        sign_a, sign_b = _SIBLING_SIGN[type(node)]
        self.leaf_trims(
            node.a, [*trims, _Lazy(self, node.b, sign_a)], out, inside and not isinstance(node, Union)
        )
        self.leaf_trims(
            node.b, [*trims, _Lazy(self, node.a, sign_b)], out, inside and isinstance(node, Intersection)
        )

    def __call__(self, domain: CSGDomain, positions: list[int], cuts: CutTable) -> Tensor:
        conditions: list[tuple[list[Any], bool]] = []
        self.leaf_trims(domain, [], conditions)
        pieces = []
        for i in positions:
            leaf, (lazies, inside) = domain.leaves[i], conditions[i]
            context = [lazy.value() for lazy, cuts_it in zip(lazies, cuts[i], strict=True) if cuts_it]
            if not context and inside:  # the result lies inside the leaf and nothing cuts its boundary
                pieces.append(_primitive(leaf)[0](leaf, self.x, leaf.faces))
                continue
            for f, own in _primitive(leaf)[1](leaf, self.x, self.s2):
                trims = ([own] if own is not None else []) + context
                t = _fold(trims, lambda p, q: _and2(p, q, self.s2)) if trims else None
                pieces.append(trimmed(f, t))
        return _fold(pieces, r_and)


_PROBES = 4096  # boundary points of a leaf at which a sibling condition is checked
CutTable = tuple[tuple[bool, ...], ...]  # per leaf, per sibling condition: does it cut the leaf's boundary


def cut_table(domain: CSGDomain) -> CutTable:
    """Per leaf, which sibling conditions remove part of its boundary: ≤ 0 at one of ``_PROBES`` Sobol
    points on it (float64 on the CPU, so the answer does not depend on the dtype or device of the points
    later given to the function). A hole strictly inside a square does not cut the square's sides: trimming
    by it would only add curvature (its region function's zero set runs through the domain) for nothing.
    Resolution: a cut shorter than the probes' spacing (about the leaf's boundary measure / ``_PROBES``) can
    be missed, which leaves the uncut function's zero set on a piece of that size."""
    table = []
    for i, leaf in enumerate(domain.leaves):
        probe_x, _ = leaf.sample_boundary(_PROBES, seed=0)  # (_PROBES, dim)
        probe = _CSGPhi(domain, probe_x)
        conditions: list[tuple[list[Any], bool]] = []
        probe.leaf_trims(domain, [], conditions)
        table.append(tuple(bool((c.value() <= 0).any()) for c in conditions[i][0]))
    return tuple(table)


@dataclass(frozen=True)
class _Lazy:
    """The sibling's region function times ``sign``, computed on first use."""

    owner: _CSGPhi
    node: Domain
    sign: float

    def value(self) -> Tensor:
        return self.sign * self.owner.region(self.node)


def _csg_phi(domain: CSGDomain, x: Tensor, selection: tuple, cuts: CutTable) -> Tensor:
    targets = (domain,) if selection == domain.faces else selection
    return _CSGPhi(domain, x)(domain, list(domain._positions(targets)), cuts)


# ---------------------------------------------------------------------------------------------------
# Public
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistanceFunction:
    """Approximate distance :math:`\\phi(x)` to the part ``on`` of ``domain``'s boundary (see the module).

    ``on`` takes what ``on=`` of a condition takes except mask callables: ``None`` (the whole boundary),
    face names, or shapes the domain is built from. ``phi(x)`` maps points ``(N, dim)`` to ``(N,)``
    (dtype and device of ``x``): zero exactly on that part, positive elsewhere in the domain.

    Example::

        phi = DistanceFunction(square - hole, on=square)   # zero on the square's sides only
        u = g(x) + phi(x) * net(x)
    """

    domain: Domain
    on: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            raise TypeError(f"DistanceFunction: domain must be a Domain, got {self.domain!r}")
        if is_mask(self.on):
            raise TypeError(
                "DistanceFunction: on= cannot be a mask callable (a mask does not define a smooth "
                "function); pass face names or the shapes whose boundary the function vanishes on"
            )
        self.domain.resolve_on(self.on)

    @cached_property
    def _cuts(self) -> CutTable:
        """The cut table of a CSG space (:func:`cut_table`), computed on the first evaluation only."""
        space = self.domain.space if isinstance(self.domain, SpaceTime) else self.domain
        return cut_table(space)

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.domain.dim:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"DistanceFunction expects a tensor of shape (N, {self.domain.dim}), got {shape}"
            )
        space = self.domain.space if isinstance(self.domain, SpaceTime) else self.domain
        selection = self.domain.resolve_on(self.on)
        xs = x[:, : space.dim]  # (N, space_dim)
        if isinstance(space, CSGDomain):
            return _csg_phi(space, xs, selection, self._cuts)
        return _primitive(space)[0](space, xs, selection)
