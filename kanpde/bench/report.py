"""The generated ``README.md`` of a benchmark run: the headline pair, how the comparison is made, a short
reading and verdict per problem, the Markdown tables (equal schedule, equal parameters, equal wall time),
the figures and the files; :func:`write_readme` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .._atomic import atomic_write
from .plan import Plan, Suite
from .run import SUMMARY_COLUMNS, RunResult, _finite
from .tables import _ratio, best_of, equal_params, equal_time, headline


def _e(x: float) -> str:
    return f"{x:.2e}" if _finite(x) else "n/a"


def _times(r: float) -> str:
    return f"{r:.3g}x" if _finite(r) else "n/a"


def _spread(a: dict, m: str, fmt=_e) -> str:
    return f"{fmt(a[f'{m}_median'])} [{fmt(a[f'{m}_min'])}, {fmt(a[f'{m}_max'])}]"


def _s(x: float) -> str:
    return f"{x:.3g}" if _finite(x) else "n/a"


def _separated(k: dict, m: dict) -> str:
    """Whether the seed ranges of relative L2 are apart: 'KAN' / 'MLP' lower on every seed, or 'overlap'."""
    if k["relative_l2_max"] < m["relative_l2_min"]:
        return "KAN on every seed"
    if m["relative_l2_max"] < k["relative_l2_min"]:
        return "MLP on every seed"
    return "seed ranges overlap"


def _winner(ratio: float) -> str:
    if not _finite(ratio):
        return "n/a"
    return "KAN" if ratio > 1 else "MLP"


def _main_table(table: Sequence[dict]) -> list[str]:
    lines = [
        "| model | params | relative L2 median [min, max] | relative H1 median [min, max] | max error median | "
        "seconds median [min, max] | steps | evaluations | seeds (failed) |",
        "|---|---:|---|---|---:|---|---:|---:|---:|",
    ]
    for a in sorted(table, key=lambda a: (a["model"], a["params"])):
        lines.append(
            f"| {a['label']} | {a['params']} | {_spread(a, 'relative_l2')} | {_spread(a, 'relative_h1')} | "
            f"{_e(a['max_abs_median'])} | {_spread(a, 'seconds', _s)} | {_s(a['steps_median'])} | "
            f"{_s(a['evaluations_median'])} | {a['n_seeds']} ({a['n_failed']}) |"
        )
    return lines


def _params_table(pairs: Sequence[dict]) -> list[str]:
    lines = [
        "| KAN | params | rel. L2 | MLP nearest in params | params | rel. L2 | MLP/KAN error | lower error |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for p in pairs:
        k, m = p["kan"], p["mlp"]
        if m is None:
            lines.append(
                f"| {k['label']} | {k['params']} | {_e(k['relative_l2_median'])} | no MLP within 2x | | | | |"
            )
            continue
        lines.append(
            f"| {k['label']} | {k['params']} | {_e(k['relative_l2_median'])} | {m['label']} | {m['params']} | "
            f"{_e(m['relative_l2_median'])} | {_times(p['ratio'])} | {_winner(p['ratio'])} ({_separated(k, m)}) |"
        )
    return lines


def _time_table(pairs: Sequence[dict]) -> list[str]:
    lines = [
        "| time budget: model | its median s | rel. L2 | best other family within that time | median s | rel. L2 | "
        "MLP/KAN error | lower error |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for p in pairs:
        a, b = p["budget"], p["other"]
        head = f"| {a['label']} | {_s(a['seconds_median'])} | {_e(a['relative_l2_median'])} |"
        if b is None:
            lines.append(head + " none was as fast | | | | |")
            continue
        lines.append(
            head + f" {b['label']} | {_s(b['seconds_median'])} | {_e(b['relative_l2_median'])} | "
            f"{_times(p['ratio'])} | {_winner(p['ratio'])} ({_separated(p['kan'], p['mlp'])}) |"
        )
    return lines


def reading(suite: Suite, problem: str, table: Sequence[dict]) -> str:
    """A short generated reading of one problem's table: equal parameters, equal time, best of each."""
    parts = []
    pairs = [p for p in equal_params(table) if p["mlp"] is not None and _finite(p["ratio"])]
    if pairs:
        wins = sum(p["ratio"] > 1 for p in pairs)
        ratios = sorted(p["ratio"] for p in pairs)
        parts.append(
            f"at equal parameters the KAN has the lower error in {wins} of {len(pairs)} pairs "
            f"(MLP/KAN error {_times(ratios[0])} to {_times(ratios[-1])})"
        )
    else:
        parts.append("no MLP came within 2x of a KAN's parameter count")
    timed = [p for p in equal_time(table) if p["other"] is not None and _finite(p["ratio"])]
    if timed:
        wins = sum(p["ratio"] > 1 for p in timed)
        parts.append(f"at equal wall time the KAN has the lower error in {wins} of {len(timed)} comparisons")
    k, m = best_of(table, "kan"), best_of(table, "mlp")
    if k is not None and m is not None:
        r = _ratio(m["relative_l2_median"], k["relative_l2_median"])
        parts.append(
            f"the best of each family (same schedule, unmatched size and time): {k['label']} {_e(k['relative_l2_median'])} "
            f"({k['params']} params, {_s(k['seconds_median'])} s) vs {m['label']} {_e(m['relative_l2_median'])} "
            f"({m['params']} params, {_s(m['seconds_median'])} s): {_winner(r)} lower by {_times(max(r, 1 / r) if _finite(r) else r)}"
        )
    failed = sum(a["n_failed"] for a in table)
    if failed:
        parts.append(f"{failed} run(s) failed (see summary.csv notes)")
    return f"**{problem}** ({suite.name}), {verdict(table)}: " + "; ".join(parts) + "."


