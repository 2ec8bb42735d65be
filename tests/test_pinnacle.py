"""The PINNacle suite's problem files, reference excerpts and time marching (kanpde.marching).

Layers: every problem file loads (from the reference excerpts in ``tests/data/pinnacle``, never the full data);
each exact solution satisfies its PDE and conditions to 1e-10 in float64 (the two PINNacle statements whose
"exact" functions do not solve them: the documented defect itself, to 1e-10); a hard condition's lift never
holds the exact interior values; the excerpts read as COMSOL snapshots; marching an exact model carries the
value and the velocity from window to window and reproduces the exact solution; bad marching input is refused.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.derivatives import Evaluation, accessor
from kanpde.loss import equations

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
EXCERPTS = Path(__file__).resolve().parent / "data" / "pinnacle"
FILES = sorted(PROBLEMS.glob("pinnacle_*.py"))
TOL = 1e-10
PI = math.pi


@pytest.fixture(autouse=True)
def _excerpts(monkeypatch):
    """Problem files read the reference excerpts, whatever the machine holds."""
    monkeypatch.setenv("KANPDE_PINNACLE_DATA", str(EXCERPTS))


def load(stem: str) -> ModuleType:
    path = PROBLEMS / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"kanpde_test_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Exact(torch.nn.Module):
    """An exact solution as a model (N, d) -> (N, n_fields)."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn
        self.register_buffer("anchor", torch.zeros((), dtype=torch.float64))  # dtype and device of a Solution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.fn(x)
        return u[:, None] if u.ndim == 1 else u


def residuals(problem: kp.Problem, n: int = 300) -> dict[str, torch.Tensor]:
    """The PDE's rows (by equation) and each condition's residual for the exact solution, in float64."""
    domain, model = problem.domain, Exact(problem.exact_values)

    def field_at(x: torch.Tensor):
        return accessor(Evaluation(model, x, domain.names, domain.space_dim, mode="autograd"), problem.fields)

    x = domain.sample_interior(n, sampler="sobol", seed=0, dtype=torch.float64)
    r, names = equations(problem.residual(x, field_at(x)), n)
    out = {f"pde:{name}": r[:, i].detach() for i, name in enumerate(names)}
    out["x"] = x
    for i, cond in enumerate(problem.conditions):
        if isinstance(cond, kp.Dirichlet) and cond.hard:
            continue  # imposed by the ansatz; checked by test_lifts_hold_boundary_values_only
        pts = cond.sample(domain, 100, "sobol", 1, torch.float64, "cpu")
        out[f"{i}:{cond.label}"] = cond.residual(field_at, pts).detach()
    return out


# -- the problem files ----------------------------------------------------------------------------------------


def test_ten_tasks():
    assert len(FILES) == 10, [p.stem for p in FILES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_file_loads_with_truth(path: Path):
    problem = kp.load_problem(path)
    assert problem.name == path.stem
    assert problem.has_truth
    assert problem.windows >= 1
    module = load(path.stem)
    assert module.__doc__ and "PINNacle" in module.__doc__


@pytest.mark.parametrize(
    "stem", ["pinnacle_heat2d_ms", "pinnacle_poisson_nd", "pinnacle_wave1d", "pinnacle_hinv"]
)
def test_exact_solution_satisfies_problem(stem: str):
    problem = load(stem).problem
    worst = {k: float(v.abs().max()) for k, v in residuals(problem).items() if k != "x"}
    noisy = {k for k in worst if ":data" in k}
    bad = {k: v for k, v in worst.items() if v > (5 * 0.1 + TOL if k in noisy else TOL)}
    assert not bad, bad


def test_pinv_consistent_source_is_exact_and_pinnacle_source_is_off_by_the_documented_term():
    module = load("pinnacle_pinv")
    consistent = residuals(module.make_problem(source="consistent"))
    assert float(consistent["pde:residual"].abs().max()) < TOL
    stated = residuals(module.make_problem())
    x = stated["x"]
    a = module.exact_a(x)
    defect = (
        4
        * PI
        * a**2
        * (
            torch.cos(PI * x[:, 0]) * torch.sin(PI * x[:, 1])
            + torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1])
        )
    )
    assert torch.allclose(stated["pde:residual"], defect, atol=TOL, rtol=0)
    assert float(defect.abs().max()) > 0.5  # not a rounding matter
    with pytest.raises(ValueError, match="source must be one of"):
        module.make_problem(source="fixed")


