"""Per-input grid sizes and residual-driven knot placement (:mod:`kanpde.knots`, KAN grid changes).

Oracles: nested knot vectors hold the old spline exactly (the output may change by round-off only), the
closed-form local path against dense Cox-de Boor bases on the same knots, masses of the placement density
computed by hand, and rebuilt models against the originals. Jets and Jacobian rows of per-input models
against nested autograd are in tests/test_jets.py (the ``kan_*per_input*`` models).
"""

from __future__ import annotations

import pytest
import torch

import kanpde as kp
from kanpde import KAN, JetSpec
from kanpde.knots import density_cdf, equidistributed_knots, grid_sizes, inserted_knots, is_refinement
from kanpde.loss import PINNLoss, sample_collocation

F64 = torch.float64


def _points(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1


def _maxabs(t: torch.Tensor) -> float:
    return float(t.detach().abs().max())


def _model(grid, width=(2, 4, 3, 1), seed=3) -> KAN:
    model = KAN(list(width), grid=grid, seed=seed)
    with torch.no_grad():  # spline parts large against the base branch, so the checks see them
        for layer in model.layers:
            layer.coef.mul_(3.0)
    return model


# ---------------------------------------------------------------------------------------------
# the grid argument
# ---------------------------------------------------------------------------------------------


def test_grid_sizes_forms() -> None:
    assert grid_sizes(5, [2, 10, 1]) == [(5, 5), (5,) * 10]
    assert grid_sizes([5, 20], [2, 10, 1]) == [(5, 5), (20,) * 10]  # a flat sequence is per layer
    assert grid_sizes([(5, 20), 10], [2, 10, 1]) == [(5, 20), (10,) * 10]
    model = KAN([2, 10, 1], grid=[(5, 20), 10])
    assert model.grid == 5 and model.grid_sizes == [(5, 20), (10,) * 10]
    assert model.grid_spec == [[5, 20], 10] and "grid=[[5, 20], 10]" in repr(model)
    assert KAN([2, 3, 1], grid=[4, 4]).grid_spec == 4  # all equal: one integer, as before


@pytest.mark.parametrize(
    ("grid", "error", "match"),
    [
        ([5, 5, 5], ValueError, r"one entry per layer \(2 for width \[2, 3, 1\]\).*e\.g\. grid=5"),
        ([(5, 20, 4), 5], ValueError, r"grid of layer 0 must be one integer or 2 \(one per input"),
        ([(5, 0), 5], ValueError, r"grid of layer 0 must be a positive integer, got 0"),
        ([5, 2.5], TypeError, r"grid of layer 1 must be a positive integer, got 2\.5"),
        ("5", TypeError, r"grid must be a positive integer, got '5'"),
    ],
)
def test_bad_grid_specs(grid, error, match) -> None:
    with pytest.raises(error, match=match):
        KAN([2, 3, 1], grid=grid)


def test_per_input_shapes_and_parameter_count() -> None:
    model = KAN([2, 4, 3, 1], grid=[(3, 7), 4, (2, 5, 3)], k=3)
    first, middle, last = model.layers
    assert first.coef.shape == (3 + 7 + 2 * 3, 4)  # the inputs' coefficients back to back
    assert middle.coef.shape == (4, 7, 3)  # one size: the usual (n_in, M, n_out)
    assert last.coef.shape == (2 + 5 + 3 + 3 * 3, 1)
    assert first.table().shape == (2, 10, 4) and torch.equal(
        first.table()[0, 6:], torch.zeros(4, 4, dtype=F64)
    )
    # coefficients (sum of G_i + k per input, times n_out) + base weights and spline scales + biases
    expected = (16 * 4 + 2 * 8 + 4) + (4 * 7 * 3 + 2 * 12 + 3) + (19 * 1 + 2 * 3 + 1)
    assert model.num_parameters == expected
    lo, hi = first.grid_range
    assert torch.equal(lo, torch.full((2,), -1.0, dtype=F64)) and torch.allclose(hi, torch.ones(2, dtype=F64))
    assert first.knot_row(0).shape == (3 + 7,) and first.knot_row(1).shape == (7 + 7,)


# ---------------------------------------------------------------------------------------------
# grid extension of per-input grids
# ---------------------------------------------------------------------------------------------


def test_per_input_extension_is_exact() -> None:
    model = _model([(3, 7), 4, (2, 5, 3)])
    x = torch.cat(
        [_points(2000, 2, seed=1), torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=F64)] * 2)]
    )
    assert model.range_violation(x) == 0.0
    y = model(x)
    doubled = model.extend_grid(4)  # every size times 4 / 2: each input refined by its own factor
    assert doubled.grid_sizes == [(6, 14), (8,) * 4, (4, 10, 6)]
    mixed = model.extend_grid([(9, 14), 12, (4, 5, 6)])  # each a multiple of its own old size
    for new in (doubled, mixed, doubled.extend_grid(8)):
        assert new.grid_report.fit_residual < 1e-12
        assert _maxabs(new(x) - y) <= 1e-10
    assert torch.equal(model(x), y) and model.grid_sizes == [(3, 7), (4,) * 4, (2, 5, 3)]


