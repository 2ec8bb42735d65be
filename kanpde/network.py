"""What the KAN and the MLP share: the affine input map, input checks, jets and per-point Jacobians."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .jet import Jet, JetSpec, seed_jet, stack
from .taylor import Monomials, seed_series, series_rows

__all__ = ["Network", "check_width", "layer_outputs", "layer_gradients"]


def check_width(width: Sequence[int]) -> list[int]:
    if isinstance(width, (str, bytes)) or not isinstance(width, Sequence):
        raise TypeError(f"width must be a list of layer sizes such as [2, 10, 1], got {width!r}")
    if len(width) < 2:
        raise ValueError(
            f"width needs at least two entries (inputs and outputs), got {list(width)}; pass e.g. [2, 10, 1]"
        )
    for w in width:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"every entry of width must be a positive integer, got {list(width)}")
    return list(width)


class Network(nn.Module):
    """Shared input handling of the KAN and the MLP: affine input map, shape and dtype checks."""

    width: list[int]
    layers: nn.ModuleList

    def _init_input_map(self, bounds, target: tuple[float, float], dtype, device) -> None:
        d = self.width[0]
        if bounds is None:
            lo, hi = [target[0]] * d, [target[1]] * d
        else:
            lo, hi = (list(map(float, b)) for b in bounds)
            if len(lo) != d or len(hi) != d or any(a >= b for a, b in zip(lo, hi, strict=True)):
                raise ValueError(
                    f"input_bounds must be (lo, hi) with {d} entries each and lo < hi, got {bounds!r}"
                )
        lo_t = torch.tensor(lo, dtype=dtype, device=device)
        hi_t = torch.tensor(hi, dtype=dtype, device=device)
        scale = (target[1] - target[0]) / (hi_t - lo_t)
        self.register_buffer("input_scale", scale)  # (d,)
        self.register_buffer("input_shift", target[0] - lo_t * scale)  # (d,)

    @torch.no_grad()
    def set_input_bounds(self, lo: Sequence[float], hi: Sequence[float]) -> None:
        """Map the physical box ``[lo, hi]`` onto the first layer's range (used by the solver on its copy)."""
        lo_t = torch.as_tensor(lo, dtype=self.input_scale.dtype, device=self.input_scale.device)
        hi_t = torch.as_tensor(hi, dtype=self.input_scale.dtype, device=self.input_scale.device)
        if (
            lo_t.shape != self.input_scale.shape
            or hi_t.shape != self.input_scale.shape
            or bool((lo_t >= hi_t).any())
        ):
            raise ValueError(
                f"input bounds must have {self.width[0]} entries each with lo < hi, got {lo}, {hi}"
            )
        scale = (self._target[1] - self._target[0]) / (hi_t - lo_t)
        self.input_scale.copy_(scale)
        self.input_shift.copy_(self._target[0] - lo_t * scale)

    @property
    def input_bounds(self) -> tuple[list[float], list[float]]:
        """The physical box mapped onto the first layer's range."""
        lo = (self._target[0] - self.input_shift) / self.input_scale
        hi = (self._target[1] - self.input_shift) / self.input_scale
        return lo.tolist(), hi.tolist()

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` is a floating tensor of shape ``(N, d)`` in the model's dtype."""
        if not isinstance(x, Tensor):
            raise TypeError(
                f"the model takes a torch.Tensor of shape (N, {self.width[0]}), got {type(x).__name__}"
            )
        if x.ndim != 2 or x.shape[1] != self.width[0]:
            raise ValueError(f"input must have shape (N, {self.width[0]}), got {tuple(x.shape)}")
        dtype = self.input_scale.dtype
        if x.dtype != dtype:
            raise TypeError(f"input dtype {x.dtype} does not match the model's {dtype}; pass x.to({dtype})")

    def jet(self, x: Tensor, spec: JetSpec, records: list | None = None) -> Tensor:
        """The output jet ``(N, R, n_out)`` of inputs ``x`` ``(N, d)``: values and requested derivatives.

        A spec with derivatives of order three and more (``spec.high``) is computed, every row of it, from
        the truncated Taylor series on ``spec.monomials()`` (:meth:`series`); otherwise by the second-order
        jet."""
        if spec.high:
            mono = spec.monomials()
            return series_rows(self.series(x, mono, records), mono, spec.keys)
        return stack(self._propagate(x, spec, records), spec)

    def series(self, x: Tensor, mono: Monomials, records: list | None = None) -> Tensor:
        """The outputs' truncated Taylor series ``(N, |S|, n_out)`` at ``x`` ``(N, d)``: coefficient ``c_α``
        of every multi-index ``α`` in ``mono`` (``∂^α u = α! c_α``; :mod:`kanpde.taylor`). With ``records``
        each layer records what its exact per-point Jacobian rows need, as :meth:`jet` does."""
        self.check_input(x)
        coef = seed_series(x, mono, self.input_scale, self.input_shift)  # (N, |S|, d)
        for layer in self.layers:
            coef = layer.forward_series(coef, mono, records)
        return coef

    def forward(self, x: Tensor) -> Tensor:
        """Values ``(N, n_out)`` at ``x`` ``(N, d)``."""
        return self._propagate(x, JetSpec(self.width[0]))[0]

    def _propagate(self, x: Tensor, spec: JetSpec, records: list | None = None) -> Jet:
        """The output jet of ``x`` in parts: the input map's jet pushed through every layer."""
        self.check_input(x)
        out = seed_jet(x, spec, self.input_scale, self.input_shift)
        for layer in self.layers:
            out = layer.forward_parts(out, spec, records)
        return out

    @property
    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def param_jacobian(self, records: list, grads: Sequence, out: Tensor | None = None) -> Tensor:
        """Assemble ``(N, P)`` per-point Jacobians in ``self.parameters()`` order from recorded passes.

        ``records`` come from :meth:`jet` calls and ``grads`` hold, per record, the derivatives of the
        (per-point) residual sum with respect to that layer's output parts (``None`` for unused parts).
        Several jet passes over the same points add up. Each layer adds its rows straight into its columns of
        ``out`` (allocated when not given; overwritten), so no per-layer block is copied.
        """
        params = list(self.parameters())
        offsets, total = {}, 0
        for p in params:
            offsets[id(p)] = total
            total += p.numel()
        n = records[0][2][0].shape[0]  # rows of the recorded output values: one per point
        if out is None:
            out = params[0].new_zeros(n, total)
        else:
            out.zero_()
        for (layer, saved, _), g in zip(records, grads, strict=True):
            views = [out[:, offsets[id(p)] : offsets[id(p)] + p.numel()] for p in layer.parameters()]
            layer.accumulate_jacobian(saved, g, views)  # each view (N, numel)
        return out

    def residual_jacobian(
        self, residual: Tensor, records: list, retain_graph: bool = True, out: Tensor | None = None
    ) -> Tensor:
        """Exact Jacobian ``(N, P)`` of a per-point residual ``(N,)`` built from the jets in ``records``.

        ``residual[n]`` must depend on point ``n`` only: then one backward pass of ``residual.sum()`` to the
        recorded layer outputs gives every point's own derivative.
        """
        outs = layer_outputs(records)
        found = torch.autograd.grad(residual.sum(), outs, retain_graph=retain_graph, allow_unused=True)
        with torch.no_grad():  # the rows are data for the optimiser, not part of a graph
            return self.param_jacobian(records, layer_gradients(records, iter(found)), out)


def layer_outputs(records: list) -> list[Tensor]:
    """The recorded layer output parts that exist, in order (the targets of the backward pass)."""
    return [t for _, _, rec in records for t in rec if t is not None]


def layer_gradients(records: list, found) -> list[tuple]:
    """Per record, the derivatives ``found`` (an iterator over :func:`layer_outputs`' order) regrouped into
    the record's parts; a value part the residual does not use gets zeros, other unused parts ``None``."""
    grads = []
    for _, _, rec in records:
        parts = [next(found) if t is not None else None for t in rec]
        parts[0] = parts[0] if parts[0] is not None else torch.zeros_like(rec[0])
        grads.append(tuple(parts))
    return grads
