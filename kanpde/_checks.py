"""Argument checks shared by several modules (one message for one mistake)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = ["check_dtype", "check_positive_int", "check_nonnegative_int", "check_positive_real"]


def check_dtype(dtype: Any) -> torch.dtype:
    """``dtype`` itself when it is a floating ``torch.dtype``; otherwise a ``TypeError`` saying what to pass."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}")
    return dtype


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` when it is an integer >= 1 (NumPy integers too); otherwise a clear error."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}; pass e.g. {name}=5")
    return int(value)


def check_nonnegative_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` when it is an integer >= 0; otherwise a clear error."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def check_positive_real(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as a ``float`` when it is a finite real number > 0 (>= 0 with ``allow_zero``)."""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number {bound}, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)
