"""The multilayer perceptron baseline, with the same contract as :class:`kanpde.KAN`.

Each hidden layer computes ``h = σ(W v + b)``; the last layer is affine. Inputs go through the same affine
map from ``input_bounds`` onto ``[-1, 1]`` as the KAN's, and the same jets (:mod:`kanpde.jet`) carry
derivatives: a linear layer acts row by row and ``σ`` by the chain rule. Derivatives of order three and more
go through truncated Taylor series (:mod:`kanpde.taylor`): the linear map coefficient by coefficient, ``σ``
by composition with its derivatives of any order (:data:`kanpde.taylor.SERIES_ACTIVATIONS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ._checks import check_dtype, check_memory
from .jet import Jet, JetSpec, chain, dense_grad, split, stack
from .network import Network, check_width
from .taylor import SERIES_ACTIVATIONS, Monomials, compose

__all__ = ["MLP", "ACTIVATIONS"]

Derivatives = Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]


def _tanh(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    t = torch.tanh(z)
    d = 1 - t * t
    return t, d, -2 * t * d


def _sin(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sin(z)
    return s, torch.cos(z), -s


def _silu(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(z)
    return z * s, s * (1 + z * (1 - s)), s * (1 - s) * (2 + z * (1 - 2 * s))


def _softplus(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(z)
    return nn.functional.softplus(z), s, s * (1 - s)


ACTIVATIONS: dict[str, Derivatives] = {"tanh": _tanh, "sin": _sin, "silu": _silu, "softplus": _softplus}
"""Activation name -> function returning ``(σ(z), σ'(z), σ''(z))``."""


class _Dense(nn.Module):
    """``z = v Wᵀ + b`` on jet rows (the bias only on the value row), then optionally ``σ``."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: Derivatives | None,
        gen,
        dtype,
        device,
        series: Callable[[Tensor, int], Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.series = series  # σ^(n) for n < orders, (orders, N, n): for truncated Taylor series
        bound = math.sqrt(6.0 / (n_in + n_out))  # Glorot-uniform
        w = (torch.rand(n_out, n_in, generator=gen, dtype=dtype) * 2 - 1) * bound
        self.weight = nn.Parameter(w.to(device))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=dtype, device=device))
        self.activation = activation

    def forward_jet(self, jet: Tensor, spec: JetSpec, records: list | None = None) -> Tensor:
        """Map a stacked jet ``(N, R, n_in)`` to ``(N, R, n_out)``."""
        return stack(self.forward_parts(split(jet, spec), spec, records), spec)

    def forward_parts(self, jet: Jet, spec: JetSpec, records: list | None = None) -> Jet:
        value, grad, curv = jet
        w = self.weight.T  # (n_in, n_out)
        # The input map's rows s_a e_a (jet.seed_jet): row a of the product is s_a w_a at every point.
        if grad is not None and grad.ndim == 1:
            out_grad = (grad[:, None] * w).expand(value.shape[0], *w.shape)  # (N, d = n_in, n_out)
        else:
            out_grad = grad @ w if grad is not None else None
        out = (value @ w + self.bias, out_grad, curv @ w if curv is not None else None)
        if records is not None:
            records.append((self, jet, out))
        if self.activation is None:
            return out
        return chain(out, spec, *self.activation(out[0]))

    def forward_series(self, coef: Tensor, mono: Monomials, records: list | None = None) -> Tensor:
        """Map a truncated Taylor series ``(N, |S|, n_in)`` to ``(N, |S|, n_out)``: ``z = W c + b`` per
        coefficient (``b`` on the constant only), then ``σ(z)`` by composition
        (:func:`kanpde.taylor.compose`)."""
        z = coef @ self.weight.T  # (N, |S|, n_out)
        z = torch.cat([(z[:, 0] + self.bias)[:, None], z[:, 1:]], dim=1)  # (N, |S|, n_out)
        if records is not None:
            records.append((self, ("series", coef), (z,)))
        if self.activation is None:
            return z
        return compose(z, self.series(z[:, 0], mono.order + 1), mono)  # σ^(m): (K+1, N, n_out)

    def accumulate_jacobian(self, saved: Jet, out_grad: Jet, views: list[Tensor]) -> None:
        """Add ``dr/dW_ji = sum_rows G_j X_i`` over the value, gradient and curvature rows (or the Taylor
        coefficients of a series pass) and ``dr/db = G_0`` to ``views`` (one ``(N, numel)`` view per
        parameter)."""
        if isinstance(saved[0], str):  # a series pass: rows are the coefficients
            x, g = saved[1], out_grad[0]  # (N, |S|, n_in), (N, |S|, n_out)
            jw = torch.einsum("nrj,nri->nji", g, x)  # (N, n_out, n_in), the layout of self.weight
            views[0] += jw.reshape(x.shape[0], -1)  # (N, n_out*n_in)
            views[1] += g[:, 0]
            return
        value, grad, curv = saved
        saved = (value, dense_grad(grad, value.shape[0]) if grad is not None else None, curv)
        pairs = [(x, g) for x, g in zip(saved, out_grad, strict=True) if x is not None and g is not None]
        x = torch.cat([x if x.ndim == 3 else x[:, None] for x, _ in pairs], dim=1)  # (N, R', n_in)
        g = torch.cat([g if g.ndim == 3 else g[:, None] for _, g in pairs], dim=1)  # (N, R', n_out)
        jw = torch.einsum("nrj,nri->nji", g, x)  # (N, n_out, n_in), the layout of self.weight
        views[0] += jw.reshape(x.shape[0], -1)  # (N, n_out*n_in)
        views[1] += out_grad[0]


class MLP(Network):
    """A fully connected network ``[d, h_1, ..., h_L, n_out]`` with activation ``σ`` on hidden layers.

    Args:
        width: layer sizes, e.g. ``[2, 100, 100, 1]``.
        activation: one of :data:`ACTIVATIONS` (``"tanh"``, ``"sin"``, ``"silu"``, ``"softplus"``).
        input_bounds: physical box ``(lo, hi)`` mapped onto ``[-1, 1]`` (set by :func:`kanpde.solve`).
        seed, dtype, device: as for :class:`kanpde.KAN`.
    """

    def __init__(
        self,
        width: Sequence[int],
        activation: str = "tanh",
        *,
        input_bounds: tuple[Sequence[float], Sequence[float]] | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.width = check_width(width)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid ones: {', '.join(ACTIVATIONS)}")
        check_dtype(dtype)
        itemsize = torch.empty((), dtype=dtype).element_size()
        n_values = sum(a * b + b for a, b in zip(self.width[:-1], self.width[1:], strict=False))
        check_memory(f"an MLP of width {self.width}", n_values * itemsize, device, hint="use narrower layers")
        self.activation, self.seed = activation, seed
        self._target = (-1.0, 1.0)
        self._init_input_map(input_bounds, self._target, dtype, device)
        gen = torch.Generator().manual_seed(seed)
        sizes = list(zip(self.width[:-1], self.width[1:], strict=False))
        hidden = len(sizes) - 1
        self.layers = nn.ModuleList(
            _Dense(
                a,
                b,
                ACTIVATIONS[activation] if i < hidden else None,
                gen,
                dtype,
                device,
                series=SERIES_ACTIVATIONS[activation] if i < hidden else None,
            )
            for i, (a, b) in enumerate(sizes)
        )

    def config(self) -> dict:
        """Constructor arguments that rebuild a model of this shape."""
        return {
            "width": list(self.width),
            "activation": self.activation,
            "input_bounds": self.input_bounds,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        return f"MLP(width={self.width}, activation={self.activation!r}, params={self.num_parameters})"
