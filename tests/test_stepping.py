"""Discrete-time stepping (:func:`kanpde.discrete_time`): the Radau IIA tableau meets its order conditions
exactly, the steps converge at the method's order in time, the collocation polynomial's derivatives and
residual match the exact solution, time-dependent boundary values are applied at each stage's time, and
problems the scheme cannot step are refused with the way out."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import kanpde as kp

PI = math.pi
NU = 0.1  # nu pi^2 ~ 1: the mode decays by e^{-1} over [0, 1]
LINE = kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0))
FAST = {"steps": 30, "n_interior": 100, "seed": 0}


def mode(x: torch.Tensor) -> torch.Tensor:
    """u = exp(-nu pi^2 t) sin(pi x), which solves u_t = nu u_xx with u = 0 at both ends."""
    return torch.exp(-NU * PI**2 * x[:, 1]) * torch.sin(PI * x[:, 0])


def heat(coefficient: float = 1.0) -> kp.Problem:
    """``coefficient (u_t - nu u_xx) = 0``: the same problem written with a != 1."""
    return kp.Problem(
        LINE,
        lambda x, u: coefficient * (u.dt() - NU * u.d("x", "x")),
        [kp.Dirichlet(0.0, hard=True), kp.Initial(mode)],
        exact=mode,
        name="heat",
    )


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_radau_iia_meets_its_order_conditions(q):
    a, c = kp.radau_iia(q)
    assert c[-1] == 1.0 and np.all(np.diff(c) > 0)
    for m in range(1, q + 1):  # collocation: sum_k a_jk c_k^(m-1) = c_j^m / m
        np.testing.assert_allclose(a @ c ** (m - 1), c**m / m, atol=1e-13)
    for m in range(1, 2 * q):  # the weights b = last row integrate polynomials of degree 2q - 2 exactly
        assert a[-1] @ c ** (m - 1) == pytest.approx(1 / m, abs=1e-13)
    if q == 2:
        np.testing.assert_allclose(a, [[5 / 12, -1 / 12], [3 / 4, 1 / 4]], atol=1e-15)
        np.testing.assert_allclose(c, [1 / 3, 1.0], atol=1e-15)


def test_three_stages_solve_the_heat_mode_with_its_derivatives_and_residual():
    sol = kp.discrete_time(heat(), kp.MLP((1, 20, 20, 3), seed=0), 10, **FAST)
    assert isinstance(sol, kp.Marching) and len(sol.solutions) == 10
    assert sol.relative_l2() < 1e-4  # measured 1.3e-5
    x = torch.tensor([[0.3, 0.05], [0.7, 0.55], [0.45, 0.95], [0.2, 1.0]], dtype=torch.float64)  # (4, 2)
    u = mode(x)
    torch.testing.assert_close(sol(x), u, rtol=0, atol=1e-4)
    torch.testing.assert_close(sol.d(x, "t"), -NU * PI**2 * u, rtol=0, atol=1e-3)
    torch.testing.assert_close(sol.d(x, "x", "x"), -(PI**2) * u, rtol=0, atol=1e-2)
    assert float(sol.residuals(x)["residual"].abs().max()) < 1e-3
    assert sol(x[:1].numpy()).shape == (1,)  # NumPy in, NumPy out
    with pytest.raises(ValueError, match="unknown field 'v'"):
        sol.d(x, "t", field="v")


def test_implicit_euler_converges_at_first_order():
    errors = []
    for n in (4, 8):
        sol = kp.discrete_time(heat(), kp.MLP((1, 20, 20, 1), seed=0), n, stages=1, **FAST)
        errors.append(sol.relative_l2())
    # (1 + dt)^(-n) against e^(-1): 11 % and 5.9 % at the end; the ratio of the whole-interval errors ~2
    assert 1.7 < errors[0] / errors[1] < 2.2, errors


def test_the_coefficient_of_u_t_is_divided_out():
    one = kp.discrete_time(heat(1.0), kp.MLP((1, 10, 2), seed=1), 3, stages=2, **FAST)
    two = kp.discrete_time(heat(2.0), kp.MLP((1, 10, 2), seed=1), 3, stages=2, **FAST)
    x = torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(one(x), two(x), rtol=0, atol=1e-8)


@pytest.mark.parametrize("hard", [True, False])
def test_time_dependent_boundary_values_are_taken_at_each_stage_time(hard):
    """u = x t + exp(-nu pi^2 t) sin(pi x) solves u_t - nu u_xx = x with u(0, t) = 0, u(1, t) = t; the
    penalised condition's mask reads the time column too (always true here)."""

    def exact(x):
        return x[:, 0] * x[:, 1] + mode(x)

    problem = kp.Problem(
        LINE,
        lambda x, u: u.dt() - NU * u.d("x", "x") - x[:, 0],
        [
            kp.Dirichlet(lambda x: x[:, 0] * x[:, 1], hard=True)
            if hard
            else kp.Dirichlet(lambda x: x[:, 0] * x[:, 1], on=lambda x: x[:, 1] >= 0.0),
            kp.Initial(exact),
        ],
        exact=exact,
        name="lifted",
    )
    sol = kp.discrete_time(problem, kp.MLP((1, 20, 20, 3), seed=0), 5, **FAST)
    ends = torch.tensor([[1.0, 0.3], [1.0, 0.77], [0.0, 0.5]], dtype=torch.float64)
    expected = torch.tensor([0.3, 0.77, 0.0], dtype=torch.float64)
    torch.testing.assert_close(sol(ends), expected, rtol=0, atol=1e-12 if hard else 1e-3)
    assert sol.relative_l2() < (1e-4 if hard else 1e-3)


