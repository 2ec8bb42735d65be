r"""Truncated multivariate Taylor series: derivatives of any order pushed forward through a network.

The second-order jets of :mod:`kanpde.jet` carry ``v``, ``∂_a v`` and ``∂_a ∂_b v``. Residuals with
derivatives of order three and more (``u_xxxx``, ``Δ²u``) go through this module instead.

**Notation.** For a multi-index ``α = (α_1, ..., α_d)`` write ``|α| = Σ_a α_a``, ``α! = Π_a α_a!`` and
``∂^α = Π_a ∂_a^(α_a)``. Near a point ``x`` a smooth ``v`` has the Taylor coefficients
``c_α = ∂^α v(x) / α!``. A set ``S`` of multi-indices is *downward closed* when ``β ≤ α ∈ S``
(component-wise) implies ``β ∈ S``; then the monomials outside ``S`` span an ideal ``I_S`` of the
polynomial ring, and the truncated series ``(c_α)_(α ∈ S)`` of a point form the quotient algebra
``R[x] / I_S``:

* a linear map acts coefficient by coefficient;
* a product is the truncated Cauchy product ``(ab)_γ = Σ_(α + β = γ) a_α b_β`` (``γ ∈ S``), which is the
  Leibniz rule ``∂^γ(ab) = Σ_(β ≤ γ) binom(γ, β) ∂^β a ∂^(γ-β) b`` in coefficient form;
* an elementwise function ``f`` of ``a = a_0 + δ`` (``δ`` the series without its constant term) is

      f(a) = Σ_(m = 0..K) f^(m)(a_0) / m! · δ^m            (Faà di Bruno in coefficient form),

  exact on ``S`` with ``K = max_(α ∈ S) |α|``: ``δ^m`` has no coefficient of degree below ``m``.

All three only read coefficients in ``S``, so pushing the series of the inputs (``c_0 = x``,
``c_(e_a) = e_a``, every other coefficient 0) through a network gives the exact output coefficients on
``S``, and ``∂^α u = α! c_α``.

**Layers.** A KAN layer ``y_j = b_j + Σ_i φ_ji(v_i)`` has univariate edges, so with the edge derivatives
``P^m_ij = φ_ji^(m)(v_i)`` (``= Σ_k F^(m)_ik W_ikj`` over the features ``F = [silu, B_1, ..., B_M]``,
as in the second-order jet) and the scaled powers ``Q^m_i = (δ_i)^m / m!`` of every input series,

    y_(β, j) = [β = 0] (b_j + Σ_i P^0_ij) + Σ_(m = 1..K) Σ_i Q^m_(β, i) P^m_ij,

one batched matmul of ``[Q^1 ... Q^K]`` with ``[P^1 ... P^K]``. An MLP layer maps the series linearly and
then applies ``σ`` by composition.

**Exact Jacobians.** The output coefficients are linear in ``P^m``, hence in the layer's ``W``:
``∂y_(β, j)/∂W_ikj = Σ_m F^(m)_ik Q^m_(β, i)`` (with ``Q^0 = e_0``). With ``G_(β, j) = ∂r/∂y_(β, j)`` the
per-point Jacobian rows are ``∂r/∂W_ikj = Σ_m F^(m)_ik A^m_ij`` with ``A^0_ij = G_(0, j)`` and
``A^m_ij = Σ_β G_(β, j) Q^m_(β, i)``: the amplitudes of the second-order jet, with the powers ``Q^m`` in
place of the gradient and curvature products.

**Why multivariate.** Univariate Taylor series along directions (Griewank, Utke & Walther 2000) recover
mixed partials by interpolation over ``binom(d + K - 1, K)`` directions with coefficients that grow and
cancel. For the derivatives a PDE needs the closed set is small and the mixed terms come out directly:
``u_xxxx`` needs ``S = {0, e_x, ..., 4 e_x}`` (exactly univariate Taylor mode along ``x``); ``Δ²u`` in 2-D
needs 13 multi-indices. A product costs one multiply per pair ``(α, β)`` with ``α + β ∈ S``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor

__all__ = [
    "Monomials",
    "multi_index",
    "column_key",
    "seed_series",
    "series_rows",
    "compose",
    "nested_autograd",
    "sigmoid_derivatives",
    "silu_derivatives",
    "tanh_derivatives",
    "sin_derivatives",
    "softplus_derivatives",
    "SERIES_ACTIVATIONS",
]


def multi_index(key: Sequence[int], dim: int) -> tuple[int, ...]:
    """The multi-index ``α`` of a derivative named by its columns: ``(0, 0, 1)`` in 2-D is ``(2, 1)``."""
    alpha = [0] * dim
    for a in key:
        alpha[a] += 1
    return tuple(alpha)


def column_key(alpha: Sequence[int]) -> tuple[int, ...]:
    """The sorted columns of a multi-index: ``(2, 1)`` is ``(0, 0, 1)``."""
    return tuple(a for a, n in enumerate(alpha) for _ in range(n))


def _below(alpha: tuple[int, ...]) -> Iterable[tuple[int, ...]]:
    """Every ``β ≤ α`` component-wise."""
    return itertools.product(*(range(n + 1) for n in alpha))


class Monomials:
    """A downward-closed set ``S`` of multi-indices in ``dim`` variables: the Taylor coefficients a series
    carries (see the module docstring), ordered by degree, the constant first.

    ``Monomials(dim, keys)`` is the smallest such set holding the derivatives ``keys`` (column tuples such
    as ``(0, 0, 1)`` for ``∂²/∂x_0² ∂/∂x_1``) and the constant.
    """

    def __init__(self, dim: int, keys: Iterable[Sequence[int]] = ()) -> None:
        closed = {(0,) * dim}
        for key in keys:
            if any(not 0 <= a < dim for a in key):
                raise ValueError(f"derivative {tuple(key)} names a column outside the {dim} input columns")
            closed.update(_below(multi_index(key, dim)))
        self.dim = dim
        self.indices = tuple(sorted(closed, key=lambda a: (sum(a), tuple(-n for n in a))))
        self.degrees = tuple(sum(a) for a in self.indices)
        self.order = max(self.degrees)
        self._position = {a: i for i, a in enumerate(self.indices)}
        self._tensors: dict = {}  # (what, ..., device) -> index tensors, built once per device

    def __len__(self) -> int:
        return len(self.indices)

    def __contains__(self, alpha: object) -> bool:
        """Whether the multi-index ``alpha`` (a tuple of ``dim`` counts) is carried."""
        return alpha in self._position

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Monomials) and (self.dim, self.indices) == (other.dim, other.indices)

    def __hash__(self) -> int:
        return hash((self.dim, self.indices))

    def __repr__(self) -> str:
        return f"Monomials(dim={self.dim}, size={len(self)}, order={self.order})"

    def position(self, key: Sequence[int]) -> int:
        """Index in :attr:`indices` of the derivative ``key`` (a column tuple)."""
        alpha = multi_index(key, self.dim)
        if alpha not in self._position:
            raise KeyError(f"derivative {tuple(key)} is not carried by {self!r}")
        return self._position[alpha]

    def factorial(self, key: Sequence[int]) -> int:
        """``α!`` of the derivative ``key``: ``∂^α v = α! c_α``."""
        return math.prod(math.factorial(n) for n in multi_index(key, self.dim))

    def _pairs(self, m: int) -> tuple[list[int], list[int], list[int]]:
        """Positions ``(i, j, k)`` with ``α_i + α_j = α_k ∈ S`` for the product ``δ^(m-1) · δ``:
        ``|α_i| ≥ m - 1``, ``|α_j| ≥ 1`` (``m = 0``: every pair, constants included)."""
        left, right, out = [], [], []
        for i, a in enumerate(self.indices):
            for j, b in enumerate(self.indices):
                if m > 0 and (self.degrees[i] < m - 1 or self.degrees[j] < 1 or self.degrees[i] < 1):
                    continue
                k = self._position.get(tuple(x + y for x, y in zip(a, b, strict=True)))
                if k is not None:
                    left.append(i)
                    right.append(j)
                    out.append(k)
        return left, right, out

    def rows(self, keys: Sequence[Sequence[int]], dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
        """Positions ``(R,)`` of the derivatives ``keys`` and their factors ``α!`` ``(R,)`` (built once)."""
        cache = ("rows", tuple(map(tuple, keys)), dtype, str(device))
        if cache not in self._tensors:
            index = torch.tensor([self.position(k) for k in keys], dtype=torch.long, device=device)
            factor = torch.tensor([float(self.factorial(k)) for k in keys], dtype=dtype, device=device)
            self._tensors[cache] = (index, factor)
        return self._tensors[cache]

    def _index(self, m: int, device) -> tuple[Tensor, Tensor, Tensor]:
        key = ("pairs", m, str(device))
        if key not in self._tensors:
            self._tensors[key] = tuple(
                torch.tensor(t, dtype=torch.long, device=device) for t in self._pairs(m)
            )
        return self._tensors[key]

    def product(self, a: Tensor, b: Tensor, m: int = 0) -> Tensor:
        """The truncated product of series ``a`` and ``b`` ``(N, |S|, n)`` (``n`` independent series each).

        ``m > 0`` states that ``a`` is ``δ^(m-1)`` and ``b`` is ``δ`` (no constant terms; ``a`` zero below
        degree ``m - 1``), so only the pairs that can be non-zero are formed."""
        left, right, out = self._index(m, a.device)
        terms = a[:, left] * b[:, right]  # (N, T, n), one term per pair
        zero = terms.new_zeros(a.shape[0], len(self), terms.shape[2])  # (N, |S|, n)
        return zero.index_add(1, out, terms)

    def powers(self, coef: Tensor) -> Tensor:
        """``Q^m = δ^m / m!`` for ``m = 1..K`` of series ``coef`` ``(N, |S|, n)``: ``(K, N, |S|, n)``."""
        delta = torch.cat([torch.zeros_like(coef[:, :1]), coef[:, 1:]], dim=1)  # (N, |S|, n)
        out = [delta]
        for m in range(2, self.order + 1):
            out.append(self.product(out[-1], delta, m) / m)  # δ^m/m! = (δ^(m-1)/(m-1)!) δ / m
        return torch.stack(out)


def seed_series(x: Tensor, mono: Monomials, scale: Tensor, shift: Tensor) -> Tensor:
    """The series ``(N, |S|, d)`` of the affine input map ``v = scale * x + shift``: ``c_0 = v``,
    ``c_(e_a) = scale_a e_a``, every other coefficient 0."""
    n, d = x.shape
    first = x.new_zeros(len(mono) - 1, d)  # (|S| - 1, d): the constant rows below the value row
    for a in range(d):
        alpha = (0,) * a + (1,) + (0,) * (d - a - 1)
        if alpha in mono:
            first[mono.position((a,)) - 1, a] = scale[a]
    return torch.cat([(x * scale + shift)[:, None], first.expand(n, -1, -1)], dim=1)


def series_rows(coef: Tensor, mono: Monomials, keys: Sequence[Sequence[int]]) -> Tensor:
    """Derivative rows ``∂^α v = α! c_α`` of the derivatives ``keys`` (column tuples) from series ``coef``
    ``(N, |S|, n)``: ``(N, len(keys), n)``."""
    index, factor = mono.rows(keys, coef.dtype, coef.device)  # (R,), (R,)
    return coef[:, index] * factor[:, None]  # (N, R, n)


def compose(coef: Tensor, derivatives: Tensor, mono: Monomials) -> Tensor:
    """The series of ``f(a)`` elementwise: ``coef`` ``(N, |S|, n)``, ``derivatives`` ``(K + 1, N, n)``
    holding ``f^(m)(a_0)``; ``f(a) = Σ_m f^(m)(a_0) δ^m / m!``."""
    q = mono.powers(coef)  # (K, N, |S|, n)
    out = (derivatives[1:, :, None, :] * q).sum(0)  # (N, |S|, n); its constant row is 0
    return torch.cat([derivatives[0][:, None], out[:, 1:]], dim=1)


def nested_autograd(value: Tensor, x: Tensor, keys: Iterable[Sequence[int]]) -> dict[tuple[int, ...], Tensor]:
    """``{key: ∂^key value}`` by nested ``torch.autograd.grad`` (graphs kept) for sorted column tuples
    ``keys`` whose every prefix is also wanted or is the value; ``value`` ``(N,)`` was computed from ``x``
    ``(N, d)`` with ``x.requires_grad``. A derivative of something that does not depend on ``x`` is 0."""
    found: dict[tuple[int, ...], Tensor] = {(): value}
    for key in sorted({tuple(sorted(k)) for k in keys}, key=len):
        if key in found:
            continue
        parent = found[key[:-1]]
        grad = None
        if parent.requires_grad:
            grad = torch.autograd.grad(parent.sum(), x, create_graph=True, allow_unused=True)[0]
        grad = torch.zeros_like(x) if grad is None else grad  # (N, d)
        for b in range(x.shape[1]):
            found.setdefault(key[:-1] + (b,), grad[:, b])
    return found


# -- activation derivatives of any order ------------------------------------------------------------------


def _derivative(poly: list[int]) -> list[int]:
    """Coefficients (constant first) of ``p'`` from those of ``p``."""
    return [i * c for i, c in enumerate(poly)][1:] or [0]


