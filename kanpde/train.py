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
restored, the history records why (``"stopped"``) and a warning tells the user.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ._checks import check_dtype
from .derivatives import resolve_mode
from .distributed import current
from .kan import KAN
from .loss import PINNLoss, sample_collocation
from .metrics import relative_l2
from .optim import OPTIMIZERS, Objective, StageStop, make_optimizer
from .problem import Problem
from .solution import Solution, evaluation_points
from .sparsity import SparseLoss, check_sparsity, sparsity_penalty

__all__ = ["solve", "resume", "fit", "Stage", "DEFAULT_STEPS", "SolveSettings"]

Callback = Callable[[dict, nn.Module], None]


@dataclass(frozen=True)
class Stage:
    """One optimiser run: ``optimizer`` (a name in :data:`kanpde.optim.OPTIMIZERS`) for ``steps`` steps."""

    optimizer: str
    steps: int

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid ones: {', '.join(OPTIMIZERS)}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps of stage {self.optimizer!r} must be an integer >= 0, got {self.steps!r}")


DEFAULT_STEPS = 450
"""Levenberg-Marquardt steps of the default schedule, split evenly over the grid stages."""

DEFAULT_GRID_FACTORS = (1, 2, 4)
"""A KAN on grid ``G`` is trained by default on grids ``G, 2G, 4G`` (nested, so extension is exact)."""

SAMPLER_NAMES = ("sobol", "random", "grid")


@dataclass(frozen=True)
class SolveSettings:
    """Everything that defines a run, as plain values (stored with checkpoints and exports)."""

    n_interior: int
    n_boundary: int
    n_initial: int
    sampler: str
    schedule: tuple[Stage, ...]
    grids: tuple[int, ...] | None
    lr: float
    seed: int
    dtype: str
    device: str
    derivatives: str
    log_every: int
    compile: str | None = None
    sparsity: float = 0.0  # weight of the L1 + entropy penalty on edge magnitudes (kanpde/sparsity.py)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["schedule"] = [[s.optimizer, s.steps] for s in self.schedule]
        d["grids"] = list(self.grids) if self.grids is not None else None
        return d


_DEFAULT_POINTS = {1: (1000, 2, 0), 2: (2500, 400, 0), 3: (4000, 1200, 600), 4: (6000, 2000, 1000)}


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _schedule(optimizer, steps, n_grids: int) -> tuple[Stage, ...]:
    if optimizer is None or isinstance(optimizer, str):
        default = max(1, DEFAULT_STEPS // n_grids)
        return (Stage(optimizer or "lm", default if steps is None else steps),)
    if steps is not None:
        raise ValueError("pass steps inside the schedule, e.g. optimizer=[('adam', 500), ('lbfgs', 500)]")
    try:
        stages = tuple(Stage(*item) if not isinstance(item, Stage) else item for item in optimizer)
    except TypeError as err:
        raise TypeError(
            f"optimizer must be a name or a sequence of (name, steps) pairs, got {optimizer!r}"
        ) from err
    if not stages:
        raise ValueError("the optimizer schedule is empty; pass e.g. [('adam', 500), ('lbfgs', 500)]")
    return stages


def _device(device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; pass 'auto', 'cpu' or 'cuda'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; pass device='cpu' or 'auto'")
    return dev


def _grids(grids, model) -> tuple[int, ...] | None:
    if grids is None:
        return tuple(f * model.grid for f in DEFAULT_GRID_FACTORS) if isinstance(model, KAN) else None
    if not isinstance(model, KAN):
        raise ValueError(f"grids applies to KAN models only; got {type(model).__name__}. Drop grids=")
    if isinstance(grids, int):
        grids = (grids,)
    out = tuple(grids)
    if not out or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in out):
        raise ValueError(f"grids must be a sequence of positive integers such as (5, 10, 20), got {grids!r}")
    return out


def make_settings(problem: Problem, model: nn.Module, **options) -> SolveSettings:
    """Validate ``solve`` keyword options and fill in defaults."""
    known = {
        "n_interior",
        "n_boundary",
        "n_initial",
        "sampler",
        "optimizer",
        "steps",
        "grids",
        "lr",
        "seed",
        "dtype",
        "device",
        "derivatives",
        "log_every",
        "compile",
        "sparsity",
    }
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"unknown solve option(s) {', '.join(sorted(unknown))}; valid ones: {', '.join(sorted(known))}"
        )
    dim = min(problem.domain.dim, 4)
    defaults = _DEFAULT_POINTS[dim]
    dtype = check_dtype(options.get("dtype", torch.float64))
    sampler = options.get("sampler", "sobol")
    if sampler not in SAMPLER_NAMES:
        raise ValueError(f"unknown sampler {sampler!r}; valid ones: {', '.join(SAMPLER_NAMES)}")
    lr = options.get("lr", 1e-2)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    seed = options.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    derivatives = options.get("derivatives", "auto")
    resolve_mode(derivatives, model)
    grids = _grids(options.get("grids"), model)
    sparsity = check_sparsity(options.get("sparsity", 0.0))
    if sparsity > 0 and not isinstance(model, KAN):
        raise ValueError(f"sparsity applies to KAN models (edge magnitudes), got {type(model).__name__}")
    return SolveSettings(
        n_interior=_count("n_interior", options.get("n_interior", defaults[0])),
        n_boundary=_count("n_boundary", options.get("n_boundary", defaults[1])),
        n_initial=_count("n_initial", options.get("n_initial", defaults[2] or 400)),
        sampler=sampler,
        schedule=_schedule(options.get("optimizer"), options.get("steps"), len(grids or (None,))),
        grids=grids,
        lr=float(lr),
        seed=seed,
        dtype=str(dtype).removeprefix("torch."),
        device=str(_device(options.get("device", "auto"))),
        derivatives=derivatives,
        log_every=_count("log_every", options.get("log_every", 10)),
        compile=_compile_backend(options.get("compile", False)),
        sparsity=sparsity,
    )


