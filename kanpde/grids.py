"""Tensor-product grids: the nodes of per-axis coordinates, in one place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["grid_nodes"]


def grid_nodes(axes: Sequence[np.ndarray]) -> np.ndarray:
    """Nodes ``(n_0 · n_1 ··· n_{d-1}, d)`` of the grid ``axes[0] × axes[1] × ...``, in C order of the grid
    index (``'ij'`` indexing: node ``(i, j, k)`` is row ``(i·n_1 + j)·n_2 + k``)."""
    mesh = np.meshgrid(*axes, indexing="ij")  # d arrays of shape (n_0, ..., n_{d-1})
    return np.stack([m.reshape(-1) for m in mesh], axis=1)  # (prod n, d)
