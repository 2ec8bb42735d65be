"""The ansatz the trainer fits: the network whose outputs are the fields, and the unknown coefficients.

:class:`Ansatz` wraps a :class:`~kanpde.KAN` or :class:`~kanpde.MLP` (``n_fields`` outputs) together with
the unconstrained parameters ``r`` of the problem's :class:`~kanpde.Unknown` coefficients. Its parameters
are the network's followed by the unknowns', so every optimiser, checkpoint, resume and
``torch.distributed`` reduction carries them.

**Exact Dirichlet conditions.** A field with a ``Dirichlet(g, hard=True)`` condition is ``u = g + φ N``
with ``N`` the network's output, ``φ`` the condition's :class:`~kanpde.DistanceFunction` and ``g`` its value
(exact initial values, ``Initial(g0, hard=True)``, have their own ``g`` and ``φ``: :mod:`kanpde.hard`).
The jets of ``φ`` and ``g`` (value, gradient, the second derivatives a residual asks for) come from
autograd, once per point set (cached while the points live), and the product rule gives the field's jet:
``u_a = g_a + φ_a N + φ N_a`` and ``u_ab = g_ab + φ_ab N + φ_a N_b + φ_b N_a + φ N_ab``. It is linear in
the network's jet, so the exact Jacobian rows pass through it unchanged in form. Where ``φ`` is not
differentiable (on its own zero set, for polygon and CSG boundaries) its derivatives are taken as 0.

Derivatives of order three and more (a jet spec with ``high`` rows) use the Leibniz rule of any order,
``∂^γ(φN) = Σ_(β ≤ γ) binom(γ, β) ∂^β φ ∂^(γ-β) N``, in Taylor-coefficient form: the truncated product of the
series of ``φ`` and ``N`` on the closed set of multi-indices the rows need (:mod:`kanpde.taylor`), the
network's series from :meth:`kanpde.network.Network.series`, those of ``φ`` and ``g`` from nested autograd
(cached like the second-order ones). ``φ`` must then be differentiable to that order inside the domain: the
box and ball distance functions are polynomials; the trimmed polygon and CSG forms are smooth off their
zero set (their second derivatives are continuous; higher ones exist there too, but grow near the zero set).

**Exact Jacobian columns of an unknown.** A residual reads an unknown at ``N`` points as ``θ(r_n)`` with
``r_n = r`` expanded to a per-point tensor (:meth:`Ansatz.unknown`). As ``r_n`` enters only residual ``n``,
one backward pass of ``Σ_n R_n`` to the expanded tensor gives ``∂R_n/∂r`` for every point: the unknown's
Jacobian column, exact, in the same pass that gives the network's rows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .hard import Hard, hard_terms
from .jet import JetSpec
from .network import layer_gradients, layer_outputs
from .problem import Unknown
from .taylor import Monomials, column_key, nested_autograd, series_rows

__all__ = ["Ansatz"]


@dataclass(frozen=True)
class _UnknownRecord:
    """An unknown's per-point expansion recorded during a jet pass (for its Jacobian column)."""

    name: str
    tensor: Tensor  # (N,)


