r"""Discrete-time physics-informed networks: implicit Runge-Kutta steps in time, a network in space.

For a first-order-in-time problem :math:`u_t = F[u](x, t)` on :math:`\Omega \times [t_0, t_1]` (its residual
:math:`R = a\,u_t - f`, affine in :math:`u_t` with :math:`a \ne 0`, so :math:`F = f / a`; the heat equation's
``u.dt() - nu * u.laplacian() - s`` is one), a step of length :math:`\Delta t` from :math:`u^n` has ``q`` stage
values :math:`U_j(x) \approx u(x, t_n + c_j \Delta t)` that solve

.. math::

    U_j = u^n + \Delta t \sum_{k=1}^{q} a_{jk} F[U_k](x, t_n + c_k \Delta t), \qquad j = 1, \dots, q,

with the Radau IIA coefficients (:func:`radau_iia`; :math:`c_q = 1`, so :math:`u^{n+1} = U_q`; order
:math:`2q - 1`, L-stable, so a stiff reaction term takes steps longer than its own time scale). One network
:math:`N: \Omega \to \mathbb{R}^q` holds the ``q`` stage values of a step (Raissi, Perdikaris & Karniadakis
2019, "discrete-time models"). Each step is a stationary kanpde problem: fields ``u_1 .. u_q``, equations
``stage_j`` (the relation above divided by :math:`\Delta t`), the problem's boundary conditions at each
stage's time, solved by :func:`kanpde.solve` starting from the previous step's trained network. Before
step 0 the network is fitted to the initial value in every stage (the same solve options).

Between :math:`t_n` and :math:`t_{n+1}` the solution is the collocation polynomial through
:math:`(t_n, u^n)` and :math:`(t_n + c_j \Delta t, U_j)` (degree ``q`` in time); its time derivatives are
that polynomial's, its space derivatives the networks'.

Why. A network of space and time must hold the whole evolution at once and is trained on it at once; over
many time scales it settles on functions that satisfy the PDE late without following it from the initial
state (:mod:`kanpde.marching`). Here the network holds one time at a time, each step is a small,
well-started nonlinear least-squares problem, and time accuracy comes from the Runge-Kutta method, not
from the network. The price: one solve per time step, and each step's spatial error is the next step's initial
error.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from numpy.polynomial import Polynomial
from numpy.polynomial import legendre as leg
from torch import Tensor, nn

from ._checks import check_count
from .conditions import Data, Dirichlet, Initial, Neumann, evaluate_value
from .derivatives import Field, derivative_key
from .geometry import Domain, SpaceTime
from .marching import Marching
from .models import is_kan
from .problem import Problem
from .residuals import equations
from .solution import Solution
from .solver import solve as _solve

__all__ = ["discrete_time", "radau_iia"]

Solve = Callable[..., Solution]


def radau_iia(stages: int) -> tuple[np.ndarray, np.ndarray]:
    """The Radau IIA Butcher tableau of ``stages`` = q stages: ``A`` ``(q, q)`` and nodes ``c`` ``(q,)``.

    The nodes are the roots of :math:`P_q(2s - 1) - P_{q-1}(2s - 1)` (Legendre polynomials; :math:`c_q = 1`)
    and :math:`a_{jk} = \\int_0^{c_j} \\ell_k(s)\\,ds` with :math:`\\ell_k` the Lagrange polynomials of the
    nodes (a collocation method): q = 1 is the implicit Euler method, q = 2 has ``c = (1/3, 1)``,
    ``A = ((5/12, -1/12), (3/4, 1/4))``.
    """
    q = check_count("radau_iia: stages", stages)
    series = leg.Legendre.basis(q) - leg.Legendre.basis(q - 1)  # in z = 2 s - 1
    c = np.sort((series.roots().real + 1.0) / 2.0)  # (q,)
    c[-1] = 1.0  # the root z = 1 exactly
    a = np.empty((q, q))
    for k in range(q):
        ell = _lagrange(c, k)
        antiderivative = ell.integ()
        a[:, k] = antiderivative(c) - antiderivative(0.0)
    return a, c


def _lagrange(nodes: np.ndarray, k: int) -> Polynomial:
    """The Lagrange polynomial of ``nodes`` that is 1 at ``nodes[k]`` and 0 at the others."""
    others = np.delete(nodes, k)
    if not len(others):
        return Polynomial([1.0])
    return Polynomial.fromroots(others) / np.prod(nodes[k] - others)


def _weights(nodes: np.ndarray, theta: Tensor, order: int) -> Tensor:
    """The ``order``-th derivatives of the Lagrange polynomials of ``nodes`` at ``theta`` ``(M,)``,
    shape ``(M, len(nodes))``: ``sum_i w_i V_i`` is the interpolant's derivative of that order."""
    columns = []
    for i in range(len(nodes)):
        coef = _lagrange(nodes, i).deriv(order).coef if order else _lagrange(nodes, i).coef
        value = torch.zeros_like(theta)
        for power in reversed(coef):  # Horner
            value = value * theta + float(power)
        columns.append(value)
    return torch.stack(columns, dim=1)  # (M, q + 1)


