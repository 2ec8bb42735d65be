"""Boundary and initial conditions, each a residual term on its own points.

Every condition samples its points from the domain (:meth:`Condition.sample`) and maps the solution
accessor to a residual that vanishes when the condition holds (:meth:`Condition.residual`):

* ``Dirichlet(g)``: ``u - g`` on the boundary part.
* ``Neumann(g)``: ``∂u/∂n - g`` with ``n`` the outward unit normal.
* ``Robin(a, b, g)``: ``a u + b ∂u/∂n - g``.
* ``Periodic("x")``: ``u(x_min, ·) - u(x_max, ·)`` and ``∂_x u(x_min, ·) - ∂_x u(x_max, ·)``.
* ``Initial(g)``: ``u(·, t0) - g`` on a :class:`~kanpde.SpaceTime` domain.

A value ``g`` is a number or a callable of the points ``(N, d)`` returning ``(N,)`` or ``(N, 1)``; it is
evaluated once, when the points are sampled.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .derivatives import Field
from .geometry import Box, Domain, SpaceTime

__all__ = ["Condition", "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "evaluate_value"]

Value = float | Callable[[Tensor], Tensor]
FieldAt = Callable[[Tensor], Field]


def _check_value(value: object, what: str) -> None:
    if callable(value):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise TypeError(f"{what} must be a finite number or a callable of the points (N, d), got {value!r}")


def evaluate_value(value: Value, x: Tensor, what: str) -> Tensor:
    """``value`` at points ``x`` ``(N, d)`` as a tensor ``(N,)``; a wrong shape raises ``ValueError``."""
    if not callable(value):
        return torch.full((x.shape[0],), float(value), dtype=x.dtype, device=x.device)
    out = value(x)
    if not isinstance(out, Tensor):
        out = torch.as_tensor(out, dtype=x.dtype, device=x.device)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape != (x.shape[0],):
        raise ValueError(
            f"{what} returned shape {tuple(out.shape)} for {x.shape[0]} points; return shape (N,) or (N, 1)"
        )
    return out.to(dtype=x.dtype)


def _check_on(on: object) -> None:
    if on is None or isinstance(on, (str, Domain)) or callable(on):
        return
    if isinstance(on, Sequence) and (
        all(isinstance(n, str) for n in on) or all(isinstance(n, Domain) for n in on)
    ):
        return  # face names, or shapes the domain is built from
    raise TypeError(
        "on must be None, a face name, a list of face names, a mask callable, a shape or a list of shapes, "
        f"got {on!r}"
    )


@dataclass(frozen=True)
class Condition:
    """Base class: a weighted residual term on points sampled from the domain."""

    weight: float = field(default=1.0, kw_only=True)

    #: which point budget of :func:`kanpde.solve` this condition draws on: ``"boundary"`` or ``"initial"``
    budget = "boundary"

    def __post_init__(self) -> None:
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not (math.isfinite(w) and w >= 0):
            raise ValueError(f"{type(self).__name__}: weight must be a finite number >= 0, got {w!r}")

    @property
    def label(self) -> str:
        """Short name used for this term in the loss history."""
        return type(self).__name__.lower()

    def validate(self, domain: Domain) -> None:
        """Raise early if this condition cannot apply to ``domain``."""

    def sample(self, domain: Domain, n: int, sampler: str, seed: int, dtype, device) -> dict[str, Tensor]:
        raise NotImplementedError

    def residual(self, field_at: FieldAt, points: dict[str, Tensor]) -> Tensor:
        """Residual ``(N, C)`` of this condition; ``field_at(x)`` gives the accessor at points ``x``."""
        raise NotImplementedError


class _BoundaryCondition(Condition):
    """Shared by conditions on a boundary part ``on`` (each subclass declares ``on`` after its values)."""

    on: object

    def validate(self, domain: Domain) -> None:
        _check_on(self.on)
        if isinstance(self.on, Domain) or not callable(self.on):
            domain.resolve_on(self.on)

    def _boundary(self, domain: Domain, n: int, sampler: str, seed: int, dtype, device) -> dict[str, Tensor]:
        x, normals = domain.sample_boundary(
            n, sampler=sampler, seed=seed, on=self.on, dtype=dtype, device=device
        )
        return {"x": x, "normals": normals}


@dataclass(frozen=True)
class Dirichlet(_BoundaryCondition):
    """``u = value`` on the boundary part ``on`` (``None``: the whole spatial boundary)."""

    value: Value = 0.0
    on: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_value(self.value, "Dirichlet value")

    def sample(self, domain, n, sampler, seed, dtype, device):
        pts = self._boundary(domain, n, sampler, seed, dtype, device)
        pts["target"] = evaluate_value(self.value, pts["x"], "Dirichlet value")
        return pts

    def residual(self, field_at, points):
        return (field_at(points["x"]).value - points["target"])[:, None]


@dataclass(frozen=True)
class Neumann(_BoundaryCondition):
    """``∂u/∂n = flux`` (outward normal derivative) on the boundary part ``on``."""

    flux: Value = 0.0
    on: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_value(self.flux, "Neumann flux")

    def sample(self, domain, n, sampler, seed, dtype, device):
        pts = self._boundary(domain, n, sampler, seed, dtype, device)
        pts["target"] = evaluate_value(self.flux, pts["x"], "Neumann flux")
        return pts

    def residual(self, field_at, points):
        return (field_at(points["x"]).normal_derivative(points["normals"]) - points["target"])[:, None]


@dataclass(frozen=True)
class Robin(_BoundaryCondition):
    """``a u + b ∂u/∂n = g`` on the boundary part ``on``."""

    a: Value = 1.0
    b: Value = 1.0
    g: Value = 0.0
    on: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("a", "b", "g"):
            _check_value(getattr(self, name), f"Robin {name}")

    def sample(self, domain, n, sampler, seed, dtype, device):
        pts = self._boundary(domain, n, sampler, seed, dtype, device)
        for name in ("a", "b", "g"):
            pts[name] = evaluate_value(getattr(self, name), pts["x"], f"Robin {name}")
        return pts

    def residual(self, field_at, points):
        u = field_at(points["x"])
        u.require((), (0,))
        r = points["a"] * u.value + points["b"] * u.normal_derivative(points["normals"]) - points["g"]
        return r[:, None]


@dataclass(frozen=True)
class Periodic(Condition):
    """``u`` and ``∂u/∂axis`` agree on the ``axis``-min and ``axis``-max faces of a box."""

    axis: str = "x"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.axis, str):
            raise TypeError(f"Periodic takes a coordinate name such as Periodic('x'), got {self.axis!r}")

    @property
    def label(self) -> str:
        return f"periodic_{self.axis}"

    def validate(self, domain: Domain) -> None:
        space = domain.space if isinstance(domain, SpaceTime) else domain
        if not isinstance(space, Box):
            raise ValueError(f"Periodic needs a box-shaped domain (Interval, Rectangle, Box), got {domain!r}")
        valid = domain.names[: domain.space_dim]
        if self.axis not in valid:
            raise ValueError(
                f"Periodic axis {self.axis!r} is not a spatial coordinate; valid: {', '.join(valid)}"
            )

    def sample(self, domain, n, sampler, seed, dtype, device):
        lo, hi = domain.sample_periodic_pairs(
            self.axis, n, sampler=sampler, seed=seed, dtype=dtype, device=device
        )
        return {"lo": lo, "hi": hi}

    def residual(self, field_at, points):
        lo, hi = field_at(points["lo"]), field_at(points["hi"])
        lo.require((), (0,))
        hi.require((), (0,))
        return torch.stack([lo.value - hi.value, lo.d(self.axis) - hi.d(self.axis)], dim=1)


@dataclass(frozen=True)
class Initial(Condition):
    """``u(·, t0) = value`` on a :class:`~kanpde.SpaceTime` domain."""

    value: Value = 0.0
    budget = "initial"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_value(self.value, "Initial value")

    def validate(self, domain: Domain) -> None:
        if not isinstance(domain, SpaceTime):
            raise ValueError(
                f"Initial needs a time-dependent domain, got {domain!r}; wrap it as SpaceTime(space, t=(t0, t1))"
            )

    def sample(self, domain, n, sampler, seed, dtype, device):
        x = domain.sample_initial(n, sampler=sampler, seed=seed, dtype=dtype, device=device)
        return {"x": x, "target": evaluate_value(self.value, x, "Initial value")}

    def residual(self, field_at, points):
        return (field_at(points["x"]).value - points["target"])[:, None]
