"""Wall and CPU time per optimiser step of kanpde's Adam, L-BFGS and Levenberg-Marquardt, against N, G and an MLP.

Everything goes through kanpde's own API: the problem ``kanpde.load_problem("poisson2d")``, points from
:func:`kanpde.loss.sample_collocation` (Sobol, seed 0; ``N`` interior and ``N/10`` boundary points),
:class:`~kanpde.loss.PINNLoss` in forward-jet mode, :class:`~kanpde.optim.Objective` and the optimisers'
``step()``: ``Adam(lr=1e-3)``, ``LBFGS(history=50)`` (one iteration with a strong-Wolfe line search, so
one or more loss-and-gradient evaluations) and ``LevenbergMarquardt`` (exact Jacobian, Cholesky solve and one
or more trial loss values). float64, CPU.

(a) KAN [2, 10, 1], G = 5, at N = 1e3, 3e3, 1e4, 3e4, 1e5; the slope of log(time) against log(N) is fitted
    over N >= 1e4 (1 means linear in N).
(b) N = 1e4 and G = 5, 10, 20, 50.
(c) N = 1e4: KAN [2, 10, 1] G = 5 against the tanh MLP with 2 or 3 hidden layers of equal width whose
    parameter count is closest to the KAN's; ratio KAN/MLP per step and per evaluation.
(d) Adam steps of the KAN and MLP of (c) at N = 1e4, 3e4, 1e5 in two fresh child processes: glibc's malloc
    as it is, and told to keep large blocks (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``). By
    default a block above the mmap threshold (at most 32 MB) is a fresh ``mmap`` whose pages are faulted in and
    zeroed on first touch; the minor page faults per step are reported everywhere.
(e) a torch.profiler table of one KAN and one MLP loss-and-gradient evaluation at N = 1e4.

Within each group the optimisers (and models) take their steps in turn, round-robin, so that a change of
machine load hits all of them alike; each figure is the median over ``repeats`` timed steps after ``warmup``
untimed ones (fewer at large N). torch runs on ``--threads`` threads (default 1: on the two shared cores of
the development machine two intra-op threads made steps 3-15x slower and much noisier).

Usage: ``python benchmarks/step_time.py`` (options: ``--threads``, ``--out``, ``--quick``, ``--render``). Writes
``results/step_time.json``, ``results/step_time.md`` and ``results/step_time.png``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import kanpde
from kanpde import KAN, MLP
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.optim import Objective
from kanpde.settings import OPTIMIZERS

COMMAND = "python benchmarks/step_time.py"
WIDTH = [2, 10, 1]
NS = (1_000, 3_000, 10_000, 30_000, 100_000)
GRIDS = (5, 10, 20, 50)
N_REF = 10_000
OPTS = ("adam", "lbfgs", "lm")
OPT_OPTIONS = {"adam": {"lr": 1e-3}, "lbfgs": {"history": 50}, "lm": {}}
LABEL = {"adam": "Adam", "lbfgs": "L-BFGS", "lm": "LM"}
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(64 << 30)}


def schedule(n: int, quick: bool) -> tuple[int, int]:
    """``(warmup, repeats)`` for ``n`` points: fewer repeats where a step takes seconds."""
    if quick:
        return 1, 2
    if n <= 10_000:
        return 2, 7
    return (1, 5) if n <= 30_000 else (1, 3)


def points(n: int):
    problem = kanpde.load_problem("poisson2d")
    return problem, sample_collocation(problem, n, n // 10, 0, "sobol", 0, torch.float64, "cpu")


def matched_mlp(target: int) -> MLP:
    """The tanh MLP ``[2, h, h, 1]`` or ``[2, h, h, h, 1]`` whose parameter count is closest to ``target``."""
    best = None
    for layers in (2, 3):
        for h in range(1, 100):
            count = MLP([2] + [h] * layers + [1]).num_parameters
            if best is None or abs(count - target) < abs(best[2] - target):
                best = (layers, h, count)
            if count > target:
                break
    return MLP([2] + [best[1]] * best[0] + [1], activation="tanh", seed=0)


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_round_robin(cases: dict, warmup: int, repeats: int) -> dict:
    """Step every ``(objective, optimizer)`` in turn; per case the step times, evaluations and page faults."""
    for _ in range(warmup):
        for _obj, opt in cases.values():
            opt.step()
    out = {name: {"seconds": [], "cpu_seconds": [], "evaluations": [], "minor_faults": []} for name in cases}
    for _ in range(repeats):
        for name, (obj, opt) in cases.items():
            evals, faults = obj.evaluations, minor_faults()
            start, start_cpu = time.perf_counter(), time.process_time()
            opt.step()
            out[name]["seconds"].append(time.perf_counter() - start)
            out[name]["cpu_seconds"].append(time.process_time() - start_cpu)
            out[name]["evaluations"].append(obj.evaluations - evals)
            out[name]["minor_faults"].append(minor_faults() - faults)
    for r in out.values():
        r["median_seconds"] = statistics.median(r["seconds"])
        r["median_cpu_seconds"] = statistics.median(r["cpu_seconds"])
        r["seconds_per_evaluation"] = sum(r["seconds"]) / sum(r["evaluations"])
        r["evaluations_per_step"] = sum(r["evaluations"]) / len(r["evaluations"])
        r["minor_faults_per_step"] = statistics.median(r["minor_faults"])
    return out


def cases_for(models: dict, problem, pts) -> dict:
    """``{"<model>/<opt>": (objective, optimizer)}``, each optimiser on its own copy of the model."""
    cases = {}
    for mname, model in models.items():
        for opt in OPTS:
            obj = Objective(copy.deepcopy(model), PINNLoss(problem, pts, "forward"))
            cases[f"{mname}/{opt}"] = (obj, OPTIMIZERS[opt](**OPT_OPTIONS[opt]).build(obj))
    return cases


def section_n(quick: bool) -> list[dict]:
    rows = []
    for n in NS:
        problem, pts = points(n)
        warmup, repeats = schedule(n, quick)
        res = time_round_robin(cases_for({"kan": KAN(WIDTH, grid=5)}, problem, pts), warmup, repeats)
        rows.append(
            {"n_interior": n, "n_boundary": n // 10, "warmup": warmup, "repeats": repeats}
            | {opt: res[f"kan/{opt}"] for opt in OPTS}
        )
        print(
            f"(a) N={n}: " + ", ".join(f"{o} {res[f'kan/{o}']['median_seconds']:.3f} s" for o in OPTS),
            flush=True,
        )
    return rows


def section_g(quick: bool) -> list[dict]:
    problem, pts = points(N_REF)
    warmup, repeats = schedule(N_REF, quick)
    models = {f"G{g}": KAN(WIDTH, grid=g) for g in GRIDS}
    res = time_round_robin(cases_for(models, problem, pts), warmup, repeats)
    rows = []
    for g in GRIDS:
        rows.append(
            {"grid": g, "params": models[f"G{g}"].num_parameters} | {o: res[f"G{g}/{o}"] for o in OPTS}
        )
        print(
            f"(b) G={g}: " + ", ".join(f"{o} {res[f'G{g}/{o}']['median_seconds']:.3f} s" for o in OPTS),
            flush=True,
        )
    return rows


def section_mlp(quick: bool) -> dict:
    problem, pts = points(N_REF)
    warmup, repeats = schedule(N_REF, quick)
    kan = KAN(WIDTH, grid=5)
    mlp = matched_mlp(kan.num_parameters)
    res = time_round_robin(cases_for({"kan": kan, "mlp": mlp}, problem, pts), warmup, repeats)
    out = {
        "n_interior": N_REF,
        "kan": {"width": WIDTH, "grid": 5, "params": kan.num_parameters} | {o: res[f"kan/{o}"] for o in OPTS},
        "mlp": {"width": mlp.width, "activation": "tanh", "params": mlp.num_parameters}
        | {o: res[f"mlp/{o}"] for o in OPTS},
        "malloc_env": {k: os.environ[k] for k in MALLOC_ENV if k in os.environ},
    }
    out["ratio"] = {
        o: {
            "per_step": out["kan"][o]["median_seconds"] / out["mlp"][o]["median_seconds"],
            "per_evaluation": out["kan"][o]["seconds_per_evaluation"]
            / out["mlp"][o]["seconds_per_evaluation"],
            "per_step_cpu": out["kan"][o]["median_cpu_seconds"] / out["mlp"][o]["median_cpu_seconds"],
        }
        for o in OPTS
    }
    print(
        f"(c) KAN/MLP at N={N_REF} ({mlp.width}, {mlp.num_parameters} vs {kan.num_parameters} params): "
        + ", ".join(f"{o} {out['ratio'][o]['per_step']:.2f}x" for o in OPTS),
        flush=True,
    )
    return out


ALLOC_NS = (10_000, 30_000, 100_000)


def allocator_child(quick: bool) -> list[dict]:
    """KAN and MLP Adam steps at ``ALLOC_NS`` in this (fresh) process: the workload of (d)."""
    rows = []
    kan = KAN(WIDTH, grid=5)
    mlp = matched_mlp(kan.num_parameters)
    for n in ALLOC_NS:
        problem, pts = points(n)
        cases = {}
        for name, model in (("kan", kan), ("mlp", mlp)):
            obj = Objective(copy.deepcopy(model), PINNLoss(problem, pts, "forward"))
            cases[name] = (obj, OPTIMIZERS["adam"](**OPT_OPTIONS["adam"]).build(obj))
        rows.append({"n_interior": n} | time_round_robin(cases, 1, 1 if quick else 3))
    return rows


def section_allocator(args) -> dict | None:
    """(d): the same Adam steps in two fresh processes, glibc malloc as it is and told to keep large blocks."""
    out = {"malloc_env": MALLOC_ENV, "n_interior": list(ALLOC_NS)}
    for label, extra in (("default", {}), ("keep_blocks", MALLOC_ENV)):
        env = {k: v for k, v in os.environ.items() if k not in MALLOC_ENV} | extra
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "d.json"
            cmd = [sys.executable, __file__, "--allocator-child", str(path), "--threads", str(args.threads)]
            cmd += ["--quick"] if args.quick else []
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"(d) allocator run failed:\n{done.stderr[-2000:]}", flush=True)
                return None
            out[label] = json.loads(path.read_text())
        print(
            f"(d) {label}: "
            + ", ".join(
                f"N={r['n_interior']} KAN {r['kan']['median_seconds']:.3f} s MLP {r['mlp']['median_seconds']:.3f} s"
                for r in out[label]
            ),
            flush=True,
        )
    return out


def profile_tables(rows: int = 10) -> dict:
    """Top torch ops by self CPU time for one loss-and-gradient evaluation of the KAN and the MLP."""
    from torch.profiler import ProfilerActivity, profile

    problem, pts = points(N_REF)
    kan = KAN(WIDTH, grid=5)
    out = {}
    for name, model in (("kan", kan), ("mlp", matched_mlp(kan.num_parameters))):
        obj = Objective(model, PINNLoss(problem, pts, "forward"))
        for _ in range(2):
            obj.value_and_grad()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                obj.value_and_grad()
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events)
        out[name] = {
            "self_cpu_ms_per_evaluation": total / 3e3,
            "top": [
                {
                    "op": e.key,
                    "self_cpu_ms_per_evaluation": e.self_cpu_time_total / 3e3,
                    "share": e.self_cpu_time_total / total,
                    "calls_per_evaluation": e.count / 3,
                }
                for e in events[:rows]
            ],
        }
    return out


def slopes(rows: list[dict], key: str = "median_seconds") -> dict:
    """Least-squares slope of log(median step time) against log(N) over N >= 1e4, per optimiser."""
    big = [r for r in rows if r["n_interior"] >= 10_000]
    logn = np.log([r["n_interior"] for r in big])
    return {o: float(np.polyfit(logn, np.log([r[o][key] for r in big]), 1)[0]) for o in OPTS}


def plot(result: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_n, ax_g = fig.subplots(1, 2)
    ns = [r["n_interior"] for r in result["n_sweep"]]
    markers = {"adam": "o", "lbfgs": "s", "lm": "^"}
    for o in OPTS:
        ax_n.loglog(
            ns,
            [r[o]["median_seconds"] for r in result["n_sweep"]],
            marker=markers[o],
            label=f"KAN {LABEL[o]}",
        )
    mlp = result["kan_vs_mlp"]
    for o in OPTS:
        ax_n.loglog(
            [N_REF], [mlp["mlp"][o]["median_seconds"]], marker=markers[o], ls="", mfc="none", color="gray"
        )
    ax_n.plot([], [], ls="", marker="o", mfc="none", color="gray", label=f"MLP {mlp['mlp']['width']}")
    alloc = result.get("allocator")
    if alloc:
        for label, ls in (("default", "--"), ("keep_blocks", "-.")):
            ax_n.loglog(
                alloc["n_interior"],
                [r["kan"]["median_seconds"] for r in alloc[label]],
                ls=ls,
                marker="o",
                ms=3,
                color="tab:purple" if label == "keep_blocks" else "tab:gray",
                label=f"KAN Adam (d), malloc {'keeps large blocks' if label == 'keep_blocks' else 'default'}",
            )
    ref = result["n_sweep"][0]["adam"]["median_seconds"]
    ax_n.loglog(ns, [ref * n / ns[0] for n in ns], ls=":", color="k", label="slope 1")
    ax_n.set(xlabel="interior points N (boundary N/10)", ylabel="seconds per step (median)")
    ax_n.set_title(f"KAN {WIDTH} G=5, float64, CPU")
    ax_n.legend(fontsize=7, loc="upper left")
    gs = [r["grid"] for r in result["g_sweep"]]
    for o in OPTS:
        ax_g.semilogy(
            gs, [r[o]["median_seconds"] for r in result["g_sweep"]], marker=markers[o], label=LABEL[o]
        )
    ax_g.set(xlabel="grid intervals G", ylabel="seconds per step (median)", xticks=gs)
    ax_g.set_title(f"KAN {WIDTH}, N = {N_REF}")
    ax_g.legend(fontsize=8)
    fig.savefig(path, dpi=120)


def environment() -> dict:
    return {
        **machine(),
        "note": "2 CPU cores shared with other work; timings are noisy (medians reported)",
        "kanpde_source": kanpde_source(),
    }


def _fmt(r: dict) -> str:
    s = f"{r['median_seconds']:.3f}"
    return s if abs(r["evaluations_per_step"] - 1) < 1e-9 else f"{s} ({r['evaluations_per_step']:.1f})"


def markdown(result: dict) -> str:
    env, sl = result["environment"], result["slopes"]
    lines = [
        "# Time per optimiser step: N, G and KAN vs MLP",
        "",
        f"Produced by `{result['command']}` in {result['wall_seconds']:.0f} s. "
        + source_line(env["kanpde_source"]),
        "",
        f"Machine: {env['cpu']}, {env['cpu_count']} cores shared with other work (load average "
        f"{env['load_average_at_start'][0]:.1f} at start, {env['load_average_at_end'][0]:.1f} at end), torch "
        f"{env['torch']} on {env['torch_threads']} thread(s), float64. Timings are noisy: each figure is the "
        f"median over the timed steps ({result['schedule']}); optimisers and models step in turn. Wall "
        "seconds, and process CPU seconds (`time.process_time`: user + system of the one thread, much less "
        "sensitive to the other work on the cores).",
        "",
        "Problem `poisson2d` (PINNLoss, forward jets), Sobol points, N interior + N/10 boundary. Seconds per "
        "step; in brackets the loss evaluations per step where not 1 (L-BFGS: line-search trials; LM: one "
        "Jacobian + trial values). Optimisers: `Adam(lr=1e-3)`, `LBFGS(history=50)`, `LevenbergMarquardt()`.",
        "",
        f"## (a) KAN {WIDTH}, G = 5, against N",
        "",
        "| N | boundary | Adam | L-BFGS | LM | Adam CPU | L-BFGS CPU | LM CPU | ms/evaluation Adam | "
        "page faults per Adam step |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["n_sweep"]:
        lines.append(
            f"| {r['n_interior']} | {r['n_boundary']} | {_fmt(r['adam'])} | {_fmt(r['lbfgs'])} | {_fmt(r['lm'])} | "
            + " | ".join(f"{r[o]['median_cpu_seconds']:.3f}" for o in OPTS)
            + f" | {r['adam']['seconds_per_evaluation'] * 1e3:.1f} | {r['adam']['minor_faults_per_step']:.0f} |"
        )
    lines += [
        "",
        "Slope of log(time) against log(N), least squares over N >= 1e4 (1 = linear in N): per step, wall "
        + ", ".join(f"{LABEL[o]} {sl[o]:.2f}" for o in OPTS)
        + "; per step, CPU "
        + ", ".join(f"{LABEL[o]} {result['slopes_cpu'][o]:.2f}" for o in OPTS)
        + "; per evaluation, wall "
        + ", ".join(f"{LABEL[o]} {result['slopes_per_evaluation'][o]:.2f}" for o in OPTS)
        + " (L-BFGS makes more line-search evaluations per step at large N, which its per-step slope includes).",
        "",
        f"## (b) KAN {WIDTH} at N = {N_REF}, against G",
        "",
        "| G | params | Adam | L-BFGS | LM | Adam CPU | L-BFGS CPU | LM CPU | page faults per Adam step |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["g_sweep"]:
        lines.append(
            f"| {r['grid']} | {r['params']} | {_fmt(r['adam'])} | {_fmt(r['lbfgs'])} | {_fmt(r['lm'])} | "
            + " | ".join(f"{r[o]['median_cpu_seconds']:.3f}" for o in OPTS)
            + f" | {r['adam']['minor_faults_per_step']:.0f} |"
        )

    def mlp_table(c: dict, title: str) -> list[str]:
        t = [
            title,
            "",
            "| model | params | Adam | L-BFGS | LM | ms/eval Adam | ms/eval L-BFGS | ms/eval LM | "
            "page faults per Adam step |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m, label in (("kan", f"KAN {c['kan']['width']} G=5"), ("mlp", f"MLP {c['mlp']['width']} tanh")):
            x = c[m]
            t.append(
                f"| {label} | {x['params']} | {_fmt(x['adam'])} | {_fmt(x['lbfgs'])} | {_fmt(x['lm'])} | "
                + " | ".join(f"{x[o]['seconds_per_evaluation'] * 1e3:.1f}" for o in OPTS)
                + f" | {x['adam']['minor_faults_per_step']:.0f} |"
            )
        r = c["ratio"]
        t.append(
            "| KAN/MLP per step | | "
            + " | ".join(f"{r[o]['per_step']:.2f}" for o in OPTS)
            + " | "
            + " | ".join(f"{r[o]['per_evaluation']:.2f}" for o in OPTS)
            + " | |"
        )
        t.append(
            "| KAN/MLP per step, CPU time | | "
            + " | ".join(f"{r[o]['per_step_cpu']:.2f}" for o in OPTS)
            + " | | | | |"
        )
        worst = max(r[o]["per_step"] for o in OPTS)
        t += [
            "",
            f"Target KAN/MLP <= 1.5x per step: {'met' if worst <= 1.5 else 'missed'} (worst {worst:.2f}x, wall).",
        ]
        return t

    lines += [""] + mlp_table(
        result["kan_vs_mlp"], f"## (c) KAN vs MLP of equal parameter count, N = {N_REF}"
    )
    alloc = result.get("allocator")
    if alloc:
        env_s = " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items())
        lines += [
            "",
            "## (d) Page faults: glibc malloc as it is against malloc keeping large blocks",
            "",
            f"Adam steps of the KAN and the MLP of (c), each setting in a fresh process; the second with `{env_s}`.",
            "",
            "| N | KAN default | KAN keep blocks | MLP default | MLP keep blocks | KAN/MLP default | "
            "KAN/MLP keep blocks | KAN page faults per step, default |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for d, k in zip(alloc["default"], alloc["keep_blocks"], strict=True):
            lines.append(
                f"| {d['n_interior']} | {d['kan']['median_seconds']:.3f} | {k['kan']['median_seconds']:.3f} | "
                f"{d['mlp']['median_seconds']:.3f} | {k['mlp']['median_seconds']:.3f} | "
                f"{d['kan']['median_seconds'] / d['mlp']['median_seconds']:.2f} | "
                f"{k['kan']['median_seconds'] / k['mlp']['median_seconds']:.2f} | "
                f"{d['kan']['minor_faults_per_step']:.0f} |"
            )
        lines += [
            "",
            "glibc serves a block above its mmap threshold (adapting, at most 32 MB) by a fresh `mmap` and unmaps "
            "it on free, so an intermediate above it is page-faulted and zeroed again at every evaluation. Since "
            "the KAN layers gather their four active spline coefficients per point, the largest KAN "
            "intermediates are (N, rows, n_in, n_out) jet terms (N·2·2·10 doubles in the first layer), about "
            "the size of the MLP's (N, rows, width) ones; the faults left depend on N and on the process's "
            "allocation history (see the page-fault columns of (a)-(c)).",
        ]
    prof = result.get("profile")
    if prof:
        lines += [
            "",
            f"## (e) Top torch ops per loss-and-gradient evaluation, N = {N_REF} (torch.profiler, self CPU)",
            "",
        ]
        for m in ("kan", "mlp"):
            p = prof[m]
            lines += [
                f"{m.upper()}: {p['self_cpu_ms_per_evaluation']:.1f} ms self CPU per evaluation",
                "",
                "| op | ms | share | calls |",
                "|---|---:|---:|---:|",
            ]
            lines += [
                f"| `{e['op']}` | {e['self_cpu_ms_per_evaluation']:.1f} | {100 * e['share']:.0f}% | "
                f"{e['calls_per_evaluation']:.0f} |"
                for e in p["top"]
            ]
            lines.append("")
    lines += ["Plot: `step_time.png`. Raw step times, evaluations and page faults: `step_time.json`.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", default="results", help="output folder")
    parser.add_argument(
        "--quick", action="store_true", help="1 warm-up + 2 timed steps everywhere (a smoke run)"
    )
    parser.add_argument(
        "--render", action="store_true", help="rewrite the .md and .png from the existing JSON (no timing)"
    )
    parser.add_argument("--allocator-child", metavar="JSON", help=argparse.SUPPRESS)  # child process of (d)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.allocator_child:
        Path(args.allocator_child).write_text(json.dumps(allocator_child(args.quick)))
        return
    if args.render:
        result = json.loads((Path(args.out) / "step_time.json").read_text())
        stored = result["environment"]["kanpde_source"]
        result["environment"]["kanpde_source"] = kanpde_source(stored["sha256"]) | {"path": stored["path"]}
        write(result, Path(args.out))
        return
    start = time.perf_counter()
    env = environment()
    result = {
        "command": (f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else "")
        + COMMAND
        + (" " + " ".join(sys.argv[1:]) if argv is None and len(sys.argv) > 1 else "")
    }
    result["schedule"] = (
        "1 warm-up + 2 timed steps (--quick)"
        if args.quick
        else "2 warm-up + 7 timed steps up to N = 1e4, 1 + 5 at 3e4, 1 + 3 at 1e5"
    )
    result["n_sweep"] = section_n(args.quick)
    result["g_sweep"] = section_g(args.quick)
    result["kan_vs_mlp"] = section_mlp(args.quick)
    result["allocator"] = section_allocator(args)
    result["profile"] = profile_tables()
    result["environment"] = env | {"load_average_at_end": list(os.getloadavg())}
    result["wall_seconds"] = time.perf_counter() - start
    write(result, Path(args.out))


def write(result: dict, out: Path) -> None:
    """Derived figures (slopes) from the raw timings, then the JSON, the Markdown table and the plot."""
    result["slopes"] = slopes(result["n_sweep"])
    result["slopes_cpu"] = slopes(result["n_sweep"], "median_cpu_seconds")
    result["slopes_per_evaluation"] = slopes(result["n_sweep"], "seconds_per_evaluation")
    print("slopes for N >= 1e4: " + ", ".join(f"{o} {v:.2f}" for o, v in result["slopes"].items()))
    out.mkdir(parents=True, exist_ok=True)
    (out / "step_time.json").write_text(json.dumps(result, indent=1))
    (out / "step_time.md").write_text(markdown(result))
    plot(result, out / "step_time.png")
    print(f"wrote {out}/step_time.json, .md, .png ({result['wall_seconds']:.0f} s of timing)")


if __name__ == "__main__":
    main()
