"""Argument checks shared by several modules (one message for one mistake)."""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import torch

__all__ = [
    "check_dtype",
    "check_positive_int",
    "check_nonnegative_int",
    "check_positive_real",
    "check_memory",
    "memory_limit",
    "format_bytes",
    "check_compile_backend",
]

_FALLBACK_MEMORY = 2**40
"""The memory assumed where the platform does not say (1 TiB: absurd requests are still refused)."""


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


def check_count(name: str, value: Any) -> int:
    """``value`` as an ``int`` when it is a whole number >= 1 (NumPy integers too); otherwise a ``ValueError``
    saying so: the one check of counts given as settings (windows, seeds, widths of a search)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
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


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` in binary units with three significant digits: ``"11.9 GiB"``."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    raise AssertionError("unreachable")


def memory_limit(device: Any = None) -> int:
    """Bytes of memory of ``device``: the GPU's total memory for a CUDA device, else the machine's physical
    memory (1 TiB where the platform does not tell)."""
    if device is not None and torch.device(device).type == "cuda" and torch.cuda.is_available():
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_MEMORY


def check_memory(
    what: str, n_bytes: float, device: Any = None, limit: int | None = None, hint: str = "ask for less"
) -> None:
    """Refuse, before allocating, ``n_bytes`` for ``what`` that cannot fit in memory.

    ``limit`` defaults to :func:`memory_limit` of ``device``; the ``ValueError`` gives the estimate and the
    limit, so the caller knows how far off the request is, and ``hint`` says what to do.
    """
    available = memory_limit(device) if limit is None else limit
    if not math.isfinite(n_bytes) or n_bytes > available:
        raise ValueError(
            f"{what} would need about {format_bytes(n_bytes)}, more than the {format_bytes(available)} of "
            f"memory available; {hint}"
        )


def check_compile_backend(name: Any) -> str:
    """``name`` when it is a registered ``torch.compile`` backend (``torch._dynamo.list_backends``, debug
    backends such as ``"eager"`` included); otherwise a ``ValueError`` listing the known ones.

    A backend is looked up by name only, so a settings file or a command line cannot name an arbitrary
    callable such as ``"os.system"``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"compile must name a torch.compile backend such as 'inductor', got {name!r}")
    import torch._dynamo

    known = sorted(torch._dynamo.list_backends(exclude_tags=()))
    if name not in known:
        raise ValueError(f"unknown torch.compile backend {name!r}; known backends: {', '.join(known)}")
    return name
