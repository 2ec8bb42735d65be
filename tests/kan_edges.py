"""Test helper: KANs whose edges are given functions (the oracles of the symbolic tests)."""

from __future__ import annotations

import torch

import kanpde as kp
from kanpde.spline import fit_coefficients


def set_edges(model: kp.KAN, edges, samples: int) -> kp.KAN:
    """Give edge ``(l, i, j)`` of ``model`` the function ``edges[l][i][j]`` (base branch off, bias 0), its
    spline fitted by least squares on ``samples`` points spread over the layer's grid range."""
    with torch.no_grad():
        for layer, funcs in zip(model.layers, edges, strict=True):
            lo, hi = layer.grid_range
            v = lo + torch.linspace(0, 1, samples, dtype=layer.coef.dtype)[:, None] * (hi - lo)  # (S, n_in)
            y = torch.stack([torch.stack([f(v[:, i]) for f in funcs[i]], 1) for i in range(layer.n_in)], 1)
            coef, _ = fit_coefficients(v, y, layer.knots, layer.k, layer.uniform)  # y: (S, n_in, n_out)
            layer.coef.copy_(coef)
            layer.spline_scale.fill_(1.0)
            layer.base_weight.zero_()
            layer.bias.zero_()
    return model