def test_wave2d_exact_misses_the_pde_by_minus_two_pi_squared_g():
    module = load("pinnacle_wave2d_ms")
    problem = module.make_problem(t_end=2.0)
    r = residuals(problem)
    g = module.exact(r["x"])
    assert torch.allclose(r["pde:residual"], -2 * PI**2 * g, atol=1e-7 * float(g.abs().max()), rtol=0)
    conditions = {k: float(v.abs().max()) for k, v in r.items() if ":" in k and not k.startswith("pde")}
    assert conditions and max(conditions.values()) < 1e-9  # initial value and velocity hold


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_lifts_hold_boundary_values_only(path: Path):
    """A hard condition's value equals the truth on its boundary and is not the truth inside (else the ansatz
    would hand the answer to the network)."""
    problem = load(path.stem).problem
    for cond in (c for c in problem.conditions if isinstance(c, kp.Dirichlet) and c.hard):
        if not callable(cond.value) or problem.exact is None:
            continue
        column = problem.fields.index(cond.field or problem.fields[0])
        inside = problem.domain.sample_interior(200, sampler="sobol", seed=3, dtype=torch.float64)
        gap = (cond.value(inside) - problem.exact_values(inside)[:, column]).abs().max()
        assert float(gap) > 1e-3, f"{path.stem}: the lift of {cond.field} is the exact solution inside"
        edge = problem.domain.sample_boundary(200, sampler="sobol", seed=3, dtype=torch.float64)[0]
        on = (cond.value(edge) - problem.exact_values(edge)[:, column]).abs().max()
        assert float(on) < 1e-9 * max(1.0, float(problem.exact_values(edge).abs().max()))


