"""Chunked evaluation and Gauss-Newton at scale.

The loss, its gradient and the Gauss-Newton sums ``JᵀJ``, ``Jᵀr̃`` accumulated chunk by chunk equal the
unchunked ones to 1e-12, on a system with two fields, two named equations, an unknown, an exactly imposed
Dirichlet condition, a Periodic condition and data with fewer points than chunks; the matrix-free LM step
equals the dense one (to CG tolerance), with the Jacobian rows kept or rebuilt per product; ``"lm"`` picks
its solver by the model's size; bad options are refused where they enter.
"""

from __future__ import annotations

import copy

import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.optim import (
    DENSE_MAX,
    LevenbergMarquardt,
    Objective,
    _DenseSystem,
    _MatrixFreeSystem,
)
from kanpde.settings import DEFAULT_CHUNK_SIZE, SolveSettings

F64 = torch.float64


def g_u(x: torch.Tensor) -> torch.Tensor:
    return 0.5 + x[:, 0] * x[:, 1]


PROBLEM = kp.Problem(
    domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
    residual=lambda x, u: {
        "a": u["u"].laplacian() * u.unknown("k") + u["v"].d("x") * u["u"].value - torch.sin(x[:, 0]),
        "b": u["v"].d("x", "y") + u["u"].d("y") * u["v"].value - 0.3,
    },
    fields=("u", "v"),
    unknowns=[kp.Unknown("k", 0.7, lower=0.0)],
    conditions=[
        kp.Dirichlet(g_u, field="u", hard=True),
        kp.Neumann(0.0, field="v", on="xmax"),
        kp.Periodic("y", field="v"),
        kp.Data([[0.3, 0.4], [0.6, 0.1]], [0.2, -0.1], field="v", weight=3.0),
    ],
    name="chunked_system",
)


def _objective(chunk_size, mode="forward", width=(2, 3, 2), grid=3, n=40) -> Objective:
    net = kp.KAN(list(width), grid=grid, seed=4)
    net.set_input_bounds(*PROBLEM.domain.bounds())
    ansatz = Ansatz.for_problem(net, PROBLEM)
    points = sample_collocation(PROBLEM, n, 12, 4, "sobol", 0, F64, "cpu")
    return Objective(ansatz, PINNLoss(PROBLEM, points, mode, chunk_size=chunk_size))


def _close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-12) -> bool:
    return float((a - b).abs().max()) <= rel * float(b.abs().max())


def test_chunks_partition_every_point_set():
    loss = _objective(9).loss  # 40 interior + 12 boundary + 12 periodic pairs + 2 data = 66 points: 8 chunks
    full = _objective(None).loss
    assert len(loss.chunks) == 8 and full.chunks == (full,)
    assert torch.equal(torch.cat([c.points.interior for c in loss.chunks]), full.points.interior)
    for t, cond in enumerate(full.points.conditions):
        for key, value in cond.items():
            assert torch.equal(torch.cat([c.points.conditions[t][key] for c in loss.chunks]), value)
    assert [len(c.points.conditions[2]["x"]) for c in loss.chunks] == [1, 1, 0, 0, 0, 0, 0, 0]  # the data
    assert all(c.counts == full.counts for c in loss.chunks)  # normalised by the global counts


@pytest.mark.parametrize("mode", ["forward", "autograd"])
def test_chunked_loss_and_gradient_equal_the_unchunked(mode):
    chunked, full = _objective(9, mode), _objective(None, mode)
    a, b = chunked.value_and_grad(), full.value_and_grad()
    for x, y in zip(a, b, strict=True):
        assert _close(x, y)
    assert _close(chunked.value(), full.value())
    assert chunked.loss.names == full.loss.names == ["a", "b", "neumann_v", "periodic_y_v", "data_v"]


def test_chunked_gram_and_gradient_equal_the_full_product():
    """JᵀJ and Jᵀr̃ over 8 chunks equal the products of the full Jacobian (N x P) to 1e-12."""
    chunked, full = _objective(9), _objective(None)
    system = _DenseSystem(chunked)
    r, jac, parts = full.loss.residual_and_jacobian(full.model)
    assert jac.shape[0] == 40 * 2 + 12 + 12 * 2 + 2  # every equation and condition column, no row lost
    assert _close(system.a, jac.T @ jac) and _close(system.grad, jac.T @ r)
    assert _close(system.loss, r @ r) and _close(system.parts, parts)
    assert torch.equal(system.a, system.a.T)
    free = _MatrixFreeSystem(chunked, 1e-10, 100, keep_bytes=2**30)
    rebuilt = _MatrixFreeSystem(chunked, 1e-10, 100, keep_bytes=0)
    assert free.rows is not None and len(free.rows) == 8 and rebuilt.rows is None
    assert _close(free.diag, (jac * jac).sum(0))
    v = torch.randn(jac.shape[1], generator=torch.Generator().manual_seed(1), dtype=F64)
    for s in (free, rebuilt):
        product, jv = s._products(v)
        assert _close(product, jac.T @ (jac @ v))
        assert _close(torch.cat(jv).square().sum(), (jac @ v).square().sum())


