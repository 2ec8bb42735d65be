"""The benchmark scripts' contracts: accuracy (one problem, a checkpoint, a JSON last line), device speed,
and the peers comparison (its PDEs, its time-to-accuracy reading, a quick run without the peers)."""

import dataclasses
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import kanpde as kp

ROOT = Path(__file__).resolve().parent.parent


def test_accuracy_script_writes_a_checkpoint_and_a_json_last_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "poisson1d", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"problem", "config", "relative_l2", "train_seconds", "steps", "params", "checkpoint"} <= set(row)
    assert row["problem"] == "poisson1d" and row["config"].startswith("default")
    assert 0 < row["relative_l2"] < 1e-5 and row["train_seconds"] > 0
    back = kp.load(row["checkpoint"])  # an outside check re-evaluates the stored solution
    assert back.relative_l2() == pytest.approx(row["relative_l2"], rel=1e-12)


def test_device_speed_script_writes_its_table(tmp_path):
    """The GPU throughput script (issue 4), run small on the CPU: one row per size, optimiser and compile
    setting, LM skipped above its Jacobian limit, throughput = points / median step seconds."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "device_speed.py"),
            "--device",
            "cpu",
            "--sizes",
            "300",
            "2000",
            "--warmup",
            "1",
            "--repeats",
            "2",
            "--compile",
            "none",
            "--lm-max-bytes",
            "2e6",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "device_speed_cpu.json").read_text())
    rows = {(r["n"], r["optimizer"]): r for r in result["rows"]}
    assert set(rows) == {(n, o) for n in (300, 2000) for o in ("adam", "lbfgs", "lm")}
    assert "skipped" in rows[(2000, "lm")]  # 2200 x 311 doubles is above 2e6 bytes
    for key in [(300, "adam"), (300, "lbfgs"), (300, "lm"), (2000, "adam")]:
        r = rows[key]
        assert r["points_steps_per_second"] == pytest.approx(r["points"] / r["seconds_per_step"], rel=1e-12)
        assert len(r["step_seconds"]) == 2 and r["params"] == 311
    assert "| 3e+02 | LM | no | 311 |" in (tmp_path / "device_speed_cpu.md").read_text()


# -- benchmarks/peers.py (issue 12) ---------------------------------------------------------------------
@pytest.fixture
def peers(monkeypatch):
    """The peers benchmark as a module (benchmarks/ on sys.path for its own imports, as when run)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import importlib

    return importlib.import_module("peers")


@pytest.mark.parametrize("name", ["poisson2d", "heat1d"])
def test_peer_residuals_vanish_on_the_exact_solutions(peers, name):
    """The PDE each peer trains on, written in derivatives d(i), d(i, j), is the shipped problem's: its
    residual at the exact solution (derivatives by autograd) is zero to round-off, far below the source."""
    spec = peers.peer_problem(name)
    gen = torch.Generator().manual_seed(0)
    lo, hi = torch.tensor(spec.lo), torch.tensor(spec.hi)
    x = (lo + (hi - lo) * torch.rand(200, 2, generator=gen, dtype=torch.float64)).requires_grad_(True)
    d1 = torch.autograd.grad(spec.exact(x).sum(), x, create_graph=True)[0]  # (N, 2)
    d2 = torch.stack([torch.autograd.grad(d1[:, i].sum(), x, retain_graph=True)[0] for i in range(2)], 1)

    def d(*i):
        return d1[:, i[0]] if len(i) == 1 else d2[:, i[0], i[1]]

    r = spec.residual(x, d).detach()
    scale = spec.source(x).detach().abs().max()
    assert scale > 1.0 and r.abs().max() < 1e-12 * scale
    zero_u = spec.residual(x, lambda *i: torch.zeros(200, dtype=torch.float64)).detach()
    torch.testing.assert_close(zero_u, -spec.source(x).detach(), rtol=1e-14, atol=0)  # r = L[u] - f
    assert spec.weights == ([0.01, 1.0] if name == "poisson2d" else [1.0, 1.0, 1.0])


def test_peer_mesh_points_cover_the_faces(peers):
    """pykan's tutorial points: an n x n mesh with its edges; boundary terms on the faces of the box, whose
    exact values are the boundary (0) and initial (sin(pi x)) data."""
    interior, (faces,) = peers.mesh_points(peers.peer_problem("poisson2d"), 5)
    assert interior.shape == (25, 2) and faces.shape == (20, 2)
    assert bool(((faces.abs() == 1).any(1)).all()) and interior.abs().max() == 1
    heat = peers.peer_problem("heat1d")
    interior, (sides, start) = peers.mesh_points(heat, 5)
    assert interior.shape == (25, 2) and sides.shape == (10, 2) and start.shape == (5, 2)
    assert set(sides[:, 0].tolist()) == {0.0, 1.0} and bool((start[:, 1] == 0).all())
    assert heat.exact(sides).abs().max() < 1e-15
    torch.testing.assert_close(heat.exact(start), torch.sin(math.pi * start[:, 0]))


