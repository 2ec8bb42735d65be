"""Exactly imposed initial values, ``Initial(g0, hard=True)`` (and the velocity ``derivative=1``): the ansatz
``u = L + φ_D τ^m N`` of :mod:`kanpde.hard` meets them and an exact Dirichlet value whatever the network, its
jets equal nested autograd, it trains better than the penalty, carries through marching and checkpoints, and
bad combinations are refused where they are given."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.derivatives import Evaluation, Field

PI = math.pi
LINE = kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.5, 2.0))  # t0 = 0.5: the lift must not assume t0 = 0


def h(x: torch.Tensor) -> torch.Tensor:
    """Dirichlet value, time-dependent: x cos(3 (t - t0)) + (1 - x) (t - t0)^2."""
    s = x[:, 1] - 0.5
    return x[:, 0] * torch.cos(3 * s) + (1 - x[:, 0]) * s**2


def g0(x: torch.Tensor) -> torch.Tensor:
    """Initial value: h(x, t0) = x on the ends, plus a bump."""
    return x[:, 0] + 0.5 * torch.sin(PI * x[:, 0])


def g1(x: torch.Tensor) -> torch.Tensor:
    """Initial velocity: h_t(x, t0) = 0 on the ends."""
    return torch.sin(2 * PI * x[:, 0]) + x[:, 0] * (1 - x[:, 0])


def wave(conditions) -> kp.Problem:
    return kp.Problem(LINE, lambda x, u: u.dt(2) - u.d("x", "x"), conditions, name="wave")


EXACT = [kp.Dirichlet(h, hard=True), kp.Initial(g0, hard=True), kp.Initial(g1, derivative=1, hard=True)]


def at(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.cat([x[:, :1], torch.full_like(x[:, :1], t)], dim=1)


def heat(exact_initial: bool = True, exact_sides: bool = False) -> kp.Problem:
    """problems/heat1d.py with its initial value exact or penalised, and its side values (0) exact or absent."""
    base = kp.load_problem("heat1d")
    initial = [c for c in base.conditions if isinstance(c, kp.Initial)][0].value
    sides = [kp.Dirichlet(0.0, hard=True)] if exact_sides else []
    conditions = [*sides, kp.Initial(initial, hard=exact_initial)]
    return kp.Problem(base.domain, base.residual, conditions, base.exact, name="heat")


@pytest.mark.parametrize("seed", [0, 1])
def test_value_velocity_and_sides_hold_whatever_the_network(seed):
    sol = kp.Solution(kp.MLP([2, 8, 1], seed=seed), wave(EXACT))
    x = LINE.sample_interior(40, seed=seed, dtype=torch.float64)
    start = at(x, 0.5)
    assert torch.allclose(sol(start), g0(start), rtol=0, atol=1e-13)
    assert torch.allclose(sol.d(start, "t"), g1(start), rtol=0, atol=1e-12)
    sides = torch.cat([torch.zeros(20, 1), torch.ones(20, 1)]).double()
    ends = torch.cat([sides, 0.5 + 1.5 * torch.rand(40, 1, dtype=torch.float64)], dim=1)  # (40, 2)
    assert torch.allclose(sol(ends), h(ends), rtol=0, atol=1e-13)
    assert (
        float((sol(x) - sol.ansatz.net(x)[:, 0].detach()).abs().max()) > 1e-3
    )  # the network still acts inside


@pytest.mark.parametrize("conditions", ["value", "value+velocity", "with-dirichlet"])
def test_jets_with_exact_initial_values_equal_nested_autograd(conditions):
    chosen = {
        "value": [kp.Initial(g0, hard=True)],
        "value+velocity": [kp.Initial(g0, hard=True), kp.Initial(g1, derivative=1, hard=True)],
        "with-dirichlet": EXACT,
    }[conditions]
    net = kp.KAN([2, 4, 1], grid=4, seed=2)
    net.set_input_bounds(*LINE.bounds())
    ansatz = Ansatz.for_problem(net, wave(chosen))
    x = LINE.sample_interior(25, seed=5, dtype=torch.float64)
    forward = Field.of(Evaluation(ansatz, x, ("x", "t"), 1, "forward"))
    auto = Field.of(Evaluation(ansatz, x, ("x", "t"), 1, "autograd"))
    for got, want in [
        (forward.value, auto.value),
        (forward.dt(), auto.dt()),
        (forward.dt(2), auto.dt(2)),
        (forward.d("x", "x"), auto.d("x", "x")),
        (forward.d("x", "t"), auto.d("x", "t")),
        (forward.d("x", "x", "x"), auto.d("x", "x", "x")),  # order 3: the Taylor-series path
    ]:
        assert torch.allclose(got, want, rtol=0, atol=1e-10)


def test_exact_initial_values_beat_the_penalty_on_the_heat_equation():
    options = {"steps": 150, "n_interior": 600, "n_initial": 150, "seed": 0}
    soft = kp.solve(heat(False, exact_sides=True), kp.MLP([2, 16, 16, 1], seed=0), **options)
    hard = kp.solve(heat(True, exact_sides=True), kp.MLP([2, 16, 16, 1], seed=0), **options)
    assert "initial" in soft.history[-1] and "initial" not in hard.history[-1]  # exact: no loss term
    # measured 5.83e-7 (exact initial value) against 1.30e-6 (penalised), both with exact side values:
    # bounds 20 % above each, and the ratio well clear of 1
    assert hard.relative_l2() < 7e-7 and soft.relative_l2() < 1.56e-6
    assert hard.relative_l2() < soft.relative_l2() / 1.8


def test_marching_carries_exact_initial_values_across_windows():
    problem = heat(exact_sides=True)
    marched = kp.march(problem, kp.MLP([2, 10, 10, 1], seed=0), 2, steps=40, n_interior=300, seed=0)
    x = torch.rand(30, 1, dtype=torch.float64)
    tau = at(x, 0.5)  # the windows' common time
    first, second = marched.solutions
    assert torch.allclose(
        second(tau), first(tau), rtol=0, atol=1e-13
    )  # continuous: exactly the carried value
    assert marched.relative_l2() < 1e-3


def test_exact_initial_values_survive_checkpoints(tmp_path):
    numbers = kp.Problem(LINE, lambda x, u: u.dt() - u.d("x", "x"), [kp.Initial(0.25, hard=True)], name="n")
    sol = kp.Solution(kp.MLP([2, 6, 1], seed=1), numbers)
    back = kp.load(sol.save(tmp_path / "a.pt"))  # without the problem: rebuilt from the stored numbers
    x = LINE.sample_interior(30, dtype=torch.float64)
    assert torch.equal(back(x), sol(x))
    assert torch.allclose(back(at(x, 0.5)), torch.full((30,), 0.25, dtype=torch.float64), rtol=0, atol=1e-14)
    functions = kp.Solution(kp.MLP([2, 6, 1], seed=1), wave(EXACT[1:]))
    functions.save(tmp_path / "b.pt")
    with pytest.raises(ValueError, match="imposes its initial values exactly with a function.*problem="):
        kp.load(tmp_path / "b.pt")
    again = kp.load(tmp_path / "b.pt", problem=functions.problem)
    assert torch.equal(again(x), functions(x))
    penalised = kp.Problem(LINE, numbers.residual, [kp.Initial(0.25)], name="n")
    with pytest.raises(
        ValueError, match=r"exactly imposed values \(u: initial value 0.25\) differ .* \(none\)"
    ):
        kp.load(tmp_path / "a.pt", problem=penalised)


@pytest.mark.parametrize(
    "conditions, match",
    [
        ([kp.Initial(g0, hard=True), kp.Initial(0.0, derivative=2, hard=True)], "derivative 2"),
        ([kp.Initial(g1, derivative=1, hard=True)], r"needs the initial value imposed exactly too"),
        ([kp.Initial(g0, hard=True), kp.Initial(g0, hard=True)], "two exactly imposed initial conditions"),
        ([kp.Dirichlet(2.0, hard=True), kp.Initial(g0, hard=True)], r"initial value differs .* by up to 2"),
        (
            [kp.Dirichlet(h, hard=True), kp.Initial(g0, hard=True), kp.Initial(1.0, derivative=1, hard=True)],
            r"initial velocity differs",
        ),
    ],
)
def test_bad_exact_initial_values_are_refused_where_given(conditions, match):
    with pytest.raises(ValueError, match=match):
        wave(conditions)


def test_hard_must_be_a_bool_and_needs_time():
    with pytest.raises(TypeError, match="hard must be True or False"):
        kp.Initial(0.0, hard="yes")
    with pytest.raises(ValueError, match="time-dependent domain"):
        kp.Problem(kp.Interval(0.0, 1.0), lambda x, u: u.value, [kp.Initial(0.0, hard=True)])


def test_a_marched_wave_keeps_value_and_velocity_exact_in_float32():
    """Exact value and velocity with a time-dependent exact Dirichlet value, marched in float32: every later
    window's initial values are the window before it, carried differentiably and in the model's dtype."""
    model = kp.MLP([2, 8, 1], seed=0, dtype=torch.float32)
    marched = kp.march(wave(EXACT), model, 2, steps=5, n_interior=100, seed=0, dtype="float32")
    first, second = marched.solutions
    x = torch.rand(20, 1, dtype=torch.float32)
    tau = at(x, 1.25)  # the windows' common time
    assert torch.allclose(second(tau), first(tau), rtol=0, atol=1e-6)
    assert torch.allclose(second.d(tau, "t"), first.d(tau, "t"), rtol=0, atol=1e-5)
    ends = torch.tensor([[0.0, 1.7], [1.0, 1.9]])
    assert torch.allclose(second(ends), h(ends), rtol=0, atol=1e-6)


def test_a_marched_window_opens_after_the_window_before(tmp_path):
    problem = heat()
    marched = kp.march(problem, kp.MLP([2, 6, 1], seed=0), 2, steps=3, n_interior=50, seed=0)
    paths = [w.save(tmp_path / f"w{k}.pt") for k, w in enumerate(marched.solutions)]
    with pytest.raises(
        ValueError, match=r"starts exactly from the previous window's solution.*kp.load_march"
    ):
        kp.load(paths[1])
    again = kp.load_march(paths, problem)  # in order: window 1 starts from window 0 again
    x = problem.domain.sample_interior(40, seed=1, dtype=torch.float64)
    assert torch.equal(again(x), marched(x))
    assert again.times == marched.times and again.relative_l2() == marched.relative_l2()
    with pytest.raises(TypeError, match="list of the windows' checkpoint paths"):
        kp.load_march(paths[0], problem)
    other = kp.march(problem, kp.MLP([2, 6, 1], seed=1), 2, steps=3, n_interior=50, seed=0)
    mixed = [other.solutions[0].save(tmp_path / "other0.pt"), paths[1]]  # window 1 of the first run
    with pytest.raises(ValueError, match=r"window 1 of 2 .*differ"):
        kp.load_march(mixed, problem)


def test_the_first_windows_of_an_interrupted_march_open_over_the_time_they_cover(tmp_path):
    """``load_march(paths[:k], problem, windows=K)``: the first k of K windows (an interrupted march), exact
    initial values included, evaluate as the march did and measure against the truth on [tau_0, tau_k] only."""
    problem = heat()
    marched = kp.march(problem, kp.MLP([2, 6, 1], seed=0), 3, steps=3, n_interior=50, seed=0)
    paths = [w.save(tmp_path / f"w{k}.pt") for k, w in enumerate(marched.solutions)]
    part = kp.load_march(paths[:2], problem, windows=3)
    assert part.times == marched.times[:3] and part.problem.domain.t == (0.0, marched.times[2])
    x = part.problem.domain.sample_interior(40, seed=1, dtype=torch.float64)  # t in [0, tau_2]
    assert float(x[:, 1].max()) <= marched.times[2] and torch.equal(part(x), marched(x))
    grid, true = part.problem.truth(torch.float64, "cpu")  # the evaluation grid of [0, tau_2]
    assert float(grid[:, 1].max()) == pytest.approx(marched.times[2])
    assert part.relative_l2() == kp.metrics.relative_l2(marched(grid)[:, None], true)
    assert [w["t"] for w in part.metrics()["windows"]] == [(0.0, marched.times[1]), marched.times[1:3]]
    assert kp.load_march(paths, problem, windows=3).problem is problem  # all windows: the whole problem
    with pytest.raises(ValueError, match=r"3 checkpoints for a march of windows=2"):
        kp.load_march(paths, problem, windows=2)
    with pytest.raises(ValueError, match="windows must be a whole number >= 1"):
        kp.load_march(paths[:1], problem, windows=0)


def test_a_partial_march_measures_against_the_reference_points_it_covers(tmp_path):
    base = kp.load_problem("heat1d")
    points = base.domain.sample_interior(300, seed=2, dtype=torch.float64)  # (300, 2) over t in [0, t1]
    reference = kp.Reference(points.numpy(), base.exact(points).numpy())
    observed = kp.Data(points, base.exact(points), weight=0.1)  # observations over the whole span
    problem = kp.Problem(
        base.domain, base.residual, [*base.conditions, observed], reference=reference, name="r"
    )
    marched = kp.march(problem, kp.MLP([2, 6, 1], seed=0), 4, steps=2, n_interior=50, seed=0)
    paths = [w.save(tmp_path / f"w{k}.pt") for k, w in enumerate(marched.solutions)]
    part = kp.load_march(paths[:1], problem, windows=4)
    inside = points[:, 1] <= marched.times[1]  # (300,) the reference rows window 0 covers
    data = [c for c in part.problem.conditions if isinstance(c, kp.Data)][0]  # cut to window 0 as well
    assert data.points.shape[0] == int(inside.sum()) and float(data.points[:, 1].max()) <= marched.times[1]
    assert part.metrics()["n_points"] == int(inside.sum()) > 0
    expected = kp.metrics.relative_l2(marched(points[inside])[:, None], base.exact(points[inside])[:, None])
    assert part.relative_l2() == pytest.approx(expected, rel=1e-12)


def test_a_march_exports_one_time_series_over_all_its_windows(tmp_path):
    """``Marching.export``: the fields, truth, error and residual on one space-time grid over every window,
    each time by its window's network (exact initial values included), with the march's metrics."""
    from kanpde.export import read_hdf5

    problem = heat()
    marched = kp.march(problem, kp.MLP([2, 6, 1], seed=0), 2, steps=3, n_interior=50, seed=0)
    h5, xdmf = marched.export(tmp_path / "march.h5", resolution=9)
    data = read_hdf5(h5)
    x, t = data["axes"]["x"], data["times"]  # (9,), (9,): t over both windows
    assert xdmf.is_file() and t[0] == 0.0 and t[-1] == pytest.approx(marched.times[-1])
    nodes = torch.tensor([[xi, ti] for ti in t for xi in x], dtype=torch.float64)  # (81, 2), t outermost
    late = nodes[:, 1] >= marched.times[1]  # (81,) window 1 from its start on, written out here
    windows = [marched.solutions[int(k)] for k in late]  # each row's window, (81,)
    u = torch.stack([w(row[None])[0] for w, row in zip(windows, nodes, strict=True)]).detach()  # (81,)
    r = torch.stack([w.residual(row[None])[0] for w, row in zip(windows, nodes, strict=True)]).detach()
    assert np.allclose(data["fields"]["u"].reshape(-1), u.numpy(), rtol=0, atol=1e-12)
    assert np.allclose(data["fields"]["error"].reshape(-1), (u - problem.exact(nodes)).numpy(), atol=1e-12)
    assert np.allclose(data["fields"]["residual"].reshape(-1), r.numpy(), rtol=0, atol=1e-10)
    assert 0 < int(late.sum()) < 81 and float(r.abs().min()) > 0  # both windows, no row left at zero
    assert data["attrs"]["metrics"]["relative_l2"] == pytest.approx(marched.relative_l2(), rel=1e-12)


def test_an_exact_initial_value_without_a_graph_is_refused():
    def numpy_value(x):  # varies over the points, but its derivatives would silently be 0
        return torch.from_numpy(np.sin(np.pi * x[:, 0].detach().numpy()))

    with pytest.raises(ValueError, match="returned values without a graph"):
        wave([kp.Initial(numpy_value, hard=True)])
    wave(
        [kp.Initial(lambda x: torch.full((x.shape[0],), 0.3, dtype=x.dtype), hard=True)]
    )  # a constant is fine


def test_an_exact_wave_march_evaluates_each_earlier_window_once():
    """Window k's exact value and velocity read one shared evaluation of window k - 1 (apart, each would
    evaluate the window before on its own: 2^(k-1) evaluations of window 0 at window k)."""
    marched = kp.march(
        wave(EXACT), kp.MLP([2, 6, 1], seed=0), 5, steps=1, n_interior=40, n_boundary=8, seed=0
    )
    calls = []
    marched.solutions[0].ansatz.net.register_forward_hook(lambda *_: calls.append(1))
    last = marched.solutions[-1]
    x = at(torch.rand(10, 1, dtype=torch.float64), 1.9)
    value = last(x)
    assert len(calls) == 1
    with torch.enable_grad():  # training-like evaluation: the same single chain, with its graph
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(last.ansatz(xg).sum(), xg)
    assert len(calls) == 2 and bool(torch.isfinite(grad).all())
    assert torch.allclose(last.ansatz(x)[:, 0].detach(), value, rtol=0, atol=1e-13)
