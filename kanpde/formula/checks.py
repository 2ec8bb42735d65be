"""Which models and problems a formula can describe."""

from __future__ import annotations

from ..kan import KAN

__all__ = ["check_symbolic", "check_problem", "FormulaBudgetError"]


class FormulaBudgetError(TimeoutError):
    """A formula search spent its time budget (:class:`~kanpde.FormulaBudget`) before it found any formula."""


def check_symbolic(problem, model) -> None:
    """Raise a clear error unless a formula of ``model`` can describe the solution of ``problem``: ``model``
    a :class:`~kanpde.KAN` and ``problem`` (``None``: not checked) one that :func:`check_problem` accepts."""
    if not isinstance(model, KAN):
        name = type(getattr(model, "net", model)).__name__
        raise TypeError(f"symbolic needs a KAN (its edges are fitted), got a {name}; train a kanpde.KAN")
    if problem is not None:
        check_problem(problem)


def check_problem(problem) -> None:
    """Raise a clear error unless a formula can be the solution of ``problem``: one field, its Dirichlet
    values imposed weakly (an exactly imposed one makes the field ``g + φ N``, with ``φ`` a distance function
    that is no formula) and no unknown coefficients (refinement fits the formula's constants alone)."""
    if len(problem.fields) != 1:
        raise ValueError(
            f"symbolic formulas are of one field, and problem {problem.name!r} has {len(problem.fields)} "
            f"({', '.join(problem.fields)}); solve the fields as separate problems, or fit each output with "
            "kp.symbolic(kan, x) on a one-output KAN"
        )
    if problem.hard_conditions:
        raise ValueError(
            f"problem {problem.name!r} imposes conditions exactly (hard=True): its field is g + phi N, "
            "not the KAN's output; use soft conditions (hard=False) for a formula"
        )
    if problem.unknowns:
        names = ", ".join(u.name for u in problem.unknowns)
        raise ValueError(
            f"problem {problem.name!r} has unknown coefficients ({names}), which formula refinement does not "
            "fit; refine against data instead: kp.symbolic(sol.model, x).refine(data=(x, sol(x)))"
        )