def _compile_backend(value) -> str | None:
    """``compile=True`` means torch.compile's default backend ("inductor"); a string names a backend."""
    if value is False or value is None:
        return None
    if value is True:
        return "inductor"
    if isinstance(value, str) and value:
        return value
    raise TypeError(
        f"compile must be True, False or a torch.compile backend name such as 'inductor', got {value!r}"
    )


class _Logger:
    """Builds history records; evaluates the error on a fixed evaluation set when an exact solution exists."""

    def __init__(self, loss: PINNLoss, problem: Problem, model: nn.Module, callbacks, bar) -> None:
        self.names, self.history, self.callbacks, self.bar = loss.names, [], list(callbacks), bar
        self.start = time.perf_counter()
        self.eval_x = self.exact = None
        if problem.exact is not None:
            p = next(model.parameters())
            self.eval_x = evaluation_points(problem.domain, p.dtype, p.device)[0]
            self.exact = problem.exact(self.eval_x).reshape(-1)

    def log(
        self, model, step: int, stage: str, grid, loss: Tensor, parts: Tensor, evaluations: int, **extra
    ) -> dict:
        record = {"step": step, "stage": stage, "grid": grid, "loss": float(loss)}
        record.update({name: float(v) for name, v in zip(self.names, parts, strict=True)})
        record["seconds"] = time.perf_counter() - self.start
        record["evaluations"] = evaluations
        if self.exact is not None:
            with torch.no_grad():
                record["relative_l2"] = relative_l2(model(self.eval_x)[:, 0], self.exact)
        record.update(extra)
        self.history.append(record)
        if self.bar is not None:
            shown = {"loss": f"{record['loss']:.2e}"}
            if "relative_l2" in record:
                shown["rel_l2"] = f"{record['relative_l2']:.2e}"
            self.bar.set_postfix(shown, refresh=False)
        for cb in self.callbacks:
            cb(record, model)
        return record


