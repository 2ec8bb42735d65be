"""The per-problem tables and their files: the matched comparisons of the two families
(:func:`equal_params`, :func:`equal_time`, :func:`best_of`, :func:`headline`), CSV and JSON writing (a
non-finite number is stored as ``null``), the suite settings as the JSON stores them, and
:func:`load_results`, which reads a finished run back from its JSON for ``--report-only``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

from .plan import ModelSpec, Plan, Suite
from .run import GROUP_KEYS, METRICS, RunResult, _finite

# --------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------


def _ratio(mlp_error: float, kan_error: float) -> float:
    """MLP error / KAN error: above 1 the KAN is more accurate."""
    if not (_finite(mlp_error) and _finite(kan_error)) or kan_error <= 0:
        return math.nan
    return mlp_error / kan_error


def equal_params(table: Sequence[dict], factor: float = 2.0) -> list[dict]:
    """For every KAN configuration the MLP nearest in parameter count (log scale), if within ``factor``."""
    kans = [a for a in table if a["model"] == "kan"]
    mlps = [a for a in table if a["model"] == "mlp"]
    out = []
    for k in kans:
        best = min(mlps, key=lambda m: abs(math.log(m["params"] / k["params"])), default=None)
        if best is not None and max(best["params"], k["params"]) / min(best["params"], k["params"]) > factor:
            best = None
        out.append(
            {
                "kan": k,
                "mlp": best,
                "ratio": _ratio(best["relative_l2_median"], k["relative_l2_median"]) if best else math.nan,
            }
        )
    return out


def equal_time(table: Sequence[dict]) -> list[dict]:
    """For every configuration the most accurate one of the other family whose median time was no longer."""
    out = []
    for a in table:
        others = [
            b
            for b in table
            if b["model"] != a["model"]
            and _finite(b["seconds_median"])
            and b["seconds_median"] <= a["seconds_median"]
            and _finite(b["relative_l2_median"])
        ]
        best = min(others, key=lambda b: b["relative_l2_median"], default=None)
        k, m = (a, best) if a["model"] == "kan" else (best, a)
        ratio = _ratio(m["relative_l2_median"], k["relative_l2_median"]) if best else math.nan
        out.append({"budget": a, "other": best, "kan": k, "mlp": m, "ratio": ratio})
    return out


def best_of(table: Sequence[dict], family: str) -> dict | None:
    rows = [a for a in table if a["model"] == family and _finite(a["relative_l2_median"])]
    return min(rows, key=lambda a: a["relative_l2_median"], default=None)


def _find(table: Sequence[dict], spec: ModelSpec) -> dict | None:
    for a in table:
        if a["model"] == spec.family and a["layers"].split("-")[1:-1] == [str(h) for h in spec.hidden]:
            if a["grids"] == "-".join(map(str, spec.grids)):
                return a
    return None


def headline(suite: Suite, table: Sequence[dict]) -> dict | None:
    """The suite's headline pair: medians, error ratios (relative L2 and MSE), parameter and time ratios."""
    if suite.headline is None:
        return None
    k, m = (_find(table, spec) for spec in suite.headline)
    if k is None or m is None:
        return None
    l2 = _ratio(m["relative_l2_median"], k["relative_l2_median"])
    worst = _ratio(m["relative_l2_min"], k["relative_l2_max"])  # best MLP seed vs worst KAN seed
    return {
        "kan": k,
        "mlp": m,
        "l2_ratio": l2,
        "mse_ratio": l2**2,
        "l2_ratio_worst_case": worst,
        "params_ratio": m["params"] / k["params"],
        "time_ratio": _ratio(m["seconds_median"], k["seconds_median"]),
        "kan_wins_every_seed": bool(_finite(worst) and worst > 1),
    }


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def table_columns() -> list[str]:
    cols = [*GROUP_KEYS, "n_seeds", "n_failed"]
    for m in METRICS:
        cols += [f"{m}_median", f"{m}_min", f"{m}_max"]
    return [*cols, "budget", "command"]


