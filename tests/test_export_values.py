"""``Solution.export`` writes the right numbers at the right nodes: in 2-D, 3-D, space-time and on the disk.

Each stored value is checked against the model evaluated at the node built by hand from the file's own
coordinate arrays: ``fields[name][i, j, ...]`` belongs to ``(x_i, y_j, ...)``, and a time series puts time
first, ``fields[name][k, i, ...]`` at ``(x_i, ..., t_k)``. ``u`` is the model's output, ``exact`` the problem's
exact solution, ``error`` their difference ``u - exact`` and ``residual`` the PDE residual, computed here with
nested autograd (the export uses forward jets). The files are read with :func:`kanpde.export.read_hdf5` and
with h5py.
"""

import h5py
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.export import read_hdf5

# problem -> (export resolution, the fields' shape); None: the documented evaluation grid
CASES = {
    "2d": ("poisson_mixed", None, (101, 101)),
    "3d": ("poisson3d", 9, (9, 9, 9)),
    "space-time-1d": ("heat1d", 11, (11, 11)),  # (T, n_x): equal sizes, so only the values tell the order
    "space-time-2d": ("heat2d", None, (21, 41, 41)),  # (T, n_x, n_y)
}
SAMPLES = 250  # nodes checked per file (all corners, then random ones)


def _solution(name: str) -> kp.Solution:
    problem = kp.load_problem(name)
    d = problem.domain.dim
    model = kp.KAN([d, 3, 1], grid=4, seed=d)  # untrained: any function of all coordinates will do
    model.set_input_bounds(*problem.domain.bounds())
    return kp.Solution(model, problem)


def _indices(shape, seed: int) -> list[tuple[int, ...]]:
    corners = [tuple(c) for c in np.ndindex(*([2] * len(shape)))]
    corners = [
        tuple(0 if c == 0 else n - 1 for c, n in zip(corner, shape, strict=True)) for corner in corners
    ]
    rng = np.random.default_rng(seed)
    rest = [tuple(int(rng.integers(n)) for n in shape) for _ in range(SAMPLES - len(corners))]
    return corners + rest


def _node(index, axes, times):
    """The domain point of a field index: spatial coordinates in axis order, then t for a time series."""
    if times is None:
        return [axes[a][i] for a, i in zip(axes, index, strict=True)]
    k, *space = index
    return [axes[a][i] for a, i in zip(axes, space, strict=True)] + [times[k]]


def _by_hand(problem, model, x):
    """u, exact, u - exact and the PDE residual at points ``x`` (residual by nested autograd); ``model``
    is the solution's ansatz (the network and, where a condition is hard, its lift and distance function)."""
    with torch.no_grad():
        u = model(x)[:, 0]
    exact = problem.exact(x).reshape(-1)
    field = kp.Field(model, x, problem.domain.names, problem.domain.space_dim, mode="autograd")
    residual = problem.residual(field.x, field).reshape(-1).detach()
    return {"u": u, "exact": exact, "error": u - exact, "residual": residual}


@pytest.mark.parametrize("case", list(CASES))
def test_exported_fields_equal_the_solution_at_the_nodes(tmp_path, case):
    name, resolution, shape = CASES[case]
    sol = _solution(name)
    problem, domain = sol.problem, sol.problem.domain
    h5, _ = sol.export(tmp_path / f"{case}.h5", resolution=resolution)
    data = read_hdf5(h5)
    time_series = domain.is_time_dependent
    space_names = list(domain.names[:-1] if time_series else domain.names)
    assert list(data["axes"]) == space_names
    assert (data["times"] is not None) == time_series
    lo, hi = domain.bounds()
    sizes = shape[1:] + shape[:1] if time_series else shape  # node counts in the domain's column order
    for column, (a, b, n) in enumerate(zip(lo, hi, sizes, strict=True)):
        stored = (
            data["times"] if column == domain.dim - 1 and time_series else data["axes"][space_names[column]]
        )
        np.testing.assert_allclose(stored, np.linspace(a, b, n), rtol=0, atol=1e-15)
    assert set(data["fields"]) == {"u", "exact", "error", "residual"}
    for values in data["fields"].values():
        assert values.shape == shape and values.dtype == np.float64

    index = _indices(shape, seed=len(shape))
    nodes = torch.tensor([_node(i, data["axes"], data["times"]) for i in index], dtype=torch.float64)
    inside = domain.contains(nodes).numpy()
    expected = _by_hand(problem, sol.ansatz, nodes)
    for field, values in data["fields"].items():
        got = np.array([values[i] for i in index])
        assert np.isnan(got[~inside]).all(), field  # NaN outside the domain
        want = expected[field].numpy()[inside]
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got[inside], want, rtol=0, atol=1e-10 * scale, err_msg=field)
    assert inside.sum() >= 0.7 * len(index)
    metrics = data["attrs"]["metrics"]
    assert metrics["relative_l2"] == pytest.approx(sol.relative_l2(), rel=1e-12)
    assert data["attrs"]["problem"] == name and data["attrs"]["settings"] == {}

    with h5py.File(h5, "r") as f:  # the same arrays, read without kanpde
        assert list(f["coordinates"]) == space_names + (["t"] if time_series else [])
        for field, values in data["fields"].items():
            np.testing.assert_array_equal(f[f"fields/{field}"][()], values)
        if time_series:
            np.testing.assert_array_equal(f["coordinates/t"][()], data["times"])


MESH_CASES = {  # domains that are not boxes: points inside plus boundary points, triangulated
    "disk": ("poisson_disk", 41),
    "holes": ("poisson_holes", 41),
    "lshape": ("poisson_lshape", 31),
    "ball-in-time": ("heat_ball", 9),
}


@pytest.mark.parametrize("case", list(MESH_CASES))
def test_mesh_exports_hold_the_solution_at_their_points(tmp_path, case):
    import meshio

    name, resolution = MESH_CASES[case]
    sol = _solution(name)
    problem, domain = sol.problem, sol.problem.domain
    h5, xdmf = sol.export(tmp_path / f"{case}.h5", resolution=resolution)
    data = read_hdf5(h5)
    space = domain.space if domain.is_time_dependent else domain
    points, cells, times = data["points"], data["cells"], data["times"]
    assert points.shape[1] == space.dim and cells.shape[1] == space.dim + 1
    assert bool(space.contains(torch.as_tensor(points), tol=1e-9).all())
    centroids = torch.as_tensor(points[cells].mean(axis=1))
    assert bool(space.contains(centroids).all())  # no cell bridges a hole or the re-entrant corner
    if times is None:
        x = torch.as_tensor(points)
        shape = (len(points),)
    else:
        x = torch.as_tensor(
            np.concatenate([np.tile(points, (len(times), 1)), np.repeat(times, len(points))[:, None]], 1)
        )
        shape = (len(times), len(points))
    expected = _by_hand(problem, sol.ansatz, x)
    assert set(data["fields"]) == {"u", "exact", "error", "residual"}
    for field, values in data["fields"].items():
        assert values.shape == shape, field
        want = expected[field].numpy().reshape(shape)
        np.testing.assert_allclose(
            values, want, rtol=0, atol=1e-10 * max(1.0, np.abs(want).max()), err_msg=field
        )
    mesh = meshio.read(xdmf) if times is None else None
    if mesh is not None:
        assert sum(len(block.data) for block in mesh.cells) == len(cells)
    on_boundary = np.abs(space.contains(torch.as_tensor(points), tol=-1e-9).numpy() - 1).sum()
    assert on_boundary > 0  # boundary points were added, so the mesh reaches the boundary
