"""The ansatz the trainer fits: the network whose outputs are the fields, and the unknown coefficients.

:class:`Ansatz` wraps a :class:`~kanpde.KAN` or :class:`~kanpde.MLP` (``n_fields`` outputs) together with
the unconstrained parameters ``r`` of the problem's :class:`~kanpde.Unknown` coefficients. Its parameters
are the network's followed by the unknowns', so every optimiser, checkpoint, resume and
``torch.distributed`` reduction carries them.

**Exact Jacobian columns of an unknown.** A residual reads an unknown at ``N`` points as ``θ(r_n)`` with
``r_n = r`` expanded to a per-point tensor (:meth:`Ansatz.unknown`). As ``r_n`` enters only residual ``n``,
one backward pass of ``Σ_n R_n`` to the expanded tensor gives ``∂R_n/∂r`` for every point: the unknown's
Jacobian column, exact, in the same pass that gives the network's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .jet import JetSpec
from .network import layer_gradients, layer_outputs
from .problem import Unknown

__all__ = ["Ansatz"]


@dataclass(frozen=True)
class _UnknownRecord:
    """An unknown's per-point expansion recorded during a jet pass (for its Jacobian column)."""

    name: str
    tensor: Tensor  # (N,)


class Ansatz(nn.Module):
    """The fields ``u(x) = net(x)`` (one column per field) and the unknown coefficients."""

    def __init__(
        self, net: nn.Module, fields: Sequence[str] = ("u",), unknowns: Sequence[Unknown] = ()
    ) -> None:
        super().__init__()
        self.net = net
        self.fields = tuple(fields)
        self.specs = {u.name: u for u in unknowns}
        width = getattr(net, "width", None)
        if width is not None and width[-1] != len(self.fields):
            raise ValueError(
                f"the model has {width[-1]} output(s) but the problem has {len(self.fields)} field(s) "
                f"({', '.join(self.fields)}); give it width [..., {len(self.fields)}]"
            )
        like = next(iter(net.parameters()), None)
        kw = {"dtype": like.dtype, "device": like.device} if like is not None else {"dtype": torch.float64}
        self.raw = nn.ParameterDict(
            {u.name: nn.Parameter(torch.tensor(u.raw(u.init), **kw)) for u in unknowns}
        )

    # -- values and jets -------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """The fields ``(N, n_fields)`` at ``x`` ``(N, d)``."""
        return self.net(x)

    def jet(self, x: Tensor, spec: JetSpec, records: list | None = None) -> Tensor:
        """The fields' jet ``(N, R, n_fields)`` (see :mod:`kanpde.jet`)."""
        return self.net.jet(x, spec, records)

    def unknown(self, name: str, x: Tensor, records: list | None = None) -> Tensor:
        """Unknown ``name`` at the points ``x``, shape ``(N,)`` (recorded for its Jacobian column)."""
        if name not in self.specs:
            known = ", ".join(self.specs) or "none"
            raise ValueError(f"u.unknown({name!r}): no such unknown; the problem declares {known}")
        expanded = self.raw[name].expand(x.shape[0])  # (N,): r_n, one per point
        if records is not None:
            records.append(_UnknownRecord(name, expanded))
        return self.specs[name].value(expanded)

    def unknown_values(self) -> dict[str, float]:
        """``{name: θ}`` of every unknown."""
        with torch.no_grad():
            return {name: float(self.specs[name].value(raw)) for name, raw in self.raw.items()}

    # -- Jacobians -------------------------------------------------------------------------------------
    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def residual_jacobian(
        self, residual: Tensor, records: list, retain_graph: bool = True, out: Tensor | None = None
    ) -> Tensor:
        """Exact Jacobian ``(N, P)`` of a per-point residual ``(N,)``: the network's columns from its
        recorded layers (:meth:`kanpde.network.Network.param_jacobian`), then one column per unknown."""
        layers = [r for r in records if not isinstance(r, _UnknownRecord)]
        unknowns = [r for r in records if isinstance(r, _UnknownRecord)]
        targets = layer_outputs(layers) + [u.tensor for u in unknowns]
        found = torch.autograd.grad(residual.sum(), targets, retain_graph=retain_graph, allow_unused=True)
        p_net = sum(p.numel() for p in self.net.parameters())
        if out is None:
            out = residual.new_zeros(residual.shape[0], p_net + len(self.raw))
        with torch.no_grad():
            found = iter(found)
            if layers:
                self.net.param_jacobian(layers, layer_gradients(layers, found), out[:, :p_net])
            else:
                out[:, :p_net].zero_()
            out[:, p_net:].zero_()
            columns = {name: p_net + i for i, name in enumerate(self.raw)}
            for record, grad in zip(unknowns, found, strict=True):
                if grad is not None:
                    out[:, columns[record.name]] += grad
        return out

    # -- grids -----------------------------------------------------------------------------------------
    def with_net(self, net: nn.Module) -> Ansatz:
        """An ansatz on ``net`` with this one's fields and unknown values."""
        new = Ansatz(net, self.fields, tuple(self.specs.values()))
        with torch.no_grad():
            for name, raw in self.raw.items():
                new.raw[name].copy_(raw)
        return new

    def extend_grid(self, grid: int, *, samples: Tensor | None = None) -> Ansatz:
        """The ansatz with the network's grid extended (:meth:`kanpde.KAN.extend_grid`)."""
        return self.with_net(self.net.extend_grid(grid, samples=samples))
