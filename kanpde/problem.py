"""The declarative PDE problem: a domain, a residual, conditions and an optional exact solution."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .conditions import Condition
from .derivatives import Field
from .geometry import Domain

__all__ = ["Problem"]

Residual = Callable[[Tensor, Field], Tensor]


@dataclass(frozen=True)
class Problem:
    """A PDE ``R[u](x) = 0`` on ``domain`` with boundary and initial ``conditions``.

    Args:
        domain: where the PDE holds (:class:`~kanpde.Rectangle`, :class:`~kanpde.SpaceTime`, ...).
        residual: ``residual(x, u)`` with points ``x`` ``(N, d)`` and the accessor ``u``
            (:class:`~kanpde.Field`); returns ``(N,)`` or ``(N, 1)``, zero for the true solution.
        conditions: boundary and initial conditions, each a weighted residual term.
        exact: optional exact solution ``exact(x) -> (N,)``, written with torch operations so that its
            gradient is available for the H1 error. It is called once on three interior points when the
            problem is built, so that a wrong return shape is reported at once.
        name: a short name used in files and tables.
        residual_weight: weight of the PDE term in the loss (the KAN paper's α).
        source: the file the problem was loaded from (set by :func:`kanpde.load_problem`).
    """

    domain: Domain
    residual: Residual
    conditions: Sequence[Condition] = ()
    exact: Callable[[Tensor], Tensor] | None = None
    name: str = "problem"
    residual_weight: float = 1.0
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            raise TypeError(
                f"domain must be a kanpde domain (Interval, Rectangle, Box, Disk, SpaceTime), got {self.domain!r}"
            )
        if not callable(self.residual):
            raise TypeError(f"residual must be a callable residual(x, u), got {self.residual!r}")
        conditions = (self.conditions,) if isinstance(self.conditions, Condition) else tuple(self.conditions)
        for c in conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be kanpde conditions such as kp.Dirichlet(0.0), got {c!r}")
            c.validate(self.domain)
        object.__setattr__(self, "conditions", conditions)
        if self.exact is not None:
            _check_exact(self.exact, self.domain)
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        w = self.residual_weight
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not (math.isfinite(w) and w > 0):
            raise ValueError(f"residual_weight must be a finite number > 0, got {w!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """Coordinate names of the points' columns."""
        return self.domain.names


def _check_exact(exact: object, domain: Domain) -> None:
    """Call ``exact`` on a few interior points, so that a wrong return shape is reported here, early."""
    if not callable(exact):
        raise TypeError(f"exact must be a callable exact(x) or None, got {exact!r}")
    x = domain.sample_interior(3, sampler="grid", dtype=torch.float64)  # (3, d)
    out = exact(x)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"exact(x) must return a torch.Tensor (written with torch operations, so that its gradient "
            f"exists), got {type(out).__name__}"
        )
    if tuple(out.shape) not in ((3,), (3, 1)):
        raise ValueError(
            f"exact(x) returned shape {tuple(out.shape)} for points of shape {tuple(x.shape)}; "
            "return one value per point, shape (N,) or (N, 1), e.g. torch.sin(x[:, 0])"
        )
