"""Finding the formula of a solution within a budget: fit the network, or a pruned or narrow one, then refine.

:func:`find_formula` (``sol.formula()``, ``kanpde symbolic``) works in bounded time and says what it does on
one line per phase (stderr):

1. **Small enough**: a KAN of at most ``budget.max_edges`` edges is fitted as it is (:func:`symbolic`), then
   refined against the PDE (:meth:`Formula.refine`).
2. **Pruned**: a wider one is pruned (:meth:`KAN.prune`, ``threshold`` 1e-2); when that leaves at most
   ``max_edges`` edges and the pruned network still equals the trained one (relative L2 at most
   ``MATCH``), the pruned network is fitted.
3. **Narrowed**: otherwise a KAN trained without sparsity has spread its solution over all its nodes, and
   a narrow KAN ``[d, w, 1]`` is trained on the PDE instead (:func:`~kanpde.formula.narrow.train_narrow`),
   for ``w = 1, 2, ...`` up to ``budget.max_width``, ``budget.seeds`` initialisations each: a narrow network
   that reproduces the trained one (relative L2 at most ``MATCH``) is fitted and refined, and the first
   formula with no floating-point constant left that reproduces the trained network is returned at once.
   A narrow network that does not reproduce it (too narrow, or a poor start) costs its training only.

**The budget** (:class:`FormulaBudget`) bounds the wall time of the whole search (``seconds``); every loop
checks it. When it runs out the best formula found so far is returned with a ``RuntimeWarning``
saying what was left undone; when no formula was found yet, :class:`FormulaBudgetError` says what to do
(a narrower or sparser KAN, or more time). The trained network is the yardstick throughout: a formula is
measured against it, so a problem without an exact solution is searched the same way.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from .._checks import check_count
from ..kan import KAN
from ..metrics import relative_l2
from ..problem import Problem
from .checks import FormulaBudgetError, check_symbolic
from .compose import edge_count, symbolic
from .expr import float_count
from .formula import Formula
from .narrow import train_narrow

__all__ = ["FormulaBudget", "FormulaBudgetError", "find_formula", "MATCH"]

MATCH = 1e-2
"""Relative L2 distance to the trained network within which a smaller network or a formula reproduces it."""

PRUNE_THRESHOLD = 1e-2
"""Edge score below which :meth:`KAN.prune` removes an edge in step 2."""

ROUGH_EDGE = 1e-3
"""An edge of a narrow network whose best fit leaves more than this share of its variance (``1 - R²``)
unexplained marks a representation no library formula holds; that seed is skipped before refinement."""


@dataclass(frozen=True, kw_only=True)
class FormulaBudget:
    """Bounds of a formula search (:func:`find_formula`).

    ``seconds``: wall time of the whole search; ``max_edges``: a KAN with more edges (after pruning) is not
    fitted edge by edge, but narrowed; ``max_width``: the widest narrow KAN ``[d, w, 1]`` tried; ``seeds``:
    the initialisations tried per width.
    """

    seconds: float = 120.0
    max_edges: int = 12
    max_width: int = 3
    seeds: int = 3

    def __post_init__(self) -> None:
        s = self.seconds
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not (s > 0 and math.isfinite(s)):
            raise ValueError(f"FormulaBudget seconds must be a positive number, got {s!r}")
        for name in ("max_edges", "max_width", "seeds"):
            object.__setattr__(self, name, check_count(f"FormulaBudget {name}", getattr(self, name)))


class _Clock:
    """Seconds since the search began, against the budget; ``say`` prints a progress line to stderr."""

    def __init__(self, budget: FormulaBudget, progress: bool) -> None:
        self.budget, self.progress, self.start = budget, progress, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out(self) -> bool:
        return self.elapsed() >= self.budget.seconds

    def say(self, message: str) -> None:
        if self.progress:
            print(
                f"formula [{self.elapsed():5.0f} s / {self.budget.seconds:.0f} s] {message}",
                file=sys.stderr,
                flush=True,
            )


@dataclass
class _Best:
    formula: Formula | None = None
    distance: float = math.inf  # relative L2 to the trained network
    source: str = ""

    def offer(self, formula: Formula, distance: float, source: str) -> None:
        if distance < self.distance or self.formula is None:
            self.formula, self.distance, self.source = formula, distance, source


def find_formula(
    model: KAN,
    problem: Problem,
    *,
    library: Mapping | Sequence[str] | None = None,
    threshold: float = 0.0,
    budget: FormulaBudget | None = None,
    progress: bool = True,
    evaluate=None,
    **refine_options,
) -> Formula:
    """The formula of the solution ``model`` of ``problem`` within ``budget`` (module docstring).

    ``evaluate(x) -> (N,)`` gives the trained solution's values (default ``model``'s output), the yardstick
    of every candidate; ``library``, ``threshold`` go to :func:`symbolic`, ``refine_options`` to
    :meth:`Formula.refine`.
    """
    budget = FormulaBudget() if budget is None else budget
    if not isinstance(budget, FormulaBudget):
        raise TypeError(f"budget must be a kanpde.FormulaBudget, got {type(budget).__name__}")
    check_symbolic(problem, model)
    clock = _Clock(budget, progress)
    p = next(model.parameters())
    x = problem.domain.sample_interior(1000, sampler="sobol", seed=0, dtype=p.dtype, device=p.device)
    xe = problem.domain.evaluation_points()[0].to(dtype=p.dtype, device=p.device)
    with torch.no_grad():
        target = (evaluate or (lambda z: model(z)[:, 0]))(xe)  # (N,)
    best = _Best()

    def distance(f) -> float:
        with torch.no_grad():
            values = f(xe) if isinstance(f, Formula) else f(xe)[:, 0]
        return relative_l2(values, target)

    def attempt(net: KAN, source: str, rough: bool = False) -> tuple[Formula, float] | None:
        """Fit, refine and measure ``net``'s formula: it and its distance to the trained network; ``None`` when
        the budget ran out while fitting, or (with ``rough``) when an edge fits no library function within
        ``ROUGH_EDGE``."""
        clock.say(f"{source}: fitting {edge_count(net)} edges")
        try:
            composed = symbolic(
                net, x, library=library, names=problem.domain.names, threshold=threshold, stop=clock.out
            )
        except FormulaBudgetError:
            return None
        worst = max(1.0 - e.r2 for e in composed.edges)
        if rough and worst > ROUGH_EDGE:
            clock.say(f"{source}: skipped, an edge fits no library function (1 - R² = {worst:.1e})")
            return None
        clock.say(f"{source}: refining {float_count(composed.expr)} constants against the PDE")
        found = composed.refine(problem, stop=clock.out, **refine_options)
        d = distance(found)
        best.offer(found, d, source)
        clock.say(f"{source}: {_short(found)} (relative L2 {d:.1e} to the trained network)")
        return found, d

    edges = edge_count(model)
    clock.say(f"KAN {model.width}: {edges} edges (budget: {budget.max_edges} edges, {budget.seconds:.0f} s)")
    if edges <= budget.max_edges:
        attempt(model, f"KAN {model.width}")
        return _best_or_finish(best, clock, model)
    pruned = model.prune(x, PRUNE_THRESHOLD)
    d = distance(pruned)
    clock.say(
        f"pruned at {PRUNE_THRESHOLD:g}: KAN {pruned.width}, {edge_count(pruned)} edges, relative L2 {d:.1e}"
    )
    if edge_count(pruned) <= budget.max_edges and d <= MATCH:
        attempt(pruned, f"pruned KAN {pruned.width}")
        return _best_or_finish(best, clock, model)
    d_in, d_out = model.width[0], model.width[-1]
    for w in range(1, budget.max_width + 1):
        width = [d_in, w, d_out]
        if d_in * w + w * d_out > budget.max_edges:
            break
        for seed in range(budget.seeds):
            if clock.out():
                return _finish(best, clock, model)
            clock.say(f"narrow KAN {width}, seed {seed}: training on the PDE")
            net = train_narrow(problem, width, seed, dtype=p.dtype, device=p.device, stop=clock.out)
            d = distance(net)
            clock.say(f"narrow KAN {width}, seed {seed}: relative L2 {d:.1e} to the trained network")
            if d > MATCH or clock.out():
                continue
            result = attempt(net, f"narrow KAN {width}, seed {seed}", rough=True)
            if result is not None and float_count(result[0].expr) == 0 and result[1] <= MATCH:
                clock.say(f"done: an exact formula from a KAN {width} in {clock.elapsed():.0f} s")
                return result[0]
    return _finish(best, clock, model)


def _best_or_finish(best: _Best, clock: _Clock, model: KAN) -> Formula:
    """The best formula found while time remains; otherwise :func:`_finish`."""
    return best.formula if best.formula is not None and not clock.out() else _finish(best, clock, model)


def _finish(best: _Best, clock: _Clock, model: KAN) -> Formula:
    """The best formula with a warning on what was left undone, or the error saying what to do."""
    spent = clock.elapsed()
    why = (
        f"within the budget of {clock.budget.seconds:g} s"
        if clock.out()
        else f"from narrow KANs up to width {clock.budget.max_width}, {clock.budget.seeds} seeds each ({spent:.0f} s)"
    )
    if best.formula is None:
        raise FormulaBudgetError(
            f"no formula of KAN {model.width} found {why}: a KAN of more than {clock.budget.max_edges} edges is "
            "not fitted edge by edge (its formula has hundreds of terms); train a narrow KAN such as "
            "[d, 2, 1], or one with sparsity (kp.solve(..., sparsity=1e-3)) and prune it (sol.model.prune(x)), "
            "or give the search more time and seeds (kp.FormulaBudget(seconds=..., seeds=...); kanpde "
            "symbolic --budget SECONDS)"
        )
    if float_count(best.formula.expr) or best.distance > MATCH:
        warnings.warn(
            f"no exact formula found {why}: returning the best one ({best.source}, relative L2 "
            f"{best.distance:.1e} to the trained network, {float_count(best.formula.expr)} floating-point "
            "constants left); more time and seeds (kp.FormulaBudget(seconds=..., seeds=...)) try more narrow KANs",
            RuntimeWarning,
            stacklevel=3,
        )
    return best.formula


def _short(formula: Formula, limit: int = 80) -> str:
    text = str(formula)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({float_count(formula.expr)} floats)"