class _View:
    """What :class:`~kanpde.Field` reads (``get``, ``require``, ``x``, ``names``, ``space_dim``, ``unknown``),
    on space-time points, from a function of spatial derivatives: ``get(field, key)`` is
    ``spatial(rest, m)`` where ``m`` counts the time column in ``key`` and ``rest`` is the spatial part."""

    def __init__(self, x: Tensor, names: Sequence[str], space_dim: int, spatial, require=None) -> None:
        self.x, self.names, self.space_dim = x, tuple(names), space_dim
        self._spatial, self._require = spatial, require

    def get(self, field: int, key: tuple[int, ...]) -> Tensor:
        t = self.space_dim
        return self._spatial(tuple(a for a in key if a != t), key.count(t))

    def require(self, *keys: tuple[int, ...]) -> None:
        if self._require is not None:
            self._require(*(k for k in keys if self.space_dim not in k))

    def unknown(self, name: str) -> Tensor:
        raise ValueError(f"discrete_time does not identify unknown coefficients (asked for {name!r})")


def _with_time(xs: Tensor, t: float) -> Tensor:
    """Spatial points ``(N, d)`` and the time column ``t``: ``(N, d + 1)``."""
    return torch.cat([xs, xs.new_full((xs.shape[0], 1), t)], dim=1)


def _at_time(value, t: float):
    """A condition's value of ``(x, t)`` as a value of ``x`` alone at time ``t`` (numbers unchanged)."""
    if not callable(value):
        return value
    return lambda xs: value(_with_time(xs, t))


