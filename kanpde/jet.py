"""Second-order jets: values with their input derivatives, pushed forward through a network.

A jet of ``n`` features at ``N`` points is one tensor of shape ``(N, R, n)``. Row 0 holds the values
``v``; when first derivatives are carried, rows ``1..d`` hold ``g_a = dv/dx_a`` for every input column
``a``; the next rows hold ``H_ab = d2v/dx_a dx_b`` for the requested pairs ``(a, b)`` only (the
diagonal for a Laplacian, single entries for mixed terms); the last rows hold the requested derivatives of
order three and more (``JetSpec.high``, e.g. ``(0, 0, 0, 0)`` for ``d4v/dx_0^4``). A spec with such rows is
computed by truncated Taylor series (:mod:`kanpde.taylor`), every row of it; without them by the
second-order jet below.

Through an elementwise map ``w = f(v)`` the chain rule gives ``f(v)``, ``f'(v) g_a`` and
``f''(v) g_a g_b + f'(v) H_ab`` (:func:`chain`); a linear map acts row by row, so a layer is one matmul on
the stacked rows. Because the derivatives are exact functions of the parameters, one ordinary backward
pass gives the parameter gradient of any residual built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from .taylor import Monomials

__all__ = [
    "Jet",
    "JetSpec",
    "seed_jet",
    "split",
    "stack",
    "chain",
    "pair_products",
    "dense_grad",
    "diagonal_curvature",
    "diagonal_curvature_adjoint",
]


@dataclass(frozen=True)
class JetSpec:
    """Which derivative rows a jet carries.

    Attributes:
        dim: number of input columns ``d``.
        grad: whether the ``d`` first-derivative rows are carried.
        pairs: second-derivative pairs ``(a, b)`` with ``a <= b``; non-empty pairs imply ``grad``.
        high: derivatives of order three and more, each the sorted tuple of the columns it differentiates
            by (``(0, 0, 1, 1)`` is ``d4v/dx_0^2 dx_1^2``); non-empty ``high`` implies ``grad``.
    """

    dim: int
    grad: bool = False
    pairs: tuple[tuple[int, int], ...] = ()
    high: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        pairs = tuple(sorted({(min(a, b), max(a, b)) for a, b in self.pairs}))
        for a, b in pairs:
            if not (0 <= a < self.dim and 0 <= b < self.dim):
                raise ValueError(f"jet pair {(a, b)} is outside the {self.dim} input columns")
        object.__setattr__(self, "pairs", pairs)
        high = tuple(
            sorted({tuple(sorted(int(a) for a in key)) for key in self.high}, key=lambda k: (len(k), k))
        )
        for key in high:
            if len(key) < 3:
                raise ValueError(
                    f"jet high-order derivative {key} has order {len(key)}; orders 1 and 2 are grad=True "
                    "and pairs="
                )
            if not all(0 <= a < self.dim for a in key):
                raise ValueError(f"jet derivative {key} is outside the {self.dim} input columns")
        object.__setattr__(self, "high", high)
        if pairs or high:
            object.__setattr__(self, "grad", True)

    @property
    def rows(self) -> int:
        """Number of rows ``R = 1 + d·[grad] + len(pairs) + len(high)``."""
        return 1 + (self.dim if self.grad else 0) + len(self.pairs) + len(self.high)

    @property
    def keys(self) -> tuple[tuple[int, ...], ...]:
        """The derivative of every row as a sorted column tuple: ``()``, ``(a,)``, pairs, then ``high``."""
        first = tuple((a,) for a in range(self.dim)) if self.grad else ()
        return ((), *first, *self.pairs, *self.high)

    def high_row(self, key: Iterable[int]) -> int:
        """Row index of the derivative ``key`` of order three or more (columns in any order)."""
        return 1 + self.dim + len(self.pairs) + self.high.index(tuple(sorted(key)))

    def monomials(self) -> Monomials:
        """The downward-closed Taylor coefficient set carrying every row (:class:`kanpde.taylor.Monomials`);
        one object per spec, so that its index tensors are built once."""
        return self._monomials

    @cached_property
    def _monomials(self) -> Monomials:
        return Monomials(self.dim, self.keys)

    def first_row(self, a: int) -> int:
        """Row index of ``dv/dx_a``."""
        if not self.grad:
            raise KeyError("this jet carries no first derivatives")
        return 1 + a

    def pair_row(self, a: int, b: int) -> int:
        """Row index of ``d2v/dx_a dx_b``."""
        return 1 + self.dim + self.pairs.index((min(a, b), max(a, b)))

    def union(
        self, grad: bool = False, pairs: Iterable[tuple[int, int]] = (), high: Iterable[tuple[int, ...]] = ()
    ) -> JetSpec:
        """The smallest spec carrying this spec's rows and the given ones (this spec itself when it carries
        them all, so that what it caches is kept)."""
        spec = JetSpec(self.dim, self.grad or grad, self.pairs + tuple(pairs), self.high + tuple(high))
        return self if spec == self else spec

    def merge(self, other: JetSpec) -> JetSpec:
        """The smallest spec carrying the rows of both specs."""
        return self.union(other.grad, other.pairs, other.high)


Jet = tuple[Tensor, "Tensor | None", "Tensor | None"]
"""A jet in parts: values ``(N, n)``, gradient rows ``(N, d, n)`` and second-derivative rows ``(N, P, n)``;
``None`` where a part is not carried or (for the curvature of an affine map) identically zero. Layers pass
parts, not one stacked tensor, so that no part is sliced out of a larger tensor (whose backward would fill a
zero tensor of the full size).

