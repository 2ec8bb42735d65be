"""Domains, named boundary faces, outward normals and point sampling.

A domain is a closed set :math:`\\Omega \\subset \\mathbb{R}^d` (or a space-time cylinder
:math:`\\Omega \\times [t_0, t_1]`). Points are tensors of shape ``(N, dim)`` whose columns are named by
``domain.names`` (``"x", "y", "z"`` or ``"x1", ..., "xd"``; a space-time domain appends ``"t"``).

Sampling works in two steps. A *sampler* from :data:`SAMPLERS` draws ``u`` in the unit cube
:math:`[0, 1)^k`; the domain maps ``u`` onto its interior, a boundary face, or the initial slice. All
generation happens in NumPy float64; the result is converted once with ``torch.as_tensor``. Each kind of
point (interior, every face, initial, periodic) draws from its own sub-stream of ``seed``, so that
interior and boundary points taken with the same seed are not correlated.

Example::

    dom = SpaceTime(Rectangle((0, 0), (1, 2)), t=(0, 1))
    x_in = dom.sample_interior(1000)                        # (1000, 3), columns x, y, t
    x_b, normal = dom.sample_boundary(200, on=["left", "top"])  # (200, 3), (200, 2)
    x_0 = dom.sample_initial(100)                          # (100, 3) with t == 0
"""

from __future__ import annotations

import inspect
import math
import warnings
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import qmc

from ._checks import check_dtype
from .grids import grid_nodes

__all__ = [
    "SAMPLERS",
    "Box",
    "Disk",
    "Domain",
    "Interval",
    "Rectangle",
    "SpaceTime",
]

Tensor = torch.Tensor
FaceSelector = str | Sequence[str] | Callable[[Tensor], Tensor] | None

# Oversampling factor for boundary points selected by a callable mask.
_MASK_OVERSAMPLE = 4
_MASK_ROUNDS = 3

# scipy >= 1.15 names the Sobol generator argument `rng`; older releases call it `seed`.
_SOBOL_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"


# --------------------------------------------------------------------------------------------------
# Unit-cube samplers: (n, d, seed) -> array (n, d) with entries in [0, 1).
# --------------------------------------------------------------------------------------------------


def _sobol_unit(n: int, d: int, seed: int) -> np.ndarray:
    """First ``n`` points of a scrambled Sobol sequence in :math:`[0, 1)^d`, seeded by ``seed``.

    Balance properties hold exactly only for ``n`` a power of two; for other ``n`` the first ``n`` points
    are taken (scipy's warning about this is silenced here, locally).
    """
    engine = qmc.Sobol(d, scramble=True, **{_SOBOL_RNG_KEYWORD: np.random.default_rng(seed)})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties.*", category=UserWarning)
        return engine.random(n)  # (n, d)


