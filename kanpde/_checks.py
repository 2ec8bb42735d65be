"""Argument checks shared by several modules (one message for one mistake)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_dtype"]


def check_dtype(dtype: Any) -> torch.dtype:
    """``dtype`` itself when it is a floating ``torch.dtype``; otherwise a ``TypeError`` saying what to pass."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}")
    return dtype
