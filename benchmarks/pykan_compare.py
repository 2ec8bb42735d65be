"""Time per L-BFGS step and per loss evaluation: kanpde against pykan 0.2.8 on pykan's own PDE recipe.

The recipe is pykan's tutorial "Example 7: Solving Partial Differential Equation (PDE)":

    Δu = -2π² sin(πx) sin(πy) on [-1, 1]², u = 0 on the boundary, exact u = sin(πx) sin(πy),
    loss = α · mean |Δu - f|² (interior) + mean |u - 0|² (boundary), α = 0.01.

Points: an ``n_side × n_side`` mesh of [-1, 1]² (``torch.linspace``, edges included, as the tutorial's
``sampling_mode = 'mesh'``) and the four sides with ``n_side`` points each (corners appear twice, as in the
tutorial). Default ``n_side = 21`` (441 interior points); the tutorial's own default is 51.

* **pykan**: ``KAN(width, grid=5, k=3, seed=1).speed()`` and pykan's ``LBFGS(lr=1, history_size=10,
  line_search_fn="strong_wolfe", tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)``; the
  Laplacian by nested ``torch.autograd.functional.jacobian(..., create_graph=True)`` as in the tutorial.
  One pykan *step* is one ``optimizer.step(closure)``: with the default ``max_iter=20`` and
  ``max_eval=25`` that is up to 20 L-BFGS iterations and up to 25 loss evaluations (counted here by a
  counter in the closure, iterations from the optimiser's ``n_iter``). Variants: ``matched`` (no grid
  update) and ``tutorial`` (``update_grid_from_samples`` before steps 0, 5, 10, 15 as the tutorial does;
  the update time is reported apart and left out of the step time).
* **kanpde**: ``KAN(width, grid=5, k=3)``, :class:`~kanpde.loss.PINNLoss` in forward-jet mode on the same
  points, ``LBFGS(objective, history=10)``; one *step* is one L-BFGS iteration with a strong-Wolfe line
  search. It runs as many iterations as the pykan run made, so errors are compared at equal steps (20) and
  at equal iterations. The kanpde run is timed twice (before and after pykan) and the two passes pooled.

Both run in float64 (pykan through ``torch.set_default_dtype(torch.float64)`` while its models are built
and trained) with the same torch thread count. pykan seeds torch, NumPy and ``random`` globally and
writes ``./model``: its part runs in a temporary directory and the global RNG states and default dtype are
restored afterwards. The relative L2 error of both is measured on kanpde's evaluation grid (101 × 101).
When ``import kan`` fails the pykan rows are skipped with a message and kanpde is still timed.

At the first mesh kanpde is also timed with its opt-in ``compile`` (``--compile``, default ``inductor``:
``torch.compile`` of the loss and gradient; the compilation is timed apart). On 441 points an evaluation is
a few hundred small tensor ops, so per-op dispatch dominates and fusing them pays even on the CPU.

Usage: ``python benchmarks/pykan_compare.py`` (options: ``--steps``, ``--n-side``, ``--tutorial-n-side``,
``--threads``, ``--compile``, ``--out``, ``--render``). Writes ``results/pykan_compare.json`` and ``results/pykan_compare.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from peers import pointwise_jacobian

import kanpde
from kanpde.loss import Collocation, PINNLoss
from kanpde.metrics import relative_l2
from kanpde.optim import LBFGS, NonFiniteError, Objective

COMMAND = "python benchmarks/pykan_compare.py"
ALPHA = 0.01
GRID, K = 5, 3
WIDTHS = ([2, 2, 1], [2, 10, 1])
PYKAN_LBFGS = {
    "lr": 1,
    "history_size": 10,
    "line_search_fn": "strong_wolfe",
    "tolerance_grad": 1e-32,
    "tolerance_change": 1e-32,
    "tolerance_ys": 1e-32,
}
TUTORIAL_GRID_UPDATES = (0, 5, 10, 15)  # the tutorial: `if _ % 5 == 0 and _ < 20: update_grid_from_samples`


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(πx) sin(πy), shape (N,)."""
    return torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -2π² u, shape (N,)."""
    return -2 * math.pi**2 * exact(x)


def mesh_points(n_side: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Interior mesh ``(n², 2)`` (edges included) and the four sides ``(4n, 2)`` of [-1, 1]²."""
    t = torch.linspace(-1.0, 1.0, n_side, dtype=dtype)  # (n,)
    gx, gy = torch.meshgrid(t, t, indexing="ij")  # (n, n) each
    interior = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (n², 2)
    lo, hi = torch.full_like(t, -1.0), torch.full_like(t, 1.0)
    sides = [(lo, t), (hi, t), (t, lo), (t, hi)]  # x = -1, x = 1, y = -1, y = 1
    boundary = torch.cat([torch.stack(s, dim=1) for s in sides])  # (4n, 2)
    return interior, boundary


