"""B-spline bases on knot grids, with first and second derivatives, and the least-squares fit.

A knot grid of ``G`` intervals over ``[a, b]`` is extended by ``k`` knots on each side,
``t_0 = a - k h < ... < t_{G+2k} = b + k h``, giving ``M = G + k`` basis functions of order ``k``
(degree ``k``). The bases form a partition of unity on ``[a, b]``: ``sum_m B_m(v) = 1``.

Two evaluators:

* :func:`cox_de_boor` - the recursion, for any order and any non-decreasing knots:
  ``B_{m,0}(v) = 1[t_m <= v < t_{m+1}]`` and
  ``B_{m,p} = (v - t_m)/(t_{m+p} - t_m) B_{m,p-1} + (t_{m+p+1} - v)/(t_{m+p+1} - t_{m+1}) B_{m+1,p-1}``,
  with ``B'_{m,p} = p [B_{m,p-1}/(t_{m+p} - t_m) - B_{m+1,p-1}/(t_{m+p+1} - t_{m+1})]`` applied once for the
  first and twice for the second derivative.
* :func:`cubic_uniform` - the closed form of the uniform cubic case: a point in cell ``c`` with local
  coordinate ``s`` touches four bases with values ``(1-s)^3/6``, ``(3s^3-6s^2+4)/6``,
  ``(-3s^3+3s^2+3s+1)/6``, ``s^3/6`` (derivatives by ``d/dv = (1/h) d/ds``);
  :func:`cubic_uniform_local` returns just those four pieces and their basis indices.

Both return a tuple ``(B, dB, d2B)`` of tensors of shape ``(N, n_in, M)`` for inputs ``v`` of shape
``(N, n_in)`` and knots of shape ``(n_in, G + 2k + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "uniform_knots",
    "cox_de_boor",
    "cubic_uniform",
    "cubic_uniform_local",
    "piece_table",
    "basis",
    "basis_stacked",
    "basis_derivatives",
    "cox_de_boor_derivatives",
    "fit_coefficients",
]


def uniform_knots(lo: Tensor, hi: Tensor, grid: int | Sequence[int], k: int) -> Tensor:
    """Uniform knots of ``grid`` intervals over ``[lo_i, hi_i]`` extended by ``k`` on each side.

    ``lo`` and ``hi`` have shape ``(n_in,)``; the result has shape ``(n_in, G + 2k + 1)``. ``grid`` may give
    one size per input (``G_i``); then ``G = max G_i`` and row ``i`` holds its ``G_i + 2k + 1`` knots
    followed by more of the same spacing ``(hi_i - lo_i) / G_i`` (padding that no basis of the row uses).
    """
    sizes = torch.as_tensor(grid, dtype=lo.dtype, device=lo.device).expand(lo.shape)  # (n_in,)
    h = (hi - lo) / sizes  # (n_in,)
    widest = grid if isinstance(grid, int) else max(grid)
    steps = torch.arange(-k, widest + k + 1, dtype=lo.dtype, device=lo.device)  # (G+2k+1,)
    return lo[:, None] + steps[None, :] * h[:, None]


def _safe_inverse(d: Tensor) -> Tensor:
    """``1/d`` where ``d > 0`` and 0 where knots repeat (the convention 0/0 = 0 of the recursion)."""
    return torch.where(d > 0, 1.0 / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(d))


def _lower_to_higher(lower: Tensor, knots: Tensor, p: int) -> Tensor:
    """Derivative map: order-``p`` derivative rows from order ``p-1`` rows, ``p (L_m/w_m - L_{m+1}/w_{m+1})``."""
    left = _safe_inverse(knots[:, p:-1] - knots[:, : -p - 1])  # (n_in, n_basis_p)
    right = _safe_inverse(knots[:, p + 1 :] - knots[:, 1:-p])  # (n_in, n_basis_p)
    return p * (lower[..., :-1] * left - lower[..., 1:] * right)


def _cox_de_boor_bases(v: Tensor, knots: Tensor, k: int) -> list[Tensor]:
    """The bases of every order ``p = 0..k``: ``(N, n_in, G + 2k + 1 - (p + 1))`` each."""
    x = v[..., None]  # (N, n_in, 1)
    t = knots[None]  # (1, n_in, G+2k+1)
    bases = [((x >= t[..., :-1]) & (x < t[..., 1:])).to(v.dtype)]  # order 0: (N, n_in, G+2k)
    for p in range(1, k + 1):
        prev = bases[-1]
        left = (x - t[..., : -p - 1]) * _safe_inverse(t[..., p:-1] - t[..., : -p - 1])
        right = (t[..., p + 1 :] - x) * _safe_inverse(t[..., p + 1 :] - t[..., 1:-p])
        bases.append(left * prev[..., :-1] + right * prev[..., 1:])
    return bases


def cox_de_boor_derivatives(v: Tensor, knots: Tensor, k: int, orders: int) -> Tensor:
    """Derivatives ``B^(r)`` for ``r < orders`` of the order-``k`` B-splines: ``(orders, N, n_in, M)``.

    ``B^(r)_(m,k)`` applies the derivative map ``p [L_m/(t_(m+p) - t_m) - L_(m+1)/(t_(m+p+1) - t_(m+1))]``
    for ``p = k - r + 1, ..., k`` to the order-``(k - r)`` bases; for ``r > k`` it is 0 (a degree-``k``
    piece). On each knot interval this is the exact derivative; at a knot it is the right limit.
    """
    bases = _cox_de_boor_bases(v, knots, k)
    out = []
    for r in range(orders):
        if r > k:
            out.append(torch.zeros_like(bases[k]))
            continue
        rows = bases[k - r]
        for p in range(k - r + 1, k + 1):
            rows = _lower_to_higher(rows, knots, p)
        out.append(rows)
    return torch.stack(out)  # (orders, N, n_in, M)


def cox_de_boor(v: Tensor, knots: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Order-``k`` B-spline values, first and second derivatives by the Cox-de Boor recursion."""
    bases = _cox_de_boor_bases(v, knots, k)
    value = bases[k]
    first = _lower_to_higher(bases[k - 1], knots, k) if k >= 1 else torch.zeros_like(value)
    if k >= 2:
        second = _lower_to_higher(_lower_to_higher(bases[k - 2], knots, k - 1), knots, k)
    else:
        second = torch.zeros_like(value)
    return value, first, second


