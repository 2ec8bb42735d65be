"""The PINNacle suite (Hao et al. 2024): kanpde's KAN and MLP on the ten tasks of issue 26, at equal wall time,
beside PINNacle's published best L2RE.

    python benchmarks/pinnacle.py --data ../shared/pinnacle --budget 90 --threads 1
    python benchmarks/pinnacle.py --data DIR --tasks Burgers1d-C,PInv --seeds 0,1,2 --budget 120
    python benchmarks/pinnacle.py --data DIR --tasks NS2d-CG --seeds 0,1,2 --merge   # redo rows, keep the rest
    python benchmarks/pinnacle.py --render A.json B.json --notes benchmarks/pinnacle_notes.md  # one table
    python benchmarks/pinnacle.py --quick --out /tmp/pinnacle          # seconds a run: proves the script runs

``--data`` is the folder of PINNacle's COMSOL files (its ``ref/``: ``burgers1d.dat``, ``heat_longtime.dat``,
``heatinv_points.dat``, ``ns_0_obstacle.dat``, ``poisson_boltzmann2d.dat``). Every task is a problem file
``problems/pinnacle_*.py`` loaded with ``make_problem(data=DIR)`` where it takes data, and trained twice: the
KAN and the MLP of :data:`TASKS` (float64, CPU, the solver's default collocation points, seed s), each with
the same wall-time budget (``--budget`` seconds): training stops at the first step past the budget (the
parameters of the last completed step are kept) or when the schedule ends, whichever comes first, so a model
may use less than the budget (its seconds are in the table). Tasks with ``windows > 1`` are time-marched
(:func:`kanpde.march`): each window gets ``budget / windows`` seconds. Tasks with ``time_steps`` are solved in
implicit Runge-Kutta steps (:func:`kanpde.discrete_time`): the fit to the initial value and each step get the
budget left in proportion to their optimiser steps (:class:`SharedBudget`). A task's ``budget_factor`` (2 for
Burgers1d-C, Poisson2d-CG, Heat2d-MS and NS2d-CG, 60 for Heat2d-LT's 500 steps) multiplies its budget, for both
models alike.

Each row of the JSON names its run (command, date, machine, kanpde's source digest and commit); ``--merge``
keeps the rows of an existing JSON that a run does not redo, and ``--render`` writes one table from several
JSONs (a later row of the same task, model and seed replaces an earlier one). A task counts as better than
PINNacle's best when the median L2RE of its better model is below PINNacle's and below :data:`SOLVED`.

The error is PINNacle's L2RE: ``||u - u*|| / ||u*||`` over all output fields together, on the COMSOL nodes
(reference tasks) or on kanpde's evaluation grid of the domain (exact solutions).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from _provenance import kanpde_source, machine  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp
from kanpde._atomic import atomic_write, write_json

SOLVED = 0.5  # an L2RE at or above this is no solution (u = 0 scores 1): such a row is not counted as a win
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PROBLEMS = ROOT / "problems"


@dataclass(frozen=True)
class Task:
    """One PINNacle task: its problem file, the published best L2RE, and the two models' settings."""

    file: str
    pinnacle: str
    best: float
    kan: dict
    mlp: dict
    options: dict = field(default_factory=dict)  # solve options of both models
    kan_options: dict = field(default_factory=dict)
    mlp_options: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # make_problem's parameters
    data: bool = False  # make_problem takes data=
    windows: int = 1
    time_steps: int = 0  # > 0: kp.discrete_time in this many Radau IIA steps of `stages` stages
    stages: int = 3
    fit_steps: int | None = None  # the steps of the fit to the initial value (None: those of a time step)
    budget_factor: float = 1.0  # this task's budget: --budget times this (both models alike)
    note: str = ""

    def settings(self, family: str) -> dict:
        """The model and solve settings of ``family`` (``"kan"`` or ``"mlp"``), as a problem file's
        ``recommended`` states them: the problem file of each task recommends its better model's settings, so
        that ``kanpde solve FILE`` runs what this benchmark ran (``tests/test_pinnacle.py`` checks it)."""
        spec = self.kan if family == "kan" else self.mlp
        options = {**self.options, **(self.kan_options if family == "kan" else self.mlp_options)}
        marching = {"windows": self.windows} if self.windows > 1 else {}
        stepping = {"time_steps": self.time_steps, "stages": self.stages} if self.time_steps else {}
        stepping |= {"fit_steps": self.fit_steps} if self.time_steps and self.fit_steps else {}
        return {"model": family, **spec, **options} | marching | stepping


