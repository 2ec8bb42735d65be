"""Tests for kanpde.spline: exact identities of the B-spline bases, their derivatives and the least-squares fit.

Everything runs in float64. The Cox-de Boor recursion is the oracle for the closed-form cubic; autograd and
central finite differences are the oracles for the analytic derivative rows.
"""

from __future__ import annotations

import math

import pytest
import torch

from kanpde.spline import basis, cox_de_boor, cubic_uniform, fit_coefficients, uniform_knots

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uniform(grid: int, k: int) -> torch.Tensor:
    """Uniform knots of two inputs with different spans: ``[-1, 1]`` and ``[0.5, 3]``."""
    lo = torch.tensor([-1.0, 0.5], dtype=F64)
    hi = torch.tensor([1.0, 3.0], dtype=F64)
    return uniform_knots(lo, hi, grid, k)  # (2, G+2k+1)


def _nonuniform(grid: int, k: int, seed: int = 0) -> torch.Tensor:
    """Strictly increasing random knots on ``[-1, 1]`` (two inputs), extended by ``k`` knots on each side."""
    g = _gen(seed)
    rows = []
    for _ in range(2):
        gaps = 0.3 + torch.rand(grid + 2 * k, generator=g, dtype=F64)  # no near-repeated knots
        t = torch.cat([torch.zeros(1, dtype=F64), gaps.cumsum(0)])  # (G+2k+1,)
        # put knots k and G+k at -1 and 1 so that [a, b] = [-1, 1]
        a, b = t[k], t[grid + k]
        rows.append(-1 + 2 * (t - a) / (b - a))
    return torch.stack(rows)  # (2, G+2k+1)


def _span_points(knots: torch.Tensor, k: int, n: int = 1001) -> torch.Tensor:
    """``n`` points per input covering ``[a_i, b_i]`` including both ends, shape ``(n, n_in)``."""
    lo, hi = knots[:, k], knots[:, -k - 1]
    s = torch.linspace(0, 1, n, dtype=F64)[:, None]
    return lo + s * (hi - lo)


def _random_points(knots: torch.Tensor, n: int, seed: int, pad: float = 0.0) -> torch.Tensor:
    """Random points per input over the knot span widened by ``pad`` times its length on each side."""
    lo, hi = knots[:, 0], knots[:, -1]
    width = hi - lo
    s = torch.rand(n, knots.shape[0], generator=_gen(seed), dtype=F64) * (1 + 2 * pad) - pad
    return lo + s * width


def _away_from_knots(v: torch.Tensor, knots: torch.Tensor, dist: float) -> torch.Tensor:
    """Rows of ``v`` farther than ``dist`` from every knot of their input (for smoothness-based checks)."""
    gap = (v[:, :, None] - knots[None]).abs().amin(-1)  # (N, n_in)
    return v[(gap > dist).all(1)]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest difference relative to the largest magnitude of the reference ``b``."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


# ---------------------------------------------------------------------------------------------
# partition of unity and shapes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("knots_kind", ["uniform", "nonuniform"])
def test_cox_de_boor_partition_of_unity(k: int, knots_kind: str) -> None:
    grid = 6
    knots = _uniform(grid, k) if knots_kind == "uniform" else _nonuniform(grid, k, seed=k)
    v = _span_points(knots, k)
    b, d1, d2 = cox_de_boor(v, knots, k)
    assert b.shape == d1.shape == d2.shape == (v.shape[0], 2, grid + k)
    assert float((b.sum(-1) - 1).abs().max()) < 1e-14
    # the derivatives of a constant vanish on [a, b) (at v = b the cells are half-open to the right and
    # the derivative rows are those of the right extended cell, where the sum falls off)
    assert float(d1[:-1].sum(-1).abs().max()) < 1e-12
    assert float(d2[:-1].sum(-1).abs().max()) < 1e-10
    assert float(b.min()) >= -1e-15