def test_per_input_non_nested_extension_reports_its_residual() -> None:
    model = _model([(3, 7), 4], width=(2, 4, 1))
    x = _points(2000, 2, seed=2)
    moved = model.extend_grid([(4, 7), 4], samples=x)
    assert moved.grid_report.fit_residual > 1e-6
    assert 0 < moved.grid_report.output_change < 5e-2
    assert moved.grid_report.output_change == _maxabs(moved(x) - model(x))


def test_per_input_local_path_matches_dense_bases() -> None:
    """Uniform rows of different sizes take the four-piece closed form; the same layers through dense
    Cox-de Boor bases (uniform=False on the same knots) give the same jets and Jacobian rows, also outside
    the spans."""
    local, dense = (_model([(3, 7), (2, 5, 6, 4)], width=(2, 4, 1)) for _ in range(2))
    for layer in dense.layers:
        layer.uniform = False
    assert all(layer.local for layer in local.layers) and not any(layer.local for layer in dense.layers)
    x = torch.cat([_points(20, 2, seed=3), torch.tensor([[-3.0, 0.2], [0.4, 9.0]], dtype=F64)])
    spec = JetSpec(2, pairs=((0, 0), (0, 1), (1, 1)))
    out = []
    for model in (local, dense):
        records: list = []
        jet = model.jet(x, spec, records)[..., 0]  # (N, R)
        r = jet[:, spec.pair_row(0, 1)] + jet[:, 0] * jet[:, spec.pair_row(1, 1)]
        out.append((jet.detach(), model.residual_jacobian(r, records)))
    assert _maxabs(out[0][0] - out[1][0]) <= 1e-13 * max(1.0, _maxabs(out[1][0]))
    assert _maxabs(out[0][1] - out[1][1]) <= 1e-13 * max(1.0, _maxabs(out[1][1]))
    assert _maxabs(out[0][1]) > 1e-1


def test_per_input_config_and_checkpoint_round_trip(tmp_path) -> None:
    model = _model([(3, 7), 4], width=(2, 4, 1))
    model = model.extend_grid(4, samples=_points(50, 2, 4), weights=torch.rand(50, dtype=F64))
    rebuilt = KAN(**model.config())
    rebuilt.load_state_dict(model.state_dict())
    x = _points(40, 2, seed=5)
    assert torch.equal(rebuilt(x), model(x)) and [la.uniform for la in rebuilt.layers] == [False, True]
    wrong = KAN([2, 4, 1], grid=[(7, 3), 4])  # same parameter count, other sizes
    with pytest.raises(ValueError, match=r"grid sizes \[6, 14\] but this one \[7, 3\]"):
        wrong.load_state_dict(KAN([2, 4, 1], grid=[(6, 14), 4]).state_dict())
    sol = kp.solve(
        kp.load_problem("poisson2d"), KAN([2, 3, 1], grid=[(2, 4), 3]), grids=(2, 4), steps=1, n_interior=30
    )
    assert sol.model.grid_sizes == [(4, 8), (6,) * 3]
    sol.save(tmp_path / "s.pt")
    loaded = kp.load(tmp_path / "s.pt")
    assert loaded.model.grid_sizes == [(4, 8), (6,) * 3] and torch.equal(loaded.model(x), sol.model(x))


