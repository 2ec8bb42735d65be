"""HDF5 + XDMF field export: round trips, validation, XDMF consistency, meshio, atomic writes."""

from __future__ import annotations

import math
from pathlib import Path
from xml.etree import ElementTree as ET

import h5py
import meshio  # the test extra installs it
import numpy as np
import pytest

from kanpde import export as export_module
from kanpde._atomic import atomic_write
from kanpde.export import export_hdf5, read_hdf5

# deliberately non-uniform axes of different lengths, so a transposed layout cannot pass
X = np.array([0.0, 0.1, 0.35, 0.5, 0.9, 1.0])
Y = np.array([-1.0, -0.2, 0.3, 2.0])
Z = np.array([0.0, 0.5, 0.7])
T = np.array([0.0, 0.25, 1.0])


def f1(x):
    return np.sin(3 * x) + x**2


def f2(x, y):
    return np.sin(3 * x) + 2 * y**2 + x * y


def f3(x, y, z):
    return x + 10 * y + 100 * z + x * y * z


def f2t(t, x, y):
    return (1 + t) * f2(x, y) + 5 * t


def grid(*axes):
    return np.meshgrid(*axes, indexing="ij")


def test_round_trip_1d(tmp_path):
    u = f1(X)
    h5, xdmf = export_hdf5(tmp_path / "a.h5", {"x": X}, {"u": u, "exact": u + 1})
    assert h5 == tmp_path / "a.h5" and xdmf == tmp_path / "a.xdmf"
    mesh = meshio.read(xdmf)
    np.testing.assert_array_equal(mesh.point_data["u"], u)
    np.testing.assert_array_equal(mesh.point_data["exact"], u + 1)
    data = read_hdf5(h5)
    assert list(data["axes"]) == ["x"]
    np.testing.assert_array_equal(data["axes"]["x"], X)
    assert list(data["fields"]) == ["u", "exact"]
    np.testing.assert_array_equal(data["fields"]["u"], u)
    np.testing.assert_array_equal(data["fields"]["exact"], u + 1)
    assert data["times"] is None and data["mask"] is None and data["attrs"] == {}


def test_round_trip_2d(tmp_path):
    u = f2(*grid(X, Y))
    h5, _ = export_hdf5(tmp_path / "b.h5", {"x": X, "y": Y}, {"u": u, "error": -u})
    data = read_hdf5(h5)
    assert list(data["axes"]) == ["x", "y"]
    np.testing.assert_array_equal(data["axes"]["y"], Y)
    np.testing.assert_array_equal(data["fields"]["u"], u)
    np.testing.assert_array_equal(data["fields"]["error"], -u)
    assert data["fields"]["u"].dtype == np.float64


def test_round_trip_3d(tmp_path):
    u = f3(*grid(X, Y, Z))
    h5, _ = export_hdf5(tmp_path / "c.h5", {"x": X, "y": Y, "z": Z}, {"u": u})
    data = read_hdf5(h5)
    assert list(data["axes"]) == ["x", "y", "z"]
    np.testing.assert_array_equal(data["fields"]["u"], u)


def test_round_trip_time_series(tmp_path):
    u = f2t(*np.meshgrid(T, X, Y, indexing="ij"))  # (T, nx, ny)
    h5, _ = export_hdf5(tmp_path / "d.h5", {"x": X, "y": Y}, {"u": u}, times=T)
    data = read_hdf5(h5)
    np.testing.assert_array_equal(data["times"], T)
    assert list(data["axes"]) == ["x", "y"]
    np.testing.assert_array_equal(data["fields"]["u"], u)
    with h5py.File(h5) as f:
        assert f["fields/u"].shape == (3, 6, 4)
        np.testing.assert_array_equal(f["coordinates/t"][()], T)


def test_space_time_axis_named_t_allowed_when_stationary(tmp_path):
    u = f2(*grid(X, Y))
    h5, _ = export_hdf5(tmp_path / "st.h5", {"x": X, "t": Y}, {"u": u})
    data = read_hdf5(h5)
    assert list(data["axes"]) == ["x", "t"] and data["times"] is None


