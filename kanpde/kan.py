"""Kolmogorov-Arnold Networks: learnable spline edges, summing nodes, grid extension and update.

A layer with ``n_in`` inputs and ``n_out`` outputs computes ``y_j = b_j + sum_i phi_ji(v_i)`` with

    phi_ji(v) = w^b_ji silu(v) + w^s_ji sum_m c_jim B_m(v),

``B_m`` the order-``k`` B-splines on the layer's knot grid (a buffer, one row per input). Stacking the
per-input features ``F(v) = [silu(v), B_1(v), ..., B_M(v)]`` the layer is one matmul ``y = F(v) W + b``
with ``W[i, 0, j] = w^b_ji`` and ``W[i, 1 + m, j] = w^s_ji c_jim``; the same ``W`` maps the derivative rows
of a jet (:mod:`kanpde.jet`), so value, gradient and second derivatives come out of one pass.

**Range.** A spline is zero outside its knot span. The network maps physical inputs affinely from
``input_bounds`` (the domain's bounding box) onto the first layer's grid range, and hidden layers keep
their activations in range by *grid update from samples*: :meth:`KAN.update_grid` (and
:meth:`KAN.extend_grid` with ``samples``) moves each hidden layer's grid to the range of the activations
seen on sample points, widened by a margin, and the first hidden layer's also to its image of the input
box (:meth:`KAN.activation_bounds`), and refits the coefficients. The solver does this at the start
of every grid stage; :meth:`KAN.range_violation` measures how far activations have left their ranges.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._checks import check_dtype, check_memory, check_positive_int, check_positive_real
from .jet import Jet, JetSpec, diagonal_curvature, diagonal_curvature_adjoint, pair_products, split, stack
from .knots import equidistributed_knots, grid_sizes, inserted_knots, pad_rows, quantile_row
from .network import Network, check_width
from .spline import (
    basis,
    basis_derivatives,
    basis_stacked,
    cubic_uniform_local,
    fit_coefficients,
    piece_table,
    uniform_knots,
)
from .taylor import Monomials, silu_derivatives

__all__ = ["KAN", "KANLayer", "GridReport"]


@dataclass(frozen=True)
class GridReport:
    """What a grid change did: the largest least-squares residual of the coefficient refit, and the largest
    change of the network output on the check points (``nan`` when no check points were given)."""

    fit_residual: float
    output_change: float


def _silu_derivatives(v: Tensor, orders: int = 3) -> tuple[Tensor, ...]:
    """The first ``orders`` of ``silu(v) = v σ(v)``, ``silu' = σ (1 + v (1 - σ))``,
    ``silu'' = σ (1 - σ) (2 + v (1 - 2σ))`` (past three: :func:`kanpde.taylor.silu_derivatives`)."""
    if orders > 3:
        return tuple(silu_derivatives(v, orders).unbind(0))
    s = torch.sigmoid(v)
    if orders == 1:
        return (v * s,)
    q = 1 - s
    out = (v * s, s * (1 + v * q))
    return out if orders == 2 else (*out, s * q * (2 + v * (q - s)))


class KANLayer(nn.Module):
    """One KAN layer on a knot grid of ``grid`` intervals per input over ``grid_range``.

    ``grid`` may give one size per input (``G_i``, :mod:`kanpde.knots`): the knot rows are then padded to the
    longest and the coefficients of all inputs are stored back to back, ``coef`` of shape
    ``(sum_i (G_i + k), n_out)`` (input ``i`` owns rows ``offsets[i] ... offsets[i] + G_i + k - 1``); with one
    size for all inputs ``coef`` is ``(n_in, G + k, n_out)``. Either way :meth:`table` gives the padded
    ``(n_in, max M_i, n_out)`` view with zero rows past each input's own bases.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        grid: int | Sequence[int],
        k: int,
        grid_range: tuple[float, float],
        generator: torch.Generator,
        dtype: torch.dtype,
        device: torch.device | str | None,
    ) -> None:
        super().__init__()
        self.n_in, self.n_out, self.k = n_in, n_out, k
        self.uniform = True
        sizes = (grid,) * n_in if isinstance(grid, int) else tuple(grid)
        lo = torch.full((n_in,), float(grid_range[0]), dtype=dtype, device=device)
        hi = torch.full((n_in,), float(grid_range[1]), dtype=dtype, device=device)
        self.register_buffer("knots", uniform_knots(lo, hi, grid, k))  # (n_in, G+2k+1)
        # constant, so not saved; moves with the layer, so no host copy per evaluation on CUDA
        self.register_buffer("pieces", piece_table(dtype, device), persistent=False)  # (3, 4, 4)
        self._set_sizes(sizes, torch.device(device) if device is not None else None)

        def draw(*shape: int) -> Tensor:
            return torch.rand(*shape, generator=generator, dtype=dtype).to(device) * 2 - 1

        self.base_weight = nn.Parameter(draw(n_in, n_out) / n_in**0.5)
        self.spline_scale = nn.Parameter(torch.ones(n_in, n_out, dtype=dtype, device=device) / n_in**0.5)
        self.coef = nn.Parameter(0.1 * draw(*self._coef_shape()))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=dtype, device=device))

    def _set_sizes(self, sizes: tuple[int, ...], device=None) -> None:
        """Record the per-input grid sizes and the index buffers derived from them (not saved: the sizes
        are in the extra state and the model's config)."""
        self.sizes = tuple(int(g) for g in sizes)
        device = device if device is not None else self.knots.device
        as_long = {"dtype": torch.long, "device": device}
        m = torch.tensor([g + self.k for g in self.sizes], **as_long)  # (n_in,)
        starts = torch.cumsum(m, 0) - m  # (n_in,)
        self.register_buffer("offsets", starts, persistent=False)  # (n_in,)
        self.register_buffer("n_basis", m, persistent=False)  # (n_in,)
        # padded position i * max M + m of every stored row, and the input each stored row belongs to
        owner = torch.repeat_interleave(torch.arange(self.n_in, **as_long), m)  # (sum M_i,)
        within = torch.arange(owner.shape[0], **as_long) - starts[owner]  # (sum M_i,)
        self.register_buffer("padded_rows", owner * int(m.max()) + within, persistent=False)  # (sum M_i,)
        self.register_buffer("row_input", owner, persistent=False)  # (sum M_i,)

    @property
    def equal_sizes(self) -> bool:
        """Whether every input has the same grid size (``coef`` is then ``(n_in, M, n_out)``)."""
        return len(set(self.sizes)) == 1

    def _coef_shape(self) -> tuple[int, ...]:
        if self.equal_sizes:
            return (self.n_in, self.sizes[0] + self.k, self.n_out)
        return (sum(self.sizes) + self.n_in * self.k, self.n_out)

    @property
    def grid(self) -> int | tuple[int, ...]:
        """Number of grid intervals ``G`` (a tuple ``(G_1, ..., G_n_in)`` when the inputs' sizes differ)."""
        return self.sizes[0] if self.equal_sizes else self.sizes

    @property
    def grid_range(self) -> tuple[Tensor, Tensor]:
        """Per-input span ``[a_i, b_i]`` of the grid, each of shape ``(n_in,)``."""
        if self.equal_sizes:
            return self.knots[:, self.k], self.knots[:, -self.k - 1]
        return self.knots[:, self.k], self.knots.gather(1, self.n_basis[:, None])[:, 0]

    def knot_row(self, i: int) -> Tensor:
        """The knots of input ``i`` without padding: ``(G_i + 2k + 1,)``."""
        return self.knots[i, : self.sizes[i] + 2 * self.k + 1]

    def table(self, coef: Tensor | None = None) -> Tensor:
        """``coef`` (default: the layer's) as the padded ``(n_in, max M_i, n_out)`` table, zero past each
        input's own bases (a view when all inputs have one size)."""
        coef = self.coef if coef is None else coef
        if coef.ndim == 3:
            return coef
        widest = self.knots.shape[1] - self.k - 1
        padded = coef.new_zeros(self.n_in * widest, self.n_out).index_copy(0, self.padded_rows, coef)
        return padded.view(self.n_in, widest, self.n_out)  # (n_in, max M_i, n_out)

    def _flat(self, coef: Tensor) -> Tensor:
        """A stored coefficient tensor as rows ``(sum M_i, n_out)`` (a view)."""
        return coef.reshape(-1, self.n_out)  # (sum M_i, n_out)

    def _scaled_rows(self) -> Tensor:
        """``w^s_ji c_jim`` as stored rows ``(sum M_i, n_out)``."""
        if self.coef.ndim == 3:
            return self._flat(self.spline_scale[:, None, :] * self.coef)
        return self.spline_scale[self.row_input] * self.coef

    def weight(self) -> Tensor:
        """The stacked matrix ``W`` of shape ``(n_in * (1 + M), n_out)`` (``M = max M_i``)."""
        w = torch.cat([self.base_weight[:, None, :], self.spline_scale[:, None, :] * self.table()], dim=1)
        return w.reshape(-1, self.n_out)  # (n_in*(1+M), n_out)

    def features(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``F(v)``, ``F'(v)``, ``F''(v)``, each of shape ``(N, n_in, 1 + M)``."""
        stacked = self._features(v)
        return stacked[0], stacked[1], stacked[2]

    def _features(self, v: Tensor, orders: int = 3) -> Tensor:
        """``[F, F', F'', ...]`` stacked: ``(orders, N, n_in, 1 + M)`` (``orders >= 3``)."""
        if orders > 3:
            b = basis_derivatives(v, self.knots, self.k, self.uniform, orders)  # (S, N, n_in, M)
            silu = silu_derivatives(v, orders)  # (S, N, n_in)
            return torch.cat([silu[..., None], b], dim=-1)
        b = basis_stacked(v, self.knots, self.k, self.uniform)  # (3, N, n_in, M)
        silu = torch.stack(_silu_derivatives(v))  # (3, N, n_in)
        return torch.cat([silu[..., None], b], dim=-1)

    @property
    def local(self) -> bool:
        """Whether the layer uses the four-piece closed form (uniform cubic grid) instead of dense bases."""
        return self.uniform and self.k == 3

    def _edge_derivatives(self, v: Tensor, orders: int) -> tuple[Tensor, tuple]:
        """``P^s_ij = phi_ji^(s)(v_i)`` for ``s < orders``: ``(S, N, n_in, n_out)``, and the features the
        Jacobian needs.

        Dense: ``P^s = F^(s) W`` over all ``1 + M`` features. Local (uniform cubic): only four bases are
        non-zero at a point, so ``P^s = silu^(s) w_b + sum_o B^(s)_o w_s c_(index_o)`` gathers four
        coefficient rows per point and input, at a cost free of the grid size.
        """
        if not self.local:
            feats = self._features(v, max(orders, 3))[:orders]  # (S, N, n_in, K)
            w = self.weight().view(self.n_in, -1, self.n_out)  # (n_in, K, n_out)
            if self.n_out == 1:  # a matrix-vector product: elementwise is faster than a batched matmul
                return (feats * w[..., 0]).sum(-1, keepdim=True), ("dense", feats)  # (S, N, n_in, 1)
            return torch.einsum("snik,ikj->snij", feats, w), ("dense", feats)  # (S, N, n_in, n_out)
        # local pieces (S, N, n_in, 4) and their basis indices (N, n_in, 4)
        n_basis = None if self.equal_sizes else self.n_basis
        table = self.pieces if orders <= 3 else piece_table(v.dtype, v.device, orders)  # (S, 4, 4)
        local, index = cubic_uniform_local(v, self.knots, orders, table, n_basis)
        silu = torch.stack(_silu_derivatives(v, orders))  # (S, N, n_in)
        rows = self._rows(self._scaled_rows(), index)  # (N, n_in, 4, n_out)
        if self.n_out == 1:
            spline = (local * rows[..., 0]).sum(-1, keepdim=True)  # (S, N, n_in, 1)
        else:
            spline = torch.einsum("snio,nioj->snij", local, rows)  # (S, N, n_in, n_out)
        return silu[..., None] * self.base_weight + spline, ("local", silu, local, index)

    def _rows(self, rows: Tensor, index: Tensor) -> Tensor:
        """Row ``offsets[i] + index[n, i, o]`` of stored rows ``(sum M_i, n_out)``: ``(N, n_in, 4, n_out)``."""
        flat = torch.index_select(rows, 0, (index + self.offsets[:, None]).reshape(-1))
        return flat.view(*index.shape, self.n_out)  # (N, n_in, 4, n_out)

    def forward_jet(self, jet: Tensor, spec: JetSpec, records: list | None = None) -> Tensor:
        """Map a stacked jet ``(N, R, n_in)`` to ``(N, R, n_out)`` (see :meth:`forward_parts`)."""
        return stack(self.forward_parts(split(jet, spec), spec, records), spec)

    def forward_parts(self, jet: Jet, spec: JetSpec, records: list | None = None) -> Jet:
        """Map a jet in parts from ``n_in`` to ``n_out`` features.

        With ``P^s_ij = sum_k F^(s)_ik W_ikj`` (``s = 0, 1, 2``: the edge functions and their first and
        second derivatives at the inputs) the output rows are ``y_j = b_j + sum_i P^0_ij``,
        ``d_a y_j = sum_i P^1_ij g_ia`` and ``d_ab y_j = sum_i (P^2_ij g_ia g_ib + P^1_ij H_iab)``. Computing
        ``P`` first costs one batched matmul and keeps every intermediate at ``(N, ·, n_in, n_out)``, free of
        the number of basis functions.
        """
        value, grad, curv = jet
        orders = 3 if spec.pairs else (2 if spec.grad else 1)
        stacked, feats = self._edge_derivatives(value, orders)  # (S, N, n_in, n_out)
        p = stacked.unbind(0)  # S x (N, n_in, n_out); one backward stack, not S zero-filled copies
        out_value = p[0].sum(1) + self.bias  # (N, n_out)
        out_grad = out_curv = None
        if spec.grad and grad.ndim == 1:  # the input map's diagonal rows g_a = s_a e_a: no row products
            out_grad = grad[:, None] * p[1]  # (N, d = n_in, n_out)
            if spec.pairs:
                out_curv = diagonal_curvature(spec, grad, p[2])  # (N, P, n_out)
        elif spec.grad:
            out_grad = torch.bmm(grad, p[1])  # (N, d, n_in) @ (N, n_in, n_out) -> (N, d, n_out)
            if spec.pairs:
                out_curv = torch.bmm(pair_products(grad, spec), p[2])  # (N, P, n_in) @ (N, n_in, n_out)
                if curv is not None:
                    out_curv = out_curv + torch.bmm(curv, p[1])
        out = (out_value, out_grad, out_curv)
        if records is not None:
            records.append((self, (feats, jet, spec), out))
        return out

    def accumulate_jacobian(self, saved: tuple, out_grad: Jet, views: list[Tensor]) -> None:
        """Add per-point Jacobians to ``views``, one ``(N, numel)`` view per parameter in
        ``self.parameters()`` order.

        ``dr/dW_ikj = sum_s F^(s)_ik A^s_ij`` with ``A^0 = G_0``, ``A^1 = sum_a G_a g_ia + sum_ab G_ab H_iab``
        and ``A^2 = sum_ab G_ab g_ia g_ib``, ``G`` the derivative of the residual with respect to the output
        rows (``None`` parts count as zero).
        """
        if isinstance(saved[0], str):  # a truncated Taylor series pass (forward_series)
            self._accumulate_series(saved, out_grad[0], views)
            return
        feats, (_, grad, curv), spec = saved
        g0, g1, g2 = out_grad
        n = g0.shape[0]
        amps = [g0[:, None, :].expand(n, self.n_in, self.n_out)]  # A^0: (N, n_in, n_out)
        diagonal = spec.grad and grad.ndim == 1  # the input map's rows g_a = s_a e_a (jet.seed_jet)
        if spec.grad:
            if g1 is None:
                amps.append(torch.zeros_like(amps[0]))
            else:
                amps.append(grad[:, None] * g1 if diagonal else torch.bmm(grad.transpose(1, 2), g1))
        if spec.pairs:
            if g2 is None:
                amps.append(torch.zeros_like(amps[0]))
            elif diagonal:
                amps.append(diagonal_curvature_adjoint(spec, grad, g2))
            else:
                if curv is not None:
                    amps[1] = amps[1] + torch.bmm(curv.transpose(1, 2), g2)
                amps.append(torch.bmm(pair_products(grad, spec).transpose(1, 2), g2))
        amp = torch.stack(amps)  # (S, N, n_in, n_out)
        self._accumulate_amplitudes(feats, amp, g0, views)

    def _accumulate_amplitudes(self, feats: tuple, amp: Tensor, g0: Tensor, views: list[Tensor]) -> None:
        """Add ``dr/dW_ikj = sum_s F^(s)_ik A^s_ij`` (amplitudes ``amp`` ``(S, N, n_in, n_out)``) and
        ``dr/db = G_0`` (``g0`` ``(N, n_out)``) to ``views``, in the parameters' own layouts."""
        n = g0.shape[0]
        # W = [w_b, w_s c]: dr/dw_b = sum_s silu^(s) A^s, dr/dc_m = w_s sum_s B^(s)_m A^s and
        # dr/dw_s = sum_s A^s Q^s with Q^s = sum_m c_m B^(s)_m, the spline part's s-th derivative.
        kind, *data = feats
        if kind == "dense":
            silu, bases = data[0][..., 0], data[0][..., 1:]  # (S, N, n_in), (S, N, n_in, M)
            table = self.table()  # (n_in, M, n_out)
            if self.n_out == 1:
                q = (bases * table[..., 0]).sum(-1, keepdim=True)  # (S, N, n_in, 1)
            else:
                q = torch.einsum("snim,imj->snij", bases, table)  # (S, N, n_in, n_out)
            coef = torch.einsum("snim,snij->nimj", bases, amp * self.spline_scale)  # (N, n_in, M, n_out)
            if self.coef.ndim == 3:
                views[2] += coef.reshape(n, -1)  # (N, n_in*M*n_out)
            else:  # keep each input's own bases: (N, sum M_i * n_out)
                views[2] += coef.reshape(n, -1, self.n_out)[:, self.padded_rows].reshape(n, -1)
        else:
            silu, local, index = data
            rows = self._rows(self._flat(self.coef), index)  # (N, n_in, 4, n_out)
            q = torch.einsum("snio,nioj->snij", local, rows)  # (S, N, n_in, n_out)
            pieces = torch.einsum("snio,snij->nioj", local, amp * self.spline_scale)  # (N, n_in, 4, n_out)
            target = (index + self.offsets[:, None]).reshape(n, -1, 1)  # (N, n_in*4, 1) stored rows
            coef_view = views[2].view(n, -1, self.n_out)  # (N, sum M_i, n_out)
            coef_view.scatter_add_(1, target.expand(-1, -1, self.n_out), pieces.reshape(n, -1, self.n_out))
        views[0] += (silu[..., None] * amp).sum(0).reshape(n, -1)  # (N, n_in*n_out)
        views[1] += (q * amp).sum(0).reshape(n, -1)  # (N, n_in*n_out)
        views[3] += g0

    def forward_series(self, coef: Tensor, mono: Monomials, records: list | None = None) -> Tensor:
        """Map a truncated Taylor series ``(N, |S|, n_in)`` to ``(N, |S|, n_out)`` (:mod:`kanpde.taylor`).

        With ``P^m_ij = φ_ji^(m)(v_i)`` and ``Q^m = δ^m / m!`` the output is
        ``y_0 = b + Σ_i P^0_i`` and ``y_β = Σ_(m=1..K) Σ_i Q^m_(β, i) P^m_ij`` for ``β ≠ 0``: one batched
        matmul of the stacked powers with the stacked edge derivatives.
        """
        n, size, order = coef.shape[0], len(mono), mono.order
        stacked, feats = self._edge_derivatives(coef[:, 0], order + 1)  # (K+1, N, n_in, n_out)
        powers = mono.powers(coef)  # (K, N, |S|, n_in)
        q = powers[:, :, 1:].permute(1, 2, 0, 3).reshape(n, size - 1, -1)  # (N, |S|-1, K*n_in)
        p = stacked[1:].transpose(0, 1).reshape(n, -1, self.n_out)  # (N, K*n_in, n_out)
        value = stacked[0].sum(1) + self.bias  # (N, n_out)
        out = torch.cat([value[:, None], torch.bmm(q, p)], dim=1)  # (N, |S|, n_out)
        if records is not None:
            records.append((self, ("series", feats, powers), (out,)))
        return out

    def _accumulate_series(self, saved: tuple, g: Tensor, views: list[Tensor]) -> None:
        """Jacobian rows of a series pass: amplitudes ``A^0 = G_0`` and ``A^m_ij = Σ_β G_(β, j) Q^m_(β, i)``
        (``g`` ``(N, |S|, n_out)``), then as for the second-order jet."""
        _, feats, powers = saved
        n = g.shape[0]
        first = g[:, 0][:, None, :].expand(n, self.n_in, self.n_out)  # A^0: (N, n_in, n_out)
        rest = torch.einsum("knsi,nsj->knij", powers, g)  # (K, N, n_in, n_out)
        self._accumulate_amplitudes(feats, torch.cat([first[None], rest]), g[:, 0], views)

    def edge_functions(self, v: Tensor) -> Tensor:
        """``phi_ji(v_i)`` for inputs ``v`` of shape ``(S, n_in)``; returns ``(S, n_in, n_out)``."""
        f0 = self.features(v)[0]  # (S, n_in, 1+M), M = max M_i
        w = self.weight().reshape(self.n_in, -1, self.n_out)  # (n_in, 1+M, n_out)
        return torch.einsum("sik,iko->sio", f0, w)

    def spline_part(self, v: Tensor) -> Tensor:
        """``sum_m c_jim B_m(v_i)`` for ``v`` of shape ``(S, n_in)``; returns ``(S, n_in, n_out)``."""
        b0 = basis(v, self.knots, self.k, self.uniform)[0]  # (S, n_in, M)
        return torch.einsum("sim,imo->sio", b0, self.table())

    @torch.no_grad()
    def refit(
        self, knots: Tensor, uniform: bool, samples: Tensor | None = None, sizes: Sequence[int] | None = None
    ) -> float:
        """Move to new ``knots`` (rows padded as :mod:`kanpde.knots` describes when ``sizes`` differ; default
        sizes: the current ones), refitting the coefficients by least squares to the current spline part.

        The fit uses a dense uniform sampling of the new span plus the optional ``samples`` ``(S, n_in)``;
        inputs of one size are fitted together. Returns the largest absolute fit residual.
        """
        sizes = self.sizes if sizes is None else tuple(int(g) for g in sizes)
        lo = knots[:, self.k]
        ends = torch.tensor([g + self.k for g in sizes], device=knots.device)  # (n_in,)
        hi = knots.gather(1, ends[:, None])[:, 0]
        n_fit = 8 * (knots.shape[1] + self.k) + 64
        steps = torch.linspace(0, 1, n_fit, dtype=knots.dtype, device=knots.device)
        x = lo + steps[:, None] * (hi - lo)  # (n_fit, n_in)
        if samples is not None:
            x = torch.cat([x, samples.clamp(lo, hi)])
        target = self.spline_part(x)  # (S, n_in, n_out)
        parts, residual = [None] * self.n_in, 0.0
        for g in sorted(set(sizes)):
            idx = [i for i, s in enumerate(sizes) if s == g]
            cols = torch.tensor(idx, device=knots.device)
            coef, res = fit_coefficients(
                x[:, cols], target[:, cols], knots[cols, : g + 2 * self.k + 1], self.k, uniform
            )  # (n_group, g+k, n_out)
            for j, i in enumerate(idx):
                parts[i] = coef[j]
            residual = max(residual, float(res))
        self.knots = knots.clone()
        self.uniform = uniform
        self._set_sizes(sizes)
        stacked = torch.stack(parts) if self.equal_sizes else torch.cat(parts)  # (n_in, M, n_out) or rows
        self.coef = nn.Parameter(stacked.contiguous())
        return residual

    def get_extra_state(self) -> dict:
        return {"uniform": self.uniform, "sizes": list(self.sizes)}

    def set_extra_state(self, state: dict) -> None:
        self.uniform = bool(state["uniform"])
        sizes = tuple(state.get("sizes", self.sizes))
        if sizes != self.sizes:
            raise ValueError(
                f"the stored layer has grid sizes {list(sizes)} but this one {list(self.sizes)}; rebuild the "
                "model from the checkpoint's config"
            )


def kan_bytes(width: Sequence[int], sizes: Sequence[Sequence[int]], k: int, itemsize: int = 8) -> int:
    """Estimated bytes of a KAN's parameters and buffers: per layer the coefficients ``sum_i (G_i + k)``
    rows of ``n_out``, the knot rows, the base and scale weights and the bias, plus four index rows of
    8 bytes per stored coefficient row."""
    total = 0
    for n_in, n_out, g in zip(width[:-1], width[1:], sizes, strict=True):
        rows = sum(g) + n_in * k
        values = rows * n_out + n_in * (max(g) + 2 * k + 1) + 2 * n_in * n_out + n_out
        total += values * itemsize + 4 * 8 * rows
    return total


def check_kan_size(width: Sequence[int], sizes: Sequence[Sequence[int]], k: int, dtype, device) -> None:
    """Refuse, before allocating anything, a KAN whose parameters cannot fit in memory (width
    ``[1, 100000, 100000, 1]``, or ``grid=10**9``), with the estimate in the message."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    estimate = kan_bytes(width, sizes, k, itemsize)
    largest = max(max(g) for g in sizes)
    what = f"a KAN of width {list(width)} with grids up to {largest} intervals (k = {k})"
    check_memory(what, estimate, device, hint="use fewer or narrower layers, or a coarser grid")


class KAN(Network):
    """A Kolmogorov-Arnold Network of any depth.

    Args:
        width: layer sizes as in the KAN paper; ``[2, 10, 1]`` has 2 inputs, 10 hidden nodes, 1 output.
        grid: number of grid intervals ``G`` per edge: one integer for every input of every layer, or one
            entry per layer, each an integer or a tuple of one size per input of that layer
            (:func:`kanpde.knots.grid_sizes`): ``grid=[(5, 20), 5]`` for width ``[2, 10, 1]`` is fine in the
            second input (``y``), coarse in the first and in the output layer. A flat sequence of integers is
            per layer.
        k: spline order (degree); second-order PDEs need ``k >= 3`` for continuous second derivatives.
        grid_range: span of every layer's initial grid.
        input_bounds: physical box ``(lo, hi)`` mapped affinely onto the first layer's grid range
            (default: the grid range itself, so inputs are used as they are). :func:`kanpde.solve` sets it
            from the domain.
        seed: seed of the parameter initialisation (a private generator; no global state is touched).
        dtype, device: of parameters and buffers; float64 by default.
    """

    def __init__(
        self,
        width: Sequence[int],
        grid: int | Sequence[int | Sequence[int]] = 5,
        k: int = 3,
        *,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        input_bounds: tuple[Sequence[float], Sequence[float]] | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.width = check_width(width)
        self.k = check_positive_int("k", k)
        sizes = grid_sizes(grid, self.width)
        check_dtype(dtype)
        check_kan_size(self.width, sizes, self.k, dtype, device)
        if not grid_range[0] < grid_range[1]:
            raise ValueError(f"grid_range must be (a, b) with a < b, got {grid_range}")
        self._target = (float(grid_range[0]), float(grid_range[1]))
        self.seed = seed
        self._init_input_map(input_bounds, self._target, dtype, device)
        gen = torch.Generator().manual_seed(seed)
        self.layers = nn.ModuleList(
            KANLayer(a, b, g[0] if len(set(g)) == 1 else g, k, self._target, gen, dtype, device)
            for a, b, g in zip(self.width[:-1], self.width[1:], sizes, strict=False)
        )
        self.grid_report: GridReport | None = None

    @property
    def grid(self) -> int:
        """The smallest grid size over all layers and inputs (the one size when they are all equal): the
        grid that :meth:`extend_grid` scales and the solver's grid stages count."""
        return min(min(layer.sizes) for layer in self.layers)

    @property
    def grid_sizes(self) -> list[tuple[int, ...]]:
        """Per layer, the grid size of every input."""
        return [layer.sizes for layer in self.layers]

    @property
    def grid_spec(self) -> int | list:
        """The ``grid`` argument that builds this model's sizes: an integer when all are equal, else one entry
        per layer (an integer, or a list of per-input sizes)."""
        sizes = self.grid_sizes
        if len({g for s in sizes for g in s}) == 1:
            return sizes[0][0]
        return [s[0] if len(set(s)) == 1 else list(s) for s in sizes]

    def config(self) -> dict:
        """Constructor arguments that rebuild a model of this shape (load the state dict on top)."""
        lo, hi = self.input_bounds
        return {
            "width": list(self.width),
            "grid": self.grid_spec,
            "k": self.k,
            "grid_range": self._target,
            "input_bounds": (lo, hi),
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        return f"KAN(width={self.width}, grid={self.grid_spec}, k={self.k}, params={self.num_parameters})"

    def layer_inputs(self, x: Tensor) -> list[Tensor]:
        """Inputs of every layer (after the input map) at points ``x``: a list of ``(N, n_in)`` tensors,
        differentiable in the parameters (the activation walk of :meth:`activations` and the penalties)."""
        self.check_input(x)
        v = x * self.input_scale + self.input_shift
        out = [v]
        for layer in self.layers[:-1]:
            v = layer.forward_parts((v, None, None), JetSpec(layer.n_in))[0]
            out.append(v)
        return out

    @torch.no_grad()
    def activations(self, x: Tensor) -> list[Tensor]:
        """:meth:`layer_inputs` without a graph."""
        return self.layer_inputs(x)

    # -- the sparsity penalty (Liu et al. 2024, §2.5.1) -------------------------------------------------
    def edge_magnitudes(self, x: Tensor) -> list[Tensor]:
        """``|phi_lji|_1 = (1/N) sum_s |phi_lji(v_i^(s))|`` per layer as ``(n_in, n_out)`` tensors, at points
        ``x`` ``(N, d)`` (``v^(s)`` the layer inputs there), differentiable in the parameters."""
        return [
            layer.edge_functions(v).abs().mean(0)
            for layer, v in zip(self.layers, self.layer_inputs(x), strict=True)
        ]

    def sparsity_penalty(self, x: Tensor) -> Tensor:
        """``P = sum_l (mu_1 |Phi_l|_1 + mu_2 S(Phi_l))`` at points ``x`` (0-dim), with ``|Phi_l|_1`` the sum of
        layer ``l``'s edge magnitudes, ``S(Phi_l) = -sum_ij p_lij log p_lij`` its entropy
        (``p_lij = |phi_lji|_1 / |Phi_l|_1``) and ``mu_1 = mu_2 = 1``. The ``sparsity`` lever adds ``λ P``
        to the loss (:mod:`kanpde.sparsity`)."""
        return sum(MU_L1 * m.sum() + MU_ENTROPY * _entropy(m) for m in self.edge_magnitudes(x))

    def penalty_rows(self, x: Tensor, weight: float) -> Tensor:
        """Rows ``r`` with ``|r|^2 = weight · P``: ``sqrt(weight mu_1 |phi_lji|_1)`` one per edge, then
        ``sqrt(weight mu_2 S(Phi_l))`` one per layer (every term of ``P`` is non-negative)."""
        terms = []
        for m in self.edge_magnitudes(x):
            terms += [weight * MU_L1 * m.reshape(-1), (weight * MU_ENTROPY * _entropy(m)).reshape(1)]
        return torch.cat(terms).clamp(min=0).sqrt()

    @torch.no_grad()
    def range_violation(self, x: Tensor) -> float:
        """Largest distance, in units of each layer's grid span, by which an activation leaves its grid range."""
        worst = 0.0
        for layer, v in zip(self.layers, self.activations(x), strict=True):
            lo, hi = layer.grid_range
            excess = torch.maximum(lo - v, v - hi).clamp(min=0) / (hi - lo)
            worst = max(worst, float(excess.max()))
        return worst

    @torch.no_grad()
    def activation_bounds(self, points: int = 513) -> list[tuple[Tensor, Tensor]]:
        """An interval ``[lo_i, hi_i]`` per input of every layer that holds that input's activation over the
        input box (``input_bounds``), up to the sampling of each edge: a list of ``(lo, hi)`` pairs of
        ``(n_in,)`` tensors.

        The first layer's inputs span the mapped box. A node sums its edges,
        ``y_j = b_j + sum_i phi_ji(v_i)``, so over a box of inputs its range is
        ``[b_j + sum_i min phi_ji, b_j + sum_i max phi_ji]``, each edge's extremes taken on equispaced nodes
        of its interval (``points``, and at least 8 per knot interval): for the first hidden layer, whose
        inputs vary independently, this is the node's range up to that sampling. Deeper layers treat their
        inputs as independent, which can only widen the interval, and does so more with each layer; grid
        stages (:meth:`extend_grid` with ``samples``) use the first hidden layer's interval only.
        """
        check_positive_int("points", points)
        scale, shift = self.input_scale, self.input_shift
        lo_in, hi_in = (torch.as_tensor(b, dtype=scale.dtype, device=scale.device) for b in self.input_bounds)
        lo, hi = lo_in * scale + shift, hi_in * scale + shift
        out = [(lo, hi)]
        for layer in self.layers[:-1]:
            nodes = max(points, 8 * (max(layer.sizes) + layer.k) + 1)
            s = torch.linspace(0.0, 1.0, nodes, dtype=lo.dtype, device=lo.device)[:, None]  # (P, 1)
            edges = layer.edge_functions(lo + s * (hi - lo))  # (P, n_in, n_out)
            lo = edges.min(0).values.sum(0) + layer.bias  # (n_out,)
            hi = edges.max(0).values.sum(0) + layer.bias
            out.append((lo, hi))
        return out

    def _target_sizes(self, grid) -> list[tuple[int, ...]]:
        """New sizes from ``extend_grid``'s ``grid``: an integer scales every size by ``grid / self.grid``
        (each input refined by its own factor), anything else is a full ``grid`` argument."""
        if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
            check_positive_int("grid", grid)
            return [tuple(max(1, round(g * grid / self.grid)) for g in s) for s in self.grid_sizes]
        return grid_sizes(grid, self.width)

    @torch.no_grad()
    def _regrid(
        self, sizes: list[tuple[int, ...]], samples: Tensor | None, margin: float, placement: _Placement
    ) -> KAN:
        p = self.input_scale
        check_kan_size(self.width, sizes, self.k, p.dtype, p.device)
        new = copy.deepcopy(self)
        acts = self.activations(samples) if samples is not None else [None] * len(self.layers)
        # the first hidden layer's range over the input box (exact up to sampling; deeper bounds are loose)
        box = self.activation_bounds()[1] if samples is not None and len(self.layers) > 1 else None
        residual = 0.0
        for index, (layer, v, g) in enumerate(zip(new.layers, acts, sizes, strict=True)):
            lo, hi = layer.grid_range
            if v is not None and index > 0:  # cover the samples, with a margin
                span = (v.max(0).values - v.min(0).values).clamp(min=1e-3)
                lo = torch.minimum(lo, v.min(0).values - margin * span)
                hi = torch.maximum(hi, v.max(0).values + margin * span)
            if v is not None and index == 1:  # and the first hidden layer's image of the input box
                lo, hi = torch.minimum(lo, box[0]), torch.maximum(hi, box[1])
            knots, uniform = placement.knots(index, layer, v, lo, hi, g)
            residual = max(residual, layer.refit(knots, uniform, v, g))
        change = float("nan")
        if samples is not None:
            change = float((new(samples) - self(samples)).abs().max())
        new.grid_report = GridReport(residual, change)
        return new

    def extend_grid(
        self,
        grid: int | Sequence[int | Sequence[int]],
        *,
        samples: Tensor | None = None,
        margin: float = 0.1,
        weights: Tensor | None = None,
        floor: float = 1.0,
        layers: str = "first",
    ) -> KAN:
        """A new KAN on ``grid`` intervals with the same function; this model is left unchanged.

        ``grid`` is an integer - every size is scaled by ``grid / self.grid``, so each input is refined by
        its own factor and per-input sizes keep their ratios - or a full ``grid`` argument of the constructor.

        Without ``samples`` every layer keeps its span: on nested uniform grids (each new size a multiple of
        the current one) the old splines lie in the new space and the output is unchanged to round-off;
        otherwise ``grid_report.fit_residual`` gives the least-squares error. With ``samples`` ``(S, d)`` a
        hidden layer's span also grows where needed to cover the activations at those points, widened by
        ``margin`` of their spread on each side, and the first hidden layer's also to its image of the whole
        input box (:meth:`activation_bounds`; in high dimension samples rarely reach a box's corners, where
        a node takes its extremes; for a domain that is not a box this covers its bounding box). A span that
        already covers them is kept (so nested
        extension stays exact), and ``grid_report.output_change`` measures the change of the output there.

        **Residual-driven knots.** With ``weights`` ``(S,)`` (``>= 0``, e.g. the PDE residual ``|r|`` at the
        samples) the knots of the ``layers`` (``"first"``: the layer of the physical inputs; ``"all"``) follow
        the density of :mod:`kanpde.knots` - the samples' values on each input weighted by ``weights``, mixed
        with ``floor`` times the uniform density. A row whose span stays and whose size does not shrink keeps
        its knots and gets the new ones inserted where that density has the most mass (nested: the function
        is preserved to round-off); any other row is equidistributed (``grid_report.fit_residual`` says how
        well the function was kept). Such layers are no longer uniform, so they evaluate through the dense
        Cox-de Boor bases instead of the four-piece closed form.
        """
        sizes = self._target_sizes(grid)
        if weights is None:
            return self._regrid(sizes, samples, margin, _Placement("uniform"))
        if samples is None:
            raise ValueError("weights go with the samples they weight; pass samples= as well")
        check_positive_real("floor", floor)
        if layers not in _KNOT_LAYERS:
            raise ValueError(
                f"unknown layers {layers!r} for knot placement; valid ones: {', '.join(_KNOT_LAYERS)}"
            )
        w = _check_weights(weights, samples)
        return self._regrid(
            sizes, samples, margin, _Placement("density", weights=w, floor=floor, layers=layers)
        )

    def update_grid(self, samples: Tensor, *, grid_eps: float = 0.02, margin: float = 0.1) -> KAN:
        """A new KAN whose hidden-layer knots follow the activations at ``samples``.

        Knots sit at ``grid_eps · uniform + (1 - grid_eps) · quantile`` positions of each input's
        activations (``grid_eps = 1`` keeps them uniform); the first layer keeps its uniform grid over the
        mapped input box. Coefficients are refit; ``grid_report`` says how much the output changed.
        """
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps}")
        placement = _Placement("uniform" if grid_eps >= 1.0 else "quantile", grid_eps=grid_eps)
        return self._regrid(self.grid_sizes, samples, margin, placement)

    @torch.no_grad()
    def edge_scores(self, x: Tensor) -> list[Tensor]:
        """Attribution of every edge at points ``x`` ``(N, d)``: one ``(n_in, n_out)`` tensor per layer.

        With ``a_lij`` the standard deviation over the points of edge ``phi_lji(v_i)`` (its activation scale),
        the output nodes' importance ``I_L = 1`` and, layer by layer backwards,

            s_lij = I_(l+1)j · a_lij / sum_i' a_li'j,        I_li = sum_j s_lij,

        an edge's score is its share of its target node's activation scale times that node's importance, and a
        node's importance is the sum of its outgoing scores; the scores into one output node sum to 1.
        """
        if x.shape[0] < 2:
            raise ValueError(
                f"edge_scores needs at least 2 points to measure activation scales, got {x.shape[0]}"
            )
        scales = [
            layer.edge_functions(v).std(0, correction=0)  # (n_in, n_out)
            for layer, v in zip(self.layers, self.activations(x), strict=True)
        ]
        importance = scales[-1].new_ones(self.width[-1])
        scores: list[Tensor] = []
        for a in reversed(scales):
            total = a.sum(0, keepdim=True)  # (1, n_out)
            share = torch.where(total > 0, a / torch.where(total > 0, total, 1.0), 0.0)
            scores.insert(0, share * importance)
            importance = scores[0].sum(1)
        return scores

    @torch.no_grad()
    def prune(self, x: Tensor, threshold: float = 1e-2) -> KAN:
        """A new, smaller KAN: hidden nodes and edges with low attribution at points ``x`` removed.

        A hidden node whose importance (:meth:`edge_scores`: the sum of its outgoing scores) is below
        ``threshold`` is removed with all its edges (a layer keeps at least its most important node); an edge
        between kept nodes whose score is below ``threshold`` is set to zero. Every removed edge is replaced by
        its mean over ``x``, added to the bias of its target node, so removing edges that are zero or constant
        leaves the output unchanged. Inputs and outputs are kept; this model is left unchanged.
        """
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
            raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
        scores = self.edge_scores(x)
        means = [
            layer.edge_functions(v).mean(0) for layer, v in zip(self.layers, self.activations(x), strict=True)
        ]
        keep = [torch.arange(self.width[0], device=x.device)]
        for s in scores[1:]:
            importance = s.sum(1)  # (n_in,) of the hidden layer feeding this one
            kept = torch.nonzero(importance >= threshold)[:, 0]
            keep.append(kept if kept.numel() else importance.argmax()[None])
        keep.append(torch.arange(self.width[-1], device=x.device))
        p = next(self.parameters())
        sizes = [[layer.sizes[int(i)] for i in k] for layer, k in zip(self.layers, keep, strict=False)]
        new = KAN(
            [len(k) for k in keep], sizes, self.k, grid_range=self._target, input_bounds=self.input_bounds,
            seed=self.seed, dtype=p.dtype, device=p.device,
        )  # fmt: skip
        for l, (old, fresh) in enumerate(zip(self.layers, new.layers, strict=True)):
            _copy_pruned(old, fresh, keep[l], keep[l + 1], scores[l] < threshold, means[l])
        return new


MU_L1 = 1.0
MU_ENTROPY = 1.0
"""The weights of the L1 and entropy terms of the sparsity penalty."""


def _entropy(m: Tensor) -> Tensor:
    """``-sum p log p`` with ``p = m / sum m`` (0 for an all-zero layer; ``0 log 0 = 0``)."""
    total = m.sum()
    p = m / torch.where(total > 0, total, torch.ones_like(total))
    return -(p * torch.log(p.clamp(min=1e-300))).sum()


def _copy_pruned(
    old: KANLayer, new: KANLayer, rows: Tensor, cols: Tensor, low: Tensor, means: Tensor
) -> None:
    """Fill ``new`` with the kept inputs ``rows`` and outputs ``cols`` of ``old``; edges flagged in ``low``
    ``(n_in, n_out)`` and edges from dropped inputs become their ``means`` ``(n_in, n_out)`` in the bias.
    ``new`` was built with the kept inputs' grid sizes."""
    dropped = torch.ones(old.n_in, dtype=torch.bool, device=rows.device)
    dropped[rows] = False
    low = low[rows][:, cols]  # (n_in', n_out')
    new.knots = pad_rows([old.knot_row(int(i)) for i in rows])  # (n_in', max G_i + 2k + 1)
    new.uniform = old.uniform
    new.base_weight = nn.Parameter(torch.where(low, 0.0, old.base_weight[rows][:, cols]))
    new.spline_scale = nn.Parameter(old.spline_scale[rows][:, cols].clone())
    widest = new.knots.shape[1] - new.k - 1  # max M_i of the kept inputs; the padded rows past it are 0
    table = torch.where(low[:, None, :], 0.0, old.table()[rows][:, :widest][:, :, cols])  # (n_in', M, n_out')
    coef = table if new.equal_sizes else table.reshape(-1, new.n_out)[new.padded_rows]  # stored layout
    new.coef = nn.Parameter(coef.contiguous())
    removed = means[dropped][:, cols].sum(0) + torch.where(low, means[rows][:, cols], 0.0).sum(0)  # (n_out',)
    new.bias = nn.Parameter(old.bias[cols] + removed)


_KNOT_LAYERS = ("first", "all")
"""Which layers residual-driven knot placement moves: the first (physical inputs) or all."""


def _check_weights(weights: Tensor, samples: Tensor) -> Tensor:
    if not isinstance(weights, Tensor) or weights.shape != (samples.shape[0],):
        shape = tuple(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
        raise ValueError(
            f"weights must be a tensor of shape ({samples.shape[0]},), one per sample, got {shape}"
        )
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("weights must be finite and >= 0 (e.g. the absolute residual at the samples)")
    return weights.to(samples.dtype)


@dataclass(frozen=True)
class _Placement:
    """How :meth:`KAN._regrid` places a layer's knots: ``"uniform"``, ``"quantile"`` (hidden layers at the
    activations' quantiles, :meth:`KAN.update_grid`) or ``"density"`` (residual-driven, :mod:`kanpde.knots`)."""

    kind: str
    grid_eps: float = 1.0
    weights: Tensor | None = None
    floor: float = 1.0
    layers: str = "first"

    def knots(
        self, index: int, layer: KANLayer, v: Tensor | None, lo: Tensor, hi: Tensor, sizes: tuple[int, ...]
    ) -> tuple[Tensor, bool]:
        """The padded knot rows ``(n_in, max G_i + 2k + 1)`` of layer ``index`` and whether they are uniform."""
        k = layer.k
        moved = v is not None and (
            (self.kind == "quantile" and index > 0)
            or (self.kind == "density" and (index == 0 or self.layers == "all"))
        )
        if not moved:
            return uniform_knots(lo, hi, sizes[0] if len(set(sizes)) == 1 else sizes, k), True
        rows = []
        for i, g in enumerate(sizes):
            if self.kind == "quantile":
                rows.append(quantile_row(v[:, i], lo[i], hi[i], g, k, self.grid_eps))
                continue
            old = layer.knot_row(i)
            same_span = bool(old[k] == lo[i]) and bool(old[-k - 1] == hi[i])
            if same_span and g >= layer.sizes[i]:
                rows.append(inserted_knots(old, v[:, i], self.weights, k, g, self.floor))
            else:
                rows.append(equidistributed_knots(v[:, i], self.weights, lo[i], hi[i], g, k, self.floor))
        return pad_rows(rows), False
