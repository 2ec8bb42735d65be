"""The sparsity penalty as a loss term: ``λ P`` of the KAN paper (Liu et al. 2024, §2.5.1) on edge magnitudes.

``P`` itself, its rows and the edge magnitudes are the KAN's (:meth:`kanpde.KAN.sparsity_penalty`,
:meth:`kanpde.KAN.penalty_rows`); :class:`SparseLoss` adds ``λ P`` to a :class:`~kanpde.loss.PINNLoss`.

**With each optimiser.** Adam and L-BFGS minimise ``L + λ P`` (value and gradient by autograd).
Levenberg-Marquardt needs least-squares rows: every term of ``λ P`` is non-negative, so the rows
``sqrt(λ mu_1 |phi_lji|_1)`` (one per edge) and ``sqrt(λ mu_2 S(Phi_l))`` (one per layer), appended to the
PDE residual rows, have squares that sum to ``λ P`` exactly, and LM minimises the same ``L + λ P``. Their
Jacobian rows, ``∇(λ mu |phi|_1) / (2 sqrt(λ mu |phi|_1))``, come from one backward pass each; a row whose
value is zero (a removed edge) gets a zero Jacobian row (the square root has no derivative at 0). The
Gauss-Newton matrix then holds the rank-one curvature ``∇t ∇tᵀ / (4 t)`` of each term ``t``.

On several ranks the penalty is computed on rank 0 alone, on all interior points, and the other ranks add
nothing, so the reduced sums are the single-process ones.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_positive_real
from .loss import chunked_loss, chunked_rows

__all__ = ["SparseLoss"]


class SparseLoss:
    """A :class:`~kanpde.loss.PINNLoss` plus ``weight · P`` on points ``x`` (the penalty is its last part,
    ``"sparsity"``); ``active`` is false on ranks other than 0, which add nothing.

    The model it is called with is a KAN or an :class:`~kanpde.ansatz.Ansatz` around one (the penalty is on
    the network's edges; the unknowns' Jacobian columns are zero). When the inner loss goes in several
    :attr:`chunks`, so does this one: the inner chunks, each with a zero ``"sparsity"`` part, then one chunk
    holding the penalty alone (its value and, for Gauss-Newton methods, its rows), so the optimisers' sums
    over the chunks are the unchunked ones. The penalty needs every point's edge values at once (the
    entropy is not a sum over points), so its chunk evaluates the edges on all of ``x``.
    """

    def __init__(self, loss, x: Tensor, weight: float, active: bool = True) -> None:
        self.inner, self.x, self.active = loss, x, active
        self.weight = check_positive_real("sparsity", weight, allow_zero=True)
        self.mode, self.comm = loss.mode, loss.comm
        inner = tuple(getattr(loss, "chunks", (loss,)))
        self.chunks = (self,) if len(inner) == 1 else (*(_Padded(c) for c in inner), _PenaltyChunk(self))

    # -- what the trainer reads of a PINNLoss ----------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [*self.inner.names, "sparsity"]

    @property
    def points(self):
        return self.inner.points

    @property
    def last_residual(self) -> Tensor | None:
        return self.inner.last_residual

    def set_scale(self, scale: Tensor | None) -> None:
        self.inner.set_scale(scale)

    def pde_residual(self, model: nn.Module, x: Tensor) -> Tensor:
        return self.inner.pde_residual(model, x)

    # -- values and rows -------------------------------------------------------------------------------
    def penalty(self, model: nn.Module) -> Tensor:
        """``weight · P`` of the network at ``x`` (0-dim; 0 on an inactive rank)."""
        if not self.active:
            return self.x.new_zeros(())
        return self.weight * _network(model).sparsity_penalty(self.x)

    def __call__(self, model: nn.Module) -> tuple[Tensor, Tensor]:
        if len(self.chunks) > 1:
            return chunked_loss(self.chunks, model)
        total, parts = self.inner(model)
        p = self.penalty(model)
        return total + p, torch.cat([parts, p.reshape(1)])

    def residual_and_jacobian(self, model: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        """The inner loss's rows with the penalty rows appended (none on inactive ranks)."""
        if len(self.chunks) > 1:
            return chunked_rows(self.chunks, model)
        r, jac, parts = self.inner.residual_and_jacobian(model)
        rows, extra = self.penalty_rows(model, jac)
        return torch.cat([r, rows]), torch.cat([jac, extra]), torch.cat([parts, (rows @ rows).reshape(1)])

    def penalty_rows(self, model: nn.Module, like: Tensor) -> tuple[Tensor, Tensor]:
        """The penalty's rows ``(E + L,)`` and their Jacobian ``(E + L, P)`` with respect to
        ``model.parameters()`` (no rows on an inactive rank); ``like`` gives dtype and device."""
        n_params = sum(p.numel() for p in model.parameters())
        if not self.active:
            return like.new_zeros(0), like.new_zeros(0, n_params)
        params = list(model.parameters())
        with torch.enable_grad():
            rows = _network(model).penalty_rows(self.x, self.weight)
            values = rows.detach()
            extra = like.new_zeros(rows.shape[0], n_params)  # (E + L, P)
            for k in range(rows.shape[0]):
                if float(values[k]) > 0:
                    grads = torch.autograd.grad(rows[k], params, retain_graph=True, allow_unused=True)
                    extra[k] = torch.cat([torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                                          for g, p in zip(grads, params, strict=True)])  # fmt: skip
        return values, extra


def _network(model: nn.Module) -> nn.Module:
    """The KAN of an :class:`~kanpde.ansatz.Ansatz` (or the model itself)."""
    return getattr(model, "net", model)


class _Padded:
    """A chunk of the inner loss with a zero ``"sparsity"`` part appended."""

    def __init__(self, chunk) -> None:
        self.chunk, self.mode, self.comm = chunk, chunk.mode, chunk.comm

    def __call__(self, model: nn.Module) -> tuple[Tensor, Tensor]:
        total, parts = self.chunk(model)
        return total, torch.cat([parts, parts.new_zeros(1)])

    def residual_and_jacobian(self, model: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        r, jac, parts = self.chunk.residual_and_jacobian(model)
        return r, jac, torch.cat([parts, parts.new_zeros(1)])


class _PenaltyChunk:
    """The penalty alone as a chunk: value ``weight · P`` with zero parts but the last, and its rows."""

    def __init__(self, owner: SparseLoss) -> None:
        self.owner, self.mode, self.comm = owner, owner.mode, owner.comm

    def _parts(self, value: Tensor) -> Tensor:
        n = len(self.owner.inner.names)
        return torch.cat([value.new_zeros(n), value.reshape(1)])

    def __call__(self, model: nn.Module) -> tuple[Tensor, Tensor]:
        p = self.owner.penalty(model)
        return p, self._parts(p)

    def residual_and_jacobian(self, model: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
        rows, jac = self.owner.penalty_rows(model, self.owner.x)
        return rows, jac, self._parts(rows @ rows)
