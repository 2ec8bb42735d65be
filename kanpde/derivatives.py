"""The accessor ``u`` handed to residuals: values and named derivatives of the fields at points.

``u.value``, ``u.d("x")``, ``u.d("x", "y")``, ``u.d("x", "x", "x", "x")`` (any order, mixed too; also
``u.d("x", order=4)``), ``u.grad()``, ``u.laplacian()``, ``u.biharmonic()`` and ``u.dt()`` (``u.dt(2)`` for
``u_tt``) are computed once per evaluation and cached. A problem with several fields
(``fields=("u", "v", "p")``) hands the residual a :class:`Fields` accessor: ``u["v"]`` is the :class:`Field`
of one field, with the same methods; ``u.unknown("k")`` reads an unknown coefficient (:class:`kanpde.Unknown`)
at the points. With one field the residual gets that field's :class:`Field` itself, and ``u["u"]`` works too.

Two engines give the same numbers:

* ``"forward"`` pushes a second-order jet through the network (:mod:`kanpde.jet`): one pass gives the
  value, the gradient and exactly the second derivatives asked for, of every field at once. When a residual
  asks for a derivative of order three or more, the pass carries truncated Taylor series instead
  (:mod:`kanpde.taylor`), exact to any order.
* ``"autograd"`` differentiates the model output with nested ``torch.autograd.grad`` (any order); it works
  for any ``torch.nn.Module``.

``"auto"`` picks ``"forward"`` when the model has a ``jet`` method. In forward mode the set of second
derivatives a residual needs is learned on its first call and kept in a :class:`DerivativePlan`, so later
evaluations compute everything in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .jet import JetSpec

__all__ = [
    "Field",
    "Fields",
    "Evaluation",
    "DerivativePlan",
    "MODES",
    "resolve_mode",
    "accessor",
    "derivative_key",
]

MODES = ("auto", "forward", "autograd")


def resolve_mode(mode: str, model: nn.Module) -> str:
    """``"forward"`` or ``"autograd"`` for ``mode`` (one of :data:`MODES`) and ``model``."""
    if mode not in MODES:
        raise ValueError(f"unknown derivatives mode {mode!r}; valid ones: {', '.join(MODES)}")
    has_jet = hasattr(getattr(model, "net", model), "jet")  # an Ansatz has the jets of its network
    if mode == "forward" and not has_jet:
        raise ValueError(
            f"derivatives='forward' needs a model with a jet method (kanpde.KAN or kanpde.MLP), "
            f"got {type(model).__name__}; pass derivatives='autograd'"
        )
    if mode == "auto":
        return "forward" if has_jet else "autograd"
    return mode


class DerivativePlan:
    """The jet rows one residual term needs; grows when a residual asks for more, shared across calls."""

    def __init__(self, dim: int) -> None:
        self.spec = JetSpec(dim)


class Evaluation:
    """The model at points ``x`` ``(N, d)``: its outputs and their derivatives, shared by all fields.

    Args:
        model: maps ``(N, d)`` to ``(N, n_fields)``; in forward mode it has ``jet(x, spec, records)``, and
            for unknown coefficients ``unknown(name, n, records)``.
        x: the points.
        names: coordinate names, one per column (``"x"``, ``"y"``, ..., ``"t"`` last for space-time).
        space_dim: number of spatial columns (the Laplacian and the gradient run over these).
        mode: ``"forward"`` or ``"autograd"``.
        plan: shared :class:`DerivativePlan` (forward mode); a fresh one when ``None``.
        records: list collecting each layer's jet rows for exact per-point Jacobians (forward mode).
        jet: rows ``(N, R, n_fields)`` of the model's jet at ``x`` already computed for ``jet_spec`` (forward
            mode; the loss evaluates all its terms' points in one pass); used while they carry what is
            asked for.
    """

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        names: Sequence[str],
        space_dim: int,
        mode: str = "forward",
        plan: DerivativePlan | None = None,
        records: list | None = None,
        jet: Tensor | None = None,
        jet_spec: JetSpec | None = None,
    ) -> None:
        self.model, self.names, self.space_dim, self.mode = model, tuple(names), space_dim, mode
        self.plan = plan if plan is not None else DerivativePlan(len(self.names))
        self.records = records
        self._jet: Tensor | None = jet
        self._jet_spec: JetSpec | None = jet_spec
        self._cache: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        self._values: Tensor | None = None
        self.x = x.detach().requires_grad_(True) if mode == "autograd" else x

    def _forward(
        self, grad: bool, pairs: tuple[tuple[int, int], ...], high: tuple[tuple[int, ...], ...] = ()
    ) -> Tensor:
        spec = self.plan.spec.union(grad, pairs, high)
        self.plan.spec = spec
        if self._jet is None or self._jet_spec.merge(spec) != self._jet_spec:
            # Records of an earlier, smaller pass stay: values already taken from it still feed the
            # residual, and per-point Jacobians add up over passes (Network.param_jacobian).
            self._jet = self.model.jet(self.x, spec, self.records)  # (N, R, n_fields)
            self._jet_spec = spec
        return self._jet

    def _autograd(self, field: int, key: tuple[int, ...]) -> Tensor:
        if self._values is None:
            self._values = self.model(self.x)  # (N, n_fields)
        if key == ():
            return self._values[:, field]
        if (field, key) in self._cache:
            return self._cache[(field, key)]
        lower = self._autograd(field, key[:-1])
        g = None
        if lower.requires_grad:  # else lower does not depend on x (e.g. the top derivative of a polynomial)
            g = torch.autograd.grad(lower.sum(), self.x, create_graph=True, allow_unused=True)[0]  # (N, d)
        g = torch.zeros_like(self.x) if g is None else g
        for a in range(g.shape[1]):
            self._cache[(field, key[:-1] + (a,))] = g[:, a]
        return self._cache[(field, key)]

    def get(self, field: int, key: tuple[int, ...]) -> Tensor:
        """Field ``field``'s ``u`` (key ``()``), ``du/dx_a`` (``(a,)``), ``d2u/dx_a dx_b`` (``(a, b)``) or
        the derivative by every column of a longer key (``(0, 0, 0, 0)``: ``d4u/dx_0^4``), shape ``(N,)``."""
        if self.mode == "autograd":
            return self._autograd(field, tuple(sorted(key)))
        if len(key) == 0:
            return self._forward(False, ())[:, 0, field]
        if len(key) == 1:
            jet = self._forward(True, ())
            return jet[:, self._jet_spec.first_row(key[0]), field]
        if len(key) == 2:
            pair = (min(key), max(key))
            jet = self._forward(True, (pair,))
            return jet[:, self._jet_spec.pair_row(*pair), field]
        high = tuple(sorted(key))
        jet = self._forward(True, (), (high,))
        return jet[:, self._jet_spec.high_row(high), field]

    def require(self, *keys: tuple[int, ...]) -> None:
        """Announce derivatives needed soon, so a single forward pass computes them all."""
        if self.mode == "forward":
            pairs = tuple((min(k), max(k)) for k in keys if len(k) == 2)
            high = tuple(tuple(sorted(k)) for k in keys if len(k) >= 3)
            self._forward(any(len(k) >= 1 for k in keys), pairs, high)

    def index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"unknown coordinate {name!r}; valid names are {', '.join(self.names)}")
        return self.names.index(name)

    def unknown(self, name: str) -> Tensor:
        """The unknown coefficient ``name`` at every point, shape ``(N,)``."""
        if not hasattr(self.model, "unknown"):
            raise ValueError(
                f"u.unknown({name!r}): this problem declares no unknowns; pass unknowns=[kp.Unknown(...)]"
            )
        return self.model.unknown(name, self.x, self.records)


def derivative_key(
    coordinates: Sequence[str], names: Sequence[str], order: int | None, call: str = "u.d({})"
) -> tuple[int, ...]:
    """The columns (in ``coordinates``) of the derivative by ``names``, ``order`` times the one name when
    given; bad requests raise with ``call`` (a format such as ``"u.d({})"``) in the message."""
    if not names:
        raise ValueError(
            f"{call.format('')} needs at least one coordinate name, e.g. {call.format(repr('x'))} or "
            f"{call.format(repr('x') + ', ' + repr('y'))}"
        )
    for n in names:
        if not isinstance(n, str):
            raise TypeError(
                f"{call.format('...')} takes coordinate names as strings, e.g. {call.format(repr('x'))}, got "
                f"{n!r}; for the n-th derivative by one name write {call.format(repr('x') + ', order=n')}"
            )
    if order is not None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(
                f"{call.format('...')}: order must be an integer >= 1 such as order=4, got {order!r}"
            )
        if len(names) != 1:
            mixed = ", ".join(repr(n) for n in ("x", "x", "y", "y"))
            raise ValueError(
                f"{call.format('...')}: order= repeats one coordinate name, got {len(names)} names "
                f"{tuple(names)}; for a mixed derivative list every name, e.g. {call.format(mixed)}"
            )
        names = tuple(names) * order
    for n in names:
        if n not in coordinates:
            raise ValueError(f"unknown coordinate {n!r}; valid names are {', '.join(coordinates)}")
    return tuple(coordinates.index(n) for n in names)


class Field:
    """One field of the solution at the points, with named derivatives (the ``u`` of a one-field residual,
    ``u["v"]`` of a several-field one).

    ``Field(model, x, names, space_dim, mode)`` evaluates output ``index`` of ``model`` at ``x`` on its own
    (the arguments are those of :class:`Evaluation`); the loss builds fields that share one evaluation.
    """

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        names: Sequence[str],
        space_dim: int,
        mode: str = "forward",
        plan: DerivativePlan | None = None,
        records: list | None = None,
        jet: Tensor | None = None,
        jet_spec: JetSpec | None = None,
        *,
        index: int = 0,
        name: str = "u",
    ) -> None:
        ev = Evaluation(model, x, names, space_dim, mode, plan, records, jet, jet_spec)
        self._ev, self.index, self.name = ev, index, name

    @classmethod
    def of(cls, evaluation: Evaluation, index: int = 0, name: str = "u") -> Field:
        """The field ``index`` (named ``name``) of a shared :class:`Evaluation`."""
        field = cls.__new__(cls)
        field._ev, field.index, field.name = evaluation, index, name
        return field

    @property
    def x(self) -> Tensor:
        """The points ``(N, d)``."""
        return self._ev.x

    @property
    def names(self) -> tuple[str, ...]:
        """The coordinate names of the points' columns."""
        return self._ev.names

    @property
    def space_dim(self) -> int:
        return self._ev.space_dim

    def _get(self, key: tuple[int, ...]) -> Tensor:
        return self._ev.get(self.index, key)

    def require(self, *keys: tuple[int, ...]) -> None:
        """Announce derivatives needed soon, so a single forward pass computes them all."""
        self._ev.require(*keys)

    def __getitem__(self, name: str) -> Field:
        if name != self.name:
            raise KeyError(f"unknown field {name!r}; this problem has the one field {self.name!r}")
        return self

    def unknown(self, name: str) -> Tensor:
        """The unknown coefficient ``name`` (a :class:`kanpde.Unknown`) at the points, shape ``(N,)``."""
        return self._ev.unknown(name)

    # -- public accessors -----------------------------------------------------------------------------
    @property
    def value(self) -> Tensor:
        """``u`` at the points, shape ``(N,)``."""
        return self._get(())

    def d(self, *names: str, order: int | None = None) -> Tensor:
        """The derivative by every named coordinate, shape ``(N,)``: ``u.d("x")`` is ``du/dx``,
        ``u.d("x", "y")`` is ``d2u/dx dy``, ``u.d("x", "x", "y", "y")`` is ``d4u/dx2 dy2`` (any order; the
        order of the names does not matter). ``u.d("x", order=4)`` is ``d4u/dx4``."""
        return self._get(derivative_key(self._ev.names, names, order))

    def grad(self) -> Tensor:
        """Spatial gradient ``(N, d_space)``."""
        return torch.stack([self._get((a,)) for a in range(self._ev.space_dim)], dim=1)

    def laplacian(self) -> Tensor:
        """Spatial Laplacian ``sum_a d2u/dx_a^2``, shape ``(N,)``."""
        self.require(*((a, a) for a in range(self._ev.space_dim)))
        return sum(self._get((a, a)) for a in range(self._ev.space_dim))

    def biharmonic(self) -> Tensor:
        """Spatial bi-Laplacian ``Δ²u = sum_a sum_b d4u/dx_a^2 dx_b^2`` (``u_xxxx`` in 1-D,
        ``u_xxxx + 2 u_xxyy + u_yyyy`` in 2-D), shape ``(N,)``."""
        dim = self._ev.space_dim
        terms = [((a, a, b, b), 1.0 if a == b else 2.0) for a in range(dim) for b in range(a, dim)]
        self.require(*(key for key, _ in terms))
        return sum(weight * self._get(key) for key, weight in terms)

    def dt(self, order: int = 1) -> Tensor:
        """Time derivative ``du/dt`` (space-time problems), ``u.dt(2)`` for ``d2u/dt2``; shape ``(N,)``."""
        if "t" not in self._ev.names:
            raise ValueError(
                f"u.dt() needs a SpaceTime domain; this problem's coordinates are {', '.join(self._ev.names)}"
            )
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"u.dt(order): order must be an integer >= 1 such as u.dt(2), got {order!r}")
        return self._get(derivative_key(self._ev.names, ("t",), order))

    def normal_derivative(self, normals: Tensor) -> Tensor:
        """``grad u · n`` for unit normals ``(N, d_space)``, shape ``(N,)``."""
        return (self.grad() * normals).sum(dim=1)


