"""Gauss-Newton and first-order steps at scale: memory at a million points, a KAN of 26 000 parameters, the
dense / matrix-free threshold of ``"lm"`` and what chunking costs on today's default problem.

    python benchmarks/scale.py [--sections overhead memory threshold big] [--threads 1]

Sections (each case in its own subprocess, so its peak RSS is its own ``ru_maxrss``; float64, CPU, Sobol
points, seed 0, ``poisson2d``):

* ``overhead``: seconds per step of Adam, L-BFGS and LM on the default points (2500 interior, 400
  boundary) with KAN [2,10,1] on grid 20 (the default solve's last grid), unchunked against the default
  ``chunk_size`` and smaller chunks, interleaved in one process so that load changes hit all alike.
* ``memory``: peak RSS and seconds per step of Adam, L-BFGS and dense Gauss-Newton (``"lm"``) at
  N = 1e6 points (996 000 interior + 4 000 boundary), KAN [2,10,1] on grid 20, default ``chunk_size``;
  at N = 1e5 also unchunked, for contrast.
* ``threshold``: LM with the dense and the matrix-free solver on KAN [2,W,W,1], grid 5 (1 321 to 9 961
  parameters), each for the same wall time: steps, seconds per step, peak RSS, loss and error reached.
* ``big``: KAN [2,40,40,1] on grid 10 (25 881 parameters): ``"lm"`` (matrix-free at this size) for a
  number of steps, and L-BFGS for the same wall time; seconds per step and the error reached.

Writes ``results/scale.{json,md}``; a section not run keeps its previous rows, each section with the command,
machine and kanpde version that made it. Timings on a loaded machine are indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _provenance import kanpde_source, machine, source_line  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde._atomic import atomic_write, write_json  # noqa: E402
from kanpde.ansatz import Ansatz  # noqa: E402
from kanpde.loss import PINNLoss, sample_collocation  # noqa: E402
from kanpde.metrics import relative_l2  # noqa: E402
from kanpde.optim import CG_MAX_ITER, Objective  # noqa: E402
from kanpde.settings import DEFAULT_CHUNK_SIZE, OPTIMIZERS  # noqa: E402

RESULTS = ROOT / "results"
F64 = torch.float64


def _rss_mb() -> float:
    """Resident set size now (MB), from /proc."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _setup(spec: dict):
    problem = kp.load_problem(spec.get("problem", "poisson2d"))
    net = kp.KAN(spec["width"], grid=spec["grid"], seed=spec.get("seed", 0))
    net.set_input_bounds(*problem.domain.bounds())
    model = Ansatz.for_problem(net, problem)
    points = sample_collocation(problem, spec["n_interior"], spec["n_boundary"], 0, "sobol", 0, F64, "cpu")
    return problem, model, points