def cubic_uniform(v: Tensor, knots: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Closed-form cubic B-splines on uniform knots (values, first, second derivatives).

    Agrees with :func:`cox_de_boor` for ``k = 3`` everywhere, including the extended cells and outside
    the knot span (where every basis is zero).
    """
    stacked = _cubic_uniform_stacked(v, knots)  # (3, N, n_in, M)
    return stacked[0], stacked[1], stacked[2]


_CUBIC_PIECES = (
    (1.0, 4.0, 1.0, 0.0),
    (-3.0, 0.0, 3.0, 0.0),
    (3.0, -6.0, 3.0, 0.0),
    (-1.0, 3.0, -3.0, 1.0),
)
"""Six times the power-basis coefficients of the four local pieces: row ``p`` holds the ``s^p`` coefficient of
``(1-s)^3``, ``3s^3-6s^2+4``, ``-3s^3+3s^2+3s+1`` and ``s^3``."""


def _piece_derivatives(orders: int) -> tuple[tuple[tuple[float, ...], ...], ...]:
    """``(orders, 4, 4)`` power-basis coefficients of the pieces and their ``s``-derivatives, divided by 6.

    Matrix ``r`` holds the ``s^q`` coefficients of the ``r``-th derivative: ``d^r/ds^r sum_p C_po s^p
    = sum_q (q+1)...(q+r) C_(q+r)o s^q``.
    """
    table = [[[0.0] * 4 for _ in range(4)] for _ in range(orders)]
    for r in range(orders):
        for q in range(4 - r):
            falling = math.prod(range(q + 1, q + r + 1))  # (q+1)(q+2)...(q+r)
            for o in range(4):
                table[r][q][o] = falling * _CUBIC_PIECES[q + r][o] / 6
    return tuple(tuple(map(tuple, matrix)) for matrix in table)


_PIECE_TABLE = _piece_derivatives(3)
"""The constant table of :func:`_piece_derivatives` for values, first and second derivatives."""


def piece_table(dtype: torch.dtype, device=None, orders: int = 3) -> Tensor:
    """The ``(orders, 4, 4)`` tensor of :func:`_piece_derivatives` (values, first, second derivatives by
    default; rows of order four and more are 0); a caller on CUDA keeps it (a KAN layer holds the default
    one as a buffer) rather than copy it from the host at every evaluation."""
    table = _PIECE_TABLE if orders == 3 else _piece_derivatives(orders)
    return torch.tensor(table, dtype=dtype, device=device)


def cubic_uniform_local(
    v: Tensor, knots: Tensor, orders: int = 3, table: Tensor | None = None, n_basis: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The four cubic B-splines that can be non-zero at each ``v``, in closed form on uniform knots.

    Returns ``local`` ``(orders, N, n_in, 4)`` (values, then first and second derivatives, of the four
    local pieces) and ``index`` ``(N, n_in, 4)``, the basis each piece belongs to:
    ``B_index[..., o] = local[..., o]``, every other basis is zero. Pieces of bases outside ``0..M-1`` (which
    covers points outside the knot span) carry a zero weight at a clamped index, so gathering or
    scatter-adding needs no padding. Order ``r`` is the product of the powers ``[1, s, s^2, s^3]`` with the
    differentiated piece coefficients (:func:`_piece_derivatives`; ``table`` is :func:`piece_table`, built
    here when not given), scaled by ``h^-r``. ``n_basis`` ``(n_in,)`` gives each input's own number of bases
    ``M_i`` when the rows of ``knots`` are padded (per-input grid sizes, :func:`uniform_knots`); by default
    every row has ``K - 4`` of them.
    """
    if n_basis is None:
        n_basis = knots.shape[1] - 4
    t0, t1 = knots[:, :2].unbind(1)  # (n_in,) each
    inv_h = 1 / (t1 - t0)  # (n_in,)
    u = (v - t0) * inv_h  # (N, n_in)
    cell = torch.floor(u).detach()
    s = u - cell
    s2 = s * s
    powers = torch.stack([torch.ones_like(s), s, s2, s2 * s], dim=-1)  # (N, n_in, 4)
    table = piece_table(v.dtype, v.device) if table is None else table  # (3, 4, 4)
    local = torch.stack([powers @ table[r] for r in range(orders)])  # (orders, N, n_in, 4), contiguous
    if orders > 1:
        scale = inv_h ** torch.arange(orders, dtype=v.dtype, device=v.device)[:, None]  # (orders, n_in)
        local = local * scale[:, None, :, None]
    # Basis m = c - 3 + o takes local piece o of a point in cell c; m outside 0..M-1 means a zero basis.
    index = cell.long()[..., None] - 3 + torch.arange(4, device=v.device)  # (N, n_in, 4)
    clamped = (
        index.clamp(0, n_basis - 1)
        if isinstance(n_basis, int)
        else index.clamp(0).minimum(n_basis[:, None] - 1)
    )
    return local * (clamped == index).to(v.dtype), clamped  # (orders, N, n_in, 4), (N, n_in, 4)


def _cubic_uniform_stacked(v: Tensor, knots: Tensor) -> Tensor:
    """:func:`cubic_uniform` as one ``(3, N, n_in, M)`` tensor (no slicing, so no extra backward copies)."""
    local, index = cubic_uniform_local(v, knots)
    out = torch.zeros(3, *v.shape, knots.shape[1] - 4, dtype=v.dtype, device=v.device)
    return out.scatter_add(-1, index.expand(3, *index.shape), local)  # (3, N, n_in, M)


def basis(v: Tensor, knots: Tensor, k: int, uniform: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Dispatch to the closed form when the grid is uniform and cubic, else Cox-de Boor."""
    if uniform and k == 3:
        return cubic_uniform(v, knots)
    return cox_de_boor(v, knots, k)


def basis_stacked(v: Tensor, knots: Tensor, k: int, uniform: bool) -> Tensor:
    """:func:`basis` as one tensor ``(3, N, n_in, M)`` of values, first and second derivatives."""
    if uniform and k == 3:
        return _cubic_uniform_stacked(v, knots)
    return torch.stack(cox_de_boor(v, knots, k))


def basis_derivatives(v: Tensor, knots: Tensor, k: int, uniform: bool, orders: int) -> Tensor:
    """B-spline derivatives of any number of ``orders`` as one tensor ``(orders, N, n_in, M)``: the closed
    form on uniform cubic grids (orders past the third are 0), else :func:`cox_de_boor_derivatives`."""
    if uniform and k == 3:
        local, index = cubic_uniform_local(v, knots, orders, piece_table(v.dtype, v.device, orders))
        out = torch.zeros(orders, *v.shape, knots.shape[1] - 4, dtype=v.dtype, device=v.device)
        return out.scatter_add(-1, index.expand(orders, *index.shape), local)  # (orders, N, n_in, M)
    return cox_de_boor_derivatives(v, knots, k, orders)


def fit_coefficients(x: Tensor, y: Tensor, knots: Tensor, k: int, uniform: bool) -> tuple[Tensor, Tensor]:
    """Least-squares spline coefficients: ``min_c sum_s (sum_m B_m(x_si) c_imj - y_sij)^2`` per input ``i``.

    ``x`` has shape ``(S, n_in)``, ``y`` shape ``(S, n_in, n_out)``. Returns the coefficients
    ``(n_in, M, n_out)`` and the largest absolute fit residual. Solved in float64 by a QR/SVD least-squares
    solver; a solver failure raises, it is never swallowed.
    """
    work = torch.float64
    b = basis(x.to(work), knots.to(work), k, uniform)[0].transpose(0, 1)  # (n_in, S, M)
    rhs = y.to(work).transpose(0, 1)  # (n_in, S, n_out)
    driver = "gelsd" if b.device.type == "cpu" else "gels"
    try:
        coef = torch.linalg.lstsq(b, rhs, driver=driver).solution  # (n_in, M, n_out)
    except RuntimeError as err:  # pragma: no cover - a singular system is a bug in the caller's samples
        raise RuntimeError(f"spline least-squares fit failed: {err}") from err
    residual = (b @ coef - rhs).abs().max()
    return coef.to(y.dtype).contiguous(), residual
