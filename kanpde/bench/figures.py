"""The figures of a benchmark run (:data:`FIGURES`): relative L2 error against parameter count and against
wall time per run (median and min-max over seeds, with the KANs' grid-extension paths), and the
grid-extension staircase (relative L2 against optimiser step); :func:`write_figures` draws them with
matplotlib's Agg canvas into the output folder.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from .._atomic import atomic_write
from .plan import ModelSpec, Plan
from .run import RunResult, _finite
from .tables import best_of

_KAN_COLORS = ("#1f77b4", "#2ca02c", "#17becf", "#9467bd")
_MLP_COLORS = ("#ff7f0e", "#d62728", "#8c564b", "#e377c2")


def _spec_of(row: dict) -> tuple[ModelSpec, int]:
    """The model spec and input dimension of a summary row or table row."""
    layers = [int(v) for v in str(row["layers"]).split("-")]
    grids = tuple(int(g) for g in str(row["grids"]).split("-") if g)
    return ModelSpec(row["model"], tuple(layers[1:-1]), grids), layers[0]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_figure(fig, path: Path) -> Path:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    return path


def _panel_grid(fig, n: int, command: str, title: str):
    cols = min(3, n)
    rows = -(-n // cols)
    fig.set_size_inches(4.8 * cols, 3.7 * rows + 0.5)
    import textwrap

    made = textwrap.fill(f"made by: {command}", width=int(15 * 4.8 * cols))
    fig.suptitle(f"{title}\n{made}", fontsize=8)
    return [fig.add_subplot(rows, cols, i + 1) for i in range(n)]


def _errorbar(ax, table: Sequence[dict], xkey: str, color: str, marker: str, label: str) -> None:
    table = [
        a
        for a in table
        if _finite(a["relative_l2_median"]) and _finite(a[f"{xkey}_median" if xkey != "params" else "params"])
    ]
    if not table:
        return
    if xkey == "params":
        table = sorted(table, key=lambda a: a["params"])
        x = [a["params"] for a in table]
        xerr = None
    else:
        table = sorted(table, key=lambda a: a[f"{xkey}_median"])
        x = [a[f"{xkey}_median"] for a in table]
        xerr = [
            [a[f"{xkey}_median"] - a[f"{xkey}_min"] for a in table],
            [a[f"{xkey}_max"] - a[f"{xkey}_median"] for a in table],
        ]
    y = [a["relative_l2_median"] for a in table]
    yerr = [
        [a["relative_l2_median"] - a["relative_l2_min"] for a in table],
        [a["relative_l2_max"] - a["relative_l2_median"] for a in table],
    ]
    ax.errorbar(
        x,
        y,
        yerr=yerr,
        xerr=xerr,
        color=color,
        marker=marker,
        markersize=5,
        linewidth=1.2,
        capsize=2,
        label=label,
    )


def _families(table: Sequence[dict]) -> list[tuple[str, list[dict], str, str]]:
    """Lines of the error plots: KANs grouped by grid schedule (across widths), MLPs by width (across depths)."""
    lines = []
    for i, grids in enumerate(dict.fromkeys(a["grids"] for a in table if a["model"] == "kan")):
        members = [a for a in table if a["model"] == "kan" and a["grids"] == grids]
        name = f"KAN G{grids.replace('-', '>')}, width " + ",".join(str(a["width"]) for a in members)
        lines.append((name, members, _KAN_COLORS[i % len(_KAN_COLORS)], "o"))
    for i, width in enumerate(dict.fromkeys(a["width"] for a in table if a["model"] == "mlp")):
        members = [a for a in table if a["model"] == "mlp" and a["width"] == width]
        name = f"MLP width {width}, depth " + ",".join(str(a["depth"]) for a in members)
        lines.append((name, members, _MLP_COLORS[i % len(_MLP_COLORS)], "s"))
    return lines


def _stage_ends(history: Sequence[dict]) -> dict[int, float]:
    """Relative L2 at the end of every grid stage: grid -> error."""
    ends: dict[int, float] = {}
    for r in history:
        if r.get("grid") is not None and "relative_l2" in r:
            ends[int(r["grid"])] = r["relative_l2"]
    return ends


def _extension_paths(ax, runs: Sequence[RunResult]) -> None:
    """Dashed: the median error at the end of each grid stage of a KAN's grid extension vs its size then."""
    specs = {}
    for r in runs:
        if r.row["model"] == "kan" and "-" in str(r.row["grids"]):
            specs.setdefault(r.row["label"], []).append(r)
    for i, members in enumerate(specs.values()):
        spec, dim = _spec_of(members[0].row)
        xs, ys = [], []
        for g in spec.grids:
            values = [e[g] for e in (_stage_ends(m.history) for m in members) if g in e and _finite(e[g])]
            if values:
                xs.append(spec.params_at(dim, g))
                ys.append(statistics.median(values))
        if len(xs) > 1:
            ax.plot(
                xs,
                ys,
                linestyle="--",
                linewidth=0.8,
                marker=".",
                color="0.45",
                label="KAN grid-extension path (stage ends)" if i == 0 else None,
            )


