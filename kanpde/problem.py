"""The declarative PDE problem: a domain, a residual, conditions, the fields, unknowns and the truth.

A problem states ``R[u](x) = 0`` for one field ``u`` or for several (``fields=("u", "v", "p")``), with
boundary, initial and data conditions, optional unknown coefficients (:class:`Unknown`) identified together
with the fields, and its truth: an exact solution, a :class:`~kanpde.Reference` (values at points), or
neither.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ._checks import check_count, check_positive_real
from .conditions import Boundary, Condition, Dirichlet, Periodic
from .derivatives import Field
from .geometry import Domain
from .hard import check_hard_initial
from .reference import Reference

__all__ = ["Problem", "Unknown"]

Residual = Callable[[Tensor, Field], Tensor]

MODEL_KEYS = ("model", "width", "grid", "activation")
"""Keys of a problem's ``recommended`` options that describe the model, not the solve."""

MARCH_KEYS = ("windows", "time_steps", "stages", "fit_steps")
"""Keys of a problem's ``recommended`` options that describe time marching: ``windows``, the number of time
windows of :func:`kanpde.march` (``kanpde solve`` marches when it is above 1), and ``time_steps``, ``stages`` and
``fit_steps``, the implicit Runge-Kutta steps of :func:`kanpde.discrete_time` (``kanpde solve`` steps when
``time_steps`` is given)."""


def _finite(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{what} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Unknown:
    """A trainable scalar coefficient of the problem, read in residuals as ``u.unknown(name)``.

    Args:
        name: how residuals and results name it (a Python identifier).
        init: its value before training.
        lower, upper: optional bounds, kept by the parametrisation: with a lower bound only
            ``θ = lower + exp(r)``, an upper bound only ``θ = upper - exp(r)``, both
            ``θ = lower + (upper - lower) σ(r)``, none ``θ = r``; the optimisers move ``r``.
        exact: its true value, when known (metrics then report the relative error).
    """

    name: str
    init: float = 1.0
    lower: float | None = field(default=None, kw_only=True)
    upper: float | None = field(default=None, kw_only=True)
    exact: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Unknown: name must be a Python identifier such as 'k', got {self.name!r}")
        object.__setattr__(self, "init", _finite(self.init, f"Unknown {self.name!r}: init"))
        for bound in ("lower", "upper", "exact"):
            if getattr(self, bound) is not None:
                object.__setattr__(
                    self, bound, _finite(getattr(self, bound), f"Unknown {self.name!r}: {bound}")
                )
        lo = -math.inf if self.lower is None else self.lower
        hi = math.inf if self.upper is None else self.upper
        if not lo < self.init < hi:
            raise ValueError(
                f"Unknown {self.name!r}: init {self.init} must lie strictly between its bounds "
                f"({self.lower}, {self.upper})"
            )

    def value(self, raw: Tensor) -> Tensor:
        """``θ`` of the unconstrained parameter ``r`` (see the class docstring)."""
        if self.lower is not None and self.upper is not None:
            return self.lower + (self.upper - self.lower) * torch.sigmoid(raw)
        if self.lower is not None:
            return self.lower + torch.exp(raw)
        if self.upper is not None:
            return self.upper - torch.exp(raw)
        return raw

    def raw(self, value: float) -> float:
        """The unconstrained parameter ``r`` with ``value(r) = value``."""
        if self.lower is not None and self.upper is not None:
            q = (value - self.lower) / (self.upper - self.lower)
            return math.log(q / (1 - q))
        if self.lower is not None:
            return math.log(value - self.lower)
        if self.upper is not None:
            return math.log(self.upper - value)
        return value

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "init": self.init,
            "lower": self.lower,
            "upper": self.upper,
            "exact": self.exact,
        }


