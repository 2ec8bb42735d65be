"""The training loop: optimiser stages on grid stages, records, rollback on interruption, stops on NaN.

For every grid of the schedule (KANs) the trainer moves the model onto that grid (nested extension, hidden
grids onto the activations seen at the interior points, or knots where the residual is large), then runs
the optimiser stages one after the other, each for its steps, and records the history every ``log_every``
steps and at the end of every stage. Levers (:mod:`kanpde.levers`) are called before and after every step
without the trainer knowing which exist; observers (:mod:`kanpde.observers`) see every step and record.

A stage that ends early (Levenberg-Marquardt converged or stalled, its last record saying which in
``"stopped"``, or a stop below) hands its unused steps to the same stage on the next grid: the run takes at
most the steps asked for, and the fine grids, where a step buys the most, get what the coarse ones did not
need.

A non-finite loss or gradient, or a failed line search, ends the stage: the best parameters seen in it are
restored, the history records why (``"stopped"``) and a warning tells the user. "Best" compares losses of
one loss function: when a lever redefines it (new points, new row factors) the stage's best loss and the
optimiser's memory of the old one restart.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
import warnings

import torch
from torch import Tensor, nn

from .derivatives import resolve_mode
from .distributed import current
from .loss import Collocation, PINNLoss, sample_collocation
from .metrics import relative_l2
from .optim import Objective, StageStop
from .problem import Problem
from .residuals import residual_rows
from .settings import SolveSettings, Stage
from .solution import Solution
from .state import TrainerState

__all__ = ["Trainer", "train"]


class _Logger:
    """Builds history records; evaluates the error on a fixed evaluation set when an exact solution exists."""

    def __init__(self, loss, problem: Problem, model: nn.Module) -> None:
        self.loss, self.history = loss, []
        self.start = time.perf_counter()
        p = next(model.parameters())
        self.truth = problem.truth(p.dtype, p.device)  # points and values, or None

    def record(
        self, model, step: int, stage: str, grid, loss: Tensor, parts: Tensor, evaluations: int, **extra
    ) -> dict:
        record = {"step": step, "stage": stage, "grid": grid, "loss": float(loss)}
        record.update({name: float(v) for name, v in zip(self.loss.names, parts, strict=True)})
        record["seconds"] = time.perf_counter() - self.start
        record["evaluations"] = evaluations
        if self.truth is not None:
            with torch.no_grad():
                record["relative_l2"] = relative_l2(model(self.truth[0]), self.truth[1])
        record.update({f"unknown_{name}": value for name, value in model.unknown_values().items()})
        record.update(extra)
        self.history.append(record)
        return record


class Trainer:
    """Runs the grid stages and the optimiser stages from a :class:`~kanpde.state.TrainerState`.

    The state holds the grid and stage indices, the step within the stage, the counters, the optimiser's and
    the levers' state and the best parameters of the current stage, so a run paused after ``N`` steps and
    resumed continues bit for bit (the collocation points are drawn again from the seed, or restored from the
    state when a lever replaced them).

    Every step starts by marking where it starts (parameters, optimiser and lever state, position, history
    length); a ``KeyboardInterrupt`` anywhere in the step or its records rolls back to that mark, so an
    interrupted run is always at a step boundary.

    What levers and observers see of the run: ``problem``, ``settings``, ``model``, ``points``, ``loss``,
    ``state``, ``history``, ``comm``, :meth:`residual_rows` and :meth:`snapshot`.
    """

    def __init__(
        self,
        problem: Problem,
        model: nn.Module,
        settings: SolveSettings,
        observers=(),
        history=(),
        state: TrainerState | None = None,
    ) -> None:
        self.problem, self.model, self.settings, self.observers = problem, model, settings, list(observers)
        runtime, sampling = settings.runtime, settings.sampling
        self.comm = current()
        self.mode = resolve_mode(runtime.derivatives, model)
        stages = settings.schedule.stages
        self.state = state.copy() if state is not None else TrainerState(carry=[0] * len(stages))
        if not self.state.carry:  # states saved before the carry was tracked
            self.state.carry = [0] * len(stages)
        if self.state.run_id is None:  # a new run, or one saved before runs had an identity
            self.state.run_id = uuid.uuid4().hex
        self.points = sample_collocation(
            problem,
            sampling.n_interior,
            sampling.n_boundary,
            sampling.n_initial,
            sampling.sampler,
            sampling.seed,
            runtime.torch_dtype,
            torch.device(runtime.device),
        )
        if self.state.interior is not None:  # points a lever drew travel with the state
            self.points = Collocation(self.state.interior.to(self.points.interior), self.points.conditions)
        self.levers = [lever.start(self) for lever in settings.levers]
        for lever, saved in zip(self.levers, self.state.levers, strict=False):
            lever.load_state_dict(saved)
        self.loss = self._make_loss()
        self.logger = _Logger(self.loss, problem, model)
        self.logger.history.extend(history)
        if history:
            self.logger.start -= history[-1]["seconds"]
        self._opt = self._objective = self._mark = None

    @property
    def history(self) -> list[dict]:
        return self.logger.history

    def residual_rows(self, x: Tensor) -> Tensor:
        """The PDE's residual rows ``(M, C)`` of the current model at any points (no graph)."""
        return residual_rows(self.problem, self.model, x, self.mode)[0]

    def _make_loss(self):
        """The loss on the current points, with what the levers put around it and their row factors."""
        loss = PINNLoss(self.problem, self.points, self.mode, self.comm, self.settings.runtime.chunk_size)
        for lever in self.levers:
            loss = lever.wrap(loss, self)
        self._apply_scale(loss)
        return loss

    def _apply_scale(self, loss=None) -> None:
        """Multiply the levers' factors of the PDE's rows into the loss (``None`` when no lever has any)."""
        scale = None
        for lever in self.levers:
            if lever.scale is not None:
                scale = lever.scale if scale is None else scale * lever.scale
        (loss or self.loss).set_scale(scale)

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> Solution:
        """Train to the end of the schedule, or pause once ``stop_after`` steps have been taken in total."""
        for obs in self.observers:
            obs.on_start(self)
        try:
            self._run(stop_after)
        except KeyboardInterrupt:
            self._roll_back()
            paused = self.snapshot()
            for obs in self.observers:
                obs.on_interrupt(paused)
            raise
        solution = self.solution()
        for obs in self.observers:
            obs.on_end(solution)
        return solution

    def _run(self, stop_after: int | None) -> None:
        state, grids = self.state, self.settings.schedule.grid_sizes
        while state.grid_index < len(grids):
            grid = grids[state.grid_index]
            if grid is not None and not state.extended:
                self.model = self._extend(grid)
            state.extended = True
            while state.stage_index < len(self.settings.schedule.stages):
                if not self._run_stage(self.settings.schedule.stages[state.stage_index], grid, stop_after):
                    return
            state.grid_index, state.stage_index, state.extended = state.grid_index + 1, 0, False
        state.finished = True

    def _extend(self, grid: int) -> nn.Module:
        """The model on the stage's grid: uniform nested extension, or (a knot rule, after the first grid)
        new knots where the residual of the model trained so far is large (:mod:`kanpde.knots`)."""
        x = self.points.interior
        rule = self.settings.schedule.grids.rule
        if rule is None or self.state.grid_index == 0:
            return self.model.extend_grid(grid, samples=x)
        weights = rule.weights(self.loss.pde_residual(self.model, x))
        return self.model.extend_grid(grid, samples=x, weights=weights, floor=rule.floor, layers=rule.layers)

    def _run_stage(self, stage: Stage, grid, stop_after: int | None) -> bool:
        """Run (the rest of) one stage and move on to the next; ``False`` when paused at ``stop_after``."""
        state = self.state
        final = state.grid_index == len(self.settings.schedule.grid_sizes) - 1
        compiled = self.settings.runtime.compile if stage.optimizer.compilable else None
        objective = Objective(self.model, self.loss, compiled)
        opt = stage.optimizer.build(objective, final)
        if state.optimizer is not None:
            opt.load_state_dict(state.optimizer)
        if state.best_params is None:
            state.best_params = objective.flat()
        self._opt, self._objective = opt, objective
        index = state.stage_index
        limit = stage.steps + state.carry[index]
        while state.stage_step < limit and not opt.converged:
            if stop_after is not None and state.step >= stop_after:
                state.evaluations, state.optimizer = self._evaluations(), opt.state_dict()
                self._opt = self._objective = None
                return False
            points = self._lever_points()
            if points is not None:
                objective, opt = self._new_points(points, stage, opt, compiled, final)
            self._mark = (
                objective.flat(),
                opt.state_dict(),
                state.copy(),
                [lever.state_dict() for lever in self.levers],
                len(self.history),
                objective.evaluations,
            )
            try:
                result = opt.step()
            except StageStop as err:
                self._stop(objective, stage, grid, str(err))
                break
            self._after_step(opt, stage, grid, result, limit)
        self._mark = None
        state.carry[index] = limit - state.stage_step  # steps left by an early end: this stage, next grid
        state.evaluations = self._evaluations()
        state.stage_index, state.stage_step = index + 1, 0
        state.optimizer, state.best, state.best_params = None, math.inf, None
        self._opt = self._objective = None
        return True

    # -- levers -------------------------------------------------------------------------------------------
    def _lever_points(self) -> Tensor | None:
        """New interior points from the levers before this step (the last one proposed wins), or ``None``."""
        found = None
        for lever in self.levers:
            points = lever.before_step(self)
            found = points if points is not None else found
        return found

    def _new_points(self, points: Tensor, stage: Stage, opt, compiled, final: bool):
        """A new loss on ``points``, and the optimiser carried over (it drops what it measured on the old
        points: ``loss_changed``; the stage's best loss restarts too)."""
        saved = opt.state_dict()
        self.state.evaluations += self._objective.evaluations
        self.state.interior = points
        self.points = Collocation(points, self.points.conditions)
        for lever in self.levers:
            lever.points_changed()
        self.loss = self.logger.loss = self._make_loss()
        objective = Objective(self.model, self.loss, compiled)
        opt = stage.optimizer.build(objective, final)
        opt.load_state_dict(saved)
        _loss_changed(opt)
        self.state.best, self.state.best_params = math.inf, objective.flat()
        self._opt, self._objective = opt, objective
        return objective, opt

    def _after_step(self, opt, stage: Stage, grid, result, limit: int) -> None:
        state = self.state
        value = float(result.loss)  # the loss at the parameters the step started from
        if value < state.best:
            state.best, state.best_params = value, self._mark[0]
        changed = [lever.after_step(self) for lever in self.levers]  # every lever sees every step
        state.step, state.stage_step = state.step + 1, state.stage_step + 1
        if any(changed):
            self._apply_scale()
            _loss_changed(opt)
            state.best, state.best_params = math.inf, self._objective.flat()
        for obs in self.observers:
            obs.on_step(self)
        every = self.settings.runtime.log_every
        if opt.converged or state.stage_step % every == 0 or state.stage_step == limit:
            extra = {"stopped": getattr(opt, "stop_reason", None) or "converged"} if opt.converged else {}
            self._record(stage, grid, result.loss, result.parts, **extra)

    # -- records, stops, rollback -----------------------------------------------------------------------------
    def _evaluations(self) -> int:
        return self.state.evaluations + (self._objective.evaluations if self._objective is not None else 0)

    def _record(self, stage: Stage, grid, loss: Tensor, parts: Tensor, **extra) -> None:
        record = self.logger.record(
            self.model, self.state.step, stage.name, grid, loss, parts, self._evaluations(), **extra
        )
        for obs in self.observers:
            obs.on_record(record, self)

    def _stop(self, objective: Objective, stage: Stage, grid, why: str) -> None:
        """End the stage on a failed step: keep the parameters the step started from when their loss is
        finite and the lowest seen (an L-BFGS line search that found no lower loss starts from the best
        point), else restore the best ones of the stage."""
        objective.assign(self._mark[0])
        total, parts = self._summed_loss()
        if not (bool(torch.isfinite(total)) and float(total) < self.state.best):
            objective.assign(self.state.best_params)
            total, parts = self._summed_loss()
        message = f"stage {stage.name!r} stopped at step {self.state.step}: {why}; best parameters restored"
        warnings.warn(message, RuntimeWarning, stacklevel=5)
        self._record(stage, grid, total, parts, stopped=why)

    def _summed_loss(self) -> tuple[Tensor, Tensor]:
        """The loss and its parts at the current parameters, summed over ranks (no gradient)."""
        with torch.no_grad() if self.mode == "forward" else torch.enable_grad():
            total, parts = self.loss(self.model)
        return self.comm.sum(total.detach()), self.comm.sum(parts.detach())

    def _roll_back(self) -> None:
        """Undo a step that a ``KeyboardInterrupt`` cut short (see the class docstring)."""
        if self._mark is None:
            return
        flat, opt_state, state, levers, n_records, evaluations = self._mark
        self._objective.assign(flat)
        for lever, saved in zip(self.levers, levers, strict=True):
            lever.load_state_dict(saved)
        self._apply_scale()
        self.state = state
        self.state.optimizer, self.state.evaluations = opt_state, state.evaluations + evaluations
        del self.history[n_records:]
        self._opt = self._objective = self._mark = None

    def _saved_state(self) -> TrainerState:
        """The state with the optimiser's and the levers' own, as of now (between steps)."""
        state = self.state.copy()
        if self._opt is not None:
            state.optimizer, state.evaluations = self._opt.state_dict(), self._evaluations()
        state.levers = [lever.state_dict() for lever in self.levers]
        return state

    def snapshot(self) -> Solution:
        """The run as a resumable :class:`~kanpde.Solution` now (between steps), independent of the training
        that goes on: the model is copied."""
        state = self._saved_state()
        history = [dict(r) for r in self.history]
        return Solution(copy.deepcopy(self.model), self.problem, history, self.settings, state)

    def solution(self) -> Solution:
        return Solution(self.model, self.problem, self.history, self.settings, self._saved_state())


def _loss_changed(opt) -> None:
    """Tell the optimiser that its loss was redefined, so that it drops what it measured on the old one
    (:meth:`kanpde.optim.LevenbergMarquardt.loss_changed`); one without the method keeps nothing of the kind."""
    hook = getattr(opt, "loss_changed", None)
    if hook is not None:
        hook()


def train(
    problem: Problem,
    model: nn.Module,
    settings: SolveSettings,
    observers=(),
    stop_after: int | None = None,
    history=(),
    state: TrainerState | None = None,
) -> Solution:
    """Train ``model`` (an :class:`~kanpde.ansatz.Ansatz` on the settings' device and dtype) with checked
    ``settings`` from ``state`` (the start when ``None``); see :func:`kanpde.solve` for the options."""
    return Trainer(problem, model, settings, observers, history, state).run(stop_after)