def test_hard_lifts_of_reference_problems_hold_their_boundary_values():
    p2d = load("pinnacle_poisson2d_cg")
    lift = p2d.Lift()
    sides = torch.tensor([[-1.0, 0.3], [1.0, -0.2], [0.1, 1.0], [0.6, -1.0]], dtype=torch.float64)
    circles = torch.tensor([[c[0] + r, c[1]] for c, r in p2d.CIRCLES], dtype=torch.float64)
    assert torch.allclose(lift(sides), torch.full((4,), 0.2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(lift(circles), torch.ones(4, dtype=torch.float64), atol=1e-12)
    ns = load("pinnacle_ns2d_cg")
    y = torch.linspace(0, 1, 7, dtype=torch.float64)
    inlet = torch.stack([torch.zeros_like(y), y], dim=1)
    assert torch.allclose(ns.lift_u(inlet), 4 * y * (1 - y), atol=1e-14)
    walls = torch.tensor([[1.0, 1.0], [2.0, 1.5], [3.0, 0.0], [3.0, 2.0]], dtype=torch.float64)
    assert float(ns.lift_u(walls).abs().max()) < 1e-14


def test_hinv_observations_come_from_the_data_file_else_are_drawn():
    module = load("pinnacle_hinv")
    points = module.observation_points(EXCERPTS)
    assert points.shape == (40, 3)
    np.testing.assert_allclose(
        points[0], [4.622657564380105999e-01, 8.642655697627712463e-01, 5.970912013728797429e-01]
    )


def test_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data file burgers1d.dat"):
        load("pinnacle_burgers1d_c").make_problem(data=tmp_path)


def test_without_any_data_reference_problems_load_without_truth(monkeypatch, tmp_path):
    monkeypatch.delenv("KANPDE_PINNACLE_DATA")
    module = load("pinnacle_burgers1d_c")
    monkeypatch.setattr(module, "DATA", tmp_path)
    assert not module.make_problem().has_truth
    hinv = load("pinnacle_hinv")
    monkeypatch.setattr(hinv, "DATA", tmp_path)
    drawn = hinv.observation_points()
    assert drawn.shape == (2500, 3) and drawn[:, 2].min() >= 0 and abs(drawn[:, :2]).max() <= 1


# -- reference excerpts --------------------------------------------------------------------------------------


def test_burgers_snapshots_read_node_major_with_time_last():
    ref = kp.Reference.load(EXCERPTS / "burgers1d.dat")
    assert ref.points.shape == (5 * 11, 2) and ref.values.shape == (55, 1)
    np.testing.assert_allclose(ref.points[:11, 1], np.linspace(0, 1, 11), atol=1e-12)
    assert np.all(ref.points[:11, 0] == -1.0)
    t0 = ref.points[:, 1] == 0
    np.testing.assert_allclose(ref.values[t0, 0], -np.sin(np.pi * ref.points[t0, 0]), atol=1e-5)


def test_heat_longtime_excerpt_columns_by_time():
    ref = kp.Reference.load(EXCERPTS / "heat_longtime.dat")
    assert ref.points.shape == (5 * 4, 3)
    np.testing.assert_allclose(ref.points[:4, 2], [0.0, 0.2, 0.4, 0.6])
    assert ref.values[0, 0] == pytest.approx(0.14648254823055035)
    assert ref.values[3, 0] == pytest.approx(0.17529851171798613)


def test_a_reference_between_two_times_keeps_those_snapshots_with_their_values():
    ref = kp.Reference.load(EXCERPTS / "heat_longtime.dat")
    part = ref.between(0.2, 0.4)
    assert sorted(set(part.points[:, 2])) == [0.2, 0.4] and len(part) == 5 * 2
    keep = (ref.points[:, 2] >= 0.2) & (ref.points[:, 2] <= 0.4)
    np.testing.assert_array_equal(part.values, ref.values[keep])
    assert part.fields == ref.fields and part.source == ref.source
    assert ref.between(5.0, 6.0) is None


def test_ns_reference_has_three_fields():
    ref = kp.Reference.load(EXCERPTS / "ns_0_obstacle.dat", fields=("u", "v", "p"))
    assert ref.points.shape[1] == 2 and ref.values.shape[1] == 3


def test_snapshot_header_with_uneven_columns_is_refused(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("% X  u @ t=0  u @ t=1  v @ t=0\n0 1 2 3\n")
    with pytest.raises(ValueError, match="neither time by time nor field by field|columns"):
        kp.Reference.load(bad, fields=("u", "v"))


# -- time marching -------------------------------------------------------------------------------------------


def _wave(c: float = 1.0) -> kp.Problem:
    def exact(x):
        return torch.sin(PI * x[:, 0]) * torch.cos(PI * c * x[:, 1])

    return kp.Problem(
        domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0)),
        residual=lambda x, u: u.dt(2) - c**2 * u.d("x", "x"),
        conditions=[
            kp.Dirichlet(0.0),
            kp.Initial(lambda x: torch.sin(PI * x[:, 0])),
            kp.Initial(0.0, derivative=1),
        ],
        exact=exact,
        name="wave",
    )


def test_marching_carries_value_and_velocity_and_reproduces_the_exact_solution():
    problem = _wave()
    seen = []

    def fake_solve(window, model, **options):
        """Check the window's initial conditions against the exact solution at its start; return the exact."""
        t0 = window.domain.t[0]
        x = torch.linspace(0.05, 0.95, 9, dtype=torch.float64)
        pts = torch.stack([x, torch.full_like(x, t0)], dim=1)
        value, velocity = (c for c in window.conditions if isinstance(c, kp.Initial))
        assert velocity.derivative == 1
        u0 = value.value(pts) if callable(value.value) else torch.full_like(x, value.value)
        v0 = velocity.value(pts) if callable(velocity.value) else torch.full_like(x, velocity.value)
        np.testing.assert_allclose(u0.detach(), problem.exact(pts), atol=1e-12)
        np.testing.assert_allclose(v0.detach(), -PI * torch.sin(PI * x) * math.sin(PI * t0), atol=1e-9)
        seen.append((t0, options))
        return kp.Solution(Exact(problem.exact), window)

    marched = kp.march(problem, kp.MLP([2, 4, 1]), 4, solve=fake_solve, seed=3)
    assert [t for t, _ in seen] == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert all(o == {"seed": 3} for _, o in seen)
    assert marched.relative_l2() < 1e-14
    metrics = marched.metrics()
    assert len(metrics["windows"]) == 4 and metrics["relative_l2"] < 1e-14
    x = torch.tensor([[0.3, 0.0], [0.3, 0.25], [0.3, 0.6], [0.3, 1.0]], dtype=torch.float64)
    assert marched.window_of(x[:, 1]).tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(
        marched.d(x, "t").detach(), -PI * math.sin(0.3 * PI) * torch.sin(PI * x[:, 1]), atol=1e-9
    )
    out = marched(x.numpy())
    assert isinstance(out, np.ndarray) and out.shape == (4,)


def test_marching_a_short_heat_problem_trains_each_window():
    problem = kp.Problem(
        domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 0.5)),
        residual=lambda x, u: u.dt() - 0.1 * u.d("x", "x"),
        conditions=[kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(PI * x[:, 0]))],
        exact=lambda x: torch.exp(-0.1 * PI**2 * x[:, 1]) * torch.sin(PI * x[:, 0]),
        name="heat",
    )
    marched = kp.march(problem, kp.MLP([2, 8, 1]), 2, steps=40, n_interior=200, n_boundary=40, n_initial=40)
    assert len(marched.solutions) == 2 and marched.times == pytest.approx((0.0, 0.25, 0.5))
    assert marched.relative_l2() < 1e-2
    assert all(r["window"] in (0, 1) for r in marched.history)


