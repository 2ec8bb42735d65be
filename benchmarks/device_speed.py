"""Training throughput on one device: points·steps per second of Adam, L-BFGS and Levenberg-Marquardt steps.

    python benchmarks/device_speed.py                      # CUDA when available: N = 1e4, 1e5, 1e6
    python benchmarks/device_speed.py --device cpu --sizes 1000 10000 --out /tmp/speed

Problem ``poisson2d`` (forward jets), KAN [2, 10, 1] on grid 5, float64; N interior points and N/10 boundary
points (Sobol). For every N and optimiser: warm-up steps, then timed steps (on CUDA each step ends with
``torch.cuda.synchronize``). Throughput is ``(N + N/10) / (median seconds per step)``. Adam and L-BFGS are
also timed with the loss compiled (``compile``, default ``inductor``; the first call compiles and is timed
apart). Levenberg-Marquardt forms the (M, P) Jacobian and is skipped where that would pass
``--lm-max-bytes``. Writes ``device_speed_<device>.json`` and ``.md`` into ``--out`` (default ``results``).

Issue 4 asks for this table on a GPU at N = 1e4, 1e5, 1e6; a session lent one runs the first command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.optim import Objective
from kanpde.settings import OPTIMIZERS

OPT_OPTIONS = {"adam": {"lr": 1e-3}, "lbfgs": {"history": 50}, "lm": {}}
LABEL = {"adam": "Adam", "lbfgs": "L-BFGS", "lm": "LM"}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(optimizer, device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` optimiser steps after ``warmup`` untimed ones."""
    for _ in range(warmup):
        optimizer.step()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def measure(n: int, opt: str, device: torch.device, compile: str | None, args) -> dict:
    """One row: median step time and throughput of optimiser ``opt`` at ``n`` interior points."""
    problem = kanpde.load_problem("poisson2d")
    points = sample_collocation(problem, n, n // 10, 0, "sobol", 0, torch.float64, device)
    model = kanpde.KAN([2, 10, 1], grid=5, seed=0, device=device)
    model.set_input_bounds(*problem.domain.bounds())
    loss = PINNLoss(problem, points, "forward")
    row = {
        "n": n,
        "points": n + n // 10,
        "optimizer": opt,
        "compile": compile,
        "params": model.num_parameters,
    }
    if opt == "lm" and row["points"] * row["params"] * 8 > args.lm_max_bytes:
        return row | {"skipped": f"Jacobian above {args.lm_max_bytes / 2**30:.0f} GiB"}
    start = time.perf_counter()
    objective = Objective(model, loss, compile=compile)
    if compile is not None:
        objective.value_and_grad()  # the first call compiles (timed apart)
        _sync(device)
    row["compile_seconds"] = time.perf_counter() - start if compile is not None else None
    optimizer = OPTIMIZERS[opt](**OPT_OPTIONS[opt]).build(objective)
    evaluations = objective.evaluations
    times = time_steps(optimizer, device, args.warmup, args.repeats)
    median = statistics.median(times)
    return row | {
        "seconds_per_step": median,
        "points_steps_per_second": row["points"] / median,
        "evaluations_per_step": (objective.evaluations - evaluations) / (args.warmup + args.repeats),
        "step_seconds": times,
    }


def markdown(result: dict) -> str:
    lines = [
        f"# Training throughput on {result['device_name']}",
        "",
        f"Made by `{result['command']}`. " + source_line(result["kanpde_source"]),
        "",
        f"torch {result['machine']['torch']}, float64, KAN [2, 10, 1] grid 5 on `poisson2d` (N interior + N/10 "
        f"boundary points); median of {result['repeats']} steps after {result['warmup']} warm-up steps.",
        "",
        "| N | optimiser | compiled | params | s/step | points·steps/s | evaluations/step | compile s |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        head = f"| {r['n']:.0e} | {LABEL[r['optimizer']]} | {r['compile'] or 'no'} | {r['params']} |"
        if "skipped" in r:
            lines.append(f"{head} skipped: {r['skipped']} | | | |")
            continue
        compile_s = f"{r['compile_seconds']:.1f}" if r["compile_seconds"] is not None else ""
        lines.append(
            f"{head} {r['seconds_per_step']:.4f} | {r['points_steps_per_second']:.3g} | "
            f"{r['evaluations_per_step']:.1f} | {compile_s} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6], help="interior points N")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", default="inductor", help="torch.compile backend, or 'none'")
    parser.add_argument("--lm-max-bytes", type=float, default=8 * 2**30, help="largest LM Jacobian")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "results")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no CUDA device; pass --device cpu")
    backend = None if args.compile == "none" else args.compile
    rows = []
    for n in (int(s) for s in args.sizes):
        for opt in OPT_OPTIONS:
            for compile in (None, backend) if opt != "lm" and backend else (None,):
                row = measure(n, opt, device, compile, args)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "step_seconds"}), flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else machine()["cpu"]
    result = {
        "command": "python benchmarks/device_speed.py"
        + (" " + " ".join(sys.argv[1:]) if argv is None else ""),
        "device": str(device),
        "device_name": name,
        "machine": machine(),
        "kanpde_source": kanpde_source(),
        "warmup": args.warmup,
        "repeats": args.repeats,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"device_speed_{device.type}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    print(f"wrote {stem}.json and {stem}.md", flush=True)
    return result


if __name__ == "__main__":
    main()
