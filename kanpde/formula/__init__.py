"""Symbolic formulas of KAN solutions: edges fitted to library functions, composed, refined, snapped.

``kp.symbolic(solution)`` (or ``kp.symbolic(kan, x)``) returns a :class:`Formula`; ``formula.refine(problem)``
(or ``refine(data=(x, y))``) fits its constants by Levenberg-Marquardt and snaps them to exact numbers.
"""

from .checks import check_problem, check_symbolic
from .compose import symbolic
from .edges import EdgeFit, fit_edge
from .formula import Formula
from .library import LIBRARY, Primitive, resolve_library
from .module import FormulaModule

__all__ = [
    "symbolic",
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
