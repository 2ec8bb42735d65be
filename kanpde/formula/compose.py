"""The formula of a whole KAN: fit every edge, then compose the edges as the network does.

Layer ``l`` maps node values ``h_i`` to ``h'_j = bias_j + sum_i (c_ji · g_ji(a_ji · h_i + b_ji) + d_ji)``; the
first layer's edges are fitted as functions of the physical coordinates (the input map is affine), the
others of the hidden activations at the sample points. sympy then simplifies the composition (numbers
times sums are distributed, equal terms collected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import sympy
import torch
from torch import Tensor

from ..kan import KAN
from .checks import FormulaBudgetError, check_symbolic
from .edges import fit_edge
from .formula import Formula
from .library import resolve_library

__all__ = ["symbolic", "edge_count"]


def edge_count(model: KAN) -> int:
    """Edges of a KAN: ``sum_l width_l · width_(l+1)``."""
    return sum(a * b for a, b in zip(model.width[:-1], model.width[1:], strict=True))


N_POINTS = 1000
"""Sample points drawn from a solution's domain when none are given."""


def symbolic(
    source,
    x: Tensor | None = None,
    *,
    library: Mapping | Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    threshold: float = 0.0,
    linearize: float = 0.1,
    snap: bool = True,
    stop: Callable[[], bool] | None = None,
) -> Formula:
    """The formula of a KAN (or of a :class:`~kanpde.Solution` of one): every edge fitted to
    ``c · g(a · v + b) + d`` (:func:`~kanpde.formula.fit_edge`), then composed.

    **Small inputs enter to first order.** A hidden node ``h = h_0 + e`` where some incoming edges ``e``
    make up less than ``linearize`` of the node's activation scale (the sum of its incoming edges' standard
    deviations) only probes the next edges near ``h_0``: the formula writes them ``ψ(h_0) + e ψ'(h_0)``
    (``e`` taken about its mean). A KAN often multiplies this way (``ψ(g(y) + ε s(x)) - ψ(g(y) - ε s(x)) ≈
    2 ε s(x) ψ'(g(y))``), and the product, not the difference of two nearby terms, is what can be exact;
    ``linearize=0`` composes the edges as they are.

    Args:
        source: a :class:`~kanpde.KAN`, or a solution whose model is one.
        x: sample points ``(N, d)``; for a solution, default 1000 Sobol points of its domain.
        library: the functions to choose from (:func:`~kanpde.formula.library.resolve_library`).
        names: coordinate names; default the solution's problem's, else ``x1, x2, ...``.
        threshold: edges whose score (:meth:`KAN.edge_scores`) is below it count as constants (their mean).
        linearize: the share below which a node's input enters the next edges to first order (above).
        snap: snap edge constants to simple numbers (:mod:`kanpde.formula.edges`).
        stop: checked before every edge; once it returns ``True`` the fitting ends with
            :class:`~kanpde.formula.checks.FormulaBudgetError` (``kp.FormulaBudget`` sets it).
    """
    model, x, names = _resolve(source, x, names)
    lib = resolve_library(library)
    if model.width[-1] != 1:
        raise ValueError(f"symbolic needs a KAN with one output, got width {model.width}")
    for name, value in (("threshold", threshold), ("linearize", linearize)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    with torch.no_grad():
        acts = model.activations(x)
        scores = model.edge_scores(x) if threshold > 0 else None
        values = [
            layer.edge_functions(v) for layer, v in zip(model.layers, acts, strict=True)
        ]  # (N, n_in, n_out)
    nodes: list[tuple[sympy.Expr, sympy.Expr | None]] = [(sympy.Symbol(n), None) for n in names]
    edges = []
    for l, layer in enumerate(model.layers):
        inputs = x if l == 0 else acts[l]  # the first layer's edges as functions of the coordinates
        terms = [[None] * layer.n_out for _ in range(layer.n_in)]
        for i in range(layer.n_in):
            for j in range(layer.n_out):
                if stop is not None and stop():
                    raise FormulaBudgetError(
                        f"the time budget ran out after {len(edges)} of {edge_count(model)} edge fits"
                    )
                y = values[l][:, i, j]
                if scores is not None and float(scores[l][i, j]) < threshold:
                    y = torch.full_like(y, float(y.mean()))
                fit = fit_edge(inputs[:, i], y, lib, snap=snap)
                edges.append(replace(fit, layer=l, i=i, j=j))
                terms[i][j] = _applied(fit, nodes[i], lib)
        hidden = l < len(model.layers) - 1
        nodes = [_node(layer, values[l], terms, j, linearize if hidden else 0.0) for j in range(layer.n_out)]
    return Formula(nodes[0][0], names, edges, lib)


def _applied(fit, node: tuple[sympy.Expr, sympy.Expr | None], lib) -> sympy.Expr:
    """The edge at its input node: ``E(h)``, or ``E(h_0) + e E'(h_0)`` for a node ``h_0 + e``."""
    v = sympy.Dummy("v")
    main, small = node
    edge = fit.expr(v, lib)
    if small is None:
        return edge.xreplace({v: main})
    return edge.xreplace({v: main}) + small * sympy.diff(edge, v).xreplace({v: main})


def _node(layer, values: Tensor, terms, j: int, linearize: float) -> tuple[sympy.Expr, sympy.Expr | None]:
    """Output node ``j`` as ``(h_0, e)``: the incoming edges whose share of the node's activation scale is
    below ``linearize`` form ``e`` (about its mean, which goes to ``h_0``); ``e`` is ``None`` when there are none."""
    scale = values[:, :, j].std(0, correction=0)  # (n_in,)
    total = float(scale.sum())
    small = [i for i in range(layer.n_in) if total > 0 and float(scale[i]) < linearize * total]
    if len(small) == layer.n_in:
        small = []
    main = _number(float(layer.bias[j].detach()))
    for i in range(layer.n_in):
        main = main + (_number(float(values[:, i, j].mean())) if i in small else terms[i][j])
    if not small:
        return main, None
    mean = sum(float(values[:, i, j].mean()) for i in small)
    return main, sum(terms[i][j] for i in small) - _number(mean)


def _resolve(source, x: Tensor | None, names: Sequence[str] | None) -> tuple[KAN, Tensor, tuple[str, ...]]:
    problem = None
    if not isinstance(source, KAN) and hasattr(source, "problem") and hasattr(source, "model"):  # a Solution
        check_symbolic(source.problem, source.model)
        problem, source = source.problem, source.model
    if not isinstance(source, KAN):
        raise TypeError(
            f"symbolic needs a kanpde.KAN or a Solution of one (edges to fit), got {type(source).__name__}"
        )
    p = next(source.parameters())
    if x is None:
        if problem is None:
            raise ValueError("symbolic needs sample points x (N, d): pass symbolic(model, x)")
        x = problem.domain.sample_interior(N_POINTS, sampler="sobol", seed=0, dtype=p.dtype, device=p.device)
    source.check_input(x)
    if names is None:
        names = problem.domain.names if problem is not None else [f"x{a + 1}" for a in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise ValueError(f"names {list(names)} must name the {x.shape[1]} input columns")
    return source, x, tuple(names)


def _number(value: float) -> sympy.Expr:
    return sympy.Integer(0) if value == 0.0 else sympy.Float(value)
