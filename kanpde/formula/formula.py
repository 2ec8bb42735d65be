"""The formula of a solution: a sympy expression of named coordinates, evaluated with torch, saved as text.

A :class:`Formula` holds ``expr`` (sympy), the coordinate ``names`` (one per input column), the per-edge
fits it was composed from (``edges``, empty for a formula written by hand) and the function library. It
evaluates on tensors (``f(x)`` with ``x`` of shape ``(N, d)``), compares with other expressions
(:meth:`Formula.equals`, by sympy) and with reference solutions (:meth:`Formula.relative_l2`), refines its
constants against a PDE or data (:meth:`Formula.refine`), and saves to / loads from a JSON text file
(format ``kanpde-formula``, version 1) holding the expression as a tree of plain values, so nothing is
evaluated on loading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import sympy
import torch
from torch import Tensor

from .._atomic import write_json
from ..metrics import relative_l2
from ..problem import Problem
from .edges import EdgeFit
from .expr import from_tree, functions_for, to_tree
from .library import Primitive, resolve_library
from .module import FormulaModule
from .refine import refine

__all__ = ["Formula", "FORMAT"]

FORMAT = "kanpde-formula"
_VERSION = 1
_CONSTANTS = ("a", "b", "c", "d", "a2", "b2", "c2")
MAX_EDGES = 100_000
"""Most edge fits a stored formula may list (a KAN [d, 100, 100, 1] has about 10 000 edges)."""


class Formula:
    """A closed-form solution ``expr`` of the coordinates ``names`` (see the module docstring)."""

    def __init__(
        self,
        expr: sympy.Expr | str,
        names: Sequence[str],
        edges: Sequence[EdgeFit] = (),
        library: Mapping | Sequence[str] | None = None,
        loss: float | None = None,
    ) -> None:
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            raise TypeError(f"names must be a sequence of coordinate names such as ('x', 'y'), got {names!r}")
        self.names = tuple(names)
        self.library: dict[str, Primitive] = resolve_library(library)
        self.functions = functions_for(self.library)
        symbols = {n: sympy.Symbol(n) for n in self.names}
        self.expr = sympy.sympify(expr, locals=symbols) if isinstance(expr, str) else sympy.sympify(expr)
        stray = sorted(str(s) for s in self.expr.free_symbols if s.name not in symbols)
        if stray:
            raise ValueError(
                f"the formula uses {', '.join(stray)}, which are not among its coordinates {', '.join(self.names)}"
            )
        self.edges = tuple(edges)
        self.loss = loss  # the objective :meth:`refine` reached (None before refinement)

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The coordinates as sympy symbols, in column order."""
        return tuple(sympy.Symbol(n) for n in self.names)

    def __str__(self) -> str:
        return str(self.expr)

    def __repr__(self) -> str:
        return f"Formula({self.expr}, names={self.names})"

    def __call__(self, x: Tensor) -> Tensor:
        """Values ``(N,)`` at points ``x`` ``(N, d)`` (columns in the order of ``names``)."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != len(self.names):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"a formula of {', '.join(self.names)} takes a tensor of shape (N, {len(self.names)}), got {shape}"
            )
        with torch.no_grad():
            return self.module()(x)[:, 0]

    def module(self) -> FormulaModule:
        """The formula as a torch module ``(N, d) -> (N, 1)`` (no free constants)."""
        return FormulaModule(self.expr, self.symbols, (), torch.zeros(0, dtype=torch.float64), self.functions)

    def equals(self, other: sympy.Expr | str | Formula) -> bool:
        """Whether sympy proves this formula equal to ``other`` (an expression of the same coordinates): the
        difference is zero as it stands, expanded, or simplified (tried in that order, cheapest first)."""
        if isinstance(other, Formula):
            other = other.expr
        elif isinstance(other, str):
            other = sympy.sympify(other, locals={n: sympy.Symbol(n) for n in self.names})
        diff = self.expr - other
        return diff == 0 or sympy.expand(diff) == 0 or sympy.simplify(diff) == 0

    def relative_l2(self, target, x: Tensor | None = None) -> float:
        """``||f - u|| / ||u||`` against a :class:`~kanpde.Problem`'s exact solution on its evaluation set, or
        against a callable ``u(x) -> (N,)`` at points ``x``."""
        if isinstance(target, Problem):
            if target.exact is None:
                raise ValueError(f"problem {target.name!r} has no exact solution to compare the formula with")
            x = target.domain.evaluation_points()[0] if x is None else x
            target = target.exact
        if not callable(target) or x is None:
            raise TypeError(
                "relative_l2 takes a kanpde.Problem with an exact solution, or a callable u and points x"
            )
        with torch.no_grad():
            return relative_l2(self(x), target(x).reshape(-1))

    def refine(self, problem=None, *, data: tuple[Tensor, Tensor] | None = None, **options) -> Formula:
        """Levenberg-Marquardt on the constants against ``problem``'s PDE loss or ``data = (x, y)``, then
        snapping; see :func:`kanpde.formula.refine.refine`."""
        expr, loss = refine(self, problem, data=data, **options)
        return Formula(expr, self.names, self.edges, self.library, loss=loss)

    # -- text files ---------------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        """Plain data: the expression as text and as a tree, the names, the edge fits."""
        edges = []
        for e in self.edges:
            d = asdict(e)
            d.update({k: to_tree(getattr(e, k)) for k in _CONSTANTS if getattr(e, k) is not None})
            edges.append(d)
        return {
            "format": FORMAT,
            "version": _VERSION,
            "text": str(self.expr),
            "tree": to_tree(self.expr),
            "names": list(self.names),
            "edges": edges,
            "loss": self.loss,
        }

    @classmethod
    def from_dict(cls, data: dict, library: Mapping | Sequence[str] | None = None) -> Formula:
        """The formula of :meth:`as_dict` (``library`` must know the functions it uses)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a kanpde formula (no '{FORMAT}' format tag)")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(
                f"the formula's version {version!r} is malformed: it must be a whole number such as "
                f"{_VERSION} (not text); the file is damaged or not written by kanpde"
            )
        if version > _VERSION:
            raise ValueError(f"formula version {version} is newer than this kanpde reads; upgrade kanpde")
        functions = functions_for(resolve_library(library))
        stored = data.get("edges", [])
        if not isinstance(stored, list) or len(stored) > MAX_EDGES:
            raise ValueError(f"a formula's edges must be a list of at most {MAX_EDGES} edge fits")
        edges = []
        for e in stored:
            e = dict(e)
            e.update({k: from_tree(e[k], functions) for k in _CONSTANTS if e.get(k) is not None})
            edges.append(EdgeFit(**e))
        return cls(from_tree(data["tree"], functions), data["names"], edges, library, data.get("loss"))

    def save(self, path: str | Path) -> Path:
        """Write the formula to a JSON text file."""
        return write_json(Path(path), self.as_dict())

    @classmethod
    def load(cls, path: str | Path, library: Mapping | Sequence[str] | None = None) -> Formula:
        """Read a formula written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no formula file at {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not a kanpde formula file: it is not JSON ({err})") from err
        except RecursionError:
            raise ValueError(f"{path} is not a kanpde formula file: its JSON is nested too deep") from None
        try:
            return cls.from_dict(data, library)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"{path} is a damaged kanpde formula file ({err!r}); save it again") from err
