"""Forward + backward time of KANs against MLPs of about the same parameter count (float64, CPU).

For each KAN and an MLP with three tanh hidden layers whose parameter count is closest to the KAN's, at
``N = 10_000`` points in ``[-1, 1]^2``, three workloads are timed, each a forward pass and the parameter
gradient of a scalar loss:

(a) ``value``: ``mean(u^2)``, plain values;
(b) ``laplacian_autograd``: ``mean((u_xx + u_yy)^2)`` with the Laplacian by nested autograd
    (``kanpde.Field`` mode ``"autograd"``);
(c) ``laplacian_forward``: the same loss with the Laplacian from a forward jet (mode ``"forward"``).

The figure is the median of ``--repeats`` (default 15) timed runs after ``--warmup`` untimed ones; torch's
thread count is left at its default (``--threads`` overrides it). Writes ``results/model_speed.json`` and ``results/model_speed.md``.

Usage: ``python benchmarks/model_speed.py`` (options: ``--n``, ``--repeats``, ``--warmup``, ``--out``, ``--threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _provenance import machine  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from kanpde import KAN, MLP, Field

COMMAND = "python benchmarks/model_speed.py"
KAN_CONFIGS = [([2, 10, 1], 5), ([2, 10, 1], 20), ([2, 5, 5, 1], 10)]
WORKLOADS = ("value", "laplacian_autograd", "laplacian_forward")
LABELS = {
    "value": "(a) value",
    "laplacian_autograd": "(b) Laplacian, nested autograd",
    "laplacian_forward": "(c) Laplacian, forward jet",
}


def matched_mlp(target: int, hidden_layers: int = 3, activation: str = "tanh") -> MLP:
    """The ``[2, h, ..., h, 1]`` MLP whose parameter count is closest to ``target`` (smaller ``h`` on ties)."""
    best = None
    for h in range(1, 200):
        count = MLP([2] + [h] * hidden_layers + [1], activation=activation).num_parameters
        if best is None or abs(count - target) < abs(best[1] - target):
            best = (h, count)
        if count > 2 * target:
            break
    return MLP([2] + [best[0]] * hidden_layers + [1], activation=activation)


def workload(model: torch.nn.Module, x: torch.Tensor, kind: str) -> Callable[[], torch.Tensor]:
    """A closure running one forward pass and the parameter gradient; returns the loss (detached)."""
    params = [p for p in model.parameters() if p.requires_grad]

    def run() -> torch.Tensor:
        if kind == "value":
            loss = model(x).square().mean()
        else:
            mode = "autograd" if kind == "laplacian_autograd" else "forward"
            u = Field(model, x, ("x", "y"), 2, mode=mode)
            loss = u.laplacian().square().mean()
        torch.autograd.grad(loss, params, allow_unused=True)  # the output bias drops out of a Laplacian
        return loss.detach()

    return run


def interleaved_ms(
    fns: dict[str, Callable[[], torch.Tensor]], repeats: int, warmup: int
) -> dict[str, list[float]]:
    """Times of each closure in ms; the closures alternate within every repeat, so that a change of machine
    load during the run affects all of them alike and their ratios stay meaningful."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    return times


