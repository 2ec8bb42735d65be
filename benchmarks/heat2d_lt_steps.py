"""PINNacle's Heat2d-LT by implicit Runge-Kutta steps (:func:`kanpde.discrete_time`) instead of one network of
space and time: how far the steps carry over the 100 time units.

    python benchmarks/heat2d_lt_steps.py --data DIR --model mlp --seed 0      # -> results/heat2d_lt_steps.json
    python benchmarks/heat2d_lt_steps.py --data DIR --model kan --seed 0 --merge

Every PINN in PINNacle's table and kanpde's marched windows end at L2RE ~1 on this task
(``benchmarks/pinnacle_notes.md``). Here a network of (x, y) holds the three Radau IIA stage values of one step
of ``T / time_steps`` (0.2 by default, the reference's own spacing in time); each step is a Levenberg-Marquardt
solve of ``--steps`` iterations from the previous step's network (the first from a fit of ``--fit-steps`` to
the initial value). No time budget: the row gives the seconds it took. The JSON holds the L2RE over the
whole span and over each tenth of it (against the COMSOL reference, PINNacle's L2RE); ``--merge`` keeps the
rows of other models and seeds, ``--render A.json B.json`` writes one table from separate runs' JSONs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _provenance import kanpde_source, machine, source_line  # noqa: E402
from pinnacle import tenths  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde._atomic import atomic_write, write_json  # noqa: E402

PROBLEM = ROOT / "problems" / "pinnacle_heat2d_lt.py"
RESULTS = ROOT / "results"
MODELS = {"mlp": {"width": (2, 20, 20, 20, 3)}, "kan": {"width": (2, 10, 3), "grid": 20}}


def build(family: str, seed: int):
    spec = MODELS[family]
    if family == "kan":
        return kp.KAN(list(spec["width"]), grid=spec["grid"], seed=seed)
    return kp.MLP(list(spec["width"]), seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/heat2d_lt_steps.py", description=__doc__)
    parser.add_argument("--data", default=None, help="folder of PINNacle's reference files (its ref/)")
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-steps", type=int, default=500)
    parser.add_argument("--steps", type=int, default=30, help="Levenberg-Marquardt iterations a time step")
    parser.add_argument("--fit-steps", type=int, default=200)
    parser.add_argument("--points", type=int, default=1000, help="collocation points in the square")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--merge", action="store_true", help="keep the rows of other models and seeds")
    parser.add_argument(
        "--render", nargs="+", metavar="JSON", help="no run: write the table from these runs' JSONs' rows"
    )
    args = parser.parse_args(argv)
    if args.render:
        rows = [row for path in args.render for row in json.loads(Path(path).read_text())["rows"]]
        write(rows, Path(args.out))
        return 0
    torch.set_num_threads(args.threads)
    spec = importlib.util.spec_from_file_location("pinnacle_heat2d_lt", PROBLEM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problem = module.make_problem(data=args.data)
    if problem.reference is None:
        parser.error(f"no {module.FILE} found; pass --data DIR, the folder of PINNacle's ref/ files")
    model = build(args.model, args.seed)
    options = {"steps": args.steps, "n_interior": args.points, "seed": args.seed, "log_every": 10**6}
    if args.model == "kan":
        options["grids"] = (MODELS["kan"]["grid"],)
    source = kanpde_source()  # the code this run imports, before a long run gives time to change the files
    start = time.perf_counter()
    sol = kp.discrete_time(problem, model, args.time_steps, fit_steps=args.fit_steps, **options)
    seconds = time.perf_counter() - start
    row = {
        "model": args.model,
        "seed": args.seed,
        "width": list(MODELS[args.model]["width"]),
        "params": int(sol.model.num_parameters),
        "time_steps": args.time_steps,
        "steps": args.steps,
        "fit_steps": args.fit_steps,
        "points": args.points,
        "l2re": sol.relative_l2(),
        "tenths": tenths(sol),
        "seconds": seconds,
        "command": (
            f"python benchmarks/heat2d_lt_steps.py --data DATA --model {args.model} --seed {args.seed} "
            f"--time-steps {args.time_steps} --steps {args.steps} --fit-steps {args.fit_steps} "
            f"--points {args.points} --threads {args.threads}"
        ),
        "machine": machine(),
        "kanpde": source,
    }
    print(f"{args.model} seed {args.seed}: L2RE {row['l2re']:.3e} in {seconds:.0f} s; tenths {row['tenths']}")
    path = Path(args.out) / "heat2d_lt_steps.json"
    rows = json.loads(path.read_text())["rows"] if args.merge and path.exists() else []
    write(rows + [row], Path(args.out))
    return 0


def write(rows: list[dict], out: Path) -> None:
    """``heat2d_lt_steps.json`` and ``.md`` in ``out`` from ``rows`` (a later row of the same model and seed
    replaces an earlier one)."""
    rows = list({(r["model"], r["seed"]): r for r in rows}.values())
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "heat2d_lt_steps.json", {"rows": rows}, indent=1)
    lines = [
        "# Heat2d-LT by implicit Runge-Kutta steps (kp.discrete_time)",
        "",
        "Made by `python benchmarks/heat2d_lt_steps.py` (the command of each row is in `heat2d_lt_steps.json`). "
        "Three-stage Radau IIA steps of 0.2 time units over [0, 100]; L2RE against PINNacle's COMSOL reference "
        "(192 nodes, 501 times), over the whole span and over each tenth of it. No time budget.",
        "",
        "| model | seed | params | LM steps a step | L2RE | L2RE per tenth of [0, 100] | seconds | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        parts = ", ".join(f"{e:.2f}" for e in r["tenths"])
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['params']} | {r['steps']} | {r['l2re']:.3f} | {parts} | "
            f"{r['seconds']:.0f} | {source_line(r['kanpde'])} |"
        )
    with atomic_write(out / "heat2d_lt_steps.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
