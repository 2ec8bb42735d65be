"""The physics-informed loss: the PDE's equations and every condition, each on its own named points.

With residual vectors ``r_t`` on ``N_t`` points and weights ``w_t`` the loss is

    L = sum_t w_t · mean_n |r_t,n|^2 = |r̃|^2,   r̃ = concat_t sqrt(w_t / N_t) r_t,

and the stacked vector ``r̃`` with its exact per-point Jacobian feeds Gauss-Newton methods. The terms are
the PDE's equations (one for a residual returning one tensor; one per entry of a list or dict, named
``residual_1, ...`` or by the dict's keys), all on the interior points with weight ``residual_weight``, then
the conditions in order; the loss history records each term as a *part*.

**Chunks.** Every residual entry depends on its own point only, so the loss, its gradient, ``JᵀJ`` and
``Jᵀr̃`` are sums over any partition of the points. With ``chunk_size`` the loss splits its points (this
rank's shard) into ``K = ceil(n / chunk_size)`` chunks, each taking a contiguous ``1/K`` of every term's
points and normalising by the global counts as a rank does (:mod:`kanpde.distributed`); the optimisers
evaluate and differentiate chunk by chunk (:attr:`PINNLoss.chunks`), so memory scales with the chunk, not
with ``n``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ._checks import check_positive_int
from .derivatives import DerivativePlan, Evaluation, accessor
from .distributed import Comm
from .residuals import equations, residual_rows

if TYPE_CHECKING:
    from .problem import Problem

__all__ = [
    "Collocation",
    "PINNLoss",
    "chunked_loss",
    "chunked_rows",
    "sample_collocation",
    "split_collocation",
]


@dataclass(frozen=True)
class Collocation:
    """Named point sets: ``interior`` ``(N, d)`` and one dict of tensors per condition (no offsets)."""

    interior: Tensor
    conditions: tuple[dict[str, Tensor], ...]


def sample_collocation(
    problem: Problem,
    n_interior: int,
    n_boundary: int,
    n_initial: int,
    sampler: str,
    seed: int,
    dtype: torch.dtype,
    device,
) -> Collocation:
    """Sample interior points and each soft condition's points (each condition with its own seed stream)."""
    interior = problem.domain.sample_interior(
        n_interior, sampler=sampler, seed=seed, dtype=dtype, device=device
    )
    budgets = {"boundary": n_boundary, "initial": n_initial, None: 0}
    conditions = tuple(
        c.sample(problem.domain, budgets[c.budget], sampler, seed + 7919 * (i + 1), dtype, device)
        for i, c in enumerate(problem.soft_conditions)
    )
    return Collocation(interior, conditions)


def split_collocation(points: Collocation, pieces: int) -> list[Collocation]:
    """``points`` in ``pieces`` parts, each a contiguous ``1/pieces`` of every point set (views, no copies;
    a set with fewer points than ``pieces`` leaves the last parts without points)."""
    interior = torch.tensor_split(points.interior, pieces)  # pieces x (~N/pieces, d)
    conditions = [{k: torch.tensor_split(v, pieces) for k, v in c.items()} for c in points.conditions]
    return [
        Collocation(interior[i], tuple({k: parts[i] for k, parts in c.items()} for c in conditions))
        for i in range(pieces)
    ]


class _Probe(nn.Module):
    """A stand-in model whose jets and unknowns are zero: running the residuals on it shows which points
    each term evaluates the model at, and which derivatives, without a real model."""

    def __init__(self, n_fields: int) -> None:
        super().__init__()
        self.n_fields = n_fields

    def jet(self, x: Tensor, spec, records=None) -> Tensor:
        return x.new_zeros(x.shape[0], spec.rows, self.n_fields)  # (N, R, n_fields)

    def unknown(self, name: str, x: Tensor, records=None) -> Tensor:
        return x.new_zeros(x.shape[0])  # (N,)


class _LayoutChanged(Exception):
    """A residual evaluated the model at other points than when the layout was learned."""


