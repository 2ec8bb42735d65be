"""Time marching: solve a time-dependent problem window by window, each window starting from the last.

A problem on :math:`\\Omega \\times [t_0, t_1]` is split into ``K`` windows of equal length,
:math:`t_0 = \\tau_0 < \\tau_1 < \\dots < \\tau_K = t_1`. Window ``k`` solves the same PDE with the same
boundary conditions on :math:`\\Omega \\times [\\tau_k, \\tau_{k+1}]`; window 0 keeps the problem's initial
conditions, and every later window replaces each ``Initial(..., derivative=n)`` of the problem by the
previous window's solution there:

.. math::

    \\partial_t^n u_k(x, \\tau_k) = \\partial_t^n u_{k-1}(x, \\tau_k), \\qquad x \\in \\Omega,

so a first-order-in-time equation (heat) carries the value and a second-order one (waves, stated with
``Initial(u0)`` and ``Initial(v0, derivative=1)``) the value and the velocity. Exactly imposed initial values
(``Initial(u0, hard=True)``, :mod:`kanpde.hard`) stay exact in every window: the windows then join without
a jump, and evaluating window ``k`` evaluates the windows before it at their starts (``k`` networks; a window
holds the one before it, so change an earlier window's network in place and the later ones change too).
The marched solution is :math:`u(x, t) = u_k(x, t)` for :math:`\\tau_k \\le t < \\tau_{k+1}` (the last
window includes :math:`t_1`).

Why. A PINN on a long interval fits the residual everywhere at once and may settle on a function that
satisfies the PDE late in time without following the evolution from the initial state; the error of a
network also grows with the number of oscillations or transitions it has to represent. A short window holds
few of them, and its initial state is known (up to the previous window's error). The price: the error at
:math:`\\tau_k` is the next window's initial error; a dissipative problem damps it, a wave carries it on, so
the marched error grows with ``K`` at a rate set by each window's accuracy.

Each window is trained from a copy of the same initial ``model`` (each solve copies it) with the same
options, by :func:`kanpde.solve` or the ``solve`` function passed (which takes ``solve(problem, model,
**options)`` and returns a :class:`~kanpde.Solution`, e.g. one that stops at a time budget). ``Data``
observations go to the windows whose time span holds them; problems with unknown coefficients are not
marched (each window would identify its own value).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import metrics as _metrics
from ._checks import check_count, check_positive_int
from .catalog import load_problem
from .conditions import Condition, Data, Initial
from .export import export_solution
from .geometry import SpaceTime
from .problem import Problem
from .solution import Solution, field_columns, field_errors, load
from .solver import solve as _solve

__all__ = ["march", "Marching", "load_march"]

Solve = Callable[..., Solution]


class _Start:
    """The previous window's field and its time derivatives up to ``order`` at points ``x``, differentiable
    in ``x`` (exactly imposed initial values: the next window's ansatz takes their spatial derivatives,
    :mod:`kanpde.hard`), from one evaluation per point set: the value and the velocity of a wave read the
    same evaluation, else each would evaluate the window before on its own, ``2^k`` evaluations of window 0
    at window ``k``. Runs in the previous model's dtype and device."""

    def __init__(self, previous: Solution, field: str, order: int) -> None:
        self.previous, self.column, self.order = previous, previous.fields.index(field), order
        self._last: tuple[weakref.ref, bool, list[Tensor]] | None = None

    def __call__(self, x: Tensor) -> list[Tensor]:
        graph = torch.is_grad_enabled()
        if self._last is not None and self._last[0]() is x and self._last[1] == graph:
            return self._last[2]
        like = self.previous._param  # .to keeps the graph
        space = x[:, :-1].to(dtype=like.dtype, device=like.device)  # (N, d - 1)
        with torch.enable_grad():
            t = x[:, -1:].detach().to(dtype=like.dtype, device=like.device).requires_grad_(self.order > 0)
            u = self.previous.ansatz(torch.cat([space, t], dim=1))[:, self.column]  # (N,)
            values = [u]
            for _ in range(self.order):
                (u,) = torch.autograd.grad(u.sum(), t, create_graph=True)
                u = u[:, 0]
                values.append(u)
        values = [v.to(dtype=x.dtype, device=x.device) for v in values]
        if not graph:  # plain evaluation: no graph through the earlier windows
            values = [v.detach() for v in values]
        self._last = (weakref.ref(x), graph, values)
        return values

    def __deepcopy__(self, memo: dict) -> _Start:
        """The previous window is finished: snapshots of this window's ansatz share it, not copy the chain."""
        return self