def test_march_refuses_bad_input():
    problem = _wave()
    with pytest.raises(ValueError, match="windows"):
        kp.march(problem, kp.MLP([2, 4, 1]), 0)
    with pytest.raises(TypeError, match="kanpde.Problem"):
        kp.march("wave", kp.MLP([2, 4, 1]), 2)
    with pytest.raises(ValueError, match="SpaceTime"):
        kp.march(load("pinnacle_poisson_nd").problem, kp.MLP([5, 4, 1]), 2)
    with pytest.raises(ValueError, match="has none; add"):
        kp.march(dataclasses.replace(problem, conditions=[kp.Dirichlet(0.0)]), kp.MLP([2, 4, 1]), 2)
    heat_inverse = kp.load_problem("heat_inverse")
    with pytest.raises(ValueError, match="unknown coefficients"):
        kp.march(heat_inverse, kp.MLP([2, 4, 1]), 2)
    with pytest.raises(TypeError, match="like kp.solve"):
        kp.march(problem, kp.MLP([2, 4, 1]), 2, solve=3)
    with pytest.raises(TypeError, match="not a kanpde.Solution"):
        kp.march(problem, kp.MLP([2, 4, 1]), 2, solve=lambda p, m, **o: None)


def test_recommended_windows_are_checked():
    problem = _wave()
    assert problem.windows == 1
    with pytest.raises(ValueError, match="windows must be a whole number"):
        dataclasses.replace(problem, recommended={"windows": 0}).windows  # noqa: B018
    assert load("pinnacle_heat2d_lt").make_problem(windows=10).windows == 10


TINY_HEAT = '''"""A tiny heat problem for the command line's marching."""
import math
import torch
import kanpde as kp

problem = kp.Problem(
    domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 0.5)),
    residual=lambda x, u: u.dt() - 0.1 * u.d("x", "x"),
    conditions=[kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, 0]))],
    exact=lambda x: torch.exp(-0.1 * math.pi**2 * x[:, 1]) * torch.sin(math.pi * x[:, 0]),
    name="tiny_heat",
    recommended={"model": "mlp", "width": (2, 4, 1), "windows": 2},
)
'''


