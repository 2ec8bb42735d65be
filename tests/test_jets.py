"""Forward jets against nested autograd, the Field accessor in both modes, and exact per-point Jacobians.

Every comparison is in float64 on random models whose parameters have been moved away from their
initial values, at random points; values, gradients and all second derivatives (mixed ones included) must
agree to 1e-12 (relative to their magnitude where that exceeds 1).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from kanpde import KAN, MLP, Field, JetSpec

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _perturb(model: torch.nn.Module, scale: float, seed: int) -> torch.nn.Module:
    """Move every parameter by ``scale`` times a standard normal draw (trained-looking, not initial)."""
    g = _gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def _box(d: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A non-trivial input box, so the affine input map is part of every check."""
    return tuple(-0.5 - 0.25 * i for i in range(d)), tuple(1.0 + 0.5 * i for i in range(d))


def _points(n: int, d: int, seed: int) -> torch.Tensor:
    lo, hi = (torch.tensor(b, dtype=F64) for b in _box(d))
    return lo + (hi - lo) * torch.rand(n, d, generator=_gen(seed), dtype=F64)


def _kan(width, grid=5, k=3, seed=0, update=False, residual_knots=False):
    d = width[0]
    model = _perturb(KAN(width, grid=grid, k=k, input_bounds=_box(d), seed=seed), 0.3, seed + 100)
    if update:
        model = model.update_grid(_points(300, d, seed + 200))
        assert not model.layers[1].uniform
    if residual_knots:  # knots inserted where a made-up residual peaks (x_0 = 0.2), in every layer
        x = _points(300, d, seed + 300)
        weights = torch.exp(-(((x[:, 0] - 0.2) / 0.1) ** 2))
        model = model.extend_grid(2 * model.grid, samples=x, weights=weights, layers="all")
        assert not any(layer.uniform for layer in model.layers)
    return model


def _mlp(width, activation, seed=0):
    return _perturb(
        MLP(width, activation=activation, input_bounds=_box(width[0]), seed=seed), 0.2, seed + 100
    )


MODELS = {
    "kan_d1": lambda: _kan([1, 4, 1]),
    "kan_d2": lambda: _kan([2, 5, 1], seed=1),
    "kan_d2_out2": lambda: _kan([2, 3, 2], seed=2),
    "kan_d3_deep": lambda: _kan([3, 3, 3, 1], grid=4, seed=3),
    "kan_d2_updated": lambda: _kan([2, 4, 3, 1], seed=4, update=True),
    "kan_d3_updated": lambda: _kan([3, 3, 1], seed=5, update=True),
    "kan_d2_k2": lambda: _kan([2, 4, 1], k=2, seed=6),
    "kan_d1_k2_updated": lambda: _kan([1, 3, 3, 1], k=2, seed=7, update=True),
    "kan_d2_per_input": lambda: _kan([2, 4, 3, 1], grid=[(3, 7), 4, (2, 5, 3)], seed=8),
    "kan_d3_per_input_out2": lambda: _kan([3, 3, 2], grid=[(2, 6, 4), 3], seed=9),
    "kan_d2_per_input_residual_knots": lambda: _kan(
        [2, 4, 1], grid=[(3, 6), 4], seed=10, residual_knots=True
    ),
    "kan_d2_per_input_k2": lambda: _kan([2, 3, 1], grid=[(4, 2), 5], k=2, seed=11),
    "mlp_tanh_d1": lambda: _mlp([1, 8, 8, 1], "tanh"),
    "mlp_tanh_d2": lambda: _mlp([2, 8, 8, 1], "tanh", seed=1),
    "mlp_sin_d2": lambda: _mlp([2, 6, 2], "sin", seed=2),
    "mlp_sin_d3": lambda: _mlp([3, 6, 6, 1], "sin", seed=3),
    "mlp_silu_d3": lambda: _mlp([3, 8, 1], "silu", seed=4),
    "mlp_silu_d1": lambda: _mlp([1, 8, 8, 1], "silu", seed=5),
}


