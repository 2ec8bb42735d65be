"""Formulas as sympy expressions: evaluation with torch, free constants, simple numbers, a JSON tree.

* :func:`evaluate` walks the expression tree (sums, products, powers, numbers, coordinates and the
  functions of :data:`FUNCTIONS` or of a library) on torch tensors, so a formula runs on any device and
  torch differentiates it, with respect to the coordinates and to its constants.
* :func:`parametrize` replaces every floating-point number (a fitted constant; exact numbers such as ``pi``
  or ``1/2`` stay) by its own symbol, so the constants can be refined; :func:`nearest_simple` proposes the
  exact number a constant may be snapped to.
* :func:`to_tree` and :func:`from_tree` write an expression as nested lists of plain values and read it
  back exactly (floats by ``repr``), without evaluating any text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import sympy
import torch
from sympy.core.function import Application
from torch import Tensor

from .library import Primitive

__all__ = [
    "FUNCTIONS",
    "functions_for",
    "evaluate",
    "parametrize",
    "float_count",
    "nearest_simple",
    "to_tree",
    "from_tree",
]

FUNCTIONS: Mapping[type, object] = MappingProxyType(
    {
        sympy.exp: torch.exp,
        sympy.log: torch.log,
        sympy.sin: torch.sin,
        sympy.cos: torch.cos,
        sympy.tan: torch.tan,
        sympy.tanh: torch.tanh,
        sympy.sinh: torch.sinh,
        sympy.cosh: torch.cosh,
        sympy.atan: torch.atan,
        sympy.asin: torch.asin,
        sympy.acos: torch.acos,
        sympy.Abs: torch.abs,
        sympy.sign: torch.sign,
        sympy.erf: torch.erf,
    }
)
"""sympy function class -> torch function, for the functions formulas of the default library produce."""


def functions_for(library: Mapping[str, Primitive]) -> dict[type, object]:
    """:data:`FUNCTIONS` plus every library entry whose sympy side is one function applied to its argument."""
    out = dict(FUNCTIONS)
    z = sympy.Symbol("z")
    for prim in library.values():
        g = sympy.sympify(prim.sympy(z))
        if isinstance(g, Application) and g.args == (z,):
            out.setdefault(g.func, prim.torch)
    return out


def evaluate(
    expr: sympy.Expr, values: Mapping[sympy.Symbol, Tensor], functions: Mapping[type, object], like: Tensor
) -> Tensor:
    """``expr`` with its symbols set to ``values`` (tensors that broadcast to ``like``'s shape)."""
    memo: dict[sympy.Expr, Tensor | float] = {}

    def ev(node: sympy.Expr) -> Tensor | float:
        if node not in memo:
            memo[node] = _node(node, ev, values, functions)
        return memo[node]

    out = ev(sympy.sympify(expr))
    if not isinstance(out, Tensor):
        return torch.full_like(like, float(out))
    return out.expand_as(like) if out.shape != like.shape else out


def _node(node: sympy.Expr, ev, values, functions) -> Tensor | float:
    if node.is_Symbol:
        if node not in values:
            raise ValueError(f"the formula uses {node}, which is neither a coordinate nor a constant")
        return values[node]
    if node.is_number:
        value = complex(node)
        if value.imag != 0 or not math.isfinite(value.real):
            raise ValueError(f"the formula holds {node}, which is not a finite real number")
        return value.real
    if node.is_Add:
        return _fold(node.args, ev, lambda a, b: a + b)
    if node.is_Mul:
        return _fold(node.args, ev, lambda a, b: a * b)
    if node.is_Pow:
        base, exponent = node.args
        if exponent.is_Integer:
            return ev(base) ** int(exponent)
        if exponent == sympy.Rational(1, 2):
            return torch.sqrt(ev(base))
        return ev(base) ** ev(exponent)
    if isinstance(node, Application) and node.func in functions and len(node.args) == 1:
        return functions[node.func](ev(node.args[0]))  # the argument holds a symbol, so it is a tensor
    raise ValueError(f"cannot evaluate {node.func} in a formula with torch; add it to the function library")


def _fold(args, ev, op) -> Tensor | float:
    out = ev(args[0])
    for a in args[1:]:
        out = op(out, ev(a))
    return out


def parametrize(expr: sympy.Expr, prefix: str = "_c") -> tuple[sympy.Expr, list[sympy.Symbol], list[float]]:
    """``expr`` with each floating-point number (every occurrence apart) replaced by a new symbol; returns
    the new expression, the symbols and their values."""
    symbols: list[sympy.Symbol] = []
    values: list[float] = []

    def rebuild(node: sympy.Expr) -> sympy.Expr:
        if isinstance(node, sympy.Float):
            symbols.append(sympy.Symbol(f"{prefix}{len(symbols)}"))
            values.append(float(node))
            return symbols[-1]
        if not node.args:
            return node
        return node.func(*(rebuild(a) for a in node.args))

    return rebuild(sympy.sympify(expr)), symbols, values


def float_count(expr: sympy.Expr) -> int:
    """Number of floating-point numbers (free constants) in ``expr``, each occurrence counted."""
    return len(parametrize(expr)[1])


_UNITS = ((sympy.Integer(1), 1.0), (sympy.pi, math.pi))
_FRACTIONS = tuple(
    sympy.Rational(p, q) for q in (2, 3, 4) for p in range(1, 2 * q + 1) if math.gcd(p, q) == 1
)  # 1/2, 3/2, 1/3, 2/3, 4/3, 5/3, 1/4, 3/4, 5/4, 7/4
MAX_INTEGER = 100


def nearest_simple(value: float, radius: float) -> tuple[sympy.Expr, float] | None:
    """The simple number nearest to ``value`` and its distance, or ``None`` beyond ``radius``.

    Simple numbers are 0 (distance ``|value|``) and ``± r · u`` for ``u`` in {1, π} and ``r`` a whole number
    up to 100 or one of 1/2, 3/2, 1/3, 2/3, 4/3, 5/3, 1/4, 3/4, 5/4, 7/4 (relative distance
    ``|value - s| / |s|``).
    """
    best = (sympy.Integer(0), abs(value)) if abs(value) <= radius else None
    sign = 1 if value >= 0 else -1
    for unit, size in _UNITS:
        ratio = abs(value) / size
        options = [sympy.Integer(round(ratio))] if 1 <= round(ratio) <= MAX_INTEGER else []
        options += [f for f in _FRACTIONS if abs(float(f) - ratio) <= radius * float(f)]
        for r in options:
            s = float(r) * size
            d = abs(abs(value) - s) / s
            if d <= radius and (best is None or d < best[1]):
                best = (sign * r * unit, d)
    return best


def to_tree(expr: sympy.Expr) -> list:
    """``expr`` as nested lists of strings: ``["Add", ...]``, ``["Float", "3.14..."]``, ``["Symbol", "x"]``."""
    node = sympy.sympify(expr)
    if node.is_Symbol:
        return ["Symbol", node.name]
    if node.is_Integer:
        return ["Integer", str(int(node))]
    if node.is_Rational:
        return ["Rational", str(node.p), str(node.q)]
    if isinstance(node, sympy.Float):
        return ["Float", repr(float(node))]
    if node is sympy.pi:
        return ["pi"]
    if node is sympy.E:
        return ["E"]
    if node.is_Add or node.is_Mul or node.is_Pow:
        return [type(node).__name__, *(to_tree(a) for a in node.args)]
    if isinstance(node, Application):
        return ["Function", node.func.__name__, *(to_tree(a) for a in node.args)]
    raise ValueError(f"cannot write {node.func} of a formula as a tree")


def from_tree(tree: list, functions: Mapping[type, object]) -> sympy.Expr:
    """The expression written by :func:`to_tree`; function names must be among ``functions``' classes."""
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise ValueError(f"not a formula tree node: {tree!r}")
    head, rest = tree[0], tree[1:]
    leaves = {
        "Symbol": lambda: sympy.Symbol(str(rest[0])),
        "Integer": lambda: sympy.Integer(int(rest[0])),
        "Rational": lambda: sympy.Rational(int(rest[0]), int(rest[1])),
        "Float": lambda: sympy.Float(float(rest[0])),
        "pi": lambda: sympy.pi,
        "E": lambda: sympy.E,
    }
    if head in leaves:
        return leaves[head]()
    ops = {"Add": sympy.Add, "Mul": sympy.Mul, "Pow": sympy.Pow}
    if head in ops:
        return ops[head](*(from_tree(t, functions) for t in rest))
    if head == "Function":
        by_name = {cls.__name__: cls for cls in functions}
        if not rest or rest[0] not in by_name:
            raise ValueError(
                f"unknown function {rest[0] if rest else None!r} in a formula tree; known: {', '.join(sorted(by_name))}"
            )
        return by_name[rest[0]](*(from_tree(t, functions) for t in rest[1:]))
    raise ValueError(f"unknown formula tree node {head!r}")
