"""Levenberg-Marquardt against L-BFGS (and Adam then L-BFGS) on the benchmark problems.

    python benchmarks/optimizers.py [--problems poisson2d heat1d helmholtz2d]

Every run trains ``KAN([d, 10, 1], grid=5)`` on grids 5, 10, 20 with the solver's default points, float64,
CPU, seed 0. An L-BFGS step costs far less than an LM step, so L-BFGS gets about 7x more steps per grid
(the budgets are in ``SCHEDULES`` and in the output); wall time, steps and loss evaluations are reported so
the comparison can be read at equal time. Writes ``results/optimizers.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import kanpde as kp

RESULTS = Path(__file__).resolve().parent.parent / "results"
SCHEDULES = {
    "lm": [("lm", 150)],
    "lbfgs": [("lbfgs", 1000)],
    "adam+lbfgs": [("adam", 300), ("lbfgs", 700)],
}
"""Schedule name -> stages run at each of the grids 5, 10, 20."""


def run(name: str, schedule: str) -> dict:
    problem = kp.load_problem(name)
    model = kp.KAN([problem.domain.dim, 10, 1], grid=5)
    start = time.perf_counter()
    sol = kp.solve(
        problem, model, grids=(5, 10, 20), optimizer=SCHEDULES[schedule], device="cpu", log_every=25
    )
    seconds = time.perf_counter() - start
    last = sol.history[-1]
    by_grid = {}
    for record in sol.history:
        by_grid[record["grid"]] = record["relative_l2"]
    return {
        "problem": name,
        "schedule": schedule,
        "relative_l2": sol.relative_l2(),
        "seconds": seconds,
        "steps": last["step"],
        "evaluations": last["evaluations"],
        "relative_l2_by_grid": by_grid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", nargs="+", default=["poisson2d", "heat1d", "helmholtz2d"])
    args = parser.parse_args()
    rows = []
    for name in args.problems:
        for schedule in SCHEDULES:
            row = run(name, schedule)
            print(json.dumps(row), flush=True)
            rows.append(row)
    command = "python benchmarks/optimizers.py --problems " + " ".join(args.problems)
    info = {"command": command, "torch": torch.__version__, "schedules": SCHEDULES, "rows": rows}
    (RESULTS / "optimizers.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [
        "# Levenberg-Marquardt vs L-BFGS (KAN [d, 10, 1], grids 5, 10, 20, float64, CPU)",
        "",
        f"Made by `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). Stages per grid: "
        + "; ".join(f"{k}: {', '.join(f'{o} {s}' for o, s in v)}" for k, v in SCHEDULES.items())
        + ".",
        "",
        "| problem | schedule | relative L2 | seconds | steps | evaluations | rel. L2 at grid 5 / 10 / 20 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        staircase = " / ".join(f"{v:.1e}" for v in r["relative_l2_by_grid"].values())
        lines.append(
            f"| {r['problem']} | {r['schedule']} | {r['relative_l2']:.2e} | {r['seconds']:.0f} | {r['steps']} | "
            f"{r['evaluations']} | {staircase} |"
        )
    (RESULTS / "optimizers.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
