"""Refining a formula's constants against a PDE (or data), and snapping them to exact numbers.

With the formula's floating-point numbers as free constants ``θ`` (:func:`~kanpde.formula.expr.parametrize`)
the objective is the stacked residual ``r̃(θ)`` with ``|r̃|² = L``: the PDE loss of
:class:`~kanpde.loss.PINNLoss` (``r̃ = concat_t sqrt(w_t / N_t) r_t``, autograd derivatives of the formula)
or the mean squared error ``|f(x) - y|² / N`` on data. Its Jacobian ``∂r̃/∂θ`` is exact: every model call
gets its own per-point copy of ``θ`` (:class:`~kanpde.formula.FormulaModule`), so one backward pass per
residual column gives all rows. Levenberg-Marquardt (:func:`~kanpde.formula.lm.least_squares`) then:

1. fits all constants of the composed formula;
2. expands it (:func:`canonical`: numbers merged, phases of sines and cosines split off, then
   ``sympy.expand``: products of sums and powers distributed, ``exp(a + b) = exp(a) exp(b)``), which merges
   constants that were redundant in the composition, and fits again (kept unless the loss rises);
3. snaps: every constant near a simple number (:func:`~kanpde.formula.expr.nearest_simple`, 1% relative)
   or within ``1e-6`` of an exact number the formula already holds is tried there, and every cluster of
   constants equal within ``1e-6`` relative at their mean (sympy then collects the terms they share: nearly
   equal frequencies of terms that cancel become one), nearest first, the other constants refitted (until the loss is low enough, or falls by less than ``1e-4`` of
   itself per step); the snap is kept when the loss stays below
   ``(1 + snap_tol) · L + 1e-22 · L_0`` (``L_0`` the loss of ``f = 0``, so losses at round-off compare
   equal) and the formula has fewer constants than before (a tie that sympy cannot collect is no gain), and
   the pass repeats until no snap is kept (or 40 trials failed); a last fit polishes the constants left.

When the solution lies in the formula's family every constant ends exact and the error is round-off. The
formula is finally tidied for reading (``sympy.powsimp``; ``sympy.simplify`` when no float is left and the
expression is small), keeping the tidy form only when it evaluates with torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy
import torch
from torch import Tensor

from ..loss import PINNLoss, sample_collocation
from ..problem import Problem
from .checks import check_problem
from .expr import float_count, nearest_simple, parametrize
from .lm import least_squares
from .module import FormulaModule

if TYPE_CHECKING:
    from .formula import Formula

__all__ = ["refine"]

Fun = Callable[[Tensor], tuple[Tensor, Tensor]]

_POINTS = {1: (500, 2, 0), 2: (1000, 200, 200), 3: (2000, 600, 300)}
"""Default interior, boundary and initial point counts by domain dimension."""

SNAP_RADIUS = 1e-2
MAX_WIDE = 64  # constants the expanded form may have (it is skipped when larger and 3x the compact one)
TIE_RADIUS = 1e-6
SNAP_STEPS = 100
MAX_FAILED_SNAPS = 40  # trial snaps that may fail before snapping ends (bounds the time on a poor formula)
SNAP_FTOL = 1e-4  # a trial snap stops once its loss is low enough, or falls by less than this per step
FLOOR = 1e-22


def refine(
    formula: Formula,
    problem: Problem | None = None,
    *,
    data: tuple[Tensor, Tensor] | None = None,
    n_interior: int | None = None,
    n_boundary: int | None = None,
    n_initial: int | None = None,
    seed: int = 0,
    max_steps: int = 1000,
    snap: bool = True,
    snap_tol: float = 1e-2,
    expand: bool = True,
    device: str | torch.device = "cpu",
    stop: Callable[[], bool] | None = None,
) -> tuple[sympy.Expr, float]:
    """The expression of ``formula`` with its constants fitted to ``problem``'s PDE loss, or to
    ``data = (x, y)``, and snapped (module docstring), and the loss it reaches
    (:meth:`kanpde.Formula.refine` makes the refined formula of them). Point counts default by dimension (1-D 500 interior; 2-D 1000 interior, 200
    boundary, 200 initial; beyond 2000, 600, 300), drawn by Sobol from ``seed``: a formula with few constants
    needs few points, and its error is measured elsewhere. ``stop()`` returning ``True`` (a time budget) ends
    every fit and the snapping early: the formula as it stands then is returned."""
    if (problem is None) == (data is None):
        raise ValueError("refine takes a problem (its PDE loss) or data=(x, y), exactly one of them")
    if problem is not None:
        make, zero = _pde(formula, problem, (n_interior, n_boundary, n_initial), seed, torch.device(device))
    else:
        make, zero = _data(formula, data)
    floor = FLOOR * zero

    def fit(expr: sympy.Expr, steps: int = max_steps, ftol: float = 1e-14, target: float = 0.0):
        return _fit(formula, expr, make, steps, ftol, target, stop)

    expr, loss = fit(formula.expr)
    if not math.isfinite(loss):
        raise ValueError(
            f"the formula {formula.expr} is not finite at the refinement points; it cannot be refined"
        )
    if expand and not (stop is not None and stop()):
        wide = canonical(expr)
        if wide != expr and float_count(wide) <= max(MAX_WIDE, 3 * float_count(expr)):
            wide, wide_loss = fit(wide)
            if wide_loss <= loss * (1 + snap_tol) + floor:
                expr, loss = wide, wide_loss
    if snap:
        expr, loss = _snap(expr, loss, fit, floor, snap_tol, stop)
        expr, loss = fit(expr)
    return _tidy(expr, formula), loss


def _module(formula: Formula, expr: sympy.Expr, params, theta: Tensor) -> FormulaModule:
    return FormulaModule(expr, formula.symbols, params, theta, formula.functions)


def _fit(
    formula: Formula,
    expr: sympy.Expr,
    make,
    steps: int,
    ftol: float = 1e-14,
    target: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> tuple[sympy.Expr, float]:
    """All floats of ``expr`` fitted by Levenberg-Marquardt; the expression with the fitted values and the loss."""
    p_expr, params, values = parametrize(merge_numbers(expr))
    module = _module(formula, p_expr, params, torch.tensor(values, dtype=torch.float64))
    theta, cost = least_squares(
        make(module), module.theta, max_steps=steps, ftol=ftol, target=target, stop=stop
    )
    fitted = p_expr.xreplace({s: sympy.Float(v) for s, v in zip(params, theta.tolist(), strict=True)})
    return fitted, cost


def merge_numbers(expr: sympy.Expr) -> sympy.Expr:
    """The numbers of a product (a sum) that include a float become one float, e.g. ``0.3183·π²·y² -> 3.1416·y²``:
    the constant to refine and snap is their value, not one factor of it."""
    if not expr.args:
        return expr
    args = [merge_numbers(a) for a in expr.args]
    if expr.is_Mul or expr.is_Add:
        numbers = [a for a in args if a.is_number]
        if len(numbers) > 1 and any(isinstance(a, sympy.Float) for a in numbers):
            rest = [a for a in args if not a.is_number]
            return expr.func(sympy.Float(float(expr.func(*numbers))), *rest)
    return expr.func(*args)


def split_phases(expr: sympy.Expr) -> sympy.Expr:
    """``sin(u + c) = sin(u) cos(c) + cos(u) sin(c)`` and ``cos(u + c) = cos(u) cos(c) - sin(u) sin(c)`` for
    numbers ``c``: a phase becomes two coefficients, so sums of shifted sinusoids of one argument collect
    into one sine and one cosine (unique constants where the phases were a continuum of equal fits)."""
    if not expr.args:
        return expr
    node = expr.func(*(split_phases(a) for a in expr.args))
    if isinstance(node, (sympy.sin, sympy.cos)) and node.args[0].is_Add:
        c = sympy.Add(*(a for a in node.args[0].args if a.is_number))
        u = node.args[0] - c
        if c != 0 and u.free_symbols:
            if isinstance(node, sympy.sin):
                return sympy.sin(u) * sympy.cos(c) + sympy.cos(u) * sympy.sin(c)
            return sympy.cos(u) * sympy.cos(c) - sympy.sin(u) * sympy.sin(c)
    return node


def canonical(expr: sympy.Expr) -> sympy.Expr:
    """The expanded form refinement continues from: expanded (``sympy.expand``, function arguments too), numbers
    merged, phases split off, expanded and merged again."""
    wide = merge_numbers(sympy.expand(merge_numbers(expr)))
    return merge_numbers(sympy.expand(split_phases(wide)))


def _snap(
    expr: sympy.Expr, loss: float, fit, floor: float, snap_tol: float, stop: Callable[[], bool] | None = None
) -> tuple[sympy.Expr, float]:
    """Snap constants one at a time, nearest first, while the loss allows it: to a simple number, or to another
    constant of the formula (equal within ``TIE_RADIUS``), which lets sympy collect the terms they share."""
    failures, budget = 0, min(2 * float_count(expr) + 4, MAX_FAILED_SNAPS)
    while True:
        p_expr, params, values = parametrize(merge_numbers(expr))
        for _, changes in _snap_candidates(p_expr, params, values):
            if stop is not None and stop():
                return expr, loss
            fixed = {s: sympy.Float(v) for s, v in zip(params, values, strict=True)}
            fixed.update(changes)
            limit = loss * (1 + snap_tol) + floor
            candidate, new = fit(p_expr.xreplace(fixed), SNAP_STEPS, SNAP_FTOL, limit)
            if new <= limit and float_count(candidate) < len(params):  # kept when it removed a constant
                expr, loss = candidate, new
                break
            failures += 1
            if failures > budget:
                return expr, loss
        else:
            return expr, loss


def _snap_candidates(expr: sympy.Expr, params: list, values: list[float]) -> list[tuple[float, dict]]:
    """``(distance, substitution)`` pairs, nearest first: each constant at its nearest simple number or at an
    exact number the formula already holds (``10·π/9`` from an earlier snap), and each cluster of constants
    equal within ``TIE_RADIUS`` (not near a simple number) at its mean."""
    out = []
    known = _exact_numbers(expr)
    for k, v in enumerate(values):
        near = nearest_simple(v, SNAP_RADIUS)
        if near is not None:
            out.append((near[1], {params[k]: near[0]}))
        for e, value in known:
            d = abs(v - value) / abs(value)
            if d <= TIE_RADIUS and (near is None or near[0] != e):
                out.append((d, {params[k]: e}))
    order = sorted(range(len(values)), key=lambda k: values[k])
    group: list[int] = []
    for k in [*order, None]:
        if k is not None and group and _gap(values[group[-1]], values[k]) <= TIE_RADIUS:
            group.append(k)
            continue
        if len(group) > 1 and nearest_simple(values[group[0]], SNAP_RADIUS) is None:
            mean = sympy.Float(sum(values[g] for g in group) / len(group))
            out.append((_gap(values[group[0]], values[group[-1]]), {params[g]: mean for g in group}))
        group = [k] if k is not None else []
    return sorted(out, key=lambda t: t[0])


def _gap(v: float, w: float) -> float:
    return abs(v - w) / max(abs(v), abs(w), 1e-300)


def _exact_numbers(expr: sympy.Expr) -> list[tuple[sympy.Expr, float]]:
    """Exact non-zero numbers of ``expr`` other than ±1: number atoms and the exact numeric factors of products."""
    found = set()
    for node in sympy.preorder_traversal(expr):
        if node.is_Mul:
            numbers = [a for a in node.args if a.is_number and not a.has(sympy.Float)]
            if numbers:
                found.add(sympy.Mul(*numbers))
        elif node.is_number and not node.has(sympy.Float):
            found.add(node)
    return [(e, float(e)) for e in found if e.is_real and e not in (0, 1, -1) and math.isfinite(float(e))]


def _tidy(expr: sympy.Expr, formula: Formula) -> sympy.Expr:
    """A form for reading: exponentials combined; simplified when exact and small; kept only if it evaluates."""
    out = sympy.powsimp(expr)
    if float_count(out) == 0 and sympy.count_ops(out) <= 80:
        simpler = sympy.simplify(out)
        out = simpler if sympy.count_ops(simpler) <= sympy.count_ops(out) else out
    probe = torch.linspace(0.1, 0.9, 7, dtype=torch.float64)[:, None].expand(7, len(formula.names))  # (7, d)
    try:
        _module(formula, out, (), torch.zeros(0, dtype=torch.float64))(probe.contiguous())
    except ValueError:
        return expr
    return out


def _stacked(module: FormulaModule, terms) -> tuple[Tensor, Tensor]:
    """``r̃`` ``(M,)`` and ``∂r̃/∂θ`` ``(M, K)`` from ``terms``: (residual function of the module, scale) pairs,
    each residual ``(N_t, C_t)`` with row ``n`` depending on point ``n`` of every model call only."""
    rows, jacobians = [], []
    k = module.theta.shape[0]
    with torch.enable_grad():
        for residual, scale in terms:
            module.per_point, module.leaves = True, []
            r = residual(module)  # (N_t, C_t)
            leaves, module.per_point, module.leaves = module.leaves, False, []
            bad = [tuple(leaf.shape) for leaf in leaves if leaf.shape[0] != r.shape[0]]
            if bad:
                raise ValueError(
                    f"refine needs residuals whose row n depends on point n only; a term of {r.shape[0]} rows "
                    f"evaluated the formula at {bad[0][0]} points"
                )
            for c in range(r.shape[1]):
                jac = r.new_zeros(r.shape[0], k)  # (N_t, K)
                if k == 0 or not r.requires_grad:  # no constant left to differentiate by
                    rows.append(scale * r[:, c].detach())
                    jacobians.append(jac)
                    continue
                grads = torch.autograd.grad(r[:, c].sum(), leaves, retain_graph=True, allow_unused=True)
                for g in grads:
                    jac = jac if g is None else jac + g
                rows.append(scale * r[:, c].detach())
                jacobians.append(scale * jac)
    return torch.cat(rows), torch.cat(jacobians)


def _pde(formula: Formula, problem: Problem, counts, seed: int, device) -> tuple[Callable, float]:
    if not isinstance(problem, Problem):
        raise TypeError(f"refine takes a kanpde.Problem, got {type(problem).__name__}")
    check_problem(problem)
    if tuple(problem.domain.names) != formula.names:
        raise ValueError(
            f"the formula's coordinates {', '.join(formula.names)} are not the problem's "
            f"{', '.join(problem.domain.names)}"
        )
    defaults = _POINTS[min(problem.domain.dim, 3)]
    n = [c if c is not None else dflt for c, dflt in zip(counts, defaults, strict=True)]
    points = sample_collocation(problem, n[0], n[1], n[2] or 1, "sobol", seed, torch.float64, device)
    loss = PINNLoss(problem, points, "autograd")
    scales = [math.sqrt(w / c) for w, c in zip(loss.weights, loss.counts, strict=True)]

    def make(module: FormulaModule) -> Fun:
        terms = [(lambda m, t=t: loss.term_residual(m, t), s) for t, s in enumerate(scales)]

        def fun(theta: Tensor) -> tuple[Tensor, Tensor]:
            module.theta = theta
            return _stacked(module, terms)

        return fun

    zero = _module(formula, sympy.Integer(0), (), torch.zeros(0, dtype=torch.float64))
    r0, _ = make(zero)(zero.theta)
    return make, float(r0 @ r0)


def _data(formula: Formula, data) -> tuple[Callable, float]:
    if not (isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, Tensor) for t in data)):
        raise TypeError("data must be a pair of tensors (x, y): x of shape (N, d), y of shape (N,)")
    x, y = data
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if x.ndim != 2 or x.shape[1] != len(formula.names) or y.shape != (x.shape[0],):
        raise ValueError(
            f"data must be x (N, {len(formula.names)}) and y (N,); got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    scale = 1 / math.sqrt(x.shape[0])
    target = y[:, None]  # (N, 1)

    def make(module: FormulaModule) -> Fun:
        def fun(theta: Tensor) -> tuple[Tensor, Tensor]:
            module.theta = theta
            return _stacked(module, [(lambda m: m(x) - target, scale)])

        return fun

    return make, float(y @ y) / x.shape[0]
