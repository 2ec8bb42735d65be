"""Accuracy and time of the default solve and of the target configurations on shipped problems.

    python benchmarks/accuracy.py PROBLEM --out DIR     # one problem; last line is a JSON object
    python benchmarks/accuracy.py --all --out DIR       # every shipped problem -> results/accuracy.{json,md}

One problem's run uses its target configuration (:data:`TARGETS`) where it has one, else the default:
``kp.KAN([d, 10, 1], grid=5)`` with the solver's defaults (grids 5, 10, 20; Levenberg-Marquardt), float64
on the CPU. It writes the checkpoint ``DIR/PROBLEM.pt`` (``kp.load`` opens it) and prints ``{"problem",
"config", "relative_l2", "relative_h1", "max_abs", "train_seconds", "steps", "evaluations", "params",
"checkpoint"}`` as its last line. ``--all`` runs the default on every problem and then every target.

Targets (issue 4):

* ``poisson2d`` - a two-hidden-layer KAN [2, 5, 5, 1] on grids 5, 10, 20, 40 with 6000 interior and 600
  boundary points, 100 Levenberg-Marquardt steps a grid (steps a converged grid leaves go to the next).
  The KAN paper's own [2, 10, 1] stalls at 1.2e-5 to 2e-5 on grid 40 (ill-conditioned: more steps, points
  or a grid of 80 did not help) and [2, 20, 1] needs 97 s for 5.7e-6; the deeper net composes
  sin(pi x) sin(pi y^2) with fewer, better-conditioned parameters (1.9k on grid 40). 6000 points: 2500 + 400
  overfit a 40-interval grid (the residual between the points was 400x the one at them).
* ``helmholtz2d`` - a tanh MLP [2, 32, 32, 1], 800 Levenberg-Marquardt steps on 3000 + 400 points. No KAN
  configuration we tried got below 4e-3 here (sin(4 pi y) needs an outer spline far finer than G = 40),
  so the target row is an MLP and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, source_line  # noqa: E402  (benchmarks/ is on sys.path as a script)
from hard_soft import hard

import kanpde as kp
from kanpde._atomic import atomic_write, plain, write_json

RESULTS = Path(__file__).resolve().parent.parent / "results"


TARGETS = {
    "poisson2d": {
        "model": ("kan", [2, 5, 5, 1]),
        "solve": {"grids": (5, 10, 20, 40), "n_interior": 6000, "n_boundary": 600, "steps": 100},
    },
    "helmholtz2d": {
        "model": ("mlp", [2, 32, 32, 1]),
        "solve": {"n_interior": 3000, "n_boundary": 400, "steps": 800},
    },
}
"""Problem -> the configuration that meets (or comes closest to) its issue-4 target."""


def _config(name: str, dim: int, target: bool, seed: int, n_out: int = 1) -> tuple[str, object, dict]:
    if not target:
        return f"default: KAN [{dim}, 10, {n_out}]", kp.KAN([dim, 10, n_out], grid=5, seed=seed), {}
    family, width, *rest = TARGETS[name]["model"]
    kwargs = rest[0] if rest else {}
    if family == "kan":
        model = kp.KAN(width, **{"grid": 5, **kwargs}, seed=seed)
    else:
        model = kp.MLP(width, **{"activation": "tanh", **kwargs}, seed=seed)
    options = TARGETS[name]["solve"]
    text = ", ".join(f"{k}={v}" for k, v in {**kwargs, **options}.items())
    hard = ", hard Dirichlet" if TARGETS[name].get("hard") else ""
    return f"target: {family.upper()} {width}{hard}, {text}", model, options


def run(name: str, out: Path, seed: int = 0, target: bool | None = None) -> dict:
    problem = kp.load_problem(name)
    target = name in TARGETS if target is None else target
    if target and TARGETS.get(name, {}).get("hard"):
        problem = hard(problem)  # Dirichlet imposed exactly, from boundary values only (hard_soft.py)
    config, model, options = _config(name, problem.domain.dim, target, seed, len(problem.fields))
    start = time.perf_counter()
    sol = kp.solve(problem, model, seed=seed, device="cpu", dtype=torch.float64, **options)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    path = sol.save(out / f"{name}{'_target' if target and name in TARGETS else ''}.pt")
    metrics = sol.metrics()
    last = sol.history[-1]
    return {
        "problem": name,
        "config": config,
        "truth": metrics["truth"],
        "relative_l2": metrics["relative_l2"],
        "relative_h1": metrics.get("relative_h1", float("nan")),  # none against a reference
        "max_abs": metrics["max_abs"],
        "fields": {f: m["relative_l2"] for f, m in metrics.get("fields", {}).items()},
        "unknowns": metrics.get("unknowns", {}),
        "unknown_relative_errors": metrics.get("unknown_relative_errors", {}),
        "train_seconds": seconds,
        "steps": last["step"],
        "evaluations": last["evaluations"],
        "params": sol.model.num_parameters,
        "checkpoint": str(path),  # printed in full; stored in results/ by file name only
    }


def _extra(r: dict) -> str:
    """Per-field errors and identified unknowns, for the table's last column."""
    parts = [f"{f} {e:.1e}" for f, e in r.get("fields", {}).items()]
    for name, value in r.get("unknowns", {}).items():
        err = r.get("unknown_relative_errors", {}).get(name)
        parts.append(f"{name} = {value:.5g}" + (f" ({100 * err:.2f}% off)" if err is not None else ""))
    if r.get("truth") == "reference":
        parts.append("vs reference")
    return "; ".join(parts)