TASKS: dict[str, Task] = {
    "Burgers1d-C": Task(
        "pinnacle_burgers1d_c",
        "burgers.Burgers1D",
        1.45e-2,
        kan={"width": (2, 10, 1), "grid": 5},
        mlp={"width": (2, 20, 20, 20, 1)},
        options={"resample_every": 25},
        kan_options={"grids": (5, 10, 20), "steps": 600},
        mlp_options={"steps": 2000},
        data=True,
        budget_factor=2.0,
        note="collocation points redrawn from the residual (RAD) every 25 steps",
    ),
    "Poisson2d-CG": Task(
        "pinnacle_poisson2d_cg",
        "poisson.PoissonBoltzmann2D",
        1.43e-2,
        kan={"width": (2, 10, 1), "grid": 5},
        mlp={"width": (2, 20, 20, 20, 1)},
        kan_options={"grids": (5, 10, 20, 40), "steps": 600},
        mlp_options={"steps": 2000},
        data=True,
        budget_factor=2.0,
    ),
    "Heat2d-MS": Task(
        "pinnacle_heat2d_ms",
        "heat.Heat2D_Multiscale",
        6.21e-2,
        kan={"width": (3, 6, 1), "grid": [(40, 4, 4), 4]},
        mlp={"width": (3, 20, 20, 20, 1)},
        options={"n_interior": 8000, "n_initial": 3000, "n_boundary": 1000},
        kan_options={"grids": (4,), "steps": 2000},
        mlp_options={"steps": 2000},
        budget_factor=2.0,
        note="sin(20 pi x): more points than the defaults, and a KAN with 40 x-intervals in its first layer",
    ),
    "Heat2d-LT": Task(
        "pinnacle_heat2d_lt",
        "heat.Heat2D_LongTime",
        9.99e-1,
        kan={"width": (2, 10, 3), "grid": 20},
        mlp={"width": (2, 20, 20, 20, 3)},
        options={"n_interior": 1000, "steps": 30},
        kan_options={"grids": (20,), "lm_scaling": "marquardt"},
        data=True,
        time_steps=500,
        stages=3,
        fit_steps=200,
        budget_factor=60.0,
        note="KAN seeds 0, 1 (Marquardt damping), MLP seed 0 (benchmarks/pinnacle_notes.md)",
    ),
    "PNd": Task(
        "pinnacle_poisson_nd",
        "poisson.PoissonND",
        4.67e-4,
        kan={"width": (5, 1, 1), "grid": 5},
        mlp={"width": (5, 20, 20, 1)},
        kan_options={"grids": (5, 10, 20), "steps": 300},
        mlp_options={"steps": 1000},
        note="KAN [5, 1, 1]: the additive structure of the exact solution",
    ),
    "NS2d-CG": Task(
        "pinnacle_ns2d_cg",
        "ns.NS2D_BackStep",
        8.24e-2,
        kan={"width": (2, 10, 3), "grid": 5},
        mlp={"width": (2, 20, 20, 20, 3)},
        kan_options={"grids": (5, 10, 20), "steps": 100},
        mlp_options={"steps": 2000},
        options={"n_interior": 3000, "n_boundary": 1000},
        data=True,
        budget_factor=2.0,
        note="outlet: PINNacle's p = 0 and the traction-free u_y + v_x = 0 its COMSOL reference satisfies "
        "(problems/pinnacle_ns2d_cg.py)",
    ),
    "Wave1d-C": Task(
        "pinnacle_wave1d",
        "wave.Wave1D",
        9.79e-2,
        kan={"width": (2, 10, 1), "grid": 5},
        mlp={"width": (2, 20, 20, 20, 1)},
        kan_options={"grids": (5, 10, 20, 40, 80), "steps": 600},
        mlp_options={"steps": 2000},
        params={"residual_weight": 1e-4},
        note="the PDE's mean squared residual weighted 1e-4 against the conditions'",
    ),
    "Wave2d-MS": Task(
        "pinnacle_wave2d_ms",
        "wave.Wave2D_LongTime",
        9.82e-1,
        kan={"width": (3, 8, 1), "grid": 5},
        mlp={"width": (3, 20, 20, 20, 1)},
        options={"n_interior": 1500, "n_boundary": 300, "n_initial": 500},
        kan_options={"grids": (5,), "steps": 1000},
        mlp_options={"steps": 1000},
        windows=10,
        note="PINNacle's 'exact' function does not solve its PDE (problems/pinnacle_wave2d_ms.py)",
    ),
    "PInv": Task(
        "pinnacle_pinv",
        "inverse.PoissonInv",
        2.45e-2,
        kan={"width": (2, 10, 2), "grid": 5},
        mlp={"width": (2, 20, 20, 20, 2)},
        kan_options={"grids": (5, 10, 20), "steps": 600},
        mlp_options={"steps": 2000},
        note="PINNacle's source f does not match its u*, a* (problems/pinnacle_pinv.py); stated as PINNacle does",
    ),
    "HInv": Task(
        "pinnacle_hinv",
        "inverse.HeatInv",
        5.26e-2,
        kan={"width": (3, 10, 2), "grid": 5},
        mlp={"width": (3, 20, 20, 20, 2)},
        kan_options={"grids": (5, 10), "steps": 2000},
        mlp_options={"steps": 2000},
        data=True,
        params={"residual_weight": 1e-2},
        note="the PDE's mean squared residual weighted 1e-2 against the data's",
    ),
}


