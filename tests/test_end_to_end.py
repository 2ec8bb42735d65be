"""End-to-end numbers: the error measures against an independent computation, and ``kanpde solve``'s files.

* ``Solution.metrics()`` against the documented formulas evaluated here on the documented evaluation set
  (a regular grid, end points included: 1001 nodes in 1-D, 101² in 2-D, 101 x 101 for (x, t), 41² x 21 for
  (x, y, t)), with the model's gradient by autograd (the library uses forward jets) and the exact gradient
  written by hand; the H1 error uses the spatial gradient only.
* ``kanpde solve`` with ``--lr``, ``--seed``, ``--boundary-points`` and ``--dtype`` given: the run equals the
  library's ``kp.solve`` with those options (each of them changes the history), the settings in
  ``metrics.json`` say so, and ``solution.h5`` reads back with the checkpoint's values and the metrics' errors.
"""

import csv
import json
import math

import h5py
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.cli import main
from kanpde.export import read_hdf5

PI = math.pi


def _options(metrics: dict) -> dict:
    """The keyword options of the settings a run's ``metrics.json`` records."""
    return kp.SolveSettings.from_dict(metrics["settings"]).options()


def _grad_poisson1d(x):
    return torch.stack([2 * PI * torch.cos(2 * PI * x[:, 0]) + 0.5], dim=1)  # u = sin 2πx + x/2


def _grad_poisson_mixed(x):  # u = e^x cos(πy/2)
    e = torch.exp(x[:, 0])
    return torch.stack(
        [e * torch.cos(0.5 * PI * x[:, 1]), -0.5 * PI * e * torch.sin(0.5 * PI * x[:, 1])], dim=1
    )


def _grad_heat1d(x):  # u = e^-t sin πx: the spatial gradient only
    return torch.stack([PI * torch.exp(-x[:, 1]) * torch.cos(PI * x[:, 0])], dim=1)


def _grad_heat2d(x):  # u = e^-t sin πx sin πy
    e = torch.exp(-x[:, 2])
    sx, sy, cx, cy = (f(PI * x[:, i]) for f in (torch.sin, torch.cos) for i in (0, 1))
    return torch.stack([PI * e * cx * sy, PI * e * sx * cy], dim=1)


# problem -> (documented evaluation grid sizes per column, exact spatial gradient, model)
H1_CASES = {
    "poisson1d": ([1001], _grad_poisson1d, "trained"),
    "poisson_mixed": ([101, 101], _grad_poisson_mixed, "mlp"),
    "heat1d": ([101, 101], _grad_heat1d, "kan"),
    "heat2d": ([41, 41, 21], _grad_heat2d, "kan"),
}


def _solution(name: str, kind: str) -> kp.Solution:
    problem = kp.load_problem(name)
    d = problem.domain.dim
    if kind == "trained":  # a real small error (3e-3): the measures must hold there too
        return kp.solve(
            problem, kp.KAN([d, 4, 1], grid=3), grids=(3, 6), optimizer="lm", steps=10, n_interior=64
        )
    model = kp.KAN([d, 3, 1], grid=4, seed=1) if kind == "kan" else kp.MLP([d, 8, 8, 1], seed=1)
    model.set_input_bounds(*problem.domain.bounds())
    return kp.Solution(model, problem)


@pytest.mark.parametrize("name", list(H1_CASES))
def test_metrics_equal_the_formulas_on_the_documented_evaluation_set(name):
    sizes, exact_grad, kind = H1_CASES[name]
    sol = _solution(name, kind)
    problem = sol.problem
    lo, hi = problem.domain.bounds()
    axes = [np.linspace(a, b, n) for a, b, n in zip(lo, hi, sizes, strict=True)]
    nodes = np.stack([c.ravel() for c in np.meshgrid(*axes, indexing="ij")], axis=1)  # (M, d), boxes only
    x = torch.tensor(nodes, dtype=torch.float64, requires_grad=True)
    u = sol.model(x)[:, 0]
    grad_u = torch.autograd.grad(u.sum(), x)[0][:, : problem.domain.space_dim]  # spatial columns
    with torch.no_grad():
        exact = problem.exact(x).reshape(-1)
        e, grad_e = u - exact, grad_u - exact_grad(x)
        l2 = float(e.norm() / exact.norm())
        h1 = float(
            torch.sqrt(
                (e.square().sum() + grad_e.square().sum())
                / (exact.square().sum() + exact_grad(x).square().sum())
            )
        )
    m = sol.metrics()
    assert m["n_points"] == math.prod(sizes)
    assert m["relative_l2"] == pytest.approx(l2, rel=1e-10)
    assert m["max_abs"] == pytest.approx(float(e.abs().max()), rel=1e-10)
    assert m["relative_h1"] == pytest.approx(h1, rel=1e-9)
    if kind == "trained":
        assert 1e-4 < m["relative_h1"] < 1e-2  # measured 1.4e-3
    if problem.domain.is_time_dependent:  # the time derivative stays out: with it the value would differ
        grad_all = torch.autograd.grad(sol.model(x)[:, 0].sum(), x)[0]
        assert float(grad_all[:, -1].square().sum()) > 0.01 * float(grad_u.square().sum())