def test_cubic_uniform_partition_of_unity() -> None:
    for grid in (1, 3, 7, 20):
        knots = _uniform(grid, 3)
        v = _span_points(knots, 3)
        b, d1, d2 = cubic_uniform(v, knots)
        assert b.shape == (v.shape[0], 2, grid + 3)
        assert float((b.sum(-1) - 1).abs().max()) < 1e-14
        assert float(d1[:-1].sum(-1).abs().max()) < 1e-11
        assert float(d2[:-1].sum(-1).abs().max()) < 1e-9


def test_cox_de_boor_values_known() -> None:
    """Hand values: the cubic bases at a knot are (1/6, 2/3, 1/6) and at a cell midpoint (1/48, 23/48, ...)."""
    knots = uniform_knots(torch.tensor([0.0], dtype=F64), torch.tensor([4.0], dtype=F64), 4, 3)  # h = 1
    v = torch.tensor([[2.0], [2.5]], dtype=F64)
    b = cox_de_boor(v, knots, 3)[0][:, 0]  # (2, 7)
    # at v = 2 (knot index 5 of t_0 = -3): bases 2, 3, 4 are 1/6, 2/3, 1/6
    expected_knot = torch.tensor([0, 0, 1 / 6, 2 / 3, 1 / 6, 0, 0], dtype=F64)
    expected_mid = torch.tensor([0, 0, 1 / 48, 23 / 48, 23 / 48, 1 / 48, 0], dtype=F64)
    assert torch.allclose(b[0], expected_knot, atol=1e-15, rtol=0)
    assert torch.allclose(b[1], expected_mid, atol=1e-15, rtol=0)


# ---------------------------------------------------------------------------------------------
# closed form == Cox-de Boor
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grid", [1, 5, 12])
def test_cubic_uniform_matches_cox_de_boor(grid: int) -> None:
    knots = _uniform(grid, 3)
    k = 3
    parts = {
        # random points beyond the whole knot span (outside, extended cells and [a, b])
        "random": _random_points(knots, 3000, seed=grid, pad=0.3),
        # exactly on every knot, and just beside them
        "knots": knots.T.contiguous(),
        "knots+": (knots + 1e-12).T.contiguous(),
        "knots-": (knots - 1e-12).T.contiguous(),
        # the extended cells only
        "extended": torch.cat(
            [
                knots[:, 0] + (knots[:, k] - knots[:, 0]) * torch.rand(200, 2, generator=_gen(1), dtype=F64),
                knots[:, -k - 1]
                + (knots[:, -1] - knots[:, -k - 1]) * torch.rand(200, 2, generator=_gen(2), dtype=F64),
            ]
        ),
        # far outside: every basis and derivative is zero
        "outside": torch.tensor([[-50.0, -50.0], [50.0, 50.0], [-1.0 - 3.1 * 2 / grid, 10.0]], dtype=F64),
    }
    for name, v in parts.items():
        closed = cubic_uniform(v, knots)
        ref = cox_de_boor(v, knots, 3)
        scale = [1.0, float(ref[1].abs().max().clamp(min=1.0)), float(ref[2].abs().max().clamp(min=1.0))]
        for order, (a, b) in enumerate(zip(closed, ref, strict=True)):
            err = float((a - b).abs().max()) / scale[order]
            assert err < 1e-13, f"{name}: derivative order {order} differs by {err:.2e} (relative)"
    far = cubic_uniform(parts["outside"][:2], knots)
    assert all(float(t.abs().max()) == 0.0 for t in far)


