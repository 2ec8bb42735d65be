"""Training: optimiser stages on grid stages, history records, progress and callbacks.

:func:`solve` turns a :class:`~kanpde.Problem` and a model into a :class:`~kanpde.Solution`:

1. copy the model, move it to ``device``/``dtype`` and map the domain's bounding box onto its input range;
2. sample the collocation points (interior and each condition's own points);
3. for every grid size in ``grids`` (KANs) extend the grid, moving hidden grids onto the activations seen
   at the interior points, then run the optimiser schedule, e.g. Adam then L-BFGS;
4. log a record every ``log_every`` steps and at the end of every stage.

A stage that ends early (Levenberg-Marquardt converged, or a stop below) hands its unused steps to the same
stage on the next grid: the run takes at most the steps asked for, and the fine grids, where a step buys
the most, get what the coarse ones did not need. Levenberg-Marquardt leaves a grid when its loss stalls
(less than 0.1% lower over 10 steps); on the last grid it goes on as long as the loss falls at all.

A non-finite loss or gradient, or a failed line search, ends the stage: the best parameters seen in it are
restored, the history records why (``"stopped"``) and a warning tells the user. "Best" and "stalled" compare
losses of one loss function: when the trainer redefines it (RAD's new points, RBA or causal weights) the
stage's best loss and the optimiser's memory of the old one restart.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ._checks import check_positive_int
from .ansatz import Ansatz
from .derivatives import resolve_mode
from .distributed import current
from .kan import KAN
from .knots import KNOT_PLACEMENTS
from .loss import Collocation, PINNLoss, sample_collocation
from .metrics import relative_l2
from .observers import Observer, as_observers
from .optim import OPTIMIZERS, LevenbergMarquardt, Objective, StageStop, make_optimizer
from .problem import Problem
from .settings import SolveSettings, Stage
from .solution import Solution
from .sparsity import SparseLoss, check_sparsity, sparsity_penalty

__all__ = ["solve", "resume", "fit"]

Callback = Callable[[dict, nn.Module], None]


class _Logger:
    """Builds history records; evaluates the error on a fixed evaluation set when an exact solution exists."""

    def __init__(self, loss: PINNLoss, problem: Problem, model: nn.Module, bar) -> None:
        self.loss, self.history, self.bar = loss, [], bar
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
        if self.bar is not None:
            shown = {"loss": f"{record['loss']:.2e}"}
            if "relative_l2" in record:
                shown["rel_l2"] = f"{record['relative_l2']:.2e}"
            self.bar.set_postfix(shown, refresh=False)
        return record


def _start_position(n_stages: int) -> dict:
    return {
        "grid_index": 0,
        "stage_index": 0,
        "stage_step": 0,
        "step": 0,
        "evaluations": 0,
        "extended": False,
        "optimizer": None,
        "best": math.inf,
        "best_params": None,
        "finished": False,
        "carry": [0] * n_stages,
    }


class _Trainer:
    """Runs the grid stages and the optimiser schedule from a position that can be saved and resumed.

    The position holds the grid and stage indices, the step within the stage, the counters, the
    optimiser's state and the best parameters of the current stage, so a run paused after ``N`` steps and
    resumed continues bit for bit as if uninterrupted (the collocation points are re-drawn from the seed;
    no state of a random generator is needed because points are not resampled during training).

    Every step starts by marking where it starts (parameters, optimiser state, position, history length);
    a ``KeyboardInterrupt`` anywhere in the step or its logging rolls back to that mark, so an interrupted
    run is always at a step boundary. Changes of the position between stages are single dict updates.
    """

    def __init__(self, problem, model, settings: SolveSettings, observers, bar, history=(), position=None):
        self.problem, self.model, self.settings = problem, model, settings
        self.points = sample_collocation(
            problem,
            settings.n_interior,
            settings.n_boundary,
            settings.n_initial,
            settings.sampler,
            settings.seed,
            settings.torch_dtype,
            torch.device(settings.device),
        )
        self.comm = current()
        if settings.point_weights == "rba" and self.comm.world > 1:
            raise ValueError(
                "point_weights='rba' does not run under torch.distributed yet; use causal or none"
            )
        self.mode = resolve_mode(settings.derivatives, model)
        self.pos = dict(position) if position is not None else _start_position(len(settings.schedule))
        if self.pos.get("interior") is not None:  # resampled points (RAD) travel with the position
            self.points = Collocation(self.pos["interior"].to(self.points.interior), self.points.conditions)
        self.loss = self._make_loss()
        if self.pos.get("scale") is not None:
            self.loss.set_scale(self.pos["scale"].to(self.points.interior))
        self.observers = observers
        self.logger = _Logger(self.loss, problem, model, bar)
        self.logger.history.extend(history)
        if history:
            self.logger.start -= history[-1]["seconds"]
        # Steps each stage hands to the next grid (also for positions saved before they were tracked).
        self.pos.setdefault("carry", [0] * len(settings.schedule))
        self._opt = self._objective = self._mark = None

    @property
    def history(self) -> list[dict]:
        return self.logger.history

    def _make_loss(self) -> PINNLoss | SparseLoss:
        """The loss on the current points, with the sparsity penalty on the edges when asked for (computed on
        rank 0 over all interior points, :mod:`kanpde.sparsity`)."""
        s = self.settings
        loss = PINNLoss(self.problem, self.points, self.mode, self.comm, s.chunk_size)
        if s.sparsity > 0:
            loss = SparseLoss(loss, self.points.interior, s.sparsity, self.comm.is_root)
        return loss

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
        pos, grids = self.pos, self.settings.grids or (None,)
        while pos["grid_index"] < len(grids):
            grid = grids[pos["grid_index"]]
            if grid is not None and not pos["extended"]:
                self.model = self._extend(grid)
            pos["extended"] = True
            while pos["stage_index"] < len(self.settings.schedule):
                if not self._run_stage(self.settings.schedule[pos["stage_index"]], grid, stop_after):
                    return
            pos.update(grid_index=pos["grid_index"] + 1, stage_index=0, extended=False)
        pos["finished"] = True

    def _extend(self, grid: int) -> nn.Module:
        """The model on the stage's grid: uniform nested extension, or (``knots`` a rule, after the first
        stage) new knots where the residual of the model trained so far is large (:mod:`kanpde.knots`)."""
        x = self.points.interior
        rule = KNOT_PLACEMENTS[self.settings.knots]
        if rule is None or self.pos["grid_index"] == 0:
            return self.model.extend_grid(grid, samples=x)
        weights = rule.weights(self.loss.pde_residual(self.model, x))
        return self.model.extend_grid(grid, samples=x, weights=weights, floor=rule.floor, layers=rule.layers)

    def _run_stage(self, stage: Stage, grid, stop_after: int | None) -> bool:
        """Run (the rest of) one stage and move on to the next; ``False`` when paused at ``stop_after``."""
        pos, model = self.pos, self.model
        gauss_newton = issubclass(OPTIMIZERS[stage.optimizer], LevenbergMarquardt)
        compiled = self.settings.compile if not gauss_newton else None
        objective = Objective(model, self.loss, compiled)
        options = {"lr": self.settings.lr} if stage.optimizer == "adam" else {}
        if gauss_newton and pos["grid_index"] == len(self.settings.grids or (None,)) - 1:
            options["stall_tol"] = 0.0  # no finer grid to move on to: slow progress is still progress
        opt = make_optimizer(stage.optimizer, objective, **options)
        if pos["optimizer"] is not None:
            opt.load_state_dict(pos["optimizer"])
        if pos["best_params"] is None:
            pos["best_params"] = objective.flat()
        self._opt, self._objective = opt, objective
        index = pos["stage_index"]
        limit = stage.steps + pos["carry"][index]
        while pos["stage_step"] < limit and not opt.converged:
            if stop_after is not None and pos["step"] >= stop_after:
                pos.update(evaluations=self._evaluations(), optimizer=opt.state_dict())
                self._opt = self._objective = None
                return False
            if self._resample_due():
                objective, opt = self._resample(stage, opt, compiled, options)
            self._mark = (
                objective.flat(),
                opt.state_dict(),
                dict(pos),
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
        carry = list(pos["carry"])
        carry[index] = (
            limit - pos["stage_step"]
        )  # steps left by an early end go to this stage on the next grid
        pos.update(
            carry=carry,
            evaluations=self._evaluations(),
            stage_index=index + 1,
            stage_step=0,
            optimizer=None,
            best=math.inf,
            best_params=None,
        )
        self._opt = self._objective = None
        return True

    # -- adaptivity (kanpde.adaptive) ----------------------------------------------------------------------
    def _resample_due(self) -> bool:
        every, step = self.settings.resample_every, self.pos["step"]
        return every is not None and step > 0 and step % every == 0 and self.pos.get("resampled_at") != step

    def _residual_rows(self, x: Tensor, batch: int = 20000) -> Tensor:
        """The PDE's residual rows ``(M, C)`` of the current model at any points (no graph)."""
        from .derivatives import Evaluation, accessor
        from .loss import equations

        d, out = self.problem.domain, []
        with torch.no_grad() if self.mode == "forward" else torch.enable_grad():
            for chunk in x.split(batch):
                ev = Evaluation(self.model, chunk, d.names, d.space_dim, self.mode)
                rows, _ = equations(
                    self.problem.residual(chunk, accessor(ev, self.problem.fields)), len(chunk)
                )
                out.append(rows.detach())
        return torch.cat(out)

    def _resample(self, stage: Stage, opt, compiled, options):
        """New interior points from the residual (RAD), a new loss on them, and the optimiser carried over
        (it drops what it measured on the old points: ``loss_changed``; the stage's best loss restarts too)."""
        import numpy as np

        from .adaptive import rad_points

        s, count = self.settings, self.pos.get("resamples", 0) + 1
        seed = int(np.random.SeedSequence([s.seed, 0x4AD, count]).generate_state(1)[0])
        interior = self.points.interior
        new = rad_points(
            self.problem.domain,
            self._residual_rows,
            len(interior),
            s.resample_k,
            s.resample_c,
            seed,
            interior.dtype,
            interior.device,
        )
        weights = None if self.pos.get("weights") is None else torch.ones_like(self.pos["weights"])
        scale = None if weights is None else torch.ones_like(weights)
        state = opt.state_dict()
        evaluations = self.pos["evaluations"] + self._objective.evaluations
        self.pos.update(
            interior=new,
            resamples=count,
            resampled_at=self.pos["step"],
            weights=weights,
            scale=scale,
            evaluations=evaluations,
        )
        self.points = Collocation(new, self.points.conditions)
        self.loss = self._make_loss()
        self.loss.set_scale(scale)
        self.logger.loss = self.loss
        objective = Objective(self.model, self.loss, compiled)
        opt = make_optimizer(stage.optimizer, objective, **options)
        opt.load_state_dict(state)
        _loss_changed(opt)
        # the stage's best loss was one on the old points: it compares no more
        self.pos.update(best=math.inf, best_params=objective.flat())
        self._opt, self._objective = opt, objective
        return objective, opt

    def _weights_after(self) -> dict:
        """The point weights and row factors after a step, from the latest residual rows (RBA, causal)."""
        s, rows = self.settings, self.loss.last_residual
        if (s.point_weights is None and s.causal is None) or rows is None:
            return {}
        from .adaptive import causal_scale, rba_update

        scale = torch.ones(rows.shape[0], dtype=rows.dtype, device=rows.device)
        out = {}
        if s.point_weights == "rba":
            weights = self.pos.get("weights")
            weights = rba_update(torch.ones_like(scale) if weights is None else weights, rows)
            out["weights"] = weights
            scale = scale * weights / weights.mean()
        if s.causal is not None:
            t = self.loss.points.interior[:, -1]
            lo, hi = self.problem.domain.bounds()
            scale = scale * causal_scale(t, rows, s.causal, s.causal_slices, lo[-1], hi[-1])
        out["scale"] = scale
        return out

    def _after_step(self, opt, stage: Stage, grid, result, limit: int) -> None:
        pos = self.pos
        value = float(result.loss)  # the loss at the parameters the step started from
        best = (value, self._mark[0]) if value < pos["best"] else (pos["best"], pos["best_params"])
        adapt = self._weights_after()
        pos.update(
            step=pos["step"] + 1, stage_step=pos["stage_step"] + 1, best=best[0], best_params=best[1], **adapt
        )
        if "scale" in adapt:
            self.loss.set_scale(adapt["scale"])
            _loss_changed(opt)
            pos.update(best=math.inf, best_params=self._objective.flat())
        if self.logger.bar is not None:
            self.logger.bar.update(1)
        if opt.converged or pos["stage_step"] % self.settings.log_every == 0 or pos["stage_step"] == limit:
            extra = {"stopped": "converged"} if opt.converged else {}
            self._record(stage, grid, result.loss, result.parts, **extra)

    def _evaluations(self) -> int:
        return self.pos["evaluations"] + (self._objective.evaluations if self._objective is not None else 0)

    def _record(self, stage: Stage, grid, loss: Tensor, parts: Tensor, **extra) -> None:
        record = self.logger.record(
            self.model, self.pos["step"], stage.optimizer, grid, loss, parts, self._evaluations(), **extra
        )
        for obs in self.observers:
            obs.on_record(record, self)

    def _stop(self, objective: Objective, stage: Stage, grid, why: str) -> None:
        """End the stage on a failed step: keep the parameters the step started from when their loss is
        finite and the lowest seen (an L-BFGS line search that found no lower loss starts from the best
        point), else restore the best ones of the stage."""
        objective.assign(self._mark[0])
        total, parts = self._summed_loss()
        if not (bool(torch.isfinite(total)) and float(total) < self.pos["best"]):
            objective.assign(self.pos["best_params"])
            total, parts = self._summed_loss()
        message = (
            f"stage {stage.optimizer!r} stopped at step {self.pos['step']}: {why}; best parameters restored"
        )
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
        flat, opt_state, pos, n_records, evaluations = self._mark
        self._objective.assign(flat)
        self.pos.clear()
        self.pos.update(pos, optimizer=opt_state, evaluations=pos["evaluations"] + evaluations)
        del self.history[n_records:]
        self._opt = self._objective = self._mark = None

    def snapshot(self) -> Solution:
        """The run as a resumable :class:`~kanpde.Solution` now (between steps), independent of the training
        that goes on: the model is copied."""
        pos = dict(self.pos, carry=list(self.pos["carry"]))
        if self._opt is not None:
            pos.update(optimizer=self._opt.state_dict(), evaluations=self._evaluations())
        model = copy.deepcopy(self.model)
        return Solution(model, self.problem, [dict(r) for r in self.history], self.settings.as_dict(), pos)

    def solution(self) -> Solution:
        return Solution(self.model, self.problem, self.history, self.settings.as_dict(), dict(self.pos))


