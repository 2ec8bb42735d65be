"""Boundary and initial conditions, each a residual term on its own points.

Every condition samples its points from the domain (:meth:`Condition.sample`) and maps the solution
accessor to a residual that vanishes when the condition holds (:meth:`Condition.residual`):

* ``Dirichlet(g)``: ``u - g`` on the boundary part.
* ``Neumann(g)``: ``∂u/∂n - g`` with ``n`` the outward unit normal.
* ``Robin(a, b, g)``: ``a u + b ∂u/∂n - g``.
* ``Boundary(equation)``: ``equation(x, u, n)``, any relation of the fields and their derivatives on the
  boundary part (a traction-free outflow, a slip wall), ``n`` the outward unit normals.
* ``Periodic("x")``: ``u(x_min, ·) - u(x_max, ·)`` and ``∂_x u(x_min, ·) - ∂_x u(x_max, ·)``.
* ``Initial(g)``: ``u(·, t0) - g`` on a :class:`~kanpde.SpaceTime` domain; ``Initial(g, derivative=1)``
  imposes the initial velocity, ``∂u/∂t(·, t0) - g`` (``derivative=n``: ``∂^n u/∂t^n``).
* ``Data(points, values)``: ``u(x_m) - values_m`` at given observation points (measurements), e.g. to
  identify unknown coefficients.

A value ``g`` is a number or a callable of the points ``(N, d)`` returning ``(N,)`` or ``(N, 1)``; it is
evaluated once, when the points are sampled. In a problem with several fields every condition names its
``field=`` (``Periodic`` applies to all fields unless it names one).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import torch
from torch import Tensor

from .derivatives import Field, Fields
from .geometry import Box, DistanceFunction, Domain, SpaceTime
from .geometry.base import is_mask
from .residuals import equations

__all__ = [
    "Condition",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Boundary",
    "Periodic",
    "Initial",
    "Data",
    "evaluate_value",
]

Value = float | Callable[[Tensor], Tensor]
FieldAt = Callable[[Tensor], "Field | Fields"]


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


def _check_hard(cond: Dirichlet, domain: Domain) -> None:
    """A hard condition needs a distance function of its part and a value defined inside the domain."""
    if is_mask(cond.on):
        raise ValueError(
            "Dirichlet(hard=True) needs on= as face names or shapes (a mask callable defines no distance "
            "function); or pass hard=False"
        )
    DistanceFunction(domain, cond.on)
    if callable(cond.value):
        x = domain.sample_interior(16, sampler="sobol", seed=3, dtype=torch.float64)  # (16, d)
        try:
            g = evaluate_value(cond.value, x, "Dirichlet value")
        except Exception as err:
            raise ValueError(
                "Dirichlet(hard=True): the value must be defined on the whole domain (u = g + phi N is "
                f"evaluated inside), but it raised {type(err).__name__} at interior points: {err}"
            ) from err
        if not bool(torch.isfinite(g).all()):
            raise ValueError(
                "Dirichlet(hard=True): the value must be defined on the whole domain (u = g + phi N is "
                "evaluated inside), but it is not finite at some interior points"
            )


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
    """Base class: a weighted residual term on points sampled from the domain.

    ``weight`` multiplies the term's mean square in the loss; ``field`` names the field the condition
    constrains (required in problems with several fields).
    """

    weight: float = dataclass_field(default=1.0, kw_only=True)
    field: str | None = dataclass_field(default=None, kw_only=True)

    #: which point budget of :func:`kanpde.solve` this condition draws on: ``"boundary"``, ``"initial"``
    #: or ``None`` (points of its own)
    budget = "boundary"

    def __post_init__(self) -> None:
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not (math.isfinite(w) and w >= 0):
            raise ValueError(f"{type(self).__name__}: weight must be a finite number >= 0, got {w!r}")
        if self.field is not None and (not isinstance(self.field, str) or not self.field):
            raise TypeError(
                f"{type(self).__name__}: field must be a field name such as 'u', got {self.field!r}"
            )

    @property
    def label(self) -> str:
        """Short name used for this term in the loss history (with the field, when one is named)."""
        base = type(self).__name__.lower()
        return base if self.field is None else f"{base}_{self.field}"

    def pick(self, u: Field | Fields) -> Field:
        """The accessor of this condition's field (``u`` itself in a one-field problem)."""
        return u if self.field is None or isinstance(u, Field) else u[self.field]

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
    """``u = value`` on the boundary part ``on`` (``None``: the whole spatial boundary).

    With ``hard=True`` the condition is imposed exactly by the ansatz ``u = g + φ N`` (Sukumar & Srivastava
    2022): ``φ`` a smooth approximate distance function vanishing exactly on the part ``on``
    (:class:`~kanpde.DistanceFunction`), ``g`` the value (a number, or a callable defined on the whole
    domain), ``N`` the network. It is then no loss term and has no points. ``on`` takes face names or shapes
    (not a mask callable); one hard condition per field.

    ``skeleton`` (a share in ``[0, 1)``, on a box's whole boundary only) draws that share of the points on the
    box's faces of codimension 2 and more, its edges and corners (:meth:`kanpde.Box.sample_skeleton`), the
    rest on its faces. In high dimension points on the faces almost never come near the edges and corners,
    where a network's hidden activations take their extreme values; ``problems/poisson5d.py`` uses 0.3.
    """

    value: Value = 0.0
    on: object = None
    hard: bool = dataclass_field(default=False, kw_only=True)
    skeleton: float = dataclass_field(default=0.0, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_value(self.value, "Dirichlet value")
        if not isinstance(self.hard, bool):
            raise TypeError(f"Dirichlet: hard must be True or False, got {self.hard!r}")
        s = self.skeleton
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not 0.0 <= s < 1.0:
            raise ValueError(
                f"Dirichlet: skeleton is the share of points on a box's edges and corners, a number in "
                f"[0, 1) such as 0.3, got {s!r}"
            )
        if s > 0 and (self.hard or self.on is not None):
            raise ValueError(
                "Dirichlet: skeleton applies to a penalised condition on the whole boundary of a box; "
                "drop on= and hard=True, or set skeleton=0"
            )

    def validate(self, domain: Domain) -> None:
        super().validate(domain)
        if self.hard:
            _check_hard(self, domain)
        if self.skeleton > 0 and not (isinstance(domain, Box) and domain.dim >= 2):
            raise ValueError(
                f"Dirichlet: skeleton needs a kp.Box domain of dimension >= 2 (the points lie on its edges "
                f"and corners), got {type(domain).__name__} of dimension {domain.dim}; set skeleton=0"
            )

    def sample(self, domain, n, sampler, seed, dtype, device):
        # the faces keep at least one point each; too few left to split over the codimensions 2..dim: none
        on_skeleton = min(n - 2 * domain.dim, round(self.skeleton * n)) if self.skeleton > 0 else 0
        if on_skeleton < domain.dim - 1:
            on_skeleton = 0
        pts = self._boundary(domain, n - on_skeleton, sampler, seed, dtype, device)
        if on_skeleton:
            x, normals = domain.sample_skeleton(on_skeleton, sampler, seed, dtype, device)
            pts = {"x": torch.cat([pts["x"], x]), "normals": torch.cat([pts["normals"], normals])}
        pts["target"] = evaluate_value(self.value, pts["x"], "Dirichlet value")
        return pts

    def residual(self, field_at, points):
        return (self.pick(field_at(points["x"])).value - points["target"])[:, None]


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
        return (self.pick(field_at(points["x"])).normal_derivative(points["normals"]) - points["target"])[
            :, None
        ]


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
        u = self.pick(field_at(points["x"]))
        u.require((), (0,))
        r = points["a"] * u.value + points["b"] * u.normal_derivative(points["normals"]) - points["g"]
        return r[:, None]


@dataclass(frozen=True)
class Boundary(_BoundaryCondition):
    """``equation(x, u, n) = 0`` on the boundary part ``on``: any relation of the fields and their derivatives
    there, with ``n`` the outward unit normals ``(N, d)``.

    ``u`` is the accessor the PDE's residual gets (``u["v"].d("x")`` in a system; the named field's accessor
    when the condition names ``field=``). The equation returns ``(N,)`` for one relation, or a list, tuple
    or dict of them for several, as a residual function does. E.g. a traction-free outflow of a 2-D flow,
    ``ν (u_y + v_x) = 0``: ``Boundary(lambda x, f, n: f["u"].d("y") + f["v"].d("x"), on=outlet)``.
    """

    equation: Callable | None = None
    on: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not callable(self.equation):
            raise TypeError(
                "Boundary needs equation=, a function (x, u, n) -> residual that vanishes where the condition "
                f"holds; got {self.equation!r}"
            )

    def sample(self, domain, n, sampler, seed, dtype, device):
        return self._boundary(domain, n, sampler, seed, dtype, device)

    def residual(self, field_at, points):
        out = self.equation(points["x"], self.pick(field_at(points["x"])), points["normals"])
        return equations(out, points["x"].shape[0], "the Boundary equation")[0]  # (N, C)


@dataclass(frozen=True)
class Periodic(Condition):
    """``u`` and ``∂u/∂axis`` agree on the ``axis``-min and ``axis``-max faces of a box (every field, unless
    ``field=`` names one)."""

    axis: str = "x"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.axis, str):
            raise TypeError(f"Periodic takes a coordinate name such as Periodic('x'), got {self.axis!r}")

    @property
    def label(self) -> str:
        return f"periodic_{self.axis}" + ("" if self.field is None else f"_{self.field}")

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
        if isinstance(lo, Fields) and self.field is None:
            pairs = [(lo[f], hi[f]) for f in lo.fields]
        else:
            pairs = [(self.pick(lo), self.pick(hi))]
        columns = [c for a, b in pairs for c in (a.value - b.value, a.d(self.axis) - b.d(self.axis))]
        return torch.stack(columns, dim=1)  # (N, 2 per field)


