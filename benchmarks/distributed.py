"""Step time against the number of ranks (torch.distributed, gloo on the CPU, NCCL on GPUs).

    python benchmarks/distributed.py [--ranks 1 2] [--points 20000] [--steps 10]

For each rank count it starts that many processes on this machine (one intra-op thread each), solves
``heat2d`` with ``KAN([3, 10, 1], grid=5)`` on ``--points`` interior points sharded over the ranks, and
reports seconds per Adam, L-BFGS and LM step on rank 0 (the time of ``2S`` steps minus that of
``S`` steps, over ``S``, so set-up and logging cancel). On a 2-core CPU two ranks can at best
halve the time; the numbers say how close the reductions let them come. Writes
``results/distributed.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import kanpde as kp

RESULTS = Path(__file__).resolve().parent.parent / "results"


def _worker(rank: int, world: int, port: int, points: int, steps: int, out: str) -> None:
    torch.set_num_threads(1)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        problem = kp.load_problem("heat2d")
        times = {}
        kp.solve(
            problem, kp.KAN([3, 10, 1], grid=5), grids=(5,), optimizer="adam", steps=1, n_interior=points
        )
        for name in ("adam", "lbfgs", "lm"):
            walls = []
            for n_steps in (steps, 2 * steps):  # the difference removes set-up and logging
                start = time.perf_counter()
                kp.solve(
                    problem,
                    kp.KAN([3, 10, 1], grid=5),
                    grids=(5,),
                    optimizer=[(name, n_steps)],
                    n_interior=points,
                    n_boundary=points // 10,
                    n_initial=points // 10,
                    log_every=10**6,
                    device="auto",
                )
                walls.append(time.perf_counter() - start)
            times[name] = (walls[1] - walls[0]) / steps
        if rank == 0:
            Path(out).write_text(json.dumps(times))
    finally:
        dist.destroy_process_group()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.ranks:
            out = str(Path(tmp) / f"{world}.json")
            mp.spawn(_worker, args=(world, _port(), args.points, args.steps, out), nprocs=world, join=True)
            row = {"ranks": world, **json.loads(Path(out).read_text())}
            print(json.dumps(row), flush=True)
            rows.append(row)
    command = f"python benchmarks/distributed.py --ranks {' '.join(map(str, args.ranks))} --points {args.points} --steps {args.steps}"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (gloo), 1 thread per rank"
    (RESULTS / "distributed.json").write_text(
        json.dumps({"command": command, "device": device, "rows": rows}, indent=2) + "\n"
    )
    base = rows[0]
    lines = [
        f"# Seconds per step against ranks: heat2d, KAN [3, 10, 1] G5, {args.points} interior points, {device}",
        "",
        f"Made by `{command}`.",
        "",
        "| ranks | Adam s/step | L-BFGS s/step | LM s/step | LM speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['ranks']} | {r['adam']:.3f} | {r['lbfgs']:.3f} | {r['lm']:.3f} | {base['lm'] / r['lm']:.2f}x |"
        )
    (RESULTS / "distributed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