def _autograd_derivatives(model, x: torch.Tensor):
    """Values ``(N, O)``, gradients ``(N, O, d)`` and Hessians ``(N, O, d, d)`` by nested autograd."""
    x = x.detach().requires_grad_(True)
    u = model(x)
    n_out, d = u.shape[1], x.shape[1]
    grads = torch.zeros(x.shape[0], n_out, d, dtype=F64)
    hess = torch.zeros(x.shape[0], n_out, d, d, dtype=F64)
    for o in range(n_out):
        (g,) = torch.autograd.grad(u[:, o].sum(), x, create_graph=True)  # (N, d)
        grads[:, o] = g.detach()
        for a in range(d):
            (h,) = torch.autograd.grad(g[:, a].sum(), x, retain_graph=True)  # (N, d)
            hess[:, o, a] = h
    return u.detach(), grads, hess


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-12) -> None:
    a, b = a.detach(), b.detach()
    scale = max(1.0, float(b.abs().max()))
    err = float((a - b).abs().max())
    assert err <= tol * scale, f"max difference {err:.3e} (scale {scale:.2e})"


# ---------------------------------------------------------------------------------------------
# jets == nested autograd
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_jet_matches_nested_autograd(name: str) -> None:
    model = MODELS[name]()
    d = model.width[0]
    x = _points(23, d, seed=len(name))
    value, grads, hess = _autograd_derivatives(model, x)
    assert float(hess.abs().max()) > 1e-2  # the second derivatives are not trivially zero
    pairs = tuple(itertools.combinations_with_replacement(range(d), 2))
    spec = JetSpec(d, grad=True, pairs=pairs)
    jet = model.jet(x, spec)  # (N, R, O)
    assert jet.shape == (23, spec.rows, model.width[-1])
    _close(jet[:, 0], value)
    for a in range(d):
        _close(jet[:, spec.first_row(a)], grads[:, :, a])
    for a, b in pairs:
        _close(jet[:, spec.pair_row(a, b)], hess[:, :, a, b])
        _close(jet[:, spec.pair_row(b, a)], hess[:, :, b, a])  # symmetric lookup


@pytest.mark.parametrize("name", ["kan_d3_deep", "kan_d2_updated", "mlp_sin_d3"])
def test_partial_jets_match_full_jet(name: str) -> None:
    """Jets carrying fewer rows (values only, gradient only, a single mixed pair) give the same numbers."""
    model = MODELS[name]()
    d = model.width[0]
    x = _points(11, d, seed=3)
    full_spec = JetSpec(d, pairs=tuple(itertools.combinations_with_replacement(range(d), 2)))
    full = model.jet(x, full_spec)
    _close(model.jet(x, JetSpec(d))[:, 0], full[:, 0], 1e-14)
    _close(model(x), full[:, 0], 1e-14)
    grad_only = model.jet(x, JetSpec(d, grad=True))
    assert grad_only.shape[1] == 1 + d
    _close(grad_only, full[:, : 1 + d], 1e-14)
    mixed = JetSpec(d, pairs=((d - 1, 0),))
    assert mixed.pairs == ((0, d - 1),) and mixed.grad
    _close(model.jet(x, mixed)[:, mixed.pair_row(0, d - 1)], full[:, full_spec.pair_row(0, d - 1)], 1e-14)


def test_jet_spec_rows() -> None:
    spec = JetSpec(3, pairs=((2, 1), (0, 0), (1, 2)))
    assert spec.pairs == ((0, 0), (1, 2))
    assert spec.grad and spec.rows == 1 + 3 + 2
    assert spec.first_row(2) == 3 and spec.pair_row(2, 1) == 5
    assert JetSpec(3).rows == 1
    with pytest.raises(KeyError, match="carries no first derivatives"):
        JetSpec(3).first_row(0)
    assert spec.union(pairs=((2, 2),)).pairs == ((0, 0), (1, 2), (2, 2))


# ---------------------------------------------------------------------------------------------
# the Field accessor: forward == autograd
# ---------------------------------------------------------------------------------------------

FIELD_MODELS = {
    "kan_xt": lambda: _kan([2, 4, 1], seed=11),
    "kan_xt_updated": lambda: _kan([2, 3, 3, 1], seed=12, update=True),
    "mlp_xt": lambda: _mlp([2, 8, 8, 1], "tanh", seed=13),
    "kan_xyt": lambda: _kan([3, 3, 1], seed=14),
    "mlp_xyz": lambda: _mlp([3, 6, 1], "silu", seed=15),
    "kan_xy_k2": lambda: _kan([2, 3, 1], k=2, seed=16),
}
FIELD_NAMES = {
    "kan_xt": (("x", "t"), 1),
    "kan_xt_updated": (("x", "t"), 1),
    "mlp_xt": (("x", "t"), 1),
    "kan_xyt": (("x", "y", "t"), 2),
    "mlp_xyz": (("x", "y", "z"), 3),
    "kan_xy_k2": (("x", "y"), 2),
}