@dataclass(frozen=True)
class Initial(Condition):
    """``u(·, t0) = value`` on a :class:`~kanpde.SpaceTime` domain, or with ``derivative=n`` the ``n``-th
    time derivative: ``∂^n u/∂t^n (·, t0) = value``.

    A second-order-in-time equation such as the wave equation ``u_tt = c² u_xx`` takes two:
    ``Initial(u0)`` for the displacement and ``Initial(v0, derivative=1)`` for the initial velocity
    ``u_t(x, t0) = v0(x)``. ``derivative=0`` (the default) is the value itself. The loss names the term
    ``initial``, ``initial_dt`` (``derivative=1``) or ``initial_dt<n>``.

    With ``hard=True`` the value (and, given as well, the velocity) is imposed exactly by the ansatz
    ``u = L + φ_D τ^m N`` (:mod:`kanpde.hard`: ``τ = (t - t0) / (t1 - t0)``, ``m`` the number of exact initial
    conditions, ``φ_D`` the distance function of an exactly imposed Dirichlet part); it is then no loss term.
    A callable value is read on the initial slice only. With an exact Dirichlet condition too, the two must
    agree on its part at ``t0``.
    """

    value: Value = 0.0
    derivative: int = dataclass_field(default=0, kw_only=True)
    hard: bool = dataclass_field(default=False, kw_only=True)
    budget = "initial"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_value(self.value, "Initial value")
        n = self.derivative
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(
                f"Initial: derivative is the order of the time derivative imposed, an integer such as "
                f"derivative=1 for the initial velocity u_t(x, t0), got {n!r}"
            )
        if n < 0:
            raise ValueError(
                f"Initial: derivative must be >= 0 (0: the value u(x, t0), 1: the velocity u_t(x, t0)), "
                f"got {n}"
            )
        object.__setattr__(self, "derivative", int(n))
        if not isinstance(self.hard, bool):
            raise TypeError(f"Initial: hard must be True or False, got {self.hard!r}")

    @property
    def label(self) -> str:
        base = {0: "initial", 1: "initial_dt"}.get(self.derivative, f"initial_dt{self.derivative}")
        return base if self.field is None else f"{base}_{self.field}"

    def validate(self, domain: Domain) -> None:
        if not isinstance(domain, SpaceTime):
            raise ValueError(
                f"Initial needs a time-dependent domain, got {domain!r}; wrap it as SpaceTime(space, t=(t0, t1))"
            )

    def sample(self, domain, n, sampler, seed, dtype, device):
        x = domain.sample_initial(n, sampler=sampler, seed=seed, dtype=dtype, device=device)
        return {"x": x, "target": evaluate_value(self.value, x, "Initial value")}

    def residual(self, field_at, points):
        u = self.pick(field_at(points["x"]))
        value = u.value if self.derivative == 0 else u.dt(self.derivative)
        return (value - points["target"])[:, None]


