"""Argument checks shared by the shape modules: counts, seeds, real numbers and coordinate names."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor


def check_count(n: Any, what: str = "n") -> int:
    """Return ``n`` as a Python int, or raise if it is not a positive integer."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(
            f"{what} must be a positive int, got {n!r} of type {type(n).__name__}; pass e.g. 1000"
        )
    if n <= 0:
        raise ValueError(f"{what} must be a positive int, got {n}; pass a number of points >= 1")
    return int(n)


def check_seed(seed: Any) -> int:
    """Return ``seed`` as a non-negative Python int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {seed!r} of type {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def real(value: Any, what: str, owner: str) -> float:
    """Convert a finite real number to float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{owner}: {what} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {what} must be finite, got {what}={value}; pass a finite number")
    return float(value)


def real_tuple(value: Any, what: str, owner: str) -> tuple[float, ...]:
    """Convert a sequence (list, tuple, array, tensor) of finite real numbers to a tuple of floats."""
    if isinstance(value, (np.ndarray, Tensor)):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{owner}: {what} must be a sequence of numbers, got {value!r}")
    return tuple(real(v, f"every entry of {what}", owner) for v in value)


def axis_names(d: int) -> tuple[str, ...]:
    """Column names: ``x, y, z`` up to three dimensions, ``x1, ..., xd`` beyond."""
    if d <= 3:
        return ("x", "y", "z")[:d]
    return tuple(f"x{i + 1}" for i in range(d))