def test_problems_the_steps_cannot_take_are_refused_with_the_way_out():
    net = kp.MLP((1, 8, 3), seed=0)
    second = kp.Problem(
        LINE, lambda x, u: u.dt(2) - u.d("x", "x"), [kp.Initial(mode), kp.Initial(0.0, derivative=1)]
    )
    with pytest.raises(ValueError, match="exactly one initial condition"):
        kp.discrete_time(second, net, 2)
    wave = kp.Problem(LINE, lambda x, u: u.dt(2) - u.d("x", "x"), [kp.Initial(mode)])
    with pytest.raises(ValueError, match="first order in time.*kp.march"):
        kp.discrete_time(wave, net, 2, **FAST)
    squared = kp.Problem(LINE, lambda x, u: u.dt() ** 2 - u.d("x", "x"), [kp.Initial(mode)])
    with pytest.raises(ValueError, match="not affine in u.dt"):
        kp.discrete_time(squared, net, 2)
    system = kp.Problem(
        LINE, lambda x, u: [u["u"].dt(), u["v"].dt()], [kp.Initial(mode, field="u")], fields=("u", "v")
    )
    with pytest.raises(ValueError, match="one field"):
        kp.discrete_time(system, kp.MLP((1, 8, 6), seed=0), 2)
    with pytest.raises(ValueError, match=r"\[1, 20, 20, 3\]"):
        kp.discrete_time(heat(), kp.MLP((2, 8, 3), seed=0), 2)
    data = kp.Data(torch.tensor([[0.5, 0.5]], dtype=torch.float64), torch.tensor([0.1], dtype=torch.float64))
    observed = kp.Problem(LINE, lambda x, u: u.dt() - u.d("x", "x"), [kp.Initial(mode), data])
    with pytest.raises(ValueError, match="observations.*kp.march"):
        kp.discrete_time(observed, net, 2)
    with pytest.raises(ValueError, match="time_steps must be a whole number"):
        kp.discrete_time(heat(), net, 0)
    stationary = kp.Problem(kp.Interval(0.0, 1.0), lambda x, u: u.d("x", "x"), [kp.Dirichlet(0.0)])
    with pytest.raises(ValueError, match="SpaceTime"):
        kp.discrete_time(stationary, net, 2)
    recommends = dataclasses.replace(heat(), recommended={"time_steps": 4, "fit_steps": 0})
    with pytest.raises(ValueError, match="recommended fit_steps must be a whole number"):
        recommends.fit_steps  # noqa: B018
    assert heat().fit_steps is None and "fit_steps" not in recommends.solve_options


TINY_HEAT = '''"""A tiny heat problem for the command line's Runge-Kutta steps."""
import json
import math
import torch
import kanpde as kp

problem = kp.Problem(
    domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 0.5)),
    residual=lambda x, u: u.dt() - 0.1 * u.d("x", "x"),
    conditions=[kp.Dirichlet(0.0, hard=True), kp.Initial(lambda x: torch.sin(math.pi * x[:, 0]))],
    exact=lambda x: torch.exp(-0.1 * math.pi**2 * x[:, 1]) * torch.sin(math.pi * x[:, 0]),
    name="tiny_heat",
    recommended={"model": "mlp", "width": (1, 8, 2), "time_steps": 3, "stages": 2, "steps": 20},
)
'''