def test_command_line_marches_in_the_recommended_or_given_windows(tmp_path, capsys):
    from kanpde.cli import main

    file = tmp_path / "tiny_heat.py"
    file.write_text(TINY_HEAT)
    flags = [
        "--steps",
        "3",
        "--points",
        "60",
        "--boundary-points",
        "20",
        "--initial-points",
        "20",
        "--no-progress",
    ]
    assert main(["solve", str(file), "--out", str(tmp_path / "a"), *flags]) == 0
    assert "windows      2 of length 0.25" in capsys.readouterr().out
    assert (tmp_path / "a" / "window1" / "solution.pt").is_file() and (
        tmp_path / "a" / "metrics.json"
    ).is_file()
    assert main(["solve", str(file), "--out", str(tmp_path / "c"), "--windows", "0", *flags]) == 2
    assert "--windows must be a whole number >= 1" in capsys.readouterr().err
    resume = ["--resume", str(tmp_path / "a" / "window0" / "solution.pt")]
    assert main(["solve", str(file), "--windows", "2", *resume, "--no-progress"]) == 2
    assert "a march (--windows) starts afresh" in capsys.readouterr().err
    assert not (tmp_path / "a" / ".kanpde-lock").exists()  # the march released its folder
    # the march's folder exports as one time series over both windows
    assert main(["export", str(tmp_path / "a"), "--problem", str(file), "--resolution", "5"]) == 0
    h5 = tmp_path / "a" / "march.h5"
    assert capsys.readouterr().out.split()[0] == str(h5) and h5.with_suffix(".xdmf").is_file()
    assert kp.export.read_hdf5(h5)["times"] == pytest.approx([0.0, 0.125, 0.25, 0.375, 0.5])
    for bad, message in [
        ([str(tmp_path / "a")], "needs --problem"),
        ([str(tmp_path / "a"), "--problem", str(file), "--windows", "3"], "window 0 of 3"),
        ([str(tmp_path / "c")], "it is a folder; pass a .pt checkpoint"),
        ([str(tmp_path / "d")], "holds no finished window"),
        (
            [str(tmp_path / "a" / "window0" / "solution.pt"), "--windows", "2"],
            "--windows reads a march folder",
        ),
    ]:
        (tmp_path / "c").mkdir(exist_ok=True)
        (tmp_path / "d" / "window0").mkdir(
            parents=True, exist_ok=True
        )  # a march stopped before window 0 ended
        assert main(["export", *bad]) == 2
        assert message in capsys.readouterr().err


def test_an_interrupted_command_line_march_says_which_windows_it_finished(tmp_path, capsys, monkeypatch):
    """Ctrl-C during window 2 of 3: the message names windows 0..1 and how to reopen them; the folder exports
    those two (not window 2's half-trained checkpoint) with --windows 3, and without it says to pass it."""
    import kanpde.cli as cli

    calls, real = [], cli.solve

    def stop(record, model):
        raise KeyboardInterrupt

    def interrupted_in_window_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # after window 2's first step, its run folder has a checkpoint
            kwargs["callbacks"] = [*kwargs["callbacks"], stop]
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "solve", interrupted_in_window_2)
    file = tmp_path / "tiny_heat.py"
    file.write_text(TINY_HEAT)
    out = tmp_path / "run"
    flags = ["--windows", "3", "--steps", "2", "--points", "40", "--no-progress", "--out", str(out)]
    assert cli.main(["solve", str(file), *flags]) == 130
    err = capsys.readouterr().err
    assert "windows 0..1 of 3 finished" in err and "windows=3) reopens them" in err
    assert (out / "window2" / "solution.pt").is_file()  # the interrupted window's checkpoint
    part = kp.load_march([out / "window0" / "solution.pt", out / "window1" / "solution.pt"], file, windows=3)
    assert part.times == pytest.approx((0.0, 0.5 / 3, 1.0 / 3)) and part.problem.domain.t[1] == part.times[2]
    x = torch.tensor([[0.3, 0.05], [0.6, 0.25]], dtype=torch.float64)  # one point in each finished window
    alone = [kp.load(out / f"window{k}" / "solution.pt") for k in (0, 1)]  # penalised initial values
    assert torch.equal(part(x), torch.stack([alone[0](x[:1])[0], alone[1](x[1:])[0]]))
    assert cli.main(["export", str(out), "--problem", str(file)]) == 2
    assert "--windows K for an interrupted march" in capsys.readouterr().err
    assert cli.main(["export", str(out), "--problem", str(file), "--windows", "3", "--resolution", "4"]) == 0
    assert "window 2 of" in capsys.readouterr().err
    times = kp.export.read_hdf5(out / "march.h5")["times"]
    assert times == pytest.approx(np.linspace(0.0, 1.0 / 3, 4))  # windows 0 and 1 only