def _horner(poly: Sequence[int], s: Tensor) -> Tensor:
    out = torch.full_like(s, float(poly[-1]))
    for c in reversed(poly[:-1]):
        out = out * s + c
    return out


def sigmoid_derivatives(z: Tensor, orders: int) -> Tensor:
    """``σ^(n)(z)`` for ``n < orders``: ``(orders, *z.shape)``.

    ``σ' = σ (1 - σ)``, so ``σ^(n) = p_n(σ)`` with ``p_0(s) = s`` and ``p_n(s) = s (1 - s) p'_(n-1)(s)``;
    ``1 - σ(z)`` is evaluated as ``σ(-z)`` (no cancellation where ``σ ≈ 1``)."""
    s, q = torch.sigmoid(z), torch.sigmoid(-z)
    out, poly = [s], [0, 1]
    for _ in range(1, orders):
        lower = _derivative(poly)
        out.append(s * q * _horner(lower, s))
        poly = [0] + [a - b for a, b in zip(lower + [0], [0] + lower, strict=True)]  # s·p - s²·p
    return torch.stack(out[:orders])


def silu_derivatives(v: Tensor, orders: int) -> Tensor:
    """``silu^(n)(v)`` for ``n < orders``, ``silu(v) = v σ(v)``: by Leibniz
    ``silu^(n) = v σ^(n) + n σ^(n-1)``; ``(orders, *v.shape)``."""
    sig = sigmoid_derivatives(v, orders)  # (orders, ...)
    rest = [v * sig[n] + n * sig[n - 1] for n in range(1, orders)]
    return torch.stack([v * sig[0], *rest])


