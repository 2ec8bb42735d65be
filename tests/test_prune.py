"""Sparsity penalty (KAN paper §2.5.1), edge scores and pruning."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import kanpde as kp
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.sparsity import SparseLoss
from kanpde.spline import cox_de_boor

F64 = torch.float64


def _points(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1


def _hand_penalty(model: kp.KAN, x: torch.Tensor) -> float:
    """``sum_l |Phi_l|_1 + S(Phi_l)`` from the edge definition, with Cox-de Boor bases (not the closed form)."""
    v = x * model.input_scale + model.input_shift
    total = 0.0
    for layer in model.layers:
        bases = cox_de_boor(v, layer.knots, layer.k)[0]  # (N, n_in, M)
        spline = torch.einsum("nim,imj->nij", bases, layer.coef)  # (N, n_in, n_out)
        phi = layer.base_weight * F.silu(v)[..., None] + layer.spline_scale * spline
        m = phi.abs().mean(0)
        p = m / m.sum()
        total += float(m.sum() - (p * p.log()).sum())
        v = phi.sum(1) + layer.bias
    return total


def test_penalty_matches_hand_computation():
    model = kp.KAN([2, 3, 2, 1], grid=4, seed=3)
    x = _points(64, 2, 0)
    with torch.no_grad():
        assert float(model.sparsity_penalty(x)) == pytest.approx(_hand_penalty(model, x), rel=1e-12)
        rows = model.penalty_rows(x, 0.3)
        assert rows.shape == (2 * 3 + 3 * 2 + 2 + 3,)  # one row per edge, one per layer
        assert float(rows @ rows) == pytest.approx(0.3 * _hand_penalty(model, x), rel=1e-12)
        assert [m.shape for m in model.edge_magnitudes(x)] == [(2, 3), (3, 2), (2, 1)]


def test_penalty_rows_jacobian_matches_finite_differences():
    problem = kp.load_problem("poisson1d")
    model = kp.KAN([1, 3, 1], grid=4, seed=0)
    model.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 50, 2, 1, "sobol", 0, F64, "cpu")
    loss = SparseLoss(PINNLoss(problem, points, "forward"), points.interior, 1e-2)
    total, parts = loss(model)
    r, jac, parts_lm = loss.residual_and_jacobian(model)
    assert float(r @ r) == pytest.approx(float(total.detach()), rel=1e-12)  # LM minimises the same L + λP
    assert torch.allclose(parts.detach(), parts_lm, rtol=1e-12)
    assert loss.names == ["residual", "dirichlet", "sparsity"]
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def rows_at(values: torch.Tensor) -> torch.Tensor:
        trial = copy.deepcopy(model)
        with torch.no_grad():
            offset = 0
            for p in trial.parameters():
                p.copy_(values[offset : offset + p.numel()].view_as(p))
                offset += p.numel()
        return loss.residual_and_jacobian(trial)[0]

    for k in (0, 5, 17, flat.numel() - 1):
        e = torch.zeros_like(flat)
        e[k] = 1e-6
        fd = (rows_at(flat + e) - rows_at(flat - e)) / 2e-6
        assert float((fd - jac[:, k]).abs().max()) < 1e-6 * max(1.0, float(jac[:, k].abs().max()))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "lm"])
def test_solve_adds_the_penalty_with_every_optimizer(optimizer):
    problem = kp.load_problem("poisson1d")
    model = kp.KAN([1, 3, 1], grid=4, seed=0)
    sol = kp.solve(
        problem, model, optimizer=optimizer, steps=3, grids=(4,), n_interior=40, sparsity=1e-2, log_every=1
    )
    start = copy.deepcopy(model)
    start.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 40, 2, 400, "sobol", 0, F64, "cpu")
    with torch.no_grad():
        pde = float(PINNLoss(problem, points, "forward")(start)[0])
        penalty = 1e-2 * float(start.sparsity_penalty(points.interior))
    first = sol.history[0]  # the loss at the parameters the first step started from
    assert first["sparsity"] == pytest.approx(penalty, rel=1e-10)
    assert first["loss"] == pytest.approx(pde + penalty, rel=1e-10)
    assert sol.settings.levers == (kp.Sparsity(1e-2),)
    assert sol.history[-1]["loss"] < first["loss"]


def test_penalty_shrinks_edges_during_training():
    problem = kp.load_problem("poisson1d")
    x = problem.domain.sample_interior(200, sampler="sobol", seed=0)
    plain = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=1), steps=20, grids=(4,), n_interior=200)
    sparse = kp.solve(
        problem, kp.KAN([1, 4, 1], grid=4, seed=1), steps=20, grids=(4,), n_interior=200, sparsity=1.0
    )
    with torch.no_grad():
        assert float(sparse.model.sparsity_penalty(x)) < 0.8 * float(plain.model.sparsity_penalty(x))


def test_fit_with_sparsity():
    x = _points(100, 2, 1)
    y = x[:, 0] ** 2
    model = kp.KAN([2, 2, 1], grid=3, seed=0)
    with torch.no_grad():
        expected = float((model(x)[:, 0] - y).square().mean()) + 1e-3 * float(model.sparsity_penalty(x))
    history = kp.fit(model, x, y, steps=3, sparsity=1e-3)
    assert history[0]["loss"] == pytest.approx(expected, rel=1e-12)
    assert history[-1]["loss"] < history[0]["loss"]


def test_sparsity_bad_input():
    problem = kp.load_problem("poisson1d")
    with pytest.raises(ValueError, match=r"sparsity must be a finite number >= 0"):
        kp.solve(problem, kp.KAN([1, 2, 1]), sparsity=-1.0)
    with pytest.raises(ValueError, match=r"sparsity applies to KAN models \(edge magnitudes\), got MLP"):
        kp.solve(problem, kp.MLP([1, 8, 1]), sparsity=1e-3)
    with pytest.raises(ValueError, match=r"sparsity applies to KAN models"):
        kp.fit(kp.MLP([1, 8, 1]), _points(10, 1, 0), _points(10, 1, 1)[:, 0], sparsity=1e-3)
    with pytest.raises(ValueError, match=r"sparsity applies to KAN models"):
        kp.Sparsity(1e-3).check(problem, kp.MLP([1, 8, 1]))


def _kan_with_dead_parts() -> kp.KAN:
    """[2, 4, 3, 1]: hidden node 1 of layer 1 gets no input (constant), node 2 feeds nothing, edge (0 -> 1)
    of layer 1 is zero."""
    model = kp.KAN([2, 4, 3, 1], grid=5, seed=1)
    with torch.no_grad():
        model.layers[0].coef[:, :, 1] = 0
        model.layers[0].base_weight[:, 1] = 0
        model.layers[1].coef[2] = 0
        model.layers[1].base_weight[2] = 0
        model.layers[1].coef[0, :, 1] = 0
        model.layers[1].base_weight[0, 1] = 0
    return model


def test_edge_scores():
    model = _kan_with_dead_parts()
    scores = model.edge_scores(_points(300, 2, 2))
    assert [tuple(s.shape) for s in scores] == [(2, 4), (4, 3), (3, 1)]
    assert float(scores[-1].sum()) == pytest.approx(1.0, rel=1e-12)  # shares of the single output
    assert float(scores[1][1].abs().max()) == 0.0  # a constant node's edges do not vary
    assert float(scores[1][2].abs().max()) == 0.0 and float(scores[1][0, 1]) == 0.0
    assert (
        float(scores[0][:, 1].abs().max()) == 0.0 and float(scores[0][:, 2].abs().max()) == 0.0
    )  # unimportant
    for s in scores:  # a node's importance is the sum of its outgoing scores, passed back
        assert bool((s >= 0).all())


def test_prune_removing_only_zero_or_constant_edges_keeps_the_output():
    model = _kan_with_dead_parts()
    x = _points(300, 2, 2)
    small = model.prune(x, threshold=1e-9)
    assert small.width == [2, 2, 3, 1] and small.num_parameters < model.num_parameters
    with torch.no_grad():
        assert float((small(x) - model(x)).abs().max()) < 1e-14
        x_new = _points(100, 2, 5)  # also away from the points the scores came from
        assert float((small(x_new) - model(x_new)).abs().max()) < 1e-14
    assert model.width == [2, 4, 3, 1]  # left unchanged


def test_prune_low_score_edges_become_their_mean():
    model = kp.KAN([2, 3, 1], grid=5, seed=4)
    x = _points(400, 2, 3)
    scores = model.edge_scores(x)
    threshold = float(scores[0].flatten().sort().values[1]) + 1e-12  # the two weakest first-layer edges
    small = model.prune(x, threshold=threshold)
    with torch.no_grad():
        phi = model.layers[0].edge_functions(model.activations(x)[0])  # (N, 2, 3)
        gone = scores[0] < threshold
        dropped = (phi - phi.mean(0)) * gone  # what pruning took away
        kept_hidden = [j for j in range(3) if float(scores[1][j].sum()) >= threshold]
        hidden_small = small.activations(x)[1]
        hidden_model = model.activations(x)[1][:, kept_hidden]
        assert torch.allclose(hidden_small, hidden_model - dropped.sum(1)[:, kept_hidden], atol=1e-13)


def test_prune_bad_input():
    model = kp.KAN([2, 3, 1], grid=3)
    with pytest.raises(ValueError, match=r"threshold must be a number >= 0"):
        model.prune(_points(10, 2, 0), threshold=-1)
    with pytest.raises(ValueError, match=r"edge_scores needs at least 2 points"):
        model.edge_scores(_points(1, 2, 0))
    with pytest.raises(ValueError, match=r"input must have shape \(N, 2\)"):
        model.prune(_points(10, 3, 0))


def _gauss_newton_sums(loss, model):
    """``|r|²``, the parts, ``Jᵀr`` and ``JᵀJ`` summed over the loss's chunks, as the optimisers sum them."""
    sums = None
    for chunk in loss.chunks:
        r, jac, parts = chunk.residual_and_jacobian(model)
        found = (r @ r, parts, jac.T @ r, jac.T @ jac)
        sums = found if sums is None else tuple(a + b for a, b in zip(sums, found, strict=True))
    return sums