class _Equation:
    """The problem's one residual equation ``R = a u_t - f`` read as ``F = f / a`` from a field's spatial
    derivatives (``u_t`` supplied: 0 and 1)."""

    def __init__(self, problem: Problem) -> None:
        self.problem, self.name = problem, problem.fields[0]
        self.names, self.space_dim = problem.domain.names, problem.domain.space_dim

    def _residual(self, x: Tensor, spatial, require, slope: float) -> Tensor:
        def get(rest, m):
            if m == 0:
                return spatial(rest)
            if m == 1 and not rest:
                return x.new_full((x.shape[0],), slope)
            raise ValueError(
                "discrete_time: the residual asks for a derivative by t "
                f"{'of order ' + str(m) if m > 1 else 'mixed with space'}; the Runge-Kutta steps need "
                "equations of first order in time, a u_t - f(x, t, u, grad u, ...); use kp.march"
            )

        view = _View(x, self.names, self.space_dim, get, require)
        out, names = equations(self.problem.residual(x, Field.of(view, 0, self.name)), x.shape[0])
        if len(names) != 1:
            raise ValueError(
                f"discrete_time steps one equation of one field; the residual returned {len(names)} "
                f"({', '.join(names)}); use kp.march"
            )
        return out[:, 0]

    def rate(self, x: Tensor, spatial, require=None) -> Tensor:
        """``F = u_t`` implied by the residual at space-time points ``x`` ``(N, d + 1)``, shape ``(N,)``."""
        r0 = self._residual(x, spatial, require, 0.0)
        r1 = self._residual(x, spatial, require, 1.0)
        return -r0 / (r1 - r0)

    def check(self, x: Tensor, spatial) -> None:
        """Raise unless the residual is affine in ``u_t`` with a nonzero coefficient at the points ``x``."""
        r = [self._residual(x, spatial, None, s).detach() for s in (0.0, 1.0, 2.0)]
        slope, curvature = r[1] - r[0], r[2] - 2 * r[1] + r[0]
        scale = max(float(torch.stack(r).abs().max()), 1.0)
        if bool((curvature.abs() > 1e-8 * scale).any()) or bool((slope.abs() < 1e-12 * scale).any()):
            raise ValueError(
                "discrete_time needs a residual a u_t - f with a != 0 that does not otherwise depend on u_t "
                "(e.g. u.dt() - 0.01 * u.laplacian()); this one is not affine in u.dt() or has a = 0 at some "
                "points; use kp.march"
            )


class _Initial:
    """The start of step 0: the problem's initial value ``u(x, t_0)``."""

    def __init__(self, value, t0: float) -> None:
        self.value, self.t0 = value, t0

    def values(self, xs: Tensor) -> Tensor:
        return evaluate_value(self.value, _with_time(xs, self.t0), "initial value")

    def derivative(self, xs: Tensor, rest: tuple[int, ...]) -> Tensor:
        """The spatial derivative ``rest`` (column indices) of the initial value at ``xs``, by autograd."""
        if not rest:
            return self.values(xs)
        with torch.enable_grad():
            x = xs.detach().requires_grad_(True)
            out = self.values(x)
            for a in rest:
                if not out.requires_grad:  # a derivative already constant in x: the rest are zero
                    return torch.zeros_like(xs[:, 0])
                out = torch.autograd.grad(out.sum(), x, create_graph=True, allow_unused=True)[0]
                out = torch.zeros_like(x[:, a]) if out is None else out[:, a]
        return out.detach()


