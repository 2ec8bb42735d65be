r"""Exactly imposed conditions: the terms ``g`` and ``φ`` of a field ``u = g + φ N`` (``N`` the network).

A field may carry one exactly imposed (``hard=True``) Dirichlet condition and exactly imposed initial
values: the value ``u(x, t0) = g_0(x)`` and, with it, the velocity ``u_t(x, t0) = g_1(x)``. With ``m`` of
them (1 or 2), ``τ = (t - t0) / (t1 - t0)`` and ``φ_D`` the Dirichlet part's distance function (1 without
one),

.. math::

    u = L(x, t) + φ_D(x)\,τ^m\,N(x, t), \qquad
    L = h(x, t) + \sum_{n < m} \frac{(t - t_0)^n}{n!}\,\big[g_n(x) - \partial_t^n h(x, t_0)\big],

``h`` the Dirichlet value (0 without one). Then :math:`\partial_t^n u(x, t_0) = g_n(x)` for ``n < m``
(the ``τ^m`` term and its first ``m - 1`` time derivatives vanish at ``t0``) and ``u = h`` where
``φ_D = 0`` provided the initial and boundary values agree there at ``t0``
(:math:`g_n = \partial_t^n h` on the Dirichlet part; :func:`check_compatible` refuses them otherwise). The
initial values are read at ``(x, t0)`` whatever ``t`` is, so a callable given for the initial state is only
evaluated on the initial slice. ``∂_t h(x, t0)`` comes from autograd when ``h`` is a callable.

``τ`` is normalised over the time span on purpose: with the raw ``t - t0`` on a short window the network has
to output values ``1 / (t1 - t0)`` times larger (on PINNacle Heat2d-LT's first 0.1 time units a KAN
[3, 8, 1] ended 100 LM steps at a loss of 0.57 with ``t - t0``, 3.5e-3 with ``τ``).

Exact initial values remove the initial-condition loss term and with it the balance between that term and
the residual. With exact side values in both runs they lowered the error of the same solve 4.7x on
``problems/heat1d.py``, 21x on ``problems/heat2d.py`` and 18x on ``problems/wave1d_standing.py`` (value and
velocity; KAN, grids 5, 10, 20: ``results/hard_soft.md``), 2.2x in the short MLP solve of
``tests/test_hard_initial.py``. Not on every problem: on PINNacle's Wave1d-C (``sin(4 pi x) cos(8 pi t)`` in
the solution) both a KAN and an MLP ended worse than with the penalised conditions
(``benchmarks/pinnacle_notes.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .conditions import Condition, Dirichlet, Initial, evaluate_value
from .geometry import DistanceFunction, Domain, SpaceTime

__all__ = ["Hard", "hard_terms", "check_hard_initial", "check_compatible"]

Value = float | Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Hard:
    """An exactly imposed condition: field ``index`` is ``value(x) + phi(x) N(x)``."""

    index: int
    phi: Callable[[Tensor], Tensor]
    value: Value

    def g(self, x: Tensor) -> Tensor:
        if callable(self.value):
            return self.value(x).reshape(x.shape[0])
        return torch.full((x.shape[0],), float(self.value), dtype=x.dtype, device=x.device)


def at_time(x: Tensor, t: float) -> Tensor:
    """The points ``x`` ``(N, d)`` with their time column (the last) set to ``t``."""
    return torch.cat([x[:, :-1], torch.full_like(x[:, -1:], float(t))], dim=1)  # (N, d)


@dataclass(frozen=True)
class Elapsed:
    """``φ(x) = φ_D(x) τ^m`` with ``τ = (t - t0) / span`` (``φ_D`` omitted when ``None``)."""

    phi: Callable[[Tensor], Tensor] | None
    t0: float
    span: float
    power: int

    def __call__(self, x: Tensor) -> Tensor:
        tau = ((x[:, -1] - self.t0) / self.span) ** self.power  # (N,)
        return tau if self.phi is None else self.phi(x) * tau


@dataclass(frozen=True)
class InitialLift:
    """``L(x, t) = h(x, t) + Σ_n (t - t0)^n / n! [g_n(x) - ∂_t^n h(x, t0)]`` (module docstring); ``initial``
    holds ``g_0`` and optionally ``g_1``, ``boundary`` is ``h`` (``None``: no exact Dirichlet values)."""

    initial: tuple[Value, ...]
    t0: float
    boundary: Value | None = None

    def __call__(self, x: Tensor) -> Tensor:
        dt = x[:, -1] - self.t0  # (N,)
        start = at_time(x, self.t0)  # (N, d): the initial slice below every point
        out = (
            torch.zeros_like(dt)
            if self.boundary is None
            else evaluate_value(self.boundary, x, "Dirichlet value")
        )
        for n, value in enumerate(self.initial):
            term = evaluate_value(value, start, "Initial value")
            if self.boundary is not None:
                term = term - boundary_dt(self.boundary, n, start)
            out = out + dt**n / math.factorial(n) * term
        return out


def boundary_dt(h: Value, n: int, start: Tensor) -> Tensor:
    """``∂_t^n h`` of a Dirichlet value ``h`` at the points ``start`` ``(N, d)`` of the initial slice (``n`` of
    0 or 1), ``(N,)``, differentiable in the spatial columns."""
    if n == 0:
        return evaluate_value(h, start, "Dirichlet value")
    if not callable(h):
        return torch.zeros_like(start[:, 0])
    with torch.enable_grad():
        t = start[:, -1:].detach().clone().requires_grad_(True)  # (N, 1)
        values = evaluate_value(h, torch.cat([start[:, :-1], t], dim=1), "Dirichlet value")
        if not values.requires_grad:  # a constant (check_hard_initial refuses other values without a graph)
            return torch.zeros_like(start[:, 0])
        (h_t,) = torch.autograd.grad(values.sum(), t, create_graph=True, allow_unused=True)
    return torch.zeros_like(start[:, 0]) if h_t is None else h_t[:, 0]


def _field(c: Condition, fields: Sequence[str]) -> str:
    return c.field or fields[0]


def hard_terms(domain: Domain, fields: Sequence[str], conditions: Sequence[Condition]) -> list[Hard]:
    """The ``u = g + φ N`` terms of every field with exactly imposed conditions among ``conditions``."""
    out = []
    for index, name in enumerate(fields):
        mine = [c for c in conditions if getattr(c, "hard", False) and _field(c, fields) == name]
        if not mine:
            continue
        dirichlet = [c for c in mine if isinstance(c, Dirichlet)]
        initial = sorted((c for c in mine if isinstance(c, Initial)), key=lambda c: c.derivative)
        phi = DistanceFunction(domain, dirichlet[0].on) if dirichlet else None
        value: Value = dirichlet[0].value if dirichlet else 0.0
        if initial:
            t0, t1 = domain.t
            phi = Elapsed(phi, float(t0), float(t1 - t0), len(initial))
            value = InitialLift(tuple(c.value for c in initial), float(t0), value if dirichlet else None)
        out.append(Hard(index, phi, value))
    return out


def check_hard_initial(conditions: Sequence[Condition], fields: Sequence[str], domain: Domain) -> None:
    """Exactly imposed initial values: the value and optionally the velocity, one of each per field, torch
    functions of the points, agreeing with an exactly imposed Dirichlet value at ``t0``."""
    for name in fields:
        mine = [c for c in conditions if getattr(c, "hard", False) and _field(c, fields) == name]
        exact = [c for c in mine if isinstance(c, Initial)]
        if not exact:
            continue
        orders = sorted(c.derivative for c in exact)
        if len(set(orders)) != len(orders):
            raise ValueError(
                f"field {name!r} has two exactly imposed initial conditions of the same derivative; keep one"
            )
        if orders[-1] > 1:
            raise ValueError(
                "Initial(hard=True) imposes the value (derivative=0) and the velocity (derivative=1) exactly; "
                f"field {name!r} asks for derivative {orders[-1]}: impose that one softly (hard=False)"
            )
        if orders == [1]:
            raise ValueError(
                f"field {name!r}: Initial(..., derivative=1, hard=True) needs the initial value imposed exactly "
                "too (Initial(u0, hard=True)), or make the velocity soft (hard=False)"
            )
        for c in exact:
            _check_differentiable(c.value, domain, f"Initial(hard=True) value of field {name!r}")
        dirichlet = [c for c in mine if isinstance(c, Dirichlet)]
        if dirichlet and isinstance(domain, SpaceTime):
            if 1 in orders:
                _check_differentiable(dirichlet[0].value, domain, f"exact Dirichlet value of field {name!r}")
            check_compatible(dirichlet[0], exact, domain)


def _check_differentiable(value: Value, domain: Domain, what: str) -> None:
    """A callable value whose derivatives the ansatz takes must be a torch function of the points: values
    that vary over the points but carry no autograd graph (NumPy, detached) would have zero derivatives."""
    if not callable(value) or not isinstance(domain, SpaceTime):
        return
    x = domain.sample_interior(16, sampler="sobol", seed=3, dtype=torch.float64).requires_grad_(True)
    with torch.enable_grad():
        out = evaluate_value(value, x, what)
    if not out.requires_grad and float(out.max() - out.min()) > 0.0:
        raise ValueError(
            f"{what}: it is imposed exactly, so its derivatives enter the residual by autograd, but it returned "
            "values without a graph (computed with NumPy, or detached); write it with torch operations on x"
        )


def check_compatible(dirichlet: Dirichlet, initial: Sequence[Initial], domain: SpaceTime) -> None:
    """Exact initial and Dirichlet values must agree on the Dirichlet part at ``t0`` (else ``u = L + φ N``
    cannot meet both); checked at 256 points of that part, to ``1e-6`` of the values' size."""
    x = dirichlet.sample(domain, 256, "sobol", 0, torch.float64, "cpu")["x"]  # (256, d)
    start = at_time(x, float(domain.t[0]))
    for n, c in enumerate(sorted(initial, key=lambda c: c.derivative)):
        g = evaluate_value(c.value, start, "Initial value").detach()
        h = boundary_dt(dirichlet.value, n, start).detach()
        gap = float((g - h).abs().max())
        if not gap <= 1e-6 * (1.0 + float(g.abs().max())):  # a NaN gap fails too
            what, theirs = ("value", "value") if n == 0 else ("velocity", "value's time derivative")
            raise ValueError(
                f"Initial(hard=True): the initial {what} differs from the exactly imposed Dirichlet {theirs} "
                f"on the boundary at t0 by up to {gap:.3g}; both cannot hold exactly: make them agree there, "
                "or impose one of them softly (hard=False)"
            )
