"""Figures: KAN edge functions, solutions with their errors, and training histories, as PNG files.

Every figure is a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas, so no pyplot state and no
global backend switch is involved; files are written atomically. The ``*_figure`` functions return the
figure without saving it (for notebooks and tests); the ``plot_*`` functions save it and return the path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._atomic import atomic_write
from .grids import grid_nodes

__all__ = [
    "plot_edges",
    "plot_solution",
    "plot_history",
    "edges_figure",
    "solution_figure",
    "history_figure",
]

PANELS_PER_ROW = 12
"""Edge panels per row of a layer's block; larger layers wrap onto further rows."""

MAX_PANELS_PER_LAYER = 96
"""A layer with more edges shows the ones with the largest range of values (8 rows of 12)."""

_DPI = 110


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    return path


# --------------------------------------------------------------------------------------------------
# KAN edges
# --------------------------------------------------------------------------------------------------


def _node_names(width: Sequence[int]) -> list[list[str]]:
    """Names of the nodes of every node layer: inputs ``x0..``, hidden ``h0..`` (``h1.0`` when deep), ``y0..``."""
    deep = len(width) > 3
    names = []
    for m, n in enumerate(width):
        if m == 0:
            names.append([f"x{i}" for i in range(n)])
        elif m == len(width) - 1:
            names.append([f"y{i}" for i in range(n)])
        else:
            names.append([f"h{m}.{i}" if deep else f"h{i}" for i in range(n)])
    return names


