"""Export of scattered points with a Delaunay mesh (non-box domains), read back by meshio and read_hdf5."""

from __future__ import annotations

import meshio  # the test extra installs it
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.export import export_points_hdf5, read_hdf5, triangulate

SQUARE = kp.Rectangle((-0.5, -0.5), (0.5, 0.5))
WITH_HOLES = SQUARE - kp.Disk((0.3, 0.3), 0.1) - kp.Disk((-0.3, 0.3), 0.1)
LSHAPE = kp.Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])


def grid_points(domain: kp.Domain, n: int) -> np.ndarray:
    coords, mask = domain.evaluation_grid(n)
    mesh = np.meshgrid(*coords, indexing="ij")
    return np.stack([m[mask] for m in mesh], axis=1)  # (M, d)


def inside_of(domain: kp.Domain):
    return lambda c: domain.contains(torch.as_tensor(c)).numpy()


def triangle_areas(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    a, b, c = (points[cells[:, i]] for i in range(3))
    return 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def test_lshape_grid_gives_two_triangles_per_cell(tmp_path) -> None:
    m = 6  # cells per unit length: the L-shape holds 3 m^2 grid cells
    points = grid_points(LSHAPE, 2 * m + 1)
    _, xdmf = export_points_hdf5(tmp_path / "l.h5", points, {"u": points[:, 0]}, inside=inside_of(LSHAPE))
    mesh = meshio.read(xdmf)
    assert list(mesh.cells_dict) == ["triangle"]
    assert len(mesh.cells_dict["triangle"]) == 2 * 3 * m**2  # the notch is not bridged
    np.testing.assert_allclose(mesh.points[:, :2], points, atol=0)
    np.testing.assert_allclose(mesh.point_data["u"], points[:, 0], atol=0)
    assert triangle_areas(points, mesh.cells_dict["triangle"]).sum() == pytest.approx(3.0, abs=1e-12)


def test_csg_export_read_back(tmp_path) -> None:
    points = grid_points(WITH_HOLES, 41)
    u = np.sin(points[:, 0]) * points[:, 1]
    h5, xdmf = export_points_hdf5(
        tmp_path / "holes.h5",
        points,
        {"u": u, "error": 1e-3 * u},
        inside=inside_of(WITH_HOLES),
        attrs={"n": 41},
    )
    data = read_hdf5(h5)
    cells = data["cells"]
    mesh = meshio.read(xdmf)
    assert len(mesh.cells_dict["triangle"]) == len(cells) > 0
    np.testing.assert_array_equal(mesh.cells_dict["triangle"], cells)
    np.testing.assert_array_equal(data["points"], points)
    assert data["names"] == ["x", "y"] and data["times"] is None and data["attrs"] == {"n": 41}
    np.testing.assert_array_equal(data["fields"]["u"], u)
    centroids = points[cells].mean(axis=1)
    assert bool(WITH_HOLES.contains(torch.as_tensor(centroids)).all())
    for c in [(0.3, 0.3), (-0.3, 0.3)]:
        assert np.hypot(centroids[:, 0] - c[0], centroids[:, 1] - c[1]).min() > 0.1
    # the triangles cover the domain up to the grid spacing at the circles
    spacing = 1 / 40
    area = triangle_areas(points, cells).sum()
    assert area == pytest.approx(WITH_HOLES.volume(), abs=2 * spacing * 2 * np.pi * 0.2)
    # with no inside test the holes are bridged: more triangles
    assert len(triangulate(points)) > len(cells)


def test_time_series_and_tetrahedra(tmp_path) -> None:
    points = grid_points(WITH_HOLES, 21)
    times = np.array([0.0, 0.5, 1.0])
    values = np.stack([(1 + t) * points[:, 0] for t in times])  # (T, N)
    _, xdmf = export_points_hdf5(
        tmp_path / "ts.h5", points, {"u": values}, inside=inside_of(WITH_HOLES), times=times
    )
    with meshio.xdmf.TimeSeriesReader(xdmf) as reader:
        _, cells = reader.read_points_cells()
        assert cells[0].type == "triangle"
        for k in range(reader.num_steps):
            t, point_data, _ = reader.read_data(k)
            assert t == times[k]
            np.testing.assert_array_equal(point_data["u"], values[k])
    cube = grid_points(kp.Box((0, 0, 0), (1, 1, 1)), 3)
    _, xdmf = export_points_hdf5(tmp_path / "cube.h5", cube, {"u": cube.sum(axis=1)})
    mesh = meshio.read(xdmf)
    tets = mesh.cells_dict["tetra"]
    corners = cube[tets]  # (M, 4, 3)
    volumes = np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1])) / 6
    assert volumes.sum() == pytest.approx(1.0, abs=1e-12) and volumes.min() > 0


def test_bad_input(tmp_path) -> None:
    pts = grid_points(SQUARE, 5)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\) or \(N, 3\)"):
        export_points_hdf5(tmp_path / "a.h5", np.zeros((10, 4)), {"u": np.zeros(10)})
    with pytest.raises(ValueError, match=r"field 'u' has shape \(3,\); expected \(25,\)"):
        export_points_hdf5(tmp_path / "a.h5", pts, {"u": np.zeros(3)})
    with pytest.raises(ValueError, match="cells index points 0..24"):
        export_points_hdf5(tmp_path / "a.h5", pts, {"u": np.zeros(25)}, cells=np.array([[0, 1, 30]]))
    with pytest.raises(ValueError, match="inside must return a bool array"):
        triangulate(pts, inside=lambda c: np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="cannot triangulate"):
        triangulate(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    with pytest.raises(ValueError, match="names the HDF5 file"):
        export_points_hdf5(tmp_path / "a.xdmf", pts, {"u": np.zeros(25)})
    assert not (tmp_path / "a.h5").exists()