def test_attrs_round_trip(tmp_path):
    attrs = {
        "lr": 1e-3,
        "steps": 2000,
        "converged": True,
        "model": "kan",
        "widths": [2, 8, 1],
        "optimizer": {"name": "lbfgs", "history": 50, "nested": {"a": [1.5, None]}},
        "note": None,
        "looks_like_json": "[1, 2]",
        "grid": np.array([5, 10, 20]),
        "out_dir": tmp_path,
    }
    h5, _ = export_hdf5(tmp_path / "e.h5", {"x": X}, {"u": f1(X)}, attrs=attrs)
    got = read_hdf5(h5)["attrs"]
    assert set(got) == set(attrs)
    assert got["lr"] == 1e-3 and isinstance(got["lr"], float)
    assert got["steps"] == 2000 and isinstance(got["steps"], int)
    assert got["converged"] is True
    assert got["model"] == "kan"
    assert got["widths"] == [2, 8, 1]
    assert got["optimizer"] == attrs["optimizer"]
    assert got["note"] is None
    assert got["looks_like_json"] == "[1, 2]"
    np.testing.assert_array_equal(got["grid"], [5, 10, 20])
    assert got["out_dir"] == str(tmp_path)
    with h5py.File(h5) as f:
        assert f.attrs["kanpde_format"] == "kanpde-fields"
        assert f.attrs["kanpde_format_version"] == 1