def test_peer_time_to_accuracy(peers):
    """Times are read at the first record at or below an error; the ratio peer / kanpde is taken at the
    peer's final error (its whole run) and at the finest half-decade level it reaches (first times)."""
    trace = [(1.0, 0.5), (2.0, 0.1), (3.0, 0.2), (4.0, 0.01)]
    assert peers.time_to(trace, 0.1) == 2.0 and peers.time_to(trace, 0.05) == 4.0
    assert peers.time_to(trace, 0.001) is None
    assert peers.best([(1.0, 0.3), (2.0, 0.02), (3.0, 0.02), (4.0, 0.05)]) == (2.0, 0.02)
    peer = {
        "seconds": 40.0,
        "relative_l2": 0.025,
        "trace": [(10.0, 0.5), (20.0, 0.05), (30.0, 0.02), (40.0, 0.025)],
    }
    kan = {"a": {"trace": [(1.0, 0.2), (2.0, 0.04), (3.0, 0.009)]}, "b": {"trace": [(1.0, 0.2)]}}
    got = peers.compare(peer, kan)
    assert got["a"]["at_final"] == {
        "error": 0.025,
        "peer_seconds": 40.0,
        "kanpde_seconds": 3.0,
        "ratio": 40 / 3,
    }
    assert got["a"]["at_level"] == {"level": 3e-2, "peer_seconds": 30.0, "kanpde_seconds": 3.0, "ratio": 10.0}
    assert got["b"]["at_final"]["ratio"] is None and got["b"]["at_level"]["ratio"] is None


def test_peer_missing_lines(peers, monkeypatch, tmp_path):
    """A peer whose module is not found, or whose import fails in its worker, is reported in one line that
    says why and how to install it; the worker exits with its 'missing' code and writes the reason."""
    absent = dataclasses.replace(peers.PEERS["pykan"], modules=("kan_not_installed_here",))
    monkeypatch.setitem(peers.PEERS, "pykan", absent)
    assert peers.not_installed("pykan") == "no module kan_not_installed_here"
    assert peers.not_installed("deepxde") in (None, "no module deepxde")
    assert peers.missing_line("pykan", "no module kan") == (
        "pykan: not available (no module kan); its rows are skipped. "
        "Install: pip install 'kanpde[peers]' (or pip install pykan==0.2.8 pandas scikit-learn)"
    )
    args = peers.parse_args(
        ["--worker", "pykan", "--problem", "heat1d", "--result", str(tmp_path / "r.json")]
    )
    assert peers.worker(args) == peers.MISSING_EXIT
    reason = json.loads((tmp_path / "r.json").read_text())["missing"]
    assert reason.startswith("import kan_not_installed_here failed: ModuleNotFoundError")


