"""Fields on a tensor-product grid → HDF5, with an XDMF file beside it for ParaView.

This module knows nothing of models or training: it receives numpy arrays sampled on a grid
``axes[0] × axes[1] × ...`` ('ij' indexing) and writes them; :func:`read_hdf5` reads them back.

HDF5 layout (``kanpde_format = "kanpde-fields"``, ``kanpde_format_version = 1`` root attributes)::

    /coordinates/<axis>     (n_a,)                  one per spatial axis, in the given order
    /coordinates/t          (T,)                    time series only
    /fields/<name>          (n_0, n_1, ...)         stationary, 'ij' indexing
                            (T, n_0, n_1, ...)      time series
    /mask                   (n_0, n_1, ...) uint8   optional; fields are NaN where it is 0
    /xdmf/...                                       copies laid out for the XDMF file (below)

User settings and metrics are root attributes: numbers, strings and numeric arrays natively;
``None``, dicts, lists and tuples as JSON strings (listed in the ``kanpde_json_attrs`` attribute,
so they decode back; tuples come back as lists, dict keys as strings).

XDMF layout. The ``.xdmf`` file describes the grid as an explicit unstructured mesh rather than
a ``2DRectMesh``/``3DRectMesh``: the points (``/xdmf/geometry``, shape ``(N, 2|3)``, point ``p``
being grid index ``(i, j, k)`` in C order, ``p = (i·n_1 + j)·n_2 + k``) and the cells
(``/xdmf/topology``: ``Polyline`` segments in 1-D, ``Quadrilateral`` in 2-D, ``Hexahedron`` in
3-D, VTK vertex order). Reasons: ParaView reads it, and so does meshio (which cannot read RectMesh
topologies or HyperSlab items); and there is no question of axis order, since each point carries
its coordinates and the XDMF ``Dimensions`` of every DataItem equal the shape of the HDF5 dataset
it names. The cost is a flat copy of each field (``/xdmf/fields/<name>``, shape ``(N,)``; per time
step ``/xdmf/fields/<name>/<step>``) plus the point and cell arrays (gzip-compressed). Axes map to
X, Y, Z in the order given; a 1-D grid lies on the X axis (``Y = 0``). With a mask, only cells
whose vertices all lie inside the mask are written, and the mask itself is a point attribute
"mask" (1.0 inside, 0.0 outside). Time series are a ``Temporal`` collection of grids, one per
step, each with a ``<Time Value=...>``.

**The pair.** The ``.h5`` and the ``.xdmf`` are both written to temporary files and renamed only when
both are complete, the ``.xdmf`` first. A kill between the two renames could still leave the new ``.xdmf``
beside the old ``.h5``, so each export draws a random *pair token*, stored in the ``.h5`` as the root
attribute ``kanpde_pair_token`` and in the ``.xdmf`` as the comment ``<!-- kanpde pair token: ... -->``
right after the ``<Xdmf>`` tag (readers such as ParaView and meshio ignore comments). :func:`read_hdf5`
compares the two when the ``.xdmf`` beside the ``.h5`` records a token, and refuses a mismatched pair.

**Reading is bounded.** :func:`read_hdf5` adds up the shapes of the datasets it would read (times their
item sizes) before reading any, and refuses a file past ``max_bytes`` (default :data:`READ_LIMIT`, at most
the machine's memory): a small gzip file can declare arrays of many GiB.

Scattered points (non-box domains). :func:`export_points_hdf5` writes fields at points ``(N, 2|3)``
with a simplex mesh: by default the Delaunay triangulation of the points (``scipy.spatial.Delaunay``)
without the degenerate simplices and those whose centroid the callable ``inside`` rejects (so a hole
or a re-entrant corner is not bridged). Layout (root attribute ``kanpde_layout = "points"``; grid
files carry ``"grid"``, files without the attribute are grids)::

    /points                 (N, d)                  point coordinates; attribute "names" (JSON list)
    /cells                  (M, d + 1) int64        point indices of each triangle / tetrahedron
    /fields/<name>          (N,) or (T, N)          stationary or time series
    /times                  (T,)                    time series only
    /xdmf/...                                       as for grids, with Triangle or Tetrahedron topology
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import h5py
import numpy as np
import torch
from scipy.spatial import Delaunay, QhullError

from ._atomic import atomic_write, plain
from ._checks import check_memory, check_positive_int, format_bytes, memory_limit
from .geometry import Box
from .grids import grid_nodes

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "READ_LIMIT",
    "export_hdf5",
    "export_points_hdf5",
    "export_solution",
    "read_hdf5",
    "triangulate",
]

FORMAT = "kanpde-fields"
FORMAT_VERSION = 1

_JSON_ATTRS = "kanpde_json_attrs"
_RESERVED_ATTR_PREFIX = "kanpde_"
_TIME_NAME = "t"
_MASK_NAME = "mask"
_LAYOUT = "kanpde_layout"
_TOKEN = "kanpde_pair_token"
_TOKEN_COMMENT = re.compile(r"<!--\s*kanpde pair token:\s*([0-9a-f]+)\s*-->")
_XDMF_HEAD = 4096  # bytes of the .xdmf read to find the token (it follows the <Xdmf> tag)

READ_LIMIT = 4 * 2**30
"""Default most bytes of arrays :func:`read_hdf5` reads from one file (4 GiB); pass ``max_bytes`` to
read more."""

# number of spatial axes → (XDMF topology type, vertices per cell, XDMF geometry type)
_TOPOLOGY = {1: ("Polyline", 2, "XY"), 2: ("Quadrilateral", 4, "XY"), 3: ("Hexahedron", 8, "XYZ")}
# number of spatial axes → (XDMF topology type, vertices per cell, XDMF geometry type) for simplices
_SIMPLEX = {2: ("Triangle", 3, "XY"), 3: ("Tetrahedron", 4, "XYZ")}
# cell corners as index offsets, VTK order (counter-clockwise bottom face, then top face)
_CORNERS = {
    1: [(0,), (1,)],
    2: [(0, 0), (1, 0), (1, 1), (0, 1)],
    3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
}
_COMPRESS = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def export_hdf5(
    path: str | os.PathLike[str],
    axes: Mapping[str, np.ndarray],
    fields: Mapping[str, np.ndarray],
    *,
    times: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
    mask: np.ndarray | None = None,
) -> tuple[Path, Path]:
    """Write fields sampled on a grid to ``path`` (HDF5) and ``path.with_suffix(".xdmf")``.

    Args:
        path: the HDF5 file to write, e.g. ``"results/poisson.h5"``; missing directories are
            created. An existing file is replaced atomically.
        axes: spatial coordinate name → 1-D strictly increasing array, 1 to 3 axes, in order.
        fields: name → float array of shape ``(len(ax0), len(ax1), ...)``, or
            ``(len(times), len(ax0), ...)`` when ``times`` is given.
        times: optional 1-D strictly increasing array of time instants (a time series).
        attrs: settings and metrics, stored as root attributes (see the module docstring).
        mask: optional boolean array of the grid shape, True inside the domain; fields are set
            to NaN outside it.

    Returns:
        ``(h5_path, xdmf_path)``. Open the ``.xdmf`` file in ParaView.
    """
    h5_path, xdmf_path = _check_path(path)

    axes_ = _check_axes(axes, time_series=times is not None)
    shape = tuple(len(a) for a in axes_.values())
    times_ = None if times is None else _check_times(times)
    mask_ = None if mask is None else _check_mask(mask, shape, axes_)
    fields_ = _check_fields(fields, shape, axes_, times_, has_mask=mask_ is not None)
    if mask_ is not None:
        for values in fields_.values():
            values[..., ~mask_] = np.nan  # (..., n_0, n_1, ...) with the grid dims last
    stored_attrs, json_keys = _encode_attrs(attrs or {})

    def body(f: h5py.File) -> dict[str, Any]:
        coords = f.create_group("coordinates", track_order=True)
        coords.attrs["axes"] = json.dumps(list(axes_))
        for name, values in axes_.items():
            coords.create_dataset(name, data=values)
        if times_ is not None:
            coords.attrs["time"] = _TIME_NAME
            coords.create_dataset(_TIME_NAME, data=times_)
        group = f.create_group("fields", track_order=True)
        for name, values in fields_.items():
            group.create_dataset(name, data=values)
        if mask_ is not None:
            f.create_dataset(_MASK_NAME, data=mask_.astype(np.uint8))
        return _write_xdmf_datasets(f, axes_, fields_, times_, mask_)

    _write_pair(h5_path, xdmf_path, "grid", stored_attrs, json_keys, body, times_)
    return h5_path, xdmf_path


def _write_pair(
    h5_path: Path,
    xdmf_path: Path,
    layout: str,
    stored_attrs: dict[str, Any],
    json_keys: list[str],
    body: Callable[[h5py.File], dict[str, Any]],
    times: np.ndarray | None,
) -> None:
    """Write the ``.h5`` (header, then ``body``, which returns the XDMF items) and the ``.xdmf`` to
    temporary files, tagged with one fresh pair token; rename them only when both are complete (the
    ``.xdmf`` first, then the ``.h5``)."""
    token = secrets.token_hex(16)
    with atomic_write(h5_path) as tmp_h5, atomic_write(xdmf_path) as tmp_xdmf:
        with h5py.File(tmp_h5, "w", track_order=True) as f:
            _write_header(f, layout, stored_attrs, json_keys)
            f.attrs[_TOKEN] = token
            items = body(f)
        tree = _xdmf_tree(h5_path.name, items, times)
        tree.getroot().insert(0, ET.Comment(f" kanpde pair token: {token} "))
        tree.write(tmp_xdmf, encoding="utf-8", xml_declaration=True)


def triangulate(points: np.ndarray, inside: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Delaunay simplices ``(M, d + 1)`` of ``points`` ``(N, d)``, ``d`` = 2 (triangles) or 3 (tetrahedra).

    Degenerate simplices (volume below 1e-12 of the bounding box's volume) are dropped, and so are those
    whose centroid ``inside(centroids (M, d)) -> bool (M,)`` rejects (pass the domain's membership test, so
    that holes and re-entrant corners are not covered).
    """
    p = _check_points(points)
    try:
        simplices = Delaunay(p).simplices.astype(np.int64)  # (M, d + 1)
    except QhullError as err:
        raise ValueError(f"cannot triangulate the {len(p)} points ({err}); are they all on a line?") from err
    corners = p[simplices]  # (M, d + 1, d)
    edges = corners[:, 1:, :] - corners[:, :1, :]  # (M, d, d)
    volume = np.abs(np.linalg.det(edges)) / math.factorial(p.shape[1])  # (M,)
    box = float(np.prod(p.max(axis=0) - p.min(axis=0)))
    keep = volume > 1e-12 * box
    if inside is not None:
        centroids = corners.mean(axis=1)  # (M, d)
        flags = np.asarray(inside(centroids))
        if flags.shape != (len(centroids),) or flags.dtype != np.bool_:
            raise ValueError(
                f"inside must return a bool array of shape ({len(centroids)},) for centroids of shape "
                f"{centroids.shape}, got {flags.dtype} {flags.shape}"
            )
        keep &= flags
    return simplices[keep]