class Budget(kp.Observer):
    """Stops a solve at the first step that ends past ``seconds`` after it was made (a ``KeyboardInterrupt``
    the caller catches; the trainer rolls back to the last completed step and hands the solution over)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = float(seconds), time.perf_counter()
        self.hit, self.solution = False, None

    def on_step(self, run) -> None:
        if time.perf_counter() - self.start > self.seconds:
            self.hit = True
            raise KeyboardInterrupt

    def on_interrupt(self, solution) -> None:
        self.solution = solution


class SharedBudget:
    """A ``kp.solve`` for :func:`kanpde.discrete_time` that shares ``seconds`` among its solves (the fit to the
    initial value, then every time step): each solve gets the seconds left times its share of the optimiser
    steps left, ``planned`` in all, so a solve that ends early leaves its time to the later ones."""

    def __init__(self, seconds: float, planned: int) -> None:
        self.left, self.planned = float(seconds), int(planned)

    def __call__(self, problem, model, **options):
        steps = options.get("steps") or options["settings"].schedule.total_steps
        share = self.left * min(1.0, steps / max(self.planned, 1))
        start = time.perf_counter()
        solution = solve_within(share)(problem, model, **options)
        self.left -= time.perf_counter() - start
        self.planned -= steps
        return solution


def solve_within(seconds: float):
    """A ``kp.solve`` that stops at ``seconds`` (:class:`Budget`)."""

    def run(problem, model, **options):
        budget = Budget(seconds)
        try:
            return kp.solve(problem, model, callbacks=[budget], **options)
        except KeyboardInterrupt:
            if not budget.hit:
                raise
            return budget.solution

    return run


def load(task: Task, data: str | None) -> kp.Problem:
    kwargs = {**task.params, **({"data": data} if task.data else {})}
    return kp.load_problem(PROBLEMS / f"{task.file}.py", **kwargs)


def build(family: str, spec: dict, problem: kp.Problem, seed: int, stages: int = 0):
    """The task's model; with ``stages`` > 0 the network of :func:`kanpde.discrete_time` (the space
    coordinates in, one value per stage out)."""
    width = spec["width"]
    n_in = problem.domain.space_dim if stages else problem.domain.dim
    n_out = stages if stages else len(problem.fields)
    if width[0] != n_in or width[-1] != n_out:
        raise ValueError(f"{problem.name}: width {width} does not fit {n_in} in, {n_out} out")
    if family == "kan":
        return kp.KAN(list(width), grid=spec.get("grid", 5), seed=seed, dtype=torch.float64)
    return kp.MLP(list(width), activation=spec.get("activation", "tanh"), seed=seed, dtype=torch.float64)


def run_one(
    name: str, task: Task, family: str, seed: int, budget: float, data: str | None, quick: bool
) -> dict:
    """One model on one task: the row of the JSON."""
    problem = load(task, data)
    if not problem.has_truth:
        raise FileNotFoundError(
            f"{name}: no reference (the data file of {task.file} was not found); pass --data DIR, the folder of "
            "PINNacle's ref/ files"
        )
    spec = task.kan if family == "kan" else task.mlp
    model = build(family, spec, problem, seed, task.stages if task.time_steps else 0)
    settings = task.settings(family)
    stepping = {"time_steps", "stages", "fit_steps"}
    options = {k: v for k, v in settings.items() if k not in {"model", "windows", *stepping, *spec}}
    if quick:
        options["steps"] = 4
    options.update(seed=seed, device="cpu", dtype="float64", log_every=10**6)
    windows = 2 if quick and task.windows > 1 else task.windows
    time_steps = min(task.time_steps, 2) if quick else task.time_steps
    fit_steps = None if quick else task.fit_steps
    budget = budget * task.budget_factor
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if time_steps:
            planned = (fit_steps or options["steps"]) + time_steps * options["steps"]
            within = SharedBudget(budget, planned)
            sol = kp.discrete_time(
                problem, model, time_steps, stages=task.stages, fit_steps=fit_steps, solve=within, **options
            )
        elif windows > 1:
            sol = kp.march(problem, model, windows, solve=solve_within(budget / windows), **options)
        else:
            sol = solve_within(budget)(problem, model, **options)
    seconds = time.perf_counter() - start
    metrics = sol.metrics()
    parts = [s.solution for s in sol.solutions] if time_steps else sol.solutions if windows > 1 else [sol]
    steps = sum(s.trainer_state.step for s in parts if s.trainer_state is not None)
    row = {
        "task": name,
        "model": family,
        "seed": seed,
        "width": list(spec["width"]),
        "params": int(sol.model.num_parameters),
        "windows": windows,
        "time_steps": time_steps,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
        "l2re": float(metrics["relative_l2"]),
        "fields": {k: v["relative_l2"] for k, v in metrics.get("fields", {}).items()},
        "budget": budget,
        "seconds": seconds,
        "steps": int(steps),
        "load_average": load_avg,
    }
    if windows > 1:
        row["window_l2re"] = [w["relative_l2"] for w in metrics["windows"]]
    if time_steps:  # the error over each tenth of the time span (the steps are too many to list)
        row["tenth_l2re"] = tenths(sol)
    return row


def tenths(sol: kp.Marching) -> list[float]:
    """L2RE of a stepped solution over each tenth of its time span, against the problem's truth (NaN for a
    tenth without points)."""
    x, true = sol.problem.truth(torch.float64, "cpu")
    u, (t0, t1), true = sol(x), sol.problem.domain.t, true[:, 0]  # (M,) each
    part = torch.clamp(((x[:, -1] - t0) / (t1 - t0) * 10).long(), max=9)  # (M,) in 0..9
    return [
        float((u[part == k] - true[part == k]).norm() / true[part == k].norm())
        if bool((part == k).any())
        else math.nan
        for k in range(10)
    ]


def fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.2e}"


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per task and model: the median L2RE over seeds, the seeds' values and the mean seconds."""
    out: dict[str, dict] = {}
    for r in rows:
        cell = out.setdefault(r["task"], {}).setdefault(
            r["model"], {"l2re": [], "seconds": [], "params": r["params"], "seeds": [], "budgets": []}
        )
        cell["budgets"].append(r["budget"])
        cell["l2re"].append(r["l2re"])
        cell["seconds"].append(r["seconds"])
        cell["seeds"].append(r["seed"])
    for models in out.values():
        for cell in models.values():
            vals = sorted(cell["l2re"])
            cell["median"] = vals[len(vals) // 2]
            cell["mean_seconds"] = sum(cell["seconds"]) / len(cell["seconds"])
    return out


def run_line(run: dict) -> str:
    """One run's provenance: its command, date, machine, threads, load and the kanpde it ran."""
    m, src = run["machine"], run["source"]
    commit = f" (commit {src['commit'][:9]})" if src.get("commit") else ""
    return (
        f"`{run['command']}` ({run['date']}), {m['cpu']}, {m['cpu_count']} cores shared with other jobs (load "
        f"average at start {m['load_average_at_start'][0]:.1f}), torch {m['torch']} on {m['torch_threads']} "
        f"thread(s), float64, kanpde {src['sha256'][:12]}{commit}"
    )


def write(rows: list[dict], runs: list[dict], notes: str | None, out: Path, name: str) -> None:
    """``out/name.json`` (the runs and every row, each row naming its run) and the Markdown table."""
    table = summarise(rows)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    write_json(json_path, {"runs": runs, "rows": rows})
    used = sorted({r["run"] for r in rows})
    lines = [
        "# PINNacle suite: kanpde's KAN and MLP at equal wall time",
        "",
        "Made by " + "; ".join(f"run {i}: {run_line(runs[i])}" for i in used) + ". Each row of "
        f"`{name}.json` names its run.",
        "",
        "Each model had at most the row's budget of training per task and seed (marched tasks: that budget over "
        "all windows; the same for the KAN and the MLP of a task); L2RE = ||u - u*|| / ||u*|| over all fields "
        f"together (median over seeds; the seeds' values in `{name}.json`). PINNacle best: the lowest L2RE of the "
        "~10 methods in PINNacle's table (Hao et al. 2024), trained for 20 000 epochs on a GPU; ours are CPU "
        "minutes. `x best` is PINNacle best / our best (> 1: we are better).",
        "",
        "| task | PINNacle class | KAN L2RE | MLP L2RE | PINNacle best | x best | budget s | KAN params / s | "
        "MLP params / s | seeds | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    wins = close = tens = 0
    for task_name, task in TASKS.items():
        if task_name not in table:
            continue
        kan, mlp = table[task_name].get("kan"), table[task_name].get("mlp")
        best = min(c["median"] for c in (kan, mlp) if c)
        ratio = task.best / best if best > 0 else math.inf
        won = ratio > 1 and best < SOLVED
        wins += won
        close += won and ratio < 1.1
        tens += ratio >= 10
        seeds = ",".join(str(s) for s in (kan or mlp)["seeds"])
        cells = [f"{c['params']} / {c['mean_seconds']:.0f}" if c else "n/a" for c in (kan, mlp)]
        budget = "/".join(sorted({f"{b:g}" for c in (kan, mlp) if c for b in c["budgets"]}))
        extra = [f"marched in {task.windows} windows"] if task.windows > 1 else []
        extra += (
            [f"{task.time_steps} implicit Runge-Kutta steps (kp.discrete_time)"] if task.time_steps else []
        )
        note = "; ".join([task.note] * bool(task.note) + extra)
        lines.append(
            f"| {task_name} | `{task.pinnacle}` | {fmt(kan and kan['median'])} | {fmt(mlp and mlp['median'])} | "
            f"{task.best:.2e} | {ratio:.2g} | {budget} | {cells[0]} | {cells[1]} | {seeds} | {note} |"
        )
    lines += [
        "",
        f"Better than PINNacle's best on {wins} of {len(table)} tasks ({close} of them by less than 10%), by 10x or "
        f"more on {tens}. A task counts only where our L2RE is below {SOLVED:g}: an error near 1, on either side, "
        "is no solution.",
        "",
    ]
    if notes and Path(notes).is_file():
        lines += [Path(notes).read_text(encoding="utf-8").rstrip(), ""]
    with atomic_write(md_path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def saved_runs(path: Path) -> tuple[list[dict], list[dict]]:
    """The runs and rows of a saved JSON; a file of one run (no ``runs`` list) is that run."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    if "runs" in saved:
        return saved["runs"], saved["rows"]
    run = {k: saved.get(k, "date not recorded") for k in ("command", "date", "machine", "source")}
    run["machine"] = {"torch_threads": 1, **run["machine"]}
    words = run["command"].split()
    budget = float(words[words.index("--budget") + 1]) if "--budget" in words else 90.0
    return [run], [{"budget": budget * TASKS[r["task"]].budget_factor, **r, "run": 0} for r in saved["rows"]]


def merged(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` rows without those that ``new`` replaces, then ``new``. A new row replaces the old row of the same
    task, model and seed, and every old row of that task and model made with other settings (width, time steps,
    solve options): a median over seeds is over one configuration."""
    key = lambda r: (r["task"], r["model"], r["seed"])  # noqa: E731
    replaced = {key(r) for r in new}
    current = {(r["task"], r["model"]): configuration(r) for r in new}
    return [
        r
        for r in old
        if key(r) not in replaced
        and current.get((r["task"], r["model"]), configuration(r)) == configuration(r)
    ] + new


def configuration(row: dict) -> str:
    """What a row's run was, apart from its seed: the width, the time steps and the solve options."""
    options = {k: v for k, v in row["options"].items() if k != "seed"}
    return json.dumps(
        [row["width"], row.get("windows", 1), row.get("time_steps", 0), options], sort_keys=True
    )


def render(paths: list[Path], notes: str | None, out: Path, name: str) -> int:
    """The Markdown (and JSON) of saved JSONs, their rows together (a later file's row replaces an earlier
    one of the same task, model and seed), with ``notes`` appended; written as ``out/name.*``."""
    runs, rows = [], []
    for path in paths:
        more_runs, more_rows = saved_runs(path)
        rows = merged(rows, [{**r, "run": r["run"] + len(runs)} for r in more_rows])
        runs += more_runs
    write(rows, runs, notes, out, name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/pinnacle.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default=None, help="folder of PINNacle's reference files (its ref/)")
    parser.add_argument(
        "--budget", type=float, default=90.0, help="seconds of training per model, task and seed"
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--tasks", default=None, help=f"comma-separated tasks (default all: {', '.join(TASKS)})"
    )
    parser.add_argument("--models", default="kan,mlp", help="kan, mlp or both (default)")
    parser.add_argument("--out", default=None, help="output folder (default results/)")
    parser.add_argument("--name", default="pinnacle", help="file name stem of the outputs (default pinnacle)")
    parser.add_argument("--notes", default=None, help="a Markdown file appended to the table (the analysis)")
    parser.add_argument("--quick", action="store_true", help="a few steps a run: proves the script runs")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of the existing JSON that this run does not redo (same task, model, seed)",
    )
    parser.add_argument(
        "--render",
        nargs="+",
        default=None,
        help="write the table again from these JSONs (rows together, with --notes) to --out/--name, training "
        "nothing",
    )
    args = parser.parse_args(argv)
    if args.render:
        return render(
            [Path(p) for p in args.render], args.notes, Path(args.out) if args.out else RESULTS, args.name
        )
    tasks = list(TASKS) if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; valid: {', '.join(TASKS)}")
    models = [m.strip() for m in args.models.split(",")]
    if not set(models) <= {"kan", "mlp"}:
        parser.error(f"--models takes kan and/or mlp, got {args.models!r}")
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    masks = {args.data: "DATA", args.out: "OUT"}  # folders of this machine stay out of the results
    command = "python benchmarks/pinnacle.py " + " ".join(
        masks.get(a, a) for a in (argv if argv is not None else sys.argv[1:])
    )
    meta = {
        "command": command.strip(),
        "machine": machine(),
        "source": kanpde_source(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    runs, old = [], []
    if args.merge and (out / f"{args.name}.json").is_file():
        runs, old = saved_runs(out / f"{args.name}.json")
    runs.append(meta)
    rows: list[dict] = []
    for name in tasks:
        for seed in seeds:
            for family in models:
                row = run_one(name, TASKS[name], family, seed, args.budget, args.data, args.quick)
                rows.append({**row, "run": len(runs) - 1})
                print(
                    f"{name:13s} {family} seed {seed}: L2RE {row['l2re']:.3e}  {row['seconds']:.0f} s  "
                    f"{row['steps']} steps  {row['params']} params",
                    flush=True,
                )
                write(merged(old, rows), runs, args.notes, out, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
