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
import reprlib
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
    "check_tree",
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


MAX_TREE_DEPTH = 100
"""Deepest nesting a stored formula tree may have (a composed KAN formula nests about 20 deep)."""
MAX_TREE_NODES = 20_000
"""Most nodes a stored formula tree may have, shared subtrees counted every time they occur."""
MAX_LEAF_CHARS = 100
"""Longest text of a number or a symbol name in a stored tree."""
MAX_EXPONENT = 100
"""Largest absolute value of a numeric exponent in a stored tree."""
MAX_NUMBER_BITS = 20_000
"""Budget of exact-number size over a stored tree: the bits of every integer and rational leaf plus the
estimated bits of every power of an exact number (base bits x exponent). Sums, products and powers of
exact numbers never grow past it, so sympy's exact arithmetic on a tree read from a file stays cheap."""

_LEAVES = ("Symbol", "Integer", "Rational", "Float", "pi", "E")
_OPS = {"Add": sympy.Add, "Mul": sympy.Mul, "Pow": sympy.Pow}


def _short(tree: object) -> str:
    """A bounded description of a tree node for error messages."""
    return reprlib.repr(tree)


def _leaf_text(value: object, head: str) -> str:
    """A leaf's stored text (``to_tree`` writes strings; integers are accepted) within the size limits."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 4 * MAX_LEAF_CHARS:
            raise ValueError(
                f"a formula tree's {head} leaf holds a number of {value.bit_length()} bits; too large"
            )
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"a formula tree's {head} leaf must hold text, got {_short(value)}")
    if len(value) > MAX_LEAF_CHARS:
        raise ValueError(
            f"a formula tree's {head} leaf holds {len(value)} characters, more than {MAX_LEAF_CHARS}; "
            "the file is damaged or not written by kanpde"
        )
    return value


def check_tree(tree: object) -> None:
    """Raise ``ValueError`` unless ``tree`` has the shape :func:`to_tree` writes, at most
    :data:`MAX_TREE_DEPTH` deep and :data:`MAX_TREE_NODES` nodes, with short leaves; walks without
    recursion, so a tree nested thousands deep is an error rather than a ``RecursionError``."""
    stack, count = [(tree, 1)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_TREE_NODES:
            raise ValueError(
                f"the formula tree has more than {MAX_TREE_NODES} nodes; it is damaged or too large"
            )
        if depth > MAX_TREE_DEPTH:
            raise ValueError(f"the formula tree is nested more than {MAX_TREE_DEPTH} deep; it is damaged")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise ValueError(f"not a formula tree node: {_short(node)}")
        head, rest = node[0], node[1:]
        if head in _LEAVES:
            want = {"Symbol": 1, "Integer": 1, "Rational": 2, "Float": 1}.get(head, 0)
            if len(rest) != want:
                raise ValueError(f"a formula tree's {head} leaf takes {want} value(s), got {_short(node)}")
            for value in rest:
                _leaf_text(value, head)
        elif head in _OPS or head == "Function":
            children = rest[1:] if head == "Function" else rest
            if head == "Function" and (not rest or not isinstance(rest[0], str)):
                raise ValueError(f"a formula tree's Function node must start with a name, got {_short(node)}")
            if not children or (head == "Pow" and len(children) != 2):
                raise ValueError(
                    f"a formula tree's {head} node has the wrong number of arguments: {_short(node)}"
                )
            stack.extend((child, depth + 1) for child in children)
        else:
            raise ValueError(f"unknown formula tree node {head!r}")


def _bits(number: sympy.Rational) -> int:
    return int(number.p).bit_length() + int(number.q).bit_length()


class _Budget:
    """The exact-number size still allowed while building one tree (:data:`MAX_NUMBER_BITS`)."""

    def __init__(self) -> None:
        self.left = MAX_NUMBER_BITS

    def spend(self, bits: float, what: str) -> None:
        self.left -= bits
        if self.left < 0:
            raise ValueError(
                f"the formula tree builds exact numbers larger than {MAX_NUMBER_BITS} bits ({what}); "
                "the file is damaged or not written by kanpde"
            )


def _power(base: sympy.Expr, exponent: sympy.Expr, budget: _Budget) -> sympy.Expr:
    """``base ** exponent`` with a bounded numeric exponent, never raising an exact number to a size past
    the budget (``Pow(10, 10**4000)`` would otherwise run for ever)."""
    if exponent.is_number:
        try:
            size = abs(complex(exponent))
        except (TypeError, ValueError):
            size = math.inf
        if not size <= MAX_EXPONENT:
            raise ValueError(
                f"a formula tree raises to the power {_short(str(exponent))}, beyond +-{MAX_EXPONENT}; "
                "the file is damaged or not written by kanpde"
            )
        if isinstance(base, sympy.Rational):
            budget.spend(_bits(base) * max(size, 1.0), f"{_short(str(base))} ** {_short(str(exponent))}")
    return sympy.Pow(base, exponent)


def from_tree(tree: list, functions: Mapping[type, object]) -> sympy.Expr:
    """The expression written by :func:`to_tree`; function names must be among ``functions``' classes.

    A tree read from a file is checked first (:func:`check_tree`) and built within the limits above, so a
    damaged or crafted tree is a ``ValueError`` and never a hang or a ``RecursionError``.
    """
    check_tree(tree)
    return _build(tree, {cls.__name__: cls for cls in functions}, _Budget())


def _build(tree: list, by_name: Mapping[str, type], budget: _Budget) -> sympy.Expr:
    head, rest = tree[0], tree[1:]
    if head in _LEAVES:
        return _leaf(head, [_leaf_text(v, head) for v in rest], budget)
    if head in _OPS:
        args = [_build(t, by_name, budget) for t in rest]
        if head == "Pow":
            return _power(args[0], args[1], budget)
        return _OPS[head](*args)
    if rest[0] not in by_name:
        raise ValueError(
            f"unknown function {rest[0]!r} in a formula tree; known: {', '.join(sorted(by_name))}"
        )
    return by_name[rest[0]](*(_build(t, by_name, budget) for t in rest[1:]))


def _leaf(head: str, text: list[str], budget: _Budget) -> sympy.Expr:
    try:
        if head == "Symbol":
            return sympy.Symbol(text[0])
        if head == "Float":
            return sympy.Float(float(text[0]))
        if head == "pi":
            return sympy.pi
        if head == "E":
            return sympy.E
        number = (
            sympy.Integer(int(text[0])) if head == "Integer" else sympy.Rational(int(text[0]), int(text[1]))
        )
    except (ValueError, ZeroDivisionError) as err:
        raise ValueError(f"a formula tree's {head} leaf {text!r} is not a number ({err})") from None
    if isinstance(number, sympy.Rational):
        budget.spend(_bits(number), f"the number {_short(str(number))}")
    return number