def export_points_hdf5(
    path: str | os.PathLike[str],
    points: np.ndarray,
    fields: Mapping[str, np.ndarray],
    *,
    names: tuple[str, ...] | None = None,
    cells: np.ndarray | None = None,
    inside: Callable[[np.ndarray], np.ndarray] | None = None,
    times: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write fields at scattered points with a simplex mesh to ``path`` (HDF5) and ``.xdmf`` beside it.

    Args:
        path: the HDF5 file, e.g. ``"results/holes.h5"``; replaced atomically.
        points: coordinates ``(N, 2)`` or ``(N, 3)``.
        fields: name → values ``(N,)``, or ``(len(times), N)`` for a time series.
        names: coordinate names (default ``("x", "y")`` or ``("x", "y", "z")``).
        cells: simplices ``(M, d + 1)`` as point indices; default :func:`triangulate` ``(points, inside)``.
        inside: membership test of the domain for the centroids, used when ``cells`` is not given.
        times: optional 1-D strictly increasing time instants.
        attrs: settings and metrics, stored as root attributes.

    Returns:
        ``(h5_path, xdmf_path)``; the XDMF file has ``Triangle`` (2-D) or ``Tetrahedron`` (3-D) topology.
    """
    h5_path, xdmf_path = _check_path(path)
    p = _check_points(points)
    d = p.shape[1]
    names_ = tuple(names) if names is not None else ("x", "y", "z")[:d]
    if len(names_) != d:
        raise ValueError(f"names has {len(names_)} entries for points with {d} columns")
    for name in names_:
        _check_name(name, "coordinate")
    cells_ = triangulate(p, inside) if cells is None else _check_cells(cells, len(p), d)
    times_ = None if times is None else _check_times(times)
    fields_ = _check_point_fields(fields, len(p), times_)
    stored_attrs, json_keys = _encode_attrs(attrs or {})

    def body(f: h5py.File) -> dict[str, Any]:
        f.create_dataset("points", data=p, **_COMPRESS).attrs["names"] = json.dumps(list(names_))
        f.create_dataset("cells", data=cells_, **_COMPRESS)
        group = f.create_group("fields", track_order=True)
        for name, values in fields_.items():
            group.create_dataset(name, data=values)
        if times_ is not None:
            f.create_dataset("times", data=times_)
        xdmf = f.create_group("xdmf", track_order=True)
        xdmf.create_dataset("geometry", data=p, **_COMPRESS)
        xdmf.create_dataset("topology", data=cells_, **_COMPRESS)
        return {
            "topology": _SIMPLEX[d],
            "n_points": len(p),
            "n_cells": len(cells_),
            "fields": _write_flat_fields(xdmf, fields_, times_, len(p)),
            "mask": None,
        }

    _write_pair(h5_path, xdmf_path, "points", stored_attrs, json_keys, body, times_)
    return h5_path, xdmf_path


def read_hdf5(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> dict[str, Any]:
    """Read a file written by :func:`export_hdf5`.

    Refuses, before reading any array, a file whose arrays would take more than ``max_bytes`` (default
    :data:`READ_LIMIT`; never more than the machine's memory), a file whose fields do not match its
    coordinates, and a ``.h5`` whose ``.xdmf`` beside it belongs to another export (module docstring).

    Returns:
        for a grid, ``{"axes": {name: (n,)}, "fields": {name: array}, "times": (T,) or None,
        "attrs": {...}, "mask": bool array or None}``, arrays as stored (fields NaN outside
        the mask); for scattered points (:func:`export_points_hdf5`), ``{"names": [...],
        "points": (N, d), "cells": (M, d + 1), "fields": {name: (N,) or (T, N)}, "times": (T,) or
        None, "attrs": {...}}``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; pass the .h5 file written by export_hdf5")
    hint = "export fields with Solution.export"
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(
            f"{str(path)!r} is not a kanpde export: it is not a readable HDF5 file ({err}); {hint}"
        ) from err
    with f:
        fmt = f.attrs.get("kanpde_format")
        if fmt is None:
            raise ValueError(f"{str(path)!r} is not a kanpde export (no 'kanpde_format' attribute); {hint}")
        if _as_python(fmt) != FORMAT:
            raise ValueError(
                f"{str(path)!r} is not a kanpde field export (kanpde_format = {fmt!r}, "
                f"expected {FORMAT!r}); {hint}"
            )
        version = _as_python(f.attrs.get("kanpde_format_version", 0))
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"{str(path)!r} has kanpde_format_version {version!r}, newer than this kanpde reads "
                f"({FORMAT_VERSION}); upgrade kanpde"
            )
        layout = _as_python(f.attrs.get(_LAYOUT, "grid"))
        if layout not in _READERS:
            raise ValueError(
                f"{str(path)!r} has an unknown layout {layout!r} (known: {', '.join(_READERS)}); upgrade kanpde"
            )
        try:
            _check_pair(path, f)
            _check_read_size(path, f, max_bytes)
            data = _READERS[layout](f)
        except (KeyError, OSError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"{str(path)!r} is a damaged kanpde export ({err!r}); export it again") from err
        problem = _SHAPE_CHECKS[layout](data)
        if problem:
            raise ValueError(f"{str(path)!r} is a damaged kanpde export: {problem}; export it again")
        return data


def _check_pair(path: Path, f: h5py.File) -> None:
    """Refuse a ``.h5`` whose ``.xdmf`` beside it records another export's pair token."""
    xdmf = path.with_suffix(".xdmf")
    if not xdmf.is_file():
        return
    with xdmf.open("rb") as handle:
        head = handle.read(_XDMF_HEAD).decode("utf-8", errors="replace")
    found = _TOKEN_COMMENT.search(head)
    if found is None:
        return  # an .xdmf of another tool or of an older kanpde: nothing to compare
    token = _as_python(f.attrs.get(_TOKEN, ""))
    if found.group(1) != token:
        raise ValueError(
            f"{str(path)!r} and {str(xdmf)!r} are not one export: the .xdmf records pair token "
            f"{found.group(1)[:8]}..., the .h5 {str(token)[:8] or 'none'}... (an export interrupted between "
            "the two files, or files of two exports); export again, or delete the stale .xdmf to read the "
            ".h5 alone"
        )


def read_limit(max_bytes: int | None) -> int:
    """The most bytes a reader may take: ``max_bytes`` (default :data:`READ_LIMIT`), at most the memory."""
    return min(READ_LIMIT if max_bytes is None else int(max_bytes), memory_limit())


def _check_read_size(path: Path, f: h5py.File, max_bytes: int | None) -> None:
    """Refuse, before reading, arrays (everything outside ``/xdmf``) larger than the limit."""
    sizes: list[tuple[int, str]] = []

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset) and not name.startswith("xdmf"):
            sizes.append((math.prod(item.shape or ()) * item.dtype.itemsize, name))

    f.visititems(visit)
    total = sum(n for n, _ in sizes)
    limit = read_limit(max_bytes)
    largest = max(sizes, default=(0, ""))
    check_memory(
        f"reading {str(path)!r} (largest array /{largest[1]}: {format_bytes(largest[0])})",
        total,
        limit=limit,
        hint="the file is damaged, or pass max_bytes= to read a larger export",
    )


