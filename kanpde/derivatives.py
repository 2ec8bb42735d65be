"""The accessor ``u`` handed to residuals: values and named derivatives of the model at points.

``u.value``, ``u.d("x")``, ``u.d("x", "y")``, ``u.grad()``, ``u.laplacian()`` and ``u.dt()`` are computed
once per evaluation and cached. Two engines give the same numbers:

* ``"forward"`` pushes a second-order jet through the network (:mod:`kanpde.jet`): one pass gives the
  value, the gradient and exactly the second derivatives asked for.
* ``"autograd"`` differentiates the model output with nested ``torch.autograd.grad``; it works for any
  ``torch.nn.Module``.

``"auto"`` picks ``"forward"`` when the model has a ``jet`` method. In forward mode the set of second
derivatives a residual needs is learned on its first call and kept in a :class:`DerivativePlan`, so later
evaluations compute everything in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .jet import JetSpec

__all__ = ["Field", "DerivativePlan", "MODES", "resolve_mode"]

MODES = ("auto", "forward", "autograd")


def resolve_mode(mode: str, model: nn.Module) -> str:
    """``"forward"`` or ``"autograd"`` for ``mode`` (one of :data:`MODES`) and ``model``."""
    if mode not in MODES:
        raise ValueError(f"unknown derivatives mode {mode!r}; valid ones: {', '.join(MODES)}")
    has_jet = hasattr(model, "jet")
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


class Field:
    """The solution ``u`` at points ``x`` ``(N, d)``, with named coordinates.

    Args:
        model: maps ``(N, d)`` to ``(N, 1)``.
        x: the points.
        names: coordinate names, one per column (``"x"``, ``"y"``, ..., ``"t"`` last for space-time).
        space_dim: number of spatial columns (the Laplacian and the gradient run over these).
        mode: ``"forward"`` or ``"autograd"``.
        plan: shared :class:`DerivativePlan` (forward mode); a fresh one when ``None``.
        records: list collecting each layer's jet rows for exact per-point Jacobians (forward mode).
        jet: rows ``(N, R)`` of the model's jet at ``x`` already computed for ``jet_spec`` (forward mode; the
            loss evaluates all its terms' points in one pass); used while they carry what is asked for.
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
        self._cache: dict[tuple[int, ...], Tensor] = {}
        self.x = x.detach().requires_grad_(True) if mode == "autograd" else x

    # -- engines ---------------------------------------------------------------------------------------
    def _forward(self, grad: bool, pairs: tuple[tuple[int, int], ...]) -> Tensor:
        spec = self.plan.spec.union(grad, pairs)
        self.plan.spec = spec
        if self._jet is None or self._jet_spec.union(spec.grad, spec.pairs) != self._jet_spec:
            # Records of an earlier, smaller pass stay: values already taken from it still feed the
            # residual, and per-point Jacobians add up over passes (Network.param_jacobian).
            self._jet = self.model.jet(self.x, spec, self.records)[..., 0]  # (N, R)
            self._jet_spec = spec
        return self._jet

    def _autograd(self, key: tuple[int, ...]) -> Tensor:
        if () not in self._cache:
            self._cache[()] = self.model(self.x)[:, 0]
        if key == () or key in self._cache:
            return self._cache[key]
        lower = self._autograd(key[:-1])
        g = torch.autograd.grad(lower.sum(), self.x, create_graph=True)[0]  # (N, d)
        for a in range(g.shape[1]):
            self._cache[key[:-1] + (a,)] = g[:, a]
        return self._cache[key]

    def _get(self, key: tuple[int, ...]) -> Tensor:
        """``u`` (key ``()``), ``du/dx_a`` (``(a,)``) or ``d2u/dx_a dx_b`` (``(a, b)``) as ``(N,)``."""
        if self.mode == "autograd":
            return self._autograd(tuple(sorted(key)))
        if len(key) == 0:
            jet = self._forward(False, ())
            return jet[:, 0]
        if len(key) == 1:
            jet = self._forward(True, ())
            return jet[:, self._jet_spec.first_row(key[0])]
        pair = (min(key), max(key))
        jet = self._forward(True, (pair,))
        return jet[:, self._jet_spec.pair_row(*pair)]

    def require(self, *keys: tuple[int, ...]) -> None:
        """Announce derivatives needed soon, so a single forward pass computes them all."""
        if self.mode == "forward":
            pairs = tuple((min(k), max(k)) for k in keys if len(k) == 2)
            self._forward(any(len(k) >= 1 for k in keys), pairs)

    def _index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"unknown coordinate {name!r}; valid names are {', '.join(self.names)}")
        return self.names.index(name)

    # -- public accessors -----------------------------------------------------------------------------
    @property
    def value(self) -> Tensor:
        """``u`` at the points, shape ``(N,)``."""
        return self._get(())

    def d(self, *names: str) -> Tensor:
        """``du/dname`` for one name, ``d2u/dname1 dname2`` for two; shape ``(N,)``."""
        if not 1 <= len(names) <= 2:
            raise ValueError(
                f"u.d takes one or two coordinate names such as u.d('x') or u.d('x', 'y'), got {names}"
            )
        return self._get(tuple(self._index(n) for n in names))

    def grad(self) -> Tensor:
        """Spatial gradient ``(N, d_space)``."""
        return torch.stack([self._get((a,)) for a in range(self.space_dim)], dim=1)

    def laplacian(self) -> Tensor:
        """Spatial Laplacian ``sum_a d2u/dx_a^2``, shape ``(N,)``."""
        self.require(*((a, a) for a in range(self.space_dim)))
        return sum(self._get((a, a)) for a in range(self.space_dim))

    def dt(self) -> Tensor:
        """Time derivative ``du/dt`` (space-time problems), shape ``(N,)``."""
        if "t" not in self.names:
            raise ValueError(
                f"u.dt() needs a SpaceTime domain; this problem's coordinates are {', '.join(self.names)}"
            )
        return self._get((self.names.index("t"),))

    def normal_derivative(self, normals: Tensor) -> Tensor:
        """``grad u · n`` for unit normals ``(N, d_space)``, shape ``(N,)``."""
        return (self.grad() * normals).sum(dim=1)