@dataclass(frozen=True)
class Problem:
    """A PDE ``R[u](x) = 0`` on ``domain`` with boundary, initial and data ``conditions``.

    Args:
        domain: where the PDE holds (:class:`~kanpde.Rectangle`, :class:`~kanpde.SpaceTime`, CSG, ...).
        residual: ``residual(x, u)`` with points ``x`` ``(N, d)`` and the accessor ``u``
            (:class:`~kanpde.Field`; ``u["v"]`` for a field of several); returns ``(N,)`` or ``(N, 1)``, a
            list or tuple of such tensors, or a dict of named ones (one loss term per equation), zero for
            the true solution.
        conditions: boundary, initial and data conditions, each a weighted residual term; with several
            fields each names its ``field=`` (``Periodic`` applies to all fields by default).
        exact: optional exact solution ``exact(x) -> (N,)`` for one field or ``(N, n_fields)``, or a dict
            ``{field: callable}``; written with torch operations so that its gradient is available for the
            H1 error. It is called once on three interior points when the problem is built, so that a wrong
            return shape is reported at once.
        name: a short name used in files and tables.
        residual_weight: weight of every PDE equation in the loss (the KAN paper's α).
        source: the file the problem was loaded from (set by :func:`kanpde.load_problem`).
        fields: names of the unknown functions, one per model output (default ``("u",)``).
        unknowns: :class:`Unknown` coefficients trained together with the fields.
        reference: a :class:`~kanpde.Reference` the metrics use when there is no exact solution.
        recommended: solve settings that suit this problem, by :class:`~kanpde.SolveSettings` field name
            (``{"grids": (5, 10, 20, 40), "resample_every": 50}``) plus the model keys ``model``,
            ``width``, ``grid``, ``activation`` and the marching keys ``windows`` (time windows of
            :func:`kanpde.march`; :attr:`windows`), ``time_steps``, ``stages`` and ``fit_steps`` (the steps of
            :func:`kanpde.discrete_time`); ``kanpde solve`` starts from them (a config file and flags
            override them), and Python code can pass them on: ``kp.solve(problem, model,
            **problem.solve_options)``. :func:`kanpde.load_problem` checks them when it loads a problem
            file; a problem built in Python has them checked where they are used.
    """

    domain: Domain
    residual: Residual
    conditions: Sequence[Condition] = ()
    exact: Callable[[Tensor], Tensor] | Mapping[str, Callable[[Tensor], Tensor]] | None = None
    name: str = "problem"
    residual_weight: float = 1.0
    source: str | None = None
    fields: Sequence[str] = ("u",)
    unknowns: Sequence[Unknown] = ()
    reference: Reference | None = None
    recommended: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            raise TypeError(
                f"domain must be a kanpde domain (Interval, Rectangle, Box, Disk, Polygon, SpaceTime, ...), "
                f"got {self.domain!r}"
            )
        if not callable(self.residual):
            raise TypeError(f"residual must be a callable residual(x, u), got {self.residual!r}")
        object.__setattr__(self, "fields", _check_fields(self.fields))
        object.__setattr__(self, "unknowns", _check_unknowns(self.unknowns, self.fields))
        conditions = (self.conditions,) if isinstance(self.conditions, Condition) else tuple(self.conditions)
        for c in conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be kanpde conditions such as kp.Dirichlet(0.0), got {c!r}")
            self._check_condition_field(c)
            c.validate(self.domain)
        object.__setattr__(self, "conditions", conditions)
        hard = [c.field or self.fields[0] for c in self.hard_conditions if isinstance(c, Dirichlet)]
        if len(set(hard)) != len(hard):
            raise ValueError(
                "one hard Dirichlet condition per field: join the parts into one condition with on=[...] and "
                "a value callable defined on the domain, or make the others soft (hard=False)"
            )
        check_hard_initial(conditions, self.fields, self.domain)
        if self.exact is not None:
            _check_exact(self.exact, self.domain, self.fields)
        if self.reference is not None:
            self._check_reference()
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        check_positive_real("residual_weight", self.residual_weight)
        if self.recommended is not None:
            self._check_recommended()

    def _check_recommended(self) -> None:
        """A mapping of option names; its values are checked where settings are made from them (by
        :func:`kanpde.load_problem` for a problem file, else by :func:`kanpde.solve`)."""
        if not isinstance(self.recommended, Mapping) or not all(isinstance(k, str) for k in self.recommended):
            raise TypeError(
                f"recommended must be a dict of solve options by name, got {type(self.recommended).__name__}"
            )

    @property
    def solve_options(self) -> dict:
        """The recommended solve settings (without the model keys)."""
        return {k: v for k, v in (self.recommended or {}).items() if k not in MODEL_KEYS + MARCH_KEYS}

    @property
    def model_options(self) -> dict:
        """The recommended model: ``model``, ``width``, ``grid``, ``activation`` where given."""
        return {k: v for k, v in (self.recommended or {}).items() if k in MODEL_KEYS}

    @property
    def windows(self) -> int:
        """The recommended number of time-marching windows (``recommended["windows"]``; 1, no marching, when
        not given)."""
        return check_count("recommended windows", (self.recommended or {}).get("windows", 1))

    @property
    def time_steps(self) -> int:
        """The recommended number of implicit Runge-Kutta steps (``recommended["time_steps"]``,
        :func:`kanpde.discrete_time`); 0, no stepping, when not given."""
        steps = (self.recommended or {}).get("time_steps")
        return 0 if steps is None else check_count("recommended time_steps", steps)

    @property
    def stages(self) -> int:
        """The recommended Runge-Kutta stages of a step (``recommended["stages"]``; 3 when not given)."""
        return check_count("recommended stages", (self.recommended or {}).get("stages", 3))

    @property
    def fit_steps(self) -> int | None:
        """The recommended optimiser steps of the fit to the initial value before the first Runge-Kutta step
        (``recommended["fit_steps"]``, :func:`kanpde.discrete_time`); ``None``, the steps of a time step,
        when not given."""
        steps = (self.recommended or {}).get("fit_steps")
        return None if steps is None else check_count("recommended fit_steps", steps)

    def _check_condition_field(self, c: Condition) -> None:
        if c.field is None:
            if len(self.fields) > 1 and not isinstance(c, (Periodic, Boundary)):
                raise ValueError(
                    f"{type(c).__name__} needs field= in a problem with several fields; this problem's fields "
                    f"are {', '.join(self.fields)}, e.g. kp.{type(c).__name__}(..., field={self.fields[0]!r})"
                )
        elif c.field not in self.fields:
            raise ValueError(
                f"{type(c).__name__}: unknown field {c.field!r}; this problem's fields are {', '.join(self.fields)}"
            )

    def _check_reference(self) -> None:
        ref = self.reference
        if not isinstance(ref, Reference):
            raise TypeError(f"reference must be a kanpde.Reference, got {type(ref).__name__}")
        if ref.dim != self.domain.dim:
            raise ValueError(
                f"the reference has {ref.dim}-D points but the domain has {self.domain.dim} columns "
                f"({', '.join(self.domain.names)})"
            )
        if ref.fields != self.fields:
            if len(self.fields) == 1 and len(ref.fields) == 1:
                ref = Reference(ref.points, ref.values, self.fields, source=ref.source)
            else:
                ref = ref.select(self.fields)
            object.__setattr__(self, "reference", ref)

    @property
    def names(self) -> tuple[str, ...]:
        """Coordinate names of the points' columns."""
        return self.domain.names

    @property
    def hard_conditions(self) -> tuple[Condition, ...]:
        """The conditions imposed exactly by the ansatz (``Dirichlet(..., hard=True)``,
        ``Initial(..., hard=True)``)."""
        return tuple(c for c in self.conditions if getattr(c, "hard", False))

    @property
    def soft_conditions(self) -> tuple[Condition, ...]:
        """The conditions that are loss terms, in order."""
        return tuple(c for c in self.conditions if not getattr(c, "hard", False))

    @property
    def has_truth(self) -> bool:
        """Whether errors can be measured: an exact solution or a reference."""
        return self.exact is not None or self.reference is not None

    def exact_values(self, x: Tensor) -> Tensor:
        """The exact solution at ``x`` ``(N, d)`` as ``(N, n_fields)``."""
        if self.exact is None:
            raise ValueError(f"problem {self.name!r} has no exact solution (exact=None)")
        return _exact_columns(self.exact, x, self.fields)

    def truth(self, dtype=torch.float64, device="cpu") -> tuple[Tensor, Tensor] | None:
        """Points ``(M, d)`` and true values ``(M, n_fields)`` to measure errors on: the documented
        evaluation grid with the exact solution, else the reference's points; ``None`` without either."""
        if self.exact is not None:
            x = self.domain.evaluation_points(dtype, device)[0]
            with torch.no_grad():
                values = self.exact_values(x)
            _warn_non_finite_exact(self.name, x, values)
            return x, values
        if self.reference is not None:
            return self.reference.tensors(dtype, device)
        return None