def test_the_penalty_of_a_chunked_loss_is_the_unchunked_one():
    problem = kp.load_problem("poisson2d")
    model = kp.KAN([2, 3, 1], grid=4, seed=2)
    model.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 60, 20, 1, "sobol", 0, F64, "cpu")
    whole = SparseLoss(PINNLoss(problem, points, "forward"), points.interior, 1e-2)
    split = SparseLoss(PINNLoss(problem, points, "forward", chunk_size=25), points.interior, 1e-2)
    assert len(whole.chunks) == 1 and len(split.chunks) == 5  # 4 point chunks and the penalty's
    total, parts = whole(model)
    total_c, parts_c = split(model)
    assert float(total_c.detach()) == pytest.approx(float(total.detach()), rel=1e-13)
    assert torch.allclose(parts_c, parts, rtol=1e-13, atol=0)
    for a, b in zip(_gauss_newton_sums(split, model), _gauss_newton_sums(whole, model), strict=True):
        assert torch.allclose(a, b, rtol=1e-11, atol=1e-15)
    assert split.names == ["residual", *whole.names[1:]] and whole.names[-1] == "sparsity"


@pytest.mark.parametrize("optimizer", ["lm", "lm-cg", "adam"])
def test_a_chunked_sparse_solve_follows_the_unchunked_one(optimizer):
    problem = kp.load_problem("poisson1d")
    options = dict(optimizer=optimizer, steps=4, grids=(4,), n_interior=30, sparsity=1e-2, log_every=1)
    a = kp.solve(problem, kp.KAN([1, 3, 1], grid=4, seed=0), **options)
    b = kp.solve(problem, kp.KAN([1, 3, 1], grid=4, seed=0), chunk_size=8, **options)
    for ra, rb in zip(a.history, b.history, strict=True):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-8)
        assert rb["sparsity"] == pytest.approx(ra["sparsity"], rel=1e-8)