@dataclass(frozen=True)
class _Layout:
    """The model evaluations of all terms in call order: ``(term, points)``, and the points stacked."""

    calls: tuple[tuple[int, Tensor], ...]
    points: Tensor  # (sum N_k, d)
    sizes: tuple[int, ...]


class PINNLoss:
    """Loss terms of ``problem`` on fixed ``points``; ``mode`` is ``"forward"`` or ``"autograd"``.

    With a multi-rank ``comm`` this process keeps its shard of every point set and each term is normalised
    by the global count, so the ranks' partial losses add up to the full loss
    (:mod:`kanpde.distributed`); the reduction is the caller's (:class:`kanpde.optim.Objective`).

    In forward mode the loss evaluates the model once per call on all terms' points stacked, with the union
    of the derivatives the terms need (on small point sets the per-op cost dominates, and this halves the
    ops), then hands each term its rows. Which points each term uses is learned at construction by running
    the residuals on a model whose jets are zero; a residual that later evaluates the model elsewhere turns
    this off for good (per-term passes, the same numbers).

    With ``chunk_size`` (points per chunk, all terms together) and more points than that on this rank,
    :attr:`chunks` holds one loss per chunk (see the module docstring); their losses, parts, residuals and
    Jacobian rows add up to this loss's. Otherwise :attr:`chunks` is ``(self,)``.
    """

    def __init__(
        self,
        problem: Problem,
        points: Collocation,
        mode: str,
        comm: Comm | None = None,
        chunk_size: int | None = None,
    ) -> None:
        comm = comm if comm is not None else Comm()
        if chunk_size is not None:
            chunk_size = check_positive_int("chunk_size", chunk_size)
        self.problem, self.mode, self.comm = problem, mode, comm
        self.counts = [points.interior.shape[0]] + [
            next(iter(c.values())).shape[0] for c in points.conditions
        ]
        points = Collocation(
            comm.shard(points.interior),
            tuple({k: comm.shard(v) for k, v in c.items()} for c in points.conditions),
        )
        self.points = points
        self.fields = problem.fields
        self.conditions = problem.soft_conditions  # hard ones are the ansatz's, not loss terms
        self.weights = [problem.residual_weight] + [c.weight for c in self.conditions]
        self._labels = _unique([c.label for c in self.conditions])
        self._equations: tuple[str, ...] | None = None
        self._scale: Tensor | None = None  # per-point factors of the PDE's rows (adaptive weights)
        self._last_residual: Tensor | None = None  # the PDE's unscaled rows at the latest evaluation
        dim = problem.domain.dim
        self._plans = [DerivativePlan(dim) for _ in self.weights]
        self.chunk_size = chunk_size
        local = _count(points.interior) + sum(_count(c) for c in points.conditions)
        pieces = 1 if chunk_size is None else min(-(-local // chunk_size), _count(points.interior))
        self._layout = self._learn_layout() if mode == "forward" and pieces == 1 else None
        self.chunks: tuple[PINNLoss, ...] = (self,) if pieces <= 1 else self._split(pieces)

    def _split(self, pieces: int) -> tuple[PINNLoss, ...]:
        """One loss per part of this rank's points: same problem, weights, global counts and derivative
        plans (shared), its own points and layout."""
        chunks = []
        for part in split_collocation(self.points, pieces):
            chunk = copy.copy(self)
            chunk.points, chunk._equations = part, None
            chunk._layout = chunk._learn_layout() if self.mode == "forward" else None
            chunk.chunks = (chunk,)
            chunks.append(chunk)
        return tuple(chunks)

    def set_scale(self, scale: Tensor | None) -> None:
        """Multiply the PDE's residual rows by ``scale`` ``(N_interior,)`` (all points; this rank keeps its
        shard), e.g. adaptive point weights; ``None`` for none."""
        if scale is not None and scale.shape != (self.counts[0],):
            raise ValueError(
                f"scale must have one entry per interior point ({self.counts[0]}), got {tuple(scale.shape)}"
            )
        self._scale = None if scale is None else self.comm.shard(scale)
        if len(self.chunks) > 1:  # each chunk scales its own contiguous part of the interior rows
            parts = (
                [None] * len(self.chunks)
                if scale is None
                else torch.tensor_split(self._scale, len(self.chunks))
            )
            for chunk, part in zip(self.chunks, parts, strict=True):
                chunk._scale = part

    @property
    def last_residual(self) -> Tensor | None:
        """The PDE's unscaled rows ``(N_local, C)`` at the latest evaluation (all chunks, in point order);
        ``None`` before the first."""
        if len(self.chunks) == 1:
            return self._last_residual
        rows = [chunk._last_residual for chunk in self.chunks]
        return None if any(r is None for r in rows) else torch.cat(rows)

    @property
    def names(self) -> list[str]:
        """Names of the loss parts: the PDE's equations, then the conditions (known once the residual ran)."""
        equations = self._equations or next((c._equations for c in self.chunks if c._equations), None)
        return [*(equations or ("residual",)), *self._labels]

    def _field(self, model: nn.Module, term: int, x: Tensor, records=None, jet=None, spec=None):
        d = self.problem.domain
        ev = Evaluation(model, x, d.names, d.space_dim, self.mode, self._plans[term], records, jet, spec)
        return accessor(ev, self.fields)

    def _field_at(self, model: nn.Module, term: int, records: list | None):
        def make(x: Tensor):
            rec = None
            if records is not None:
                rec = []
                records.append(rec)
            return self._field(model, term, x, rec)

        return make

    def _learn_layout(self) -> _Layout | None:
        calls: list[tuple[int, Tensor]] = []
        probe = _Probe(len(self.fields))

        def recording(term: int):
            def make(x: Tensor):
                calls.append((term, x))
                return self._field(probe, term, x)

            return make

        try:
            with torch.no_grad():
                for t in range(len(self.weights)):
                    self.term_residual(probe, t, field_at=recording(t))
        except Exception:  # a residual that cannot run on zeros: per-term passes (errors surface there)
            return None
        if len(calls) < 2:
            return None
        return _Layout(tuple(calls), torch.cat([x for _, x in calls]), tuple(x.shape[0] for _, x in calls))

    def term_residual(
        self, model: nn.Module, term: int, records: list | None = None, field_at=None
    ) -> Tensor:
        """Residual ``(N_t, C_t)`` of term ``term`` (0 is the PDE with one column per equation, then the
        conditions in order)."""
        field_at = field_at if field_at is not None else self._field_at(model, term, records)
        if term == 0:
            x = self.points.interior
            r, names = equations(self.problem.residual(x, field_at(x)), x.shape[0])
            if self._equations is None:
                self._equations = names
            elif names != self._equations:
                raise ValueError(
                    f"the residual function returned the equations {names} after {self._equations}; return the "
                    "same equations at every call"
                )
            self._last_residual = r.detach()
            return r if self._scale is None else r * self._scale[:, None]
        points = self.points.conditions[term - 1]
        if _count(points) == 0:  # a chunk without points of this condition: no rows, no loss
            return self.points.interior.new_zeros(0, 1)
        return self.conditions[term - 1].residual(field_at, points)

    def pde_residual(self, model: nn.Module, x: Tensor) -> Tensor:
        """The PDE's residual columns ``(N, C)`` at any points ``x`` ``(N, d)`` (detached; e.g. to place knots
        where it is large), with the rows this loss's PDE term carries (:func:`kanpde.residuals.residual_rows`)."""
        return residual_rows(
            self.problem, model, x, self.mode, batch=max(1, x.shape[0]), plan=self._plans[0]
        )[0]

    def _stacked_residuals(self, model: nn.Module) -> list[Tensor]:
        """Every term's residual from one jet pass over all their points (see the class docstring)."""
        layout = self._layout
        spec = self._plans[0].spec
        for plan in self._plans[1:]:
            spec = spec.merge(plan.spec)
        jet = model.jet(layout.points, spec)  # (sum N_k, R, n_fields)
        queue = iter(zip(layout.calls, jet.split(layout.sizes), strict=True))

        def field_at(term: int):
            def make(x: Tensor):
                (expected_term, expected_x), rows = next(queue, ((None, None), None))
                if expected_term != term or x is not expected_x:
                    raise _LayoutChanged
                return self._field(model, term, x, jet=rows, spec=spec)

            return make

        return [self.term_residual(model, t, field_at=field_at(t)) for t in range(len(self.weights))]

    def _parts(self, residuals: list[Tensor]) -> Tensor:
        """``w · mean r^2`` per equation of the PDE (its columns) and per condition (all its columns)."""
        head = self.weights[0] * residuals[0].square().sum(0) / self.counts[0]  # (C_0,)
        tail = [
            w * r.square().sum() / n
            for r, w, n in zip(residuals[1:], self.weights[1:], self.counts[1:], strict=True)
        ]
        return torch.cat([head, torch.stack(tail)]) if tail else head

    def __call__(self, model: nn.Module) -> tuple[Tensor, Tensor]:
        """Total loss (0-dim) and the loss parts (1-D tensor, named by :attr:`names`); this rank's share of
        them on several ranks. With several :attr:`chunks` the sum of theirs (the optimisers go chunk by chunk,
        so that only one chunk's graph is alive at a time)."""
        if len(self.chunks) > 1:
            return chunked_loss(self.chunks, model)
        residuals = None
        if self._layout is not None:
            try:
                residuals = self._stacked_residuals(model)
            except _LayoutChanged:
                self._layout = None
        if residuals is None:
            residuals = [self.term_residual(model, t) for t in range(len(self.weights))]
        parts = self._parts(residuals)
        return parts.sum(), parts

    def residual_and_jacobian(self, model: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        """``r̃`` ``(M,)``, its exact Jacobian ``(M, P)`` with respect to ``model.parameters()`` and the
        loss parts.

        Each residual entry depends on one point only, so the derivative of a column's sum with respect to a
        layer's output rows is that point's own derivative; :meth:`~kanpde.KAN.param_jacobian` writes it into
        Jacobian rows (forward mode only). With several :attr:`chunks` their rows one after the other.
        """
        if len(self.chunks) > 1:
            return chunked_rows(self.chunks, model)
        terms, residuals = [], []
        for t, (w, n) in enumerate(zip(self.weights, self.counts, strict=True)):
            passes: list[list] = []
            r = self.term_residual(model, t, passes)  # (N_t, C_t)
            terms.append((math.sqrt(w / n) * r, [rec for p in passes for rec in p]))
            residuals.append(r.detach())
        rows = sum(r.numel() for r, _ in terms)
        jac = next(model.parameters()).new_empty(rows, sum(p.numel() for p in model.parameters()))
        rs, start = [], 0
        for r, recs in terms:
            for c in range(r.shape[1] if r.shape[0] else 0):
                model.residual_jacobian(r[:, c], recs, out=jac[start : start + r.shape[0]])
                rs.append(r[:, c].detach())
                start += r.shape[0]
        return torch.cat(rs), jac, self._parts(residuals)


def chunked_loss(chunks, model: nn.Module) -> tuple[Tensor, Tensor]:
    """Total and parts of a loss split into ``chunks`` (losses over disjoint points): the sums of theirs."""
    parts = sum(chunk(model)[1] for chunk in chunks)
    return parts.sum(), parts


def chunked_rows(chunks, model: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
    """``r̃``, its Jacobian and the parts of a loss split into ``chunks``: the chunks' rows one after the other."""
    found = [chunk.residual_and_jacobian(model) for chunk in chunks]
    return (
        torch.cat([r for r, _, _ in found]),
        torch.cat([j for _, j, _ in found]),  # (M, P)
        sum(p for _, _, p in found),
    )


def _count(points: Tensor | dict[str, Tensor]) -> int:
    """Rows of a point tensor, or of a condition's point dict."""
    return points.shape[0] if isinstance(points, Tensor) else next(iter(points.values())).shape[0]


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}_{seen[label]}")
    return out