def test_reserved_attr_rejected(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        export_hdf5(tmp_path / "r.h5", {"x": X}, {"u": f1(X)}, attrs={"kanpde_format": "x"})


def test_mask_sets_nan_outside(tmp_path):
    xx, yy = grid(X, Y)
    mask = xx + yy < 1.0
    u = f2(xx, yy)
    h5, xdmf = export_hdf5(tmp_path / "m.h5", {"x": X, "y": Y}, {"u": u}, mask=mask)
    data = read_hdf5(h5)
    np.testing.assert_array_equal(data["mask"], mask)
    assert data["mask"].dtype == np.bool_
    got = data["fields"]["u"]
    assert np.all(np.isnan(got[~mask]))
    np.testing.assert_array_equal(got[mask], u[mask])
    assert not np.isnan(u).any()  # the caller's array is untouched
    with h5py.File(h5) as f:
        assert f["mask"].dtype == np.uint8
    mesh = meshio.read(xdmf)
    inside = mesh.point_data["mask"] == 1.0
    for cell in mesh.cells_dict["quad"]:
        assert inside[cell].all()  # only cells entirely inside the domain are drawn


def test_mask_time_series(tmp_path):
    mask = grid(X, Y)[0] < 0.6
    u = f2t(*np.meshgrid(T, X, Y, indexing="ij"))
    h5, _ = export_hdf5(tmp_path / "mt.h5", {"x": X, "y": Y}, {"u": u}, times=T, mask=mask)
    got = read_hdf5(h5)["fields"]["u"]
    assert np.all(np.isnan(got[:, ~mask]))
    np.testing.assert_array_equal(got[:, mask], u[:, mask])


@pytest.mark.parametrize(
    ("axes", "fields", "kwargs", "match"),
    [
        ({"x": X, "y": Y}, {"u": np.zeros((4, 6))}, {}, r"'u' has shape \(4, 6\); expected \(6, 4\)"),
        ({"x": X}, {"u": np.zeros((6, 1))}, {}, r"expected \(6,\) = \(len\(x\)\)"),
        (
            {"x": X, "y": Y},
            {"u": np.zeros((6, 4))},
            {"times": T},
            r"expected \(3, 6, 4\) = \(len\(times\), len\(x\), len\(y\)\)",
        ),
        ({"x": X, "y": Y}, {"u": np.zeros((6, 4))}, {"mask": np.ones((4, 6), bool)}, r"mask has shape"),
        ({}, {"u": np.zeros(3)}, {}, "1, 2 or 3 spatial axes"),
        ({"a": X, "b": X, "c": X, "d": X}, {"u": np.zeros(3)}, {}, "1, 2 or 3 spatial axes"),
        ({"x": X[::-1]}, {"u": np.zeros(6)}, {}, "strictly increasing"),
        ({"x": np.zeros((2, 3))}, {"u": np.zeros(6)}, {}, "1-D array"),
        ({"x": X}, {}, {}, "fields is empty"),
        ({"x": X}, {"u/v": np.zeros(6)}, {}, "contains '/'"),
        ({"x": X}, {"u": np.zeros(6, complex)}, {}, "real-valued"),
        ({"x": X, "t": Y}, {"u": np.zeros((3, 6, 4))}, {"times": T}, "reserved for the time axis"),
        ({"x": X}, {"u": np.zeros((2, 6))}, {"times": np.array([1.0, 0.0])}, "times must be"),
    ],
)
def test_bad_input_raises(tmp_path, axes, fields, kwargs, match):
    with pytest.raises(ValueError, match=match):
        export_hdf5(tmp_path / "bad.h5", axes, fields, **kwargs)
    assert not list(tmp_path.iterdir())  # validation happens before anything is written


def test_xdmf_suffix_rejected(tmp_path):
    with pytest.raises(ValueError, match="'.h5'"):
        export_hdf5(tmp_path / "run.xdmf", {"x": X}, {"u": f1(X)})


def _check_data_items(xdmf: Path) -> int:
    """Every DataItem names an existing HDF5 dataset whose shape equals its Dimensions."""
    root = ET.parse(xdmf).getroot()
    assert root.tag == "Xdmf" and root.attrib["Version"] == "3.0"
    items = root.findall(".//DataItem")
    assert items
    for item in items:
        assert item.attrib["Format"] == "HDF"
        file_name, dataset = item.text.strip().split(":")
        assert file_name == xdmf.with_suffix(".h5").name  # relative to the .xdmf file
        dims = tuple(int(d) for d in item.attrib["Dimensions"].split())
        with h5py.File(xdmf.parent / file_name, "r") as f:
            assert isinstance(f[dataset], h5py.Dataset), dataset
            assert f[dataset].shape == dims, dataset
            kind = {"Float": "f", "Int": "i"}[item.attrib["NumberType"]]
            assert f[dataset].dtype.kind == kind and f[dataset].dtype.itemsize == int(
                item.attrib["Precision"]
            )
    return len(items)


def test_xdmf_data_items_match_datasets(tmp_path):
    xx, yy = grid(X, Y)
    cases = [
        ({"x": X}, {"u": f1(X)}, {}),
        ({"x": X, "y": Y}, {"u": f2(xx, yy), "exact": f2(xx, yy)}, {"mask": xx < 0.6}),
        ({"x": X, "y": Y, "z": Z}, {"u": f3(*grid(X, Y, Z))}, {}),
        ({"x": X, "y": Y}, {"u": f2t(*np.meshgrid(T, X, Y, indexing="ij"))}, {"times": T}),
    ]
    for k, (axes, fields, kwargs) in enumerate(cases):
        _, xdmf = export_hdf5(tmp_path / f"case{k}.h5", axes, fields, **kwargs)
        assert _check_data_items(xdmf) >= 3


def test_xdmf_topology_and_time_elements(tmp_path):
    _, xdmf = export_hdf5(
        tmp_path / "ts.h5", {"x": X, "y": Y}, {"u": f2t(*np.meshgrid(T, X, Y, indexing="ij"))}, times=T
    )
    root = ET.parse(xdmf).getroot()
    collection = root.find("Domain/Grid")
    assert collection.attrib["GridType"] == "Collection"
    assert collection.attrib["CollectionType"] == "Temporal"
    steps = collection.findall("Grid")
    assert [float(g.find("Time").attrib["Value"]) for g in steps] == T.tolist()
    assert all(g.find("Topology").attrib["TopologyType"] == "Quadrilateral" for g in steps)


def _assert_point_values(points, values, fn):
    """Each point's value equals the analytic function at that point's own coordinates."""
    np.testing.assert_allclose(values, fn(*points.T), rtol=0, atol=1e-13)


def test_meshio_reads_1d(tmp_path):
    _, xdmf = export_hdf5(tmp_path / "l.h5", {"x": X}, {"u": f1(X)})
    mesh = meshio.read(xdmf)
    assert len(mesh.points) == len(X)
    np.testing.assert_array_equal(mesh.points[:, 1], 0.0)
    _assert_point_values(mesh.points[:, :1], mesh.point_data["u"], f1)
    assert mesh.cells_dict["line"].shape == (len(X) - 1, 2)


def test_meshio_reads_2d_with_correct_ordering(tmp_path):
    _, xdmf = export_hdf5(tmp_path / "q.h5", {"x": X, "y": Y}, {"u": f2(*grid(X, Y))})
    mesh = meshio.read(xdmf)
    assert mesh.points.shape == (len(X) * len(Y), 2)
    _assert_point_values(mesh.points, mesh.point_data["u"], f2)
    quads = mesh.cells_dict["quad"]
    assert quads.shape == ((len(X) - 1) * (len(Y) - 1), 4)
    # counter-clockwise quads whose areas tile the domain exactly
    px, py = mesh.points[quads, 0], mesh.points[quads, 1]  # (M, 4)
    areas = 0.5 * np.sum(px * np.roll(py, -1, axis=1) - np.roll(px, -1, axis=1) * py, axis=1)
    assert np.all(areas > 0)
    assert math.isclose(areas.sum(), (X[-1] - X[0]) * (Y[-1] - Y[0]))


def test_meshio_reads_3d_with_correct_ordering(tmp_path):
    _, xdmf = export_hdf5(tmp_path / "h.h5", {"x": X, "y": Y, "z": Z}, {"u": f3(*grid(X, Y, Z))})
    mesh = meshio.read(xdmf)
    assert mesh.points.shape == (len(X) * len(Y) * len(Z), 3)
    _assert_point_values(mesh.points, mesh.point_data["u"], f3)
    hexes = mesh.cells_dict["hexahedron"]
    assert hexes.shape == ((len(X) - 1) * (len(Y) - 1) * (len(Z) - 1), 8)
    corners = mesh.points[hexes]  # (M, 8, 3)
    # VTK order: bottom face at lower z, counter-clockwise seen from +z; top face above it
    assert np.all(corners[:, :4, 2] < corners[:, 4:, 2])
    np.testing.assert_array_equal(corners[:, :4, :2], corners[:, 4:, :2])
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 3] - corners[:, 0]
    assert np.all(np.cross(e1, e2)[:, 2] > 0)