def error_figure(plan: Plan, results: Sequence[RunResult], tables: dict, command: str, xkey: str):
    """Relative L2 (median, min-max over seeds) against parameters (``xkey="params"``) or seconds."""
    keys = [(s.name, p) for s in plan.suites for p in s.problems]
    fig = _figure(10, 8)
    what = "parameter count" if xkey == "params" else "wall time"
    axes = _panel_grid(
        fig, len(keys), command, f"relative L2 error vs {what}: median over seeds, bars min-max"
    )
    for ax, (suite, problem) in zip(axes, keys, strict=True):
        table = tables[(suite, problem)]
        for name, members, color, marker in _families(table):
            _errorbar(ax, members, xkey, color, marker, name)
        if xkey == "params":
            _extension_paths(
                ax, [r for r in results if r.row["suite"] == suite and r.row["problem"] == problem]
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters" if xkey == "params" else "wall time per run (s)")
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"{problem} ({suite})", fontsize=9)
        ax.grid(True, which="major", color="0.9")
        ax.legend(fontsize=6)
    return fig


def staircase_figure(plan: Plan, results: Sequence[RunResult], tables: dict, command: str):
    """Relative L2 against optimiser step for the KANs with grid extension (every seed), grid changes
    marked; the most accurate MLP (gray) for reference."""
    keys = [(s.name, p) for s in plan.suites for p in s.problems]
    fig = _figure(10, 8)
    axes = _panel_grid(
        fig, len(keys), command, "grid-extension staircase: relative L2 vs optimiser step (every seed)"
    )
    for ax, (suite, problem) in zip(axes, keys, strict=True):
        runs = [r for r in results if r.row["suite"] == suite and r.row["problem"] == problem and r.history]
        marked: set[int] = set()
        kan_labels = list(
            dict.fromkeys(
                r.row["label"] for r in runs if r.row["model"] == "kan" and "-" in str(r.row["grids"])
            )
        )
        for i, label in enumerate(kan_labels):
            color = _KAN_COLORS[i % len(_KAN_COLORS)]
            for j, r in enumerate(x for x in runs if x.row["label"] == label):
                steps = [h["step"] for h in r.history if "relative_l2" in h]
                errors = [h["relative_l2"] for h in r.history if "relative_l2" in h]
                ax.plot(steps, errors, color=color, linewidth=1.0, alpha=0.8, label=label if j == 0 else None)
                for before, after in zip(r.history[:-1], r.history[1:], strict=False):
                    if before.get("grid") != after.get("grid") and before["step"] not in marked:
                        marked.add(before["step"])
                        ax.axvline(before["step"], linestyle=":", color="0.4", linewidth=0.9)
                        ax.text(
                            before["step"],
                            0.98,
                            f" grid {after.get('grid')}",
                            rotation=90,
                            va="top",
                            fontsize=6,
                            color="0.3",
                            transform=ax.get_xaxis_transform(),
                        )
        best = best_of(tables[(suite, problem)], "mlp")
        if best is not None:
            for j, r in enumerate(x for x in runs if x.row["label"] == best["label"]):
                steps = [h["step"] for h in r.history if "relative_l2" in h]
                errors = [h["relative_l2"] for h in r.history if "relative_l2" in h]
                ax.plot(
                    steps,
                    errors,
                    color="0.55",
                    linewidth=1.0,
                    linestyle="--",
                    label=f"{best['label']} (best MLP)" if j == 0 else None,
                )
        ax.set_yscale("log")
        ax.set_xlabel("optimiser step (all stages)")
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"{problem} ({suite})", fontsize=9)
        ax.grid(True, which="major", color="0.9")
        ax.legend(fontsize=6)
    return fig


FIGURES = ("error_vs_params.png", "error_vs_time.png", "staircase.png")


def write_figures(
    out: Path, plan: Plan, results: Sequence[RunResult], tables: dict, command: str
) -> list[Path]:
    return [
        _save_figure(error_figure(plan, results, tables, command, "params"), out / FIGURES[0]),
        _save_figure(error_figure(plan, results, tables, command, "seconds"), out / FIGURES[1]),
        _save_figure(staircase_figure(plan, results, tables, command), out / FIGURES[2]),
    ]
