"""Unit-cube samplers, seed sub-streams and the bookkeeping of exact point counts.

A *sampler* from :data:`SAMPLERS` draws ``u`` in the unit cube :math:`[0, 1)^k`; the shapes map ``u``
onto their interior or boundary. All generation happens in NumPy float64; the result is converted once
with ``torch.as_tensor``. Each kind of point (interior, every face, initial, periodic) draws from its own
sub-stream of ``seed`` (:func:`unit_samples` with a ``tag``), so that interior and boundary points taken
with the same seed are not correlated.

Shapes without a measure-preserving map from the unit cube (polygons, CSG results) draw candidates and
keep those that qualify. :func:`take` then picks exactly the number of points asked for: the first ones
for the sequence samplers (a prefix of a Sobol or random stream does not depend on how many candidates
were drawn, so topping up keeps the earlier points), evenly spaced ones for the grid.
"""

from __future__ import annotations

import inspect
import warnings
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from scipy.stats import qmc

from .._checks import check_dtype, check_memory, check_nonnegative_int, check_positive_int

__all__ = ["SAMPLERS"]

Tensor = torch.Tensor

# scipy >= 1.15 names the Sobol generator argument `rng`; older releases call it `seed`.
_SOBOL_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"


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


def _evenly_spaced(kept: np.ndarray, n: int) -> np.ndarray:
    return kept[np.arange(n, dtype=np.int64) * (kept.size - 1) // max(n - 1, 1)]  # (n,)


def _first(kept: np.ndarray, n: int) -> np.ndarray:
    return kept[:n]  # (n,)


# How each sampler picks n of its accepted candidates (default: the first n, right for sequences).
_TAKE: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"grid": _evenly_spaced}


def take(sampler: str, kept: np.ndarray, n: int) -> np.ndarray:
    """``n`` of the accepted candidate indices ``kept`` (increasing, at least ``n`` of them)."""
    return _TAKE.get(sampler, _first)(kept, n)


def sub_seed(seed: int, tag: str) -> int:
    """Derive an independent seed for the sub-stream ``tag`` (e.g. ``"interior"``) of ``seed``."""
    sequence = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(tag.encode()),))
    return int(sequence.generate_state(1)[0])


def check_sampler(sampler: object) -> str:
    """``sampler`` itself when it names a registered sampler; otherwise a ``ValueError`` listing them."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        valid = ", ".join(sorted(SAMPLERS))
        raise ValueError(f"unknown sampler {sampler!r}; valid samplers: {valid}")
    return sampler


def check_draw(n: object, sampler: object, seed: object, dtype: object) -> tuple[int, int]:
    """Check the arguments every point-drawing method of the shapes takes; returns ``(n, seed)``."""
    n, seed = check_positive_int("n", n), check_nonnegative_int("seed", seed)
    check_dtype(dtype)
    check_sampler(sampler)
    return n, seed


def unit_samples(sampler: str, n: int, d: int, seed: int, tag: str) -> np.ndarray:
    """Draw ``n`` points of :math:`[0, 1)^d` with the named sampler on sub-stream ``tag``."""
    check_sampler(sampler)
    check_memory(f"{n} points in {max(d, 1)} column(s)", 8 * n * max(d, 1), hint="ask for fewer points")
    if d == 0:
        return np.zeros((n, 0))
    return np.asarray(SAMPLERS[sampler](n, d, sub_seed(seed, tag)), dtype=np.float64)


def split_counts(n: int, weights: Sequence[float]) -> list[int]:
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


def split_largest_remainder(n: int, weights: np.ndarray) -> np.ndarray:
    """Split ``n`` into counts proportional to ``weights`` (zeros allowed) by largest remainders."""
    ideal = n * weights / weights.sum()  # (k,)
    counts = np.floor(ideal).astype(np.int64)  # (k,)
    order = np.argsort(-(ideal - counts), kind="stable")  # (k,)
    counts[order[: n - int(counts.sum())]] += 1
    return counts


def to_tensor(a: np.ndarray, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    return torch.as_tensor(a, dtype=check_dtype(dtype), device=device)


def inside_open(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Affine map :math:`lo + (hi - lo) u`, clipped to stay strictly inside :math:`(lo, hi)`."""
    x = lo + (hi - lo) * u  # (n, k)
    return np.clip(x, np.nextafter(lo, hi), np.nextafter(hi, lo))