def test_meshio_reads_time_series(tmp_path):
    u = f2t(*np.meshgrid(T, X, Y, indexing="ij"))
    _, xdmf = export_hdf5(tmp_path / "ts.h5", {"x": X, "y": Y}, {"u": u, "v": -u}, times=T)
    with meshio.xdmf.TimeSeriesReader(xdmf) as reader:
        points, cells = reader.read_points_cells()
        assert points.shape == (len(X) * len(Y), 2)
        assert cells[0].type == "quad"
        assert reader.num_steps == len(T)
        for k in range(reader.num_steps):
            t, point_data, _ = reader.read_data(k)
            assert t == T[k]
            _assert_point_values(points, point_data["u"], lambda x, y, t=t: f2t(t, x, y))
            np.testing.assert_array_equal(point_data["v"], -point_data["u"])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        read_hdf5(tmp_path / "nope.h5")


def test_foreign_hdf5_rejected(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["u"] = np.zeros(3)
    with pytest.raises(ValueError, match="no 'kanpde_format' attribute.*Solution.export"):
        read_hdf5(path)


def test_text_file_rejected(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("this is not HDF5\n")
    with pytest.raises(ValueError, match="not a kanpde export"):
        read_hdf5(path)


def test_truncated_file_rejected(tmp_path):
    h5, _ = export_hdf5(tmp_path / "t.h5", {"x": X, "y": Y}, {"u": f2(*grid(X, Y))})
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="kanpde export"):
        read_hdf5(h5)


def test_newer_format_version_rejected(tmp_path):
    h5, _ = export_hdf5(tmp_path / "v.h5", {"x": X}, {"u": f1(X)})
    with h5py.File(h5, "a") as f:
        f.attrs["kanpde_format_version"] = 99
    with pytest.raises(ValueError, match="upgrade kanpde"):
        read_hdf5(h5)


def test_export_creates_parent_directories(tmp_path):
    h5, xdmf = export_hdf5(tmp_path / "new" / "deeper" / "run.h5", {"x": X}, {"u": f1(X)})
    assert h5 == tmp_path / "new" / "deeper" / "run.h5" and xdmf == h5.with_suffix(".xdmf")
    data = read_hdf5(h5)  # the files hold the values, not just exist
    np.testing.assert_array_equal(data["axes"]["x"], X)
    np.testing.assert_array_equal(data["fields"]["u"], f1(X))
    mesh = meshio.read(xdmf)  # and the .xdmf points at them, node by node
    np.testing.assert_array_equal(mesh.points[:, 0], X)
    np.testing.assert_array_equal(mesh.point_data["u"], f1(X))


def test_failed_export_leaves_previous_files_intact(tmp_path, monkeypatch):
    h5, xdmf = export_hdf5(tmp_path / "run.h5", {"x": X}, {"u": f1(X)})
    h5_before, xdmf_before = h5.read_bytes(), xdmf.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "_write_xdmf_datasets", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        export_hdf5(tmp_path / "run.h5", {"x": X}, {"u": 2 * f1(X)})
    assert h5.read_bytes() == h5_before and xdmf.read_bytes() == xdmf_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5", "run.xdmf"]
    np.testing.assert_array_equal(read_hdf5(h5)["fields"]["u"], f1(X))


def test_atomic_write_replaces_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".file.txt.tmp-")
        assert not tmp.exists()
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible until the block ends
    assert target.read_text() == "new"

    with pytest.raises(KeyError), atomic_write(target) as tmp:
        tmp.write_text("partial")
        raise KeyError("midway")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_atomic_write_requires_the_file_to_be_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="did not create"), atomic_write(tmp_path / "x.bin"):
        pass
    assert not list(tmp_path.iterdir())