class Fields:
    """The accessor of a problem with several fields: ``u["name"]`` is one :class:`Field`."""

    def __init__(self, evaluation: Evaluation, fields: Sequence[str]) -> None:
        self._ev, self.fields = evaluation, tuple(fields)
        self._each = {name: Field.of(evaluation, i, name) for i, name in enumerate(self.fields)}

    @property
    def x(self) -> Tensor:
        """The points ``(N, d)``."""
        return self._ev.x

    def __getitem__(self, name: str) -> Field:
        if name not in self._each:
            raise KeyError(f"unknown field {name!r}; this problem's fields are {', '.join(self.fields)}")
        return self._each[name]

    def unknown(self, name: str) -> Tensor:
        """The unknown coefficient ``name`` (a :class:`kanpde.Unknown`) at the points, shape ``(N,)``."""
        return self._ev.unknown(name)

    def require(self, *keys: tuple[int, ...]) -> None:
        """Announce derivatives needed soon (of every field: they come from one pass)."""
        self._ev.require(*keys)

    def _which(self, what: str):
        raise ValueError(
            f"u.{what}: this problem has the fields {', '.join(self.fields)}; write u[{self.fields[0]!r}].{what} "
            "(the accessor of one field)"
        )

    @property
    def value(self) -> Tensor:
        self._which("value")

    def d(self, *names: str, order: int | None = None) -> Tensor:
        self._which("d(...)")

    def grad(self) -> Tensor:
        self._which("grad()")

    def laplacian(self) -> Tensor:
        self._which("laplacian()")

    def biharmonic(self) -> Tensor:
        self._which("biharmonic()")

    def dt(self, order: int = 1) -> Tensor:
        self._which("dt()")

    def normal_derivative(self, normals: Tensor) -> Tensor:
        self._which("normal_derivative(n)")


def accessor(evaluation: Evaluation, fields: Sequence[str]) -> Field | Fields:
    """What a residual receives: the :class:`Field` of the one field, or :class:`Fields` of several."""
    return Field.of(evaluation, 0, fields[0]) if len(fields) == 1 else Fields(evaluation, fields)
