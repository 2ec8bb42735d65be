"""Tests that catch the planted bugs of the last audit: each one fails on a realistic one-line change of the
code it guards (named in its docstring) and passes on the real code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.geometry import DistanceFunction
from kanpde.levers import causal_scale, rad_points
from kanpde.loss import PINNLoss, sample_collocation

F64 = torch.float64


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=F64)


# -- geometry ----------------------------------------------------------------------------------------------
def test_polygon_phi_stays_positive_on_the_extensions_of_the_re_entrant_edges():
    """Guards the trimming disc of a polygon edge, ``t = ((L/2)^2 - |x - x_c|^2) / L`` (distance.py): with
    ``(0.5 * L**2 - ...)`` the disc grows past the edge and phi vanishes inside the L-shape on the lines
    that continue the re-entrant edges (a set of measure zero that random points never hit)."""
    lshape = kp.Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])  # re-entrant corner (0, 0)
    s = torch.tensor([0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5], dtype=F64)
    on_lines = torch.cat(
        [torch.stack([-s, 0 * s], 1), torch.stack([0 * s, -s], 1)]
    )  # y = 0, x < 0; x = 0, y < 0
    assert bool(lshape.contains(on_lines).all())
    distance = on_lines.norm(dim=1)  # the nearest boundary point is the corner
    phi = DistanceFunction(lshape)(on_lines)
    assert bool((phi > 0.25 * distance).all()), phi / distance


def test_transfinite_lift_on_a_non_square_rectangle():
    """Guards the Coons formula of ``kp.transfinite`` (lift.py): each side's parameter over its own side
    length and the four corner weights. On ``[0, 2] x [0, 1]`` with a function that is not a sum of
    univariate and bilinear parts, the lift equals the function on the four sides and the hand-written Coons
    formula inside."""
    rect = kp.Rectangle((0.0, 0.0), (2.0, 1.0))

    def g(x):
        return torch.sin(x[:, 0] * x[:, 1]) + x[:, 0] ** 2 * x[:, 1] ** 3 + torch.exp(0.3 * x[:, 0])

    lift = kp.transfinite(g, rect)
    u = torch.linspace(0.0, 1.0, 9, dtype=F64)
    sides = torch.cat(
        [
            torch.stack([2 * u, 0 * u], 1),
            torch.stack([2 * u, 0 * u + 1], 1),
            torch.stack([0 * u, u], 1),
            torch.stack([0 * u + 2, u], 1),
        ]
    )
    assert torch.allclose(lift(sides), g(sides), rtol=0, atol=1e-13)
    x = _t([[0.3, 0.7], [1.5, 0.2], [1.9, 0.9], [1.0, 0.5]])

    def v(a, b):
        return g(_t([[a, b]]))[0].item()

    expected = []
    for px, py in x.tolist():
        s, t = px / 2.0, py / 1.0
        sides_ = (1 - s) * v(0, py) + s * v(2, py) + (1 - t) * v(px, 0) + t * v(px, 1)
        corners = (
            (1 - s) * (1 - t) * v(0, 0) + s * (1 - t) * v(2, 0) + (1 - s) * t * v(0, 1) + s * t * v(2, 1)
        )
        expected.append(sides_ - corners)
    assert torch.allclose(lift(x), _t(expected), rtol=0, atol=1e-13)
    assert float((lift(x) - g(x)).abs().max()) > 1e-2  # the test function is not reproduced inside
    # x*y + sin(x) is bilinear plus univariate: Coons reproduces it everywhere
    exact = kp.transfinite(lambda p: p[:, 0] * p[:, 1] + torch.sin(p[:, 0]), rect)
    assert torch.allclose(exact(x), x[:, 0] * x[:, 1] + torch.sin(x[:, 0]), rtol=0, atol=1e-13)


# -- Jacobians -----------------------------------------------------------------------------------------------
TWICE = kp.Problem(
    domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
    residual=lambda x, u: (
        u.unknown("k") * u.d("x", "x") + u.unknown("k") * u.d("y", "y") - torch.sin(x[:, 0])
    ),
    unknowns=[kp.Unknown("k", 0.7, lower=0.0)],
    conditions=[kp.Dirichlet(0.5)],
    name="twice",
)


def test_an_unknown_read_twice_in_one_residual_gets_its_whole_jacobian_column():
    """Guards the accumulation of an unknown's Jacobian column over every read of it
    (``Ansatz.residual_jacobian``: ``out[:, col] += grad``; with ``=`` the second read replaces the first).
    The column is checked against plain autograd of every row."""
    net = kp.KAN([2, 3, 1], grid=3, seed=2)
    net.set_input_bounds(*TWICE.domain.bounds())
    ansatz = Ansatz(net, TWICE.fields, TWICE.unknowns)
    points = sample_collocation(TWICE, 10, 6, 0, "sobol", 0, F64, "cpu")
    loss = PINNLoss(TWICE, points, "forward")
    r, jac, _ = loss.residual_and_jacobian(ansatz)
    raw = ansatz.raw["k"]
    w, n = loss.weights[0], loss.counts[0]
    rows = math.sqrt(w / n) * loss.term_residual(ansatz, 0)[:, 0]  # the PDE's rows, first in r~
    want = torch.stack([torch.autograd.grad(row, raw, retain_graph=True)[0] for row in rows])
    assert torch.allclose(jac[: rows.shape[0], -1], want, rtol=0, atol=1e-12)
    assert float(want.abs().max()) > 1e-3
    assert torch.all(jac[rows.shape[0] :, -1] == 0)  # the boundary rows do not read k


# -- export and read back ------------------------------------------------------------------------------------
def _saved_solution(tmp_path, domain, width, name="s.pt"):
    """A solution of an untrained KAN on ``domain`` saved and loaded without a problem."""
    from kanpde.checkpoint import CHECKPOINT_FORMAT, domain_to_dict

    model = kp.KAN(width, grid=3, seed=5)
    lo, hi = domain.bounds()
    model.set_input_bounds(lo, hi)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": 2,
        "model_class": "KAN",
        "model_config": model.config(),
        "state_dict": model.state_dict(),
        "history": [],
        "settings": {},
        "problem": {"name": None, "shipped": None, "digest": None},
        "domain": domain_to_dict(domain),
        "fields": ["u"],
    }
    torch.save(payload, tmp_path / name)
    return kp.load(tmp_path / name)


@pytest.mark.parametrize(
    "domain",
    [
        kp.SpaceTime(kp.Interval(0.0, 2.0), t=(0.0, 0.5)),
        kp.SpaceTime(kp.Rectangle((0, -1), (2, 1)), t=(0.0, 0.5)),
    ],
    ids=["x-t", "xy-t"],
)
def test_a_space_time_export_read_back_as_a_reference_equals_the_solution(tmp_path, domain):
    """Guards the time axis of a space-time export and of ``Reference.load`` (time first in the datasets,
    last in the points): the reference read back from the ``.h5`` is the solution at its nodes."""
    sol = _saved_solution(tmp_path, domain, [domain.dim, 3, 1])
    h5, _ = sol.export(tmp_path / "st.h5", resolution=5)
    ref = kp.Reference.load(h5)
    assert ref.points.shape == (5**domain.dim, domain.dim)
    assert np.allclose(ref.points.max(0), np.array(domain.bounds()[1]))
    values = sol(torch.as_tensor(ref.points))
    assert np.allclose(ref.values[:, 0], values.numpy(), rtol=0, atol=1e-12)
    assert float(values.std()) > 1e-3  # not a constant that any ordering would match


# -- formulas ------------------------------------------------------------------------------------------------
def test_symbolic_threshold_turns_exactly_the_weak_edges_into_constants():
    """Guards ``threshold`` of ``kp.symbolic`` (compose.py): an edge whose score is below it is fitted as a
    constant, every other edge as a function. Two edges are made weak by scaling their weights down."""
    model = kp.KAN([2, 3, 1], grid=3, seed=1)
    with torch.no_grad():
        for i, j in ((1, 0), (0, 2)):  # layer 0: input y -> node 0, input x -> node 2
            model.layers[0].base_weight[i, j] *= 1e-3
            model.layers[0].spline_scale[i, j] *= 1e-3
    x = kp.Rectangle((-1, -1), (1, 1)).sample_interior(200, seed=0)
    scores = model.edge_scores(x)
    weak = {(0, i, j) for i in range(2) for j in range(3) if float(scores[0][i, j]) < 0.01}
    assert weak == {(0, 1, 0), (0, 0, 2)}
    found = kp.symbolic(model, x, threshold=0.01)
    constants = {(e.layer, e.i, e.j) for e in found.edges if e.function == "0"}
    assert constants == weak
    assert {(e.layer, e.i, e.j) for e in found.edges} == {(0, i, j) for i in range(2) for j in range(3)} | {
        (1, i, 0) for i in range(3)
    }


# -- sparsity ------------------------------------------------------------------------------------------------
def test_sparsity_penalty_with_input_bounds_equals_a_hand_computation():
    """Guards the input map in ``KAN.edge_magnitudes``: edges see the inputs mapped from
    ``input_bounds`` onto the grid range, and the next layer sees the node sums plus the bias."""
    model = kp.KAN([2, 2, 1], grid=3, seed=3)
    lo, hi = [2.0, -3.0], [5.0, 1.0]
    model.set_input_bounds(lo, hi)
    with torch.no_grad():
        model.layers[0].bias.copy_(_t([0.3, -0.2]))
    x = torch.stack(
        [torch.linspace(2.0, 5.0, 7, dtype=F64), torch.linspace(-3.0, 1.0, 7, dtype=F64) ** 2 / 9 * 4 - 3], 1
    )
    with torch.no_grad():
        v0 = (x - _t(lo)) / (_t(hi) - _t(lo)) * 2 - 1  # onto the grid range [-1, 1], by hand
        phi0 = model.layers[0].edge_functions(v0)  # (N, 2, 2)
        v1 = phi0.sum(1) + model.layers[0].bias  # (N, 2)
        phi1 = model.layers[1].edge_functions(v1)  # (N, 2, 1)
        assert torch.allclose(phi1.sum(1)[:, 0] + model.layers[1].bias, model(x).reshape(-1), atol=1e-12)
        penalty = float(model.sparsity_penalty(x))
    expected = 0.0
    for phi in (phi0, phi1):
        m = phi.abs().mean(0).reshape(-1).tolist()
        total = sum(m)
        expected += total - sum(p / total * math.log(p / total) for p in m)
    assert penalty == pytest.approx(expected, rel=1e-12)


# -- adaptivity ----------------------------------------------------------------------------------------------
def test_causal_weights_follow_the_documented_formula_for_a_known_slice_pattern():
    """Guards ``causal_scale`` (adaptive.py): ``w_i = exp(-eps sum_{k<i} L_k)`` with ``L_k`` the mean over
    the slice's points of the squared residual (summed over equations), factors ``sqrt(M w_i / sum w)``."""
    t = _t([0.05, 0.2, 0.3, 0.45, 0.6, 0.95])  # slices of [0, 1] in 3: 0, 0, 0, 1, 1, 2
    rows = _t([[1.0, 0.0], [2.0, 1.0], [0.0, 1.0], [3.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    eps = 0.1
    losses = [(1 + 5 + 1) / 3, (9 + 2) / 2, 50.0]
    w = [1.0, math.exp(-eps * losses[0]), math.exp(-eps * (losses[0] + losses[1]))]
    factors = [math.sqrt(3 * wi / sum(w)) for wi in w]
    expected = _t([factors[i] for i in (0, 0, 0, 1, 1, 2)])
    got = causal_scale(t, rows, eps, 3, 0.0, 1.0)
    assert torch.allclose(got, expected, rtol=1e-14, atol=0)
    assert sum(f**2 for f in factors) == pytest.approx(3.0)  # normalised: the slices' w sum to M


def _rad_mean(k: float, c: float, seeds: range, n: int = 400) -> np.ndarray:
    line = kp.Interval(0.0, 1.0)
    chosen = [
        rad_points(line, lambda x: x.clone(), n, k, c, seed, F64, "cpu")[:, 0].numpy() for seed in seeds
    ]
    return np.concatenate(chosen)


def test_rad_density_for_k_2_and_c_1_on_a_known_residual():
    """Guards the RAD density ``p ∝ |r|^k / mean |r|^k + c`` (adaptive.py). With ``|r(x)| = x`` on
    ``[0, 1]``, ``k = 2``, ``c = 1`` the density is ``(3x^2 + 1) / 2`` (mean 0.625, P(x > 1/2) = 0.6875);
    ``k`` taken as 1 gives ``(2x + 1) / 2`` (mean 0.583, 0.625) and ``c`` dropped ``3 x^2`` (0.75, 0.875).
    Drawing a tenth of the candidates without replacement pulls the selection slightly towards uniform:
    measured over 24000 points, mean 0.617 and 0.677 for k = 2 (0.578, 0.619 for k = 1; 0.740, 0.863 for
    c = 0). The tolerances are about three standard errors of the 4000 points drawn here."""
    x = _rad_mean(2.0, 1.0, range(10))
    assert x.shape == (4000,)
    assert np.mean(x) == pytest.approx(0.617, abs=0.015)
    assert np.mean(x > 0.5) == pytest.approx(0.677, abs=0.025)
    histogram = np.histogram(x, bins=4, range=(0.0, 1.0))[0] / len(x)
    density = [(b**3 - a**3 + (b - a)) / 2 for a, b in ((0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))]
    assert np.allclose(histogram, density, atol=0.03)


# -- save and load -------------------------------------------------------------------------------------------
def test_a_hard_condition_on_the_second_field_survives_save_and_load_without_the_problem(tmp_path):
    """Guards the field of a stored hard condition (``Solution.save`` writes it, ``kp.load`` without the
    problem rebuilds ``u = g + phi N`` for that field): with the first field taken instead, the loaded
    solution's values differ."""
    problem = kp.Problem(
        kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
        lambda x, u: {"a": u["u"].laplacian() - 1.0, "b": u["v"].laplacian() + u["u"].value},
        fields=("u", "v"),
        conditions=[kp.Dirichlet(0.0, field="u"), kp.Dirichlet(2.0, field="v", hard=True)],
        name="second_hard",
    )
    sol = kp.solve(problem, kp.KAN([2, 3, 2], grid=3), optimizer="adam", steps=2, grids=(3,), n_interior=30,
                   n_boundary=16, progress=False)  # fmt: skip
    sol.save(tmp_path / "s.pt")
    back = kp.load(tmp_path / "s.pt")
    assert back.problem is None
    x = kp.Rectangle((0.0, 0.0), (1.0, 1.0)).sample_interior(50, seed=1)
    assert torch.allclose(back(x), sol(x), rtol=0, atol=1e-13)
    edge = _t([[0.0, 0.3], [1.0, 0.6], [0.4, 0.0], [0.7, 1.0]])
    assert torch.allclose(back(edge)[:, 1], torch.full((4,), 2.0, dtype=F64), atol=1e-12)
    assert float((back(edge)[:, 0] - 2.0).abs().min()) > 1e-6  # u is not held at 2


# -- the loss -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [None, 7])
def test_last_residual_is_the_unscaled_rows_under_point_weights(chunk_size):
    """Guards ``PINNLoss.last_residual``: the PDE's rows before the RBA or causal factors of ``set_scale``
    (RBA updates its multipliers from them; scaled rows would compound the multipliers)."""
    problem = kp.load_problem("poisson2d")
    net = kp.KAN([2, 3, 1], grid=3, seed=0)
    net.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 20, 8, 0, "sobol", 0, F64, "cpu")
    loss = PINNLoss(problem, points, "forward", chunk_size=chunk_size)
    plain_total = float(loss(net)[0].detach())
    plain = loss.last_residual.clone()  # (20, 1)
    scale = torch.linspace(0.5, 3.0, 20, dtype=F64)
    loss.set_scale(scale)
    assert float(loss(net)[0].detach()) != pytest.approx(plain_total)
    assert torch.equal(loss.last_residual, plain)
    loss.residual_and_jacobian(net)
    assert torch.allclose(loss.last_residual, plain, rtol=0, atol=1e-14)


# -- defaults ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "domain",
    [kp.SpaceTime(kp.Box((0, 0, 0), (1, 1, 1)), t=(0.0, 1.0)), kp.Box((0,) * 5, (1,) * 5)],
    ids=["4 columns", "5 columns"],
)
def test_point_defaults_past_three_columns(domain):
    """Guards the lookup of ``DEFAULT_POINTS`` (settings.py): four and more columns get the last entry,
    ``(6000, 2000, 1000)`` interior, boundary and initial points."""
    conditions = [kp.Dirichlet(0.0)] + ([kp.Initial(0.0)] if domain.is_time_dependent else [])
    residual = (
        (lambda x, u: u.dt() - u.laplacian()) if domain.is_time_dependent else (lambda x, u: u.laplacian())
    )
    problem = kp.Problem(domain, residual, conditions=conditions, name="defaults")
    sol = kp.solve(problem, kp.KAN([domain.dim, 2, 1], grid=3), optimizer="adam", steps=1, grids=(3,),
                   progress=False)  # fmt: skip
    got = tuple(getattr(sol.settings.sampling, k) for k in ("n_interior", "n_boundary", "n_initial"))
    assert got == (6000, 2000, 1000)
