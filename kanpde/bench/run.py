"""One training run and what it records: :func:`run_one` trains one model on one problem with a suite's
points and schedule and returns a :class:`RunResult` (its row of ``summary.csv``, columns
:data:`SUMMARY_COLUMNS`, and its compact error history); :func:`aggregate` summarises rows over seeds
(median, min, max); ``environment`` records the versions and machine a plan ran on.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .. import __version__
from ..catalog import load_problem
from ..conditions import Dirichlet
from ..geometry.base import is_mask
from ..solver import solve
from .plan import ModelSpec, Plan, Suite

SUMMARY_COLUMNS = (
    "suite",
    "problem",
    "model",
    "label",
    "layers",
    "width",
    "depth",
    "grid",
    "grids",
    "params",
    "seed",
    "point_seed",
    "init_seed",
    "n_interior",
    "n_boundary",
    "n_initial",
    "residual_weight",
    "hard",
    "schedule",
    "relative_l2",
    "relative_h1",
    "max_abs",
    "mse",
    "final_loss",
    "seconds",
    "steps",
    "evaluations",
    "notes",
    "command",
)
"""Columns of ``summary.csv``: one row per run. ``grid`` is the final KAN grid, 0 for MLPs."""

METRICS = ("relative_l2", "relative_h1", "max_abs", "mse", "seconds", "steps", "evaluations")
"""Per-run numbers aggregated over seeds (median, min, max)."""

GROUP_KEYS = ("suite", "problem", "model", "label", "layers", "width", "depth", "grid", "grids", "params")
"""Columns identifying one configuration (the rows of a seed group share them)."""

_HISTORY_KEYS = ("step", "stage", "grid", "loss", "relative_l2", "seconds", "evaluations")


@dataclass
class RunResult:
    row: dict
    history: list[dict] = field(default_factory=list)


def suite_problem(suite: Suite, name: str):
    problem = load_problem(name)
    if suite.residual_weight is not None:
        problem = dataclasses.replace(problem, residual_weight=suite.residual_weight)
    if suite.hard:
        conditions = [dataclasses.replace(c, hard=True) if _can_be_hard(c) else c for c in problem.conditions]
        problem = dataclasses.replace(problem, conditions=conditions)
    return problem


def _can_be_hard(condition) -> bool:
    """A Dirichlet condition with a constant value (conditions hold a finite number or a callable) on faces
    or shapes (a mask callable has no distance function, so such a condition stays penalised)."""
    return isinstance(condition, Dirichlet) and not callable(condition.value) and not is_mask(condition.on)


def mean_square_exact(problem) -> float:
    """Mean square of the true values (exact solution on the evaluation grid, or the reference)."""
    _, values = problem.truth(torch.float64, "cpu")
    return float(values.square().mean())


def run_one(
    problem, spec: ModelSpec, seed: int, suite: Suite, device: str = "cpu", ms_exact=None
) -> RunResult:
    """Train one model; the row of ``summary.csv`` and the compact history (a failed run has NaN metrics)."""
    dim, n_out = problem.domain.dim, len(problem.fields)
    row = {
        "suite": suite.name,
        "problem": problem.name,
        "model": spec.family,
        "label": spec.label(dim, n_out),
        "layers": "-".join(map(str, spec.layers(dim, n_out))),
        "width": spec.width,
        "depth": spec.depth,
        "grid": spec.grid,
        "grids": "-".join(map(str, spec.grids)),
        "params": spec.params_at(dim, n_out=n_out),
        "seed": seed,
        "point_seed": seed,
        "init_seed": seed,
        "n_interior": suite.n_interior,
        "n_boundary": suite.n_boundary,
        "n_initial": suite.n_initial if problem.domain.is_time_dependent else 0,
        "residual_weight": problem.residual_weight,
        "hard": suite.hard,
        "schedule": " ".join(f"{n}:{s}" for n, s in suite.schedule),
    }
    options = {
        "n_interior": suite.n_interior,
        "n_boundary": suite.n_boundary,
        "optimizer": suite.schedule_for(spec),
        "seed": seed,
        "device": device,
        "dtype": torch.float64,
        "log_every": suite.log_every,
    }
    if problem.domain.is_time_dependent:
        options["n_initial"] = suite.n_initial
    if spec.grids:
        options["grids"] = spec.grids
    notes: list[str] = []
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sol = solve(problem, spec.build(dim, seed, n_out=n_out), **options)
        seconds = time.perf_counter() - start
        notes += sorted({str(w.message).split(";")[0] for w in caught})
        metrics = sol.metrics()
        last = sol.history[-1]
        history = [{k: r[k] for k in _HISTORY_KEYS if k in r} for r in sol.history]
        notes += sorted({str(r["stopped"]) for r in sol.history if r.get("stopped")})
        ms = mean_square_exact(problem) if ms_exact is None else ms_exact
        row.update(
            params=sol.model.num_parameters,
            relative_l2=metrics["relative_l2"],
            relative_h1=metrics.get("relative_h1", math.nan),  # a reference has no gradients
            max_abs=metrics["max_abs"],
            mse=metrics["relative_l2"] ** 2 * ms,
            final_loss=last["loss"],
            seconds=seconds,
            steps=last["step"],
            evaluations=last["evaluations"],
        )
    except (RuntimeError, ValueError, ArithmeticError) as err:  # record the failure and go on
        history = []
        notes.append(f"failed: {type(err).__name__}: {err}")
        row.update(
            {k: math.nan for k in ("relative_l2", "relative_h1", "max_abs", "mse", "final_loss")},
            seconds=time.perf_counter() - start,
            steps=0,
            evaluations=0,
        )
    row["notes"] = "; ".join(dict.fromkeys(notes))
    return RunResult(row, history)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def aggregate(
    rows: Sequence[dict], keys: Sequence[str] = GROUP_KEYS, metrics: Sequence[str] = METRICS
) -> list[dict]:
    """Group ``rows`` by ``keys`` (in order of first appearance) and summarise ``metrics`` over the seeds.

    Each group gives ``n_seeds``, ``n_failed`` (runs with a non-finite relative L2) and, for every metric,
    ``<metric>_median``, ``<metric>_min`` and ``<metric>_max`` over the finite values (NaN when none).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out = []
    for key, members in groups.items():
        agg = dict(zip(keys, key, strict=True))
        agg["n_seeds"] = len(members)
        agg["n_failed"] = sum(not _finite(r.get("relative_l2")) for r in members)
        for m in metrics:
            values = [float(r[m]) for r in members if _finite(r.get(m))]
            agg[f"{m}_median"] = statistics.median(values) if values else math.nan
            agg[f"{m}_min"] = min(values) if values else math.nan
            agg[f"{m}_max"] = max(values) if values else math.nan
        out.append(agg)
    return out


def environment(plan: Plan, command: str, device: str, seconds: float) -> dict:
    return {
        "command": command,
        "plan": plan.name,
        "plan_description": plan.description,
        "total_seconds": seconds,
        "kanpde": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": _cpu_count(),
        "threads": torch.get_num_threads(),
        "device": device,
        "dtype": "float64",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _cpu_count() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count()