def _progress_bar(enabled: bool, settings: SolveSettings, name: str, done: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    total = sum(s.steps for s in settings.schedule) * len(settings.grids or (None,))
    return tqdm(total=total, initial=done, desc=name, leave=True)


def _close_bar(bar, finished: bool) -> None:
    """Close the bar; a run that finished early (its last grid converged) shows its real step count."""
    if bar is None:
        return
    if finished and bar.n < bar.total:
        bar.total = bar.n
        bar.set_postfix_str("converged", refresh=False)
    bar.close()


def _train(problem, model, settings, observers, progress, stop_after, history=(), position=None) -> Solution:
    done = position["step"] if position is not None else 0
    bar = _progress_bar(progress and current().is_root, settings, problem.name, done)
    trainer = _Trainer(problem, model, settings, observers, bar, history, position)
    try:
        return trainer.run(stop_after)
    finally:
        _close_bar(bar, trainer.pos["finished"])


def _loss_changed(opt) -> None:
    """Tell the optimiser that its loss was redefined (RAD's new points, RBA or causal weights), so that it
    drops what it measured on the old one (:meth:`kanpde.optim.LevenbergMarquardt.loss_changed`); an
    optimiser without the method keeps nothing of the kind."""
    hook = getattr(opt, "loss_changed", None)
    if hook is not None:
        hook()


def solve(
    problem: Problem,
    model: nn.Module,
    *,
    settings: SolveSettings | None = None,
    progress: bool = False,
    callbacks: Sequence[Observer | Callback] = (),
    stop_after: int | None = None,
    **options,
) -> Solution:
    """Train ``model`` on ``problem`` and return the :class:`~kanpde.Solution`.

    The options are the fields of :class:`~kanpde.SolveSettings` (with their defaults there): ``n_interior``,
    ``n_boundary``, ``n_initial``, ``sampler``, ``optimizer`` (a name or ``(name, steps)`` stages), ``steps``,
    ``grids``, ``lr``, ``seed``, ``dtype``, ``device``, ``derivatives``, ``log_every``, ``compile``,
    ``chunk_size``, ``sparsity`` (the KAN paper's L1 + entropy penalty on edge magnitudes,
    :mod:`kanpde.sparsity`), ``restarts`` and ``restart_steps`` (probes of other initialisations) and the
    adaptive options. Pass them as keywords, as a ``settings`` object, or both (the keywords override the
    object's fields).

    ``progress`` shows a tqdm bar; ``callbacks`` are observers (:class:`~kanpde.RunFolder`, any
    :class:`kanpde.observers.Observer`) or functions ``callback(record, model)`` called at every history
    record. ``stop_after`` pauses after that many optimiser steps in total; save the solution and continue
    later with :func:`resume`. On ``KeyboardInterrupt`` the observers get the run as of its last completed
    step (a :class:`~kanpde.RunFolder` saves it, resumable) and the interrupt propagates. The ``model``
    passed in is not modified; the trained one is ``solution.model``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve takes a kanpde.Problem first, got {type(problem).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module such as kanpde.KAN([2, 10, 1]), got {type(model).__name__}"
        )
    if settings is not None and not isinstance(settings, SolveSettings):
        raise TypeError(f"settings must be a kanpde.SolveSettings, got {type(settings).__name__}")
    width, dim, k = getattr(model, "width", None), problem.domain.dim, len(problem.fields)
    if width is not None and (width[0] != dim or width[-1] != k):
        raise ValueError(
            f"model width {width} does not fit the problem: it needs {dim} input{'s' if dim > 1 else ''} "
            f"({', '.join(problem.domain.names)}) and {k} output{'s' if k > 1 else ''}"
            f"{' (' + ', '.join(problem.fields) + ')' if k > 1 else ''}, e.g. [{dim}, 10, {k}]"
        )
    if stop_after is not None:
        check_positive_int("stop_after", stop_after)
    settings = (settings or SolveSettings()).replace(**options).resolve(problem, model)
    observers = as_observers(callbacks)
    model = copy.deepcopy(model).to(device=torch.device(settings.device), dtype=settings.torch_dtype)
    if hasattr(model, "set_input_bounds"):
        model.set_input_bounds(*problem.domain.bounds())
    ansatz = Ansatz.for_problem(model, problem)
    if settings.restarts:
        ansatz = _best_start(problem, ansatz, settings)
    return _train(problem, ansatz, settings, observers, progress, stop_after)


def _best_start(problem: Problem, ansatz: Ansatz, settings: SolveSettings) -> Ansatz:
    """The trained probe with the lowest loss among the model's initialisation and ``settings.restarts``
    others (seeds ``s + 1, ...``), each run for ``restart_steps`` steps of the first stage on the first grid
    (:class:`~kanpde.SolveSettings`)."""
    net = ansatz.net
    if not (hasattr(net, "config") and isinstance(getattr(net, "seed", None), int)):
        raise ValueError(
            f"restarts re-initialise the model from its config() and seed, which a {type(net).__name__} "
            "does not have; use kp.KAN or kp.MLP, or set restarts=0"
        )
    first = settings.schedule[0]
    probe = settings.replace(
        optimizer=(Stage(first.optimizer, settings.restart_steps),),
        grids=settings.grids[:1] if settings.grids else None,
        restarts=0,
        log_every=settings.restart_steps,
    )
    best, best_loss = None, math.inf
    for offset in range(settings.restarts + 1):
        candidate = net
        if offset:
            config = {**net.config(), "seed": net.seed + offset}
            candidate = type(net)(**config, dtype=settings.torch_dtype, device=settings.device)
        trained = _train(problem, Ansatz.for_problem(candidate, problem), probe, (), False, None)
        loss = trained.history[-1]["loss"]
        if math.isfinite(loss) and loss < best_loss:
            best, best_loss = trained.ansatz, loss
    if best is None:
        raise RuntimeError(
            f"every one of the {settings.restarts + 1} restart probes ended with a non-finite loss; "
            "lower lr or check the problem's residual"
        )
    return best


def resume(
    solution: Solution,
    *,
    progress: bool = False,
    callbacks: Sequence[Observer | Callback] = (),
    stop_after: int | None = None,
) -> Solution:
    """Continue a run paused with ``stop_after`` or interrupted (also after :meth:`Solution.save` and
    :func:`kanpde.load`).

    The continuation is bit-identical to an uninterrupted run on the same machine in float64: the
    optimiser state, the grid stage and the position in the schedule travel with the solution.
    """
    state = solution.trainer_state
    if state is None:
        raise ValueError(
            "this solution holds no resumable training state (it was not saved by a solve); solve again instead"
        )
    if solution.problem is None:
        raise ValueError(
            "resuming needs the problem, which this solution does not have; load the checkpoint with "
            "kp.load(path, problem=NAME_OR_FILE.py) first"
        )
    if state["finished"]:
        raise ValueError("this run already finished its schedule; start a new solve to train further")
    if stop_after is not None:
        check_positive_int("stop_after", stop_after)
    settings = SolveSettings.from_dict(solution.settings)
    model = copy.deepcopy(solution.ansatz)
    return _train(
        solution.problem,
        model,
        settings,
        as_observers(callbacks),
        progress,
        stop_after,
        solution.history,
        copy.deepcopy(state),
    )


def fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    optimizer: str = "lbfgs",
    steps: int = 20,
    lr: float = 1e-2,
    sparsity: float = 0.0,
) -> list[dict]:
    """Fit ``model`` to data in place, minimising ``mean |model(x) - y|^2`` (plus ``sparsity`` times the
    penalty on edge magnitudes of :mod:`kanpde.sparsity`, KANs only); returns the history.

    ``x`` is ``(N, d)`` and ``y`` ``(N,)`` or ``(N, n_out)``; ``optimizer`` is ``"lbfgs"`` or ``"adam"``.
    """
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError("fit takes torch tensors x (N, d) and y (N,) or (N, n_out)")
    if y.ndim == 1:
        y = y[:, None]  # (N, 1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; pass one target per point")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"unknown optimizer {optimizer!r} for fit; valid ones: lbfgs, adam")
    weight = check_sparsity(sparsity)
    if weight > 0 and not isinstance(model, KAN):
        raise ValueError(f"sparsity applies to KAN models (edge magnitudes), got {type(model).__name__}")

    class _Data:
        mode = "autograd"
        names = ["mse"]

        def __call__(self, m):
            mse = (m(x) - y).square().mean()
            return mse, mse[None]

    class _Sparse(_Data):  # the data loss plus the penalty on edge magnitudes (kanpde/sparsity.py)
        names = ["mse", "sparsity"]

        def __call__(self, m):
            mse = (m(x) - y).square().mean()
            p = weight * sparsity_penalty(m, x)
            return mse + p, torch.stack([mse, p])

    objective = Objective(model, _Sparse() if weight > 0 else _Data())
    opt = make_optimizer(optimizer, objective, **({"lr": lr} if optimizer == "adam" else {}))
    history = []
    start = time.perf_counter()
    for i in range(check_positive_int("steps", steps)):
        result = opt.step()
        history.append({"step": i + 1, "loss": float(result.loss), "seconds": time.perf_counter() - start})
    return history