def _plain(value):
    """Tuples as lists, recursively: recommended dicts and the benchmark's settings spell sequences both ways."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _bench(monkeypatch) -> ModuleType:
    """benchmarks/pinnacle.py as a module."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "kanpde_test_bench_pinnacle", ROOT / "benchmarks" / "pinnacle.py"
    )
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def _line_heat() -> kp.Problem:
    """u_t = u_xx / 10 on [0, 1] x [0, 0.2], u = 0 at the ends, u(x, 0) = sin(pi x)."""
    return kp.Problem(
        kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 0.2)),
        lambda x, u: u.dt() - 0.1 * u.d("x", "x"),
        [kp.Dirichlet(0.0, hard=True), kp.Initial(lambda x: torch.sin(math.pi * x[:, 0]))],
        exact=lambda x: torch.exp(-0.1 * math.pi**2 * x[:, 1]) * torch.sin(math.pi * x[:, 0]),
    )


def test_a_shared_budget_gives_each_solve_the_time_left_in_proportion_to_its_steps(monkeypatch):
    bench = _bench(monkeypatch)
    shares, real = [], bench.solve_within

    def recording(seconds):
        shares.append(seconds)
        return real(seconds)

    monkeypatch.setattr(bench, "solve_within", recording)
    shared = bench.SharedBudget(600.0, 4 + 2 * 6)  # the fit of 4 steps, then two time steps of 6
    options = {"steps": 6, "n_interior": 20, "seed": 0}
    sol = kp.discrete_time(
        _line_heat(), kp.MLP([1, 6, 2], seed=0), 2, stages=2, fit_steps=4, solve=shared, **options
    )
    assert shared.planned == 0 and 0 < 600.0 - shared.left < 60.0
    assert shares[0] == pytest.approx(600.0 * 4 / 16)  # then what is left: 6 of 12 steps, 6 of 6
    fit_seconds = 600.0 - 2 * shares[1]
    assert 0 < fit_seconds < 30 and shares[1] < shares[2] < 2 * shares[1]
    assert [s.solution.trainer_state.step for s in sol.solutions] == [6, 6] and sol.relative_l2() < 0.1
    none_left = bench.SharedBudget(0.0, 16)  # every solve stops at its first step, keeping its start
    sol = kp.discrete_time(
        _line_heat(), kp.MLP([1, 6, 2], seed=0), 2, stages=2, fit_steps=4, solve=none_left, **options
    )
    assert [s.solution.trainer_state.step for s in sol.solutions] == [0, 0] and none_left.planned == 0


def test_each_problem_recommends_what_the_benchmark_ran_for_its_better_model(monkeypatch):
    """``kanpde solve FILE`` runs the settings of the benchmark's model for that task: the family, width, grid,
    grids, steps, point counts and windows of ``TASKS`` (benchmarks/pinnacle.py) for the family the file
    recommends."""
    bench = _bench(monkeypatch)
    assert {t.file for t in bench.TASKS.values()} == {p.stem for p in FILES}
    for name, task in bench.TASKS.items():
        module = load(task.file)
        problem = module.make_problem(**task.params) if hasattr(module, "make_problem") else module.problem
        recommended = problem.recommended
        expected = task.settings(recommended["model"])
        assert _plain(recommended) == _plain(expected), f"{name}: {recommended} != {expected}"
