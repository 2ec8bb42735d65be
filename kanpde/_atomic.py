"""Atomic file replacement shared by every writer in the package.

A writer never writes to its destination directly. It writes a temporary file beside the
destination and, once that file is complete and on disk, renames it over the destination with
``os.replace``. A reader therefore sees either the old file or the new one, never a half-written
file, and a writer that fails midway leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

__all__ = ["atomic_write", "plain", "write_json", "write_csv"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto ``path`` when the block succeeds.

    The temporary file lives in the destination's directory (so the final rename never crosses
    a file system) and is named ``.{name}.tmp-{pid}-{random}``. The caller creates the file at
    the yielded path and closes it before leaving the block; h5py files, for example, must be
    closed inside the block. On success the temporary file is fsync'ed, renamed over ``path``
    with ``os.replace`` and the directory entry is fsync'ed where the platform allows. If the
    block raises (including ``KeyboardInterrupt``), the temporary file is removed, ``path`` is
    left as it was, and the exception propagates.

    Missing parent directories are created (``mkdir(parents=True, exist_ok=True)``), so callers
    may write into a fresh output directory without preparing it.

    Example::

        with atomic_write("out/run.h5") as tmp:
            with h5py.File(tmp, "w") as f:
                f["u"] = u
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write to {str(path)!r}: it is a directory; pass a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(
                f"the writer for {str(path)!r} did not create the temporary file {str(tmp)!r}; "
                "write to the path yielded by atomic_write"
            )
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def _fsync_path(path: Path) -> None:
    """Flush a closed file's data to disk."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable; best effort, a no-op where unsupported."""
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def plain(value):
    """``value`` as plain data for JSON, checkpoints and HDF5 attributes: tensors and arrays to (nested)
    lists, tuples to lists, dtypes to their names (``"float64"``), dict keys to strings and non-finite floats
    to ``None``, so that ``json.dumps(..., allow_nan=False)`` writes strict JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return plain(value.detach().cpu().tolist())
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike[str], data, indent: int = 2) -> Path:
    """Write ``data`` as strict JSON (non-finite floats as ``null``) atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(plain(data), indent=indent, allow_nan=False) + "\n", encoding="utf-8")
    return Path(path)


def write_csv(path: str | os.PathLike[str], rows, columns=None) -> Path:
    """Write ``rows`` (dicts) as CSV atomically; ``columns`` default to the union of the rows' keys in order
    of appearance, and a row without a column leaves its cell empty."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_write(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), restval="", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return Path(path)
