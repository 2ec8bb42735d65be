"""The KAN vs MLP benchmark: KANs and MLPs trained on the same points with the same optimiser schedule.

::

    kanpde bench [--quick] [--out DIR]
    python benchmarks/kan_vs_mlp.py [--quick] [--out DIR]

A **plan** is a list of **suites**. A suite names problems, model specifications, seeds, point counts and one
optimiser schedule; every model of the suite trains on every problem with every seed. Two suites ship:

* ``sweep``: the five problems ``poisson2d``, ``poisson2d_sin``, ``heat1d``, ``heat2d``, ``helmholtz2d``
  with small KANs and MLPs and Levenberg-Marquardt (every model there has at most 6000 parameters);
* ``paper``: the KAN paper's Poisson setup (Liu et al. 2024, §3.4): 10000 interior and 800 boundary points,
  residual weight α = 0.01, KAN ``[2,5,1]``, ``[2,7,1]``, ``[2,10,1]`` against MLPs of depth 2-5 and width
  10 and 100, with L-BFGS (the width-100 MLPs are too large for Levenberg-Marquardt).

**Fairness.** For a given (problem, seed) every model trains on the same collocation points (``solve``'s
``seed`` is the run's seed) and its initial parameters come from the same seed (``KAN(..., seed=s)``,
``MLP(..., seed=s)``). The schedule gives the *total* number of optimiser steps of a run: a KAN trained on
the grids ``(5, 10, 20)`` runs each stage for a third of its steps at each grid, so both families take the
same number of optimiser steps. The tables state the parameter counts and wall times; the comparisons are
made at **equal parameters** (the MLP nearest in parameter count, within a factor 2) or at **equal wall
time** (the best model of the other family that was no slower), each in its own table.

**Outputs** in ``DIR``: ``summary.csv`` (one row per run: problem, model, width, grid, params, seed,
relative_l2, relative_h1, max_abs, mse, seconds, steps, evaluations, ...), ``summary.json`` (the rows, the
aggregates and the settings), one ``<suite>_<problem>.csv`` / ``.json`` table per problem (median and
min-max spread over seeds), the figures ``error_vs_params.png``, ``error_vs_time.png`` and
``staircase.png``, and ``README.md`` with the tables and a reading of them. Every output names the command
that made it. ``--report-only`` rewrites tables, figures and README from a finished run's JSON without
training; ``--headline-only --steps N`` trains only the headline pair, for a longer run of it.

**Time.** Runs use one torch thread by default (``--threads``): on a busy 2-core machine two threads were up
to 10x slower than one. The full plan took about 15-25 minutes on a shared 2-core CPU; ``--quick`` about
10 seconds.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ._atomic import atomic_write

__all__ = [
    "ModelSpec",
    "Suite",
    "Plan",
    "PLANS",
    "SUMMARY_COLUMNS",
    "kan",
    "mlp",
    "plan_from_args",
    "run_plan",
    "run_one",
    "write_outputs",
    "load_results",
    "equal_params",
    "equal_time",
    "headline",
    "aggregate",
    "add_arguments",
    "run_from_args",
]

FAMILIES = ("kan", "mlp")

# --------------------------------------------------------------------------------------------------
# What to run
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """One network shape: ``family`` ``"kan"`` or ``"mlp"``, the hidden layer sizes and, for KANs, the grids.

    ``hidden=(10,)`` is KAN ``[d, 10, 1]``; ``hidden=(100, 100, 100)`` is the depth-4 MLP
    ``[d, 100, 100, 100, 1]`` (depth counts weight layers, as in the KAN paper). ``grids`` are the KAN grid
    stages, e.g. ``(5, 10, 20)``; MLPs take none.
    """

    family: str
    hidden: tuple[int, ...]
    grids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; valid ones: {', '.join(FAMILIES)}")
        hidden = tuple(self.hidden)
        if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be positive layer sizes such as (10,), got {self.hidden!r}")
        grids = tuple(self.grids)
        if self.family == "kan" and not grids:
            raise ValueError("a KAN spec needs grids, e.g. ModelSpec('kan', (10,), grids=(5, 10, 20))")
        if self.family == "mlp" and grids:
            raise ValueError(f"grids apply to KANs only; drop grids={grids!r} from the MLP spec")
        if any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grids):
            raise ValueError(f"grids must be positive integers such as (5, 10, 20), got {self.grids!r}")
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "grids", grids)

    @property
    def width(self) -> int:
        """The (first) hidden width."""
        return self.hidden[0]

    @property
    def depth(self) -> int:
        """Number of weight layers: 2 for ``[d, h, 1]``."""
        return len(self.hidden) + 1

    @property
    def grid(self) -> int:
        """The final KAN grid; 0 for MLPs (no grid)."""
        return self.grids[-1] if self.grids else 0

    def layers(self, dim: int) -> list[int]:
        return [dim, *self.hidden, 1]

    def label(self, dim: int) -> str:
        shape = "[" + ",".join(map(str, self.layers(dim))) + "]"
        if self.family == "mlp":
            return f"MLP {shape}"
        grids = f"G{self.grids[0]}" if len(self.grids) == 1 else f"G{'>'.join(map(str, self.grids))}"
        return f"KAN {shape} {grids}"

    def build(self, dim: int, seed: int, grid: int | None = None):
        from .kan import KAN
        from .mlp import MLP

        if self.family == "kan":
            return KAN(self.layers(dim), grid=grid or self.grids[0], seed=seed)
        return MLP(self.layers(dim), seed=seed)

    def params_at(self, dim: int, grid: int | None = None) -> int:
        """Trainable parameters (for a KAN at ``grid``, default the final grid)."""
        return self.build(dim, 0, grid or self.grid or None).num_parameters


def kan(hidden: int, grids: Sequence[int]) -> ModelSpec:
    return ModelSpec("kan", (hidden,), tuple(grids))


def mlp(width: int, depth: int) -> ModelSpec:
    return ModelSpec("mlp", (width,) * (depth - 1))


@dataclass(frozen=True)
class Suite:
    """Problems x models x seeds with one point set per (problem, seed) and one optimiser schedule.

    ``schedule`` holds ``(optimizer, steps)`` stages with the total steps of a run; a KAN with ``n`` grid
    stages runs every stage for ``steps / n`` steps at each grid (``steps`` must divide evenly).
    ``residual_weight`` replaces the problems' own weight when given (the KAN paper's α).
    ``headline`` names a (KAN, MLP) pair whose comparison opens the README.
    """

    name: str
    problems: tuple[str, ...]
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    schedule: tuple[tuple[str, int], ...] = (("lm", 120),)
    n_interior: int = 1000
    n_boundary: int = 200
    n_initial: int = 200
    residual_weight: float | None = None
    log_every: int = 5
    headline: tuple[ModelSpec, ModelSpec] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        from .optim import OPTIMIZERS

        if not self.problems or not self.models or not self.seeds:
            raise ValueError(f"suite {self.name!r} needs at least one problem, one model and one seed")
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        schedule = tuple((str(name), int(steps)) for name, steps in self.schedule)
        for name, steps in schedule:
            if name not in OPTIMIZERS:
                raise ValueError(f"unknown optimizer {name!r}; valid ones: {', '.join(OPTIMIZERS)}")
            if steps < 1:
                raise ValueError(f"stage {name!r} of suite {self.name!r} needs steps >= 1, got {steps}")
        object.__setattr__(self, "schedule", schedule)
        for spec in self.models:
            n = len(spec.grids)
            if n > 1 and any(steps % n for _, steps in schedule):
                raise ValueError(
                    f"suite {self.name!r}: {spec.label(2)} has {n} grid stages, so every stage's steps must "
                    f"be a multiple of {n}; got the schedule {schedule}"
                )
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be >= 0, got {self.seeds}")

    def schedule_for(self, spec: ModelSpec) -> list[tuple[str, int]]:
        """The schedule ``solve`` runs at each grid stage of ``spec`` (the total split over the stages)."""
        n = max(1, len(spec.grids))
        return [(name, steps // n) for name, steps in self.schedule]

    @property
    def total_steps(self) -> int:
        return sum(steps for _, steps in self.schedule)

    def schedule_text(self) -> str:
        return " then ".join(f"{name} x {steps}" for name, steps in self.schedule)

    def budget_text(self) -> str:
        """The matched budget of the suite, in words (quoted in every output)."""
        return (
            f"equal optimiser schedule: {self.schedule_text()} steps in total for every model (a KAN with n "
            f"grid stages runs 1/n of every stage at each grid); same collocation points per (problem, seed): "
            f"{self.n_interior} interior, {self.n_boundary} boundary"
            + (f", {self.n_initial} initial (time-dependent problems)" if self.n_initial else "")
            + " points; parameter counts and wall times differ and are compared in their own tables"
        )

    def runs(self) -> int:
        return len(self.problems) * len(self.models) * len(self.seeds)


@dataclass(frozen=True)
class Plan:
    """A named list of suites."""

    name: str
    suites: tuple[Suite, ...]
    description: str = ""

    def runs(self) -> int:
        return sum(s.runs() for s in self.suites)


SWEEP_PROBLEMS = ("poisson2d", "poisson2d_sin", "heat1d", "heat2d", "helmholtz2d")

_SWEEP = Suite(
    name="sweep",
    problems=SWEEP_PROBLEMS,
    models=(
        kan(5, (5,)),
        kan(5, (5, 10, 20)),
        kan(10, (5,)),
        kan(10, (5, 10, 20)),
        mlp(10, 2),
        mlp(10, 3),
        mlp(10, 4),
        mlp(20, 2),
        mlp(20, 3),
        mlp(20, 4),
    ),
    schedule=(("lm", 90),),
    n_interior=1000,
    n_boundary=200,
    n_initial=200,
    note="fewer points and steps than the paper, so that five problems fit the time budget",
)

_PAPER = Suite(
    name="paper",
    problems=("poisson2d",),
    models=(
        kan(5, (5, 10, 20)),
        kan(7, (5, 10, 20)),
        kan(10, (5, 10, 20)),
        *(mlp(w, d) for w in (10, 100) for d in (2, 3, 4, 5)),
    ),
    schedule=(("lbfgs", 90),),
    n_interior=10000,
    n_boundary=800,
    n_initial=0,
    residual_weight=0.01,
    headline=(kan(10, (5, 10, 20)), mlp(100, 4)),
    note=(
        "the KAN paper's points and α = 0.01; L-BFGS because the width-100 MLPs (up to 30701 parameters) "
        "are beyond Levenberg-Marquardt's 6000-parameter limit; the step count is what fits the 30-minute "
        "budget on a 2-core CPU, far fewer steps than the paper trained"
    ),
)

_QUICK = Suite(
    name="sweep",
    problems=("poisson2d",),
    models=(kan(5, (5,)), kan(5, (5, 10)), mlp(10, 3), mlp(20, 3)),
    schedule=(("lm", 40),),
    n_interior=400,
    n_boundary=100,
    n_initial=0,
    note="--quick: a smoke test of the harness on one problem, not a benchmark",
)

PLANS: dict[str, Plan] = {
    "full": Plan("full", (_SWEEP, _PAPER), "the five-problem sweep and the KAN paper's Poisson setup"),
    "quick": Plan("quick", (_QUICK,), "one problem, two small models per family, 3 seeds, 40 steps"),
}
"""Plan name -> plan: ``full`` (default) and ``quick`` (``--quick``)."""

# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------

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


def _problem(suite: Suite, name: str):
    from .catalog import load_problem

    problem = load_problem(name)
    if suite.residual_weight is not None:
        problem = dataclasses.replace(problem, residual_weight=suite.residual_weight)
    return problem


def _mean_square_exact(problem) -> float:
    from .solution import evaluation_points

    x = evaluation_points(problem.domain, torch.float64, "cpu")[0]
    with torch.no_grad():
        return float(problem.exact(x).reshape(-1).square().mean())


def run_one(
    problem, spec: ModelSpec, seed: int, suite: Suite, device: str = "cpu", ms_exact=None
) -> RunResult:
    """Train one model; the row of ``summary.csv`` and the compact history (a failed run has NaN metrics)."""
    from .train import solve

    dim = problem.domain.dim
    row = {
        "suite": suite.name,
        "problem": problem.name,
        "model": spec.family,
        "label": spec.label(dim),
        "layers": "-".join(map(str, spec.layers(dim))),
        "width": spec.width,
        "depth": spec.depth,
        "grid": spec.grid,
        "grids": "-".join(map(str, spec.grids)),
        "params": spec.params_at(dim),
        "seed": seed,
        "point_seed": seed,
        "init_seed": seed,
        "n_interior": suite.n_interior,
        "n_boundary": suite.n_boundary,
        "n_initial": suite.n_initial if problem.domain.is_time_dependent else 0,
        "residual_weight": problem.residual_weight,
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
            sol = solve(problem, spec.build(dim, seed), **options)
        seconds = time.perf_counter() - start
        notes += sorted({str(w.message).split(";")[0] for w in caught})
        metrics = sol.metrics()
        last = sol.history[-1]
        history = [{k: r[k] for k in _HISTORY_KEYS if k in r} for r in sol.history]
        notes += sorted({str(r["stopped"]) for r in sol.history if r.get("stopped")})
        ms = _mean_square_exact(problem) if ms_exact is None else ms_exact
        row.update(
            params=sol.model.num_parameters,
            relative_l2=metrics["relative_l2"],
            relative_h1=metrics["relative_h1"],
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


def run_plan(
    plan: Plan,
    out: str | Path,
    *,
    command: str,
    device: str = "cpu",
    log: Callable[[str], None] | None = print,
) -> dict:
    """Run every suite of ``plan`` and write all outputs into ``out``; returns the summary dictionary."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; pass a folder")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[RunResult] = []
    total, done = plan.runs(), 0
    for suite in plan.suites:
        for name in suite.problems:
            problem = _problem(suite, name)
            if problem.exact is None:
                raise ValueError(f"problem {name!r} has no exact solution; the benchmark needs one")
            ms = _mean_square_exact(problem)
            for seed in suite.seeds:
                for spec in suite.models:
                    result = run_one(problem, spec, seed, suite, device=device, ms_exact=ms)
                    result.row["command"] = command
                    results.append(result)
                    done += 1
                    if log is not None:
                        r = result.row
                        log(
                            f"[{done}/{total}] {suite.name} {name} {r['label']} seed {seed}: "
                            f"rel L2 {r['relative_l2']:.2e}, {r['params']} params, {r['seconds']:.1f} s"
                            + (f" ({r['notes']})" if r["notes"] else "")
                        )
                    _write_csv(out / "summary.csv", [r.row for r in results], SUMMARY_COLUMNS)
    info = _environment(plan, command, device, time.perf_counter() - started)
    summary = write_outputs(out, plan, results, info)
    if log is not None:
        log(f"wrote {out} ({info['total_seconds']:.0f} s)")
    return summary


