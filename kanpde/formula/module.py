"""The formula as a torch module: ``expr`` evaluated with coordinates from input columns and constants from a
tensor, with per-point copies of the constants for exact Jacobian rows (:mod:`kanpde.formula.refine`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sympy
from torch import Tensor, nn

from .expr import evaluate

__all__ = ["FormulaModule"]


class FormulaModule(nn.Module):
    """A torch module ``(N, d) -> (N, 1)`` evaluating ``expr`` with coordinates from the input columns and the
    constants ``params`` from the tensor ``theta`` ``(K,)``.

    With ``per_point`` on, each call uses its own copy of the constants per point, an ``(N, K)`` leaf
    appended to ``leaves``: when row ``n`` of a residual depends on point ``n`` only, one backward pass of the
    residual's sum to those leaves gives every row of its Jacobian with respect to the constants. The output
    also holds ``0 · Σ_a x_a³``, which keeps every coordinate in the autograd graph, so derivatives of a
    formula that does not depend on some coordinate are zeros rather than errors.
    """

    def __init__(
        self,
        expr: sympy.Expr,
        coordinates: Sequence[sympy.Symbol],
        params: Sequence[sympy.Symbol],
        theta: Tensor,
        functions: Mapping[type, Callable],
    ) -> None:
        super().__init__()
        self.expr, self.coordinates, self.params = expr, tuple(coordinates), tuple(params)
        self.theta, self.functions = theta, functions
        self.per_point = False
        self.leaves: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        values = {s: x[:, a] for a, s in enumerate(self.coordinates)}
        theta = self.theta.to(dtype=x.dtype, device=x.device)
        if self.per_point:
            leaf = theta.detach().expand(x.shape[0], theta.shape[0]).clone().requires_grad_(True)  # (N, K)
            self.leaves.append(leaf)
            values.update({s: leaf[:, k] for k, s in enumerate(self.params)})
        else:
            values.update({s: theta[k] for k, s in enumerate(self.params)})
        out = evaluate(self.expr, values, self.functions, x[:, 0])  # (N,)
        return (out + 0.0 * x.pow(3).sum(1))[:, None]  # (N, 1)