# ----------------------------------------------------------------------------- validation


def _check_path(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    h5_path = Path(path)
    if h5_path.suffix.lower() in (".xdmf", ".xmf"):
        raise ValueError(
            f"export path {str(h5_path)!r} ends in {h5_path.suffix!r}, but it names the HDF5 file; "
            "pass a path ending in '.h5' (the .xdmf file is written beside it)"
        )
    if ":" in h5_path.name:
        raise ValueError(f"export file name {h5_path.name!r} contains ':', which XDMF cannot reference")
    return h5_path, h5_path.with_suffix(".xdmf")


def _check_points(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in _SIMPLEX:
        raise ValueError(f"points must have shape (N, 2) or (N, 3), got {p.shape}")
    if len(p) < p.shape[1] + 1 or not np.all(np.isfinite(p)):
        raise ValueError(f"points must be finite and at least {p.shape[1] + 1}, got {len(p)} rows")
    return p


def _check_cells(cells: np.ndarray, n_points: int, d: int) -> np.ndarray:
    c = np.asarray(cells)
    if c.ndim != 2 or c.shape[1] != d + 1 or c.dtype.kind not in "iu":
        raise ValueError(f"cells must be an integer array of shape (M, {d + 1}), got {c.dtype} {c.shape}")
    if c.size and (c.min() < 0 or c.max() >= n_points):
        raise ValueError(f"cells index points 0..{n_points - 1}, got indices {c.min()}..{c.max()}")
    return c.astype(np.int64)


def _check_point_fields(
    fields: Mapping[str, np.ndarray], n_points: int, times: np.ndarray | None
) -> dict[str, np.ndarray]:
    if not fields:
        raise ValueError("fields is empty; pass at least one field, e.g. fields={'u': u}")
    expected = (n_points,) if times is None else (len(times), n_points)
    checked = {}
    for name, values in fields.items():
        _check_name(name, "field")
        a = np.asarray(values)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"field {name!r} must be real-valued, got dtype {a.dtype}")
        if a.shape != expected:
            what = "(N,)" if times is None else "(len(times), N)"
            raise ValueError(f"field {name!r} has shape {a.shape}; expected {expected} = {what}")
        checked[name] = np.array(a, dtype=np.float64)
    return checked


def _check_name(name: object, what: str) -> str:
    """Names become HDF5 dataset names and XDMF ``file:path`` references."""
    if not isinstance(name, str) or not name or name != name.strip() or name in (".", ".."):
        raise ValueError(f"{what} name {name!r} is invalid; use a non-empty string such as 'u'")
    if "/" in name or ":" in name:
        raise ValueError(f"{what} name {name!r} contains '/' or ':'; use letters, digits and '_'")
    return name


def _check_axes(axes: Mapping[str, np.ndarray], *, time_series: bool) -> dict[str, np.ndarray]:
    if not 1 <= len(axes) <= 3:
        raise ValueError(f"expected 1, 2 or 3 spatial axes, got {len(axes)}: {list(axes)}")
    checked = {}
    for name, values in axes.items():
        _check_name(name, "axis")
        if time_series and name == _TIME_NAME:
            raise ValueError(
                f"spatial axis name {_TIME_NAME!r} is reserved for the time axis of a time series; "
                "rename the axis or pass the instants as times= only"
            )
        a = np.asarray(values, dtype=np.float64)
        if a.ndim != 1 or len(a) < 2:
            raise ValueError(f"axis {name!r} must be a 1-D array of at least 2 points, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or np.any(np.diff(a) <= 0):
            raise ValueError(f"axis {name!r} must be finite and strictly increasing")
        checked[name] = a
    return checked


def _check_times(times: np.ndarray) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("times must be finite and strictly increasing")
    return t


def _check_mask(mask: np.ndarray, shape: tuple[int, ...], axes: dict[str, np.ndarray]) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"mask has shape {m.shape}; expected {shape} = {_shape_text(axes, False)}")
    if m.dtype != np.bool_:
        if m.dtype.kind not in "biu" or not np.all((m == 0) | (m == 1)):
            raise ValueError(f"mask must be boolean (True inside the domain), got dtype {m.dtype}")
        m = m.astype(bool)
    return m


def _check_fields(
    fields: Mapping[str, np.ndarray],
    shape: tuple[int, ...],
    axes: dict[str, np.ndarray],
    times: np.ndarray | None,
    *,
    has_mask: bool,
) -> dict[str, np.ndarray]:
    if not fields:
        raise ValueError("fields is empty; pass at least one field, e.g. fields={'u': u}")
    expected = shape if times is None else (len(times), *shape)
    checked = {}
    for name, values in fields.items():
        _check_name(name, "field")
        if has_mask and name == _MASK_NAME:
            raise ValueError(f"field name {_MASK_NAME!r} is reserved when a mask is given; rename the field")
        try:
            a = np.asarray(values)
        except (TypeError, RuntimeError, ValueError) as err:
            raise ValueError(
                f"field {name!r} is not convertible to a numpy array ({err}); "
                "pass numpy arrays, e.g. tensor.detach().cpu().numpy()"
            ) from err
        if a.dtype.kind not in "biuf":
            raise ValueError(f"field {name!r} must be real-valued, got dtype {a.dtype}")
        if a.shape != expected:
            raise ValueError(
                f"field {name!r} has shape {a.shape}; expected {expected} = "
                f"{_shape_text(axes, times is not None)}"
            )
        checked[name] = np.array(a, dtype=np.float64)  # a copy: masking must not touch the input
    return checked


def _shape_text(axes: dict[str, np.ndarray], time_series: bool) -> str:
    lens = [f"len({name})" for name in axes]
    return "(" + ", ".join((["len(times)"] if time_series else []) + lens) + ")"


def _encode_attrs(attrs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split attributes into HDF5-native values and JSON strings; returns (stored, json_keys)."""
    stored: dict[str, Any] = {}
    json_keys = []
    for key, value in attrs.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"attribute names must be non-empty strings, got {key!r}")
        if key.startswith(_RESERVED_ATTR_PREFIX):
            raise ValueError(
                f"attribute name {key!r} is reserved (prefix {_RESERVED_ATTR_PREFIX!r}); rename it"
            )
        native = _native_attr(value)
        if native is not None:
            stored[key] = native
            continue
        try:
            stored[key] = json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"attribute {key!r} = {value!r} cannot be stored ({err}); "
                "use numbers, strings, lists, dicts or None"
            ) from err
        json_keys.append(key)
    return stored, json_keys


def _native_attr(value: Any) -> Any:
    """The value to store as a plain HDF5 attribute, or None if it must go through JSON."""
    if isinstance(value, bool | str | float | np.bool_ | np.floating):
        return value
    if isinstance(value, int | np.integer):
        return value if -(2**63) <= int(value) < 2**63 else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size > 0:
        return value
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# ----------------------------------------------------------------------------- XDMF


def _write_header(f: h5py.File, layout: str, stored_attrs: dict[str, Any], json_keys: list[str]) -> None:
    f.attrs["kanpde_format"] = FORMAT
    f.attrs["kanpde_format_version"] = FORMAT_VERSION
    f.attrs[_LAYOUT] = layout
    f.attrs[_JSON_ATTRS] = json.dumps(json_keys)
    for key, value in stored_attrs.items():
        f.attrs[key] = value


def _grid_cells(shape: tuple[int, ...]) -> np.ndarray:
    """Cells of the tensor-product grid as point indices, VTK vertex order; (M, 2**d)."""
    index = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)  # (n_0, ..., n_{d-1})
    corners = [
        index[tuple(slice(o, n - 1 + o) for o, n in zip(offset, shape, strict=True))]  # (n_0-1, ...)
        for offset in _CORNERS[len(shape)]
    ]
    return np.stack(corners, axis=-1).reshape(-1, len(corners))  # (M, 2**d)


def _grid_points(axes: dict[str, np.ndarray]) -> np.ndarray:
    """Point coordinates in C order of the grid index; (N, 2) in 1-D and 2-D, (N, 3) in 3-D."""
    nodes = grid_nodes(list(axes.values()))  # (N, d)
    if nodes.shape[1] == 1:
        nodes = np.concatenate([nodes, np.zeros_like(nodes)], axis=1)  # a 1-D grid lies on the X axis
    return nodes  # (N, 2|3)


def _write_xdmf_datasets(
    f: h5py.File,
    axes: dict[str, np.ndarray],
    fields: dict[str, np.ndarray],
    times: np.ndarray | None,
    mask: np.ndarray | None,
) -> dict[str, Any]:
    """Write the flat arrays the XDMF file points at; return their HDF5 paths."""
    shape = tuple(len(a) for a in axes.values())
    n_points = math.prod(shape)
    cells = _grid_cells(shape)  # (M, 2**d)
    if mask is not None:
        cells = cells[mask.reshape(-1)[cells].all(axis=1)]  # keep cells entirely inside
    group = f.create_group("xdmf", track_order=True)
    group.create_dataset("geometry", data=_grid_points(axes), **_COMPRESS)
    group.create_dataset("topology", data=cells, **_COMPRESS)
    items: dict[str, Any] = {
        "topology": _TOPOLOGY[len(shape)],
        "n_points": n_points,
        "n_cells": len(cells),
        "fields": _write_flat_fields(group, fields, times, n_points),
        "mask": None,
    }
    if mask is not None:
        group.create_dataset(_MASK_NAME, data=mask.reshape(n_points).astype(np.float64))
        items["mask"] = f"/xdmf/{_MASK_NAME}"
    return items


def _write_flat_fields(
    group: h5py.Group, fields: dict[str, np.ndarray], times: np.ndarray | None, n_points: int
) -> dict[str, Any]:
    """Write each field as flat ``(N,)`` datasets under ``/xdmf/fields``; return name → dataset path(s)."""
    fields_group = group.create_group("fields", track_order=True)
    steps: dict[str, Any] = {}  # name → dataset path, or one path per time step
    for name, values in fields.items():
        if times is None:
            fields_group.create_dataset(name, data=values.reshape(n_points))  # (N,)
            steps[name] = f"/xdmf/fields/{name}"
        else:
            per_step = fields_group.create_group(name, track_order=True)
            steps[name] = []
            for k, snapshot in enumerate(values):
                per_step.create_dataset(f"{k:06d}", data=snapshot.reshape(n_points))  # (N,)
                steps[name].append(f"/xdmf/fields/{name}/{k:06d}")
    return steps


def _data_item(parent: ET.Element, h5_name: str, dataset: str, dims: tuple[int, ...], number: str) -> None:
    item = ET.SubElement(
        parent,
        "DataItem",
        Dimensions=" ".join(str(d) for d in dims),
        NumberType=number,
        Precision="8",
        Format="HDF",
    )
    item.text = f"{h5_name}:{dataset}"


def _uniform_grid(parent: ET.Element, name: str, h5_name: str, items: dict[str, Any]) -> ET.Element:
    topology_type, corners, geometry_type = items["topology"]
    grid = ET.SubElement(parent, "Grid", Name=name, GridType="Uniform")
    topology = ET.SubElement(
        grid,
        "Topology",
        TopologyType=topology_type,
        NumberOfElements=str(items["n_cells"]),
        NodesPerElement=str(corners),
    )
    _data_item(topology, h5_name, "/xdmf/topology", (items["n_cells"], corners), "Int")
    geometry = ET.SubElement(grid, "Geometry", GeometryType=geometry_type)
    _data_item(geometry, h5_name, "/xdmf/geometry", (items["n_points"], len(geometry_type)), "Float")
    return grid


def _attribute(grid: ET.Element, name: str, h5_name: str, dataset: str, n_points: int) -> None:
    attribute = ET.SubElement(grid, "Attribute", Name=name, AttributeType="Scalar", Center="Node")
    _data_item(attribute, h5_name, dataset, (n_points,), "Float")


def _xdmf_tree(h5_name: str, items: dict[str, Any], times: np.ndarray | None) -> ET.ElementTree:
    root = ET.Element("Xdmf", Version="3.0")
    domain = ET.SubElement(root, "Domain")
    n_points = items["n_points"]
    if times is None:
        grid = _uniform_grid(domain, "kanpde", h5_name, items)
        for name, dataset in items["fields"].items():
            _attribute(grid, name, h5_name, dataset, n_points)
        if items["mask"] is not None:
            _attribute(grid, _MASK_NAME, h5_name, items["mask"], n_points)
    else:
        collection = ET.SubElement(
            domain, "Grid", Name="kanpde", GridType="Collection", CollectionType="Temporal"
        )
        for k, t in enumerate(times):
            grid = _uniform_grid(collection, f"step_{k:06d}", h5_name, items)
            ET.SubElement(grid, "Time", Value=repr(float(t)))
            for name, datasets in items["fields"].items():
                _attribute(grid, name, h5_name, datasets[k], n_points)
            if items["mask"] is not None:
                _attribute(grid, _MASK_NAME, h5_name, items["mask"], n_points)
    tree = ET.ElementTree(root)
    ET.indent(tree, space="  ")
    return tree


# ----------------------------------------------------------------------------- reading


def _read_layout(f: h5py.File) -> dict[str, Any]:
    coords = f["coordinates"]
    axis_names = json.loads(_as_python(coords.attrs["axes"]))
    axes = {name: coords[name][()] for name in axis_names}
    time_name = _as_python(coords.attrs.get("time", ""))
    times = coords[time_name][()] if time_name else None
    fields = {name: dataset[()] for name, dataset in f["fields"].items()}
    mask = f[_MASK_NAME][()].astype(bool) if _MASK_NAME in f else None
    return {"axes": axes, "fields": fields, "times": times, "attrs": _read_attrs(f), "mask": mask}


def _read_attrs(f: h5py.File) -> dict[str, Any]:
    json_keys = set(json.loads(_as_python(f.attrs.get(_JSON_ATTRS, "[]"))))
    attrs = {}
    for key, value in f.attrs.items():
        if key.startswith(_RESERVED_ATTR_PREFIX):
            continue
        value = _as_python(value)
        attrs[key] = json.loads(value) if key in json_keys else value
    return attrs


def _read_points(f: h5py.File) -> dict[str, Any]:
    return {
        "names": json.loads(_as_python(f["points"].attrs["names"])),
        "points": f["points"][()],
        "cells": f["cells"][()],
        "fields": {name: dataset[()] for name, dataset in f["fields"].items()},
        "times": f["times"][()] if "times" in f else None,
        "attrs": _read_attrs(f),
    }


def _grid_shape_problem(data: dict[str, Any]) -> str | None:
    """What is inconsistent between a grid export's fields, mask and coordinates (``None``: nothing)."""
    for name, axis in data["axes"].items():
        if np.ndim(axis) != 1:
            return f"coordinate {name!r} has shape {np.shape(axis)}, not (n,)"
    grid = tuple(len(a) for a in data["axes"].values())
    times = data["times"]
    if times is not None and np.ndim(times) != 1:
        return f"the times have shape {np.shape(times)}, not (T,)"
    expected = grid if times is None else (len(times), *grid)
    for name, values in data["fields"].items():
        if np.shape(values) != expected:
            return f"field {name!r} has shape {np.shape(values)}, but the coordinates give {expected}"
    if data["mask"] is not None and data["mask"].shape != grid:
        return f"the mask has shape {data['mask'].shape}, but the coordinates give {grid}"
    return None


def _points_shape_problem(data: dict[str, Any]) -> str | None:
    """What is inconsistent between a point export's points, cells, fields and times (``None``: nothing)."""
    points, cells, times = data["points"], data["cells"], data["times"]
    d = len(data["names"])
    if np.ndim(points) != 2 or np.shape(points)[1] != d:
        return f"the points have shape {np.shape(points)}, but {d} coordinate names"
    if np.ndim(cells) != 2 or np.shape(cells)[1] != d + 1:
        return f"the cells have shape {np.shape(cells)}, not (M, {d + 1})"
    n = len(points)
    if times is not None and np.ndim(times) != 1:
        return f"the times have shape {np.shape(times)}, not (T,)"
    expected = (n,) if times is None else (len(times), n)
    for name, values in data["fields"].items():
        if np.shape(values) != expected:
            return f"field {name!r} has shape {np.shape(values)}, but the points give {expected}"
    return None


def _as_python(value: Any) -> Any:
    """numpy scalars → Python scalars, bytes → str; arrays unchanged."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


# layout attribute → reader
_READERS: dict[str, Callable[[h5py.File], dict[str, Any]]] = {"grid": _read_layout, "points": _read_points}
_SHAPE_CHECKS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "grid": _grid_shape_problem,
    "points": _points_shape_problem,
}


# --------------------------------------------------------------------------------------------------
# A solution's fields
# --------------------------------------------------------------------------------------------------


def export_solution(
    solution, path: str | os.PathLike[str], resolution: int | None = None
) -> tuple[Path, Path]:
    """Write ``solution``'s fields on a regular grid to HDF5 with an XDMF file beside it (for ParaView);
    see :meth:`kanpde.Solution.export`. The mesh is prepared here: a box (and space-time over a box) is
    written as its grid; another domain in 2-D or 3-D as its evaluation nodes inside plus points on its
    boundary, triangulated with the cells outside removed."""
    domain = solution.domain
    if domain is None:
        raise ValueError(
            "export needs the problem, which this solution does not have (nor its domain); load the checkpoint with "
            "kp.load(path, problem=NAME_OR_FILE.py) or problem=a kp.Problem"
        )
    if not solution.exportable:
        raise ValueError(
            f"export writes fields on 1-, 2- or 3-D grids for ParaView; this solution's domain has "
            f"{domain.space_dim} spatial axes ({', '.join(domain.names)}): evaluate it at the points you "
            "need with solution(points) instead"
        )
    if resolution is not None and (check_positive_int("resolution", resolution) < 2):
        raise ValueError(f"resolution must be an integer >= 2 (nodes per coordinate), got {resolution}")
    sizes = domain.evaluation_sizes() if resolution is None else [resolution] * domain.dim
    attrs = _solution_attrs(solution)
    space = domain.spatial
    if not isinstance(space, Box) and space.dim in (2, 3):
        return _export_mesh(solution, path, domain, sizes, attrs)
    axes, mask = domain.evaluation_grid(sizes)
    fields = _solution_fields(solution, grid_nodes(axes))
    shape = [len(a) for a in axes]
    fields = {k: v.reshape(shape) for k, v in fields.items()}  # (n_1, ..., n_d)
    names = domain.names
    if domain.is_time_dependent:
        # move t (last column) to the front: (n_t, n_1, ..., n_d)
        fields = {k: np.moveaxis(v, -1, 0) for k, v in fields.items()}
        space_mask = mask.all(axis=-1)
        return export_hdf5(
            path,
            dict(zip(names[:-1], axes[:-1], strict=True)),
            fields,
            times=axes[-1],
            attrs=attrs,
            mask=None if space_mask.all() else space_mask,
        )
    return export_hdf5(
        path, dict(zip(names, axes, strict=True)), fields, attrs=attrs, mask=None if mask.all() else mask
    )


def _solution_attrs(solution) -> dict[str, Any]:
    """What the file says of the run: the problem, model, fields, settings, metrics, unknowns, formula."""
    problem = solution.problem
    attrs = {
        "problem": problem.name if problem is not None else "",
        "model": repr(solution.model),
        "fields": list(solution.fields),
        "settings": solution.settings.as_dict() if solution.settings is not None else {},
    }
    if problem is not None and problem.has_truth:
        attrs["metrics"] = plain(solution.metrics())
    if solution.unknowns:
        attrs["unknowns"] = solution.unknowns
    attrs.update(solution.formula_attributes())
    return attrs


def _export_mesh(solution, path, domain, sizes: list[int], attrs: dict) -> tuple[Path, Path]:
    """A domain that is not a box: its evaluation nodes inside plus boundary points, triangulated
    (tetrahedra in 3-D) with the cells outside removed (:func:`export_points_hdf5`)."""
    timed = domain.is_time_dependent
    space = domain.spatial
    axes, mask = space.evaluation_grid(sizes[: space.dim])
    boundary = space.sample_boundary(4 * max(sizes[: space.dim]), sampler="grid", dtype=torch.float64)[0]
    points = np.concatenate([grid_nodes(axes)[mask.ravel()], boundary.numpy()])  # (N, d_space)
    times = domain.evaluation_grid(sizes)[0][-1] if timed else None
    if timed:  # every point at every time: (T * N, d_space + 1), time outermost
        stacked = np.concatenate(
            [np.repeat(times, len(points))[:, None], np.tile(points, (len(times), 1))], axis=1
        )
        stacked = np.roll(stacked, -1, axis=1)  # columns x, y, (z,) t
    else:
        stacked = points
    fields = _solution_fields(solution, stacked)
    if timed:
        fields = {k: v.reshape(len(times), len(points)) for k, v in fields.items()}  # (T, N)

    def inside(c: np.ndarray) -> np.ndarray:
        return space.contains(torch.as_tensor(c)).numpy()

    names = tuple(space.names)
    return export_points_hdf5(path, points, fields, names=names, inside=inside, times=times, attrs=attrs)


def _solution_fields(solution, nodes: np.ndarray) -> dict[str, np.ndarray]:
    """The fields at ``nodes`` ``(M, d)`` and, where the problem is attached, the truth, the error and the
    PDE's residuals."""
    x = solution.as_points(nodes)
    values = solution.evaluate(x).cpu().numpy()  # (M, F)
    one = len(solution.fields) == 1
    out = {("u" if one else f): values[:, i] for i, f in enumerate(solution.fields)}
    problem = solution.problem
    if problem is None:
        return out
    true = None
    if problem.exact is not None:
        with torch.no_grad():
            true = problem.exact_values(x).cpu().numpy()  # (M, F)
    elif problem.reference is not None:
        true = problem.reference.interpolate(x.cpu().numpy())
    if true is not None:
        for i, f in enumerate(solution.fields):
            out["exact" if one else f"exact_{f}"] = true[:, i]
            out["error" if one else f"error_{f}"] = values[:, i] - true[:, i]
    for name, r in solution.residuals(x).items():
        out[name if name.startswith("residual") else f"residual_{name}"] = r.cpu().numpy()
    return out