def _field_quantities(u: Field) -> dict[str, torch.Tensor]:
    names = u.names
    out = {"laplacian": u.laplacian(), "value": u.value, "grad": u.grad()}
    if "t" in names:
        out["dt"] = u.dt()
        out["d_x_t"] = u.d("x", "t")
        out["d_t_x"] = u.d("t", "x")
        out["d_t_t"] = u.d("t", "t")
    else:
        out["d_x_y"] = u.d("x", "y")
    out["d_x"] = u.d("x")
    out["d_x_x"] = u.d("x", "x")
    return out


@pytest.mark.parametrize("name", list(FIELD_MODELS))
def test_field_forward_matches_autograd(name: str) -> None:
    model = FIELD_MODELS[name]()
    names, space_dim = FIELD_NAMES[name]
    x = _points(19, len(names), seed=5)
    forward = _field_quantities(Field(model, x, names, space_dim, mode="forward"))
    auto = _field_quantities(Field(model, x, names, space_dim, mode="autograd"))
    value, grads, hess = _autograd_derivatives(model, x)
    assert forward.keys() == auto.keys()
    for key in forward:
        assert forward[key].shape == auto[key].shape, key
        _close(forward[key], auto[key])
    # and against the explicit derivatives
    _close(forward["value"], value[:, 0])
    _close(forward["grad"], grads[:, 0, :space_dim])
    _close(forward["laplacian"], sum(hess[:, 0, a, a] for a in range(space_dim)))
    if "t" in names:
        t = names.index("t")
        _close(forward["dt"], grads[:, 0, t])
        _close(forward["d_x_t"], hess[:, 0, 0, t])
        _close(forward["d_t_t"], hess[:, 0, t, t])
    else:
        _close(forward["d_x_y"], hess[:, 0, 0, 1])


def test_field_rejects_unknown_names() -> None:
    model = FIELD_MODELS["kan_xt"]()
    u = Field(model, _points(3, 2, 0), ("x", "y"), 2)
    with pytest.raises(ValueError, match="unknown coordinate 'z'; valid names are x, y"):
        u.d("z")
    with pytest.raises(ValueError, match=r"u\.dt\(\) needs a SpaceTime domain"):
        u.dt()
    with pytest.raises(ValueError, match=r"u\.d\(\) needs at least one coordinate name"):
        u.d()


# ---------------------------------------------------------------------------------------------
# exact per-point Jacobians
# ---------------------------------------------------------------------------------------------


def _per_point_gradients(r: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """Row ``n`` is ``d r_n / d params`` by autograd, flattened in ``params`` order: ``(N, P)``."""
    rows = []
    for n in range(r.shape[0]):
        grads = torch.autograd.grad(r[n], params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                    for g, p in zip(grads, params, strict=True)
                ]
            )
        )
    return torch.stack(rows)


def _jacobian_from_records(model, r: torch.Tensor, records: list) -> torch.Tensor:
    """``model.param_jacobian`` as :meth:`kanpde.loss.PINNLoss.residual_and_jacobian` uses it."""
    return model.residual_jacobian(r, records)


JACOBIAN_MODELS = [
    "kan_d2_per_input",
    "kan_d3_per_input_out2",
    "kan_d2_per_input_residual_knots",
    "kan_d2_per_input_k2",
    "kan_d1",
    "kan_d2",
    "kan_d3_deep",
    "kan_d2_updated",
    "kan_d2_k2",
    "mlp_tanh_d2",
    "mlp_silu_d3",
]


@pytest.mark.parametrize("rows", ["laplacian", "all"])
@pytest.mark.parametrize("name", JACOBIAN_MODELS)
def test_param_jacobian_matches_autograd(name: str, rows: str) -> None:
    """Laplacian rows only (the first layer's shortcut for diagonal pairs), or every gradient and second
    derivative row, mixed ones included (its general path)."""
    model = MODELS[name]()
    d = model.width[0]
    x = _points(9, d, seed=7)
    records: list = []
    if rows == "laplacian":
        spec = JetSpec(d, pairs=tuple((a, a) for a in range(d)))
    else:
        spec = JetSpec(d, pairs=tuple(itertools.combinations_with_replacement(range(d), 2))[::-1])
    jet = model.jet(x, spec, records)[..., 0]  # (N, R)
    lap = sum(jet[:, spec.pair_row(a, a)] for a in range(d))
    r = lap - jet[:, 0] ** 2  # (N,)
    if rows == "all":
        r = r + sum((i + 2) * jet[:, i] for i in range(1, spec.rows)) * jet[:, -1]
    params = list(model.parameters())
    jac = _jacobian_from_records(model, r, records)
    assert jac.shape == (9, model.num_parameters)
    expected = _per_point_gradients(r, params)
    _close(jac, expected)
    assert float(expected.abs().max()) > 1e-1
    # J^T r is half the gradient of sum r^2
    grads = torch.autograd.grad(r.square().sum(), params)
    flat = torch.cat([g.reshape(-1) for g in grads])
    _close(jac.T @ r.detach(), 0.5 * flat)