def _warn_non_finite_exact(name: str, x: Tensor, values: Tensor) -> None:
    """Warn, naming a point, when the exact solution is NaN or infinite at evaluation points (every metric
    against it would be NaN)."""
    bad = ~torch.isfinite(values).all(dim=1)  # (M,)
    if bool(bad.any()):
        first = x[bad][0].tolist()
        warnings.warn(
            f"problem {name!r}: the exact solution is NaN or infinite at {int(bad.sum())} of {len(bad)} "
            f"evaluation points (e.g. at {first}); its metrics will not be finite. Fix exact(x) there",
            RuntimeWarning,
            stacklevel=3,
        )


def _check_fields(fields) -> tuple[str, ...]:
    if isinstance(fields, str):
        fields = (fields,)
    fields = tuple(fields)
    if not fields or not all(isinstance(f, str) and f.isidentifier() for f in fields):
        raise ValueError(f"fields must be names such as ('u', 'v', 'p'), got {fields!r}")
    if len(set(fields)) != len(fields):
        raise ValueError(f"fields must be distinct names, got {fields!r}")
    return fields


def _check_unknowns(unknowns, fields) -> tuple[Unknown, ...]:
    if isinstance(unknowns, Unknown):
        unknowns = (unknowns,)
    unknowns = tuple(unknowns)
    seen = set()
    for u in unknowns:
        if not isinstance(u, Unknown):
            raise TypeError(
                f"unknowns must be kanpde.Unknown objects such as kp.Unknown('k', 1.0), got {u!r}"
            )
        if u.name in seen:
            raise ValueError(f"duplicate unknown {u.name!r}; give every unknown its own name")
        if u.name in fields:
            raise ValueError(f"unknown {u.name!r} has the name of a field; rename one of them")
        seen.add(u.name)
    return unknowns