class Step:
    """Step ``n`` of :func:`discrete_time` on :math:`[t_n, t_{n+1}]`: the stage network's
    :class:`~kanpde.Solution` (``solution``) and the start :math:`u^n`, evaluated as the collocation polynomial
    (module docstring). It answers what :class:`~kanpde.Marching` asks of a window: ``sol(x)``,
    ``sol.d(x, ...)``, ``evaluate``, ``residuals`` at space-time points ``x`` ``(M, d + 1)``."""

    def __init__(self, problem: Problem, solution: Solution, start, t0: float, dt: float, c: np.ndarray):
        self.problem, self.solution, self.start = problem, solution, start
        self.t0, self.dt = float(t0), float(dt)
        self.nodes = np.concatenate([[0.0], c])  # (q + 1,): the start and the stages
        self.stages = tuple(solution.fields)

    def __repr__(self) -> str:
        return f"Step(t={self.t0}..{self.t0 + self.dt}, stages={len(self.stages)})"

    model = property(lambda self: self.solution.model, doc="The stage network ``N: Omega -> R^q``.")
    settings = property(lambda self: self.solution.settings)
    history = property(lambda self: self.solution.history)

    def as_points(self, x) -> Tensor:
        return self.solution.as_points(x)

    def values(self, xs: Tensor) -> Tensor:
        """:math:`u^{n+1} = U_q` at spatial points ``xs`` ``(N, d)``, shape ``(N,)``, no graph."""
        return self.solution.evaluate(xs)[:, -1]

    def derivative(self, xs: Tensor, rest: tuple[int, ...]) -> Tensor:
        """The spatial derivative ``rest`` of :math:`U_q` at ``xs``, shape ``(N,)``."""
        return self._stage_derivative(xs, rest, len(self.stages) - 1)

    def _stage_derivative(self, xs: Tensor, rest: tuple[int, ...], j: int) -> Tensor:
        if not rest:
            return self.solution.evaluate(xs)[:, j]
        names = [self.problem.domain.names[a] for a in rest]
        return self.solution.d(xs, *names, field=self.stages[j]).detach()

    def _spatial(self, x: Tensor, rest: tuple[int, ...], m: int) -> Tensor:
        """``d^m/dt^m`` of the spatial derivative ``rest`` of the collocation polynomial at ``x``."""
        xs, theta = x[:, :-1], (x[:, -1] - self.t0) / self.dt
        w = _weights(self.nodes, theta, m) / self.dt**m  # (M, q + 1)
        if rest:
            stage = torch.stack([self._stage_derivative(xs, rest, j) for j in range(len(self.stages))], dim=1)
        else:
            stage = self.solution.evaluate(xs)  # (M, q): every stage value in one pass
        parts = torch.cat([self.start.derivative(xs, rest)[:, None], stage], dim=1)  # (M, q + 1)
        return (w * parts).sum(dim=1)  # (M,)

    def evaluate(self, x: Tensor, batch: int = 20000) -> Tensor:
        """The field at space-time points ``x`` ``(M, d + 1)`` as a column ``(M, 1)``, no graph."""
        with torch.no_grad():
            return torch.cat([self._spatial(chunk, (), 0)[:, None] for chunk in x.split(batch)])

    def __call__(self, x: Tensor) -> Tensor:
        return self.evaluate(self.as_points(x))[:, 0]

    def d(self, x: Tensor, *names: str, order: int | None = None, field: str | None = None) -> Tensor:
        """The derivative by the named space-time coordinates at ``x`` ``(M, d + 1)``, shape ``(M,)``."""
        if field not in (None, self.problem.fields[0]):
            raise ValueError(
                f"unknown field {field!r}; this problem has the one field {self.problem.fields[0]!r}"
            )
        key = derivative_key(self.problem.domain.names, names, order, "sol.d(x, {})")
        t = self.problem.domain.space_dim
        return self._spatial(self.as_points(x), tuple(a for a in key if a != t), key.count(t))

    def residuals(self, x: Tensor, batch: int = 20000) -> dict[str, Tensor]:
        """The PDE's residual at space-time points ``x`` ``(M, d + 1)``: ``{equation: (M,)}``."""
        domain, rows, names = self.problem.domain, [], ("residual",)
        for chunk in x.split(batch):
            view = _View(
                chunk, domain.names, domain.space_dim, lambda rest, m, c=chunk: self._spatial(c, rest, m)
            )
            field = Field.of(view, 0, self.problem.fields[0])
            r, names = equations(self.problem.residual(chunk, field), chunk.shape[0])
            rows.append(r.detach())
        values = torch.cat(rows)  # (M, C)
        return {name: values[:, i] for i, name in enumerate(names)}


def _check_problem(problem: Problem) -> Initial:
    if not isinstance(problem, Problem):
        raise TypeError(f"discrete_time takes a kanpde.Problem first, got {type(problem).__name__}")
    if not isinstance(problem.domain, SpaceTime):
        raise ValueError(
            f"discrete_time needs a time-dependent problem (a SpaceTime domain), got {problem.domain!r}"
        )
    if len(problem.fields) != 1 or problem.unknowns:
        raise ValueError(
            "discrete_time steps problems of one field without unknown coefficients; use kp.march for "
            f"{problem.name!r} (fields {', '.join(problem.fields)})"
        )
    initial = [c for c in problem.conditions if isinstance(c, Initial)]
    if len(initial) != 1 or initial[0].derivative != 0:
        raise ValueError(
            "discrete_time needs exactly one initial condition, on the value (kp.Initial(u0)): the steps "
            "are of first order in time"
        )
    other = [c for c in problem.conditions if not isinstance(c, (Initial, Dirichlet, Neumann))]
    if other:
        kinds = ", ".join(sorted({type(c).__name__ for c in other}))
        raise ValueError(
            f"discrete_time takes Dirichlet and Neumann boundary conditions; {problem.name!r} also has {kinds} "
            f"({'observations belong to a solve over the whole time span' if any(isinstance(c, Data) for c in other) else 'not carried over to the steps'}); use kp.march"
        )
    return initial[0]