def test_basis_dispatch() -> None:
    knots = _uniform(5, 3)
    v = _random_points(knots, 50, seed=3)
    for a, b in zip(basis(v, knots, 3, True), cubic_uniform(v, knots), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(basis(v, knots, 3, False), cox_de_boor(v, knots, 3), strict=True):
        assert torch.equal(a, b)
    knots2 = _uniform(5, 2)
    for a, b in zip(basis(v, knots2, 2, True), cox_de_boor(v, knots2, 2), strict=True):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------------
# analytic derivatives == autograd == finite differences
# ---------------------------------------------------------------------------------------------


def _autograd_rows(values: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``d values[n, i, m] / d v[n, i]`` (each entry depends on its own point and input only)."""
    cols = []
    for m in range(values.shape[-1]):
        (g,) = torch.autograd.grad(values[..., m].sum(), v, create_graph=True)
        cols.append(g)
    return torch.stack(cols, dim=-1)  # (N, n_in, M)


EVALUATORS = {
    "cubic_uniform": (lambda v, knots: cubic_uniform(v, knots), 3, "uniform"),
    "cox_k1_uniform": (lambda v, knots: cox_de_boor(v, knots, 1), 1, "uniform"),
    "cox_k2_nonuniform": (lambda v, knots: cox_de_boor(v, knots, 2), 2, "nonuniform"),
    "cox_k3_uniform": (lambda v, knots: cox_de_boor(v, knots, 3), 3, "uniform"),
    "cox_k3_nonuniform": (lambda v, knots: cox_de_boor(v, knots, 3), 3, "nonuniform"),
    "cox_k4_nonuniform": (lambda v, knots: cox_de_boor(v, knots, 4), 4, "nonuniform"),
    "cox_k5_uniform": (lambda v, knots: cox_de_boor(v, knots, 5), 5, "uniform"),
}


@pytest.mark.parametrize("name", list(EVALUATORS))
def test_derivatives_match_autograd(name: str) -> None:
    evaluate, k, kind = EVALUATORS[name]
    knots = _uniform(6, k) if kind == "uniform" else _nonuniform(6, k, seed=k + 10)
    v = _away_from_knots(_random_points(knots, 400, seed=k, pad=0.1), knots, 1e-9)
    v.requires_grad_(True)
    b, d1, d2 = evaluate(v, knots)
    auto_d1 = _autograd_rows(b, v)
    assert _rel(auto_d1, d1) < 1e-13
    if k >= 2:
        # d/dv of the analytic first derivative, and nested autograd of the values
        assert _rel(_autograd_rows(d1, v), d2) < 1e-13
        assert _rel(_autograd_rows(auto_d1, v), d2) < 1e-13
    else:
        assert float(d2.abs().max()) == 0.0
    assert float(d1.detach().abs().max()) > 0.1  # the check is not vacuous


@pytest.mark.parametrize("name", list(EVALUATORS))
def test_derivatives_match_finite_differences(name: str) -> None:
    evaluate, k, kind = EVALUATORS[name]
    knots = _uniform(6, k) if kind == "uniform" else _nonuniform(6, k, seed=k + 20)
    eps = 1e-6
    # the (k-1)-th derivative has kinks at the knots: stay 10 eps away from them
    v = _away_from_knots(_random_points(knots, 400, seed=k + 1, pad=0.1), knots, 10 * eps)
    b, d1, d2 = evaluate(v, knots)
    plus, minus = evaluate(v + eps, knots), evaluate(v - eps, knots)
    fd1 = (plus[0] - minus[0]) / (2 * eps)
    assert _rel(fd1, d1) < 1e-8
    if k >= 2:
        fd2 = (plus[1] - minus[1]) / (2 * eps)
        assert _rel(fd2, d2) < 1e-8


# ---------------------------------------------------------------------------------------------
# smoothness across knots
# ---------------------------------------------------------------------------------------------


def _spline_rows(evaluate, v: torch.Tensor, knots: torch.Tensor, coef: torch.Tensor):
    """Values and derivatives of ``sum_m c_im B_m(v_i)`` for coefficients ``coef`` ``(n_in, M)``."""
    return [torch.einsum("nim,im->ni", t, coef) for t in evaluate(v, knots)]  # three (N, n_in)


@pytest.mark.parametrize("kind", ["uniform", "nonuniform"])
def test_cubic_second_derivative_continuous_across_knots(kind: str) -> None:
    k = 3
    knots = _uniform(6, k) if kind == "uniform" else _nonuniform(6, k, seed=5)
    coef = torch.randn(2, 6 + k, generator=_gen(7), dtype=F64)
    inner = knots[:, 1:-1].T.contiguous()  # every interior knot, (G+2k-1, n_in)
    delta = 1e-9
    evaluators = [lambda v, t: cox_de_boor(v, t, 3)] + ([cubic_uniform] if kind == "uniform" else [])
    for evaluate in evaluators:
        left = _spline_rows(evaluate, inner - delta, knots, coef)
        right = _spline_rows(evaluate, inner + delta, knots, coef)
        scale2 = float(left[2].abs().max())
        assert scale2 > 1.0
        for order in range(3):
            jump = float((right[order] - left[order]).abs().max())
            # a continuous derivative changes by O(delta * next derivative): ~1e-9 * 1e3 at most here
            assert jump < 1e-6 * max(1.0, scale2), f"order {order} jumps by {jump:.2e}"


def test_quadratic_second_derivative_jumps() -> None:
    """The same check detects the jump of a k = 2 spline's second derivative (it is not vacuous)."""
    k = 2
    knots = _uniform(6, k)
    coef = torch.randn(2, 6 + k, generator=_gen(8), dtype=F64)
    inner = knots[:, k + 1 : -k - 1].T.contiguous()
    delta = 1e-9
    left = _spline_rows(lambda v, t: cox_de_boor(v, t, k), inner - delta, knots, coef)
    right = _spline_rows(lambda v, t: cox_de_boor(v, t, k), inner + delta, knots, coef)
    assert float((right[1] - left[1]).abs().max()) < 1e-6  # first derivative continuous
    assert float((right[2] - left[2]).abs().max()) > 1e-2  # second derivative is not


# ---------------------------------------------------------------------------------------------
# least-squares fit
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "uniform"), [(3, True), (3, False), (2, False), (4, True)])
def test_fit_reproduces_a_spline(k: int, uniform: bool) -> None:
    grid = 7
    knots = _uniform(grid, k) if uniform else _nonuniform(grid, k, seed=3)
    coef = torch.randn(2, grid + k, 3, generator=_gen(11), dtype=F64)  # (n_in, M, n_out)
    lo, hi = knots[:, k], knots[:, -k - 1]
    inside = lo + torch.rand(100, 2, generator=_gen(4), dtype=F64) * (hi - lo)
    x = torch.cat([_span_points(knots, k, 300), inside])  # (S, n_in)
    y = torch.einsum("sim,imo->sio", basis(x, knots, k, uniform)[0], coef)  # (S, n_in, n_out)
    fitted, residual = fit_coefficients(x, y, knots, k, uniform)
    assert fitted.shape == coef.shape and fitted.dtype == F64
    assert float(residual) < 1e-12
    # every basis is supported on [a, b] (the span points touch all of them), so the coefficients are unique
    assert float((fitted - coef).abs().max()) < 1e-10