def _environment(plan: Plan, command: str, device: str, seconds: float) -> dict:
    from . import __version__

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


# --------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------


def _ratio(mlp_error: float, kan_error: float) -> float:
    """MLP error / KAN error: above 1 the KAN is more accurate."""
    if not (_finite(mlp_error) and _finite(kan_error)) or kan_error <= 0:
        return math.nan
    return mlp_error / kan_error


def equal_params(table: Sequence[dict], factor: float = 2.0) -> list[dict]:
    """For every KAN configuration the MLP nearest in parameter count (log scale), if within ``factor``."""
    kans = [a for a in table if a["model"] == "kan"]
    mlps = [a for a in table if a["model"] == "mlp"]
    out = []
    for k in kans:
        best = min(mlps, key=lambda m: abs(math.log(m["params"] / k["params"])), default=None)
        if best is not None and max(best["params"], k["params"]) / min(best["params"], k["params"]) > factor:
            best = None
        out.append(
            {
                "kan": k,
                "mlp": best,
                "ratio": _ratio(best["relative_l2_median"], k["relative_l2_median"]) if best else math.nan,
            }
        )
    return out


def equal_time(table: Sequence[dict]) -> list[dict]:
    """For every configuration the most accurate one of the other family whose median time was no longer."""
    out = []
    for a in table:
        others = [
            b
            for b in table
            if b["model"] != a["model"]
            and _finite(b["seconds_median"])
            and b["seconds_median"] <= a["seconds_median"]
            and _finite(b["relative_l2_median"])
        ]
        best = min(others, key=lambda b: b["relative_l2_median"], default=None)
        k, m = (a, best) if a["model"] == "kan" else (best, a)
        ratio = _ratio(m["relative_l2_median"], k["relative_l2_median"]) if best else math.nan
        out.append({"budget": a, "other": best, "kan": k, "mlp": m, "ratio": ratio})
    return out


