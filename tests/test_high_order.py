"""Derivatives of any order: truncated Taylor series against nested autograd, their exact Jacobian rows, the
accessor and the solution's derivatives, initial velocities, and two solves (a clamped beam u'''' = 1 and a
standing wave u_tt = u_xx released from rest).

Every comparison is in float64 on models whose parameters were moved away from their initial values, at
random points; derivatives of orders 3 and 4, pure and mixed, must agree with nested autograd to 1e-10
(relative to their magnitude where that exceeds 1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import KAN, MLP, Field, JetSpec
from kanpde.ansatz import Ansatz
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.spline import basis_derivatives, cox_de_boor, cox_de_boor_derivatives, uniform_knots
from kanpde.taylor import SERIES_ACTIVATIONS, Monomials, nested_autograd, sigmoid_derivatives

F64 = torch.float64
TOL = 1e-10


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _perturb(model: torch.nn.Module, scale: float, seed: int) -> torch.nn.Module:
    g = _gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def _box(d: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return tuple(-0.5 - 0.25 * i for i in range(d)), tuple(1.0 + 0.5 * i for i in range(d))


def _points(n: int, d: int, seed: int) -> torch.Tensor:
    lo, hi = (torch.tensor(b, dtype=F64) for b in _box(d))
    return lo + (hi - lo) * torch.rand(n, d, generator=_gen(seed), dtype=F64)


def _kan(width, grid=5, k=3, seed=0, update=False):
    model = _perturb(KAN(width, grid=grid, k=k, input_bounds=_box(width[0]), seed=seed), 0.3, seed + 100)
    if update:  # non-uniform knots: the dense Cox-de Boor path
        model = model.update_grid(_points(300, width[0], seed + 200))
    return model


def _mlp(width, activation, seed=0):
    return _perturb(
        MLP(width, activation=activation, input_bounds=_box(width[0]), seed=seed), 0.2, seed + 100
    )


MODELS = {
    "kan_local_d2": lambda: _kan([2, 4, 3, 1], seed=1),  # uniform cubic: the four-piece closed form
    "kan_k5_d2_out2": lambda: _kan([2, 3, 2], grid=4, k=5, seed=2),  # dense Cox-de Boor, degree 5
    "kan_updated_d2": lambda: _kan([2, 4, 3, 1], seed=3, update=True),  # non-uniform knots
    "kan_per_input_d3": lambda: _kan([3, 3, 1], grid=[(3, 5, 4), 4], seed=4),
    "kan_k4_d1": lambda: _kan([1, 3, 1], grid=4, k=4, seed=5),
    "mlp_tanh_d2": lambda: _mlp([2, 6, 6, 1], "tanh"),
    "mlp_sin_d2": lambda: _mlp([2, 6, 2], "sin", seed=1),
    "mlp_silu_d3": lambda: _mlp([3, 6, 1], "silu", seed=2),
    "mlp_softplus_d2": lambda: _mlp([2, 6, 6, 1], "softplus", seed=3),
}

HIGH = {  # orders 3 and 4, pure and mixed
    1: ((0, 0, 0), (0, 0, 0, 0)),
    2: ((0, 0, 0), (1, 1, 1), (0, 0, 1), (0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1)),
    3: ((0, 1, 2), (2, 2, 2), (0, 0, 1, 2), (1, 1, 2, 2), (2, 2, 2, 2)),
}


def _all_rows_spec(d: int) -> JetSpec:
    pairs = tuple((a, b) for a in range(d) for b in range(a, d))
    return JetSpec(d, pairs=pairs, high=HIGH[d])


def _by_autograd(model, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
    """The rows of ``spec`` by nested autograd: ``(N, R, n_out)``."""
    xg = x.detach().clone().requires_grad_(True)
    u = model(xg)
    columns = []
    for o in range(u.shape[1]):
        found = nested_autograd(u[:, o], xg, [k[:i] for k in spec.keys for i in range(len(k) + 1)])
        columns.append(torch.stack([found[k].detach() for k in spec.keys], dim=1))
    return torch.stack(columns, dim=2)


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = TOL) -> float:
    a, b = a.detach(), b.detach()
    scale = max(1.0, float(b.abs().max()))
    err = float((a - b).abs().max())
    assert err <= tol * scale, f"max difference {err:.3e} (scale {scale:.2e})"
    return err


# ---------------------------------------------------------------------------------------------
# series == nested autograd
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_any_order_jet_matches_nested_autograd(name: str) -> None:
    model = MODELS[name]()
    d = model.width[0]
    x = _points(13, d, seed=len(name))
    spec = _all_rows_spec(d)
    jet = model.jet(x, spec)  # (N, R, O)
    assert jet.shape == (13, spec.rows, model.width[-1])
    expected = _by_autograd(model, x, spec)
    high = slice(spec.high_row(spec.high[0]), None)
    assert float(expected[:, high].abs().max()) > 1e-3  # the high-order rows are not trivially zero
    _close(jet, expected)


@pytest.mark.parametrize("name", ["kan_local_d2", "kan_updated_d2", "mlp_tanh_d2"])
def test_series_rows_of_order_two_agree_with_the_second_order_jet(name: str) -> None:
    """The value, gradient and second-derivative rows of a series pass equal the second-order jet's (which
    stays the path of every spec without rows of order three and more)."""
    model = MODELS[name]()
    x = _points(11, 2, seed=4)
    low = JetSpec(2, pairs=((0, 0), (0, 1), (1, 1)))
    both = low.union(high=((0, 1, 1),))
    _close(model.jet(x, both)[:, : low.rows], model.jet(x, low), 1e-13)


@pytest.mark.parametrize("family", ["kan", "mlp"])
def test_any_order_jet_through_a_hard_condition_matches_nested_autograd(family: str) -> None:
    """u = g + φ N with φ the box's distance function and a non-polynomial g: the Leibniz rule of any order on
    the truncated series."""
    problem = kp.Problem(
        kp.Rectangle((0.0, -1.0), (1.0, 2.0)),
        lambda x, u: u.biharmonic(),
        [kp.Dirichlet(lambda x: torch.sin(2 * x[:, 0]) * x[:, 1], on=["xmin", "ymax"], hard=True)],
    )
    net = _kan([2, 4, 1], grid=4, seed=6) if family == "kan" else _mlp([2, 6, 1], "silu", seed=6)
    net.set_input_bounds(*problem.domain.bounds())
    ansatz = Ansatz.for_problem(net, problem)
    x = problem.domain.sample_interior(9, dtype=F64, seed=2)
    spec = _all_rows_spec(2)
    _close(ansatz.jet(x, spec), _by_autograd(ansatz, x, spec))


def test_activation_derivatives_of_any_order_match_nested_autograd() -> None:
    z = torch.linspace(-6.0, 6.0, 41, dtype=F64)
    functions = {
        "sigmoid": (torch.sigmoid, sigmoid_derivatives),
        "tanh": (torch.tanh, SERIES_ACTIVATIONS["tanh"]),
        "sin": (torch.sin, SERIES_ACTIVATIONS["sin"]),
        "silu": (torch.nn.functional.silu, SERIES_ACTIVATIONS["silu"]),
        "softplus": (torch.nn.functional.softplus, SERIES_ACTIVATIONS["softplus"]),
    }
    for name, (f, series) in functions.items():
        zg = z.clone().requires_grad_(True)[:, None]
        found = nested_autograd(f(zg[:, 0]), zg, [(0,) * n for n in range(7)])
        expected = torch.stack([found[(0,) * n].detach() for n in range(7)])
        err = _close(series(z, 7), expected, 1e-12)
        assert err <= 1e-12, name


def test_spline_derivatives_of_any_order_match_autograd() -> None:
    """Cox-de Boor derivatives of orders 0..k+1 (the last is 0) on non-uniform knots, and the closed form
    of the uniform cubic against Cox-de Boor."""
    knots = torch.tensor([[-1.6, -1.3, -1.0, -0.7, -0.1, 0.3, 0.45, 1.0, 1.2, 1.5, 1.9, 2.2]], dtype=F64)
    v = torch.linspace(-0.95, 0.95, 23, dtype=F64)[:, None]  # (N, 1), inside the span, off the knots
    for k in (3, 4, 5):
        vg = v.clone().requires_grad_(True)
        values = cox_de_boor(vg, knots, k)[0]  # (N, 1, M)
        derivs = cox_de_boor_derivatives(v, knots, k, k + 2)  # (k+2, N, 1, M)
        for m in range(values.shape[-1]):
            found = nested_autograd(values[:, 0, m], vg, [(0,) * n for n in range(k + 2)])
            for r in range(k + 2):
                _close(derivs[r, :, 0, m], found[(0,) * r].detach(), 1e-11)
        assert float(derivs[k].abs().max()) > 0 and float(derivs[k + 1].abs().max()) == 0
    uniform = uniform_knots(torch.tensor([-1.0], dtype=F64), torch.tensor([1.0], dtype=F64), 5, 3)
    closed = basis_derivatives(v, uniform, 3, True, 6)
    general = cox_de_boor_derivatives(v, uniform, 3, 6)
    _close(closed, general, 1e-12)


def test_monomials_close_downward_and_multiply_like_polynomials() -> None:
    mono = Monomials(2, [(0, 0, 1, 1), (1, 1, 1)])
    assert mono.indices[0] == (0, 0) and mono.order == 4
    assert set(mono.indices) == {(a, b) for a in range(3) for b in range(3)} | {(0, 3)}
    x = torch.tensor([[0.3, -0.7]], dtype=F64)

    # series of p(x + h) and q(x + h) for p = x0^2 x1, q = 1 + x0 x1^2: their product's coefficients
    def series(fn):
        xg = x.clone().requires_grad_(True)
        keys = [_key(a) for a in mono.indices]  # every prefix of a key is a key: the set is closed
        found = nested_autograd(fn(xg), xg, keys)
        return torch.stack([found[k].detach() / mono.factorial(k) for k in keys], dim=1)  # (1, |S|)

    p = series(lambda y: y[:, 0] ** 2 * y[:, 1])
    q = series(lambda y: 1 + y[:, 0] * y[:, 1] ** 2)
    product = series(lambda y: y[:, 0] ** 2 * y[:, 1] * (1 + y[:, 0] * y[:, 1] ** 2))
    _close(mono.product(p[..., None], q[..., None])[..., 0], product, 1e-14)


def _key(alpha):
    return tuple(a for a, n in enumerate(alpha) for _ in range(n))


# ---------------------------------------------------------------------------------------------
# exact Jacobian rows
# ---------------------------------------------------------------------------------------------


def _per_point_gradients(r: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    rows = []
    for n in range(r.shape[0]):
        grads = torch.autograd.grad(r[n], params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    torch.zeros(p.numel(), dtype=p.dtype) if g is None else g.reshape(-1)
                    for g, p in zip(grads, params, strict=True)
                ]
            )
        )
    return torch.stack(rows)


@pytest.mark.parametrize(
    "name", ["kan_local_d2", "kan_k5_d2_out2", "kan_updated_d2", "kan_per_input_d3", "mlp_tanh_d2"]
)
def test_jacobian_rows_of_any_order_match_autograd(name: str) -> None:
    model = MODELS[name]()
    d = model.width[0]
    x = _points(8, d, seed=9)
    spec = _all_rows_spec(d)
    records: list = []
    jet = model.jet(x, spec, records)[..., -1]  # (N, R), the last output
    r = sum(jet[:, spec.high_row(k)] for k in spec.high) + jet[:, 0] * jet[:, spec.high_row(spec.high[0])]
    r = r + jet[:, 1] ** 2
    params = list(model.parameters())
    jac = model.residual_jacobian(r, records)
    expected = _per_point_gradients(r, params)
    assert float(expected.abs().max()) > 1e-1
    _close(jac, expected)
    grads = torch.autograd.grad(r.square().sum(), params)
    _close(jac.T @ r.detach(), 0.5 * torch.cat([g.reshape(-1) for g in grads]))


BEAM = kp.load_problem("beam1d")


def _beam(hard: bool) -> kp.Problem:
    conditions = [kp.Dirichlet(0.0, hard=hard), kp.Neumann(0.0, weight=2.0)]
    return dataclasses.replace(BEAM, conditions=conditions)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("family", ["kan", "mlp"])
def test_pinn_loss_jacobian_of_the_beam_gives_half_the_gradient(family: str, hard: bool) -> None:
    """``residual_and_jacobian`` with u_xxxx in the residual (and a hard Dirichlet condition): r̃ reproduces
    the loss and Jᵀr̃ is half its autograd gradient."""
    problem = _beam(hard)
    net = KAN([1, 3, 1], grid=4, k=4, seed=1) if family == "kan" else MLP([1, 6, 6, 1], seed=1)
    net.set_input_bounds(*problem.domain.bounds())
    model = _perturb(Ansatz.for_problem(net, problem), 0.2, 3)
    points = sample_collocation(problem, 30, 2, 0, "sobol", 0, F64, "cpu")
    loss = PINNLoss(problem, points, "forward")
    r, jac, parts = loss.residual_and_jacobian(model)
    total, parts_ref = loss(model)
    grads = torch.autograd.grad(total, list(model.parameters()))
    flat = torch.cat([g.reshape(-1) for g in grads])
    assert float(r @ r) == pytest.approx(float(total.detach()), rel=1e-12)
    _close(parts, parts_ref.detach(), 1e-12)
    _close(jac.T @ r, 0.5 * flat)
    assert float(flat.abs().max()) > 1e-2


# ---------------------------------------------------------------------------------------------
# the accessor: forward == autograd, any order
# ---------------------------------------------------------------------------------------------


def _quantities(u: Field) -> dict[str, torch.Tensor]:
    out = {"value": u.value, "d_xxx": u.d("x", "x", "x"), "d_x4": u.d("x", order=4)}
    if "t" in u.names:
        out |= {
            "d_ttx": u.d("t", "x", "t"),
            "dt2": u.dt(2),
            "dt3": u.dt(order=3),
            "biharmonic": u.biharmonic(),
        }
    else:
        out |= {"d_xxyy": u.d("x", "y", "x", "y"), "d_yyy": u.d("y", order=3), "biharmonic": u.biharmonic()}
        out["laplacian"] = u.laplacian()
    return out


@pytest.mark.parametrize("case", ["kan_xy", "mlp_xy", "kan_xt", "hard_xy"])
def test_field_forward_matches_autograd_at_any_order(case: str) -> None:
    names = ("x", "t") if case.endswith("xt") else ("x", "y")
    model = MODELS["mlp_tanh_d2" if case.startswith("mlp") else "kan_local_d2"]()
    if case == "hard_xy":
        problem = kp.Problem(
            kp.Rectangle((-0.5, -0.75), (1.0, 1.5)), lambda x, u: u.value, [kp.Dirichlet(0.3, hard=True)]
        )
        model = Ansatz.for_problem(model, problem)
    x = _points(9, 2, seed=11)
    forward = _quantities(Field(model, x, names, 1 if "t" in names else 2, mode="forward"))
    auto = _quantities(Field(model, x, names, 1 if "t" in names else 2, mode="autograd"))
    for key in forward:
        _close(forward[key], auto[key])
    if "t" not in names:  # the bi-Laplacian spelled out
        _close(
            forward["biharmonic"],
            forward["d_x4"] + 2 * forward["d_xxyy"] + Field(model, x, names, 2).d("y", order=4),
        )


def test_bad_derivative_requests_are_refused_with_a_fix() -> None:
    model = MODELS["kan_local_d2"]()
    u = Field(model, _points(3, 2, 0), ("x", "t"), 1)
    with pytest.raises(ValueError, match=r"u\.d\(\) needs at least one coordinate name, e\.g\. u\.d\('x'\)"):
        u.d()
    with pytest.raises(TypeError, match=r"coordinate names as strings.*u\.d\('x', order=n\)"):
        u.d(0, 0, 0)
    with pytest.raises(ValueError, match=r"order= repeats one coordinate name.*u\.d\('x', 'x', 'y', 'y'\)"):
        u.d("x", "t", order=2)
    with pytest.raises(ValueError, match=r"order must be an integer >= 1 such as order=4, got 0"):
        u.d("x", order=0)
    with pytest.raises(ValueError, match=r"unknown coordinate 'z'; valid names are x, t"):
        u.d("x", "x", "z")
    with pytest.raises(
        ValueError, match=r"u\.dt\(order\): order must be an integer >= 1 such as u\.dt\(2\), got 0"
    ):
        u.dt(0)
    with pytest.raises(ValueError, match=r"has order 2; orders 1 and 2 are grad=True and pairs="):
        JetSpec(2, high=((0, 1),))
    with pytest.raises(ValueError, match=r"jet derivative \(0, 0, 5\) is outside the 2 input columns"):
        JetSpec(2, high=((0, 5, 0),))


# ---------------------------------------------------------------------------------------------
# initial conditions on time derivatives
# ---------------------------------------------------------------------------------------------


def test_initial_velocity_condition_is_the_time_derivative() -> None:
    domain = kp.SpaceTime(kp.Interval(0.0, 2.0), t=(0.5, 1.5))
    model = _perturb(MLP([2, 6, 1], seed=2), 0.3, 1)
    model.set_input_bounds(*domain.bounds())
    for n in (0, 1, 2):
        cond = kp.Initial(lambda x: torch.cos(x[:, 0]), derivative=n)
        cond.validate(domain)
        points = cond.sample(domain, 12, "sobol", 0, F64, "cpu")
        assert torch.all(points["x"][:, 1] == 0.5)
        r = cond.residual(lambda x: Field(model, x, domain.names, 1, mode="forward"), points)[:, 0]
        xg = points["x"].clone().requires_grad_(True)
        found = nested_autograd(model(xg)[:, 0], xg, [(1,) * m for m in range(n + 1)])
        _close(r, found[(1,) * n].detach() - torch.cos(points["x"][:, 0]), 1e-12)
    assert [kp.Initial(0.0, derivative=n).label for n in (0, 1, 3)] == [
        "initial",
        "initial_dt",
        "initial_dt3",
    ]
    assert kp.Initial(0.0, derivative=1, field="v").label == "initial_dt_v"


def test_bad_initial_derivatives_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Initial: derivative must be >= 0 .*got -1"):
        kp.Initial(0.0, derivative=-1)
    for bad in (1.5, True, "1"):
        with pytest.raises(
            TypeError, match=r"Initial: derivative is the order of the time derivative imposed"
        ):
            kp.Initial(0.0, derivative=bad)


# ---------------------------------------------------------------------------------------------
# derivatives of a solution
# ---------------------------------------------------------------------------------------------


def _hard_solution() -> kp.Solution:
    problem = kp.Problem(
        kp.Rectangle((0.0, 0.0), (1.0, 2.0)),
        lambda x, u: u.laplacian(),
        [kp.Dirichlet(lambda x: torch.exp(x[:, 0]) * x[:, 1], on=["xmin", "ymax"], hard=True)],
        name="hard",
    )
    net = _perturb(KAN([2, 4, 1], grid=4, seed=3), 0.3, 4)
    net.set_input_bounds(*problem.domain.bounds())
    return kp.Solution(net, problem)


def test_solution_derivatives_include_the_hard_condition_numpy_in_numpy_out() -> None:
    sol = _hard_solution()
    x = sol.problem.domain.sample_interior(15, dtype=F64, seed=5)
    xg = x.clone().requires_grad_(True)
    found = nested_autograd(
        sol.ansatz(xg)[:, 0], xg, [(), (0,), (1,), (0, 0), (0, 0, 0), (0, 0, 1), (0, 0, 1, 1)]
    )
    _close(sol.grad(x), torch.stack([found[(0,)], found[(1,)]], dim=1))
    _close(sol.d(x, "x"), found[(0,)])
    _close(sol.d(x, "x", "x", "x"), found[(0, 0, 0)])
    _close(sol.d(x, "y", "x", "x", "y"), found[(0, 0, 1, 1)])
    grad_np = sol.grad(x.numpy())
    assert isinstance(grad_np, np.ndarray) and grad_np.shape == (15, 2)
    d3_np = sol.d(x.numpy(), "x", order=3)
    assert isinstance(d3_np, np.ndarray) and d3_np.shape == (15,)
    np.testing.assert_allclose(d3_np, found[(0, 0, 0)].detach().numpy(), rtol=0, atol=1e-10)
    assert isinstance(sol.d(x, "x"), torch.Tensor)


def test_solution_model_is_the_raw_network_and_sol_is_the_ansatz() -> None:
    """``sol.model`` is ``sol.network``, the network ``N``; the solution ``u = g + φ N`` is ``sol(x)``: equal
    to ``g`` on the hard part of the boundary, where ``sol.model(x)`` is not."""
    sol = _hard_solution()
    assert sol.model is sol.network is sol.ansatz.net
    x, _ = sol.problem.domain.sample_boundary(20, on=["xmin", "ymax"], dtype=F64)
    g = torch.exp(x[:, 0]) * x[:, 1]
    with torch.no_grad():
        assert float((sol(x) - g).abs().max()) <= 1e-12
        assert float((sol.model(x)[:, 0] - g).abs().max()) > 1e-2
        inner = sol.problem.domain.sample_interior(10, dtype=F64)
        phi = sol.ansatz.hard[0].phi(inner)
        _close(sol(inner), torch.exp(inner[:, 0]) * inner[:, 1] + phi * sol.model(inner)[:, 0], 1e-14)


def test_solution_derivatives_of_several_fields_and_bad_requests() -> None:
    problem = kp.Problem(
        kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
        lambda x, u: [u["a"].value, u["b"].value],
        [kp.Dirichlet(0.0, field="a"), kp.Dirichlet(0.0, field="b")],
        fields=("a", "b"),
    )
    net = _perturb(MLP([2, 5, 2], seed=1), 0.3, 2)
    sol = kp.Solution(net, problem)
    x = _points(6, 2, seed=1)
    assert sol.grad(x).shape == (6, 2, 2) and sol.d(x, "x", "y", "y").shape == (6, 2)
    _close(sol.d(x, "x", "y", "y", field="b"), sol.d(x, "x", "y", "y")[:, 1], 1e-14)
    with pytest.raises(
        ValueError, match=r"sol\.d\(x, \) needs at least one coordinate name, e\.g\. sol\.d\(x, 'x'\)"
    ):
        sol.d(x)
    with pytest.raises(ValueError, match=r"unknown coordinate 'z'; valid names are x, y"):
        sol.d(x, "z")
    with pytest.raises(ValueError, match=r"unknown field 'c'"):
        sol.grad(x, field="c")
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        sol.grad(x[:, :1])
    with pytest.raises(TypeError, match=r"a Solution takes a tensor or NumPy array"):
        sol.d([[0.1, 0.2]], "x")


# ---------------------------------------------------------------------------------------------
# solves
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hard", [False, True])
def test_clamped_beam_solves_to_round_off(hard: bool) -> None:
    """u'''' = 1 on [0, 1], u = u' = 0 at both ends. One KAN edge of degree 4 (``KAN([1, 1], k=4)``) holds
    the quartic solution x²(1-x)²/24, so Levenberg-Marquardt reaches round-off; measured 4.6e-15 after 20
    steps (soft conditions), under a second. With the Dirichlet values exact, u = x(1-x) N and N is the
    quadratic x(1-x)/24."""
    problem = _beam(hard)
    sol = kp.solve(
        problem, KAN([1, 1], grid=3, k=4), optimizer="lm", steps=30, grids=(3,), n_interior=100, device="cpu"
    )
    assert sol.relative_l2() <= 1e-6
    u_xxxx = sol.d(np.linspace(0.05, 0.95, 7)[:, None], "x", order=4)
    np.testing.assert_allclose(u_xxxx, 1.0, atol=1e-6)


@pytest.mark.parametrize(
    ("width", "activation", "steps", "bound"),
    [([2, 16, 1], "sin", 60, 1e-4), ([2, 20, 20, 1], "tanh", 600, 1e-4)],
    ids=["sin16", "tanh20x20"],
)
def test_standing_wave_released_from_rest(width, activation, steps, bound) -> None:
    """u_tt = u_xx, u(x, 0) = sin(πx), u_t(x, 0) = 0, u = 0 at x = 0, 1 (problems/wave1d_standing.py), LM on
    400 interior, 80 boundary and 80 + 80 initial points. Measured: sine MLP [2, 16, 1] 3.7e-6 after 50
    steps (about 1 s: two sine units hold sin(πx)cos(πt)); tanh MLP [2, 20, 20, 1] 4.2e-5 after 600 steps
    (about 11 s; 7.7e-5 after 400)."""
    problem = kp.load_problem("wave1d_standing")
    model = MLP(width, activation=activation)
    sol = kp.solve(
        problem, model, optimizer="lm", steps=steps, n_interior=400, n_boundary=80, n_initial=80, device="cpu"
    )
    assert sol.relative_l2() <= bound
    assert "initial_dt" in sol.history[-1] and sol.history[-1]["initial_dt"] < 1e-8
    x = torch.tensor([[0.3, 0.0], [0.7, 0.0]], dtype=F64)
    assert float(sol.d(x, "t").abs().max()) < 1e-3  # released from rest
    assert math.isfinite(sol.history[-1]["loss"])