def load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


# -- kanpde -------------------------------------------------------------------------------------------------
def kanpde_run(width, interior, boundary, n_steps: int, eval_x, eval_u, compile: str | None = None) -> dict:
    """``n_steps`` kanpde L-BFGS iterations; per-step wall times, evaluations and the error after each step.

    The parameters are kept after every step and the errors evaluated after the timed loop, so that the
    evaluation on 10k points (its allocations and cache traffic) does not run between timed steps.
    """
    problem = dataclasses.replace(kanpde.load_problem("poisson2d_sin"), residual_weight=ALPHA)
    target = torch.zeros(boundary.shape[0], dtype=boundary.dtype)
    normals = torch.zeros_like(boundary)  # unused by a Dirichlet condition
    points = Collocation(interior, ({"x": boundary, "normals": normals, "target": target},))
    model = kanpde.KAN(width, grid=GRID, k=K, seed=0, dtype=interior.dtype)
    loss = PINNLoss(problem, points, "forward")
    loss(model)  # warm-up: the derivative plan is learned on the first call (not counted, not timed)
    start = time.perf_counter()
    objective = Objective(model, loss, compile=compile)
    if compile is not None:
        objective.value_and_grad()  # compiles the loss and its backward (timed apart, not counted)
        objective.evaluations = 0
    compile_seconds = time.perf_counter() - start
    optimizer = LBFGS(objective, lr=1.0, history=10)
    times, cpu, evals, snapshots, stopped = [], [], [], [], None
    for _ in range(n_steps):
        before = objective.evaluations
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            optimizer.step()
        except NonFiniteError as err:
            stopped = str(err)
            break
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        evals.append(objective.evaluations - before)
        snapshots.append(objective.flat())
    errors = []
    with torch.no_grad():
        for flat in snapshots:
            objective.assign(flat)
            errors.append(relative_l2(model(eval_x)[:, 0], eval_u))
    return {
        "step_seconds": times,
        "step_cpu_seconds": cpu,
        "step_evaluations": evals,
        "relative_l2": errors,
        "stopped": stopped,
        "compile_seconds": compile_seconds if compile is not None else None,
    }


# -- pykan --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def pykan_sandbox(dtype: torch.dtype):
    """Run pykan in a temporary directory with ``dtype`` as torch's default; restore cwd, RNGs and dtype."""
    cwd, old_dtype = os.getcwd(), torch.get_default_dtype()
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    with tempfile.TemporaryDirectory(prefix="pykan_compare_") as tmp:
        os.chdir(tmp)
        torch.set_default_dtype(dtype)
        try:
            yield
        finally:
            os.chdir(cwd)
            torch.set_default_dtype(old_dtype)
            torch.set_rng_state(states[0])
            np.random.set_state(states[1])
            random.setstate(states[2])