# ---------------------------------------------------------------------------------------------
# the placement density and its knots
# ---------------------------------------------------------------------------------------------


def test_density_cdf_is_the_stated_mixture() -> None:
    lo, hi = torch.tensor(-1.0, dtype=F64), torch.tensor(1.0, dtype=F64)
    v = torch.tensor([-0.5, 0.0, 0.0, 0.5, 1.0], dtype=F64)
    w = torch.tensor([1.0, 1.0, 2.0, 0.0, 4.0], dtype=F64)  # 8 in all; 3 at 0, 4 on the end 1
    z, cdf = density_cdf(v, w, lo, hi, floor=1.0)
    assert z.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    # F_w at a value is the weight below it plus half its own: 0.5/8, (1 + 1.5)/8, 4/8; F = (F_w + U) / 2
    expected = [0.0, (0.5 / 8 + 0.25) / 2, (2.5 / 8 + 0.5) / 2, (4 / 8 + 0.75) / 2, 1.0]
    assert torch.allclose(cdf, torch.tensor(expected, dtype=F64), rtol=0, atol=1e-15)
    knots = equidistributed_knots(v, w, lo, hi, grid=4, k=3, floor=1.0)
    inner = knots[3:-3]
    masses = torch.diff(torch.tensor([_cdf_at(z, cdf, t) for t in inner.tolist()], dtype=F64))
    assert torch.allclose(masses, torch.full((4,), 0.25, dtype=F64), atol=1e-15)


def _cdf_at(z: torch.Tensor, cdf: torch.Tensor, t: float) -> float:
    j = int(torch.searchsorted(z, torch.tensor(t, dtype=F64)).clamp(1, z.shape[0] - 1))
    return float(cdf[j - 1] + (cdf[j] - cdf[j - 1]) * (t - z[j - 1]) / (z[j] - z[j - 1]))


def test_inserted_knots_are_nested_and_go_where_the_weight_is() -> None:
    v = torch.linspace(-1, 1, 401, dtype=F64)
    old = torch.linspace(-1, 1, 5, dtype=F64)
    old = torch.cat(
        [old[0] - torch.tensor([1.5, 1.0, 0.5], dtype=F64), old, old[-1] + torch.tensor([0.5, 1.0, 1.5])]
    )
    flat = inserted_knots(old, v, torch.ones_like(v), 3, 8, floor=1.0)
    assert torch.allclose(
        flat[3:-3], torch.linspace(-1, 1, 9, dtype=F64), atol=1e-15
    )  # uniform: every cell split
    peak = torch.exp(-(((v - 0.3) / 0.05) ** 2))  # a residual concentrated near 0.3
    new = inserted_knots(old, v, peak, 3, 12, floor=0.1)
    assert new.shape == (12 + 7,) and is_refinement(old, new, 3)
    assert bool((torch.diff(new) > 0).all())
    inner = new[3:-3]
    near = int(((inner - 0.3).abs() < 0.2).sum())
    assert near >= 6  # of 13 inner knots; a uniform grid of 12 has 2 there
    assert float(torch.diff(inner).min()) < 0.5 / 4  # graded: cells near 0.3 split several times


# ---------------------------------------------------------------------------------------------
# residual-driven knots on a KAN
# ---------------------------------------------------------------------------------------------


def test_residual_knots_preserve_the_function_when_nested() -> None:
    model = _model(5, width=(2, 5, 1))
    x = _points(2500, 2, seed=6)
    assert model.range_violation(x) == 0.0
    weights = 1.0 / (0.02 + x[:, 0].abs())  # a "residual" that peaks on the line x = 0
    for layers in ("first", "all"):
        new = model.extend_grid(10, samples=x, weights=weights, layers=layers)
        assert new.grid_report.fit_residual < 1e-12 and new.grid_report.output_change <= 1e-10
        assert _maxabs(new(x) - model(x)) <= 1e-10
        first = new.layers[0]
        assert not first.uniform and new.layers[1].uniform == (layers == "first")
        assert is_refinement(model.layers[0].knot_row(0), first.knot_row(0), 3)
        inner_x, inner_y = first.knot_row(0)[3:-3], first.knot_row(1)[3:-3]
        # more knots where the residual is large: x near 0 (the y row, with no such peak, stays nearly uniform)
        assert int((inner_x.abs() < 0.25).sum()) > int((inner_y.abs() < 0.25).sum())
        assert float(torch.diff(inner_x).min()) < 0.6 * float(torch.diff(inner_y).min())


