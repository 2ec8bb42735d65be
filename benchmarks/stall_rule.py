"""The last grid's stall tolerance of Levenberg-Marquardt (issue 27 item 1), measured on the default solves.

    python benchmarks/stall_rule.py --threads 1          # -> results/stall_rule.{json,md}
    python benchmarks/stall_rule.py --threads 1 --problems poisson2d heat1d

Every problem of :data:`PROBLEMS` (the shipped ones whose default solve is a KAN under the default
Levenberg-Marquardt schedule and takes under a minute; ``--problems`` takes any) runs its default solve (what ``kanpde solve NAME`` runs: ``benchmarks/accuracy.py``'s
``_default``) with the last grid's stall rule off (``kp.LM(final_stall_tol=0.0)``: the stage ends only when
no damping lowers the loss, a step no longer moves the parameters, or ten accepted steps do not lower it at
all) and a history record after every step (``log_every=1``). The stall rule only ends a stage early, so
the run a tolerance ``τ`` would make is this one cut at the first step ``j`` of the last grid where

    L_{j-w} - L_j <= τ L_{j-w},        w = stall_window = 10,

with ``L_j`` the loss after the ``j``-th accepted step of the last grid (the loss the next record starts
from). For every candidate ``τ`` (:data:`CANDIDATES`) the table gives where the run would stop, its error
there against the error at the end, and its seconds there (the per-step error evaluation of
``log_every=1`` is in the seconds of both, so read the share, not the absolute time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)
from accuracy import _default

import kanpde as kp
from kanpde._atomic import atomic_write, write_json

RESULTS = Path(__file__).resolve().parent.parent / "results"
CANDIDATES = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
"""Stall tolerances of the last grid compared (``0``: stop only when the loss does not fall at all)."""
WINDOW = kp.LM().stall_window
PROBLEMS = (
    "poisson1d", "poisson2d", "poisson2d_sin", "poisson_disk", "poisson_mixed", "heat1d", "heat2d",
    "helmholtz2d", "heat_inverse",
)  # fmt: skip


def _last_grid(history: list[dict]) -> tuple[list[dict], list[float]]:
    """The last grid's LM records and its accepted losses: the loss record ``j + 1`` starts from is the loss
    after step ``j`` (a record's loss is the loss its step started from, its error the one after it)."""
    last_grid = history[-1]["grid"]
    steps = [r for r in history if r["grid"] == last_grid and r["stage"] in ("lm", "lm-cg")]
    return steps, [r["loss"] for r in steps[1:]]


def decreases(history: list[dict], window: int = WINDOW) -> list[tuple[dict, float]]:
    """``(record j, (L_{j-w} - L_j) / L_{j-w})`` for every step ``j`` of the last grid past the first window."""
    steps, accepted = _last_grid(history)
    return [
        (steps[j], (accepted[j - window] - accepted[j]) / accepted[j - window])
        for j in range(window, len(accepted))
    ]


def cut(history: list[dict], tol: float, window: int = WINDOW) -> dict:
    """The record at which the last grid's stall rule with tolerance ``tol`` ends the run (its last record
    when it never fires)."""
    for record, drop in decreases(history, window):
        if drop <= tol:
            return record
    return history[-1]


def gaining(history: list[dict], window: int = WINDOW, share: float = 0.01) -> float:
    """The smallest relative ``window``-step decrease of the loss on the last grid at a step after which the
    error still fell by more than ``share`` of itself (``nan`` when there is none): how small the decrease
    of a run that was still gaining accuracy got."""
    found = [
        d
        for r, d in decreases(history, window)
        if history[-1]["relative_l2"] < (1 - share) * r["relative_l2"]
    ]
    return min(found) if found else float("nan")


def run(name: str) -> dict:
    problem = kp.load_problem(name)
    config, model, options = _default(problem, seed=0)
    if "optimizer" in options:
        raise ValueError(
            f"{name} recommends its own optimiser schedule; this benchmark measures the default one"
        )
    options = {**options, "optimizer": kp.LM(final_stall_tol=0.0)}
    start = time.perf_counter()
    sol = kp.solve(problem, model, seed=0, device="cpu", dtype=torch.float64, log_every=1, progress=False,
                   **options)  # fmt: skip
    seconds = time.perf_counter() - start
    history = [
        {k: r[k] for k in ("step", "stage", "grid", "loss", "relative_l2", "seconds") if k in r}
        | ({"stopped": r["stopped"]} if r.get("stopped") else {})
        for r in sol.history
    ]
    end = history[-1]
    cuts = {}
    for tol in CANDIDATES:
        r = cut(history, tol)
        cuts[repr(tol)] = {
            "step": r["step"],
            "relative_l2": r["relative_l2"],
            "error_ratio": r["relative_l2"] / end["relative_l2"],
            "seconds": r["seconds"],
            "time_share": r["seconds"] / end["seconds"],
        }
    return {
        "problem": name,
        "config": config,
        "steps": end["step"],
        "relative_l2": end["relative_l2"],
        "seconds": seconds,
        "last_record_seconds": end["seconds"],
        "ended": end.get("stopped", "steps used up"),
        "cuts": cuts,
        "history": history,
    }


def write(rows: list[dict], info: dict) -> None:
    write_json(RESULTS / "stall_rule.json", {**info, "rows": rows})
    head = " | ".join(f"τ = {t:g}" for t in CANDIDATES)
    lines = [
        "# Levenberg-Marquardt's stall tolerance on the last grid, measured on the default solves",
        "",
        f"Made by `{info['command']}` (torch {torch.__version__}, {info['machine']['torch_threads']} thread(s), "
        f"float64, CPU; load average {info['machine']['load_average_at_start']} at start, 2 shared cores). "
        + source_line(info["kanpde_source"]),
        "",
        "Each default solve ran with the last grid's stall rule off (`kp.LM(final_stall_tol=0.0)`) and a record "
        "after every step; the rule with tolerance τ ends the last grid at the first step where the last "
        f"{WINDOW} accepted steps lowered the loss by at most τ of its value, so a cell reads the same run cut "
        "there: **steps, error / error at the end, share of the run's seconds** (`benchmarks/stall_rule.py`'s "
        "docstring). `ended`: how the uncut run's last grid ended (`converged`: no damping lowered the loss or "
        "a step no longer moved the parameters; `stalled`: ten accepted steps did not lower it at all).",
        "",
        f"| problem | steps | relative L2 | ended | smallest decrease while gaining | {head} |",
        "|---|---|---|---|---|" + "---|" * len(CANDIDATES),
    ]
    for r in rows:
        cells = " | ".join(
            f"{c['step']}, {c['error_ratio']:.4f}, {c['time_share']:.2f}" for c in r["cuts"].values()
        )
        least = gaining(r["history"])
        lines.append(
            f"| {r['problem']} | {r['steps']} | {r['relative_l2']:.2e} | {r['ended']} | {least:.1e} | {cells} |"
        )
    floor = min((g for g in (gaining(r["history"]) for r in rows) if g == g), default=float("nan"))
    raised = max(c["error_ratio"] for r in rows for c in r["cuts"].values()) - 1
    default = kp.LM().final_stall_tol
    worst = {repr(t): max(r["cuts"][repr(t)]["error_ratio"] for r in rows) for t in CANDIDATES}
    share = {
        repr(t): sum(r["cuts"][repr(t)]["seconds"] for r in rows)
        / sum(r["last_record_seconds"] for r in rows)
        for t in CANDIDATES
    }
    lines += [
        "",
        "| τ | largest error / error at the end | seconds of all runs together, share |",
        "|---|---|---|",
        *[f"| {t:g} | {worst[repr(t)]:.4f} | {share[repr(t)]:.2f} |" for t in CANDIDATES],
        "",
        "*Smallest decrease while gaining*: the smallest relative decrease of the loss over "
        f"{WINDOW} steps of the last grid at a step after which the error still fell by more than 1 % "
        "(`nan`: never). The stall rule must stay below it, or it would end a run that still gains.",
        "",
        f"**Default**: `kp.LM().final_stall_tol = {default:g}`. Runs still gaining accuracy lowered the loss "
        f"by at least {floor:.1e} of itself every {WINDOW} steps, a factor {floor / default:.0f} above it; "
        f"the largest error ratio of any cut at τ <= {CANDIDATES[-1]:g} is {1 + raised:.5f}, so τ is set two "
        "decades below the largest tolerance measured harmless, for problems and step counts not measured "
        "here. The plateau it ends, poisson2d's (the loss stands still to ten digits from step ~229 on), "
        "falls from a 10-step decrease of 4e-3 to below 1e-5 within two steps (`stall_rule.json` has every "
        "step).",
        "",
    ]
    with atomic_write(RESULTS / "stall_rule.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", nargs="+", default=None, choices=kp.list_problems())
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument(
        "--rewrite", action="store_true", help="rewrite stall_rule.md from stall_rule.json, running nothing"
    )
    args = parser.parse_args(argv)
    if args.rewrite:
        stored = json.loads((RESULTS / "stall_rule.json").read_text(encoding="utf-8"))
        rows = stored.pop("rows")
        write(rows, stored)
        return 0
    torch.set_num_threads(args.threads)
    names = args.problems or list(PROBLEMS)
    command = "python benchmarks/stall_rule.py " + " ".join(argv if argv is not None else sys.argv[1:])
    info = {"command": command.strip(), "kanpde_source": kanpde_source(), "machine": machine()}
    rows = []
    for name in names:
        rows.append(run(name))
        print({k: v for k, v in rows[-1].items() if k != "history"}, flush=True)
        write(rows, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
