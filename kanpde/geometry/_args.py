"""Argument checks shared by the shape modules: real numbers and coordinate names (counts and seeds use
:mod:`kanpde._checks`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor


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