def test_residual_knots_at_the_same_size_move_and_report_the_fit() -> None:
    model = _model(6, width=(2, 5, 1))
    x = _points(2500, 2, seed=7)
    weights = 1.0 / (0.02 + x[:, 0].abs())
    moved = model.extend_grid([(4, 6), 6], samples=x, weights=weights)  # fewer knots in x: all move
    report = moved.grid_report
    assert 1e-8 < report.fit_residual and 0 < report.output_change < 0.2
    inner = moved.layers[0].knot_row(0)[3:-3]
    assert int((inner.abs() < 0.35).sum()) >= 3  # of 5 inner knots (uniform: 1)


def test_bad_knot_placement_arguments() -> None:
    model = KAN([2, 3, 1])
    x = _points(10, 2, seed=8)
    with pytest.raises(ValueError, match=r"weights go with the samples they weight; pass samples="):
        model.extend_grid(10, weights=torch.ones(10, dtype=F64))
    with pytest.raises(
        ValueError, match=r"weights must be a tensor of shape \(10,\), one per sample, got \(9,\)"
    ):
        model.extend_grid(10, samples=x, weights=torch.ones(9, dtype=F64))
    with pytest.raises(ValueError, match=r"weights must be finite and >= 0"):
        model.extend_grid(10, samples=x, weights=-torch.ones(10, dtype=F64))
    with pytest.raises(ValueError, match=r"unknown layers 'some'.*valid ones: first, all"):
        model.extend_grid(10, samples=x, weights=torch.ones(10, dtype=F64), layers="some")
    with pytest.raises(ValueError, match=r"floor must be a finite number > 0"):
        model.extend_grid(10, samples=x, weights=torch.ones(10, dtype=F64), floor=0.0)


# ---------------------------------------------------------------------------------------------
# the solve option
# ---------------------------------------------------------------------------------------------


def test_knots_option_in_a_solve_and_its_resume() -> None:
    """The second grid stage extends the grid with the residual of the model trained on the first one as
    weights (the same knots as a hand-made extension), and a run paused after that resumes bit for bit."""
    problem = kp.load_problem("helmholtz2d")
    options = {"optimizer": [("lm", 3)], "n_interior": 80, "n_boundary": 40, "knots": "residual"}
    sol = kp.solve(problem, KAN([2, 3, 1], grid=3), grids=(3, 8), **options)
    first = sol.model.layers[0]
    assert sol.settings.schedule.grids.knots == "residual" and not first.uniform and first.sizes == (8, 8)
    coarse = kp.solve(problem, KAN([2, 3, 1], grid=3), grids=(3,), **options).ansatz
    points = sample_collocation(problem, 80, 40, 1, "sobol", 0, F64, torch.device("cpu"))
    residual = PINNLoss(problem, points, "forward").pde_residual(coarse, points.interior)  # (N, 1)
    rule = kp.KNOT_PLACEMENTS["residual"]
    assert torch.equal(rule.weights(residual), residual[:, 0].abs() ** rule.power)
    expected = coarse.extend_grid(
        8, samples=points.interior, weights=rule.weights(residual), floor=rule.floor
    )
    assert torch.equal(expected.net.layers[0].knots, first.knots)
    part = kp.solve(problem, KAN([2, 3, 1], grid=3), grids=(3, 8), stop_after=4, **options)
    done = kp.resume(part)
    assert torch.equal(done.model.layers[0].knots, first.knots)
    assert torch.equal(done.model.layers[0].coef, first.coef)
    assert done.relative_l2() == sol.relative_l2()


def test_bad_knots_option() -> None:
    with pytest.raises(ValueError, match=r"unknown knots 'dense'; valid ones: uniform, residual"):
        kp.SolveSettings(knots="dense")
    with pytest.raises(ValueError, match=r"knots applies to KAN models only, not to a MLP; drop knots"):
        kp.solve(kp.load_problem("poisson1d"), kp.MLP([1, 4, 1]), knots="residual", steps=1)