def test_fit_keeps_dtype_of_targets() -> None:
    knots = _uniform(5, 3)
    x = _span_points(knots, 3, 100)
    y = torch.sin(x)[..., None].to(torch.float32)
    coef, residual = fit_coefficients(x.float(), y, knots.float(), 3, True)
    assert coef.dtype == torch.float32
    assert float(residual) < 1e-3


def test_fit_sin_converges_at_fourth_order() -> None:
    errors = []
    grids = (8, 16, 32)
    x_test = torch.rand(4000, 1, generator=_gen(12), dtype=F64) * 2 - 1
    for grid in grids:
        knots = uniform_knots(torch.tensor([-1.0], dtype=F64), torch.tensor([1.0], dtype=F64), grid, 3)
        x = torch.linspace(-1, 1, 40 * grid + 1, dtype=F64)[:, None]
        coef, residual = fit_coefficients(x, torch.sin(math.pi * x)[..., None], knots, 3, True)
        approx = torch.einsum("nim,imo->n", cubic_uniform(x_test, knots)[0], coef)
        err = float((approx - torch.sin(math.pi * x_test[:, 0])).abs().max())
        assert float(residual) < 2 * err + 1e-15  # the reported residual is the fit error on the samples
        errors.append(err)
    slopes = [math.log2(errors[i] / errors[i + 1]) for i in range(len(grids) - 1)]
    assert errors[0] < 2e-3
    assert min(slopes) >= 3.5, f"errors {errors}, slopes {slopes}"