# ----------------------------------------------------------------------------------------------------------
# kanpde solve: the flags reach the solver, the files read back
# ----------------------------------------------------------------------------------------------------------

FLAGS = {"--lr": "0.05", "--seed": "3", "--boundary-points": "24", "--dtype": "float32"}
RUN = ["--width", "2,3,1", "--grids", "3", "--optimizer", "adam:12", "--points", "64", "--device", "cpu"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "poisson2d"
    flags = [item for pair in FLAGS.items() for item in pair]
    assert main(["solve", "poisson2d", *RUN, *flags, "--no-progress", "--out", str(out)]) == 0
    return out


def test_cli_flags_reach_the_solver(cli_run):
    settings = _options(json.loads((cli_run / "metrics.json").read_text()))
    assert settings["lr"] == 0.05 and settings["seed"] == 3
    assert settings["n_boundary"] == 24 and settings["dtype"] == "float32"
    with (cli_run / "history.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    # the same run through the library: a dropped flag (default lr 0.01, seed 0, 400 boundary points or
    # float64) changes every loss
    same = kp.solve(
        kp.load_problem("poisson2d"),
        kp.KAN([2, 3, 1], grid=3, seed=3, dtype=torch.float32),
        grids=(3,),
        optimizer=[("adam", 12)],
        n_interior=64,
        n_boundary=24,
        lr=0.05,
        seed=3,
        dtype=torch.float32,
        device="cpu",
    )
    assert [int(r["step"]) for r in rows] == [r["step"] for r in same.history] == [10, 12]
    assert [float(r["loss"]) for r in rows] == [r["loss"] for r in same.history]
    assert [float(r["dirichlet"]) for r in rows] == [r["dirichlet"] for r in same.history]
    back = kp.load(cli_run / "solution.pt")
    assert all(p.dtype == torch.float32 for p in back.model.parameters())
    for p, q in zip(back.model.parameters(), same.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_cli_solution_h5_reads_back_with_the_checkpoint_and_the_metrics(cli_run):
    metrics = json.loads((cli_run / "metrics.json").read_text())
    data = read_hdf5(cli_run / "solution.h5")
    assert list(data["axes"]) == ["x", "y"] and data["mask"] is None and data["times"] is None
    x, y = data["axes"]["x"], data["axes"]["y"]
    np.testing.assert_array_equal(x, np.linspace(-1.0, 1.0, 101))
    fields = data["fields"]
    assert fields["u"].shape == (101, 101)
    back = kp.load(cli_run / "solution.pt")
    index = [(0, 0), (0, 100), (100, 0), (3, 71), (50, 50), (97, 12)]
    nodes = torch.tensor([[x[i], y[j]] for i, j in index], dtype=torch.float32)
    np.testing.assert_allclose([fields["u"][i] for i in index], back(nodes).numpy(), rtol=0, atol=1e-6)
    # on the square the export grid is the evaluation set: the stored error gives the metrics back
    error, exact = fields["error"], fields["exact"]
    np.testing.assert_allclose(error, fields["u"] - exact, rtol=0, atol=1e-6)
    assert metrics["relative_l2"] == pytest.approx(
        float(np.sqrt((error**2).sum() / (exact**2).sum())), rel=1e-5
    )
    assert metrics["max_abs"] == pytest.approx(float(np.abs(error).max()), rel=1e-5)
    assert data["attrs"]["settings"] == metrics["settings"]
    assert data["attrs"]["metrics"]["relative_l2"] == metrics["relative_l2"]
    with h5py.File(cli_run / "solution.h5", "r") as f:
        np.testing.assert_array_equal(f["fields/u"][()], fields["u"])
        np.testing.assert_array_equal(f["coordinates/y"][()], y)