def _as_float_array(value, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Data: {what} must be an array of numbers, got {type(value).__name__}") from err


@dataclass(frozen=True, eq=False)
class Data(Condition):
    """``u(x_m) = values_m`` at observation points: ``points`` ``(M, d)``, ``values`` ``(M,)`` (arrays or
    tensors, copied), e.g. measurements that identify unknown coefficients. Its points are its own (no
    sampling budget); under ``torch.distributed`` they are sharded like the others."""

    points: object = None
    values: object = None
    budget = None

    def __post_init__(self) -> None:
        super().__post_init__()
        x = _as_float_array(self.points, "points")
        v = _as_float_array(self.values, "values")
        x = x[:, None] if x.ndim == 1 else x  # (M, 1) for 1-D points
        v = v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v
        if x.ndim != 2 or v.ndim != 1 or x.shape[0] != v.shape[0] or x.shape[0] == 0:
            raise ValueError(
                f"Data: points must be (M, d) and values (M,) with the same M > 0, got {x.shape} and {v.shape}"
            )
        if not (np.isfinite(x).all() and np.isfinite(v).all()):
            raise ValueError("Data: points and values must be finite (drop the rows with NaN or inf)")
        object.__setattr__(self, "points", x)
        object.__setattr__(self, "values", v)

    def validate(self, domain: Domain) -> None:
        if self.points.shape[1] != domain.dim:
            raise ValueError(
                f"Data: points have {self.points.shape[1]} columns but the domain has {domain.dim} "
                f"({', '.join(domain.names)})"
            )
        inside = domain.contains(torch.as_tensor(self.points), tol=1e-6).numpy()
        if not inside.all():
            first = self.points[~inside][0].tolist()
            raise ValueError(f"Data: {int((~inside).sum())} point(s) lie outside the domain, e.g. {first}")

    def sample(self, domain, n, sampler, seed, dtype, device):
        x = torch.as_tensor(self.points, dtype=dtype, device=device)
        return {"x": x, "target": torch.as_tensor(self.values, dtype=dtype, device=device)}

    def residual(self, field_at, points):
        return (self.pick(field_at(points["x"])).value - points["target"])[:, None]