def test_peers_script_quick_without_the_peers(tmp_path):
    """A tiny run without the peers: one line each says what is missing and how to install it, and
    kanpde's rows, traces and time-to-accuracy tables are written."""
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--quick", "--without", "pykan", "deepxde"]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    install = "Install: pip install 'kanpde[peers]' (or "
    lines = done.stdout.splitlines()
    for name, pip in [("pykan", "pykan==0.2.8 pandas scikit-learn"), ("deepxde", "deepxde==1.15.0")]:
        line = f"{name}: not available (treated as not installed: --without); its rows are skipped. "
        assert line + install + f"pip install {pip})" in lines
    result = json.loads((out / "peers.json").read_text())
    assert result["quick"] and result["threads"] == 1 and result["versions"]["pykan"] is None
    assert set(result["skipped"]) == {"pykan", "deepxde"}
    assert {p: set(e["kanpde"]) for p, e in result["problems"].items()} == {
        "poisson2d": {"default", "target"},
        "heat1d": {"default"},
    }
    for entry in result["problems"].values():
        assert entry["peers"] == {}
        for run in entry["kanpde"].values():
            seconds, errors = zip(*run["trace"], strict=True)
            assert len(seconds) == run["steps"]  # log_every=1: a record after every step
            assert (
                all(a <= b for a, b in zip(seconds, seconds[1:], strict=False))
                and seconds[-1] <= run["seconds"]
            )
            assert errors[-1] == pytest.approx(run["relative_l2"], rel=1e-3) and run["relative_l2"] < 0.1
    md = (out / "peers.md").read_text()
    assert "Quick smoke run" in md and "## poisson2d" in md and "## heat1d" in md
    assert "- pykan: not available (treated as not installed: --without)" in md
    assert "| rel. L2 ≤ | kanpde default | kanpde target |" in md


# -- benchmarks/hard_soft.py (issue 14) -----------------------------------------------------------------
def test_hard_conditions_of_the_hard_soft_benchmark_read_boundary_values_only(monkeypatch):
    """The hard run's value equals the Dirichlet value on the rectangle's sides and is not the exact
    solution inside; the soft run penalises every Dirichlet condition."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import importlib

    hard_soft = importlib.import_module("hard_soft")
    problem = kp.load_problem("poisson_holes")
    g = hard_soft.hard(problem).conditions[0].value
    t = torch.linspace(-0.5, 0.5, 101, dtype=torch.float64)
    h = torch.full_like(t, 0.5)
    sides = torch.cat([torch.stack(s, dim=1) for s in [(t, h), (t, -h), (h, t), (-h, t)]])  # (404, 2)
    assert torch.allclose(g(sides), problem.exact(sides), rtol=0, atol=1e-14)
    x = torch.rand(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) - 0.5
    assert (g(x) - problem.exact(x)).abs().max() > 0.1  # inside, not the answer
    assert not hard_soft.soft(problem).conditions[0].hard and hard_soft.hard(problem).conditions[0].hard
    with pytest.raises(ValueError, match="needs a rectangle"):
        hard_soft.hard(kp.load_problem("poisson_lshape"))


# -- benchmarks/pinnacle.py (issue 26): rows of several runs in one table ---------------------------------
def _pinnacle_row(task, model, seed, l2re, run=None, steps=100):
    row = {"task": task, "model": model, "seed": seed, "params": 10, "l2re": l2re, "seconds": 5.0}
    row |= {"width": [5, 1, 1], "options": {"steps": steps, "seed": seed}}
    return row | ({"run": run, "budget": 90.0} if run is not None else {})


def test_pinnacle_tables_merge_runs_and_count_only_solved_wins(monkeypatch, tmp_path):
    """A one-run JSON (no ``runs`` list) and a later run's JSON render as one table: the later row of a task,
    model and seed replaces the earlier one and the earlier ones of other settings (so a median is over one
    configuration), each row keeps its run, the legacy rows get the budget of their command; an error near 1 that is 'below' PINNacle's (Heat2d-LT: 0.998 against 0.999) is not a win."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import importlib

    bench = importlib.import_module("pinnacle")
    machine = {"cpu": "cpu", "cpu_count": 2, "torch": "t", "load_average_at_start": [1.0, 1.0, 1.0]}
    source = {"sha256": "0" * 64, "commit": "abc1234"}
    old = {
        "command": "python benchmarks/pinnacle.py --budget 60",
        "date": "d0",
        "machine": machine,
        "source": source,
        "rows": [
            _pinnacle_row("PNd", "kan", 0, 1e-5),
            _pinnacle_row("PNd", "mlp", 0, 1e-2),
            _pinnacle_row("Heat2d-LT", "kan", 0, 0.998),
            _pinnacle_row("Heat2d-LT", "mlp", 0, 0.999),
            _pinnacle_row("Heat2d-LT", "mlp", 1, 0.999),
        ],
    }
    run = {
        "command": "python benchmarks/pinnacle.py --tasks PNd",
        "date": "d1",
        "machine": machine | {"torch_threads": 1},
        "source": source,
    }
    new = {"runs": [run], "rows": [_pinnacle_row("PNd", "mlp", 0, 4e-4, run=0)]}
    new["rows"] += [_pinnacle_row("Heat2d-LT", "mlp", 0, 0.6, run=0, steps=30)]  # other settings: seed 1 goes
    (tmp_path / "a.json").write_text(json.dumps(old))
    (tmp_path / "b.json").write_text(json.dumps(new))
    assert bench.render([tmp_path / "a.json", tmp_path / "b.json"], None, tmp_path, "both") == 0
    saved = json.loads((tmp_path / "both.json").read_text())
    assert [r["command"] for r in saved["runs"]] == [old["command"], run["command"]]
    rows = {(r["task"], r["model"]): r for r in saved["rows"]}
    assert len(saved["rows"]) == 4 and rows["PNd", "mlp"]["l2re"] == 4e-4 and rows["PNd", "mlp"]["run"] == 1
    assert [r["seed"] for r in saved["rows"] if r["task"] == "Heat2d-LT" and r["model"] == "mlp"] == [0]
    factor = bench.TASKS["Heat2d-LT"].budget_factor
    assert rows["PNd", "kan"]["run"] == 0 and rows["Heat2d-LT", "kan"]["budget"] == 60 * factor
    text = (tmp_path / "both.md").read_text()
    assert (
        "Better than PINNacle's best on 1 of 2 tasks (0 of them by less than 10%), by 10x or more on 1."
        in text
    )
    assert "| PNd | `poisson.PoissonND` | 1.00e-05 | 4.00e-04 | 4.67e-04 | 47 |" in text


def test_heat2d_lt_finite_differences_match_the_decay_of_a_mode(monkeypatch):
    """The finite-difference check of the Heat2d-LT reference: with the source switched off (k = 0) the initial
    mode sin(4 pi x) sin(3 pi y) decays as exp(-0.001 * 25 pi^2 t), read at scattered nodes."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import importlib

    check = importlib.import_module("heat2d_lt_reference")
    task = check.problem_module()
    module = types.SimpleNamespace(
        K=0.0, M1=4, M2=2, initial=task.initial, forcing=task.forcing
    )  # source off
    nodes = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).numpy()
    times, h = np.array([0.0, 2.0, 8.0]), 1 / 32
    got = check.solve_fd(module, 31, 0.02, times, nodes)  # (20, 3)
    mode = np.sin(4 * np.pi * nodes[:, 0]) * np.sin(3 * np.pi * nodes[:, 1])
    lam = 4 / h**2 * (np.sin(4 * np.pi * h / 2) ** 2 + np.sin(3 * np.pi * h / 2) ** 2)
    want = mode[:, None] * np.exp(-0.001 * lam * times)[None, :]
    assert np.abs(got - want).max() < 5e-4
    assert np.abs(got[:, 2] - mode).max() > 0.2  # the decay itself is resolved, not only the initial value


def test_heat2d_lt_finite_differences_follow_the_source_pointwise(monkeypatch):
    """Without diffusion every grid node follows its own ODE u' = 5 sin(k u^2) (1 + 2 sin(pi t / 4)) S(x, y)
    with the task's constants: the scheme's source term against scipy's solve_ivp, at grid nodes (where the
    bicubic reading is exact)."""
    from scipy.integrate import solve_ivp

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import importlib

    check = importlib.import_module("heat2d_lt_reference")
    module = check.problem_module()
    h = 1 / 16
    nodes = np.array(
        [[3 * h, 2 * h], [5 * h, 11 * h], [9 * h, 6 * h], [13 * h, 14 * h]]
    )  # grid nodes, n = 15
    times = np.array([0.0, 0.6, 1.2])
    got = check.solve_fd(module, 15, 0.01, times, nodes, diffusion=0.0)  # (4, 3)
    for node, row in zip(nodes, got, strict=True):
        x, y = node
        shape = np.sin(module.M1 * np.pi * x) * np.sin(module.M2 * np.pi * y)

        def rate(t, u, shape=shape):
            return 5 * np.sin(module.K * u**2) * (1 + 2 * np.sin(np.pi * t / 4)) * shape

        u0 = [np.sin(4 * np.pi * x) * np.sin(3 * np.pi * y)]
        want = solve_ivp(rate, (0.0, 1.2), u0, t_eval=times, rtol=1e-11, atol=1e-12).y[0]
        assert np.abs(row - want).max() < 5e-5  # RK4 at dt = 0.01 on rates up to ~50: 1.2e-5 measured
    assert np.abs(got[:, 2] - got[:, 0]).max() > 0.3  # the source moved the values


def test_heat2d_lt_reference_rows_go_on_a_grid_whatever_their_order(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import importlib

    check = importlib.import_module("heat2d_lt_reference")
    rng = np.random.default_rng(0)
    nodes = rng.uniform(size=(5, 2))
    times = np.array([0.0, 0.2, 0.4])
    rows = np.array([[*node, t] for node in nodes for t in times])  # (15, 3)
    values = rows[:, 0] + 10 * rows[:, 1] + 100 * rows[:, 2]  # a value that names its row
    shuffle = rng.permutation(len(rows))
    got_nodes, got_times, grid = check.on_grid(rows[shuffle], values[shuffle])
    assert np.array_equal(got_times, times)
    want = got_nodes[:, :1] + 10 * got_nodes[:, 1:] + 100 * times[None, :]  # (5, 3)
    assert np.allclose(grid, want, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="one set of nodes at every time"):
        check.on_grid(rows[shuffle][1:], values[shuffle][1:])
