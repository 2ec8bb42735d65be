"""Reference solutions: the truth of a problem without a closed form, as values at points.

A :class:`Reference` holds points ``(M, d)`` and the values of every field there ``(M, n_fields)``, e.g. a
finite-element solution exported by COMSOL or FEniCS, a spectral solution, or a quadrature of a closed-form
integral. When a problem has no exact solution, its metrics, the error in the progress bar and the history,
the benchmark tables and the exported error field are measured against the reference.

:meth:`Reference.load` reads

* ``.npz``: the points under ``x`` ``(M, d)`` and one array ``(M,)`` per field name;
* ``.h5``: kanpde's own export (:func:`kanpde.export.read_hdf5`; a field ``u`` or one per field name;
  NaN nodes outside the domain are dropped);
* text tables ``.dat``, ``.txt``, ``.csv``: whitespace- or comma-separated columns, the coordinates first,
  then the fields in order; lines starting with ``%`` or ``#`` are comments (COMSOL writes such headers,
  sometimes in Latin-1: bytes that are not UTF-8 are read leniently, and a data line holding them is an
  error naming the file and the line).

  **Time snapshots.** A COMSOL export of a time-dependent solution has one row per spatial node and one
  column per field and time, named in the last header line as ``u (1) @ t=0.1``. When that header names
  ``K`` columns ``@ t=...`` with ``T`` distinct times, the table's last ``K`` columns are values, the others
  the spatial coordinates, and ``F = K / T`` fields. The columns may run time by time (``u@t0, v@t0,
  u@t1, ...``) or field by field (``u@t0, u@t1, ..., v@t0, ...``); the order of the times in the header says
  which. The reference then has one point ``(x..., t)`` per node and time, time last as in a
  :class:`~kanpde.SpaceTime` domain: ``M = rows · T`` points, node-major (the ``T`` times of node 0 first).

Every reader first estimates the memory the arrays will take and refuses a file past ``max_bytes``
(default :data:`kanpde.export.READ_LIMIT`, 4 GiB): a small compressed file can declare huge arrays.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import LinearNDInterpolator
from torch import Tensor

from ._checks import check_memory
from .export import read_hdf5, read_limit
from .grids import grid_nodes

__all__ = ["Reference", "find_data_file"]

_TEXT = (".dat", ".txt", ".csv")
_TEXT_BYTES_PER_BYTE = 4
"""Estimated bytes of memory per byte of a text table while it is parsed (Python floats in lists)."""


def _as_array(value, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Reference: {what} must be an array of numbers, got {type(value).__name__}") from err
    return array


class Reference:
    """Values of the fields at points: ``points`` ``(M, d)``, ``values`` ``(M,)`` or ``(M, n_fields)``.

    ``fields`` names the value columns (default ``("u",)`` for one column, else required). Rows with NaN or
    infinite entries are an error (clean the file, or export only the nodes inside the domain).
    """

    def __init__(
        self, points, values, fields: Sequence[str] | None = None, *, source: str | None = None
    ) -> None:
        x = _as_array(points, "points")
        v = _as_array(values, "values")
        if x.ndim == 1:
            x = x[:, None]  # (M, 1)
        if v.ndim == 1:
            v = v[:, None]  # (M, 1)
        if x.ndim != 2 or v.ndim != 2 or x.shape[0] != v.shape[0] or x.shape[0] == 0:
            raise ValueError(
                f"Reference: points must be (M, d) and values (M,) or (M, n_fields) with the same M > 0, got "
                f"{x.shape} and {v.shape}"
            )
        bad = ~np.isfinite(x).all(axis=1) | ~np.isfinite(v).all(axis=1)
        if bad.any():
            rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
            raise ValueError(
                f"Reference{' ' + source if source else ''}: {int(bad.sum())} row(s) hold NaN or infinite values "
                f"(rows {rows}{', ...' if bad.sum() > 5 else ''}); remove them"
            )
        if fields is None:
            if v.shape[1] != 1:
                raise ValueError(
                    f"Reference: {v.shape[1]} value columns; name them with fields=('u', 'v', ...)"
                )
            fields = ("u",)
        fields = tuple(fields)
        if len(fields) != v.shape[1] or len(set(fields)) != len(fields):
            raise ValueError(
                f"Reference: {v.shape[1]} value column(s) but fields {fields}; give one name per column"
            )
        self.points, self.values, self.fields, self.source = x, v, fields, source

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def __len__(self) -> int:
        return self.points.shape[0]

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return f"Reference({len(self)} points in {self.dim}-D, fields={self.fields}{where})"

    def tensors(self, dtype=torch.float64, device="cpu") -> tuple[Tensor, Tensor]:
        """Points ``(M, d)`` and values ``(M, n_fields)`` as tensors."""
        return (
            torch.as_tensor(self.points, dtype=dtype, device=device),
            torch.as_tensor(self.values, dtype=dtype, device=device),
        )

    def select(self, fields: Sequence[str]) -> Reference:
        """This reference with its columns in the order of ``fields`` (each must be present)."""
        missing = [f for f in fields if f not in self.fields]
        if missing:
            raise ValueError(
                f"the reference has no field(s) {', '.join(missing)}; it has {', '.join(self.fields)}"
            )
        columns = [self.fields.index(f) for f in fields]
        return Reference(self.points, self.values[:, columns], fields, source=self.source)

    def between(self, t0: float, t1: float) -> Reference | None:
        """This reference's points with ``t0 <= t <= t1`` in the last column (time), or ``None`` when none."""
        t = self.points[:, -1]
        keep = (t >= t0) & (t <= t1)
        if not keep.any():
            return None
        return Reference(self.points[keep], self.values[keep], self.fields, source=self.source)

    # -- files -----------------------------------------------------------------------------------------
    def interpolate(self, nodes: np.ndarray) -> np.ndarray | None:
        """The values linearly interpolated at ``nodes`` ``(M, d)`` (NaN outside the hull of the points),
        ``(M, n_fields)``; ``None`` beyond 3 columns."""
        d = nodes.shape[1]
        if d > 3:
            return None
        if d == 1:
            order = np.argsort(self.points[:, 0])
            xs = self.points[order, 0]
            columns = [
                np.interp(nodes[:, 0], xs, self.values[order, i], left=np.nan, right=np.nan)
                for i in range(self.values.shape[1])
            ]
            return np.stack(columns, axis=1)
        return LinearNDInterpolator(self.points, self.values)(nodes)  # (M, F)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        fields: Sequence[str] | None = None,
        *,
        max_bytes: int | None = None,
    ) -> Reference:
        """Read a reference file (see the module docstring); ``fields`` names the field columns (a text
        table's columns after the coordinates; default ``("u",)`` for one column); ``max_bytes`` raises the
        memory a file may take (default :data:`kanpde.export.READ_LIMIT`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no reference file at {path}")
        suffix = path.suffix.lower()
        if suffix == ".npz":
            _check_size(path, _npz_bytes(path), max_bytes)
            return cls._load_npz(path, fields)
        if suffix in (".h5", ".hdf5"):
            return cls._load_h5(path, fields, max_bytes)
        if suffix in _TEXT:
            _check_size(path, _TEXT_BYTES_PER_BYTE * path.stat().st_size, max_bytes)
            return cls._load_text(path, fields)
        raise ValueError(
            f"cannot read {path}: reference files are .npz, .h5 or text tables ({', '.join(_TEXT)})"
        )

    @classmethod
    def _load_npz(cls, path: Path, fields) -> Reference:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data:
                raise ValueError(f"{path} has no array 'x' of points; it holds {', '.join(data.files)}")
            names = tuple(fields) if fields is not None else tuple(k for k in data.files if k != "x")
            missing = [f for f in names if f not in data.files]
            if missing or not names:
                raise ValueError(
                    f"{path} has no array for field(s) {', '.join(missing) or '(none)'}; it holds {', '.join(data.files)}"
                )
            values = np.stack([np.asarray(data[f], dtype=np.float64).reshape(-1) for f in names], axis=1)
            return cls(data["x"], values, names, source=str(path))

    @classmethod
    def _load_h5(cls, path: Path, fields, max_bytes: int | None = None) -> Reference:
        data = read_hdf5(path, max_bytes=max_bytes)
        stored, times = data["fields"], data.get("times")
        names = tuple(fields) if fields is not None else ((("u",) if "u" in stored else ()) or tuple(stored))
        missing = [f for f in names if f not in stored]
        if missing:
            raise ValueError(f"{path} has no field(s) {', '.join(missing)}; it holds {', '.join(stored)}")
        if data.get("points") is not None:  # a point-cloud export: (N, d) points, times apart
            points = np.asarray(data["points"], dtype=np.float64)
            if times is not None:
                n, t = points.shape[0], len(times)
                points = np.concatenate([np.repeat(points, t, axis=0), np.tile(times, n)[:, None]], axis=1)
        else:
            axes = list(data["axes"].values())
            points = grid_nodes(axes if times is None else [*axes, times])  # (M, d)
        columns = []
        for f in names:
            v = np.asarray(stored[f], dtype=np.float64)
            if times is not None:
                v = np.moveaxis(v, 0, -1)  # time last, as the coordinates
            columns.append(v.reshape(-1))
        values = np.stack(columns, axis=1)  # (M, n_fields)
        keep = np.isfinite(values).all(axis=1)  # nodes outside the domain are NaN
        return cls(points[keep], values[keep], names, source=str(path))

    @classmethod
    def _load_text(cls, path: Path, fields) -> Reference:
        rows = []
        header = None  # the last comment line before the data
        text = path.read_bytes().decode("utf-8", errors="replace")  # a Latin-1 header is only a comment
        for number, line in enumerate(text.splitlines(), start=1):
            text = line.strip()
            if not text or text[0] in "%#":
                if not rows and text:
                    header = text
                continue
            parts = text.replace(",", " ").split()
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                raise ValueError(f"{path} line {number} is not a row of numbers: {text[:60]!r}") from None
            if len(rows[-1]) != len(rows[0]):
                raise ValueError(
                    f"{path} line {number} has {len(rows[-1])} columns, the first data line {len(rows[0])}"
                )
        if not rows:
            raise ValueError(f"{path} holds no data rows")
        table = np.asarray(rows)  # (M, d + n_fields)
        times = _snapshot_times(header)
        if times:
            return cls._from_snapshots(path, table, times, fields)
        names = tuple(fields) if fields is not None else ("u",)
        d = table.shape[1] - len(names)
        if d < 1:
            raise ValueError(
                f"{path} has {table.shape[1]} columns, too few for the coordinates and the fields {names}"
            )
        return cls(table[:, :d], table[:, d:], names, source=str(path))

    @classmethod
    def _from_snapshots(cls, path: Path, table: np.ndarray, times: list[float], fields) -> Reference:
        """The reference of a table whose last ``len(times)`` columns are fields at times (module docstring)."""
        k = len(times)
        distinct = list(dict.fromkeys(times))
        n_times = len(distinct)
        d = table.shape[1] - k
        if d < 1 or k % n_times:
            raise ValueError(
                f"{path}: the header names {k} columns '@ t=...' ({n_times} distinct times) but the table has "
                f"{table.shape[1]} columns; expected the coordinates, then the same number of columns per time"
            )
        n_fields = k // n_times
        by_time = times == [t for t in distinct for _ in range(n_fields)]  # u@t0, v@t0, u@t1, ...
        by_field = times == distinct * n_fields  # u@t0, u@t1, ..., v@t0, ...
        if not (by_time or by_field):
            raise ValueError(
                f"{path}: the times of the header's '@ t=...' columns follow neither time by time nor field by "
                "field; export the fields at the same times in one of those orders"
            )
        names = tuple(fields) if fields is not None else (("u",) if n_fields == 1 else None)
        if names is None or len(names) != n_fields:
            raise ValueError(
                f"{path} holds {n_fields} field(s) at {n_times} times; name them with fields=("
                + ", ".join(f"'f{i}'" for i in range(n_fields))
                + ")"
            )
        rows = table.shape[0]
        values = table[:, d:]  # (rows, k)
        if by_time and n_fields > 1:
            values = values.reshape(rows, n_times, n_fields)  # column j * F + f: field f at time j
        else:
            values = values.reshape(rows, n_fields, n_times).transpose(0, 2, 1)  # column f * T + j
        points = np.concatenate(
            [np.repeat(table[:, :d], n_times, axis=0), np.tile(np.asarray(distinct), rows)[:, None]], axis=1
        )  # (rows * T, d + 1), node-major
        return cls(points, values.reshape(rows * n_times, n_fields), names, source=str(path))


_SNAPSHOT = re.compile(r"@\s*t\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
"""A COMSOL column label's time: ``u (1) @ t=0.25`` -> ``0.25``."""


