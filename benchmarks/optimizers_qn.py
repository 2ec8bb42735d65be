"""Dense quasi-Newton optimisers (BFGS, SSBroyden) against L-BFGS, Levenberg-Marquardt and Adam -> SSBroyden.

    python benchmarks/optimizers_qn.py --threads 2                 # full run -> results/optimizers_qn.{json,md}
    python benchmarks/optimizers_qn.py --problems heat1d --steps 300
    python benchmarks/optimizers_qn.py --quick --out /tmp/qn       # seconds: proves the script runs

Every row trains ``KAN([d, 10, F], grid=5, seed=0)`` on grids 5, 10, 20 with the solver's default points
(Sobol, seed 0), float64, CPU, soft (penalised) conditions as the problems ship them. The schedules
(:data:`SCHEDULES`) run at each grid.

**Equal work = equal steps**: every schedule gets the same number of optimiser steps per grid (``--steps``,
default 500; a stage that ends early, LM's stall rule or a failed line search, hands its unused steps to the
next grid). One step is one iteration: a BFGS, SSBroyden or L-BFGS step costs one loss-and-gradient evaluation
per line-search trial (usually one), an LM step one residual-and-Jacobian pass plus one loss per damping
trial, an Adam step one gradient. So the steps are equal, not the cost: wall time and evaluations are in
every row for reading the table at equal time.

``--quick`` runs grid 5 only, 10 steps, and writes ``optimizers_qn_quick.{json,md}`` instead (its numbers
mean nothing). Rows are written after each run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp
from kanpde._atomic import atomic_write, write_json

RESULTS = Path(__file__).resolve().parent.parent / "results"
PROBLEMS = ("poisson2d", "heat1d", "helmholtz2d", "burgers1d")
ADAM_SHARE = 0.2
"""Share of a grid's steps that Adam takes before SSBroyden in the ``adam+ssbroyden`` schedule."""


def schedules(steps: int) -> dict[str, list[tuple[str, int]]]:
    """Schedule name -> the stages run at each grid, ``steps`` optimiser steps in all."""
    adam = max(1, round(ADAM_SHARE * steps))
    return {
        "bfgs": [("bfgs", steps)],
        "ssbroyden": [("ssbroyden", steps)],
        "lbfgs": [("lbfgs", steps)],
        "lm": [("lm", steps)],
        "adam+ssbroyden": [("adam", adam), ("ssbroyden", steps - adam)],
    }


def run(name: str, schedule: str, stages: list[tuple[str, int]], grids: tuple[int, ...]) -> dict:
    """One solve; the row of the table."""
    problem = kp.load_problem(name)
    model = kp.KAN([problem.domain.dim, 10, len(problem.fields)], grid=5, seed=0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    sol = kp.solve(
        problem, model, grids=grids, optimizer=stages, seed=0, device="cpu", dtype=torch.float64, log_every=25
    )
    seconds = time.perf_counter() - start
    last = sol.history[-1]
    by_grid = {}
    for record in sol.history:
        by_grid[str(record["grid"])] = record["relative_l2"]
    return {
        "problem": name,
        "schedule": schedule,
        "stages": stages,
        "relative_l2": sol.relative_l2(),
        "loss": last["loss"],
        "seconds": seconds,
        "load_average_at_start": load,
        "steps": last["step"],
        "evaluations": last["evaluations"],
        "params": sol.model.num_parameters,
        "relative_l2_by_grid": by_grid,
        "stopped": sorted({str(r["stopped"]) for r in sol.history if r.get("stopped")}),
    }


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| problem | schedule | relative L2 | final loss | seconds (load) | steps | evaluations | "
        "rel. L2 by grid | stage ends |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        staircase = " / ".join(f"{v:.1e}" for v in r["relative_l2_by_grid"].values())
        load = f"{r['load_average_at_start']:.1f}" if r["load_average_at_start"] is not None else "n/a"
        lines.append(
            f"| {r['problem']} | {r['schedule']} | {r['relative_l2']:.2e} | {r['loss']:.2e} | "
            f"{r['seconds']:.1f} ({load}) | {r['steps']} | {r['evaluations']} | {staircase} | "
            f"{'; '.join(r['stopped']) or '-'} |"
        )
    return lines


def write(rows: list[dict], info: dict, out: Path, stem: str) -> None:
    """``out/stem.{json,md}`` with the rows so far."""
    write_json(out / f"{stem}.json", {**info, "rows": rows})
    grids = ", ".join(str(g) for g in info["grids"])
    lines = [
        f"# Dense quasi-Newton (BFGS, SSBroyden) vs L-BFGS and LM (KAN [d, 10, F], grids {grids}, float64, CPU)",
        "",
        f"Made by `{info['command']}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        + source_line(info["kanpde_source"]),
        "",
        f"Equal work = equal steps: {info['steps']} optimiser steps per grid for every schedule (a stage that "
        "ends early hands its steps to the next grid). Steps cost differently: seconds and loss evaluations "
        "(residual-and-Jacobian passes for LM) are given for reading at equal time; the load average when the "
        "row started is in brackets (2 shared cores: times are indicative). Stages per grid: "
        + "; ".join(f"{k}: {', '.join(f'{o} {s}' for o, s in v)}" for k, v in info["schedules"].items())
        + ". BFGS and SSBroyden: `kanpde.quasinewton` (dense inverse Hessian, strong-Wolfe line search).",
        "",
        *_table(rows),
        "",
    ]
    with atomic_write(out / f"{stem}.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=kp.list_problems())
    parser.add_argument("--steps", type=int, default=500, help="optimiser steps per grid (default 500)")
    parser.add_argument("--schedules", nargs="+", default=None, help="a subset of the schedules")
    parser.add_argument("--quick", action="store_true", help="grid 5 only, 10 steps: a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results (default results/)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    steps, grids = (10, (5,)) if args.quick else (args.steps, (5, 10, 20))
    table = schedules(steps)
    chosen = args.schedules or list(table)
    unknown = sorted(set(chosen) - set(table))
    if unknown:
        parser.error(f"unknown schedules {unknown}; valid ones: {', '.join(table)}")
    command = "python benchmarks/optimizers_qn.py " + " ".join(argv if argv is not None else sys.argv[1:])
    info = {
        "command": command.strip(),
        "kanpde_source": kanpde_source(),
        "machine": machine(),
        "steps": steps,
        "grids": grids,
        "schedules": {k: table[k] for k in chosen},
    }
    rows = []
    for name in args.problems:
        for schedule in chosen:
            rows.append(run(name, schedule, table[schedule], grids))
            print(rows[-1], flush=True)
            write(rows, info, args.out, "optimizers_qn_quick" if args.quick else "optimizers_qn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
