"""Systems of PDEs, unknown coefficients and data: jets and exact Jacobians against autograd and finite
differences, each new condition, short solves, resume, the command line, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.cli import main
from kanpde.derivatives import Evaluation, Field
from kanpde.export import read_hdf5
from kanpde.loss import PINNLoss, sample_collocation

torch_rng = torch.Generator().manual_seed(0)


def _points(n: int, d: int) -> torch.Tensor:
    return torch.rand(n, d, generator=torch_rng, dtype=torch.float64) * 2 - 1


@pytest.mark.parametrize(
    "model",
    [kp.KAN([2, 4, 3], grid=4, seed=1), kp.KAN([3, 3, 2, 2], grid=3, seed=2), kp.MLP([2, 6, 3], seed=3)],
    ids=["kan", "kan_deep_xyt", "mlp"],
)
def test_every_output_jet_equals_nested_autograd(model):
    d = model.width[0]
    names = ("x", "y", "t")[:d] if d == 3 else ("x", "y")
    x = _points(9, d)
    forward = Evaluation(model, x, names, 2, "forward")
    auto = Evaluation(model, x, names, 2, "autograd")
    for c in range(model.width[-1]):
        f, a = Field.of(forward, c), Field.of(auto, c)
        for name in ("value", "grad", "laplacian"):
            got, want = getattr(f, name), getattr(a, name)
            got, want = (got, want) if name == "value" else (got(), want())
            assert torch.allclose(got, want, rtol=0, atol=1e-12), (c, name)
        assert torch.allclose(f.d("x", "y"), a.d("x", "y"), rtol=0, atol=1e-12)


def _flat_residual(loss: PINNLoss, ansatz: Ansatz, flat: torch.Tensor) -> torch.Tensor:
    """The stacked residual r~ at parameters ``flat``, by plain autograd-mode evaluation."""
    params = list(ansatz.parameters())
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
    r, _, _ = loss.residual_and_jacobian(ansatz)
    return r


SYSTEM = kp.Problem(
    domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
    residual=lambda x, u: {
        "a": u["u"].laplacian() * u.unknown("k") + u["v"].d("x") * u["u"].value - torch.sin(x[:, 0]),
        "b": u["v"].d("x", "y") + u["u"].d("y") * u["v"].value + u.unknown("m") ** 2,
    },
    fields=("u", "v"),
    unknowns=[kp.Unknown("k", 0.7, lower=0.0), kp.Unknown("m", -0.3)],
    conditions=[
        kp.Dirichlet(0.5, field="u"),
        kp.Neumann(0.0, field="v", on="xmax"),
        kp.Periodic("y"),
        kp.Data([[0.3, 0.4], [0.6, 0.1]], [0.2, -0.1], field="v", weight=3.0),
    ],
    name="system",
)


def _system_loss(width=(2, 3, 2)):
    net = kp.KAN(list(width), grid=3, seed=4)
    net.set_input_bounds(*SYSTEM.domain.bounds())
    ansatz = Ansatz(net, SYSTEM.fields, SYSTEM.unknowns)
    points = sample_collocation(SYSTEM, 12, 8, 4, "sobol", 0, torch.float64, "cpu")
    return PINNLoss(SYSTEM, points, "forward"), ansatz


def test_system_jacobian_with_unknowns_equals_autograd_and_finite_differences():
    loss, ansatz = _system_loss()
    r, jac, parts = loss.residual_and_jacobian(ansatz)
    total, parts_direct = loss(ansatz)
    assert torch.allclose(r @ r, total, rtol=1e-13) and torch.allclose(parts, parts_direct, rtol=1e-12)
    assert loss.names[:2] == ["a", "b"] and "periodic_y" in loss.names and "data_v" in loss.names
    flat = torch.cat([p.detach().reshape(-1) for p in ansatz.parameters()])
    assert torch.allclose(jac, _autograd_jacobian(loss, ansatz), rtol=0, atol=1e-11)
    # the unknowns' columns (the last two) by central differences of r~ in the raw parameters
    for j in (flat.numel() - 2, flat.numel() - 1):
        step = torch.zeros_like(flat)
        step[j] = 1e-6
        fd = (_flat_residual(loss, ansatz, flat + step) - _flat_residual(loss, ansatz, flat - step)) / 2e-6
        assert torch.allclose(jac[:, j], fd, rtol=0, atol=1e-7), j
        assert jac[:, j].abs().max() > 1e-3  # the column is not trivially zero
    _flat_residual(loss, ansatz, flat)


def _autograd_jacobian(loss: PINNLoss, ansatz: Ansatz) -> torch.Tensor:
    """The Jacobian of r~ row by row with plain autograd (the oracle)."""
    rows = []
    for t, (w, n) in enumerate(zip(loss.weights, loss.counts, strict=True)):
        r = loss.term_residual(ansatz, t)  # (N_t, C_t)
        rows.append((math.sqrt(w / n) * r).T.reshape(-1))  # column by column, as residual_and_jacobian
    r = torch.cat(rows)
    params = list(ansatz.parameters())
    out = []
    for i in range(r.shape[0]):
        grads = torch.autograd.grad(r[i], params, retain_graph=True, allow_unused=True)
        out.append(
            torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).reshape(-1)
                    for g, p in zip(grads, params, strict=True)
                ]
            )
        )
    return torch.stack(out)


def test_bounded_unknowns_keep_their_bounds_and_invert():
    for spec in (
        kp.Unknown("a", 2.0, lower=1.0),
        kp.Unknown("b", -2.0, upper=0.0),
        kp.Unknown("c", 0.3, lower=0, upper=1),
    ):
        r = torch.tensor(spec.raw(spec.init), dtype=torch.float64)
        assert float(spec.value(r)) == pytest.approx(spec.init, rel=1e-14)
        extreme = spec.value(torch.tensor([-50.0, 50.0], dtype=torch.float64))
        assert (spec.lower is None or extreme.min() >= spec.lower) and (
            spec.upper is None or extreme.max() <= spec.upper
        )


def test_conditions_pick_their_field_and_data_is_exact():
    net = kp.MLP([2, 5, 2], seed=0)
    ansatz = Ansatz(net, ("u", "v"))
    problem = kp.Problem(
        kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
        lambda x, u: [u["u"].laplacian(), u["v"].value],
        fields=("u", "v"),
        conditions=[kp.Dirichlet(1.0, field="v"), kp.Data([[0.5, 0.5]], [2.0], field="u")],
    )
    points = sample_collocation(problem, 5, 6, 1, "sobol", 0, torch.float64, "cpu")
    loss = PINNLoss(problem, points, "forward")
    with torch.no_grad():
        dirichlet = loss.term_residual(ansatz, 1)[:, 0]
        data = loss.term_residual(ansatz, 2)[:, 0]
        boundary = points.conditions[0]["x"]
        assert torch.allclose(dirichlet, net(boundary)[:, 1] - 1.0, atol=1e-14)
        centre = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
        assert torch.allclose(data, net(centre)[:, 0] - 2.0, atol=1e-14)
    loss(ansatz)
    assert loss.names == ["residual_1", "residual_2", "dirichlet_v", "data_u"]


# -- Reference files -------------------------------------------------------------------------------------------
def _table(tmp_path, text: str, name="ref.dat"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reference_load_every_format(tmp_path):
    x = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    u, v = np.array([1.0, 2.0, 3.0]), np.array([-1.0, -2.0, -3.0])
    np.savez(tmp_path / "r.npz", x=x, u=u, v=v)
    ref = kp.Reference.load(tmp_path / "r.npz")
    assert ref.fields == ("u", "v") and np.array_equal(ref.values, np.stack([u, v], 1))
    comsol = (
        "% Model: flow.mph\n% Version: COMSOL 6.1\n% x  y  u\n0.1 0.2 1\n0.3   0.4\t2\n# note\n0.5 0.6 3\n"
    )
    ref = kp.Reference.load(_table(tmp_path, comsol))
    assert ref.fields == ("u",) and np.array_equal(ref.points, x) and np.array_equal(ref.values[:, 0], u)
    ref = kp.Reference.load(
        _table(tmp_path, "0.1,0.2,1,-1\n0.3,0.4,2,-2\n0.5,0.6,3,-3\n", "r.csv"), fields=("u", "v")
    )
    assert np.array_equal(ref.values[:, 1], v)
    sol = kp.Solution(kp.KAN([2, 3, 1]), kp.load_problem("poisson2d"))
    h5, _ = sol.export(tmp_path / "s.h5", resolution=5)
    ref = kp.Reference.load(h5, fields=("u",))
    assert len(ref) == 25 and np.allclose(ref.values[:, 0], sol(ref.points), atol=1e-14)


@pytest.mark.parametrize(
    ("text", "fields", "match"),
    [
        ("0.1 0.2 1\n0.3 0.4\n", None, "line 2 has 2 columns, the first data line 3"),
        ("0.1 0.2 nan\n0.3 0.4 2\n", None, r"1 row\(s\) hold NaN or infinite values \(rows 0\)"),
        ("% only a header\n", None, "holds no data rows"),
        ("0.1 x 1\n", None, "line 1 is not a row of numbers"),
        ("0.1 1\n", ("u", "v"), "too few for the coordinates and the fields"),
    ],
)
def test_reference_bad_files(tmp_path, text, fields, match):
    with pytest.raises(ValueError, match=match):
        kp.Reference.load(_table(tmp_path, text), fields=fields)


# -- solves ----------------------------------------------------------------------------------------------------
def test_a_short_system_solve_learns_all_fields():
    problem = kp.load_problem("stokes2d")
    options = {
        "optimizer": "lm",
        "steps": 20,
        "grids": (4,),
        "n_interior": 150,
        "n_boundary": 40,
        "log_every": 1,
    }
    sol = kp.solve(problem, kp.KAN([2, 5, 3], grid=4), **options)
    m = sol.metrics()
    assert set(m["fields"]) == {"u", "v", "p"} and sol(torch.zeros(4, 2, dtype=torch.float64)).shape == (4, 3)
    # measured 0.901 -> 0.338 (u 0.188, v 0.199, p 0.514; the best record 0.293): bounds about 10 % above,
    # so a slower or wrong descent fails (the loose 0.45 of before passed a 33 % worse result)
    assert sol.history[0]["relative_l2"] > 0.85 and m["relative_l2"] < 0.37
    errors = {f: m["fields"][f]["relative_l2"] for f in ("u", "v", "p")}
    assert errors["u"] < 0.21 and errors["v"] < 0.22 and errors["p"] < 0.57, errors
    assert min(r["relative_l2"] for r in sol.history) < 0.32
    assert sol.relative_l2(field="v") == pytest.approx(m["fields"]["v"]["relative_l2"], rel=1e-12)
    assert {"momentum_x", "momentum_y", "continuity", "dirichlet_u", "dirichlet_v", "data_p"} <= set(
        sol.history[-1]
    )


def test_a_short_inverse_solve_moves_the_unknown_to_the_truth_and_resumes_bit_identically(tmp_path):
    problem = kp.load_problem("heat_inverse")
    options = {
        "optimizer": "lm",
        "steps": 12,
        "grids": (4,),
        "n_interior": 200,
        "n_boundary": 40,
        "n_initial": 40,
    }
    full = kp.solve(problem, kp.KAN([2, 5, 1], grid=4), **options)
    kappa = full.unknowns["kappa"]
    assert abs(kappa - 0.1) < 0.25 * abs(0.5 - 0.1)  # from 0.5 to within a quarter of the way
    assert full.history[-1]["unknown_kappa"] == pytest.approx(kappa, rel=1e-12)
    assert full.metrics()["unknown_relative_errors"]["kappa"] == pytest.approx(abs(kappa - 0.1) / 0.1)
    part = kp.solve(problem, kp.KAN([2, 5, 1], grid=4), stop_after=5, **options)
    done = kp.resume(kp.load(part.save(tmp_path / "p.pt")))
    assert done.unknowns["kappa"] == kappa
    for p, q in zip(full.ansatz.parameters(), done.ansatz.parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_command_line_solves_and_exports_a_system(tmp_path, capsys):
    out = tmp_path / "stokes"
    args = [
        "solve",
        "stokes2d",
        "--grids",
        "3",
        "--optimizer",
        "lm:4",
        "--points",
        "60",
        "--boundary-points",
        "24",
    ]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    assert "relative L2" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["width"] == [2, 10, 3] and set(metrics["fields"]) == {"u", "v", "p"}
    data = read_hdf5(out / "solution.h5")
    names = set(data["fields"])
    assert {"u", "v", "p", "exact_u", "error_p", "residual_momentum_x", "residual_continuity"} <= names
    sol = kp.load(out / "solution.pt")
    axes = data["axes"]
    node = torch.tensor([[axes["x"][3], axes["y"][7]]], dtype=torch.float64)
    assert np.allclose(sol(node).numpy()[0], [data["fields"][f][3, 7] for f in ("u", "v", "p")], atol=1e-13)
    assert {p.name for p in out.glob("solution_*.png")} == {
        "solution_u.png",
        "solution_v.png",
        "solution_p.png",
    }


def test_inverse_problems_report_unknowns_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "inv"
    args = ["solve", "heat_inverse", "--grids", "3", "--optimizer", "lm:3", "--points", "50", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    assert "kappa" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["unknowns"]) == {"kappa"} and 0 < metrics["unknowns"]["kappa"]
    assert "unknown_kappa" in (out / "history.csv").read_text().splitlines()[0]


def test_kanpde_list_shows_fields_and_unknowns(capsys):
    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "[fields u, v, p]" in lines["stokes2d"] and "[unknowns kappa]" in lines["heat_inverse"]
    assert "[fields u, a]" in lines["poisson_inverse_field"]


# -- bad input ------------------------------------------------------------------------------------------------
def _two_fields(**kw):
    base = {
        "domain": kp.Rectangle((0, 0), (1, 1)),
        "residual": lambda x, u: u["u"].laplacian(),
        "fields": ("u", "v"),
    }
    return kp.Problem(**{**base, **kw})


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: _two_fields(conditions=[kp.Dirichlet(0.0, field="w")]),
            ValueError,
            "unknown field 'w'; this problem's fields are u, v",
        ),
        (
            lambda: _two_fields(conditions=[kp.Dirichlet(0.0)]),
            ValueError,
            "Dirichlet needs field= in a problem with several fields; this problem's fields are u, v",
        ),
        (
            lambda: _two_fields(unknowns=[kp.Unknown("k"), kp.Unknown("k")]),
            ValueError,
            "duplicate unknown 'k'",
        ),
        (lambda: _two_fields(unknowns=[kp.Unknown("u")]), ValueError, "unknown 'u' has the name of a field"),
        (lambda: _two_fields(fields=("u", "u")), ValueError, "fields must be distinct"),
        (
            lambda: _two_fields(reference=kp.Reference(np.zeros((3, 3)), np.zeros((3, 2)), ("u", "v"))),
            ValueError,
            "the reference has 3-D points but the domain has 2 columns",
        ),
        (
            lambda: _two_fields(reference=kp.Reference(np.zeros((3, 2)), np.zeros((3, 2)), ("u", "w"))),
            ValueError,
            r"the reference has no field\(s\) v",
        ),
        (lambda: _two_fields(exact=lambda x: x[:, 0]), ValueError, r"return \(N, 2\), one column per field"),
        (
            lambda: _two_fields(exact={"u": lambda x: x[:, 0]}),
            ValueError,
            "needs one callable per field u, v; missing v",
        ),
        (
            lambda: kp.Unknown("k", 0.0, lower=0.0),
            ValueError,
            "init 0.0 must lie strictly between its bounds",
        ),
        (lambda: kp.Unknown("2k"), ValueError, "name must be a Python identifier"),
        (
            lambda: kp.Data([[0.1, 0.2]], [1.0, 2.0]),
            ValueError,
            r"points must be \(M, d\) and values \(M,\) with the same M",
        ),
        (
            lambda: _two_fields(conditions=[kp.Data([[0.1, 0.2, 0.3]], [1.0], field="u")]),
            ValueError,
            "points have 3 columns but the domain has 2",
        ),
        (
            lambda: _two_fields(conditions=[kp.Data([[2.0, 0.2]], [1.0], field="u")]),
            ValueError,
            r"1 point\(s\) lie outside the domain",
        ),
        (
            lambda: kp.Reference(np.zeros((3, 2)), np.zeros((3, 2))),
            ValueError,
            "2 value columns; name them with fields=",
        ),
    ],
)
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_use_in_residuals_and_models():
    problem = _two_fields(residual=lambda x, u: u.laplacian(), conditions=[kp.Dirichlet(0.0, field="u")])
    with pytest.raises(
        ValueError, match=r"u.laplacian\(\): this problem has the fields u, v; write u\['u'\]"
    ):
        kp.solve(problem, kp.KAN([2, 3, 2]), optimizer="adam", steps=1, n_interior=8, grids=3)
    with pytest.raises(
        ValueError, match=r"it needs 2 inputs \(x, y\) and 2 outputs \(u, v\), e.g. \[2, 10, 2\]"
    ):
        kp.solve(problem, kp.KAN([2, 3, 1]))
    problem = _two_fields(
        residual=lambda x, u: u["u"].value * u.unknown("q"), conditions=[kp.Dirichlet(0.0, field="u")]
    )
    with pytest.raises(ValueError, match=r"u.unknown\('q'\): no such unknown; the problem declares none"):
        kp.solve(problem, kp.KAN([2, 3, 2]), optimizer="adam", steps=1, n_interior=8, grids=3)
    with pytest.raises(KeyError, match="unknown field 'w'"):
        kp.solve(
            _two_fields(residual=lambda x, u: u["w"].value),
            kp.KAN([2, 3, 2]),
            optimizer="adam",
            steps=1,
            n_interior=8,
            grids=3,
        )