def suite_settings(suite: Suite) -> dict:
    return {
        "name": suite.name,
        "problems": list(suite.problems),
        "models": [dataclasses.asdict(s) for s in suite.models],
        "seeds": list(suite.seeds),
        "schedule": [list(s) for s in suite.schedule],
        "n_interior": suite.n_interior,
        "n_boundary": suite.n_boundary,
        "n_initial": suite.n_initial,
        "residual_weight": suite.residual_weight,
        "hard": suite.hard,
        "log_every": suite.log_every,
        "headline": [dataclasses.asdict(s) for s in suite.headline] if suite.headline else None,
        "budget": suite.budget_text(),
        "note": suite.note,
    }


def _suite_from_settings(d: dict) -> Suite:
    return Suite(
        name=d["name"],
        problems=tuple(d["problems"]),
        models=tuple(ModelSpec(m["family"], tuple(m["hidden"]), tuple(m["grids"])) for m in d["models"]),
        seeds=tuple(d["seeds"]),
        schedule=tuple((n, int(k)) for n, k in d["schedule"]),
        n_interior=d["n_interior"],
        n_boundary=d["n_boundary"],
        n_initial=d["n_initial"],
        residual_weight=d["residual_weight"],
        hard=d.get("hard", False),
        log_every=d.get("log_every", 5),
        headline=tuple(ModelSpec(m["family"], tuple(m["hidden"]), tuple(m["grids"])) for m in d["headline"])
        if d.get("headline")
        else None,
        note=d.get("note", ""),
    )


_FLOAT_COLUMNS = ("relative_l2", "relative_h1", "max_abs", "mse", "final_loss", "seconds")


def load_results(out: str | Path) -> tuple[Plan, list[RunResult], dict]:
    """Read back a finished run's plan, runs (with histories) and environment from ``out``."""
    out = Path(out)
    path = out / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"no {path}; run the benchmark into {out} first")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        suites = tuple(_suite_from_settings(d) for d in summary["suites"])  # names checked by Suite
        plan = Plan(summary["plan"], suites, summary.get("plan_description", ""))
        results = []
        for suite in suites:
            for name in suite.problems:
                data = json.loads((out / f"{suite.name}_{name}.json").read_text(encoding="utf-8"))
                for run in data["runs"]:
                    history = run.pop("history")
                    row = {k: (math.nan if v is None and k in _FLOAT_COLUMNS else v) for k, v in run.items()}
                    results.append(RunResult(row, history))
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{path} or a per-problem JSON beside it is damaged ({err!r}); run the benchmark again"
        ) from err
    except ValueError as err:  # a name that cannot be a file name, a bad schedule, ...
        raise ValueError(f"{path}: {err}") from err
    keys = ("command", "plan", "plan_description", "total_seconds", "kanpde", "torch", "python", "machine")
    info = {k: summary.get(k) for k in (*keys, "cpu_count", "threads", "device", "dtype", "date")}
    return plan, results, info


def pairs_json(pairs: Sequence[dict]) -> list[dict]:
    def name(a):
        return (
            None
            if a is None
            else {
                "label": a["label"],
                "params": a["params"],
                "relative_l2": a["relative_l2_median"],
                "seconds": a["seconds_median"],
            }
        )

    return [{"kan": name(p["kan"]), "mlp": name(p["mlp"]), "mlp_over_kan_error": p["ratio"]} for p in pairs]


def headline_json(h: dict | None) -> dict | None:
    if h is None:
        return None
    keys = (
        "label",
        "params",
        "relative_l2_median",
        "relative_l2_min",
        "relative_l2_max",
        "mse_median",
        "seconds_median",
    )
    return {
        "kan": {k: h["kan"][k] for k in keys},
        "mlp": {k: h["mlp"][k] for k in keys},
        **{k: v for k, v in h.items() if k not in ("kan", "mlp")},
    }