The input map's jet (:func:`seed_jet`) carries its gradient rows in *diagonal form*: a ``(d,)`` vector
``s`` standing for the rows ``g_a = s_a e_a`` at every point. A first layer uses it to replace its
batched row products by broadcasts (``sum_i P_ij g_ia = s_a P_aj``); :func:`dense_grad` expands it."""


def seed_jet(x: Tensor, spec: JetSpec, scale: Tensor, shift: Tensor) -> Jet:
    """Jet of the affine input map ``v = scale * x + shift``: gradient rows ``scale_a e_a`` in diagonal
    form (the ``(d,)`` vector ``scale``), no curvature."""
    return x * scale + shift, scale if spec.grad else None, None


def dense_grad(grad: Tensor, n: int) -> Tensor:
    """Gradient rows ``(N, d, n_feat)``; a diagonal-form ``(d,)`` vector becomes ``diag(s)`` at ``n`` points."""
    return torch.diag(grad).expand(n, grad.shape[0], grad.shape[0]) if grad.ndim == 1 else grad


def _diagonal_span(spec: JetSpec) -> tuple[int, int] | None:
    """``(lo, hi)`` when the pairs are exactly ``(lo, lo), ..., (hi-1, hi-1)`` (a Laplacian over consecutive
    columns, e.g. the space columns before ``t``): such rows are a slice, no index tensors are needed."""
    lo = spec.pairs[0][0] if spec.pairs else 0
    span = tuple((a, a) for a in range(lo, lo + len(spec.pairs)))
    return (lo, lo + len(spec.pairs)) if spec.pairs and spec.pairs == span else None


def _diagonal_pairs(spec: JetSpec, scale: Tensor) -> tuple[list[int], Tensor]:
    """Input column of every pair's first index and the weights ``δ_ab s_a s_b``, ``(P,)``."""
    axes = [a for a, _ in spec.pairs]
    diagonal = torch.tensor([float(a == b) for a, b in spec.pairs], dtype=scale.dtype, device=scale.device)
    return axes, diagonal * scale[axes] ** 2  # (P,)


def diagonal_curvature(spec: JetSpec, scale: Tensor, p2: Tensor) -> Tensor:
    """``sum_i P2_i g_ia g_ib`` for diagonal-form gradient rows ``g_a = s_a e_a``: row ``(a, b)`` is
    ``δ_ab s_a^2 P2_a``. ``p2`` ``(N, d, n)`` -> ``(N, P, n)``."""
    span = _diagonal_span(spec)
    if span is not None:
        s = scale[span[0] : span[1]]  # (P,)
        return (s * s)[:, None] * p2[:, span[0] : span[1]]
    axes, weights = _diagonal_pairs(spec, scale)
    return p2[:, axes] * weights[:, None]


def diagonal_curvature_adjoint(spec: JetSpec, scale: Tensor, g2: Tensor) -> Tensor:
    """The transpose of :func:`diagonal_curvature`: ``A_i = sum_(a,b) δ_ab δ_ai s_a^2 G_ab``, ``g2``
    ``(N, P, n)`` -> ``(N, d, n)``."""
    span = _diagonal_span(spec)
    if span == (0, spec.dim):
        return (scale * scale)[:, None] * g2
    out = g2.new_zeros(g2.shape[0], spec.dim, g2.shape[2])
    if span is not None:
        s = scale[span[0] : span[1]]  # (P,)
        out[:, span[0] : span[1]] = (s * s)[:, None] * g2
        return out
    axes, weights = _diagonal_pairs(spec, scale)
    return out.index_add(1, torch.tensor(axes, device=g2.device), g2 * weights[:, None])


def split(jet: Tensor, spec: JetSpec) -> Jet:
    """Parts of a stacked jet ``(N, R, n)``."""
    grad = jet[:, 1 : 1 + spec.dim] if spec.grad else None
    curv = jet[:, 1 + spec.dim :] if spec.pairs else None
    return jet[:, 0], grad, curv


def stack(jet: Jet, spec: JetSpec) -> Tensor:
    """The stacked jet ``(N, R, n)``: value row, gradient rows, second-derivative rows."""
    value, grad, curv = jet
    rows = [value[:, None]]
    if spec.grad:
        rows.append(grad)
    if spec.pairs:
        rows.append(
            curv if curv is not None else value.new_zeros(value.shape[0], len(spec.pairs), value.shape[1])
        )
    return torch.cat(rows, dim=1)


def pair_products(grad: Tensor, spec: JetSpec) -> Tensor:
    """``g_a g_b`` for every requested pair ``(a, b)``: gradient rows ``(N, d, n)`` -> ``(N, P, n)``."""
    span = _diagonal_span(spec)
    if span is not None:  # a Laplacian's pairs: a slice, no index tensors (their backward is a slow scatter)
        g = grad if span == (0, spec.dim) else grad[:, span[0] : span[1]]  # (N, P, n)
        return g * g
    a = [p[0] for p in spec.pairs]
    b = [p[1] for p in spec.pairs]
    return grad[:, a] * grad[:, b]


def chain(jet: Jet, spec: JetSpec, f0: Tensor, f1: Tensor, f2: Tensor) -> Jet:
    """Jet of ``f(v)`` elementwise, from ``f(v), f'(v), f''(v)`` of shape ``(N, n)``."""
    _, grad, curv = jet
    out_grad = f1[:, None] * grad if spec.grad else None  # (N, d, n)
    out_curv = None
    if spec.pairs:
        out_curv = f2[:, None] * pair_products(grad, spec)  # (N, P, n)
        if curv is not None:
            out_curv = out_curv + f1[:, None] * curv
    return f0, out_grad, out_curv