@torch.no_grad()
def _edge_curves(model, index: int, n_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Abscissae ``(S, n_in)``, values ``(S, n_in, n_out)`` and knots ``(n_in, K)`` of one layer's edges.

    The first layer is drawn over physical coordinates (through the model's input map), the others over
    their own grid spans.
    """
    layer = model.layers[index]
    lo, hi = layer.grid_range  # (n_in,) each
    t = torch.linspace(0, 1, n_points, dtype=lo.dtype, device=lo.device)
    v = lo + t[:, None] * (hi - lo)  # (S, n_in)
    phi = layer.edge_functions(v)  # (S, n_in, n_out)
    knots = layer.knots[:, layer.k : layer.knots.shape[1] - layer.k]  # (n_in, G+1) knots inside the span
    if index == 0:
        v = (v - model.input_shift) / model.input_scale  # (S, n_in) physical coordinates
        knots = (knots - model.input_shift[:, None]) / model.input_scale[:, None]  # (n_in, G+1)
    return v.cpu().numpy(), phi.cpu().numpy(), knots.cpu().numpy()


def edges_figure(model, n_points: int = 200) -> Figure:
    """The figure of :func:`plot_edges`: one axes per drawn edge, blocks of rows per layer."""
    layers = getattr(model, "layers", None)
    if not layers or not all(hasattr(layer, "edge_functions") for layer in layers):
        raise TypeError(f"plot_edges draws the edge functions of a kanpde.KAN, got {type(model).__name__}")
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    names = _node_names(model.width)
    blocks = []  # per layer: (index, [(i, j), ...] edges to draw, total edges)
    for index, layer in enumerate(layers):
        v, phi, knots = _edge_curves(model, index, n_points)
        edges = [(i, j) for i in range(layer.n_in) for j in range(layer.n_out)]
        if len(edges) > MAX_PANELS_PER_LAYER:
            spread = phi.max(axis=0) - phi.min(axis=0)  # (n_in, n_out)
            order = np.argsort(-spread, axis=None, kind="stable")[:MAX_PANELS_PER_LAYER]
            edges = sorted((int(f) // layer.n_out, int(f) % layer.n_out) for f in order)
        blocks.append((index, v, phi, knots, edges, layer.n_in * layer.n_out))
    cols = min(PANELS_PER_ROW, max(len(b[4]) for b in blocks))
    rows_per_block = [math.ceil(len(b[4]) / cols) for b in blocks]
    n_rows = sum(rows_per_block)
    fig = _figure(1.55 * cols + 0.4, 1.25 * n_rows + 0.5)
    grid = fig.add_gridspec(n_rows, cols)
    row0, notes = 0, []
    for (index, v, phi, knots, edges, total), n_block_rows in zip(blocks, rows_per_block, strict=True):
        for p, (i, j) in enumerate(edges):
            ax = fig.add_subplot(grid[row0 + p // cols, p % cols])
            ax.vlines(knots[i], 0, 1, transform=ax.get_xaxis_transform(), colors="0.88", linewidths=0.6)
            ax.plot(v[:, i], phi[:, i, j], color="C0", linewidth=1.2)
            label = f"L{index}: {names[index][i]}→{names[index + 1][j]}"
            ax.set_title(label, fontsize=7, pad=2)
            ax.tick_params(labelsize=5, length=2, pad=1)
            ax.margins(x=0)
        if len(edges) < total:
            notes.append(f"L{index}: the {len(edges)} of {total} edges with the largest range")
        row0 += n_block_rows
    title = f"KAN edge functions φ_(j,i), width {model.width}, grid {model.grid}"
    fig.suptitle("\n".join([title, *notes]), fontsize=9)
    return fig


def plot_edges(model, path: str | Path, n_points: int = 200) -> Path:
    """Draw every edge function ``φ_ji`` of a KAN over its grid span into one PNG; returns ``path``.

    A panel per edge, labelled ``L<layer>: <input node>→<output node>``, the layers one below the other with
    at most :data:`PANELS_PER_ROW` panels a row; knots are marked by light vertical lines, and the first
    layer is drawn over physical coordinates. Layers with more than :data:`MAX_PANELS_PER_LAYER` edges
    show the edges whose values span the largest range.
    """
    return _save(edges_figure(model, n_points), path)


# --------------------------------------------------------------------------------------------------
# Solutions
# --------------------------------------------------------------------------------------------------


class _View:
    """One field of a solution: its values and, where known, its truth (exact, or the reference
    interpolated linearly) at nodes ``(M, d)``."""

    def __init__(self, solution, field: str | None) -> None:
        fields = tuple(getattr(solution, "fields", ("u",)))
        if field is None and len(fields) > 1:
            raise ValueError(f"this solution has the fields {', '.join(fields)}; pass field= to plot one")
        field = fields[0] if field is None else field
        if field not in fields:
            raise ValueError(f"unknown field {field!r}; this solution's fields are {', '.join(fields)}")
        self.solution, self.domain, self.name, self.index = (
            solution,
            solution.domain,
            field,
            fields.index(field),
        )
        self.several = len(fields) > 1

    def values(self, nodes: np.ndarray) -> np.ndarray:
        out = np.asarray(self.solution(nodes), dtype=float)
        return out[:, self.index] if out.ndim == 2 else out

    def truth(self, nodes: np.ndarray) -> np.ndarray | None:
        problem = getattr(self.solution, "problem", None)
        if problem is None:
            return None
        if problem.exact is not None:
            with torch.no_grad():
                return problem.exact_values(torch.as_tensor(nodes)).cpu().numpy()[:, self.index].astype(float)
        if problem.reference is not None and nodes.shape[1] <= 3:
            return problem.reference.interpolate(nodes)[:, self.index]
        return None


def _values(view: _View, nodes: np.ndarray) -> dict[str, np.ndarray]:
    """``u`` and, where the truth is known, ``exact`` and ``error`` at ``nodes`` ``(M, d)``."""
    out = {"u": view.values(nodes)}
    truth = view.truth(nodes)
    if truth is not None:
        out["exact"] = truth
        out["error"] = out["u"] - out["exact"]
    return out


def _plane(domain, n: int, fixed: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A plane of the evaluation grid: the first two columns on ``n`` nodes each, every other column at
    node ``fixed[c]`` of three (0 = start, 1 = middle, 2 = end).

    Returns the two axes, the nodes ``(n * n, d)`` and the inside mask ``(n, n)``.
    """
    sizes = [n, n] + [3] * (domain.dim - 2)
    axes, mask = domain.evaluation_grid(sizes)
    pick = (slice(None), slice(None), *fixed)
    nodes = grid_nodes(axes).reshape(*sizes, domain.dim)[pick].reshape(-1, domain.dim)  # (n*n, d)
    return axes[0], axes[1], nodes, mask[pick]


def _heat_map(fig, ax, a0, a1, values: np.ndarray, title: str, names, vmin=None, vmax=None) -> None:
    """``values`` ``(n0, n1)`` (NaN outside the domain) as a pcolormesh with ``a0`` across, ``a1`` up."""
    mesh = ax.pcolormesh(
        a0, a1, np.ma.masked_invalid(values.T), shading="nearest", cmap="viridis", vmin=vmin, vmax=vmax
    )
    fig.colorbar(mesh, ax=ax, shrink=0.85)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])