def pykan_run(width, interior, boundary, steps: int, grid_updates, eval_x, eval_u) -> dict:
    """``steps`` calls of pykan's ``LBFGS.step(closure)`` on the tutorial loss (errors evaluated afterwards
    from a copy of the state, grids included, kept after every step)."""
    from kan import KAN
    from kan import LBFGS as PykanLBFGS

    # pykan rewrites the width list it is given: pass a copy
    model = KAN(width=list(width), grid=GRID, k=K, seed=1, device="cpu").speed()
    optimizer = PykanLBFGS(model.parameters(), **PYKAN_LBFGS)
    f_int = source(interior)[:, None]  # (N, 1)
    u_bnd = exact(boundary)[:, None]  # (B, 1), zero up to round-off
    calls = [0]

    def loss_value() -> torch.Tensor:
        first = lambda z: pointwise_jacobian(model, z)[:, 0, :]  # noqa: E731  (N, 2)
        hessian = pointwise_jacobian(first, interior)  # (N, 2, 2)
        lap = torch.diagonal(hessian, dim1=1, dim2=2).sum(1, keepdim=True)  # (N, 1)
        return ALPHA * torch.mean((lap - f_int) ** 2) + torch.mean((model(boundary) - u_bnd) ** 2)

    def closure() -> torch.Tensor:
        calls[0] += 1
        optimizer.zero_grad()
        loss = loss_value()
        loss.backward()
        return loss

    loss_value()  # warm-up (not counted, not timed): no optimiser state changes
    state = lambda: optimizer.state[optimizer._params[0]]  # noqa: E731  torch's L-BFGS keeps it there
    times, cpu, evals, iters, snapshots, update_seconds = [], [], [], [], [], []
    for step in range(steps):
        if step in grid_updates:
            start = time.perf_counter()
            model.update_grid_from_samples(interior)
            update_seconds.append(time.perf_counter() - start)
        calls_before, iters_before = calls[0], state().get("n_iter", 0)
        start, start_cpu = time.perf_counter(), time.process_time()
        optimizer.step(closure)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        evals.append(calls[0] - calls_before)
        iters.append(state()["n_iter"] - iters_before)
        snapshots.append(copy.deepcopy(model.state_dict()))
    errors = []
    with torch.no_grad():
        for snap in snapshots:
            model.load_state_dict(snap)
            errors.append(relative_l2(model(eval_x)[:, 0], eval_u))
    return {
        "step_seconds": times,
        "step_cpu_seconds": cpu,
        "step_evaluations": evals,
        "step_iterations": iters,
        "relative_l2": errors,
        "grid_update_seconds": update_seconds,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


# -- summaries ----------------------------------------------------------------------------------------------
def summary(run: dict, steps: int | None = None) -> dict:
    """Per-step and per-evaluation times over the first ``steps`` steps (all when ``None``)."""
    t = run["step_seconds"][:steps]
    c = run["step_cpu_seconds"][:steps]
    e = run["step_evaluations"][:steps]
    it = run.get("step_iterations", [1] * len(t))[:steps]
    return {
        "steps": len(t),
        "iterations": int(sum(it)),
        "evaluations": int(sum(e)),
        "seconds_total": sum(t),
        "seconds_per_step_median": statistics.median(t),
        "seconds_per_step_mean": sum(t) / len(t),
        "seconds_per_iteration": sum(t) / sum(it),
        "seconds_per_evaluation": sum(t) / sum(e),
        "cpu_seconds_per_step_median": statistics.median(c),
        "cpu_seconds_per_iteration": sum(c) / sum(it),
        "cpu_seconds_per_evaluation": sum(c) / sum(e),
        "relative_l2": run["relative_l2"][len(t) - 1],
    }


def pooled(runs: list[dict]) -> dict:
    """Two timed passes of the same deterministic kanpde run: step times pooled (medians and sums)."""
    first = runs[0]
    out = dict(first)
    for key in ("step_seconds", "step_cpu_seconds"):
        out[key] = [statistics.median(ts) for ts in zip(*(r[key] for r in runs), strict=False)]
    out["passes_seconds_total"] = [sum(r["step_seconds"]) for r in runs]
    return out


def compare(
    width, interior, boundary, steps, eval_x, eval_u, have_pykan, variants, label, compile=None
) -> dict:
    entry: dict = {"width": width, "points": label, "pykan": {}, "kanpde": {}, "ratio": {}}
    n_kan_steps = steps * 20  # pykan's default max_iter: an upper bound of its iterations
    print(f"[{label}] kanpde {width}: {n_kan_steps} L-BFGS steps (pass 1) ...", flush=True)
    passes = [kanpde_run(width, interior, boundary, n_kan_steps, eval_x, eval_u)]
    if have_pykan:
        for name, updates in variants.items():
            print(f"[{label}] pykan {width} {name}: {steps} steps ...", flush=True)
            with pykan_sandbox(interior.dtype):
                run = pykan_run(width, interior, boundary, steps, updates, eval_x, eval_u)
            entry["pykan"][name] = {"summary": summary(run), "raw": run}
            s = entry["pykan"][name]["summary"]
            print(
                f"    {s['seconds_per_step_median']:.3f} s/step, {s['seconds_per_evaluation'] * 1e3:.2f} ms/eval, "
                f"{s['iterations']} iterations, {s['evaluations']} evaluations, rel L2 {s['relative_l2']:.3e}",
                flush=True,
            )
    print(f"[{label}] kanpde {width}: pass 2 ...", flush=True)
    passes.append(kanpde_run(width, interior, boundary, n_kan_steps, eval_x, eval_u))
    kan_run = pooled(passes)
    kan_steps = len(kan_run["step_seconds"])
    entry["kanpde"] = {
        "params": kanpde.KAN(width, grid=GRID, k=K).num_parameters,
        "at_equal_steps": summary(kan_run, steps),
        "raw": kan_run,
    }
    for name, p in entry["pykan"].items():
        n_iter = p["summary"]["iterations"]
        k_iter = summary(kan_run, min(n_iter, kan_steps))
        entry["kanpde"][f"at_equal_iterations_{name}"] = k_iter
        ps, ks = p["summary"], entry["kanpde"]["at_equal_steps"]
        entry["ratio"][name] = {
            "per_step": ps["seconds_per_step_median"] / ks["seconds_per_step_median"],
            "per_iteration": ps["seconds_per_iteration"] / k_iter["seconds_per_iteration"],
            "per_evaluation": ps["seconds_per_evaluation"] / k_iter["seconds_per_evaluation"],
            "per_step_cpu": ps["cpu_seconds_per_step_median"] / ks["cpu_seconds_per_step_median"],
            "per_evaluation_cpu": ps["cpu_seconds_per_evaluation"] / k_iter["cpu_seconds_per_evaluation"],
        }
        print(
            f"    ratio pykan/kanpde ({name}): "
            + ", ".join(f"{k} {v:.1f}x" for k, v in entry["ratio"][name].items())
        )
    if compile is not None:
        print(f"[{label}] kanpde {width}, compile={compile!r} ...", flush=True)
        run = kanpde_run(width, interior, boundary, n_kan_steps, eval_x, eval_u, compile)
        cs = summary(run, steps)
        entry["compiled"] = {
            "backend": compile,
            "compile_seconds": run["compile_seconds"],
            "at_equal_steps": cs,
            "raw": run,
            "ratio": {
                name: {
                    "per_step": p["summary"]["seconds_per_step_median"] / cs["seconds_per_step_median"],
                    "per_iteration": p["summary"]["seconds_per_iteration"]
                    / summary(run, min(p["summary"]["iterations"], len(run["step_seconds"])))[
                        "seconds_per_iteration"
                    ],
                }
                for name, p in entry["pykan"].items()
            },
        }
        print(
            f"    compiled in {run['compile_seconds']:.1f} s: {cs['seconds_per_step_median'] * 1e3:.2f} ms/step, "
            f"{cs['seconds_per_evaluation'] * 1e3:.2f} ms/eval; "
            + ", ".join(f"{n} {r['per_step']:.0f}x per step" for n, r in entry["compiled"]["ratio"].items()),
            flush=True,
        )
    ks = entry["kanpde"]["at_equal_steps"]
    print(
        f"    kanpde: {ks['seconds_per_step_median'] * 1e3:.2f} ms/step, "
        f"{ks['seconds_per_evaluation'] * 1e3:.2f} ms/eval, rel L2 after {ks['steps']} steps {ks['relative_l2']:.3e}",
        flush=True,
    )
    return entry


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        "# kanpde vs pykan: time per L-BFGS step on pykan's PDE tutorial",
        "",
        f"Produced by `{result['command']}` (pykan {result['pykan_version'] or 'not installed'}). "
        + source_line(result["kanpde_source"]),
        "",
        f"Machine: {m['cpu']}, {m['cpu_count']} cores shared with other work (load average "
        f"{', '.join(f'{v:.1f}' for v in result['load_average_start'] or [])} at start, "
        f"{', '.join(f'{v:.1f}' for v in result['load_average_end'] or [])} at end), torch {m['torch']} with "
        f"{m['torch_threads']} thread(s); timings are noisy: medians of per-step times, means per evaluation. "
        "Wall time is what was asked for; process CPU time (`time.process_time`, user + system, one thread) "
        "is given beside it because it depends far less on what else the shared cores run.",
        "",
        "Problem (pykan Example 7): Δu = -2π² sin(πx) sin(πy) on [-1,1]², u = 0 on the boundary, "
        f"loss = {ALPHA}·mean(Δu - f)² + mean(u_b)²; KAN grid={GRID}, k={K}; float64 for both. Points: an "
        "n×n mesh of [-1,1]² with edges (pykan's `sampling_mode='mesh'`) and n points on each of the 4 sides.",
        "",
        "**What a step is.** pykan: one `LBFGS.step(closure)` with its defaults `max_iter=20`, `max_eval=25`, "
        "i.e. up to 20 L-BFGS iterations (strong-Wolfe line search) and up to 25 loss evaluations; "
        "`history_size=10`, tolerances 1e-32 as in the tutorial. kanpde: one L-BFGS iteration with a "
        "strong-Wolfe line search (`LBFGS(objective, history=10)`). So *per step* compares unequal work; "
        "*per iteration* and *per evaluation* compare equal work. kanpde is run for as many iterations as "
        "pykan made in its steps; its error is given after the same number of steps and after the same number "
        "of iterations. pykan variants: *matched* (no grid update, like kanpde) and *tutorial* "
        f"(`update_grid_from_samples` before steps {', '.join(map(str, TUTORIAL_GRID_UPDATES))}; update time "
        "left out of the step time and listed apart). Initialisations differ (pykan seed 1, kanpde seed 0).",
        "",
        "| points | width | code | params | steps | iterations | evaluations | s/step (median) | ms/iteration | "
        "ms/evaluation | CPU s/step (median) | CPU ms/evaluation | rel. L2 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratio_lines = [
        "| points | width | pykan variant | per step | per iteration | per evaluation | per step (CPU) | "
        "per evaluation (CPU) | target ≥ 100x per step |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for e in result["rows"]:
        w, pts = e["width"], e["points"]
        k = e["kanpde"]

        def row(code, params, x, pts=pts, w=w):
            return (
                f"| {pts} | {w} | {code} | {params} | {x['steps']} | {x['iterations']} | {x['evaluations']} | "
                f"{x['seconds_per_step_median']:.4f} | {x['seconds_per_iteration'] * 1e3:.2f} | "
                f"{x['seconds_per_evaluation'] * 1e3:.2f} | {x['cpu_seconds_per_step_median']:.4f} | "
                f"{x['cpu_seconds_per_evaluation'] * 1e3:.2f} | {x['relative_l2']:.2e} |"
            )

        lines.append(row("kanpde (equal steps)", k["params"], k["at_equal_steps"]))
        for name, p in e["pykan"].items():
            lines.append(
                row(
                    f"kanpde (equal iterations to pykan {name})",
                    k["params"],
                    k[f"at_equal_iterations_{name}"],
                )
            )
            lines.append(row(f"pykan {name}", p["raw"]["params"], p["summary"]))
            updates = p["raw"]["grid_update_seconds"]
            if updates:
                lines[-1] = lines[-1][:-1] + f" (+{len(updates)} grid updates, {sum(updates):.2f} s) |"
            r = e["ratio"][name]
            ratio_lines.append(
                f"| {pts} | {w} | {name} | {r['per_step']:.0f}x | {r['per_iteration']:.1f}x | "
                f"{r['per_evaluation']:.1f}x | {r['per_step_cpu']:.0f}x | {r['per_evaluation_cpu']:.1f}x | "
                f"{'met' if r['per_step'] >= 100 else 'missed'} (wall) |"
            )
    lines += ["", "Ratio pykan / kanpde (time):", ""] + ratio_lines
    compiled = [e for e in result["rows"] if "compiled" in e]
    if compiled:
        backend = compiled[0]["compiled"]["backend"]
        lines += [
            "",
            f"kanpde with its opt-in `compile={backend!r}` (`torch.compile` of the loss and its gradient, "
            "here on the CPU): the same L-BFGS run, one compilation up front (its time is listed, not counted "
            "in the steps). Ratios against the same pykan rows as above.",
            "",
            "| points | width | compile s | s/step (median) | ms/evaluation | rel. L2 | "
            + " | ".join(
                f"pykan {n} / compiled per step | per iteration" for n in compiled[0]["compiled"]["ratio"]
            )
            + " |",
            "|---|---|---:|---:|---:|---:|" + "---:|---:|" * len(compiled[0]["compiled"]["ratio"]),
        ]
        for e in compiled:
            c = e["compiled"]
            x = c["at_equal_steps"]
            lines.append(
                f"| {e['points']} | {e['width']} | {c['compile_seconds']:.1f} | {x['seconds_per_step_median']:.4f} | "
                f"{x['seconds_per_evaluation'] * 1e3:.2f} | {x['relative_l2']:.2e} | "
                + " | ".join(f"{r['per_step']:.0f}x | {r['per_iteration']:.1f}x" for r in c["ratio"].values())
                + " |"
            )
    if not result["pykan_version"]:
        lines += ["", f"pykan rows skipped: {result['pykan_skipped']}"]
    lines += [
        "",
        f"Settings: {s['steps']} pykan steps; interior mesh {s['n_side']}²"
        + (
            f" (and {s['tutorial_n_side']}², the tutorial's own default, for [2, 2, 1])"
            if s["tutorial_n_side"]
            else ""
        )
        + "; relative L2 on kanpde's 101 × 101 evaluation grid. Raw per-step times, evaluations and errors "
        "are in `pykan_compare.json`.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="pykan optimizer.step calls (default 20)")
    parser.add_argument("--n-side", type=int, default=21, help="interior mesh side (default 21: 441 points)")
    parser.add_argument(
        "--tutorial-n-side", type=int, default=51, help="the tutorial's mesh side, for [2,2,1] (0: skip)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both (default 1)")
    parser.add_argument("--out", default="results", help="output folder")
    parser.add_argument(
        "--compile",
        default="inductor",
        help="also time kanpde with this torch.compile backend at the first mesh ('none': skip)",
    )
    parser.add_argument(
        "--render", action="store_true", help="rewrite the .md from the existing JSON (no timing)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    if args.render:
        result = json.loads((out / "pykan_compare.json").read_text())
        stored = result["kanpde_source"]
        result["kanpde_source"] = kanpde_source(stored["sha256"]) | {"path": stored["path"]}
        (out / "pykan_compare.json").write_text(json.dumps(result, indent=1))
        (out / "pykan_compare.md").write_text(markdown(result))
        return result
    command = (
        (f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else "")
        + COMMAND
        + (" " + " ".join(sys.argv[1:]) if argv is None and len(sys.argv) > 1 else "")
    )
    try:
        from importlib.metadata import version

        import kan  # noqa: F401

        pykan_version, skipped = version("pykan"), None
    except Exception as err:  # an optional extra: any import failure means "not available"
        pykan_version, skipped = (
            None,
            f"`import kan` failed ({type(err).__name__}: {err}); pip install pykan==0.2.8",
        )
        print(f"pykan not available, skipping the pykan rows: {skipped}", flush=True)
    dtype = torch.float64
    domain = kanpde.load_problem("poisson2d_sin").domain
    eval_x = domain.evaluation_points(dtype)[0]
    eval_u = exact(eval_x)
    load_start = load_average()
    variants = {"matched": (), "tutorial": TUTORIAL_GRID_UPDATES}
    rows = []
    interior, boundary = mesh_points(args.n_side, dtype)
    label = f"{args.n_side}x{args.n_side} + 4x{args.n_side}"
    backend = None if args.compile == "none" else args.compile
    for width in WIDTHS:
        rows.append(
            compare(
                width, interior, boundary, args.steps, eval_x, eval_u, pykan_version, variants, label, backend
            )
        )
    if args.tutorial_n_side:
        interior, boundary = mesh_points(args.tutorial_n_side, dtype)
        label = f"{args.tutorial_n_side}x{args.tutorial_n_side} + 4x{args.tutorial_n_side}"
        rows.append(
            compare(
                [2, 2, 1],
                interior,
                boundary,
                args.steps,
                eval_x,
                eval_u,
                pykan_version,
                {"tutorial": TUTORIAL_GRID_UPDATES},
                label,
            )
        )
    result = {
        "command": command,
        "machine": {
            **machine(),
            "note": "2 CPU cores shared with other work; timings are noisy (medians reported)",
        },
        "kanpde_source": kanpde_source(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "pykan_version": pykan_version,
        "pykan_skipped": skipped,
        "settings": {
            "steps": args.steps,
            "n_side": args.n_side,
            "tutorial_n_side": args.tutorial_n_side,
            "alpha": ALPHA,
            "grid": GRID,
            "k": K,
            "dtype": "float64",
            "pykan_lbfgs": PYKAN_LBFGS | {"max_iter": 20, "max_eval": 25},
            "kanpde_lbfgs": {"lr": 1.0, "history": 10},
            "tutorial_grid_updates_before_steps": list(TUTORIAL_GRID_UPDATES),
        },
        "rows": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "pykan_compare.json").write_text(json.dumps(result, indent=1))
    (out / "pykan_compare.md").write_text(markdown(result))
    print(f"wrote {out / 'pykan_compare.json'} and {out / 'pykan_compare.md'}")
    return result


if __name__ == "__main__":
    main()