class _Trainer:
    """Runs the grid stages and the optimiser schedule from a position that can be saved and resumed.

    The position holds the grid and stage indices, the step within the stage, the counters, the
    optimiser's state and the best parameters of the current stage, so a run paused after ``N`` steps and
    resumed continues bit for bit as if uninterrupted (the collocation points are re-drawn from the seed;
    no state of a random generator is needed because points are not resampled during training).
    """

    def __init__(self, problem, model, settings: SolveSettings, callbacks, bar, history=(), position=None):
        self.problem, self.model, self.settings = problem, model, settings
        dtype, device = getattr(torch, settings.dtype), torch.device(settings.device)
        self.points = sample_collocation(
            problem,
            settings.n_interior,
            settings.n_boundary,
            settings.n_initial,
            settings.sampler,
            settings.seed,
            dtype,
            device,
        )
        self.comm = current()
        self.loss = PINNLoss(problem, self.points, resolve_mode(settings.derivatives, model), self.comm)
        if settings.sparsity > 0:  # the penalty on edge magnitudes, on rank 0 over all interior points
            self.loss = SparseLoss(self.loss, self.points.interior, settings.sparsity, self.comm.is_root)
        self.logger = _Logger(self.loss, problem, model, callbacks, bar)
        self.logger.history.extend(history)
        if history:
            self.logger.start -= history[-1]["seconds"]
        self.pos = (
            dict(position)
            if position is not None
            else {
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
            }
        )
        # Steps each stage hands to the next grid (also for positions saved before they were tracked).
        self.pos.setdefault("carry", [0] * len(settings.schedule))

    def run(self, stop_after: int | None = None) -> None:
        """Train to the end of the schedule, or pause once ``stop_after`` steps have been taken in total."""
        pos, grids = self.pos, self.settings.grids or (None,)
        while pos["grid_index"] < len(grids):
            grid = grids[pos["grid_index"]]
            if grid is not None and not pos["extended"]:
                self.model = self.model.extend_grid(grid, samples=self.points.interior)
            pos["extended"] = True
            while pos["stage_index"] < len(self.settings.schedule):
                if not self._run_stage(self.settings.schedule[pos["stage_index"]], grid, stop_after):
                    return
                pos.update(stage_index=pos["stage_index"] + 1, stage_step=0, optimizer=None)
                pos.update(best=math.inf, best_params=None)
            pos.update(grid_index=pos["grid_index"] + 1, stage_index=0, extended=False)
        pos["finished"] = True

    def _run_stage(self, stage: Stage, grid, stop_after: int | None) -> bool:
        """Run (the rest of) one stage; ``False`` when paused at ``stop_after``."""
        pos, model, logger = self.pos, self.model, self.logger
        compiled = self.settings.compile if stage.optimizer != "lm" else None
        objective = Objective(model, self.loss, compiled)
        options = {"lr": self.settings.lr} if stage.optimizer == "adam" else {}
        if stage.optimizer == "lm" and pos["grid_index"] == len(self.settings.grids or (None,)) - 1:
            options["stall_tol"] = 0.0  # no finer grid to move on to: slow progress is still progress
        opt = make_optimizer(stage.optimizer, objective, **options)
        if pos["optimizer"] is not None:
            opt.load_state_dict(pos["optimizer"])
        if pos["best_params"] is None:
            pos["best_params"] = objective.flat()
        done = lambda: pos["evaluations"] + objective.evaluations  # noqa: E731
        index = pos["stage_index"]
        limit = stage.steps + pos["carry"][index]

        def hand_on() -> None:  # steps left by an early end go to this stage on the next grid
            pos["carry"][index] = limit - pos["stage_step"]

        while pos["stage_step"] < limit:
            if stop_after is not None and pos["step"] >= stop_after:
                pos["evaluations"] = done()
                pos["optimizer"] = opt.state_dict()
                return False
            before = objective.flat()
            try:
                result = opt.step()
            except StageStop as err:
                self._stop(objective, stage, grid, str(err))
                hand_on()
                return True
            pos["step"] += 1
            pos["stage_step"] += 1
            value = float(result.loss)  # the loss at the parameters the step started from
            if value < pos["best"]:
                pos["best"], pos["best_params"] = value, before
            if logger.bar is not None:
                logger.bar.update(1)
            last = pos["stage_step"] == limit
            if opt.converged or pos["stage_step"] % self.settings.log_every == 0 or last:
                extra = {"stopped": "converged"} if opt.converged else {}
                logger.log(
                    model, pos["step"], stage.optimizer, grid, result.loss, result.parts, done(), **extra
                )
            if opt.converged:
                break
        hand_on()
        pos["evaluations"] = done()
        return True

    def _stop(self, objective: Objective, stage: Stage, grid, why: str) -> None:
        objective.assign(self.pos["best_params"])
        self.pos["evaluations"] += objective.evaluations
        message = (
            f"stage {stage.optimizer!r} stopped at step {self.pos['step']}: {why}; best parameters restored"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=4)
        total, parts = self.loss(self.model)
        self.logger.log(
            self.model,
            self.pos["step"],
            stage.optimizer,
            grid,
            total.detach(),
            parts.detach(),
            self.pos["evaluations"],
            stopped=why,
        )

    def solution(self) -> Solution:
        return Solution(
            self.model, self.problem, self.logger.history, self.settings.as_dict(), dict(self.pos)
        )


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


