"""Accuracy and time of the default solve on shipped problems.

    python benchmarks/accuracy.py PROBLEM --out DIR     # one problem; last line is a JSON object
    python benchmarks/accuracy.py --all --out DIR       # every shipped problem -> results/accuracy.{json,md}

One problem's run uses the target configuration: ``kp.KAN([d, 10, 1], grid=5)`` with the solver's defaults
(grids 5, 10, 20; Levenberg-Marquardt), float64 on the CPU. It writes the checkpoint ``DIR/PROBLEM.pt``
(``kp.load`` opens it) and prints ``{"problem", "relative_l2", "relative_h1", "max_abs", "train_seconds",
"steps", "evaluations", "params", "checkpoint"}`` as its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import kanpde as kp

RESULTS = Path(__file__).resolve().parent.parent / "results"


def run(name: str, out: Path, seed: int = 0) -> dict:
    problem = kp.load_problem(name)
    model = kp.KAN([problem.domain.dim, 10, 1], grid=5, seed=seed)
    start = time.perf_counter()
    sol = kp.solve(problem, model, seed=seed, device="cpu", dtype=torch.float64)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    path = sol.save(out / f"{name}.pt")
    metrics = sol.metrics()
    last = sol.history[-1]
    return {
        "problem": name,
        "relative_l2": metrics["relative_l2"],
        "relative_h1": metrics["relative_h1"],
        "max_abs": metrics["max_abs"],
        "train_seconds": seconds,
        "steps": last["step"],
        "evaluations": last["evaluations"],
        "params": sol.model.num_parameters,
        "checkpoint": str(path),  # printed in full; stored in results/ by file name only
    }


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
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.all:
        old = {}
        if args.only and (RESULTS / "accuracy.json").is_file():
            old = {r["problem"]: r for r in json.loads((RESULTS / "accuracy.json").read_text())["rows"]}
        rows = []
        for name in kp.list_problems():
            if args.only and name not in args.only and name in old:
                rows.append(old[name])
                continue
            row = run(name, args.out, args.seed)
            print(json.dumps(row), flush=True)
            rows.append({**row, "checkpoint": Path(row["checkpoint"]).name})
        command = "python benchmarks/accuracy.py --all" + (
            f" --threads {args.threads}" if args.threads else ""
        )
        if args.only:
            command += f" (then --only {' '.join(args.only)} after a problem change)"
        info = {
            "command": command,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "rows": rows,
        }
        (RESULTS / "accuracy.json").write_text(json.dumps(info, indent=2) + "\n")
        lines = [
            "# Default solve accuracy (KAN [d, 10, 1], grids 5, 10, 20, Levenberg-Marquardt, float64, CPU)",
            "",
            f"Made by `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads).",
            "",
            "| problem | relative L2 | relative H1 | max abs | train s | steps | evaluations | params |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['problem']} | {r['relative_l2']:.2e} | {r['relative_h1']:.2e} | {r['max_abs']:.2e} | "
                f"{r['train_seconds']:.1f} | {r['steps']} | {r['evaluations']} | {r['params']} |"
            )
        (RESULTS / "accuracy.md").write_text("\n".join(lines) + "\n")
        return 0
    if not args.problem:
        parser.error("name a problem or pass --all")
    print(json.dumps(run(args.problem, args.out, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