def test_matrix_free_step_equals_the_dense_step():
    """From the same parameters, LM with CG to 1e-13 takes the dense step to 1e-8 and updates λ alike."""
    dense_obj = _objective(None, width=(2, 4, 2), grid=4)
    free_obj = _objective(17, width=(2, 4, 2), grid=4)
    free_obj.model.load_state_dict(dense_obj.model.state_dict())
    x = dense_obj.flat()
    dense = LevenbergMarquardt(dense_obj, solver="dense")
    free = LevenbergMarquardt(free_obj, solver="cg", cg_tol=1e-13, cg_max_iter=5000)
    for _ in range(3):
        before = dense_obj.flat()
        dense.step()
        free.step()
        step = dense_obj.flat() - before
        assert float(step.norm()) > 1e-3 * float(x.norm())  # real steps
        assert float((free_obj.flat() - dense_obj.flat()).norm()) <= 1e-8 * float(step.norm())
        assert free.lam == pytest.approx(dense.lam, rel=1e-6) and free.cg_iterations > 5


def test_rebuilt_rows_give_the_same_step_as_kept_rows():
    """Without room to keep the Jacobian rows, every product rebuilds them chunk by chunk: the same numbers
    (bit for bit), at the linearisation point even after rejected trials moved the parameters."""
    kept, rebuilt = _objective(40), _objective(40)  # 2 chunks
    a = LevenbergMarquardt(kept, solver="cg", cg_max_iter=4, damping=1e-6)
    b = LevenbergMarquardt(rebuilt, solver="cg", cg_max_iter=4, damping=1e-6, keep_bytes=0)
    assert len(kept.loss.chunks) == 2
    for _ in range(2):
        a.step()
        b.step()
        assert torch.equal(kept.flat(), rebuilt.flat()) and a.lam == b.lam
        if a.cg_iterations > 4:  # a rejected trial moved the parameters; the CG reran at more damping
            assert b.cg_iterations == a.cg_iterations
            break
    else:
        pytest.fail("no trial was rejected")


def test_lm_picks_its_solver_by_size_and_lm_cg_forces_cg():
    obj = _objective(None)
    assert sum(p.numel() for p in obj.params) <= DENSE_MAX
    assert LevenbergMarquardt(obj).solver == "dense"
    assert LevenbergMarquardt(obj, dense_max=10).solver == "cg"
    assert kp.OPTIMIZERS["lm-cg"]().build(obj).solver == "cg"
    runs = {
        name: kp.solve(
            kp.load_problem("poisson1d"),
            kp.KAN([1, 4, 1], grid=3),
            optimizer=name,
            steps=8,
            grids=(3,),
            n_interior=64,
            chunk_size=20,
            log_every=1,
        )
        for name in ("lm", "lm-cg")
    }
    dense, free = (runs[k].history for k in ("lm", "lm-cg"))
    assert free[-1]["loss"] < 0.05 * free[0]["loss"]
    for a, b in zip(dense, free, strict=True):  # the CG stops at a relative residual of 1e-6
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)


def test_a_chunked_solve_follows_the_unchunked_one():
    options = {
        "grids": (3,),
        "optimizer": [("adam", 3), ("lbfgs", 3), ("lm", 3)],
        "n_interior": 50,
        "n_boundary": 16,
        "log_every": 1,
        "device": "cpu",
    }
    a = kp.solve(PROBLEM, kp.KAN([2, 3, 2], grid=3), chunk_size=40, **options)
    b = kp.solve(PROBLEM, kp.KAN([2, 3, 2], grid=3), chunk_size=DEFAULT_CHUNK_SIZE, **options)
    assert a.settings.runtime.chunk_size == 40
    assert [r["step"] for r in a.history] == [r["step"] for r in b.history] == list(range(1, 10))
    for x, y in zip(a.history, b.history, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-11)
    assert a.unknowns["k"] == pytest.approx(b.unknowns["k"], rel=1e-11)
    assert a.history[-1]["loss"] < 0.2 * a.history[0]["loss"]


@pytest.mark.parametrize("adapt", [{"point_weights": "rba"}, {"resample_every": 2}])
def test_adaptive_options_see_the_same_residual_in_chunks(adapt):
    """RBA weights and RAD resampling read the residual of every chunk in point order and scale each
    chunk's own rows: a chunked solve follows the unchunked one."""
    options = {"grids": (3,), "optimizer": [("lm", 6)], "n_interior": 50, "n_boundary": 16, "log_every": 1}
    a = kp.solve(PROBLEM, kp.KAN([2, 3, 2], grid=3), chunk_size=17, device="cpu", **options, **adapt)
    b = kp.solve(PROBLEM, kp.KAN([2, 3, 2], grid=3), device="cpu", **options, **adapt)
    for x, y in zip(a.history, b.history, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-10)
    assert a.history[-1]["loss"] < 0.5 * a.history[0]["loss"]


def test_resume_inside_a_chunked_matrix_free_stage_is_bit_identical(tmp_path):
    options = {"grids": (3,), "optimizer": [("lm-cg", 6)], "n_interior": 40, "log_every": 1, "chunk_size": 11}
    problem = kp.load_problem("poisson1d")
    full = kp.solve(problem, kp.KAN([1, 4, 1], grid=3), **options)
    part = kp.solve(problem, kp.KAN([1, 4, 1], grid=3), stop_after=3, **options)
    done = kp.resume(kp.load(part.save(tmp_path / "part.pt")))
    for p, q in zip(full.model.parameters(), done.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_options_are_refused_where_they_enter():
    obj = _objective(None)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        SolveSettings(chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be a positive integer"):
        PINNLoss(PROBLEM, obj.loss.points, "forward", chunk_size=2.5)
    with pytest.raises(ValueError, match="unknown Gauss-Newton solver 'qr'; valid ones: auto, dense, cg"):
        LevenbergMarquardt(obj, solver="qr")
    chunked = _objective(9)
    with pytest.raises(ValueError, match="compile needs the loss in one chunk.*8 chunks"):
        Objective(copy.deepcopy(chunked.model), chunked.loss, compile="eager")