def verdict(table: Sequence[dict]) -> str:
    """'KAN ahead', 'MLP ahead' or 'mixed' over the equal-parameter and equal-time comparisons together."""
    ratios = [p["ratio"] for p in equal_params(table) if p["mlp"] is not None and _finite(p["ratio"])]
    ratios += [p["ratio"] for p in equal_time(table) if p["other"] is not None and _finite(p["ratio"])]
    if not ratios:
        return "no matched comparison"
    wins, n = sum(r > 1 for r in ratios), len(ratios)
    if wins == n:
        return "KAN ahead in every matched comparison"
    if wins == 0:
        return "MLP ahead in every matched comparison"
    lean = "mostly KAN" if wins >= 0.75 * n else "mostly MLP" if wins <= 0.25 * n else "mixed"
    return f"{lean} (KAN ahead in {wins} of {n} matched comparisons)"


def _headline_text(suite: Suite, h: dict | None) -> list[str]:
    if h is None:
        return [f"The headline pair of suite `{suite.name}` was not run (or failed).", ""]
    k, m = h["kan"], h["mlp"]
    verdict = "beats" if h["l2_ratio"] > 1 else "does not beat"
    mlp_name = f"depth-{m['depth']} width-{m['width']} **{m['label']}**"
    lines = [
        f"**{k['label']}** ({k['params']} parameters) {verdict} the {mlp_name} ({m['params']} parameters) in "
        f"this run: median relative L2 {_e(k['relative_l2_median'])} [{_e(k['relative_l2_min'])}, "
        f"{_e(k['relative_l2_max'])}] against {_e(m['relative_l2_median'])} [{_e(m['relative_l2_min'])}, "
        f"{_e(m['relative_l2_max'])}] over {k['n_seeds']} seeds: the MLP's error is **{_times(h['l2_ratio'])} "
        f"the KAN's in relative L2 and {_times(h['mse_ratio'])} in MSE** (median MSE {_e(k['mse_median'])} vs "
        f"{_e(m['mse_median'])}). "
        + (
            "The KAN is more accurate on every seed."
            if h["kan_wins_every_seed"]
            else "The seed ranges overlap: the KAN is not more accurate on every seed."
        ),
        "",
        f"Budgets: the optimiser schedule is the same ({suite.schedule_text()} steps); the parameters are not "
        f"(the MLP has {_times(h['params_ratio'])} the KAN's), nor the wall time (the MLP took "
        f"{_times(h['time_ratio'])} the KAN's time per run: {_s(m['seconds_median'])} s vs "
        f"{_s(k['seconds_median'])} s).",
        "",
    ]
    if suite.name == "paper":
        lines += [
            "For comparison, the paper (Liu et al. 2024, §3.4, Fig. 3.3) reports KAN [2,10,1] at MSE about 1e-7 "
            "against about 1e-5 for the 4-layer width-100 MLP: 100x in MSE with about 100x fewer parameters. "
            + _paper_text(h),
            "",
        ]
    if suite.note:
        lines += [f"Note on this suite: {suite.note}.", ""]
    return lines