def _random_unit(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` independent uniform points in :math:`[0, 1)^d` from ``np.random.default_rng(seed)``."""
    return np.random.default_rng(seed).random((n, d))  # (n, d)


def _grid_unit(n: int, d: int, seed: int) -> np.ndarray:
    """Exactly ``n`` nodes of the cell-midpoint tensor grid, independent of ``seed``.

    With :math:`m = \\lceil n^{1/d} \\rceil` cells per axis the grid has nodes
    :math:`((i_1 + 1/2)/m, \\dots, (i_d + 1/2)/m)`. When :math:`m^d > n`, ``n`` nodes are chosen at
    evenly spaced positions of the lexicographic node list, so the count is always exactly ``n``
    (a full tensor grid when ``n`` is a perfect ``d``-th power).
    """
    del seed  # a grid is deterministic
    m = max(1, round(n ** (1.0 / d)))
    while m**d < n:
        m += 1
    total = m**d
    flat = np.arange(n, dtype=np.int64) * (total - 1) // max(n - 1, 1)  # (n,), increasing as total >= n
    cells = np.stack(np.unravel_index(flat, (m,) * d), axis=1)  # (n, d) integer cell indices
    return (cells + 0.5) / m  # (n, d)


SAMPLERS: dict[str, Callable[[int, int, int], np.ndarray]] = {
    "sobol": _sobol_unit,
    "random": _random_unit,
    "grid": _grid_unit,
}
"""Registry of unit-cube samplers ``(n, d, seed) -> ndarray (n, d)`` in :math:`[0, 1)^d`."""


# --------------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------------


def _check_count(n: Any, what: str = "n") -> int:
    """Return ``n`` as a Python int, or raise if it is not a positive integer."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(
            f"{what} must be a positive int, got {n!r} of type {type(n).__name__}; pass e.g. 1000"
        )
    if n <= 0:
        raise ValueError(f"{what} must be a positive int, got {n}; pass a number of points >= 1")
    return int(n)


def _check_seed(seed: Any) -> int:
    """Return ``seed`` as a non-negative Python int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r} of type {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def _real(value: Any, what: str, owner: str) -> float:
    """Convert a finite real number to float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{owner}: {what} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {what} must be finite, got {what}={value}; pass a finite number")
    return float(value)


def _real_tuple(value: Any, what: str, owner: str) -> tuple[float, ...]:
    """Convert a sequence (list, tuple, array, tensor) of finite real numbers to a tuple of floats."""
    if isinstance(value, (np.ndarray, Tensor)):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{owner}: {what} must be a sequence of numbers, got {value!r}")
    return tuple(_real(v, f"every entry of {what}", owner) for v in value)


def _sub_seed(seed: int, tag: str) -> int:
    """Derive an independent seed for the sub-stream ``tag`` (e.g. ``"interior"``) of ``seed``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(tag.encode()),))
    return int(sequence.generate_state(1)[0])


def _unit_samples(sampler: str, n: int, d: int, seed: int, tag: str) -> np.ndarray:
    """Draw ``n`` points of :math:`[0, 1)^d` with the named sampler on sub-stream ``tag``."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        valid = ", ".join(sorted(SAMPLERS))
        raise ValueError(f"unknown sampler {sampler!r}; valid samplers: {valid}")
    if d == 0:
        return np.zeros((n, 0))
    return np.asarray(SAMPLERS[sampler](n, d, _sub_seed(seed, tag)), dtype=np.float64)


def _split_counts(n: int, weights: Sequence[float]) -> list[int]:
    """Split ``n`` into integer counts proportional to ``weights``, each at least 1, summing to ``n``.

    Start from :math:`c_i = \\max(1, \\lfloor n w_i / \\sum w \\rfloor)`, then move single points to (or
    from) the parts whose ideal share :math:`n w_i / \\sum w` is furthest above (below) :math:`c_i`.
    """
    k = len(weights)
    if n < k:
        raise ValueError(
            f"cannot split n={n} points over {k} faces with at least one point each; pass n >= {k}"
        )
    w = np.asarray(weights, dtype=np.float64)
    ideal = n * w / w.sum()  # (k,)
    counts = np.maximum(1, np.floor(ideal)).astype(int)  # (k,)
    while counts.sum() < n:
        counts[np.argmax(ideal - counts)] += 1
    while counts.sum() > n:
        excess = np.where(counts > 1, counts - ideal, -np.inf)
        counts[np.argmax(excess)] -= 1
    return [int(c) for c in counts]


def _to_tensor(a: np.ndarray, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    return torch.as_tensor(a, dtype=check_dtype(dtype), device=device)


def _inside_open(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Affine map :math:`lo + (hi - lo) u`, clipped to stay strictly inside :math:`(lo, hi)`."""
    x = lo + (hi - lo) * u  # (n, k)
    return np.clip(x, np.nextafter(lo, hi), np.nextafter(hi, lo))


def _axis_names(d: int) -> tuple[str, ...]:
    if d <= 3:
        return ("x", "y", "z")[:d]
    return tuple(f"x{i + 1}" for i in range(d))


# --------------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------------


class Domain(ABC):
    """A closed domain with named boundary faces and point samplers.

    Subclasses map unit-cube samples: ``_interior_from_unit(u)`` with ``u`` of shape ``(n, dim)`` and
    ``_face_from_unit(face, u)`` with ``u`` of shape ``(n, dim - 1)``. Sampling, face selection and
    validation are shared here.
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
    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` of shape ``(n, dim)`` in the unit cube to interior points ``(n, dim)``."""

    @abstractmethod
    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map ``u`` ``(n, dim - 1)`` to points ``(n, dim)`` on ``face`` and normals ``(n, space_dim)``."""

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise ValueError(
            f"periodic pairs need a Box domain (or SpaceTime over a Box), got {type(self).__name__}; "
            "periodicity is defined between the faces <axis>min and <axis>max of a box"
        )

    @abstractmethod
    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Boolean mask ``(N,)`` of the rows of ``x`` ``(N, dim)`` in the closed domain.

        Points within ``tol`` times the largest coordinate magnitude of :meth:`bounds` (at least 1) of the
        domain count as inside.
        """

    # ---- faces ----
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

    # ---- sampling ----
    def sample_interior(
        self,
        n: int,
        sampler: str = "sobol",
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """``n`` points ``(n, dim)`` strictly inside the domain (``t`` in :math:`[t_0, t_1)` in time)."""
        n, seed = _check_count(n), _check_seed(seed)
        u = _unit_samples(sampler, n, self.dim, seed, "interior")  # (n, dim)
        return _to_tensor(self._interior_from_unit(u), dtype, device)

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
        them in proportion to :meth:`measure`, at least one per face. ``on`` may also be a callable
        ``on(points) -> bool tensor (N,)``: then candidates are drawn on all faces and the first ``n``
        (evenly spread over the candidates that pass) are kept.
        """
        n, seed = _check_count(n), _check_seed(seed)
        check_dtype(dtype)
        if callable(on):
            return self._sample_boundary_masked(n, sampler, seed, on, dtype, device)
        x, normal = self._boundary_arrays(n, sampler, seed, self.resolve_faces(on))
        return _to_tensor(x, dtype, device), _to_tensor(normal, dtype, device)

    def _boundary_arrays(
        self, n: int, sampler: str, seed: int, faces: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        counts = _split_counts(n, [self._measure(f) for f in faces])
        points, normals = [], []
        for face, count in zip(faces, counts, strict=True):
            u = _unit_samples(sampler, count, self.dim - 1, seed, f"boundary:{face}")  # (count, dim - 1)
            x, normal = self._face_from_unit(face, u)
            points.append(x)
            normals.append(normal)
        return np.concatenate(points), np.concatenate(normals)  # (n, dim), (n, space_dim)

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
            x_np, normal_np = self._boundary_arrays(max(total, len(self.faces)), sampler, seed, self.faces)
            x, normal = _to_tensor(x_np, dtype, device), _to_tensor(normal_np, dtype, device)
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
        n, seed = _check_count(n), _check_seed(seed)
        spatial = self.names[: self.space_dim]
        if axis_name not in spatial:
            raise ValueError(
                f"unknown periodic axis {axis_name!r} for {type(self).__name__}; "
                f"valid axes: {', '.join(spatial)}"
            )
        axis = spatial.index(axis_name)
        u = _unit_samples(sampler, n, self.dim - 1, seed, f"periodic:{axis_name}")  # (n, dim - 1)
        x_min, x_max = self._periodic_from_unit(axis, u)
        return _to_tensor(x_min, dtype, device), _to_tensor(x_max, dtype, device)

    # ---- evaluation ----
    def evaluation_grid(self, n: int | Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """Regular grid over :meth:`bounds`: per-column coordinates and the inside mask.

        ``n`` is a node count per column (one int for all). Returns ``coords`` (``coords[i]`` of length
        ``n_i``, end points included) and a bool array of shape ``(n_1, ..., n_dim)`` (``'ij'``
        indexing) telling which nodes lie in the closed domain.
        """
        sizes = [n] * self.dim if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else n
        if not isinstance(sizes, Sequence) or len(sizes) != self.dim:
            raise ValueError(f"evaluation_grid: pass one int or {self.dim} ints (one per column), got {n!r}")
        sizes = [_check_count(k, "evaluation_grid size") for k in sizes]
        if min(sizes) < 2:
            raise ValueError(f"evaluation_grid: need at least 2 nodes per column, got {n!r}")
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


# --------------------------------------------------------------------------------------------------
# Box, Interval, Rectangle
# --------------------------------------------------------------------------------------------------


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
        lo, hi = _real_tuple(self.lo, "lo", owner), _real_tuple(self.hi, "hi", owner)
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
        return _axis_names(self.dim)

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.lo, self.hi

    @property
    def faces(self) -> tuple[str, ...]:
        return tuple(f"{name}{side}" for name in self.names for side in ("min", "max"))

    def _aliases(self) -> dict[str, str]:
        aliases = {"left": "xmin", "right": "xmax", "bottom": "ymin", "top": "ymax"}
        return dict(list(aliases.items())[: 2 * self.dim]) if self.dim <= 2 else {}

    def _face_axis(self, face: str) -> tuple[int, bool]:
        """Axis index of ``face`` and whether it is the ``max`` side."""
        return self.names.index(face[:-3]), face.endswith("max")

    def _measure(self, face: str) -> float:
        axis, _ = self._face_axis(face)
        return math.prod(b - a for i, (a, b) in enumerate(zip(self.lo, self.hi, strict=True)) if i != axis)

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        return _inside_open(np.array(self.lo), np.array(self.hi), u)  # (n, d)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        axis, is_max = self._face_axis(face)
        lo, hi = np.array(self.lo), np.array(self.hi)
        others = np.arange(self.dim) != axis  # (d,)
        x = np.empty((u.shape[0], self.dim))  # (n, d)
        x[:, others] = _inside_open(lo[others], hi[others], u)
        x[:, axis] = hi[axis] if is_max else lo[axis]
        normal = np.zeros_like(x)  # (n, d)
        normal[:, axis] = 1.0 if is_max else -1.0
        return x, normal

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x_min, _ = self._face_from_unit(self.faces[2 * axis], u)  # (n, d) on <axis>min
        x_max = x_min.copy()
        x_max[:, axis] = self.hi[axis]
        return x_min, x_max

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
        a, b = _real(a, "a", "Interval"), _real(b, "b", "Interval")
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


# --------------------------------------------------------------------------------------------------
# Disk
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disk(Domain):
    """Disk :math:`\\{x : |x - c| \\le R\\}` in 2-D with one face ``"boundary"``.

    Interior samples are area-uniform: :math:`r = R\\sqrt{u}`, :math:`\\theta = 2\\pi v`. Boundary points are
    :math:`c + R(\\cos\\theta, \\sin\\theta)` with outward normal :math:`(\\cos\\theta, \\sin\\theta)`.
    """

    center: tuple[float, float]
    radius: float

    def __post_init__(self) -> None:
        center = _real_tuple(self.center, "center", "Disk")
        if len(center) != 2:
            raise ValueError(f"Disk: center must have 2 entries (x, y), got center={center}")
        radius = _real(self.radius, "radius", "Disk")
        if not radius > 0:
            raise ValueError(f"Disk: radius must be > 0, got radius={radius}; pass a positive radius")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "radius", radius)

    @property
    def dim(self) -> int:
        return 2

    @property
    def names(self) -> tuple[str, ...]:
        return ("x", "y")

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        cx, cy = self.center
        r = self.radius
        return (cx - r, cy - r), (cx + r, cy + r)

    @property
    def faces(self) -> tuple[str, ...]:
        return ("boundary",)

    def _measure(self, face: str) -> float:
        return 2.0 * math.pi * self.radius

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        r = np.minimum(self.radius * np.sqrt(u[:, 0]), self.radius * (1.0 - 1e-12))  # (n,) strictly < R
        theta = 2.0 * math.pi * u[:, 1]  # (n,)
        return np.array(self.center) + r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = 2.0 * math.pi * u[:, 0]  # (n,)
        normal = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (n, 2)
        return np.array(self.center) + self.radius * normal, normal

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Rows of ``x`` with :math:`|x - c| \\le R + \\epsilon`."""
        x = self._check_points(x)
        c = torch.tensor(self.center, dtype=x.dtype, device=x.device)
        return torch.linalg.vector_norm(x - c, dim=1) <= self.radius + self._tol(tol)


# --------------------------------------------------------------------------------------------------
# SpaceTime
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpaceTime(Domain):
    """Space-time cylinder :math:`\\Omega \\times [t_0, t_1]`; time is the last column ``"t"``.

    Faces are those of the spatial domain :math:`\\Omega` (the lateral boundary
    :math:`\\partial\\Omega \\times [t_0, t_1]`); normals have ``space_dim`` spatial components.
    The initial slice :math:`\\Omega \\times \\{t_0\\}` is sampled by :meth:`sample_initial`.
    """

    space: Domain
    t: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if not isinstance(self.space, Domain) or isinstance(self.space, SpaceTime):
            raise TypeError(
                "SpaceTime: space must be a stationary Domain (Interval, Rectangle, Box, Disk), "
                f"got {self.space!r}"
            )
        t = _real_tuple(self.t, "t", "SpaceTime")
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

    def _time_column(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` ``(n,)`` in [0, 1) to ``t`` ``(n, 1)`` in :math:`[t_0, t_1)`."""
        t0, t1 = self.t
        return (t0 + (t1 - t0) * u)[:, None]

    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        x = self.space._interior_from_unit(u[:, :-1])  # (n, space_dim)
        return np.concatenate([x, self._time_column(u[:, -1])], axis=1)  # (n, dim)

    def _face_from_unit(self, face: str, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, normal = self.space._face_from_unit(face, u[:, :-1])  # (n, space_dim) each
        return np.concatenate([x, self._time_column(u[:, -1])], axis=1), normal

    def _periodic_from_unit(self, axis: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x_min, x_max = self.space._periodic_from_unit(axis, u[:, :-1])  # (n, space_dim) each
        t = self._time_column(u[:, -1])  # (n, 1)
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
        n, seed = _check_count(n), _check_seed(seed)
        u = _unit_samples(sampler, n, self.space_dim, seed, "initial")  # (n, space_dim)
        x = self.space._interior_from_unit(u)  # (n, space_dim)
        t = np.full((n, 1), self.t[0])  # (n, 1)
        return _to_tensor(np.concatenate([x, t], axis=1), dtype, device)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """Rows with spatial part in :math:`\\Omega` and :math:`t_0 - \\epsilon \\le t \\le t_1 + \\epsilon`.

        ``tol`` is relative to the largest coordinate magnitude of :meth:`bounds` (at least 1).
        """
        x = self._check_points(x)
        eps = self._tol(tol)
        t = x[:, -1]
        return self.space.contains(x[:, :-1], tol) & (t >= self.t[0] - eps) & (t <= self.t[1] + eps)
