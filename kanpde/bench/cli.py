"""The command line of the benchmark (``kanpde bench`` and ``benchmarks/kan_vs_mlp.py``):
:func:`add_arguments` adds the options, :func:`plan_from_args` picks the plan and narrows it by them,
:func:`run_from_args` runs it (or, with ``--report-only``, rewrites the report) and :func:`main` is the
stand-alone entry point (``python -m kanpde.bench``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

from ..catalog import list_problems
from ..solver import threads as torch_threads
from .pipeline import run_plan, write_outputs
from .plan import PLANS, Plan
from .tables import load_results


def add_arguments(
    parser: argparse.ArgumentParser, default_out: str = "runs/kan_vs_mlp", prog: str = "kanpde bench"
) -> argparse.ArgumentParser:
    """Add the ``bench`` options to ``parser`` (``kanpde bench`` and ``benchmarks/kan_vs_mlp.py``).

    ``default_out`` is the output folder without ``--out``; ``prog`` starts the command recorded in the
    outputs.
    """
    parser.description = parser.description or (
        "Train KANs and MLPs on the same points with the same optimiser schedule over several seeds; write "
        "summary.csv, per-problem tables, figures and a README."
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of the harness (about 10 seconds)")
    parser.add_argument("--out", default=None, help=f"output folder (default {default_out})")
    parser.add_argument(
        "--suites", default=None, help="comma-separated suites of the plan to run: sweep,paper"
    )
    parser.add_argument(
        "--problems",
        default=None,
        help="comma-separated problems (default: each suite's; the paper suite runs poisson2d only)",
    )
    parser.add_argument("--seeds", default=None, help="number of seeds per configuration (default 3)")
    parser.add_argument(
        "--steps",
        default=None,
        help="total optimiser steps per run, replacing each suite's (stages scaled in proportion)",
    )
    parser.add_argument(
        "--threads",
        default="1",
        help="torch intra-op threads (default 1: on a busy 2-core machine 2 threads ran up to 10x slower)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--hard",
        action="store_true",
        help="impose Dirichlet conditions with constant values exactly (u = g + phi N) for every model",
    )
    parser.add_argument(
        "--headline-only",
        action="store_true",
        help="run only the suites' headline pairs (KAN [2,10,1] vs the depth-4 width-100 MLP), e.g. with more --steps",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="no training: rewrite the tables, figures and README from OUT/summary.json and its per-problem JSON",
    )
    parser.set_defaults(bench_prog=prog, bench_default_out=default_out)
    return parser


def _positive(name: str, value: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValueError(f"--{name} takes a positive integer, got {value!r}") from None
    if n < 1:
        raise ValueError(f"--{name} takes a positive integer, got {value!r}")
    return n


def _rescale(schedule: tuple[tuple[str, int], ...], total: int, multiple: int) -> tuple[tuple[str, int], ...]:
    """Scale the stages to ``total`` steps, each rounded to a multiple of ``multiple`` (at least one)."""
    old = sum(s for _, s in schedule)
    return tuple((n, max(multiple, round(s * total / old / multiple) * multiple)) for n, s in schedule)


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The plan chosen by ``--quick`` and narrowed by ``--suites``, ``--problems``, ``--seeds``, ``--steps``."""
    plan = PLANS["quick" if args.quick else "full"]
    suites = list(plan.suites)
    if args.suites:
        wanted = [s.strip() for s in args.suites.split(",") if s.strip()]
        names = [s.name for s in suites]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise ValueError(f"unknown suite(s) {', '.join(unknown)}; this plan has: {', '.join(names)}")
        suites = [s for s in suites if s.name in wanted]
    changed = []
    for suite in suites:
        kw = {}
        if args.problems:
            wanted = [p.strip() for p in args.problems.split(",") if p.strip()]
            shipped = list_problems()
            unknown = [p for p in wanted if p not in shipped]
            if unknown:
                raise ValueError(f"unknown problem(s) {', '.join(unknown)}; shipped: {', '.join(shipped)}")
            kw["problems"] = tuple(p for p in wanted if suite.name != "paper" or p == "poisson2d")
            if not kw["problems"]:
                continue
        if args.seeds is not None:
            kw["seeds"] = tuple(range(_positive("seeds", args.seeds)))
        if getattr(args, "headline_only", False):
            if suite.headline is None:
                continue
            kw["models"] = suite.headline
        if args.steps is not None:
            models = kw.get("models", suite.models)
            multiple = math.lcm(*(max(1, len(m.grids)) for m in models))
            kw["schedule"] = _rescale(suite.schedule, _positive("steps", args.steps), multiple)
        edits = []
        if "schedule" in kw:
            edits.append(
                f"--steps replaced the schedule by {' then '.join(f'{n} x {k}' for n, k in kw['schedule'])}"
            )
        if getattr(args, "headline_only", False):
            edits.append("--headline-only ran the headline pair alone")
        if getattr(args, "hard", False):
            kw["hard"] = True
            edits.append("--hard imposed the constant Dirichlet values exactly for every model")
        if edits:
            kw["note"] = (suite.note + "; " if suite.note else "") + "in this run " + " and ".join(edits)
        changed.append(dataclasses.replace(suite, **kw))
    if not changed:
        raise ValueError("nothing to run: --suites/--problems/--headline-only left no suite to run")
    return Plan(plan.name, tuple(changed), plan.description)


def _command(args: argparse.Namespace, out: Path) -> str:
    parts = [getattr(args, "bench_prog", "kanpde bench")]
    if args.quick:
        parts.append("--quick")
    for opt in ("suites", "problems", "seeds", "steps"):
        if getattr(args, opt) is not None:
            parts += [f"--{opt}", str(getattr(args, opt))]
    if str(args.threads) != "1":
        parts += ["--threads", str(args.threads)]
    if args.device != "cpu":
        parts += ["--device", args.device]
    if getattr(args, "headline_only", False):
        parts.append("--headline-only")
    if getattr(args, "hard", False):
        parts.append("--hard")
    if getattr(args, "report_only", False):
        parts.append("--report-only")
    try:
        shown = out.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = out
    parts += ["--out", str(shown)]
    return " ".join(parts)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark the parsed ``args`` describe; returns the exit status (0)."""
    plan = plan_from_args(args)
    threads = _positive("threads", args.threads)
    if args.device not in ("cpu", "cuda"):
        raise ValueError(f"unknown --device {args.device!r}; valid ones: cpu, cuda")
    out = Path(args.out or getattr(args, "bench_default_out", "runs/kan_vs_mlp"))
    if args.report_only:
        plan, results, info = load_results(out)
        info["report_command"] = _command(args, out)
        write_outputs(out, plan, results, info)
        _log(f"rewrote the report in {out} from the runs of: {info['command']}")
        return 0
    with torch_threads(threads):
        run_plan(plan, out, command=_command(args, out), device=args.device, log=_log)
    return 0


def _log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="kanpde bench"))
    return run_from_args(parser.parse_args(argv))