def _exact_columns(exact, x: Tensor, fields: Sequence[str]) -> Tensor:
    n = x.shape[0]
    if isinstance(exact, Mapping):
        columns = [exact[f](x) for f in fields]
        for f, c in zip(fields, columns, strict=True):
            if not isinstance(c, Tensor) or tuple(c.shape) not in ((n,), (n, 1)):
                raise ValueError(
                    f"exact[{f!r}](x) must return a tensor of shape (N,), got {getattr(c, 'shape', c)}"
                )
        return torch.stack([c.reshape(n) for c in columns], dim=1)  # (N, n_fields)
    out = exact(x)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"exact(x) must return a torch.Tensor (written with torch operations, so that its gradient "
            f"exists), got {type(out).__name__}"
        )
    k = len(fields)
    if k == 1 and tuple(out.shape) in ((n,), (n, 1)):
        return out.reshape(n, 1)
    if k > 1 and tuple(out.shape) == (n, k):
        return out
    want = "(N,) or (N, 1), e.g. torch.sin(x[:, 0])" if k == 1 else f"(N, {k}), one column per field"
    raise ValueError(
        f"exact(x) returned shape {tuple(out.shape)} for points of shape {tuple(x.shape)}; return {want}"
    )


def _check_exact(exact: object, domain: Domain, fields) -> None:
    """Call ``exact`` on a few interior points, so that a wrong return shape is reported here, early."""
    if isinstance(exact, Mapping):
        missing = [f for f in fields if f not in exact]
        extra = [k for k in exact if k not in fields]
        if missing or extra or not all(callable(v) for v in exact.values()):
            raise ValueError(
                f"exact as a dict needs one callable per field {', '.join(fields)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not fields: {', '.join(map(str, extra))}" if extra else "")
            )
    elif not callable(exact):
        raise TypeError(
            f"exact must be a callable exact(x), a dict of them per field, or None, got {exact!r}"
        )
    x = domain.sample_interior(3, sampler="grid", dtype=torch.float64)  # (3, d)
    _exact_columns(exact, x, fields)