def run_case(spec: dict) -> dict:
    """One optimiser on one model and point set: ``steps`` steps or ``seconds`` of wall time."""
    torch.set_num_threads(spec["threads"])
    problem, model, points = _setup(spec)
    rss_before = _rss_mb()
    loss = PINNLoss(problem, points, "forward", chunk_size=spec.get("chunk_size"))
    obj = Objective(model, loss)
    opt = OPTIMIZERS[spec["optimizer"]](**spec.get("options", {})).build(obj)
    times, cg, losses = [], [], []
    start = time.perf_counter()
    while len(times) < spec.get("steps", 10**9) and time.perf_counter() - start < spec.get("seconds", 1e9):
        t = time.perf_counter()
        result = opt.step()
        times.append(time.perf_counter() - t)
        cg.append(getattr(opt, "cg_iterations", 0))
        losses.append(float(result.loss))
        if getattr(opt, "converged", False):
            break
    truth = problem.truth(F64, torch.device("cpu"))
    with torch.no_grad():
        error = relative_l2(model(truth[0]), truth[1])
    later = times[1:] or times
    return {
        **spec,
        "parameters": model.num_parameters,
        "points": points.interior.shape[0] + sum(next(iter(c.values())).shape[0] for c in points.conditions),
        "chunks": len(loss.chunks),
        "solver": getattr(opt, "solver", None),
        "steps_taken": len(times),
        "first_step_s": times[0],
        "seconds_per_step": sum(later) / len(later),
        "wall_s": time.perf_counter() - start,
        "cg_iterations_per_step": sum(cg) / len(cg),
        "loss_start": losses[0],
        "loss_end": float(obj.value()),
        "relative_l2": error,
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def subprocess_case(spec: dict) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, __file__, "--case", json.dumps(spec)], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def overhead(threads: int, rounds: int = 5) -> list[dict]:
    """Per-step seconds of each optimiser, unchunked and chunked, interleaved in this process."""
    torch.set_num_threads(threads)
    spec = {"width": [2, 10, 1], "grid": 20, "n_interior": 2500, "n_boundary": 400}
    problem, model0, points = _setup(spec)
    sizes = [None, DEFAULT_CHUNK_SIZE, 2048, 1024]
    steps = {"adam": 20, "lbfgs": 10, "lm": 3}
    state = {}
    for name in steps:
        for size in sizes:
            model = Ansatz.for_problem(kp.KAN([2, 10, 1], grid=20, seed=0), problem)
            model.load_state_dict(model0.state_dict())
            loss = PINNLoss(problem, points, "forward", chunk_size=size)
            opt = OPTIMIZERS[name]().build(Objective(model, loss))
            opt.step()  # warm
            state[name, size] = (opt, len(loss.chunks), [])
    for _ in range(rounds):
        for name, n in steps.items():
            for size in sizes:
                opt, _, times = state[name, size]
                t = time.perf_counter()
                for _ in range(n):
                    opt.step()
                times.append((time.perf_counter() - t) / n)
    rows = []
    for (name, size), (_, chunks, times) in state.items():
        best = min(times)
        base = min(state[name, None][2])
        rows.append(
            {
                "optimizer": name,
                "chunk_size": size,
                "chunks": chunks,
                "seconds_per_step_min": best,
                "seconds_per_step_median": sorted(times)[len(times) // 2],
                "ratio_to_unchunked": best / base,
                "threads": threads,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def memory(threads: int) -> list[dict]:
    rows = []
    big = {"width": [2, 10, 1], "grid": 20, "n_interior": 996_000, "n_boundary": 4_000, "threads": threads}
    for name, steps in (("adam", 3), ("lbfgs", 2), ("lm", 2)):
        rows.append(
            subprocess_case({**big, "optimizer": name, "steps": steps, "chunk_size": DEFAULT_CHUNK_SIZE})
        )
    small = {**big, "n_interior": 99_600, "n_boundary": 400}
    for name in ("adam", "lm"):
        for size in (DEFAULT_CHUNK_SIZE, None):
            rows.append(subprocess_case({**small, "optimizer": name, "steps": 3, "chunk_size": size}))
    return rows


def threshold(threads: int, seconds: float = 90.0) -> list[dict]:
    """Dense against matrix-free LM at equal wall time; at W = 24 also other CG iteration caps."""
    rows = []
    runs = [(w, {"solver": s}) for w in (10, 16, 24, 30) for s in ("dense", "cg")]
    runs += [(24, {"solver": "cg", "cg_max_iter": n}) for n in (50, 1000)]
    for w, options in runs:
        spec = {
            "width": [2, w, w, 1],
            "grid": 5,
            "n_interior": 2500,
            "n_boundary": 400,
            "threads": threads,
            "optimizer": "lm",
            "options": {**options, "stall_tol": 0.0},
            "seconds": seconds,
        }
        rows.append(subprocess_case(spec))
    return rows


def big(threads: int, steps: int = 40) -> list[dict]:
    base = {"width": [2, 40, 40, 1], "grid": 10, "n_interior": 2500, "n_boundary": 400, "threads": threads}
    lm = subprocess_case({**base, "optimizer": "lm", "steps": steps, "options": {"stall_tol": 0.0}})
    lbfgs = subprocess_case({**base, "optimizer": "lbfgs", "seconds": lm["wall_s"]})
    return [lm, lbfgs]


SECTIONS = {"overhead": overhead, "memory": memory, "threshold": threshold, "big": big}


def _fmt(x, spec=".2e") -> str:
    return "-" if x is None else format(x, spec)


def _header(sec: dict) -> list[str]:
    m = sec["machine"]
    return [
        f"Made by `{sec['command']}` ({sec['threads']} thread(s) per case, load average "
        f"{m['load_average_at_start'][0]:.1f} at the start on {m['cpu_count']} CPUs: timings are indicative). "
        + source_line(sec["kanpde"]),
        "",
    ]


def write(info: dict) -> None:
    write_json(RESULTS / "scale.json", info)
    s = info["sections"]
    lines = ["# Gauss-Newton and chunked evaluation at scale (float64, CPU)", ""]
    if "memory" in s:
        lines += [
            "## Memory: KAN [2,10,1] on grid 20 (761 parameters), poisson2d",
            "",
            *_header(s["memory"]),
            "Peak RSS of the whole process (Python and torch included; `RSS before` is after the points were "
            "drawn, before the loss was built).",
            "",
            "| optimizer | points | chunk_size | chunks | peak RSS (MB) | RSS before (MB) | s/step |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in s["memory"]["rows"]:
            lines.append(
                f"| {r['optimizer']} | {r['points']} | {r['chunk_size']} | {r['chunks']} | "
                f"{r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} | {r['seconds_per_step']:.2f} |"
            )
        lines.append("")
    if "big" in s:
        lines += [
            "## A KAN of 25 881 parameters: [2,40,40,1] on grid 10, poisson2d, 2900 points",
            "",
            *_header(s["big"]),
            "| optimizer | solver | steps | s/step | CG iterations/step | wall (s) | loss start -> end | "
            "relative L2 | peak RSS (MB) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["big"]["rows"]:
            lines.append(
                f"| {r['optimizer']} | {r['solver'] or '-'} | {r['steps_taken']} | {r['seconds_per_step']:.2f} | "
                f"{r['cg_iterations_per_step']:.0f} | {r['wall_s']:.0f} | {r['loss_start']:.2e} -> "
                f"{r['loss_end']:.2e} | {r['relative_l2']:.2e} | {r['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    if "threshold" in s:
        lines += [
            "## Dense against matrix-free LM at equal time: KAN [2,W,W,1] on grid 5, poisson2d, 2900 points",
            "",
            *_header(s["threshold"]),
            "Each run gets the same wall time (steps are taken while less than that has passed); "
            "`CG cap` is the most CG iterations per damped solve.",
            "",
            "| W | parameters | solver | CG cap | steps | s/step | CG iterations/step | loss | relative L2 | "
            "peak RSS (MB) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["threshold"]["rows"]:
            cap = r["options"].get("cg_max_iter", CG_MAX_ITER) if r["solver"] == "cg" else "-"
            lines.append(
                f"| {r['width'][1]} | {r['parameters']} | {r['solver']} | {cap} | {r['steps_taken']} | "
                f"{r['seconds_per_step']:.2f} | {r['cg_iterations_per_step']:.0f} | {r['loss_end']:.2e} | "
                f"{r['relative_l2']:.2e} | {r['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    if "overhead" in s:
        lines += [
            "## Cost of chunking on the default problem: KAN [2,10,1] on grid 20, 2900 points",
            "",
            *_header(s["overhead"]),
            "Best of 5 interleaved rounds (median in brackets); `None` is the unchunked path.",
            "",
            "| optimizer | chunk_size | chunks | s/step | ratio to unchunked |",
            "|---|---|---|---|---|",
        ]
        for r in s["overhead"]["rows"]:
            lines.append(
                f"| {r['optimizer']} | {r['chunk_size']} | {r['chunks']} | {r['seconds_per_step_min']:.4f} "
                f"({r['seconds_per_step_median']:.4f}) | {r['ratio_to_unchunked']:.2f} |"
            )
        lines.append("")
    with atomic_write(RESULTS / "scale.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    old = RESULTS / "scale.json"
    info = json.loads(old.read_text()) if old.is_file() else {"sections": {}}
    for name in args.sections:
        sec = {
            "command": f"python benchmarks/scale.py --sections {name} --threads {args.threads}",
            "threads": args.threads,
            "machine": machine(),
            "kanpde": kanpde_source(),
        }
        sec["rows"] = SECTIONS[name](args.threads)
        info["sections"][name] = sec
        write(info)


if __name__ == "__main__":
    main()