def _fields(values: dict[str, np.ndarray], mask: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(key, field) pairs on the plane's shape with NaN outside ``mask``; ``error`` as ``|error|``."""
    out = []
    for key in ("u", "exact", "error"):
        if key in values:
            field = values[key].reshape(mask.shape).copy()
            field = np.abs(field) if key == "error" else field
            field[~mask] = np.nan
            out.append((key, field))
    return out


def _title(key: str, view: _View) -> str:
    return {"u": f"{view.name} (model)", "exact": "exact", "error": f"|{view.name} − exact|"}[key]


def _limits(pairs: Sequence[tuple[str, np.ndarray]]) -> dict[str, tuple[float | None, float | None]]:
    """Colour limits per key; ``u`` and ``exact`` share theirs so that they compare by eye."""
    groups = {"u": "solution", "exact": "solution", "error": "error"}
    ranges: dict[str, list[np.ndarray]] = {}
    for key, field in pairs:
        finite = field[np.isfinite(field)]
        if finite.size:
            ranges.setdefault(groups[key], []).append(finite)
    out = {}
    for key, group in groups.items():
        values = ranges.get(group)
        if values:
            both = np.concatenate(values)
            out[key] = (float(both.min()), float(both.max()))
        else:
            out[key] = (None, None)
    return out


def _line_figure(solution: _View) -> Figure:
    domain = solution.domain
    (x,), mask = domain.evaluation_grid([1001])
    x = x[mask]
    values = _values(solution, x[:, None])
    has_exact = "exact" in values
    fig = _figure(9.0 if has_exact else 5.0, 3.6)
    ax = fig.add_subplot(1, 2 if has_exact else 1, 1)
    ax.plot(x, values["u"], label=_title("u", solution), color="C0")
    if has_exact:
        ax.plot(x, values["exact"], "--", label="exact", color="k", linewidth=1)
        err = fig.add_subplot(1, 2, 2)
        err.plot(x, values["error"], color="C3")
        err.axhline(0, color="0.7", linewidth=0.6)
        err.set_title(f"error {solution.name} − exact", fontsize=9)
        err.set_xlabel(domain.names[0])
    ax.set_title(solution.name if solution.several else "solution", fontsize=9)
    ax.set_xlabel(domain.names[0])
    ax.legend(fontsize=8)
    return fig


def _plane_figure(solution: _View, n: int = 101) -> Figure:
    """2-D domains, 1-D space-time (x across, t up), and a middle slice of higher dimensions."""
    domain = solution.domain
    a0, a1, nodes, mask = _plane(domain, n, [1] * (domain.dim - 2))
    fields = _fields(_values(solution, nodes), mask)
    limits = _limits(fields)
    fig = _figure(4.3 * len(fields), 3.8)
    for p, (key, field) in enumerate(fields):
        ax = fig.add_subplot(1, len(fields), p + 1)
        _heat_map(fig, ax, a0, a1, field, _title(key, solution), domain.names, *limits[key])
    if domain.dim > 2:
        lo, hi = domain.bounds()
        where = ", ".join(
            f"{name} = {(lo[c] + hi[c]) / 2:.3g}" for c, name in enumerate(domain.names) if c > 1
        )
        fig.suptitle(f"slice at {where}", fontsize=9)
    return fig


def _times_figure(solution: _View, n: int = 81) -> Figure:
    """Space-time over 2-D (or a middle slice of higher) space: the fields at the first, middle, last time."""
    domain = solution.domain
    middle = [1] * (domain.dim - 3)
    t0, t1 = domain.bounds()[0][-1], domain.bounds()[1][-1]
    columns = []
    for k in range(3):
        a0, a1, nodes, mask = _plane(domain, n, [*middle, k])
        columns.append(_fields(_values(solution, nodes), mask))
    rows = len(columns[0])
    limits = _limits([pair for column in columns for pair in column])
    fig = _figure(4.0 * 3, 3.4 * rows)
    for r in range(rows):
        for k in range(3):
            key, field = columns[k][r]
            t = t0 + k * (t1 - t0) / 2
            ax = fig.add_subplot(rows, 3, r * 3 + k + 1)
            title = f"{_title(key, solution)} at t = {t:.3g}"
            _heat_map(fig, ax, a0, a1, field, title, domain.names, *limits[key])
    if domain.space_dim > 2:
        lo, hi = domain.bounds()
        names = domain.names[2:-1]
        where = ", ".join(f"{name} = {(lo[c + 2] + hi[c + 2]) / 2:.3g}" for c, name in enumerate(names))
        fig.suptitle(f"slice at {where}", fontsize=9)
    return fig


def solution_figure(solution, field: str | None = None) -> Figure:
    """The figure of :func:`plot_solution`."""
    domain = getattr(solution, "domain", None)
    if domain is None:
        raise ValueError(
            "plotting a solution needs its domain, which this checkpoint does not store (kanpde 0.1); load "
            "it with kp.load(path, problem=NAME_OR_FILE.py)"
        )
    view = _View(solution, field)
    if domain.dim == 1:
        return _line_figure(view)
    if domain.is_time_dependent and domain.space_dim >= 2:
        return _times_figure(view)
    return _plane_figure(view)


def plot_solution(solution, path: str | Path, field: str | None = None) -> Path:
    """Draw one field of a :class:`~kanpde.Solution` (``field``: required when it has several) into one PNG;
    returns ``path``.

    1-D: ``u`` and the exact solution against ``x``, and the error beside. 2-D: heat maps of ``u``, the
    exact solution and ``|u - exact|`` on the evaluation grid (blank outside the domain); 3-D and beyond:
    the same on the slice through the middle of the other coordinates. Space-time over 1-D space: ``x``–``t``
    heat maps; over 2-D space: the fields at the first, middle and last time. Without an exact solution
    the truth is the problem's reference (interpolated linearly); without either only ``u`` is drawn.
    """
    return _save(solution_figure(solution, field), path)


# --------------------------------------------------------------------------------------------------
# Training history
# --------------------------------------------------------------------------------------------------

_NOT_LOSS_TERMS = {"step", "stage", "grid", "loss", "seconds", "evaluations", "relative_l2", "stopped"}
"""Record keys that are not loss parts (nor are the unknowns' ``unknown_<name>``)."""


def _series(history: Sequence[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    steps = [r["step"] for r in history if key in r]
    values = [r[key] for r in history if key in r]
    return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def _changes(history: Sequence[dict], key: str) -> list[tuple[float, object]]:
    """``(step, new value)`` where ``key`` changes between records, placed at the last step of the old value."""
    out = []
    for before, after in zip(history[:-1], history[1:], strict=True):
        if before.get(key) != after.get(key):
            out.append((before["step"], after.get(key)))
    return out


def _mark(ax, step: float, text: str, style: str, color: str, y: float) -> None:
    ax.axvline(step, linestyle=style, color=color, linewidth=0.9)
    ax.text(
        step,
        y,
        f" {text}",
        transform=ax.get_xaxis_transform(),
        rotation=90,
        va="top" if y > 0.5 else "bottom",
        ha="left",
        fontsize=7,
        color=color,
    )


def history_figure(history: Sequence[dict]) -> Figure:
    """The figure of :func:`plot_history`."""
    history = list(history)
    if not history:
        raise ValueError("the history is empty; nothing to plot (log at least one record)")
    if not all(isinstance(r, dict) and "step" in r and "loss" in r for r in history):
        raise ValueError(
            "history records must be dicts with at least 'step' and 'loss', as solve writes them"
        )
    terms = [
        k
        for k in history[0]
        if k not in _NOT_LOSS_TERMS
        and not k.startswith("unknown_")
        and isinstance(history[0][k], (int, float))
    ]
    has_error = any("relative_l2" in r for r in history)
    fig = _figure(11.0 if has_error else 6.0, 4.0)
    panels = [fig.add_subplot(1, 2 if has_error else 1, 1)]
    steps, loss = _series(history, "loss")
    panels[0].plot(steps, loss, color="k", linewidth=1.4, label="loss")
    for c, name in enumerate(terms):
        s, values = _series(history, name)
        panels[0].plot(s, values, linewidth=1, color=f"C{c}", label=name)
    panels[0].set_title("loss", fontsize=9)
    if has_error:
        panels.append(fig.add_subplot(1, 2, 2))
        s, values = _series(history, "relative_l2")
        panels[1].plot(s, values, color="C3", linewidth=1.2)
        panels[1].set_title("relative L2 error", fontsize=9)
    stopped = [(r["step"], r["loss"]) for r in history if r.get("stopped")]
    if stopped:
        panels[0].plot(*zip(*stopped, strict=True), "x", color="C3", label="stage stopped")
    for ax in panels:
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(True, which="major", color="0.92")
        if "stage" in history[0]:
            _mark_start(ax, history)
            for step, stage in _changes(history, "stage"):
                _mark(ax, step, str(stage), ":", "0.55", 0.02)
        if "grid" in history[0]:
            for step, grid in _changes(history, "grid"):
                _mark(ax, step, f"grid {grid}", "--", "C2", 0.98)
    panels[0].legend(fontsize=7)
    return fig


def _mark_start(ax, history: Sequence[dict]) -> None:
    first = history[0]
    label = str(first["stage"]) + (f", grid {first['grid']}" if first.get("grid") is not None else "")
    ax.text(0.01, 0.02, label, transform=ax.transAxes, fontsize=7, color="0.4", va="bottom")


def plot_history(history: Sequence[dict], path: str | Path) -> Path:
    """Draw a training history (``solution.history``) into one PNG; returns ``path``.

    Left: the loss and each of its terms against the step; right: the relative L2 error where it was
    logged; both on a log scale. Dashed lines mark grid extensions (the grid staircase), dotted lines
    stage changes, each labelled with the new grid or stage; crosses mark stages that stopped early.
    """
    return _save(history_figure(history), path)