@pytest.mark.parametrize("name", ["kan_d2", "mlp_tanh_d2"])
def test_param_jacobian_adds_up_several_passes(name: str) -> None:
    """Records of two jet passes over the same points add up (``param_jacobian``'s contract)."""
    model = MODELS[name]()
    x = _points(7, 2, seed=8)
    records: list = []
    value = model.jet(x, JetSpec(2), records)[:, 0, 0]  # pass 1: values
    spec = JetSpec(2, pairs=((0, 1),))
    mixed = model.jet(x, spec, records)[:, spec.pair_row(0, 1), 0]  # pass 2: the mixed derivative
    r = mixed * value + value.sin()
    jac = _jacobian_from_records(model, r, records)
    _close(jac, _per_point_gradients(r, list(model.parameters())))


@pytest.mark.parametrize("name", ["kan_xt", "mlp_xt"])
def test_field_records_jacobian(name: str) -> None:
    """Through ``Field`` with ``records``, asking for the Laplacian first (the plan is complete at once)."""
    model = FIELD_MODELS[name]()
    x = _points(8, 2, seed=9)
    records: list = []
    u = Field(model, x, ("x", "t"), 1, mode="forward", records=records)
    u.require((), (1,), (0, 0))
    r = u.dt() - u.d("x", "x") - u.value**2
    jac = _jacobian_from_records(model, r, records)
    _close(jac, _per_point_gradients(r, list(model.parameters())))


@pytest.mark.parametrize("name", ["kan_xt", "mlp_xt"])
def test_field_records_jacobian_when_plan_grows(name: str) -> None:
    """A residual that asks for more rows than its plan holds (``u.dt()`` before ``u.d("x", "x")``, as in
    problems/heat1d.py) recomputes the jet; terms taken from the earlier pass must stay in the Jacobian.
    This is what ``PINNLoss.residual_and_jacobian`` sees on its first call with a fresh plan."""
    model = FIELD_MODELS[name]()
    x = _points(8, 2, seed=9)
    records: list = []
    u = Field(model, x, ("x", "t"), 1, mode="forward", records=records)
    r = u.dt() - u.d("x", "x") - u.value**2
    jac = _jacobian_from_records(model, r, records)
    _close(jac, _per_point_gradients(r, list(model.parameters())))


def test_local_and_dense_layers_agree_in_jets_and_jacobians() -> None:
    """A uniform cubic layer gathers its four active coefficients; the same layer evaluated through dense
    Cox-de Boor bases (``uniform=False`` on the same knots) must give the same jets and Jacobian rows, also
    for points outside the grid span (where only the base branch is left)."""
    local = _kan([2, 4, 3, 1], grid=7, seed=9)
    dense = _kan([2, 4, 3, 1], grid=7, seed=9)
    for layer in dense.layers:
        layer.uniform = False
    assert all(layer.local for layer in local.layers) and not any(layer.local for layer in dense.layers)
    x = torch.cat([_points(20, 2, seed=10), torch.tensor([[-3.0, 0.2], [0.4, 9.0]], dtype=F64)])
    spec = JetSpec(2, pairs=((0, 0), (0, 1), (1, 1)))
    jacobians = []
    for model in (local, dense):
        records: list = []
        jet = model.jet(x, spec, records)[..., 0]  # (N, R)
        r = jet[:, spec.pair_row(0, 1)] + jet[:, 0] * jet[:, spec.pair_row(1, 1)]
        jacobians.append((jet.detach(), model.residual_jacobian(r, records)))
    _close(jacobians[0][0], jacobians[1][0], 1e-13)
    _close(jacobians[0][1], jacobians[1][1], 1e-13)
    assert float(jacobians[0][1].abs().max()) > 1e-1
