"""A plan from start to finish: :func:`run_plan` trains every run of every suite (rewriting ``summary.csv``
after each run) and hands the runs to :func:`write_outputs`, which writes ``summary.csv`` and
``summary.json``, the per-problem tables, the figures and the README; ``--report-only`` calls
:func:`write_outputs` alone on the runs that :func:`~kanpde.bench.tables.load_results` read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .._atomic import write_csv, write_json
from .figures import write_figures
from .plan import Plan
from .report import write_readme
from .run import SUMMARY_COLUMNS, RunResult, aggregate, environment, mean_square_exact, run_one, suite_problem
from .tables import (
    equal_params,
    equal_time,
    headline,
    headline_json,
    pairs_json,
    suite_settings,
    table_columns,
)


def run_plan(
    plan: Plan,
    out: str | Path,
    *,
    command: str,
    device: str = "cpu",
    log: Callable[[str], None] | None = print,
) -> dict:
    """Run every suite of ``plan`` and write all outputs into ``out``; returns the summary dictionary."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; pass a folder")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[RunResult] = []
    total, done = plan.runs(), 0
    for suite in plan.suites:
        for name in suite.problems:
            problem = suite_problem(suite, name)
            if not problem.has_truth:
                raise ValueError(
                    f"problem {name!r} has neither an exact solution nor a reference; the benchmark needs one"
                )
            ms = mean_square_exact(problem)
            for seed in suite.seeds:
                for spec in suite.models:
                    result = run_one(problem, spec, seed, suite, device=device, ms_exact=ms)
                    result.row["command"] = command
                    results.append(result)
                    done += 1
                    if log is not None:
                        r = result.row
                        log(
                            f"[{done}/{total}] {suite.name} {name} {r['label']} seed {seed}: "
                            f"rel L2 {r['relative_l2']:.2e}, {r['params']} params, {r['seconds']:.1f} s"
                            + (f" ({r['notes']})" if r["notes"] else "")
                        )
                    write_csv(out / "summary.csv", [r.row for r in results], SUMMARY_COLUMNS)
    info = environment(plan, command, device, time.perf_counter() - started)
    summary = write_outputs(out, plan, results, info)
    if log is not None:
        log(f"wrote {out} ({info['total_seconds']:.0f} s)")
    return summary


def write_outputs(out: Path, plan: Plan, results: Sequence[RunResult], info: dict) -> dict:
    """Write ``summary.csv``/``.json``, the per-problem tables, the figures and ``README.md``."""
    command = info["command"]
    rows = [r.row for r in results]
    write_csv(out / "summary.csv", rows, SUMMARY_COLUMNS)
    tables: dict[tuple[str, str], list[dict]] = {}
    for suite in plan.suites:
        for name in suite.problems:
            members = [r for r in results if r.row["suite"] == suite.name and r.row["problem"] == name]
            table = aggregate([r.row for r in members])
            for a in table:
                a["budget"], a["command"] = suite.budget_text(), command
            tables[(suite.name, name)] = table
            stem = f"{suite.name}_{name}"
            write_csv(out / f"{stem}.csv", table, table_columns())
            write_json(
                out / f"{stem}.json",
                {
                    "command": command,
                    "suite": suite_settings(suite),
                    "problem": name,
                    "table": table,
                    "equal_params": pairs_json(equal_params(table)),
                    "equal_time": pairs_json(equal_time(table)),
                    "runs": [{**r.row, "history": r.history} for r in members],
                },
                indent=1,
            )
    summary = {
        **info,
        "suites": [suite_settings(s) for s in plan.suites],
        "headlines": {
            s.name: headline_json(headline(s, tables[(s.name, s.problems[0])]))
            for s in plan.suites
            if s.headline
        },
        "tables": {f"{s}/{p}": t for (s, p), t in tables.items()},
        "rows": rows,
    }
    write_json(out / "summary.json", summary, indent=1)
    write_figures(out, plan, results, tables, command)
    write_readme(out, plan, results, tables, info)
    return summary