def _check_model(problem: Problem, model: nn.Module, stages: int) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module such as kanpde.MLP([2, 20, 3]), got {model!r}")
    width, d = getattr(model, "width", None), problem.domain.space_dim
    if width is not None and (width[0] != d or width[-1] != stages):
        raise ValueError(
            f"discrete_time's network maps the {d} space coordinates to the {stages} stage values of a step; "
            f"model width {list(width)} does not fit: use e.g. [{d}, 20, 20, {stages}]"
        )


def _stage_conditions(problem: Problem, stages: Sequence[str], times: Sequence[float]) -> list:
    """The problem's boundary conditions on every stage field, each at its stage's time."""
    out = []
    for name, t in zip(stages, times, strict=True):
        for c in problem.conditions:
            if not isinstance(c, (Dirichlet, Neumann)):
                continue
            on = _at_time(c.on, t) if callable(c.on) and not isinstance(c.on, Domain) else c.on  # a mask
            if isinstance(c, Dirichlet):
                out.append(dataclasses.replace(c, value=_at_time(c.value, t), on=on, field=name))
            elif isinstance(c, Neumann):
                out.append(dataclasses.replace(c, flux=_at_time(c.flux, t), on=on, field=name))
    return out


def _fit_problem(problem: Problem, initial: _Initial, stages: Sequence[str]) -> Problem:
    """Every stage field equal to the initial value (the start of step 0's network)."""

    def residual(xs: Tensor, u) -> dict[str, Tensor]:
        target = initial.values(xs)
        return {f"fit_{j + 1}": u[name].value - target for j, name in enumerate(stages)}

    conditions = _stage_conditions(problem, stages, [initial.t0] * len(stages))
    return Problem(
        domain=problem.domain.space, residual=residual, fields=stages, conditions=conditions,
        name=f"{problem.name}_fit",
    )  # fmt: skip


def _step_problem(problem, equation: _Equation, start, t0: float, dt: float, a, c, stages) -> Problem:
    """The stationary problem of one step from ``start`` at ``t0`` (module docstring)."""
    q, space = len(stages), problem.domain.space.names

    def spatial(field):  # the stage field's derivative by the space columns ``rest`` (its value for ())
        return lambda rest: field.value if not rest else field.d(*(space[i] for i in rest))

    def residual(xs: Tensor, u) -> dict[str, Tensor]:
        base = start.values(xs)  # (N,)
        rates = [
            equation.rate(_with_time(xs, t0 + c[k] * dt), spatial(u[name]), u[name].require)
            for k, name in enumerate(stages)
        ]
        return {
            f"stage_{j + 1}": (u[name].value - base - dt * sum(a[j, k] * rates[k] for k in range(q))) / dt
            for j, name in enumerate(stages)
        }

    conditions = _stage_conditions(problem, stages, [t0 + ck * dt for ck in c])
    return Problem(
        domain=problem.domain.space, residual=residual, fields=stages, conditions=conditions,
        name=f"{problem.name}_step",
    )  # fmt: skip