def _weights(results: Sequence[RunResult], suite: str, problem: str) -> str:
    """The PDE-term weights the runs of one problem used, as recorded."""
    found = {
        r.row["residual_weight"] for r in results if r.row["suite"] == suite and r.row["problem"] == problem
    }
    return ", ".join(str(w) for w in sorted(found, key=float)) or "n/a"


def _plan_text(plan: Plan) -> str:
    return (
        "; ".join(
            f"suite `{s.name}` with {len(s.problems)} problem(s), {len(s.models)} models, {len(s.seeds)} seeds"
            for s in plan.suites
        )
        + f"; {plan.runs()} runs"
    )


def _paper_text(h: dict) -> str:
    """How this run's headline MSEs sit against the paper's (KAN about 1e-7, MLP about 1e-5)."""
    k, m = h["kan"]["mse_median"], h["mlp"]["mse_median"]

    def against(value: float, paper: float) -> str:
        if not _finite(value):
            return "n/a"
        return f"{_times(value / paper)} the paper's {paper:.0e}"

    return (
        f"Here the KAN's median MSE is {_e(k)} ({against(k, 1e-7)}) and the MLP's {_e(m)} "
        f"({against(m, 1e-5)}). Where a model's MSE is far above the paper's, it is not trained to "
        "convergence by this schedule, and the ratio measures training speed under this budget more than "
        "what each architecture can reach."
    )