class _Carried:
    """The previous window's ``n``-th time derivative of one field, as an initial value ``x (N, d) -> (N,)``:
    detached values (a penalised condition's targets), or read from a shared :class:`_Start` (exactly
    imposed ones)."""

    carried = True  # a checkpoint records that the value came from the window before (kanpde.checkpoint)

    def __init__(self, previous: Solution, field: str, derivative: int, start: _Start | None = None) -> None:
        self.previous, self.field, self.derivative, self.start = previous, field, derivative, start

    def fingerprint(self) -> str:
        """A digest of the window before (its parameters, as float64 on the CPU): a checkpoint stores it, so
        reopening a window from another run's window before is an error, not a silently different field."""
        digest = hashlib.sha256()
        for p in self.previous.ansatz.parameters():
            digest.update(p.detach().to(device="cpu", dtype=torch.float64).contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    def __call__(self, x: Tensor) -> Tensor:
        if self.start is not None:
            return self.start(x)[self.derivative]
        if self.derivative == 0:
            values = self.previous(x)
            return values if values.ndim == 1 else values[:, self.previous.fields.index(self.field)]
        return self.previous.d(x, "t", order=self.derivative, field=self.field)

    def __deepcopy__(self, memo: dict) -> _Carried:
        """The previous window is finished: snapshots of this window's ansatz share it, not copy the chain."""
        return self


def _window_conditions(
    problem: Problem, previous: Solution | None, lo: float, hi: float, last: bool
) -> list[Condition]:
    """The problem's conditions for the window ``[lo, hi]``: initial values carried from ``previous`` (when
    there is one), observations in the window only."""
    out, starts = [], {}
    exact = [c for c in problem.conditions if isinstance(c, Initial) and c.hard]
    for c in problem.conditions:
        if isinstance(c, Initial) and previous is not None:
            field = c.field or problem.fields[0]
            start = None
            if c.hard:  # one shared evaluation per field for its exact value and velocity
                order = max(e.derivative for e in exact if (e.field or problem.fields[0]) == field)
                start = starts.setdefault(field, _Start(previous, field, order))
            out.append(dataclasses.replace(c, value=_Carried(previous, field, c.derivative, start)))
        elif isinstance(c, Data):
            t = c.points[:, -1]
            keep = (t >= lo) & ((t <= hi) if last else (t < hi))
            if keep.any():
                out.append(dataclasses.replace(c, points=c.points[keep], values=c.values[keep]))
        else:
            out.append(c)
    return out


def window_times(problem: Problem, windows: int) -> tuple[float, ...]:
    """The bounds ``τ_0 < ... < τ_K`` of ``windows`` equal windows over ``problem``'s time span (the ones
    :func:`march` solves and :func:`load_march` reopens)."""
    t0, t1 = problem.domain.t
    return tuple(float(t) for t in np.linspace(t0, t1, windows + 1))


def window_problem(problem: Problem, times: Sequence[float], k: int, previous: Solution | None) -> Problem:
    """The problem of window ``k`` of the window bounds ``times`` (see the module docstring), starting from
    ``previous`` (the solution of window ``k - 1``; ``None`` keeps the problem's own initial conditions)."""
    lo, hi = float(times[k]), float(times[k + 1])
    last = k == len(times) - 2
    return dataclasses.replace(
        problem,
        domain=SpaceTime(problem.domain.space, t=(lo, hi)),
        conditions=_window_conditions(problem, previous, lo, hi, last),
        reference=None if problem.reference is None else problem.reference.between(lo, hi),
        name=f"{problem.name}[{k}]",
        recommended=None,
    )


def march(
    problem: Problem,
    model: nn.Module,
    windows: int,
    *,
    solve: Solve | None = None,
    **options,
) -> Marching:
    """Solve ``problem`` in ``windows`` time windows of equal length, each from the previous one's solution
    (module docstring), and return the :class:`Marching` solution over the whole interval.

    ``model`` is the initial network of every window (each solve trains a copy); ``options`` go to every
    window's solve unchanged (``settings=``, ``seed=``, ``steps=``, ``callbacks=``, ...); ``solve`` replaces
    :func:`kanpde.solve` (same signature). ``windows=1`` is a plain solve.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"march takes a kanpde.Problem first, got {type(problem).__name__}")
    if not isinstance(problem.domain, SpaceTime):
        raise ValueError(
            f"march needs a time-dependent problem (a SpaceTime domain), got {problem.domain!r}; solve a "
            "stationary problem with kp.solve"
        )
    windows = check_positive_int("windows", windows)
    if problem.unknowns:
        names = ", ".join(u.name for u in problem.unknowns)
        raise ValueError(
            f"march does not identify unknown coefficients ({names}): each window would find its own value; "
            "solve the inverse problem in one window with kp.solve"
        )
    if not any(isinstance(c, Initial) for c in problem.conditions) and windows > 1:
        raise ValueError(
            "march carries the initial conditions from window to window, and the problem has none; add "
            "kp.Initial(...) conditions (and Initial(..., derivative=1) for second order in time)"
        )
    if solve is not None and not callable(solve):
        raise TypeError(f"solve must be a function like kp.solve, got {solve!r}")
    run = _solve if solve is None else solve
    times = window_times(problem, windows)
    solutions, seconds, previous = [], [], None
    for k in range(windows):
        start = time.perf_counter()
        previous = run(window_problem(problem, times, k, previous), model, **options)
        if not isinstance(previous, Solution):
            raise TypeError(f"solve returned {type(previous).__name__} for window {k}, not a kanpde.Solution")
        solutions.append(previous)
        seconds.append(time.perf_counter() - start)
    return Marching(problem, solutions, times, seconds)


def load_march(
    paths: Sequence[str | Path],
    problem: Problem | str | Path,
    device: str | None = None,
    *,
    windows: int | None = None,
) -> Marching:
    """Reopen a march from its windows' checkpoints, window 0 first (``kanpde solve --windows K`` writes
    ``OUT/window<k>/solution.pt``), for the ``problem`` it solved (a :class:`~kanpde.Problem`, a shipped
    name or a problem file you trust), in equal windows as :func:`march` makes them.

    Window ``k`` is loaded with its own window problem, started from window ``k - 1``: a checkpoint holds one
    window, and exactly imposed initial values (``Initial(..., hard=True)``) are the window before it, so
    such windows open only in order. ``windows`` is the number of windows the march was made in, when
    ``paths`` holds only its first ones (an interrupted march): the result then covers the time those
    windows cover, :math:`[\\tau_0, \\tau_k]`, and measures against the truth there. Example::

        sol = kp.load_march([f"runs/heat/window{k}/solution.pt" for k in range(10)], "problems/heat.py")
        part = kp.load_march(["runs/heat/window0/solution.pt"], "problems/heat.py", windows=10)  # [0, 0.1]
    """
    if isinstance(paths, (str, Path)) or not isinstance(paths, Sequence) or not paths:
        raise TypeError(
            f"load_march takes a list of the windows' checkpoint paths, window 0 first, got {paths!r}"
        )
    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    if not isinstance(problem.domain, SpaceTime):
        raise ValueError(
            f"load_march needs the time-dependent problem that was marched, got {problem.domain!r}"
        )
    total = len(paths) if windows is None else check_count("load_march: windows", windows)
    if len(paths) > total:
        raise ValueError(
            f"load_march: {len(paths)} checkpoints for a march of windows={total}; pass at most {total} "
            "paths, window 0 first, or the number of windows the march was made in"
        )
    times = window_times(problem, total)
    solutions, previous = [], None
    for k, path in enumerate(paths):
        try:
            previous = load(path, window_problem(problem, times, k, previous), device)
        except ValueError as err:
            reason = str(err).split("; pass the problem it was made from")[0]  # not force: a window is exact
            raise ValueError(
                f"load_march: window {k} of {total} ({path}): {reason}. load_march opens the K windows of "
                f"equal length that march made over {problem.name!r}'s time span: pass the checkpoints "
                "window 0 first, and windows=K when they are only the first ones of K"
            ) from err
        solutions.append(previous)
    seconds = [float(s.history[-1].get("seconds", 0.0)) if s.history else 0.0 for s in solutions]
    covered = times[: len(paths) + 1]
    return Marching(_until(problem, covered[-1]), solutions, covered, seconds)


def _until(problem: Problem, t_end: float) -> Problem:
    """``problem`` on the times up to ``t_end`` (the span the windows of a partial march cover): its domain,
    its observations and its reference cut there; the problem itself when ``t_end`` is its own end."""
    t0, t1 = problem.domain.t
    if t_end >= t1:
        return problem
    reference = None if problem.reference is None else problem.reference.between(t0, t_end)
    if problem.reference is not None and reference is None and problem.exact is None:
        warnings.warn(
            f"{problem.name!r}'s reference has no rows in [{t0}, {t_end}], the time the loaded windows cover: "
            "the march opens without a truth to measure against",
            UserWarning,
            stacklevel=3,
        )
    conditions = _window_conditions(problem, None, t0, t_end, last=True)  # observations up to t_end
    domain = SpaceTime(problem.domain.space, t=(t0, t_end))
    return dataclasses.replace(problem, domain=domain, conditions=conditions, reference=reference)


class Marching:
    """The solution of :func:`march`: window ``k``'s solution on :math:`[\\tau_k, \\tau_{k+1})` (the last window
    includes :math:`t_1`).

    ``sol(x)`` and ``sol.d(x, *names, order=, field=)`` evaluate as a :class:`~kanpde.Solution` does (tensor in,
    tensor out; NumPy in, NumPy out; ``(N,)`` for one field, ``(N, n_fields)`` for several), each point by
    the window its time falls in. ``relative_l2`` and ``metrics`` measure against the problem's truth over
    the whole interval; ``solutions``, ``times`` and ``seconds`` hold the windows.
    """

    def __init__(
        self,
        problem: Problem,
        solutions: Sequence[Solution],
        times: Sequence[float],
        seconds: Sequence[float],
    ) -> None:
        if len(times) != len(solutions) + 1 or len(seconds) != len(solutions) or not solutions:
            raise ValueError(
                f"Marching needs K >= 1 solutions, K + 1 window bounds and K times, got {len(solutions)}, "
                f"{len(times)} and {len(seconds)}"
            )
        self.problem, self.solutions = problem, list(solutions)
        self.times, self.seconds = tuple(times), list(seconds)

    def __repr__(self) -> str:
        return f"Marching(problem={self.problem.name!r}, windows={len(self.solutions)}, t={self.times[0]}..{self.times[-1]})"

    @property
    def fields(self) -> tuple[str, ...]:
        return self.problem.fields

    @property
    def model(self) -> nn.Module:
        """The last window's network (each window has its own: ``solutions[k].model``)."""
        return self.solutions[-1].model

    @property
    def unknowns(self) -> dict[str, float]:
        """Always empty: a marched problem has no unknown coefficients (:func:`march` refuses them)."""
        return {}

    symbolic_formula = None
    """No formula: each window has its own network."""

    @property
    def num_parameters(self) -> int:
        """Parameters of one window's network (every window has the same shape at the same grid)."""
        return int(self.solutions[0].model.num_parameters)

    @property
    def history(self) -> list[dict]:
        """Every window's history records, each with its ``window`` index and the seconds since the march began."""
        out, offset = [], 0.0
        for k, sol in enumerate(self.solutions):
            for record in sol.history:
                out.append({**record, "window": k, "seconds": offset + record.get("seconds", 0.0)})
            offset += self.seconds[k]
        return out

    # -- what export reads (kanpde.export.export_solution), window by window ---------------------------------
    @property
    def domain(self):
        """The space-time domain the windows cover."""
        return self.problem.domain

    @property
    def exportable(self) -> bool:
        """Whether :meth:`export` can write the fields: 1 to 3 spatial axes."""
        return self.problem.domain.space_dim <= 3

    @property
    def settings(self):
        """Window 0's settings (every window is solved with the same options)."""
        return self.solutions[0].settings

    def formula_attributes(self) -> dict:
        """No formula attributes: each window has its own network."""
        return {}

    def as_points(self, x) -> Tensor:
        """Points ``x`` ``(M, d)`` as a tensor of the windows' dtype and device."""
        return self.solutions[0].as_points(x)

    def evaluate(self, x: Tensor, batch: int = 20000) -> Tensor:
        """Every field at ``x`` ``(M, d)`` as columns ``(M, n_fields)``, each point by its window, no graph."""
        return self._piecewise(x, lambda sol, pts: sol.evaluate(pts, batch))

    def residuals(self, x: Tensor, batch: int = 20000) -> dict[str, Tensor]:
        """The PDE's residuals at ``x``, ``{equation: (M,)}``, each point by its window's network."""
        index, out = self.window_of(x[:, -1]), {}
        for k, sol in enumerate(self.solutions):
            rows = torch.nonzero(index == k).squeeze(1)  # (m_k,)
            if rows.numel():
                for name, r in sol.residuals(x[rows], batch).items():
                    out.setdefault(name, r.new_zeros(x.shape[0]))[rows] = r
        return out

    def export(self, path: str | Path, resolution: int | None = None) -> tuple[Path, Path]:
        """Write the fields over the whole marched interval to HDF5 + XDMF as one time series, as
        :meth:`kanpde.Solution.export` does for one solve (fields, truth, error, residuals; metrics as
        attributes), each time evaluated by its window."""
        return export_solution(self, path, resolution)

    def window_of(self, t: Tensor) -> Tensor:
        """The window index of every time ``t`` ``(N,)``: ``k`` with ``tau_k <= t < tau_{k+1}``, the last
        window for ``t >= tau_{K-1}`` (long tensor ``(N,)``)."""
        inner = torch.as_tensor(self.times[1:-1], dtype=t.dtype, device=t.device)  # (K - 1,)
        return torch.searchsorted(inner, t.contiguous(), right=True)

    def _piecewise(self, x, each: Callable[[Solution, Tensor], Tensor]):
        if not isinstance(x, (Tensor, np.ndarray)):
            raise TypeError(
                f"a Marching solution takes a tensor or NumPy array (N, d), got {type(x).__name__}"
            )
        points = torch.as_tensor(x, dtype=torch.float64) if isinstance(x, np.ndarray) else x
        dim = self.problem.domain.dim
        if points.ndim != 2 or points.shape[1] != dim:
            raise ValueError(
                f"points must have shape (N, {dim}) (columns {', '.join(self.problem.domain.names)}), "
                f"got {tuple(points.shape)}"
            )
        index = self.window_of(points[:, -1])  # (N,)
        out = None
        for k, sol in enumerate(self.solutions):
            rows = torch.nonzero(index == k).squeeze(1)  # (n_k,)
            if rows.numel() == 0:
                continue
            values = each(sol, points[rows])  # (n_k,) or (n_k, F)
            if out is None:
                out = values.new_zeros((points.shape[0], *values.shape[1:]))
            out[rows] = values.to(out.dtype)
        return out.cpu().numpy() if isinstance(x, np.ndarray) else out

    def __call__(self, x: Tensor | np.ndarray) -> Tensor | np.ndarray:
        return self._piecewise(x, lambda sol, pts: sol(pts))

    def d(
        self, x: Tensor | np.ndarray, *names: str, order: int | None = None, field: str | None = None
    ) -> Tensor | np.ndarray:
        """The derivative by the named coordinates, as :meth:`kanpde.Solution.d`, window by window."""
        return self._piecewise(x, lambda sol, pts: sol.d(pts, *names, order=order, field=field))

    def _truth(self) -> tuple[Tensor, Tensor]:
        truth = self.problem.truth(torch.float64, "cpu")
        if truth is None:
            raise ValueError(
                f"metrics need the truth, and problem {self.problem.name!r} has neither an exact solution nor "
                "a reference"
            )
        return truth

    def relative_l2(self, field: str | None = None) -> float:
        """``||u - u*|| / ||u*||`` on the problem's evaluation set (or its reference's points), over all fields
        together or of the one ``field``."""
        x, true = self._truth()
        columns = field_columns(self.fields, field)
        u = self._values(x)
        return _metrics.relative_l2(u[:, columns], true[:, columns])

    def _values(self, x: Tensor) -> Tensor:
        u = self(x)
        return u[:, None] if u.ndim == 1 else u  # (M, F)

    def metrics(self) -> dict:
        """Relative L2 and max abs error over the whole interval (all fields together, and per field with
        several), the same per window under ``"windows"``, the number of points and the truth used."""
        x, true = self._truth()
        u = self._values(x)
        out = {
            **field_errors(u, true, None, None, list(range(len(self.fields)))),
            "n_points": int(x.shape[0]),
            "truth": "exact" if self.problem.exact is not None else "reference",
        }
        if len(self.fields) > 1:
            out["fields"] = {f: field_errors(u, true, None, None, [i]) for i, f in enumerate(self.fields)}
        index = self.window_of(x[:, -1])
        out["windows"] = []
        for k in range(len(self.solutions)):
            inside = index == k
            error = float("nan")
            if bool(inside.any()) and bool(true[inside].abs().max() > 0):
                error = _metrics.relative_l2(u[inside], true[inside])
            out["windows"].append(
                {"t": (self.times[k], self.times[k + 1]), "relative_l2": error, "seconds": self.seconds[k]}
            )
        return out