def test_resampled_points_keep_the_penalty():
    problem = kp.load_problem("poisson1d")
    seen = []  # the network after every step: the parameters the next step (and its record) starts from
    sol = kp.solve(
        problem,
        kp.KAN([1, 3, 1], grid=4, seed=0),
        optimizer="adam",
        steps=4,
        grids=(4,),
        n_interior=30,
        sparsity=1e-2,
        resample_every=2,
        log_every=1,
        callbacks=[lambda record, model: seen.append(copy.deepcopy(getattr(model, "net", model)))],
    )
    assert sol.trainer_state.levers[0]["count"] == 1
    assert all(r["sparsity"] > 0 for r in sol.history)
    x = sol.trainer_state.interior  # the points the last steps' penalty was on
    record = sol.history[-1]  # the loss at the parameters the last step started from: not the final ones
    assert record["loss"] == pytest.approx(
        sum(record[k] for k in ("residual", "dirichlet", "sparsity")), rel=1e-12
    )
    with torch.no_grad():
        assert 1e-2 * float(seen[-2].sparsity_penalty(x)) == pytest.approx(record["sparsity"], rel=1e-10)
        assert 1e-2 * float(sol.model.sparsity_penalty(x)) != pytest.approx(record["sparsity"], rel=1e-6)


def test_prune_keeps_per_input_grid_sizes():
    model = kp.KAN([2, 4, 1], grid=[(3, 6), (4, 5, 6, 7)], seed=1)
    with torch.no_grad():  # hidden node 2 gets nothing and passes a constant on
        model.layers[0].coef[:, 2] = 0
        model.layers[0].base_weight[:, 2] = 0
    x = _points(300, 2, 2)
    small = model.prune(x, threshold=1e-9)
    assert small.width == [2, 3, 1] and small.grid_sizes == [(3, 6), (4, 5, 7)]
    with torch.no_grad():
        assert float((small(x) - model(x)).abs().max()) < 1e-14
        x_new = _points(100, 2, 5)
        assert float((small(x_new) - model(x_new)).abs().max()) < 1e-14


def test_solution_model_prunes():
    problem = kp.load_problem("poisson1d")
    sol = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=1), steps=5, grids=(4,), n_interior=50)
    x = problem.domain.sample_interior(200, sampler="sobol", seed=1)
    small = sol.model.prune(x, threshold=0.0)  # nothing below 0: the same network
    assert small.width == [1, 4, 1]
    with torch.no_grad():
        assert float((small(x) - sol.model(x)).abs().max()) < 1e-14