def best_of(table: Sequence[dict], family: str) -> dict | None:
    rows = [a for a in table if a["model"] == family and _finite(a["relative_l2_median"])]
    return min(rows, key=lambda a: a["relative_l2_median"], default=None)


def _find(table: Sequence[dict], spec: ModelSpec) -> dict | None:
    for a in table:
        if a["model"] == spec.family and a["layers"].split("-")[1:-1] == [str(h) for h in spec.hidden]:
            if a["grids"] == "-".join(map(str, spec.grids)):
                return a
    return None


def headline(suite: Suite, table: Sequence[dict]) -> dict | None:
    """The suite's headline pair: medians, error ratios (relative L2 and MSE), parameter and time ratios."""
    if suite.headline is None:
        return None
    k, m = (_find(table, spec) for spec in suite.headline)
    if k is None or m is None:
        return None
    l2 = _ratio(m["relative_l2_median"], k["relative_l2_median"])
    worst = _ratio(m["relative_l2_min"], k["relative_l2_max"])  # best MLP seed vs worst KAN seed
    return {
        "kan": k,
        "mlp": m,
        "l2_ratio": l2,
        "mse_ratio": l2**2,
        "l2_ratio_worst_case": worst,
        "params_ratio": m["params"] / k["params"],
        "time_ratio": _ratio(m["seconds_median"], k["seconds_median"]),
        "kan_wins_every_seed": bool(_finite(worst) and worst > 1),
    }


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> Path:
    with atomic_write(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", restval="")
            writer.writeheader()
            writer.writerows(rows)
    return path


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(path: Path, data) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(_json_safe(data), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _table_columns() -> list[str]:
    cols = [*GROUP_KEYS, "n_seeds", "n_failed"]
    for m in METRICS:
        cols += [f"{m}_median", f"{m}_min", f"{m}_max"]
    return [*cols, "budget", "command"]


def _suite_settings(suite: Suite) -> dict:
    return {
        "name": suite.name,
        "problems": list(suite.problems),
        "models": [dataclasses.asdict(s) for s in suite.models],
        "seeds": list(suite.seeds),
        "schedule": [list(s) for s in suite.schedule],
        "n_interior": suite.n_interior,
        "n_boundary": suite.n_boundary,
        "n_initial": suite.n_initial,
        "residual_weight": suite.residual_weight,
        "log_every": suite.log_every,
        "headline": [dataclasses.asdict(s) for s in suite.headline] if suite.headline else None,
        "budget": suite.budget_text(),
        "note": suite.note,
    }


def _suite_from_settings(d: dict) -> Suite:
    return Suite(
        name=d["name"],
        problems=tuple(d["problems"]),
        models=tuple(ModelSpec(m["family"], tuple(m["hidden"]), tuple(m["grids"])) for m in d["models"]),
        seeds=tuple(d["seeds"]),
        schedule=tuple((n, int(k)) for n, k in d["schedule"]),
        n_interior=d["n_interior"],
        n_boundary=d["n_boundary"],
        n_initial=d["n_initial"],
        residual_weight=d["residual_weight"],
        log_every=d.get("log_every", 5),
        headline=tuple(ModelSpec(m["family"], tuple(m["hidden"]), tuple(m["grids"])) for m in d["headline"])
        if d.get("headline")
        else None,
        note=d.get("note", ""),
    )


_FLOAT_COLUMNS = ("relative_l2", "relative_h1", "max_abs", "mse", "final_loss", "seconds")


def load_results(out: str | Path) -> tuple[Plan, list[RunResult], dict]:
    """Read back a finished run's plan, runs (with histories) and environment from ``out``."""
    out = Path(out)
    path = out / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"no {path}; run the benchmark into {out} first")
    summary = json.loads(path.read_text(encoding="utf-8"))
    suites = tuple(_suite_from_settings(d) for d in summary["suites"])
    plan = Plan(summary["plan"], suites, summary.get("plan_description", ""))
    results = []
    for suite in suites:
        for name in suite.problems:
            data = json.loads((out / f"{suite.name}_{name}.json").read_text(encoding="utf-8"))
            for run in data["runs"]:
                history = run.pop("history")
                row = {k: (math.nan if v is None and k in _FLOAT_COLUMNS else v) for k, v in run.items()}
                results.append(RunResult(row, history))
    keys = ("command", "plan", "plan_description", "total_seconds", "kanpde", "torch", "python", "machine")
    info = {k: summary.get(k) for k in (*keys, "cpu_count", "threads", "device", "dtype", "date")}
    return plan, results, info


def write_outputs(out: Path, plan: Plan, results: Sequence[RunResult], info: dict) -> dict:
    """Write ``summary.csv``/``.json``, the per-problem tables, the figures and ``README.md``."""
    command = info["command"]
    rows = [r.row for r in results]
    _write_csv(out / "summary.csv", rows, SUMMARY_COLUMNS)
    tables: dict[tuple[str, str], list[dict]] = {}
    for suite in plan.suites:
        for name in suite.problems:
            members = [r for r in results if r.row["suite"] == suite.name and r.row["problem"] == name]
            table = aggregate([r.row for r in members])
            for a in table:
                a["budget"], a["command"] = suite.budget_text(), command
            tables[(suite.name, name)] = table
            stem = f"{suite.name}_{name}"
            _write_csv(out / f"{stem}.csv", table, _table_columns())
            _write_json(
                out / f"{stem}.json",
                {
                    "command": command,
                    "suite": _suite_settings(suite),
                    "problem": name,
                    "table": table,
                    "equal_params": _pairs_json(equal_params(table)),
                    "equal_time": _pairs_json(equal_time(table)),
                    "runs": [{**r.row, "history": r.history} for r in members],
                },
            )
    summary = {
        **info,
        "suites": [_suite_settings(s) for s in plan.suites],
        "headlines": {
            s.name: _headline_json(headline(s, tables[(s.name, s.problems[0])]))
            for s in plan.suites
            if s.headline
        },
        "tables": {f"{s}/{p}": t for (s, p), t in tables.items()},
        "rows": rows,
    }
    _write_json(out / "summary.json", summary)
    write_figures(out, plan, results, tables, command)
    write_readme(out, plan, results, tables, info)
    return summary


def _pairs_json(pairs: Sequence[dict]) -> list[dict]:
    def name(a):
        return (
            None
            if a is None
            else {
                "label": a["label"],
                "params": a["params"],
                "relative_l2": a["relative_l2_median"],
                "seconds": a["seconds_median"],
            }
        )

    return [{"kan": name(p["kan"]), "mlp": name(p["mlp"]), "mlp_over_kan_error": p["ratio"]} for p in pairs]


def _headline_json(h: dict | None) -> dict | None:
    if h is None:
        return None
    keys = (
        "label",
        "params",
        "relative_l2_median",
        "relative_l2_min",
        "relative_l2_max",
        "mse_median",
        "seconds_median",
    )
    return {
        "kan": {k: h["kan"][k] for k in keys},
        "mlp": {k: h["mlp"][k] for k in keys},
        **{k: v for k, v in h.items() if k not in ("kan", "mlp")},
    }


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------

_KAN_COLORS = ("#1f77b4", "#2ca02c", "#17becf", "#9467bd")
_MLP_COLORS = ("#ff7f0e", "#d62728", "#8c564b", "#e377c2")


def _spec_of(row: dict) -> tuple[ModelSpec, int]:
    """The model spec and input dimension of a summary row or table row."""
    layers = [int(v) for v in str(row["layers"]).split("-")]
    grids = tuple(int(g) for g in str(row["grids"]).split("-") if g)
    return ModelSpec(row["model"], tuple(layers[1:-1]), grids), layers[0]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_figure(fig, path: Path) -> Path:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    return path


def _panel_grid(fig, n: int, command: str, title: str):
    cols = min(3, n)
    rows = -(-n // cols)
    fig.set_size_inches(4.8 * cols, 3.7 * rows + 0.5)
    import textwrap

    made = textwrap.fill(f"made by: {command}", width=int(15 * 4.8 * cols))
    fig.suptitle(f"{title}\n{made}", fontsize=8)
    return [fig.add_subplot(rows, cols, i + 1) for i in range(n)]


def _errorbar(ax, table: Sequence[dict], xkey: str, color: str, marker: str, label: str) -> None:
    table = [
        a
        for a in table
        if _finite(a["relative_l2_median"]) and _finite(a[f"{xkey}_median" if xkey != "params" else "params"])
    ]
    if not table:
        return
    if xkey == "params":
        table = sorted(table, key=lambda a: a["params"])
        x = [a["params"] for a in table]
        xerr = None
    else:
        table = sorted(table, key=lambda a: a[f"{xkey}_median"])
        x = [a[f"{xkey}_median"] for a in table]
        xerr = [
            [a[f"{xkey}_median"] - a[f"{xkey}_min"] for a in table],
            [a[f"{xkey}_max"] - a[f"{xkey}_median"] for a in table],
        ]
    y = [a["relative_l2_median"] for a in table]
    yerr = [
        [a["relative_l2_median"] - a["relative_l2_min"] for a in table],
        [a["relative_l2_max"] - a["relative_l2_median"] for a in table],
    ]
    ax.errorbar(
        x,
        y,
        yerr=yerr,
        xerr=xerr,
        color=color,
        marker=marker,
        markersize=5,
        linewidth=1.2,
        capsize=2,
        label=label,
    )


def _families(table: Sequence[dict]) -> list[tuple[str, list[dict], str, str]]:
    """Lines of the error plots: KANs grouped by grid schedule (across widths), MLPs by width (across depths)."""
    lines = []
    for i, grids in enumerate(dict.fromkeys(a["grids"] for a in table if a["model"] == "kan")):
        members = [a for a in table if a["model"] == "kan" and a["grids"] == grids]
        name = f"KAN G{grids.replace('-', '>')}, width " + ",".join(str(a["width"]) for a in members)
        lines.append((name, members, _KAN_COLORS[i % len(_KAN_COLORS)], "o"))
    for i, width in enumerate(dict.fromkeys(a["width"] for a in table if a["model"] == "mlp")):
        members = [a for a in table if a["model"] == "mlp" and a["width"] == width]
        name = f"MLP width {width}, depth " + ",".join(str(a["depth"]) for a in members)
        lines.append((name, members, _MLP_COLORS[i % len(_MLP_COLORS)], "s"))
    return lines


def _stage_ends(history: Sequence[dict]) -> dict[int, float]:
    """Relative L2 at the end of every grid stage: grid -> error."""
    ends: dict[int, float] = {}
    for r in history:
        if r.get("grid") is not None and "relative_l2" in r:
            ends[int(r["grid"])] = r["relative_l2"]
    return ends


def _extension_paths(ax, runs: Sequence[RunResult]) -> None:
    """Dashed: the median error at the end of each grid stage of a KAN's grid extension vs its size then."""
    specs = {}
    for r in runs:
        if r.row["model"] == "kan" and "-" in str(r.row["grids"]):
            specs.setdefault(r.row["label"], []).append(r)
    for i, members in enumerate(specs.values()):
        spec, dim = _spec_of(members[0].row)
        xs, ys = [], []
        for g in spec.grids:
            values = [e[g] for e in (_stage_ends(m.history) for m in members) if g in e and _finite(e[g])]
            if values:
                xs.append(spec.params_at(dim, g))
                ys.append(statistics.median(values))
        if len(xs) > 1:
            ax.plot(
                xs,
                ys,
                linestyle="--",
                linewidth=0.8,
                marker=".",
                color="0.45",
                label="KAN grid-extension path (stage ends)" if i == 0 else None,
            )


def error_figure(plan: Plan, results: Sequence[RunResult], tables: dict, command: str, xkey: str):
    """Relative L2 (median, min-max over seeds) against parameters (``xkey="params"``) or seconds."""
    keys = [(s.name, p) for s in plan.suites for p in s.problems]
    fig = _figure(10, 8)
    what = "parameter count" if xkey == "params" else "wall time"
    axes = _panel_grid(
        fig, len(keys), command, f"relative L2 error vs {what}: median over seeds, bars min-max"
    )
    for ax, (suite, problem) in zip(axes, keys, strict=True):
        table = tables[(suite, problem)]
        for name, members, color, marker in _families(table):
            _errorbar(ax, members, xkey, color, marker, name)
        if xkey == "params":
            _extension_paths(
                ax, [r for r in results if r.row["suite"] == suite and r.row["problem"] == problem]
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters" if xkey == "params" else "wall time per run (s)")
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"{problem} ({suite})", fontsize=9)
        ax.grid(True, which="major", color="0.9")
        ax.legend(fontsize=6)
    return fig


def staircase_figure(plan: Plan, results: Sequence[RunResult], tables: dict, command: str):
    """Relative L2 against optimiser step for the KANs with grid extension (every seed), grid changes
    marked; the most accurate MLP (gray) for reference."""
    keys = [(s.name, p) for s in plan.suites for p in s.problems]
    fig = _figure(10, 8)
    axes = _panel_grid(
        fig, len(keys), command, "grid-extension staircase: relative L2 vs optimiser step (every seed)"
    )
    for ax, (suite, problem) in zip(axes, keys, strict=True):
        runs = [r for r in results if r.row["suite"] == suite and r.row["problem"] == problem and r.history]
        marked: set[int] = set()
        kan_labels = list(
            dict.fromkeys(
                r.row["label"] for r in runs if r.row["model"] == "kan" and "-" in str(r.row["grids"])
            )
        )
        for i, label in enumerate(kan_labels):
            color = _KAN_COLORS[i % len(_KAN_COLORS)]
            for j, r in enumerate(x for x in runs if x.row["label"] == label):
                steps = [h["step"] for h in r.history if "relative_l2" in h]
                errors = [h["relative_l2"] for h in r.history if "relative_l2" in h]
                ax.plot(steps, errors, color=color, linewidth=1.0, alpha=0.8, label=label if j == 0 else None)
                for before, after in zip(r.history[:-1], r.history[1:], strict=False):
                    if before.get("grid") != after.get("grid") and before["step"] not in marked:
                        marked.add(before["step"])
                        ax.axvline(before["step"], linestyle=":", color="0.4", linewidth=0.9)
                        ax.text(
                            before["step"],
                            0.98,
                            f" grid {after.get('grid')}",
                            rotation=90,
                            va="top",
                            fontsize=6,
                            color="0.3",
                            transform=ax.get_xaxis_transform(),
                        )
        best = best_of(tables[(suite, problem)], "mlp")
        if best is not None:
            for j, r in enumerate(x for x in runs if x.row["label"] == best["label"]):
                steps = [h["step"] for h in r.history if "relative_l2" in h]
                errors = [h["relative_l2"] for h in r.history if "relative_l2" in h]
                ax.plot(
                    steps,
                    errors,
                    color="0.55",
                    linewidth=1.0,
                    linestyle="--",
                    label=f"{best['label']} (best MLP)" if j == 0 else None,
                )
        ax.set_yscale("log")
        ax.set_xlabel("optimiser step (all stages)")
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"{problem} ({suite})", fontsize=9)
        ax.grid(True, which="major", color="0.9")
        ax.legend(fontsize=6)
    return fig


FIGURES = ("error_vs_params.png", "error_vs_time.png", "staircase.png")


def write_figures(
    out: Path, plan: Plan, results: Sequence[RunResult], tables: dict, command: str
) -> list[Path]:
    return [
        _save_figure(error_figure(plan, results, tables, command, "params"), out / FIGURES[0]),
        _save_figure(error_figure(plan, results, tables, command, "seconds"), out / FIGURES[1]),
        _save_figure(staircase_figure(plan, results, tables, command), out / FIGURES[2]),
    ]


# --------------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------------


def _e(x: float) -> str:
    return f"{x:.2e}" if _finite(x) else "n/a"


def _times(r: float) -> str:
    return f"{r:.3g}x" if _finite(r) else "n/a"


def _spread(a: dict, m: str, fmt=_e) -> str:
    return f"{fmt(a[f'{m}_median'])} [{fmt(a[f'{m}_min'])}, {fmt(a[f'{m}_max'])}]"


def _s(x: float) -> str:
    return f"{x:.3g}" if _finite(x) else "n/a"


def _separated(k: dict, m: dict) -> str:
    """Whether the seed ranges of relative L2 are apart: 'KAN' / 'MLP' lower on every seed, or 'overlap'."""
    if k["relative_l2_max"] < m["relative_l2_min"]:
        return "KAN on every seed"
    if m["relative_l2_max"] < k["relative_l2_min"]:
        return "MLP on every seed"
    return "seed ranges overlap"


def _winner(ratio: float) -> str:
    if not _finite(ratio):
        return "n/a"
    return "KAN" if ratio > 1 else "MLP"


def _main_table(table: Sequence[dict]) -> list[str]:
    lines = [
        "| model | params | relative L2 median [min, max] | relative H1 median [min, max] | max error median | "
        "seconds median [min, max] | steps | evaluations | seeds (failed) |",
        "|---|---:|---|---|---:|---|---:|---:|---:|",
    ]
    for a in sorted(table, key=lambda a: (a["model"], a["params"])):
        lines.append(
            f"| {a['label']} | {a['params']} | {_spread(a, 'relative_l2')} | {_spread(a, 'relative_h1')} | "
            f"{_e(a['max_abs_median'])} | {_spread(a, 'seconds', _s)} | {_s(a['steps_median'])} | "
            f"{_s(a['evaluations_median'])} | {a['n_seeds']} ({a['n_failed']}) |"
        )
    return lines


def _params_table(pairs: Sequence[dict]) -> list[str]:
    lines = [
        "| KAN | params | rel. L2 | MLP nearest in params | params | rel. L2 | MLP/KAN error | lower error |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for p in pairs:
        k, m = p["kan"], p["mlp"]
        if m is None:
            lines.append(
                f"| {k['label']} | {k['params']} | {_e(k['relative_l2_median'])} | no MLP within 2x | | | | |"
            )
            continue
        lines.append(
            f"| {k['label']} | {k['params']} | {_e(k['relative_l2_median'])} | {m['label']} | {m['params']} | "
            f"{_e(m['relative_l2_median'])} | {_times(p['ratio'])} | {_winner(p['ratio'])} ({_separated(k, m)}) |"
        )
    return lines


def _time_table(pairs: Sequence[dict]) -> list[str]:
    lines = [
        "| time budget: model | its median s | rel. L2 | best other family within that time | median s | rel. L2 | "
        "MLP/KAN error | lower error |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for p in pairs:
        a, b = p["budget"], p["other"]
        head = f"| {a['label']} | {_s(a['seconds_median'])} | {_e(a['relative_l2_median'])} |"
        if b is None:
            lines.append(head + " none was as fast | | | | |")
            continue
        lines.append(
            head + f" {b['label']} | {_s(b['seconds_median'])} | {_e(b['relative_l2_median'])} | "
            f"{_times(p['ratio'])} | {_winner(p['ratio'])} ({_separated(p['kan'], p['mlp'])}) |"
        )
    return lines


def reading(suite: Suite, problem: str, table: Sequence[dict]) -> str:
    """A short generated reading of one problem's table: equal parameters, equal time, best of each."""
    parts = []
    pairs = [p for p in equal_params(table) if p["mlp"] is not None and _finite(p["ratio"])]
    if pairs:
        wins = sum(p["ratio"] > 1 for p in pairs)
        ratios = sorted(p["ratio"] for p in pairs)
        parts.append(
            f"at equal parameters the KAN has the lower error in {wins} of {len(pairs)} pairs "
            f"(MLP/KAN error {_times(ratios[0])} to {_times(ratios[-1])})"
        )
    else:
        parts.append("no MLP came within 2x of a KAN's parameter count")
    timed = [p for p in equal_time(table) if p["other"] is not None and _finite(p["ratio"])]
    if timed:
        wins = sum(p["ratio"] > 1 for p in timed)
        parts.append(f"at equal wall time the KAN has the lower error in {wins} of {len(timed)} comparisons")
    k, m = best_of(table, "kan"), best_of(table, "mlp")
    if k is not None and m is not None:
        r = _ratio(m["relative_l2_median"], k["relative_l2_median"])
        parts.append(
            f"the best of each family (same schedule, unmatched size and time): {k['label']} {_e(k['relative_l2_median'])} "
            f"({k['params']} params, {_s(k['seconds_median'])} s) vs {m['label']} {_e(m['relative_l2_median'])} "
            f"({m['params']} params, {_s(m['seconds_median'])} s): {_winner(r)} lower by {_times(max(r, 1 / r) if _finite(r) else r)}"
        )
    failed = sum(a["n_failed"] for a in table)
    if failed:
        parts.append(f"{failed} run(s) failed (see summary.csv notes)")
    return f"**{problem}** ({suite.name}), {verdict(table)}: " + "; ".join(parts) + "."


def verdict(table: Sequence[dict]) -> str:
    """'KAN ahead', 'MLP ahead' or 'mixed' over the equal-parameter and equal-time comparisons together."""
    ratios = [p["ratio"] for p in equal_params(table) if p["mlp"] is not None and _finite(p["ratio"])]
    ratios += [p["ratio"] for p in equal_time(table) if p["other"] is not None and _finite(p["ratio"])]
    if not ratios:
        return "no matched comparison"
    wins, n = sum(r > 1 for r in ratios), len(ratios)
    if wins == n:
        return "KAN ahead in every matched comparison"
    if wins == 0:
        return "MLP ahead in every matched comparison"
    lean = "mostly KAN" if wins >= 0.75 * n else "mostly MLP" if wins <= 0.25 * n else "mixed"
    return f"{lean} (KAN ahead in {wins} of {n} matched comparisons)"


def _headline_text(suite: Suite, h: dict | None) -> list[str]:
    if h is None:
        return [f"The headline pair of suite `{suite.name}` was not run (or failed).", ""]
    k, m = h["kan"], h["mlp"]
    verdict = "beats" if h["l2_ratio"] > 1 else "does not beat"
    mlp_name = f"depth-{m['depth']} width-{m['width']} **{m['label']}**"
    lines = [
        f"**{k['label']}** ({k['params']} parameters) {verdict} the {mlp_name} ({m['params']} parameters) in "
        f"this run: median relative L2 {_e(k['relative_l2_median'])} [{_e(k['relative_l2_min'])}, "
        f"{_e(k['relative_l2_max'])}] against {_e(m['relative_l2_median'])} [{_e(m['relative_l2_min'])}, "
        f"{_e(m['relative_l2_max'])}] over {k['n_seeds']} seeds: the MLP's error is **{_times(h['l2_ratio'])} "
        f"the KAN's in relative L2 and {_times(h['mse_ratio'])} in MSE** (median MSE {_e(k['mse_median'])} vs "
        f"{_e(m['mse_median'])}). "
        + (
            "The KAN is more accurate on every seed."
            if h["kan_wins_every_seed"]
            else "The seed ranges overlap: the KAN is not more accurate on every seed."
        ),
        "",
        f"Budgets: the optimiser schedule is the same ({suite.schedule_text()} steps); the parameters are not "
        f"(the MLP has {_times(h['params_ratio'])} the KAN's), nor the wall time (the MLP took "
        f"{_times(h['time_ratio'])} the KAN's time per run: {_s(m['seconds_median'])} s vs "
        f"{_s(k['seconds_median'])} s).",
        "",
    ]
    if suite.name == "paper":
        lines += [
            "For comparison, the paper (Liu et al. 2024, §3.4, Fig. 3.3) reports KAN [2,10,1] at MSE about 1e-7 "
            "against about 1e-5 for the 4-layer width-100 MLP: 100x in MSE with about 100x fewer parameters. "
            + _paper_text(h),
            "",
        ]
    if suite.note:
        lines += [f"Note on this suite: {suite.note}.", ""]
    return lines


def _weights(results: Sequence[RunResult], suite: str, problem: str) -> str:
    """The PDE-term weights the runs of one problem used, as recorded."""
    found = {
        r.row["residual_weight"] for r in results if r.row["suite"] == suite and r.row["problem"] == problem
    }
    return ", ".join(str(w) for w in sorted(found, key=float)) or "n/a"


def _plan_text(plan: Plan) -> str:
    return (
        "; ".join(
            f"suite `{s.name}` with {len(s.problems)} problem(s), {len(s.models)} models, {len(s.seeds)} seeds"
            for s in plan.suites
        )
        + f"; {plan.runs()} runs"
    )


def _paper_text(h: dict) -> str:
    """How this run's headline MSEs sit against the paper's (KAN about 1e-7, MLP about 1e-5)."""
    k, m = h["kan"]["mse_median"], h["mlp"]["mse_median"]

    def against(value: float, paper: float) -> str:
        if not _finite(value):
            return "n/a"
        return f"{_times(value / paper)} the paper's {paper:.0e}"

    return (
        f"Here the KAN's median MSE is {_e(k)} ({against(k, 1e-7)}) and the MLP's {_e(m)} "
        f"({against(m, 1e-5)}). Where a model's MSE is far above the paper's, it is not trained to "
        "convergence by this schedule, and the ratio measures training speed under this budget more than "
        "what each architecture can reach."
    )


def _other_runs(out: Path) -> list[str]:
    """One line per sub-folder holding a finished run (e.g. a longer run of the headline pair)."""
    lines = []
    for path in sorted(out.glob("*/summary.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        text = f"- [`{path.parent.name}/`]({path.parent.name}/README.md), made by `{data.get('command')}`"
        for name, h in (data.get("headlines") or {}).items():
            if h:
                schedule = next(
                    (
                        " then ".join(f"{n} x {k}" for n, k in s["schedule"])
                        for s in data["suites"]
                        if s["name"] == name
                    ),
                    "?",
                )
                text += (
                    f": {h['kan']['label']} {_e(h['kan']['relative_l2_median'])} vs {h['mlp']['label']} "
                    f"{_e(h['mlp']['relative_l2_median'])} median relative L2 after {schedule} steps, the MLP's "
                    f"error {_times(h['l2_ratio'])} the KAN's ({_times(h['mse_ratio'])} in MSE)"
                )
        lines.append(text + ".")
    return lines


def write_readme(out: Path, plan: Plan, results: Sequence[RunResult], tables: dict, info: dict) -> Path:
    command = info["command"]
    minutes = info["total_seconds"] / 60
    lines = [
        "# KAN vs MLP on PDEs: benchmark results",
        "",
        f"Generated by `{command}` ({info['date']}; {minutes:.1f} minutes in all; plan `{plan.name}`: "
        f"{_plan_text(plan)}). Do not edit by hand: rerun the command."
        + (
            f" Tables, figures and this README were rewritten from those runs by `{info['report_command']}`."
            if info.get("report_command")
            else ""
        ),
        "",
        f"Machine: {info['cpu_count']} CPU cores, torch {info['torch']} with {info['threads']} thread(s), "
        f"Python {info['python']}, device {info['device']}, float64. Wall times are per run, around `kp.solve` "
        "(they include the periodic error logging) on a machine shared with other work, so read them as rough.",
        "",
    ]
    for suite in plan.suites:
        if suite.headline is not None:
            h = headline(suite, tables[(suite.name, suite.problems[0])])
            lines += [f"## Headline: the KAN paper's Poisson setup (suite `{suite.name}`)", ""]
            lines += _headline_text(suite, h)
    others = _other_runs(out)
    if others:
        lines += ["## Other runs in this folder", "", *others, ""]
    lines += [
        "## How the comparison is made",
        "",
        "- **Same points.** For a given problem and seed `s`, every model trains on the same collocation points: "
        "`kp.solve(..., seed=s)` samples them (Sobol). The model's initial parameters come from the same `s` "
        "(`kp.KAN(..., seed=s)`, `kp.MLP(..., seed=s)`). Seeds 0, 1, 2, ...: different seeds change both the "
        "points and the initialisation.",
        "- **Same optimiser schedule.** Each suite has one schedule, the total steps of every run. A KAN trained "
        "with grid extension on n grids (e.g. 5, 10, 20) runs 1/n of every stage at each grid, so KANs and MLPs "
        "take the same number of optimiser steps; the steps and loss evaluations actually taken are in the "
        "tables (a stage can end early, e.g. when Levenberg-Marquardt finds no further decrease: see notes).",
        "- **Matched budgets are stated, never mixed.** The main tables compare at equal schedule only. The "
        "*equal parameters* tables pair each KAN with the MLP nearest in parameter count (within 2x); the "
        "*equal wall time* tables pair each configuration with the most accurate configuration of the other "
        "family whose median time per run was no longer. The headline pair is the paper's comparison, at equal "
        "schedule but unequal parameters and time; both ratios are given.",
        "- **Metrics** (`Solution.metrics()`): relative L2, relative H1 (spatial gradient) and max error on the "
        "fixed evaluation grid of `kanpde.solution` (101x101 in 2-D; 41x41x21 for heat2d); MSE = mean squared "
        "error on the same grid. Median over seeds, spread = [min, max] over seeds.",
        "- Depth counts weight layers (as the paper's 'depth'): MLP [2,100,100,100,1] has depth 4.",
        "",
        "## Reading",
        "",
        "MLP/KAN error above 1x means the KAN is more accurate; 'every seed' means the seed ranges do not "
        "overlap, otherwise the difference is within the seed spread.",
        "",
    ]
    for suite in plan.suites:
        for name in suite.problems:
            lines += [f"- {reading(suite, name, tables[(suite.name, name)])}"]
    lines += [""]
    for suite in plan.suites:
        lines += [
            f"## Suite `{suite.name}`",
            "",
            f"Problems: {', '.join(suite.problems)}. Seeds: {', '.join(map(str, suite.seeds))}. "
            + (f"Residual weight α = {suite.residual_weight}. " if suite.residual_weight is not None else "")
            + f"Budget: {suite.budget_text()}.",
            "",
            f"Note: {suite.note}." if suite.note else "",
            "",
        ]
        for name in suite.problems:
            table = tables[(suite.name, name)]
            lines += [
                f"### {name}",
                "",
                f"Table: `{suite.name}_{name}.csv` / `.json`. Equal optimiser schedule ({suite.schedule_text()}). "
                f"Residual weight α = {_weights(results, suite.name, name)}.",
                "",
                *_main_table(table),
                "",
                "Equal parameters:",
                "",
                *_params_table(equal_params(table)),
                "",
                "Equal wall time:",
                "",
                *_time_table(equal_time(table)),
                "",
            ]
    lines += [
        "## Figures",
        "",
        "Error vs parameter count (log-log, as the KAN paper's Fig. 3.3; dashed: a KAN's error at the end of "
        "each grid stage against its size at that grid):",
        "",
        "![error vs parameters](error_vs_params.png)",
        "",
        "Error vs wall time per run:",
        "",
        "![error vs time](error_vs_time.png)",
        "",
        "Grid-extension staircase (relative L2 against optimiser step, dotted lines where the grid changes; "
        "gray dashed: the most accurate MLP):",
        "",
        "![staircase](staircase.png)",
        "",
        "## Files",
        "",
        "- `summary.csv`: one row per run. Columns: " + ", ".join(f"`{c}`" for c in SUMMARY_COLUMNS) + ". "
        "`width` is the hidden width, `depth` the number of weight layers, `grid` the final KAN grid (0 for an "
        "MLP), `grids` the KAN grid stages, `params` the trainable parameters at the end, `seconds` the wall time "
        "of the run, `steps` the optimiser steps and `evaluations` the loss (and gradient or Jacobian) "
        "evaluations, `notes` early stops or failures.",
        "- `summary.json`: the settings, environment, rows, per-problem aggregates and headline.",
        "- `<suite>_<problem>.csv` / `.json`: median, min and max over seeds per configuration; the JSON also "
        "holds the equal-parameter and equal-time pairings and every run's error history.",
        "",
    ]
    path = out / "README.md"
    with atomic_write(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def add_arguments(
    parser: argparse.ArgumentParser, default_out: str = "runs/kan_vs_mlp", prog: str = "kanpde bench"
) -> argparse.ArgumentParser:
    """Add the ``bench`` options to ``parser`` (``kanpde bench`` and ``benchmarks/kan_vs_mlp.py``).

    ``default_out`` is the output folder without ``--out``; ``prog`` starts the command recorded in the
    outputs.
    """
    parser.description = parser.description or (
        "Train KANs and MLPs on the same points with the same optimiser schedule over several seeds; write "
        "summary.csv, per-problem tables, figures and a README."
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of the harness (under 3 minutes)")
    parser.add_argument("--out", default=None, help=f"output folder (default {default_out})")
    parser.add_argument(
        "--suites", default=None, help="comma-separated suites of the plan to run: sweep,paper"
    )
    parser.add_argument(
        "--problems",
        default=None,
        help="comma-separated problems (default: each suite's; the paper suite runs poisson2d only)",
    )
    parser.add_argument("--seeds", default=None, help="number of seeds per configuration (default 3)")
    parser.add_argument(
        "--steps",
        default=None,
        help="total optimiser steps per run, replacing each suite's (stages scaled in proportion)",
    )
    parser.add_argument(
        "--threads",
        default="1",
        help="torch intra-op threads (default 1: on a busy 2-core machine 2 threads ran up to 10x slower)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--headline-only",
        action="store_true",
        help="run only the suites' headline pairs (KAN [2,10,1] vs the depth-4 width-100 MLP), e.g. with more --steps",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="no training: rewrite the tables, figures and README from OUT/summary.json and its per-problem JSON",
    )
    parser.set_defaults(bench_prog=prog, bench_default_out=default_out)
    return parser


def _positive(name: str, value: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValueError(f"--{name} takes a positive integer, got {value!r}") from None
    if n < 1:
        raise ValueError(f"--{name} takes a positive integer, got {value!r}")
    return n


def _rescale(schedule: tuple[tuple[str, int], ...], total: int, multiple: int) -> tuple[tuple[str, int], ...]:
    """Scale the stages to ``total`` steps, each rounded to a multiple of ``multiple`` (at least one)."""
    old = sum(s for _, s in schedule)
    return tuple((n, max(multiple, round(s * total / old / multiple) * multiple)) for n, s in schedule)


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The plan chosen by ``--quick`` and narrowed by ``--suites``, ``--problems``, ``--seeds``, ``--steps``."""
    plan = PLANS["quick" if args.quick else "full"]
    suites = list(plan.suites)
    if args.suites:
        wanted = [s.strip() for s in args.suites.split(",") if s.strip()]
        names = [s.name for s in suites]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise ValueError(f"unknown suite(s) {', '.join(unknown)}; this plan has: {', '.join(names)}")
        suites = [s for s in suites if s.name in wanted]
    changed = []
    for suite in suites:
        kw = {}
        if args.problems:
            from .catalog import list_problems

            wanted = [p.strip() for p in args.problems.split(",") if p.strip()]
            shipped = list_problems()
            unknown = [p for p in wanted if p not in shipped]
            if unknown:
                raise ValueError(f"unknown problem(s) {', '.join(unknown)}; shipped: {', '.join(shipped)}")
            kw["problems"] = tuple(p for p in wanted if suite.name != "paper" or p == "poisson2d")
            if not kw["problems"]:
                continue
        if args.seeds is not None:
            kw["seeds"] = tuple(range(_positive("seeds", args.seeds)))
        if getattr(args, "headline_only", False):
            if suite.headline is None:
                continue
            kw["models"] = suite.headline
        if args.steps is not None:
            models = kw.get("models", suite.models)
            multiple = math.lcm(*(max(1, len(m.grids)) for m in models))
            kw["schedule"] = _rescale(suite.schedule, _positive("steps", args.steps), multiple)
        edits = []
        if "schedule" in kw:
            edits.append(
                f"--steps replaced the schedule by {' then '.join(f'{n} x {k}' for n, k in kw['schedule'])}"
            )
        if getattr(args, "headline_only", False):
            edits.append("--headline-only ran the headline pair alone")
        if edits:
            kw["note"] = (suite.note + "; " if suite.note else "") + "in this run " + " and ".join(edits)
        changed.append(dataclasses.replace(suite, **kw))
    if not changed:
        raise ValueError("nothing to run: --suites/--problems/--headline-only left no suite to run")
    return Plan(plan.name, tuple(changed), plan.description)


def _command(args: argparse.Namespace, out: Path) -> str:
    parts = [getattr(args, "bench_prog", "kanpde bench")]
    if args.quick:
        parts.append("--quick")
    for opt in ("suites", "problems", "seeds", "steps"):
        if getattr(args, opt) is not None:
            parts += [f"--{opt}", str(getattr(args, opt))]
    if str(args.threads) != "1":
        parts += ["--threads", str(args.threads)]
    if args.device != "cpu":
        parts += ["--device", args.device]
    if getattr(args, "headline_only", False):
        parts.append("--headline-only")
    if getattr(args, "report_only", False):
        parts.append("--report-only")
    try:
        shown = out.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = out
    parts += ["--out", str(shown)]
    return " ".join(parts)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark the parsed ``args`` describe; returns the exit status (0)."""
    plan = plan_from_args(args)
    threads = _positive("threads", args.threads)
    if args.device not in ("cpu", "cuda"):
        raise ValueError(f"unknown --device {args.device!r}; valid ones: cpu, cuda")
    out = Path(args.out or getattr(args, "bench_default_out", "runs/kan_vs_mlp"))
    if args.report_only:
        plan, results, info = load_results(out)
        info["report_command"] = _command(args, out)
        write_outputs(out, plan, results, info)
        _log(f"rewrote the report in {out} from the runs of: {info['command']}")
        return 0
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        run_plan(plan, out, command=_command(args, out), device=args.device, log=_log)
    finally:
        torch.set_num_threads(before)
    return 0


def _log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="kanpde bench"))
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
