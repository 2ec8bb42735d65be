"""Grid levers of issue 16: per-input grid sizes and residual-driven knot placement, measured.

    python benchmarks/grids.py                      # every configuration -> results/grids.{json,md}
    python benchmarks/grids.py --only burgers1d     # rerun the rows of these problems (or row labels)
    python benchmarks/grids.py --list               # the configurations

Every row is one ``kp.solve`` (float64, CPU, seed 0 unless the row says otherwise) of a KAN with the solver's
defaults (grids ``G, 2G, 4G`` of the model's smallest grid size, Levenberg-Marquardt, 450 steps, default
points) except for what the row changes: the model's ``grid`` (per layer / per input, see ``kp.KAN``), the
solve option ``knots`` (``"residual"``: new knots where the residual is large; rules other than the shipped
ones are registered here under the row's name) or the problem's Dirichlet condition made exact
(``hard``). Rows are merged into ``results/grids.json`` by label, so a rerun of some rows keeps the others;
each row stores the load average when it started, because the machine these numbers come from is shared.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)
from _rows import main as rows_main
from hard_soft import hard

import kanpde as kp
from kanpde._atomic import atomic_write, write_json

RESULTS = Path(__file__).resolve().parent.parent / "results"


@dataclass(frozen=True)
class Config:
    """One row: ``problem`` solved by ``kp.KAN(width, grid=grid, seed=seed)`` with ``options``."""

    label: str
    problem: str
    width: tuple[int, ...]
    grid: object = 5
    options: dict = field(default_factory=dict)
    rule: dict | None = None  # a KnotRule registered under the label and passed as knots=label
    hard: bool = False  # the problem's Dirichlet conditions imposed exactly (Dirichlet(..., hard=True))
    seed: int = 0


CONFIGS = [
    Config("helmholtz2d default", "helmholtz2d", (2, 10, 1)),
    Config("helmholtz2d per-input (5,20),5", "helmholtz2d", (2, 10, 1), [(5, 20), 5]),
    Config("helmholtz2d knots=residual", "helmholtz2d", (2, 10, 1), options={"knots": "residual"}),
    Config("helmholtz2d hard", "helmholtz2d", (2, 10, 1), hard=True),
    Config("helmholtz2d hard per-input (5,20),5", "helmholtz2d", (2, 10, 1), [(5, 20), 5], hard=True),
    Config("helmholtz2d hard per-input (3,7),5", "helmholtz2d", (2, 10, 1), [(3, 7), 5], hard=True),
    Config(
        "helmholtz2d hard knots=residual", "helmholtz2d", (2, 10, 1), options={"knots": "residual"}, hard=True
    ),
    Config("burgers1d default", "burgers1d", (2, 10, 1)),
    Config("burgers1d knots=residual", "burgers1d", (2, 10, 1), options={"knots": "residual"}),
    Config("burgers1d default seed 1", "burgers1d", (2, 10, 1), seed=1),
    Config("burgers1d knots=residual seed 1", "burgers1d", (2, 10, 1), options={"knots": "residual"}, seed=1),
    Config(
        "burgers1d per-input (10,5),5 knots=residual",
        "burgers1d",
        (2, 10, 1),
        [(10, 5), 5],
        {"knots": "residual"},
    ),
    Config("poisson2d default", "poisson2d", (2, 10, 1)),
    Config("poisson2d knots=residual", "poisson2d", (2, 10, 1), options={"knots": "residual"}),
    Config("heat1d default", "heat1d", (2, 10, 1)),
    Config("heat1d knots=residual", "heat1d", (2, 10, 1), options={"knots": "residual"}),
]
"""The measured configurations, in table order."""


def _problem(config: Config) -> kp.Problem:
    problem = kp.load_problem(config.problem)
    return hard(problem) if config.hard else problem  # from boundary values only (hard_soft.py)


def run(config: Config) -> dict:
    """Solve one configuration; the row of the table."""
    options = dict(config.options)
    if config.rule is not None:
        kp.KNOT_PLACEMENTS[config.label] = kp.KnotRule(**config.rule)
        options["knots"] = config.label
    problem = _problem(config)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    model = kp.KAN(list(config.width), grid=config.grid, seed=config.seed)
    start = time.perf_counter()
    sol = kp.solve(problem, model, seed=config.seed, device="cpu", dtype=torch.float64, **options)
    seconds = time.perf_counter() - start
    by_grid = {}
    for record in sol.history:
        if "relative_l2" in record:
            by_grid[str(record["grid"])] = record["relative_l2"]
    first = sol.model.layers[0]
    return {
        "label": config.label,
        "problem": config.problem,
        "width": list(config.width),
        "grid": sol.model.config()["grid"],
        "start_grid": config.grid,
        "options": {**options, **({"rule": config.rule} if config.rule else {})},
        "hard": config.hard,
        "seed": config.seed,
        "relative_l2": sol.relative_l2(),
        "error_by_grid": by_grid,
        "seconds": seconds,
        "load_average_at_start": load,
        "steps": sol.history[-1]["step"],
        "params": sol.model.num_parameters,
        "first_layer_knots": [
            [round(v, 5) for v in first.knot_row(i)[first.k : -first.k].tolist()] for i in range(first.n_in)
        ],
    }


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| configuration | final grid | relative L2 | by grid stage | seconds (load) | steps | params |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stages = " / ".join(f"{e:.1e}" for e in r["error_by_grid"].values())
        load = f"{r['load_average_at_start']:.1f}" if r["load_average_at_start"] is not None else "n/a"
        lines.append(
            f"| {r['label']} | {json.dumps(r['grid'])} | {r['relative_l2']:.2e} | {stages} | "
            f"{r['seconds']:.0f} ({load}) | {r['steps']} | {r['params']} |"
        )
    return lines


def write(rows: list[dict], command: str) -> None:
    info = {"command": command, "kanpde_source": kanpde_source(), "machine": machine(), "rows": rows}
    write_json(RESULTS / "grids.json", info)
    lines = [
        "# Grid levers (issue 16): per-input grid sizes and residual-driven knot placement",
        "",
        f"Made by `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        + source_line(info["kanpde_source"]),
        "",
        "Seconds are wall time of `kp.solve` on a 2-core machine shared with other work; the load average "
        "when the row started is in brackets. Read them as rough: the same solve took 15 s on the idle "
        "machine and 81 s under a load of 4.",
        "",
        *_table(rows),
        "",
    ]
    with atomic_write(RESULTS / "grids.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    return rows_main(
        argv,
        doc=__doc__,
        script="grids.py",
        configs=CONFIGS,
        run=run,
        write=write,
        json_path=RESULTS / "grids.json",
        threads=1,
    )


if __name__ == "__main__":
    sys.exit(main())