def solve(
    problem: Problem,
    model: nn.Module,
    *,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
    stop_after: int | None = None,
    **options,
) -> Solution:
    """Train ``model`` on ``problem`` and return the :class:`~kanpde.Solution`.

    Keyword options: ``n_interior``, ``n_boundary``, ``n_initial`` (point counts; defaults by dimension),
    ``sampler`` (``"sobol"``, ``"random"``, ``"grid"``), ``optimizer`` (a name or a sequence of
    ``(name, steps)`` stages; default Levenberg-Marquardt, :data:`DEFAULT_STEPS` steps split over the grid
    stages), ``steps`` (with a single name), ``grids`` (KAN grid sizes, the schedule runs at each; default
    ``G, 2G, 4G``), ``lr`` (Adam), ``seed``, ``dtype`` (float64),
    ``device`` (``"auto"``: CUDA when available), ``derivatives`` (``"auto"``, ``"forward"``,
    ``"autograd"``), ``log_every``, ``sparsity`` (weight of the KAN paper's L1 + entropy penalty on edge
    magnitudes, :mod:`kanpde.sparsity`; default 0, off), ``compile`` (opt-in ``torch.compile`` of the loss for Adam and L-BFGS
    stages, worth it on CUDA and on the CPU for small point sets, where per-op dispatch dominates; ``True`` or
    a backend name). ``progress`` shows a tqdm bar; each callback gets every history record and the model. ``stop_after`` pauses after that many optimiser steps in total; save the solution
    and continue later with :func:`resume`. The ``model`` passed in is not modified; the trained one is
    ``solution.model``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"solve takes a kanpde.Problem first, got {type(problem).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module such as kanpde.KAN([2, 10, 1]), got {type(model).__name__}"
        )
    width = getattr(model, "width", None)
    if width is not None and (width[0] != problem.domain.dim or width[-1] != 1):
        raise ValueError(
            f"model width {width} does not fit the problem: it needs {problem.domain.dim} inputs "
            f"({', '.join(problem.domain.names)}) and 1 output, e.g. [{problem.domain.dim}, 10, 1]"
        )
    if stop_after is not None:
        _count("stop_after", stop_after)
    settings = make_settings(problem, model, **options)
    dtype, device = getattr(torch, settings.dtype), torch.device(settings.device)
    model = copy.deepcopy(model).to(device=device, dtype=dtype)
    if hasattr(model, "set_input_bounds"):
        model.set_input_bounds(*problem.domain.bounds())
    bar = _progress_bar(progress and current().is_root, settings, problem.name)
    trainer = _Trainer(problem, model, settings, callbacks, bar)
    try:
        trainer.run(stop_after)
    finally:
        _close_bar(bar, trainer.pos["finished"])
    return trainer.solution()


def resume(
    solution: Solution,
    *,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
    stop_after: int | None = None,
) -> Solution:
    """Continue a run paused with ``stop_after`` (also after :meth:`Solution.save` and :func:`kanpde.load`).

    The continuation is bit-identical to an uninterrupted run on the same machine in float64: the
    optimiser state, the grid stage and the position in the schedule travel with the solution.
    """
    state = solution.trainer_state
    if state is None or solution.problem is None:
        raise ValueError(
            "this solution holds no resumable training state (or no problem); solve again instead"
        )
    if state["finished"]:
        raise ValueError("this run already finished its schedule; start a new solve to train further")
    settings = settings_from_dict(solution.settings)
    bar = _progress_bar(progress and current().is_root, settings, solution.problem.name, state["step"])
    model = copy.deepcopy(solution.model)
    trainer = _Trainer(
        solution.problem, model, settings, callbacks, bar, solution.history, copy.deepcopy(state)
    )
    try:
        trainer.run(stop_after)
    finally:
        _close_bar(bar, trainer.pos["finished"])
    return trainer.solution()


def settings_from_dict(d: dict) -> SolveSettings:
    """Inverse of :meth:`SolveSettings.as_dict`."""
    d = dict(d)
    d["schedule"] = tuple(Stage(name, steps) for name, steps in d["schedule"])
    d["grids"] = tuple(d["grids"]) if d["grids"] is not None else None
    return SolveSettings(**d)


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
    for i in range(_count("steps", steps)):
        result = opt.step()
        history.append({"step": i + 1, "loss": float(result.loss), "seconds": time.perf_counter() - start})
    return history