def tanh_derivatives(z: Tensor, orders: int) -> Tensor:
    """``tanh^(n)(z)`` for ``n < orders``: ``tanh^(n) = q_n(t)``, ``q_0(t) = t``,
    ``q_n(t) = (1 - t²) q'_(n-1)(t)``; ``(orders, *z.shape)``."""
    t = torch.tanh(z)
    d = 1 - t * t
    out, poly = [t], [0, 1]
    for _ in range(1, orders):
        lower = _derivative(poly)
        out.append(d * _horner(lower, t))
        poly = [a - b for a, b in zip(lower + [0, 0], [0, 0] + lower, strict=True)]  # p - t²·p
    return torch.stack(out)


def sin_derivatives(z: Tensor, orders: int) -> Tensor:
    """``sin^(n)(z) = sin(z + nπ/2)``: the cycle ``sin, cos, -sin, -cos``; ``(orders, *z.shape)``."""
    s, c = torch.sin(z), torch.cos(z)
    cycle = (s, c, -s, -c)
    return torch.stack([cycle[n % 4] for n in range(orders)])


def softplus_derivatives(z: Tensor, orders: int) -> Tensor:
    """``softplus(z) = log(1 + e^z)``, ``softplus^(n) = σ^(n-1)``; ``(orders, *z.shape)``."""
    value = torch.nn.functional.softplus(z)
    if orders == 1:
        return value[None]
    return torch.cat([value[None], sigmoid_derivatives(z, orders - 1)])


SERIES_ACTIVATIONS: dict[str, Callable[[Tensor, int], Tensor]] = {
    "tanh": tanh_derivatives,
    "sin": sin_derivatives,
    "silu": silu_derivatives,
    "softplus": softplus_derivatives,
}
"""Activation name -> ``f(z, orders)`` returning ``σ^(n)(z)`` for ``n < orders``, stacked on a new first
axis."""