def _other_runs(out: Path) -> list[str]:
    """One line per sub-folder holding a finished run (e.g. a longer run of the headline pair)."""
    lines = []
    for path in sorted(out.glob("*/summary.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        text = f"- [`{path.parent.name}/`]({path.parent.name}/README.md), made by `{data.get('command')}`"
        for name, h in (data.get("headlines") or {}).items():
            if h:
                schedule = next(
                    (
                        " then ".join(f"{n} x {k}" for n, k in s["schedule"])
                        for s in data["suites"]
                        if s["name"] == name
                    ),
                    "?",
                )
                text += (
                    f": {h['kan']['label']} {_e(h['kan']['relative_l2_median'])} vs {h['mlp']['label']} "
                    f"{_e(h['mlp']['relative_l2_median'])} median relative L2 after {schedule} steps, the MLP's "
                    f"error {_times(h['l2_ratio'])} the KAN's ({_times(h['mse_ratio'])} in MSE)"
                )
        lines.append(text + ".")
    return lines


def write_readme(out: Path, plan: Plan, results: Sequence[RunResult], tables: dict, info: dict) -> Path:
    command = info["command"]
    minutes = info["total_seconds"] / 60
    lines = [
        "# KAN vs MLP on PDEs: benchmark results",
        "",
        f"Generated by `{command}` ({info['date']}; {minutes:.1f} minutes in all; plan `{plan.name}`: "
        f"{_plan_text(plan)}). Do not edit by hand: rerun the command."
        + (
            f" Tables, figures and this README were rewritten from those runs by `{info['report_command']}`."
            if info.get("report_command")
            else ""
        ),
        "",
        f"Machine: {info['cpu_count']} CPU cores, torch {info['torch']} with {info['threads']} thread(s), "
        f"Python {info['python']}, device {info['device']}, float64. Wall times are per run, around `kp.solve` "
        "(they include the periodic error logging) on a machine shared with other work, so read them as rough.",
        "",
    ]
    for suite in plan.suites:
        if suite.headline is not None:
            h = headline(suite, tables[(suite.name, suite.problems[0])])
            lines += [f"## Headline: the KAN paper's Poisson setup (suite `{suite.name}`)", ""]
            lines += _headline_text(suite, h)
    others = _other_runs(out)
    if others:
        lines += ["## Other runs in this folder", "", *others, ""]
    lines += [
        "## How the comparison is made",
        "",
        "- **Same points.** For a given problem and seed `s`, every model trains on the same collocation points: "
        "`kp.solve(..., seed=s)` samples them (Sobol). The model's initial parameters come from the same `s` "
        "(`kp.KAN(..., seed=s)`, `kp.MLP(..., seed=s)`). Seeds 0, 1, 2, ...: different seeds change both the "
        "points and the initialisation.",
        "- **Same optimiser schedule.** Each suite has one schedule, the total steps of every run. A KAN trained "
        "with grid extension on n grids (e.g. 5, 10, 20) runs 1/n of every stage at each grid, so KANs and MLPs "
        "take the same number of optimiser steps; the steps and loss evaluations actually taken are in the "
        "tables (a stage can end early, e.g. when Levenberg-Marquardt finds no further decrease: see notes).",
        "- **Matched budgets are stated, never mixed.** The main tables compare at equal schedule only. The "
        "*equal parameters* tables pair each KAN with the MLP nearest in parameter count (within 2x); the "
        "*equal wall time* tables pair each configuration with the most accurate configuration of the other "
        "family whose median time per run was no longer. The headline pair is the paper's comparison, at equal "
        "schedule but unequal parameters and time; both ratios are given.",
        "- **Metrics** (`Solution.metrics()`): relative L2, relative H1 (spatial gradient) and max error on the "
        "fixed evaluation grid of `kanpde.solution` (101x101 in 2-D; 41x41x21 for heat2d); MSE = mean squared "
        "error on the same grid. Median over seeds, spread = [min, max] over seeds.",
        "- Depth counts weight layers (as the paper's 'depth'): MLP [2,100,100,100,1] has depth 4.",
        "",
        "## Reading",
        "",
        "MLP/KAN error above 1x means the KAN is more accurate; 'every seed' means the seed ranges do not "
        "overlap, otherwise the difference is within the seed spread.",
        "",
    ]
    for suite in plan.suites:
        for name in suite.problems:
            lines += [f"- {reading(suite, name, tables[(suite.name, name)])}"]
    lines += [""]
    for suite in plan.suites:
        lines += [
            f"## Suite `{suite.name}`",
            "",
            f"Problems: {', '.join(suite.problems)}. Seeds: {', '.join(map(str, suite.seeds))}. "
            + (f"Residual weight α = {suite.residual_weight}. " if suite.residual_weight is not None else "")
            + ("Dirichlet values imposed exactly (hard) for every model. " if suite.hard else "")
            + f"Budget: {suite.budget_text()}.",
            "",
            f"Note: {suite.note}." if suite.note else "",
            "",
        ]
        for name in suite.problems:
            table = tables[(suite.name, name)]
            lines += [
                f"### {name}",
                "",
                f"Table: `{suite.name}_{name}.csv` / `.json`. Equal optimiser schedule ({suite.schedule_text()}). "
                f"Residual weight α = {_weights(results, suite.name, name)}.",
                "",
                *_main_table(table),
                "",
                "Equal parameters:",
                "",
                *_params_table(equal_params(table)),
                "",
                "Equal wall time:",
                "",
                *_time_table(equal_time(table)),
                "",
            ]
    lines += [
        "## Figures",
        "",
        "Error vs parameter count (log-log, as the KAN paper's Fig. 3.3; dashed: a KAN's error at the end of "
        "each grid stage against its size at that grid):",
        "",
        "![error vs parameters](error_vs_params.png)",
        "",
        "Error vs wall time per run:",
        "",
        "![error vs time](error_vs_time.png)",
        "",
        "Grid-extension staircase (relative L2 against optimiser step, dotted lines where the grid changes; "
        "gray dashed: the most accurate MLP):",
        "",
        "![staircase](staircase.png)",
        "",
        "## Files",
        "",
        "- `summary.csv`: one row per run. Columns: " + ", ".join(f"`{c}`" for c in SUMMARY_COLUMNS) + ". "
        "`width` is the hidden width, `depth` the number of weight layers, `grid` the final KAN grid (0 for an "
        "MLP), `grids` the KAN grid stages, `params` the trainable parameters at the end, `seconds` the wall time "
        "of the run, `steps` the optimiser steps and `evaluations` the loss (and gradient or Jacobian) "
        "evaluations, `notes` early stops or failures.",
        "- `summary.json`: the settings, environment, rows, per-problem aggregates and headline.",
        "- `<suite>_<problem>.csv` / `.json`: median, min and max over seeds per configuration; the JSON also "
        "holds the equal-parameter and equal-time pairings and every run's error history.",
        "",
    ]
    path = out / "README.md"
    with atomic_write(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return path