def _e(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.2e}"


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| problem | configuration | relative L2 | relative H1 | max abs | train s | steps | evaluations | params "
        "| fields, unknowns |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['config']} | {_e(r['relative_l2'])} | {_e(r['relative_h1'])} | "
            f"{_e(r['max_abs'])} | {r['train_seconds']:.1f} | {r['steps']} | {r['evaluations']} | {r['params']} "
            f"| {_extra(r)} |"
        )
    return lines


def write_all(args: argparse.Namespace) -> None:
    """Default solve on every problem, then every target; results/accuracy.{json,md}."""
    old = {}
    if args.only and (RESULTS / "accuracy.json").is_file():
        stored = json.loads((RESULTS / "accuracy.json").read_text())
        old = {
            (r["problem"], r["config"].startswith("target")): r for r in stored["rows"] + stored["targets"]
        }
    tables: dict[bool, list[dict]] = {False: [], True: []}
    jobs = [(name, False) for name in kp.list_problems()] + [(name, True) for name in TARGETS]
    for name, target in jobs:
        if args.only and name not in args.only and (name, target) in old:
            tables[target].append(old[(name, target)])
            continue
        row = run(name, args.out, args.seed, target)
        print(json.dumps(plain(row)), flush=True)
        tables[target].append({**row, "checkpoint": Path(row["checkpoint"]).name})
    command = "python benchmarks/accuracy.py --all" + (f" --threads {args.threads}" if args.threads else "")
    if args.only:
        command += f" (then --only {' '.join(args.only)} after a change)"
    info = {
        "command": command,
        "kanpde_source": kanpde_source(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "rows": tables[False],
        "targets": tables[True],
    }
    write_json(RESULTS / "accuracy.json", info)
    lines = [
        "# Solve accuracy on the shipped problems (float64, CPU)",
        "",
        f"Made by `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        + source_line(info["kanpde_source"]),
        "",
        "## Default solve: KAN [d, 10, 1], grids 5, 10, 20, Levenberg-Marquardt, default points",
        "",
        *_table(tables[False]),
        "",
        "## Target configurations (issues 4, 13, 14, 16; see the docstring of benchmarks/accuracy.py)",
        "",
        *_table(tables[True]),
    ]
    with atomic_write(RESULTS / "accuracy.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("problem", nargs="?", help="a shipped problem name")
    parser.add_argument("--all", action="store_true", help="run every shipped problem and write results/")
    parser.add_argument(
        "--only", nargs="+", default=None, help="with --all: rerun these problems, keep the other rows"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/accuracy"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--default", action="store_true", help="with PROBLEM: the default solve even where a target exists"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.all:
        write_all(args)
        return 0
    if not args.problem:
        parser.error("name a problem or pass --all")
    print(json.dumps(plain(run(args.problem, args.out, args.seed, False if args.default else None))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
