"""Second-order jets: values with their input derivatives, pushed forward through a network.

A jet of ``n`` features at ``N`` points is one tensor of shape ``(N, R, n)``. Row 0 holds the values
``v``; when first derivatives are carried, rows ``1..d`` hold ``g_a = dv/dx_a`` for every input column
``a``; the remaining rows hold ``H_ab = d2v/dx_a dx_b`` for the requested pairs ``(a, b)`` only (the
diagonal for a Laplacian, single entries for mixed terms).

Through an elementwise map ``w = f(v)`` the chain rule gives ``f(v)``, ``f'(v) g_a`` and
``f''(v) g_a g_b + f'(v) H_ab`` (:func:`chain`); a linear map acts row by row, so a layer is one matmul on
the stacked rows. Because the derivatives are exact functions of the parameters, one ordinary backward
pass gives the parameter gradient of any residual built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["JetSpec", "seed_jet", "chain", "linear_jacobian"]


@dataclass(frozen=True)
class JetSpec:
    """Which derivative rows a jet carries.

    Attributes:
        dim: number of input columns ``d``.
        grad: whether the ``d`` first-derivative rows are carried.
        pairs: second-derivative pairs ``(a, b)`` with ``a <= b``; non-empty pairs imply ``grad``.
    """

    dim: int
    grad: bool = False
    pairs: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        pairs = tuple(sorted({(min(a, b), max(a, b)) for a, b in self.pairs}))
        for a, b in pairs:
            if not (0 <= a < self.dim and 0 <= b < self.dim):
                raise ValueError(f"jet pair {(a, b)} is outside the {self.dim} input columns")
        object.__setattr__(self, "pairs", pairs)
        if pairs:
            object.__setattr__(self, "grad", True)

    @property
    def rows(self) -> int:
        """Number of rows ``R = 1 + d·[grad] + len(pairs)``."""
        return 1 + (self.dim if self.grad else 0) + len(self.pairs)

    def first_row(self, a: int) -> int:
        """Row index of ``dv/dx_a``."""
        if not self.grad:
            raise KeyError("this jet carries no first derivatives")
        return 1 + a

    def pair_row(self, a: int, b: int) -> int:
        """Row index of ``d2v/dx_a dx_b``."""
        return 1 + self.dim + self.pairs.index((min(a, b), max(a, b)))

    def union(self, grad: bool = False, pairs: Iterable[tuple[int, int]] = ()) -> JetSpec:
        """The smallest spec carrying this spec's rows and the given ones."""
        return JetSpec(self.dim, self.grad or grad, self.pairs + tuple(pairs))


def seed_jet(x: Tensor, spec: JetSpec, scale: Tensor, shift: Tensor) -> Tensor:
    """Jet of the affine input map ``v = scale * x + shift`` (gradient rows ``scale_a e_a``, no curvature)."""
    n, d = x.shape
    rows = [(x * scale + shift)[:, None, :]]  # (N, 1, d)
    if spec.grad:
        rows.append(torch.diag(scale).expand(n, d, d))  # (N, d, d)
    if spec.pairs:
        rows.append(x.new_zeros(n, len(spec.pairs), d))  # (N, P, d)
    return torch.cat(rows, dim=1)


def chain(jet: Tensor, spec: JetSpec, f0: Tensor, f1: Tensor, f2: Tensor) -> Tensor:
    """Rows of ``K`` features per input: ``(N, R, n, K)`` from ``f0, f1, f2`` of shape ``(N, n, K)``.

    ``f0, f1, f2`` are the feature values and their first and second derivatives at the jet's values.
    """
    rows = [f0[:, None]]  # (N, 1, n, K)
    if spec.grad:
        g = jet[:, 1 : 1 + spec.dim]  # (N, d, n)
        rows.append(f1[:, None] * g[..., None])  # (N, d, n, K)
    if spec.pairs:
        a = [p[0] for p in spec.pairs]
        b = [p[1] for p in spec.pairs]
        h = jet[:, 1 + spec.dim :]  # (N, P, n)
        rows.append(f2[:, None] * (g[:, a] * g[:, b])[..., None] + f1[:, None] * h[..., None])  # (N, P, n, K)
    return torch.cat(rows, dim=1)


def linear_jacobian(inputs: Tensor, out_grad: Tensor) -> Tensor:
    """Per-point Jacobian of ``sum_r out_grad[n, r] · (inputs[n, r] @ W)`` with respect to ``W``.

    ``inputs`` ``(N, R, p)`` are the rows fed to a linear map ``W`` of shape ``(p, q)``, ``out_grad``
    ``(N, R, q)`` the derivative of point ``n``'s residual with respect to that map's output rows.
    Returns ``(N, p, q)``: ``J[n, i, j] = sum_r inputs[n, r, i] out_grad[n, r, j]``.
    """
    return torch.einsum("nri,nrj->nij", inputs, out_grad)