def auxiliary_jet(fn: Callable[[Tensor], Tensor], x: Tensor, spec: JetSpec) -> Tensor:
    """The jet ``(N, R)`` of a fixed function of the points (``φ`` or ``g``) by autograd; undefined
    derivatives (a non-smooth point) count as 0."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        value = fn(xg)
        rows = [value.detach()]
        if spec.grad:
            grad = None
            if value.requires_grad:  # a constant has no graph
                grad = torch.autograd.grad(value.sum(), xg, create_graph=bool(spec.pairs), allow_unused=True)[
                    0
                ]
            grad = torch.zeros_like(xg) if grad is None else grad  # (N, d)
            rows += [grad[:, a].detach() for a in range(spec.dim)]
            second: dict[int, Tensor] = {}
            for a, b in spec.pairs:
                if a not in second:
                    h = None
                    if grad.requires_grad:
                        h = torch.autograd.grad(grad[:, a].sum(), xg, retain_graph=True, allow_unused=True)[0]
                    second[a] = torch.zeros_like(xg) if h is None else h.detach()  # (N, d)
                rows.append(second[a][:, b])
    return torch.nan_to_num(torch.stack(rows, dim=1), nan=0.0, posinf=0.0, neginf=0.0)  # (N, R)


def auxiliary_series(fn: Callable[[Tensor], Tensor], x: Tensor, mono: Monomials) -> Tensor:
    """The truncated Taylor series ``(N, |S|)`` of a fixed function of the points (``φ`` or ``g``):
    ``c_α = ∂^α fn / α!`` by nested autograd; undefined derivatives (a non-smooth point) count as 0."""
    keys = [column_key(alpha) for alpha in mono.indices]
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        found = nested_autograd(fn(xg), xg, keys)
        rows = [found[k].detach() / mono.factorial(k) for k in keys]
    return torch.nan_to_num(torch.stack(rows, dim=1), nan=0.0, posinf=0.0, neginf=0.0)  # (N, |S|)


def product_jet(p: Tensor, n: Tensor, spec: JetSpec) -> Tensor:
    """The jet ``(N, R)`` of ``φ N`` from the jets of ``φ`` and ``N`` (the product rule)."""
    d = spec.dim
    rows = [p[:, :1] * n[:, :1]]
    if spec.grad:
        rows.append(p[:, 1 : 1 + d] * n[:, :1] + p[:, :1] * n[:, 1 : 1 + d])
    if spec.pairs:
        a = [1 + i for i, _ in spec.pairs]
        b = [1 + j for _, j in spec.pairs]
        rows.append(
            p[:, 1 + d :] * n[:, :1] + p[:, a] * n[:, b] + p[:, b] * n[:, a] + p[:, :1] * n[:, 1 + d :]
        )
    return torch.cat(rows, dim=1)


class Ansatz(nn.Module):
    """The fields ``u(x) = net(x)`` (one column per field; ``g + φ N`` for exactly imposed Dirichlet values)
    and the unknown coefficients."""

    def __init__(
        self,
        net: nn.Module,
        fields: Sequence[str] = ("u",),
        unknowns: Sequence[Unknown] = (),
        hard: Sequence[Hard] = (),
    ) -> None:
        super().__init__()
        self.net = net
        self.fields = tuple(fields)
        self.hard = tuple(hard)
        self._aux: dict[int, tuple] = {}  # id(points) -> (weak reference, spec, [(phi jet, g jet)])
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

    @classmethod
    def for_problem(cls, net: nn.Module, problem) -> Ansatz:
        """The ansatz of ``problem``: its fields, unknowns and exactly imposed conditions."""
        hard = hard_terms(problem.domain, problem.fields, problem.hard_conditions)
        return cls(net, problem.fields, problem.unknowns, hard)

    # -- values and jets -------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """The fields ``(N, n_fields)`` at ``x`` ``(N, d)``."""
        out = self.net(x)
        if not self.hard:
            return out
        columns = list(out.unbind(1))
        for h in self.hard:
            columns[h.index] = h.g(x) + h.phi(x) * columns[h.index]
        return torch.stack(columns, dim=1)

    def jet(self, x: Tensor, spec: JetSpec, records: list | None = None) -> Tensor:
        """The fields' jet ``(N, R, n_fields)`` (see :mod:`kanpde.jet`)."""
        if self.hard and spec.high:
            return self._series_jet(x, spec, records)
        out = self.net.jet(x, spec, records)
        if not self.hard:
            return out
        columns = list(out.unbind(2))  # n_fields x (N, R)
        for h, (p, g) in zip(self.hard, self._auxiliary(x, spec), strict=True):
            columns[h.index] = g + product_jet(p, columns[h.index], spec)
        return torch.stack(columns, dim=2)

    def _series_jet(self, x: Tensor, spec: JetSpec, records: list | None) -> Tensor:
        """The jet of a spec with derivatives of order three and more: ``u = g + φ N`` as truncated series
        (Leibniz rule of any order), then the rows."""
        mono = spec.monomials()
        columns = list(self.net.series(x, mono, records).unbind(2))  # n_fields x (N, |S|)
        for h, (p, g) in zip(self.hard, self._auxiliary(x, mono), strict=True):
            product = mono.product(p[:, :, None], columns[h.index][:, :, None])[:, :, 0]  # (N, |S|)
            columns[h.index] = g + product
        return series_rows(torch.stack(columns, dim=2), mono, spec.keys)  # (N, R, n_fields)

    def _auxiliary(self, x: Tensor, spec: JetSpec | Monomials) -> list[tuple[Tensor, Tensor]]:
        """The jets of every hard condition's ``φ`` and ``g`` at ``x`` for a jet ``spec``, or their series
        on the multi-indices ``spec`` (cached while ``x`` lives, so each chunk of a chunked loss computes
        them once)."""
        entry = self._aux.get(id(x))
        if entry is not None and entry[0]() is x and entry[1] == spec:
            return entry[2]
        make = auxiliary_series if isinstance(spec, Monomials) else auxiliary_jet
        jets = [(make(h.phi, x, spec), make(h.g, x, spec)) for h in self.hard]
        if len(self._aux) > 16:  # forget point sets that are gone; all when too many live (chunks)
            self._aux = {k: v for k, v in self._aux.items() if v[0]() is not None}
            if len(self._aux) > 4096:
                self._aux.clear()
        self._aux[id(x)] = (weakref.ref(x), spec, jets)
        return jets

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
        new = Ansatz(net, self.fields, tuple(self.specs.values()), self.hard)
        with torch.no_grad():
            for name, raw in self.raw.items():
                new.raw[name].copy_(raw)
        return new

    def extend_grid(self, grid, *, samples: Tensor | None = None, **options) -> Ansatz:
        """The ansatz with the network's grid extended (:meth:`kanpde.KAN.extend_grid`, with its options)."""
        return self.with_net(self.net.extend_grid(grid, samples=samples, **options))