def run(n: int, repeats: int, warmup: int, command: str = COMMAND) -> dict:
    env = machine()  # the load average before the timings start
    x = torch.rand(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    rows = []
    for width, grid in KAN_CONFIGS:
        kan = KAN(width, grid=grid, k=3, seed=0)
        mlp = matched_mlp(kan.num_parameters)
        entry = {
            "kan": {"width": width, "grid": grid, "k": 3, "params": kan.num_parameters},
            "mlp": {"width": mlp.width, "activation": "tanh", "params": mlp.num_parameters},
            "median_ms": {},
            "all_ms": {},
            "kan_over_mlp": {},
        }
        models = {"kan": kan, "mlp": mlp}
        for name, model in models.items():
            # the two Laplacian engines must agree before their times mean anything
            lap_a = Field(model, x[:500], ("x", "y"), 2, mode="autograd").laplacian().detach()
            lap_f = Field(model, x[:500], ("x", "y"), 2, mode="forward").laplacian().detach()
            entry[name]["laplacian_mode_difference"] = float((lap_a - lap_f).abs().max())
            entry["median_ms"][name], entry["all_ms"][name] = {}, {}
        for kind in WORKLOADS:
            times = interleaved_ms({n: workload(m, x, kind) for n, m in models.items()}, repeats, warmup)
            for name, t in times.items():
                entry["median_ms"][name][kind] = statistics.median(t)
                entry["all_ms"][name][kind] = t
            print(
                f"{width} G={grid} {kind}: KAN {entry['median_ms']['kan'][kind]:.1f} ms, "
                f"MLP {entry['median_ms']['mlp'][kind]:.1f} ms",
                flush=True,
            )
        for kind in WORKLOADS:
            entry["kan_over_mlp"][kind] = entry["median_ms"]["kan"][kind] / entry["median_ms"]["mlp"][kind]
        rows.append(entry)
    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "command": command,
        "description": "forward + parameter gradient, median wall time in ms; float64, CPU",
        "settings": {
            "n_points": n,
            "repeats": repeats,
            "warmup": warmup,
            "dtype": "float64",
            "device": "cpu",
        },
        "environment": env | {"load_average_at_end": list(load_end) if load_end else None},
        "rows": rows,
    }


def markdown(result: dict) -> str:
    s, env = result["settings"], result["environment"]
    lines = [
        "# KAN vs MLP: forward + backward time",
        "",
        f"Produced by `{result['command']}`.",
        "",
        f"N = {s['n_points']} points in [-1, 1]^2, float64, CPU ({env['cpu']}, {env['cpu_count']} cores, "
        f"torch {env['torch']} with {env['torch_threads']} threads; load average at start "
        f"{', '.join(f'{v:.2f}' for v in env['load_average_at_start'] or [])}). "
        f"Median of {s['repeats']} runs after {s['warmup']} warm-up runs, in ms (KAN and MLP runs alternate). Each workload is a forward "
        "pass and the gradient with respect to all parameters of (a) mean(u^2), (b) mean(lap(u)^2) with the "
        'Laplacian by nested autograd (`Field` mode "autograd"), (c) the same with a forward jet (mode '
        '"forward"). MLPs: three tanh hidden layers of the width whose parameter count is closest to the '
        "KAN's.",
        "",
        "| model | params | (a) value | (b) Laplacian, autograd | (c) Laplacian, forward jet | (b)/(c) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        kan, mlp, med = row["kan"], row["mlp"], row["median_ms"]
        for name, label in (("kan", f"KAN {kan['width']} G={kan['grid']}"), ("mlp", f"MLP {mlp['width']}")):
            m = med[name]
            lines.append(
                f"| {label} | {row[name]['params']} | {m['value']:.1f} | {m['laplacian_autograd']:.1f} | "
                f"{m['laplacian_forward']:.1f} | {m['laplacian_autograd'] / m['laplacian_forward']:.2f} |"
            )
        r = row["kan_over_mlp"]
        lines.append(
            f"| KAN/MLP ratio | | {r['value']:.2f} | {r['laplacian_autograd']:.2f} | "
            f"{r['laplacian_forward']:.2f} | |"
        )
    load = [env.get("load_average_at_start"), env.get("load_average_at_end")]
    if any(v is not None and v[0] > 0.5 * env["cpu_count"] for v in load):
        lines[4] += (
            " **Warning: the machine was busy with other work during this run (1-minute load average "
            f"{load[0][0]:.1f} at start, {load[1][0]:.1f} at end on {env['cpu_count']} cores); the times are "
            "unreliable.**"
        )
    worst = max(max(row[n]["laplacian_mode_difference"] for n in ("kan", "mlp")) for row in result["rows"])
    lines += [
        "",
        f"Largest difference between the two Laplacian engines on 500 of the points: {worst:.1e}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of points")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per workload (>= 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's own choice)"
    )
    args = parser.parse_args()
    if args.repeats < 10:
        parser.error("--repeats must be at least 10")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    command = " ".join([COMMAND, *sys.argv[1:]])
    result = run(args.n, args.repeats, args.warmup, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "model_speed.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
