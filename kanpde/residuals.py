"""The PDE's residual rows: a residual function's output as columns, and its values at any points.

A problem's ``residual(x, u)`` returns one tensor, a list of tensors or a dict of named ones (one equation
each); :func:`equations` turns that into columns ``R`` of shape ``(N, C)`` with the equations' names.
:func:`residual_rows` evaluates ``R[u](x)`` of a model at any points, in batches and without a graph. It is
the one place that does: the loss's knot and point placement, the levers (:mod:`kanpde.levers`) and
:meth:`kanpde.Solution.residuals` all call it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .derivatives import DerivativePlan, Evaluation, accessor

__all__ = ["equations", "residual_rows"]


def _as_column(r: Tensor, n: int, what: str) -> Tensor:
    if not isinstance(r, Tensor):
        raise TypeError(f"{what} must return a torch.Tensor, got {type(r).__name__}")
    if r.ndim == 1 and r.shape[0] == n:
        return r[:, None]
    if r.ndim == 2 and r.shape[0] == n and r.shape[1] == 1:
        return r
    raise ValueError(
        f"{what} returned shape {tuple(r.shape)} for {n} points; return shape (N,) or (N, 1) (several "
        "equations as a list or a dict of such tensors)"
    )


def equations(out, n: int, what: str = "the residual function") -> tuple[Tensor, tuple[str, ...]]:
    """A residual function's output as columns ``(N, C)`` and the equations' names: one tensor ->
    ``("residual",)``; a list or tuple -> ``residual_1, ...``; a dict -> its keys."""
    if isinstance(out, dict):
        if not out or not all(isinstance(k, str) and k for k in out):
            raise ValueError(f"{what} returned a dict; its keys must be non-empty equation names")
        names, parts = tuple(out), list(out.values())
    elif isinstance(out, (list, tuple)):
        if not out:
            raise ValueError(f"{what} returned an empty {type(out).__name__}; return one tensor per equation")
        names, parts = tuple(f"residual_{i + 1}" for i in range(len(out))), list(out)
    else:
        return _as_column(out, n, what), ("residual",)
    columns = [_as_column(p, n, f"{what} (equation {name!r})") for name, p in zip(names, parts, strict=True)]
    return torch.cat(columns, dim=1), names  # (N, C)


def residual_rows(
    problem, model: nn.Module, x: Tensor, mode: str, *, batch: int = 20000, plan: DerivativePlan | None = None
) -> tuple[Tensor, tuple[str, ...]]:
    """``R[u](x)`` of ``model`` (a network or an :class:`~kanpde.ansatz.Ansatz`) at points ``x`` ``(M, d)``:
    the detached columns ``(M, C)`` and the equations' names, computed ``batch`` points at a time (no graph
    is kept; in ``"autograd"`` mode each batch builds and drops its own). ``plan`` is a loss term's
    :class:`~kanpde.derivatives.DerivativePlan`, so that the jet carries the rows that term's passes carry."""
    domain, rows, names = problem.domain, [], ("residual",)
    with torch.no_grad() if mode == "forward" else torch.enable_grad():
        for chunk in x.split(batch):
            ev = Evaluation(model, chunk, domain.names, domain.space_dim, mode, plan)
            r, names = equations(problem.residual(chunk, accessor(ev, problem.fields)), chunk.shape[0])
            rows.append(r.detach())
    return torch.cat(rows), names  # (M, C)
