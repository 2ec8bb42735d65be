"""The function library of symbolic edges: name -> (torch function, sympy function, complexity).

An edge ``phi(v)`` of a KAN is matched to ``c * g(a * v + b) + d`` for each function ``g`` of the library;
``complexity`` is what choosing ``g`` costs (:func:`kanpde.formula.fit_edge` states the rule). The default
library :data:`LIBRARY` is read-only; extend it with a new mapping::

    lib = {**kp.SYMBOLIC_LIBRARY, "sinh": (torch.sinh, sympy.sinh, 3)}
    f = kp.symbolic(sol, library=lib)

or restrict it by names, ``library=("x", "x^2", "sin")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import sympy
import torch
from torch import Tensor

__all__ = ["Primitive", "LIBRARY", "resolve_library"]


@dataclass(frozen=True)
class Primitive:
    """One library function: ``torch`` maps a tensor elementwise, ``sympy`` maps a sympy expression, both
    computing the same ``g``; ``complexity`` (>= 0) is the price of choosing it."""

    torch: Callable[[Tensor], Tensor]
    sympy: Callable[[sympy.Expr], sympy.Expr]
    complexity: float

    def __post_init__(self) -> None:
        if not callable(self.torch) or not callable(self.sympy):
            raise TypeError("a library entry is (torch function, sympy function, complexity), both callable")
        c = self.complexity
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not c >= 0:
            raise ValueError(f"the complexity of a library entry must be a number >= 0, got {c!r}")

    @property
    def kind(self) -> str:
        """``"zero"`` for ``g = 0``, ``"identity"`` for ``g(u) = u`` (both fit in closed form), else ``"general"``."""
        z = sympy.Symbol("z")
        g = sympy.sympify(self.sympy(z))
        return "zero" if g == 0 else ("identity" if g == z else "general")


def _power(n: int) -> Primitive:
    return Primitive(lambda u: u**n, lambda z: z**n, {2: 2, 3: 3, 4: 3}[n])


LIBRARY: Mapping[str, Primitive] = MappingProxyType(
    {
        "0": Primitive(torch.zeros_like, lambda z: sympy.Integer(0), 0),
        "x": Primitive(lambda u: u, lambda z: z, 1),
        "x^2": _power(2),
        "x^3": _power(3),
        "x^4": _power(4),
        "1/x": Primitive(torch.reciprocal, lambda z: 1 / z, 2),
        "sqrt": Primitive(torch.sqrt, sympy.sqrt, 2),
        "exp": Primitive(torch.exp, sympy.exp, 2),
        "log": Primitive(torch.log, sympy.log, 2),
        "sin": Primitive(torch.sin, sympy.sin, 2),
        "cos": Primitive(torch.cos, sympy.cos, 2),
        "tan": Primitive(torch.tan, sympy.tan, 3),
        "tanh": Primitive(torch.tanh, sympy.tanh, 3),
        "arctan": Primitive(torch.atan, sympy.atan, 3),
        "abs": Primitive(torch.abs, sympy.Abs, 3),
        "gaussian": Primitive(lambda u: torch.exp(-u * u), lambda z: sympy.exp(-(z**2)), 3),
    }
)
"""The default library: 0, x, x², x³, x⁴, 1/x, √x, exp, log, sin, cos, tan, tanh, arctan, |x| and the
Gaussian exp(-x²), with complexities 0, 1, 2, 3, 3, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3."""


def resolve_library(library: Mapping | Sequence[str] | None) -> dict[str, Primitive]:
    """The library to use: ``None`` for :data:`LIBRARY`, a sequence of its names, or a mapping name ->
    :class:`Primitive` or ``(torch function, sympy function, complexity)``."""
    if library is None:
        return dict(LIBRARY)
    if isinstance(library, Mapping):
        out = {}
        for name, entry in library.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"library names must be non-empty strings, got {name!r}")
            if isinstance(entry, Primitive):
                out[name] = entry
            elif isinstance(entry, tuple) and len(entry) == 3:
                out[name] = Primitive(*entry)
            else:
                raise TypeError(
                    f"library entry {name!r} must be (torch function, sympy function, complexity), got {entry!r}"
                )
    elif isinstance(library, Sequence) and not isinstance(library, (str, bytes)):
        unknown = [n for n in library if n not in LIBRARY]
        if unknown:
            raise ValueError(
                f"unknown library function(s) {', '.join(map(repr, unknown))}; valid ones: {', '.join(LIBRARY)}"
            )
        out = {n: LIBRARY[n] for n in library}
    else:
        raise TypeError(
            f"library must be a mapping name -> (torch function, sympy function, complexity) or a list of "
            f"names of kanpde.formula.LIBRARY, got {library!r}"
        )
    if not out:
        raise ValueError(
            f"the function library is empty; pass names such as ('x', 'sin') from: {', '.join(LIBRARY)}"
        )
    return out
