"""Symbolic formulas of KAN solutions: edges fitted to library functions, composed, refined, snapped.

``kp.symbolic(solution)`` (or ``kp.symbolic(kan, x)``) returns a :class:`Formula`; ``formula.refine(problem)``
(or ``refine(data=(x, y))``) fits its constants by Levenberg-Marquardt and snaps them to exact numbers;
``find_formula`` (``sol.formula()``) does both within a time budget, on a pruned or narrow KAN when the
trained one is too wide.
"""

from .checks import FormulaBudgetError, check_problem, check_symbolic
from .compose import symbolic
from .edges import EdgeFit, fit_edge
from .formula import Formula
from .library import LIBRARY, Primitive, resolve_library
from .module import FormulaModule
from .search import FormulaBudget, find_formula

__all__ = [
    "symbolic",
    "find_formula",
    "FormulaBudget",
    "FormulaBudgetError",
    "check_symbolic",
    "check_problem",
    "Formula",
    "FormulaModule",
    "EdgeFit",
    "fit_edge",
    "LIBRARY",
    "Primitive",
    "resolve_library",
]