def test_command_line_steps_in_the_recommended_or_given_time_steps(tmp_path, capsys):
    from kanpde.cli import main
    from kanpde.export import read_hdf5

    file = tmp_path / "tiny_heat.py"
    file.write_text(TINY_HEAT)
    flags = ["--points", "40", "--no-progress"]
    assert main(["solve", str(file), "--out", str(tmp_path / "a"), *flags]) == 0
    out = capsys.readouterr().out
    assert "windows      3 of length 0.1667" in out
    error = float(out.split("relative L2")[1].split()[0])
    assert error < 1e-2  # measured 7e-4 (two stages, 20 LM steps a step)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["relative_l2"] == pytest.approx(error, rel=1e-3) and len(metrics["windows"]) == 3
    data = read_hdf5(tmp_path / "a" / "fields.h5")  # a time series over the three steps
    assert len(data["times"]) > 3 and data["times"][0] == 0.0 and data["times"][-1] == pytest.approx(0.5)
    assert float(np.abs(data["fields"]["error"]).max()) < 1e-2
    assert 0 < float(np.abs(data["fields"]["residual"]).max()) < 0.1
    assert (tmp_path / "a" / "fields.xdmf").is_file() and not (tmp_path / "a" / ".kanpde-lock").exists()
    assert main(["solve", str(file), "--out", str(tmp_path / "b"), "--time-steps", "2", *flags]) == 0
    assert "windows      2 of length 0.25" in capsys.readouterr().out
    assert main(["solve", str(file), "--out", str(tmp_path / "c"), "--time-steps", "0", *flags]) == 2
    assert "--time-steps must be a whole number >= 1" in capsys.readouterr().err
    assert main(["solve", str(file), "--time-steps", "2", "--resume", str(tmp_path / "x.pt")]) == 2
    assert "--time-steps starts afresh" in capsys.readouterr().err
    assert (
        main(["solve", str(file), "--time-steps", "2", "--windows", "2", "--out", str(tmp_path / "d")]) == 2
    )
    assert "--windows and --time-steps are two ways" in capsys.readouterr().err
    # --windows on the command line wins over the recommended time_steps; a stepped run then replaces it
    march = ["--windows", "1", "--model", "mlp", "--width", "2,4,1", "--steps", "2", *flags]
    assert main(["solve", str(file), "--out", str(tmp_path / "e"), *march]) == 0
    assert (tmp_path / "e" / "solution.pt").is_file()
    assert main(["solve", str(file), "--out", str(tmp_path / "e"), "--overwrite", *flags]) == 0
    assert not (tmp_path / "e" / "solution.pt").exists() and (tmp_path / "e" / "fields.h5").is_file()


def test_the_initial_values_derivatives_come_from_autograd_and_vanish_past_its_degree():
    from kanpde.stepping import _Initial

    start = _Initial(lambda x: x[:, 0] ** 2 * x[:, 1] + 3 * x[:, 1], 0.0)
    xs = torch.tensor([[0.5, 2.0], [1.5, -1.0]], dtype=torch.float64)  # (2, 2)
    torch.testing.assert_close(start.derivative(xs, (0,)), 2 * xs[:, 0] * xs[:, 1])
    torch.testing.assert_close(start.derivative(xs, (1,)), xs[:, 0] ** 2 + 3)
    torch.testing.assert_close(start.derivative(xs, (0, 0)), 2 * xs[:, 1])
    torch.testing.assert_close(start.derivative(xs, (1, 1)), torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(start.derivative(xs, (0, 0, 0, 1)), torch.zeros(2, dtype=torch.float64))


def test_a_kan_keeps_one_grid_through_the_steps():
    sol = kp.discrete_time(heat(), kp.KAN((1, 4, 2), grid=5, seed=0), 2, stages=2, **FAST)
    assert [step.model.grid for step in sol.solutions] == [5, 5]  # not 5, 10, 20 again in every step
    assert sol.relative_l2() < 1e-2
    with pytest.raises(ValueError, match=r"one KAN grid, got grids=\(5, 10\); pass grids=\(10,\)"):
        kp.discrete_time(heat(), kp.KAN((1, 4, 2), grid=5, seed=0), 2, stages=2, grids=(5, 10), **FAST)


def test_an_interrupted_command_line_stepping_says_how_far_it_got(tmp_path, capsys, monkeypatch):
    from kanpde import cli

    real, calls = cli.solve, [0]

    def interrupted_in_step_1(*args, **kwargs):  # call 1 is the fit, call 2 step 0, call 3 step 1
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "solve", interrupted_in_step_1)
    file = tmp_path / "tiny_heat.py"
    file.write_text(TINY_HEAT)
    out = tmp_path / "a"
    assert cli.main(["solve", str(file), "--out", str(out), "--points", "40", "--no-progress"]) == 130
    assert "interrupted after 1 of 3 steps; the steps keep no checkpoints" in capsys.readouterr().err
    assert not (out / ".kanpde-lock").exists()
