"""Lifts of boundary values into a domain, for exactly imposed Dirichlet conditions.

A hard condition :math:`u = g + \\phi N` needs :math:`g` defined inside the domain, equal to the given values
on the Dirichlet boundary. When those values come as a function that is only meant to be read on the
boundary (the exact solution of a manufactured problem, measured wall values), evaluating it inside would
hand the ansatz information the problem does not give. :func:`transfinite` builds :math:`g` from the values
on the sides of a rectangle alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .box import Box
from .spacetime import SpaceTime

__all__ = ["Transfinite", "transfinite"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class Transfinite:
    """The transfinite (Coons) interpolation of ``value`` from the sides of the rectangle ``[a, b] x [c, d]``:

    .. math::

        g(x, y) = (1-s)\\,v(a, y) + s\\,v(b, y) + (1-t)\\,v(x, c) + t\\,v(x, d)
                  - [(1-s)(1-t)\\,v(a, c) + s(1-t)\\,v(b, c) + (1-s)t\\,v(a, d) + st\\,v(b, d)],

    with :math:`s = (x-a)/(b-a)`, :math:`t = (y-c)/(d-c)`. Then :math:`g = v` on the four sides (where
    :math:`v` is continuous), :math:`g` is as smooth as :math:`v` is along the sides, and it reads
    :math:`v` nowhere else. Columns after the first two (the time of a space-time domain) pass through
    unchanged, so ``g`` interpolates the lateral sides at every time.
    """

    value: Callable[[Tensor], Tensor]
    box: Box

    def __post_init__(self) -> None:
        if not callable(self.value):
            raise TypeError(f"transfinite: value must be a callable x (N, d) -> (N,), got {self.value!r}")
        space = self.box.space if isinstance(self.box, SpaceTime) else self.box
        if not isinstance(space, Box) or space.dim != 2:
            raise ValueError(
                f"transfinite: box must be a 2-D Box (a Rectangle) or a SpaceTime over one, got {self.box!r}; "
                "for other shapes give the hard condition a value defined inside the domain"
            )
        object.__setattr__(self, "box", space)

    def __call__(self, x: Tensor) -> Tensor:
        (a, c), (b, d) = self.box.lo, self.box.hi
        s, t = (x[:, 0] - a) / (b - a), (x[:, 1] - c) / (d - c)  # (N,), (N,)

        def v(first: Tensor | float, second: Tensor | float) -> Tensor:
            first = first if torch.is_tensor(first) else torch.full_like(x[:, 0], first)
            second = second if torch.is_tensor(second) else torch.full_like(x[:, 0], second)
            out = self.value(torch.cat([first[:, None], second[:, None], x[:, 2:]], dim=1))
            return out.reshape(-1)  # (N,) or (N, 1) -> (N,)

        sides = (1 - s) * v(a, x[:, 1]) + s * v(b, x[:, 1]) + (1 - t) * v(x[:, 0], c) + t * v(x[:, 0], d)
        corners = (
            (1 - s) * (1 - t) * v(a, c) + s * (1 - t) * v(b, c) + (1 - s) * t * v(a, d) + s * t * v(b, d)
        )
        return sides - corners


def transfinite(value: Callable[[Tensor], Tensor], box: Box | SpaceTime) -> Transfinite:
    """``g`` inside ``box`` from ``value`` on its sides (see :class:`Transfinite`); ``box`` a 2-D box or a
    space-time domain over one.

    Example::

        square = kp.Rectangle((-0.5, -0.5), (0.5, 0.5))
        kp.Dirichlet(kp.transfinite(exact, square), on=square, hard=True)   # exact read on the sides only
    """
    return Transfinite(value, box)
