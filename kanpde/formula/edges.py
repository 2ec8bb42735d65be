"""Fitting one KAN edge to a library function: ``phi(v) ≈ c · g(a · v + b) + d``.

For a function ``g`` the inputs are first mapped to ``z = (v - m) / s ∈ [-1, 1]`` (``m``, ``s`` the centre
and half-width of the samples). For fixed ``(α, β)`` the best ``(c, d)`` are a linear least-squares fit, and
its quality is the squared correlation of ``g(α z + β)`` with ``phi``; ``(α, β)`` are searched on a
``grid × grid`` lattice over ``[-span, span]²``, zooming ``zooms`` times onto the best cell, then
``(a, b, c, d)`` are polished together by Levenberg-Marquardt on all samples. ``g = 0`` and ``g(u) = u`` are
fitted in closed form.

**Selection rule.** With the fit error ``e = sqrt(1 - R²) = |residual| / |phi - mean(phi)|``, the chosen
function minimises ``log10(max(e, 1e-12)) + complexity / 2``: one unit of complexity must buy a
``sqrt(10)``-fold smaller error; ties go to the simpler function. ``0`` is kept for edges that are constant on the samples
(``d`` their value): an edge that varies carries information even when no function fits it well, and
:func:`~kanpde.formula.symbolic` turns negligible edges into constants by their score instead.

**Sums of two.** An edge whose best single fit errs by more than ``PAIR_ERROR`` (1e-2) is also tried as
``c · g(a v + b) + c2 · g2(a2 v + b2) + d``, as if it were two parallel edges (a one-input KAN often carries a
sum such as ``sin(2 pi x) + x / 2`` on one edge): ``g`` is the best single function, ``g2`` each of the three
best fits to its residual, then all constants are polished together; the complexity is the sum, and the pair
is kept when its score is lower.

**Snapping.** Then ``b``, ``a``, ``c``, ``d`` in turn are snapped to the nearest simple number (0, ``p/q``
or ``p/q · π`` with ``q ≤ 4``, within 1% relative; :func:`~kanpde.formula.expr.nearest_simple`) when the
fit error, after refitting the constants still free, grows by at most ``snap_tol`` (10%) of itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy
import torch
from torch import Tensor

from .expr import nearest_simple
from .library import Primitive, resolve_library
from .lm import least_squares

__all__ = ["EdgeFit", "fit_edge", "ERROR_FLOOR"]

ERROR_FLOOR = 1e-12
"""Fit errors below this count as equal in the selection rule."""

COMPLEXITY_WEIGHT = 0.5
"""Decades of fit error one unit of complexity is worth in the selection rule."""

SNAP_RADIUS = 1e-2
"""Relative distance within which a constant is tried at a simple number."""

PAIR_ERROR = 1e-2
"""An edge whose best single fit errs by more is also tried as the sum of two library functions (a KAN edge
that is one library function with fitting noise stays well below it)."""

_NAMES = ("a", "b", "c", "d")
_SECOND = ("a2", "b2", "c2")


@dataclass(frozen=True)
class EdgeFit:
    """An edge matched to ``c · g(a · v + b) + d``: the function's name, the constants (exact sympy numbers
    where snapped, floats otherwise), ``R²`` on the samples and the complexity. ``layer``, ``i`` (input node)
    and ``j`` (output node) say which edge it is. An edge fitted as a sum of two functions also holds the
    second, ``+ c2 · g2(a2 · v + b2)`` (``function2`` its name; the complexity is the sum)."""

    function: str
    a: sympy.Expr
    b: sympy.Expr
    c: sympy.Expr
    d: sympy.Expr
    r2: float
    complexity: float
    layer: int = 0
    i: int = 0
    j: int = 0
    function2: str | None = None
    a2: sympy.Expr | None = None
    b2: sympy.Expr | None = None
    c2: sympy.Expr | None = None

    def expr(self, v: sympy.Expr, library: Mapping[str, Primitive]) -> sympy.Expr:
        """``c · g(a · v + b) + d`` (plus the second function's term) as a sympy expression of ``v``."""
        for name in (self.function, self.function2):
            if name is not None and name not in library:
                raise ValueError(f"edge function {name!r} is not in the library; known: {', '.join(library)}")
        out = self.c * library[self.function].sympy(self.a * v + self.b) + self.d
        if self.function2 is not None:
            out = out + self.c2 * library[self.function2].sympy(self.a2 * v + self.b2)
        return out

    @property
    def constants(self) -> tuple[float, float, float, float]:
        """``(a, b, c, d)`` as floats."""
        return tuple(float(getattr(self, n)) for n in _NAMES)


@dataclass
class _Fit:
    """A candidate during fitting: constants (floats or exact numbers), which are free, and the error."""

    values: dict[str, float]
    exact: dict[str, sympy.Expr]
    error: float


def fit_edge(
    v: Tensor,
    y: Tensor,
    library: Mapping | None = None,
    *,
    snap: bool = True,
    snap_tol: float = 0.1,
    pairs: bool = True,
    grid: int = 41,
    span: float = 10.0,
    zooms: int = 3,
) -> EdgeFit:
    """Match samples ``y = phi(v)`` (both ``(S,)``) to the best library function (module docstring); with
    ``pairs``, an edge no function fits within ``PAIR_ERROR`` may become the sum of two."""
    lib = resolve_library(library)
    if v.ndim != 1 or v.shape != y.shape or v.shape[0] < 4:
        raise ValueError(
            f"fit_edge takes samples v and y of equal shape (S,), S >= 4; got {tuple(v.shape)}, {tuple(y.shape)}"
        )
    scale = float((y - y.mean()).norm())
    if scale <= 1e-14 * (float(y.abs().max()) + 1e-300) * math.sqrt(y.shape[0]):
        return _constant_edge(y, lib)
    fits = {
        name: _fit_function(v, y, prim, grid, span, zooms)
        for name, prim in lib.items()
        if prim.kind != "zero"
    }
    if not fits:  # a library of 0 alone
        return _constant_edge(y, lib)
    name = min(fits, key=lambda n: (_score(fits[n].error, lib[n].complexity), lib[n].complexity))
    names, fit = (name,), fits[name]
    if pairs and fit.error > PAIR_ERROR:
        names, fit = _best_pair(v, y, lib, name, fit, grid, span, zooms)
    prims = [lib[n] for n in names]
    if snap:
        fit = _snap(v, y, prims, fit, snap_tol)
    numbers = {k: fit.exact.get(k, sympy.Float(fit.values[k])) for k in _keys(len(names))}
    return EdgeFit(
        names[0],
        **numbers,
        r2=1.0 - min(fit.error, 1.0) ** 2,
        complexity=sum(p.complexity for p in prims),
        function2=names[1] if len(names) == 2 else None,
    )


def _keys(terms: int) -> tuple[str, ...]:
    return _NAMES + (_SECOND if terms == 2 else ())


def _best_pair(v: Tensor, y: Tensor, lib, first: str, fit: _Fit, grid: int, span: float, zooms: int):
    """The single fit, or the sum of it and a second function when that scores better: the second is fitted
    to the residual of the first (the three best candidates), then both are polished together."""
    residual = y - _evaluate(v, [lib[first]], fit.values)
    seconds = {
        n: _fit_function(v, residual, p, grid, span, zooms) for n, p in lib.items() if p.kind != "zero"
    }
    ranked = sorted(seconds, key=lambda n: _score(seconds[n].error, lib[n].complexity))[:3]
    best = ((first,), fit, _score(fit.error, lib[first].complexity))
    for name in ranked:
        other = seconds[name].values
        start = dict(fit.values, a2=other["a"], b2=other["b"], c2=other["c"], d=fit.values["d"] + other["d"])
        fixed = {"a2": sympy.Integer(1), "b2": sympy.Integer(0)} if lib[name].kind == "identity" else {}
        start.update({k: float(u) for k, u in fixed.items()})
        joint = _polish(v, y, [lib[first], lib[name]], start, fixed, solve_linear=False)
        score = _score(joint.error, lib[first].complexity + lib[name].complexity)
        if score < best[2]:
            best = ((first, name), joint, score)
    return best[0], best[1]


def _evaluate(v: Tensor, prims, values: dict[str, float]) -> Tensor:
    """``sum_k c_k g_k(a_k v + b_k) + d``."""
    out = torch.full_like(v, values["d"])
    for prim, (a, b, c) in zip(prims, (("a", "b", "c"), _SECOND), strict=False):
        out = out + values[c] * prim.torch(values[a] * v + values[b])
    return out


def _score(error: float, complexity: float) -> float:
    return (
        math.log10(max(error, ERROR_FLOOR)) + COMPLEXITY_WEIGHT * complexity
        if math.isfinite(error)
        else math.inf
    )


def _constant_edge(y: Tensor, lib: dict[str, Primitive]) -> EdgeFit:
    """A constant edge: ``0`` (or the simplest function, with ``c = 0``) plus its value."""
    name = "0" if "0" in lib else min(lib, key=lambda n: lib[n].complexity)
    d = float(y.mean())
    near = nearest_simple(d, 1e-12)
    one, zero = sympy.Integer(1), sympy.Integer(0)
    return EdgeFit(name, one, zero, zero, near[0] if near else sympy.Float(d), 1.0, lib[name].complexity)


def _fit_function(v: Tensor, y: Tensor, prim: Primitive, grid: int, span: float, zooms: int) -> _Fit:
    """The best ``c · g(a v + b) + d`` for one function."""
    kind = prim.kind
    failed = _Fit({"a": 1.0, "b": 0.0, "c": 0.0, "d": float(y.mean())}, {}, math.inf)
    if kind == "zero":
        return _Fit(dict(failed.values), {}, 1.0)
    if kind == "identity":
        start = {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0}
        return _polish(v, y, prim, start, {"a": sympy.Integer(1), "b": sympy.Integer(0)})
    m = float(v.max() + v.min()) / 2
    s = max(float(v.max() - v.min()) / 2, 1e-12)
    fits = [
        _polish(v, y, prim, {"a": alpha / s, "b": beta - alpha * m / s, "c": 0.0, "d": 0.0}, {})
        for alpha, beta in _search((v - m) / s, y, prim, grid, span, zooms)
    ]
    return min(fits, key=lambda f: f.error, default=failed)


def _correlation(z: Tensor, y: Tensor, prim: Primitive, alpha: Tensor, beta: Tensor) -> Tensor:
    """Squared correlation of ``g(α z + β)`` with ``y`` on the lattice ``alpha × beta``; -1 where ``g`` is not
    finite or constant."""
    yc = y - y.mean()
    g = prim.torch(alpha[:, None, None] * z + beta[None, :, None])  # (A, B, S)
    gc = g - g.mean(-1, keepdim=True)
    corr = (gc @ yc) / (gc.norm(dim=-1) * yc.norm())  # (A, B); NaN where g is not finite or constant
    return torch.where(torch.isfinite(corr), corr.square(), torch.full_like(corr, -1.0))


def _search(
    z: Tensor,
    y: Tensor,
    prim: Primitive,
    grid: int,
    span: float,
    zooms: int,
    starts: int = 3,
    sample: int = 200,
) -> list[tuple[float, float]]:
    """Starting points ``(α, β)`` for the polish: the ``starts`` best cells of a ``grid × grid`` lattice over
    ``[-span, span]²`` that are not next to a better one, each refined by ``zooms - 1`` zooms on an 11 × 11
    lattice of its neighbourhood; after the best cell, cells whose squared correlation is below 0.9 are dropped."""
    if z.shape[0] > sample:  # the search needs the shape of phi, not every sample
        pick = torch.argsort(z)[torch.linspace(0, z.shape[0] - 1, sample, device=z.device).round().long()]
        z, y = z[pick], y[pick]
    axis = torch.linspace(-span, span, grid, dtype=z.dtype, device=z.device)
    score = _correlation(z, y, prim, axis, axis)  # (grid, grid)
    peak = torch.nn.functional.max_pool2d(score[None, None], 3, stride=1, padding=1)[0, 0]
    flat = torch.where(score >= peak, score, torch.full_like(score, -1.0)).view(-1)
    step = 2 * span / (grid - 1)
    out = []
    for k in flat.argsort(descending=True)[:starts].tolist():
        if float(flat[k]) < (0.9 if out else 0.0):  # the best cell always; others when they correlate well
            break
        best, width = (float(axis[k // grid]), float(axis[k % grid])), step
        for _ in range(zooms - 1):
            offsets = torch.linspace(-width, width, 11, dtype=z.dtype, device=z.device)
            local = _correlation(z, y, prim, best[0] + offsets, best[1] + offsets)  # (11, 11)
            i = int(local.argmax())
            best, width = (best[0] + float(offsets[i // 11]), best[1] + float(offsets[i % 11])), width / 5
        out.append(best)
    return out


def _polish(
    v: Tensor,
    y: Tensor,
    prims,
    start: dict[str, float],
    exact: dict[str, sympy.Expr],
    solve_linear: bool = True,
) -> _Fit:
    """Levenberg-Marquardt on the constants of ``sum_k c_k g_k(a_k v + b_k) + d`` not in ``exact``, from
    ``start`` (with ``solve_linear`` the ``c_k`` and ``d`` are first found by linear least squares)."""
    prims = [prims] if isinstance(prims, Primitive) else list(prims)
    keys = _keys(len(prims))
    terms = list(zip(prims, (("a", "b", "c"), _SECOND), strict=False))
    values = {k: float(exact[k]) if k in exact else start[k] for k in keys}
    norm = float((y - y.mean()).norm())
    if solve_linear and not any(t[1][2] in exact for t in terms) and "d" not in exact:
        g = torch.stack(
            [p.torch(values[a] * v + values[b]) for p, (a, b, _) in terms] + [torch.ones_like(v)], 1
        )
        if bool(torch.isfinite(g).all()):
            coef = torch.linalg.lstsq(g, y[:, None]).solution[:, 0]  # (K + 1,)
            values.update(zip([t[1][2] for t in terms] + ["d"], coef.tolist(), strict=True))
    free = [k for k in keys if k not in exact]

    def fun(theta: Tensor) -> tuple[Tensor, Tensor]:
        p = dict(values)
        p.update(zip(free, theta.unbind(), strict=True))
        out, columns = torch.full_like(v, 0.0) + p["d"], {"d": torch.ones_like(v)}
        for prim, (a, b, c) in terms:
            arg = (p[a] * v + p[b]).detach().requires_grad_(True)
            with torch.enable_grad():
                gv = prim.torch(arg)
                dg = torch.autograd.grad(gv.sum(), arg, allow_unused=True)[0]
            gv = gv.detach()
            dg = torch.zeros_like(gv) if dg is None else dg
            columns.update({a: p[c] * dg * v, b: p[c] * dg, c: gv})
            out = out + p[c] * gv
        r = (out - y) / norm
        jac = torch.stack([columns[k] for k in free], dim=1) / norm if free else r[:, None][:, :0]  # (S, K)
        return r, jac

    theta0 = torch.tensor([values[k] for k in free], dtype=v.dtype, device=v.device)
    theta, cost = least_squares(fun, theta0, max_steps=50, ftol=1e-8)
    values.update(zip(free, theta.tolist(), strict=True))
    return _Fit(values, dict(exact), math.sqrt(cost) if math.isfinite(cost) else math.inf)


def _snap(v: Tensor, y: Tensor, prims, fit: _Fit, snap_tol: float) -> _Fit:
    """Snap ``b``, ``a``, ``c`` (then the second function's) and ``d`` in turn where the fit error grows by at
    most ``snap_tol``."""
    order = ("b", "a", "c") + (("b2", "a2", "c2") if len(prims) == 2 else ()) + ("d",)
    for name in order:
        if name in fit.exact:
            continue
        near = nearest_simple(fit.values[name], SNAP_RADIUS)
        if near is None:
            continue
        trial = _polish(v, y, prims, fit.values, {**fit.exact, name: near[0]})
        if trial.error <= fit.error * (1 + snap_tol) + 1e-14:
            fit = trial
    return fit