def discrete_time(
    problem: Problem,
    model: nn.Module,
    time_steps: int,
    *,
    stages: int = 3,
    fit_steps: int | None = None,
    solve: Solve | None = None,
    **options,
) -> Marching:
    """Solve ``problem`` in ``time_steps`` implicit Runge-Kutta steps of equal length (Radau IIA, ``stages``
    stages; module docstring) and return the :class:`~kanpde.Marching` solution whose windows are the steps.

    ``model`` maps the space coordinates to the ``stages`` stage values (``kp.MLP([2, 20, 20, 20, 3])`` for a
    2-D problem and 3 stages); each step trains a copy of the previous step's network. ``options`` go to
    every solve unchanged (``steps=`` is the optimiser steps of one time step, ``n_interior=`` its
    collocation points; a KAN trains every step at one grid, its own unless ``grids=(G,)`` says another);
    ``fit_steps`` replaces ``steps=`` for the fit to the initial value before step 0; ``solve`` replaces
    :func:`kanpde.solve` (same signature). A KAN on a fine grid may need ``lm_scaling="marquardt"``: on
    PINNacle's Heat2d-LT a KAN [2, 10, 3] of grid 20 with the default damping did not fit the initial value
    (loss 0.45 after 200 iterations, step 0 then 0.62 from the reference at t = 0.2), with it 0.019.
    """
    initial_condition = _check_problem(problem)
    steps = check_count("discrete_time: time_steps", time_steps)
    stages = check_count("discrete_time: stages", stages)
    _check_model(problem, model, stages)
    if solve is not None and not callable(solve):
        raise TypeError(f"solve must be a function like kp.solve, got {solve!r}")
    run = _solve if solve is None else solve
    options = _one_grid(model, options)
    a, c = radau_iia(stages)
    names = tuple(f"{problem.fields[0]}_{j + 1}" for j in range(stages))
    t0, t1 = problem.domain.t
    times = [t0 + (t1 - t0) * n / steps for n in range(steps + 1)]
    space = problem.domain.space
    start = _Initial(initial_condition.value, t0)
    equation = _Equation(problem)
    probe = space.sample_interior(8, sampler="random", seed=0, dtype=torch.float64)  # (8, d)
    equation.check(_with_time(probe, t0), lambda rest: start.derivative(probe, rest))
    begin = time.perf_counter()
    fit_options = options if fit_steps is None else {**options, "steps": check_count("fit_steps", fit_steps)}
    fit = run(_fit_problem(problem, start, names), model, **fit_options)
    net = _checked(fit, "the fit to the initial value").model
    fitted = time.perf_counter() - begin
    out, seconds = [], []
    for n in range(steps):
        begin = time.perf_counter()
        dt = times[n + 1] - times[n]
        sol = _checked(
            run(_step_problem(problem, equation, start, times[n], dt, a, c, names), net, **options),
            f"step {n}",
        )
        out.append(Step(problem, sol, start, times[n], dt, c))
        start, net = out[-1], sol.model
        seconds.append(time.perf_counter() - begin + (fitted if n == 0 else 0.0))
    return Marching(problem, out, times, seconds)


def _one_grid(model: nn.Module, options: dict) -> dict:
    """The options with one KAN grid for every step: the model's own when none is given (the solver's default
    ``G, 2G, 4G`` would refine the grid again in every step); several given are refused."""
    if not is_kan(model):
        return options
    settings = options.get("settings")
    given = options.get("grids", None if settings is None else settings.schedule.grids.sizes)
    if given is None:
        return {**options, "grids": (model.grid,)}
    sizes = (given,) if isinstance(given, int) else tuple(given)
    if len(sizes) != 1:
        raise ValueError(
            f"discrete_time trains every step at one KAN grid, got grids={sizes}; pass grids=({sizes[-1]},) "
            "(or leave grids out for the model's own grid)"
        )
    return options


def _checked(solution, what: str) -> Solution:
    if not isinstance(solution, Solution):
        raise TypeError(f"solve returned {type(solution).__name__} for {what}, not a kanpde.Solution")
    return solution
