"""Exactly imposed (hard) against penalised (soft) conditions, same model, points and schedule.

    python benchmarks/hard_soft.py [--threads 2]      # -> results/hard_soft.{md,json}

For each problem the problem is solved with every ``Dirichlet`` condition penalised (``hard=False``, whatever
the shipped file chose), then with every one made ``hard=True`` (``u = g + phi N``, :mod:`kanpde.ansatz`);
other conditions (the Robin condition on poisson_holes' circles) stay soft. Both runs use the same KAN, seed, collocation points and
Levenberg-Marquardt schedule; the table gives the relative L2 error against the exact solution and the
training time. Problems: poisson2d (square), poisson_disk (disk), poisson_holes (square minus four disks:
the distance function of the square's sides, which the holes do not cut).

**No shortcut through the exact solution.** A hard condition ``u = g + φN`` needs ``g`` inside the domain.
When the problem's Dirichlet value is a callable (poisson_holes: the exact solution on the square's sides),
evaluating that callable inside would hand the ansatz the answer (``N = 0`` solves the problem). Here ``g``
is instead ``kp.transfinite(value, rectangle)``, the transfinite (Coons) interpolation of the boundary values
over the rectangle the condition lives on, which reads the value on the rectangle's sides only (a value that
is already such a lift is kept). Constant values are used as they are; on a space-time domain the other
columns (``t``) pass through, so ``g`` interpolates the lateral sides at every time. The soft run makes
every Dirichlet condition soft (``hard=False``), whatever the shipped problem chose.

**Initial values** (second table): heat1d, heat2d and wave1d_standing with their side values exact in both
runs, the initial value (and the wave's velocity) penalised (``Initial(u0)``) against imposed exactly
(``Initial(u0, hard=True)``: ``u = L + φ τ^m N``, :mod:`kanpde.hard`). The initial values are the
problem's data, read on the initial slice only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp
from kanpde._atomic import atomic_write, write_json
from kanpde.geometry import Transfinite

RESULTS = Path(__file__).resolve().parent.parent / "results"
COMMAND = "python benchmarks/hard_soft.py"
PROBLEMS = ("poisson2d", "poisson_disk", "poisson_holes")
INITIAL_PROBLEMS = ("heat1d", "heat2d", "wave1d_standing")
SETTINGS = {"grids": (5, 10, 20), "steps": 100, "n_interior": 2500, "n_boundary": 400}
WIDTH = [2, 10, 1]


def _hard(condition: kp.Dirichlet, problem: kp.Problem) -> kp.Dirichlet:
    if not callable(condition.value) or isinstance(condition.value, Transfinite):
        return dataclasses.replace(condition, hard=True)
    box = condition.on if condition.on is not None else problem.domain
    box = box.space if isinstance(box, kp.SpaceTime) else box  # lateral sides, at every t
    if not isinstance(box, kp.Rectangle):
        raise ValueError(
            f"{problem.name}: a hard Dirichlet condition with a callable value needs a rectangle to "
            "interpolate its sides from (evaluating the value inside would give the answer away)"
        )
    return dataclasses.replace(condition, value=kp.transfinite(condition.value, box), hard=True)


def soft(problem: kp.Problem) -> kp.Problem:
    """``problem`` with every Dirichlet condition penalised (the loss term), as shipped or made so."""
    conditions = [
        dataclasses.replace(c, hard=False) if isinstance(c, kp.Dirichlet) else c for c in problem.conditions
    ]
    return dataclasses.replace(problem, conditions=conditions, name=problem.name)


def hard(problem: kp.Problem) -> kp.Problem:
    """``problem`` with every Dirichlet condition imposed exactly, from boundary values only."""
    conditions = [_hard(c, problem) if isinstance(c, kp.Dirichlet) else c for c in problem.conditions]
    return dataclasses.replace(problem, conditions=conditions, name=problem.name)


def exact_initial(problem: kp.Problem, exact: bool) -> kp.Problem:
    """``hard(problem)`` with its initial conditions penalised (``exact=False``) or imposed exactly."""
    base = hard(problem)
    conditions = [
        dataclasses.replace(c, hard=exact) if isinstance(c, kp.Initial) else c for c in base.conditions
    ]
    return dataclasses.replace(base, conditions=conditions, name=problem.name)


def run(problem: kp.Problem, seed: int = 0) -> dict:
    start = time.perf_counter()
    width = [problem.domain.dim, *WIDTH[1:]]
    sol = kp.solve(
        problem, kp.KAN(width, grid=SETTINGS["grids"][0], seed=seed), seed=seed, device="cpu", **SETTINGS
    )
    seconds = time.perf_counter() - start
    return {"relative_l2": sol.relative_l2(), "seconds": seconds, "steps": sol.history[-1]["step"]}


def compare(name: str, penalised, exact) -> dict:
    """The row of problem ``name``: solved as ``penalised(problem)`` and as ``exact(problem)``."""
    problem = kp.load_problem(name)
    soft_run, hard_run = run(penalised(problem)), run(exact(problem))
    row = {
        "problem": name,
        "soft": soft_run,
        "hard": hard_run,
        "ratio": soft_run["relative_l2"] / hard_run["relative_l2"],
    }
    print(json.dumps(row), flush=True)
    return row


def _table_rows(rows: list[dict]) -> list[str]:
    return [
        f"| {r['problem']} | {r['soft']['relative_l2']:.2e} | {r['soft']['seconds']:.1f} | "
        f"{r['hard']['relative_l2']:.2e} | {r['hard']['seconds']:.1f} | {r['ratio']:.1f} |"
        for r in rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--initial-problems", nargs="*", default=list(INITIAL_PROBLEMS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = {"machine": machine(), "kanpde_source": kanpde_source()}
    rows = [compare(name, soft, hard) for name in args.problems]
    initial = [
        compare(name, lambda p: exact_initial(p, False), lambda p: exact_initial(p, True))
        for name in args.initial_problems
    ]
    command = COMMAND + (f" --threads {args.threads}" if args.threads else "")
    write_json(
        args.out / "hard_soft.json",
        {"command": command, **info, "settings": SETTINGS, "rows": rows, "initial_rows": initial},
    )
    lines = [
        "# Hard (exact) against soft (penalised) conditions",
        "",
        f"Made by `{command}`; KAN {WIDTH} (first width: the dimension), grids {SETTINGS['grids']}, Levenberg-Marquardt "
        f"{SETTINGS['steps']} steps a grid, {SETTINGS['n_interior']} + {SETTINGS['n_boundary']} points, float64, "
        f"CPU ({info['machine']['cpu']}, {info['machine']['torch_threads']} threads, load average at start "
        f"{info['machine']['load_average_at_start']}). " + source_line(info["kanpde_source"]),
        "",
        "| problem | soft: relative L2 | soft: s | hard: relative L2 | hard: s | soft / hard error |",
        "|---|---|---|---|---|---|",
    ]
    lines += _table_rows(rows)
    if initial:
        lines += [
            "",
            "Initial values, with the side values exact in both runs, "
            f"{SETTINGS['n_interior']} interior points and kanpde's default count on the initial slice:",
            "",
            "| problem | penalised u0: relative L2 | s | exact u0: relative L2 | s | error ratio |",
            "|---|---|---|---|---|---|",
            *_table_rows(initial),
        ]
    with atomic_write(args.out / "hard_soft.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
