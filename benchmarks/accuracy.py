"""Accuracy and time of the default solve and of the target configurations on shipped problems.

    python benchmarks/accuracy.py PROBLEM --out DIR     # one problem; last line is a JSON object
    python benchmarks/accuracy.py --all --out DIR       # every shipped problem -> results/accuracy.{json,md}

One problem's run uses its target configuration (:data:`TARGETS`) where it has one, else the default, which
is what ``kanpde solve NAME`` runs: ``kp.KAN([d, 10, F], grid=5)`` with the solver's defaults (grids 5, 10,
20; Levenberg-Marquardt), or the model and settings the problem recommends; float64 on the CPU. It writes
the checkpoint ``DIR/PROBLEM.pt`` (``kp.load`` opens it) and prints ``{"problem", "config", "relative_l2",
"relative_h1", "max_abs", "train_seconds", "steps", "evaluations", "params", "checkpoint"}`` as its last line.
``--all`` runs the default on every problem and then every target.

Targets (issues 4, 13, 14, 16). ``hard`` imposes the Dirichlet conditions exactly (``u = g + φN``) with ``g``
built from boundary values only (:func:`hard_soft.hard`: a zero value as it is, a callable one by
``kp.transfinite`` of a rectangle's sides, never the exact solution inside).

* ``poisson2d`` - the default KAN [2, 10, 1] with hard Dirichlet, on grids 5, 10, 20, 40 with 6000 interior
  and 600 boundary points, 70 Levenberg-Marquardt steps a grid. Soft, the same net stalls at 1.2e-5 to 2e-5
  on grid 40 (ill-conditioned); hard, it goes on to 8.8e-7 (exploratory, 70 s; 100 steps a grid: 3.8e-7 in
  118 s; 4000 + 400 points and 80 steps: 1.2e-6 in 55 s, too few points for a 40-interval grid). The
  two-hidden-layer [2, 5, 5, 1] reached 1.35e-6 in 171 s.
* ``helmholtz2d`` - as poisson2d (hard, grids to 40, 6000 + 600 points, 70 steps a grid): 2.8e-5
  exploratory, against 1.7e-4 on the default grids 5, 10, 20 and 3.0e-3 soft (``results/grids.md``).
* ``heat1d``, ``heat_ball`` - the default KAN with hard Dirichlet values (zero): on heat_ball about 4e-7
  against 1.7e-4 soft.
* ``heat_inverse``, ``poisson_inverse_field`` - fewer points and steps than the defaults (the defaults meet
  the targets too, in more time).
* ``stokes2d`` - hard velocity values (``kp.transfinite`` of the sides), grids to 40 on 6000 + 600 points
  (on grids to 20: 2.5e-5; to 40 with 70 steps a grid 1.1e-5, the pressure 1.9e-5 and the velocity 3e-7:
  the pressure error is not its free constant, it follows the error of the velocity's Laplacian).
* ``taylor_green`` has no target row: the problem ships its lateral values hard and its default solve runs
  the settings it recommends (grids 5 and 10, 80 LM steps each, on 2000 + 600 + 400 points).
* ``burgers1d`` - the best KAN we found: three hidden layers with causal weights (ε = 100); without them
  0.25, and KAN [2, 10, 1] with residual knots and RAD 8.0e-2 (exploratory). The default solve is the tanh
  MLP the problem recommends, since every KAN tried in one solve settles at 0.04-0.3; a KAN needs three
  (viscosity continuation with the symmetry condition u(0, t) = 0 and RAD: 9.9e-5, ``results/burgers_kan.md``).
* ``poisson_holes`` - no target row: the default solve meets it (the problem ships its side values hard,
  lifted by ``kp.transfinite``).
* ``poisson_lshape`` - no target row: the default solve runs what the problem recommends, the tanh MLP
  [2, 20, 20, 20, 1] with 600 LM steps on 4000 + 800 points (7.4e-4 as a target row before). The corner
  singularity u ~ r^(2/3) limits every smooth approximation; the KANs tried end at 5.8e-3 to 9.6e-3
  (default 9.6e-3; [2, 5, 5, 1] 5.8e-3; grids to 40 6.2e-3; residual knots 7.6e-3; RAD 1.5e-2), the MLP
  with 400 steps at 1.0e-3 (exploratory).
* ``poisson5d`` - no target row: the default solve runs what the problem recommends (KAN [5, 2, 1] with
  33 then 132 intervals in the first layer and 10 then 40 in the second, 80 LM steps each, ``restarts=2``, 30 % of the boundary points on the cube's
  edges and corners). Before: KAN [5, 2, 1] with the solver's defaults 4.6e-3 in 51 s; the corners, which
  points on the faces never come near, carried most of the error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path as a script)
from hard_soft import hard

import kanpde as kp
from kanpde._atomic import atomic_write, plain, write_json
from kanpde.models import build_model, default_width

RESULTS = Path(__file__).resolve().parent.parent / "results"


TARGETS = {
    "poisson2d": {
        "model": ("kan", [2, 10, 1]),
        "hard": True,
        "solve": {"grids": (5, 10, 20, 40), "n_interior": 6000, "n_boundary": 600, "steps": 70},
    },
    "heat1d": {"model": ("kan", [2, 10, 1]), "hard": True, "solve": {}},
    "helmholtz2d": {
        "model": ("kan", [2, 10, 1]),
        "hard": True,
        "solve": {"grids": (5, 10, 20, 40), "n_interior": 6000, "n_boundary": 600, "steps": 70},
    },
    "heat_inverse": {
        "model": ("kan", [2, 10, 1]),
        "solve": {"grids": (5, 10, 20), "steps": 60, "n_interior": 1500, "n_boundary": 200, "n_initial": 200},
    },
    "poisson_inverse_field": {
        "model": ("kan", [2, 10, 2]),
        "solve": {"steps": 80, "n_interior": 1500, "n_boundary": 300},
    },
    "stokes2d": {
        "model": ("kan", [2, 10, 3]),
        "hard": True,
        "solve": {"grids": (5, 10, 20, 40), "n_interior": 6000, "n_boundary": 600, "steps": 100},
    },
    "burgers1d": {"model": ("kan", [2, 5, 5, 5, 1]), "solve": {"causal": 100.0}},
    "heat_ball": {"model": ("kan", [4, 10, 1]), "hard": True, "solve": {}},
}
"""Problem -> the configuration that meets (or comes closest to) its target (issues 4, 13, 14, 16)."""


def _default(problem: kp.Problem, seed: int) -> tuple[str, object, dict]:
    """What ``kanpde solve NAME`` runs: KAN [d, 10, F] on grid 5 and the solver's defaults, or the model and
    settings the problem recommends."""
    dim, n_out = problem.domain.dim, len(problem.fields)
    model_options, options = dict(problem.model_options), problem.solve_options
    family = model_options.pop("model", "kan")
    width = model_options.pop("width", None) or default_width(family, dim, n_out)
    if family == "kan":
        model_options.setdefault("grid", options["grids"][0] if options.get("grids") else 5)
    model = build_model(family, width, n_in=dim, n_out=n_out, seed=seed, **model_options)
    text = "".join(f", {k}={v}" for k, v in {**model_options, **options}.items())
    recommended = " (the problem's recommended settings)" if problem.recommended else ""
    return f"default{recommended}: {family.upper()} {list(width)}{text}", model, options


def _config(name: str, problem: kp.Problem, target: bool, seed: int) -> tuple[str, object, dict]:
    if not target:
        return _default(problem, seed)
    family, width, *rest = TARGETS[name]["model"]
    kwargs = rest[0] if rest else {}
    if family == "kan":
        model = kp.KAN(width, **{"grid": 5, **kwargs}, seed=seed)
    else:
        model = kp.MLP(width, **{"activation": "tanh", **kwargs}, seed=seed)
    options = TARGETS[name]["solve"]
    text = ", ".join(f"{k}={v}" for k, v in {**kwargs, **options}.items())
    hard = ", hard Dirichlet" if TARGETS[name].get("hard") else ""
    return f"target: {family.upper()} {width}{hard}" + (f", {text}" if text else ""), model, options


def run(name: str, out: Path, seed: int = 0, target: bool | None = None) -> dict:
    problem = kp.load_problem(name)
    target = name in TARGETS if target is None else target
    if target and TARGETS.get(name, {}).get("hard"):
        problem = hard(problem)  # Dirichlet imposed exactly, from boundary values only (hard_soft.py)
    config, model, options = _config(name, problem, target, seed)
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
    jobs = [(name, False) for name in kp.list_problems()] + [(name, True) for name in TARGETS]
    rows = {job: old[job] for job in jobs if job in old}
    for job in jobs:
        name, target = job
        rerun = (
            not args.only or name in args.only or f"{name}:{'target' if target else 'default'}" in args.only
        )
        if job in rows and not rerun:
            continue
        row = run(name, args.out, args.seed, target)
        print(json.dumps(plain(row)), flush=True)
        rows[job] = {**row, "checkpoint": Path(row["checkpoint"]).name}
        _write(
            args,
            [rows[j] for j in jobs if j in rows and not j[1]],
            [rows[j] for j in jobs if j in rows and j[1]],
        )


def _write(args: argparse.Namespace, defaults: list[dict], targets: list[dict]) -> None:
    """results/accuracy.{json,md} with the rows so far (written after every row: a failure keeps them)."""
    tables = {False: defaults, True: targets}
    command = "python benchmarks/accuracy.py --all" + (f" --threads {args.threads}" if args.threads else "")
    if args.only:
        command += f" (then --only {' '.join(args.only)} after a change)"
    info = {
        "command": command,
        "kanpde_source": kanpde_source(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": machine(),
        "rows": tables[False],
        "targets": tables[True],
    }
    write_json(RESULTS / "accuracy.json", info)
    lines = [
        "# Solve accuracy on the shipped problems (float64, CPU)",
        "",
        f"Made by `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads; load average "
        f"{info['machine']['load_average_at_start']} when the file was written, on 2 cores shared with other "
        "benchmarks: times are indicative). " + source_line(info["kanpde_source"]),
        "",
        "## Default solve (`kanpde solve NAME`): KAN [d, 10, F], grids 5, 10, 20, Levenberg-Marquardt, default points, unless the problem recommends other settings",
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
        "--only",
        nargs="+",
        default=None,
        help="with --all: rerun these problems (NAME, or NAME:default / NAME:target for one row), keep the others",
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
