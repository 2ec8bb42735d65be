"""Simple polygons in the plane, given by their vertices in either orientation.

The boundary is one face ``"boundary"``, sampled uniformly in arc length: a unit coordinate
:math:`v \\in [0, 1)` is the arc-length position :math:`v P` along the closed boundary (perimeter
:math:`P`), which falls on edge :math:`i` at local parameter :math:`\\tau`, giving the point
:math:`a_i + \\tau (b_i - a_i)` with the edge's outward normal: :math:`(\\Delta y, -\\Delta x)/L` for
counter-clockwise vertices (positive shoelace area), the opposite for clockwise ones. Interior points
are drawn by rejection from the bounding box; the area is the shoelace formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from ._args import real_tuple
from .base import Domain

__all__ = ["Polygon"]

Tensor = torch.Tensor


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Sign of the turn p -> q -> r (+1 left, -1 right, 0 collinear), broadcast over leading axes."""
    return np.sign(_cross(q - p, r - p))


def _on_segment(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """For collinear p, q, r: whether r lies on the closed segment pq (bounding-box test)."""
    lo, hi = np.minimum(p, q), np.maximum(p, q)
    return ((r >= lo) & (r <= hi)).all(axis=-1)


def _segments_meet(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether the closed segments ab and cd share a point (crossing, touching or overlapping)."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    proper = (o1 * o2 < 0) & (o3 * o4 < 0)
    touch = (
        ((o1 == 0) & _on_segment(a, b, c))
        | ((o2 == 0) & _on_segment(a, b, d))
        | ((o3 == 0) & _on_segment(c, d, a))
        | ((o4 == 0) & _on_segment(c, d, b))
    )
    return proper | touch


def _parse_vertices(vertices: Any) -> tuple[tuple[float, float], ...]:
    if isinstance(vertices, (np.ndarray, Tensor)):
        vertices = vertices.tolist()
    if isinstance(vertices, (str, bytes)) or not isinstance(vertices, Sequence):
        raise TypeError(f"Polygon: vertices must be a sequence of (x, y) pairs, got {vertices!r}")
    points = [real_tuple(v, "every vertex", "Polygon") for v in vertices]
    for i, p in enumerate(points):
        if len(p) != 2:
            raise ValueError(f"Polygon: every vertex must be an (x, y) pair, got vertex {i} = {p}")
    if len(points) > 3 and points[0] == points[-1]:
        points = points[:-1]  # a closed ring: the last vertex repeats the first
    if len(points) < 3:
        raise ValueError(
            f"Polygon: needs at least 3 vertices, got {len(points)}; pass e.g. [(0, 0), (1, 0), (0, 1)]"
        )
    return tuple((p[0], p[1]) for p in points)


def _check_simple(v: np.ndarray) -> None:
    """Raise ``ValueError`` unless the closed polyline through ``v`` ``(k, 2)`` is a simple polygon."""
    k = len(v)
    a, b = v, np.roll(v, -1, axis=0)  # (k, 2) edge i runs from a[i] to b[i]
    lengths = np.linalg.norm(b - a, axis=1)  # (k,)
    if (lengths == 0).any():
        i = int(np.argmax(lengths == 0))
        raise ValueError(
            f"Polygon is not simple: vertex {i} {tuple(v[i])} repeats vertex {(i + 1) % k}; "
            "pass each vertex once"
        )
    e = b - a  # (k, 2)
    e_next = np.roll(e, -1, axis=0)  # (k, 2) edge i + 1
    fold = (_cross(e, e_next) == 0) & ((e * e_next).sum(axis=1) < 0)  # (k,) edge i+1 runs back over edge i
    if fold.any():
        i = int(np.argmax(fold))
        raise ValueError(
            f"Polygon is not simple: edges {i} and {(i + 1) % k} overlap (the boundary folds back at "
            f"vertex {(i + 1) % k} {tuple(v[(i + 1) % k])})"
        )
    i, j = np.triu_indices(k, 2)  # pairs i < j - 1
    distant = (j - i) % k != k - 1  # drop the pair (0, k - 1): adjacent through the closing vertex
    i, j = i[distant], j[distant]
    meet = _segments_meet(a[i], b[i], a[j], b[j])  # (pairs,)
    if meet.any():
        p, q = int(i[np.argmax(meet)]), int(j[np.argmax(meet)])
        raise ValueError(
            f"Polygon is not simple: edge {p} {tuple(a[p])}-{tuple(b[p])} and edge {q} "
            f"{tuple(a[q])}-{tuple(b[q])} intersect; pass the vertices of a simple polygon in order"
        )


@dataclass(frozen=True)
class Polygon(Domain):
    """Simple polygon with the given vertices (either orientation, at least 3, not closed by repetition).

    ``Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])`` is the L-shape. A ring whose last
    vertex repeats the first is accepted (the repetition is dropped). Self-intersecting or touching edges
    raise ``ValueError``.
    """

    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        vertices = _parse_vertices(self.vertices)
        _check_simple(np.array(vertices))
        object.__setattr__(self, "vertices", vertices)

    # ---- edges ----
    @cached_property
    def _edges(self) -> dict[str, np.ndarray]:
        """Edge start points ``a``, end points ``b`` ``(k, 2)``, lengths ``(k,)``, outward normals ``(k, 2)``."""
        a = np.array(self.vertices)  # (k, 2)
        b = np.roll(a, -1, axis=0)  # (k, 2)
        e = b - a  # (k, 2)
        length = np.linalg.norm(e, axis=1)  # (k,)
        orientation = 1.0 if self._signed_area > 0 else -1.0
        normal = orientation * np.stack([e[:, 1], -e[:, 0]], axis=1) / length[:, None]  # (k, 2)
        return {"a": a, "b": b, "length": length, "normal": normal}

    @cached_property
    def _signed_area(self) -> float:
        """Shoelace area: positive when the vertices run counter-clockwise."""
        a = np.array(self.vertices)  # (k, 2)
        return 0.5 * float(_cross(a, np.roll(a, -1, axis=0)).sum())

    # ---- description ----
    @property
    def dim(self) -> int:
        return 2

    @property
    def names(self) -> tuple[str, ...]:
        return ("x", "y")

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        v = np.array(self.vertices)  # (k, 2)
        return tuple(float(c) for c in v.min(axis=0)), tuple(float(c) for c in v.max(axis=0))

    @property
    def faces(self) -> tuple[str, ...]:
        return ("boundary",)

    def _measure(self, face: str) -> float:
        return float(self._edges["length"].sum())

    def volume(self) -> float:
        return abs(self._signed_area)

    # ---- sampling ----
    def _interior_arrays(
        self, n: int, sampler: str, seed: int, tag: str, extra: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._rejection_interior(n, sampler, seed, tag, extra)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        edges = self._edges
        ends = np.cumsum(edges["length"])  # (k,) arc length at the end of each edge
        s = u[:, 0] * ends[-1]  # (n,) arc-length position
        i = np.minimum(np.searchsorted(ends, s, side="right"), len(ends) - 1)  # (n,) edge index
        start = ends[i] - edges["length"][i]  # (n,)
        tau = np.clip((s - start) / edges["length"][i], np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))
        a, b = edges["a"][i], edges["b"][i]  # (n, 2) each
        return a + tau[:, None] * (b - a), edges["normal"][i]

    def _sdf(self, x: Tensor) -> Tensor:
        """Exact signed distance: the distance to the nearest edge, negative inside (crossing parity)."""
        edges = self._edges
        a = torch.as_tensor(edges["a"], dtype=x.dtype, device=x.device)  # (k, 2)
        b = torch.as_tensor(edges["b"], dtype=x.dtype, device=x.device)  # (k, 2)
        e = b - a  # (k, 2)
        rel = x[:, None, :] - a[None, :, :]  # (N, k, 2)
        tau = ((rel * e).sum(dim=2) / (e * e).sum(dim=1)).clamp(0.0, 1.0)  # (N, k)
        dist = torch.linalg.vector_norm(rel - tau[:, :, None] * e, dim=2).min(dim=1).values  # (N,)
        y = x[:, 1:2]  # (N, 1)
        straddles = (a[:, 1] > y) != (b[:, 1] > y)  # (N, k) edge crosses the horizontal line through x
        safe_dy = torch.where(straddles, e[:, 1].expand_as(straddles), torch.ones_like(rel[:, :, 0]))
        x_cross = a[:, 0] + (y - a[:, 1]) * e[:, 0] / safe_dy  # (N, k)
        crossings = (straddles & (x[:, 0:1] < x_cross)).sum(dim=1)  # (N,)
        inside = crossings % 2 == 1
        return torch.where(inside, -dist, dist)