def _snapshot_times(header: str | None) -> list[float]:
    """The times of the columns ``... @ t=...`` named in a header line, in order (empty for none)."""
    return [float(m) for m in _SNAPSHOT.findall(header)] if header else []


def find_data_file(
    name: str,
    folder: str | os.PathLike[str] | None = None,
    *,
    env: str | None = None,
    default: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Where the data file ``name`` is: in ``folder`` when given, else in the folder the environment variable
    ``env`` names when it is set, else in ``default`` when that folder holds it; ``None`` when none is given
    and the default lacks it (a clone without the data: the caller goes on without it).

    A folder named explicitly (``folder`` or ``env``) that lacks the file is an error, ``FileNotFoundError``
    naming the path, since the caller asked for that data.
    """
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise ValueError(f"find_data_file: name must be a file name such as 'burgers1d.dat', got {name!r}")
    chosen, how = None, ""
    if folder is not None:
        chosen, how = Path(folder), "the folder passed"
    elif env is not None and os.environ.get(env):
        chosen, how = Path(os.environ[env]), f"the folder of ${env}"
    if chosen is not None:
        path = chosen / name
        if not path.is_file():
            raise FileNotFoundError(
                f"no data file {name} in {how} ({chosen}); pass the folder that holds it"
                + (f" or unset {env}" if env else "")
            )
        return path
    if default is not None and (Path(default) / name).is_file():
        return Path(default) / name
    return None


def _check_size(path: Path, n_bytes: float, max_bytes: int | None) -> None:
    """Refuse to read ``n_bytes`` from ``path`` beyond ``max_bytes`` (default ``READ_LIMIT``) or the memory."""
    limit = read_limit(max_bytes)
    hint = "the file is damaged, or pass max_bytes= to Reference.load to read a larger one"
    check_memory(f"reading {path}", n_bytes, limit=limit, hint=hint)


def _npz_bytes(path: Path) -> int:
    """Bytes of the arrays an ``.npz`` file declares in its members' headers (nothing is decompressed
    past the headers)."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    shape, dtype = _npy_header(member)
                    total += int(np.prod(shape, dtype=object)) * dtype.itemsize
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz file ({err}); save it with numpy.savez") from err
    return total


def _npy_header(member) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the header of an ``.npy`` stream."""
    fmt = np.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(member)
    else:  # version 3.0 (UTF-8 field names) has no public reader of its own
        shape, _, dtype = fmt._read_array_header(member, version)
    return shape, dtype
