"""Levenberg-Marquardt on nonlinear least squares, and the residual vector and Jacobian it is fed.

The optimiser runs on small stand-in objectives whose residual and Jacobian are written by hand: Rosenbrock's
function as a least-squares problem (the plain Gauss-Newton step from (-1.2, 1) raises the loss 100-fold, so
trials are rejected and retried), and an exponential fit with a duplicated parameter (an exactly singular
``JᵀJ`` whose Cholesky factorisation fails until the damping is large enough). Every step is checked against
the rule in :mod:`kanpde.optim`'s docstring, recomputed here from the stand-in's numbers.

:meth:`kanpde.loss.PINNLoss.residual_and_jacobian` is checked against a residual vector built by hand with
nested autograd (every row and every Jacobian entry), and against the loss and its autograd gradient:
``|r̃|² = L`` and ``Jᵀr̃ = ½ ∇L``, with a two-column Periodic condition and unequal weights, on a KAN and an MLP.
"""

import dataclasses
import math

import pytest
import torch

import kanpde as kp
from kanpde.distributed import Comm
from kanpde.loss import PINNLoss, sample_collocation
from kanpde.optim import LevenbergMarquardt

F64 = torch.float64
LAM_MIN, LAM_MAX = 1e-15, 1e10  # the damping bounds documented in kanpde.optim
ACCEPT = 1e-4  # a trial is accepted when its gain ratio exceeds this


class _LeastSquares:
    """A stand-in objective with what LM uses; ``fn(θ) -> (r (M,), J (M, P))`` is written by hand."""

    class _Loss:
        mode = "forward"

        def __init__(self, owner):
            self.owner = owner

        def residual_and_jacobian(self, model):
            r, jac = self.owner.fn(self.owner.theta)
            return r, jac, (r @ r)[None]

    def __init__(self, fn, theta0):
        self.fn = fn
        self.theta = torch.tensor(theta0, dtype=F64)
        self.params = [self.theta]
        self.loss, self.comm, self.model, self.evaluations = self._Loss(self), Comm(), None, 0

    def flat(self):
        return self.theta.clone()

    def assign(self, flat):
        self.theta.copy_(flat)

    def value(self):
        self.evaluations += 1
        r, _ = self.fn(self.theta)
        return r @ r


def rosenbrock(theta):
    """r = (10 (θ₂ - θ₁²), 1 - θ₁): minimum 0 at (1, 1); J = [[-20 θ₁, 10], [-1, 0]] has full rank."""
    a, b = float(theta[0]), float(theta[1])
    r = torch.tensor([10 * (b - a * a), 1 - a], dtype=F64)
    jac = torch.tensor([[-20 * a, 10.0], [-1.0, 0.0]], dtype=F64)
    return r, jac


# t chosen so that |t|² = 7.5625 = 2.75² exactly: at θ = 0 the two equal Jacobian columns are -t and the
# Cholesky factorisation of [[a, a], [a, a]] meets the pivot a - (a / √a)² = 0 exactly (no round-off).
T_DUP = torch.tensor([0.25, 0.5, 1.0, 1.5, 2.0], dtype=F64)
K_TRUE = 0.7


def duplicated_rate(theta):
    """r_i = exp(-(θ₁ + θ₂) t_i) - exp(-0.7 t_i): only θ₁ + θ₂ matters, so JᵀJ is singular."""
    e = torch.exp(-(theta[0] + theta[1]) * T_DUP)
    column = -T_DUP * e
    return e - torch.exp(-K_TRUE * T_DUP), torch.stack([column, column], dim=1)


def _damped_step(fn, x, lam):
    """The LM trial at damping ``lam``: δ solving (JᵀJ + λ s I) δ = -Jᵀr (s = max diag JᵀJ), with its
    gain ratio ρ = (L(x) - L(x + δ)) / (L(x) - |r + Jδ|²)."""
    r, jac = fn(x)
    a, g = jac.T @ jac, jac.T @ r
    s = float(a.diagonal().max())
    delta = torch.linalg.solve(a + lam * s * torch.eye(a.shape[0], dtype=F64), -g)
    r_new, _ = fn(x + delta)
    predicted = float(r @ r - (r + jac @ delta).square().sum())
    rho = float(r @ r - r_new @ r_new) / predicted if predicted > 0 else -1.0
    return delta, rho


def _check_step(fn, x, theta, lam_before, lam_after, trials):
    """One accepted LM step from ``x`` to ``theta`` after ``trials`` loss evaluations, checked against the
    documented rule: each rejected trial multiplies λ by ν = 2, 4, 8, ...; the accepted δ solves the damped
    normal equations at the last λ, its ρ exceeds 1e-4 and the new λ is λ·max(1/3, 1 - (2ρ - 1)³), clipped.
    Returns the number of rejected trials."""
    rejected = trials - 1
    for i in range(rejected):  # every rejected trial was rightly rejected
        _, rho = _damped_step(fn, x, lam_before * 2.0 ** (i * (i + 1) // 2))
        assert not rho > ACCEPT, (i, rho)
    lam = lam_before * 2.0 ** (rejected * (rejected + 1) // 2)
    delta, rho = _damped_step(fn, x, lam)
    # the step taken is that solution (up to the round-off of x + δ)
    assert float((theta - x - delta).norm()) <= 1e-9 * float(delta.norm()) + 1e-15 * float(x.norm())
    assert rho > ACCEPT
    expected = min(max(lam * max(1 / 3, 1 - (2 * rho - 1) ** 3), LAM_MIN), LAM_MAX)
    assert lam_after == pytest.approx(expected, rel=1e-9)
    return rejected


@pytest.mark.parametrize("damping", [1e-3, 1e-12])
def test_lm_follows_its_documented_rule_on_rosenbrock(damping):
    """Every step from (-1.2, 1) is the damped Gauss-Newton step of the current λ, rejected trials included;
    the loss falls monotonically to 0 at (1, 1), where the damped step no longer changes the parameters
    (x + δ == x in floating point): the stage converges at once, "converged", without a trial evaluation of
    the loss, and the parameters and λ stay."""
    obj = _LeastSquares(rosenbrock, [-1.2, 1.0])
    lm = LevenbergMarquardt(obj, damping=damping)
    losses, rejections = [], []
    for _ in range(40):
        x, lam, before = obj.flat(), lm.lam, obj.evaluations
        result = lm.step()
        trials = obj.evaluations - before - 1  # one evaluation is the residual and Jacobian
        if lm.converged:
            assert trials == 0 and lm.stop_reason == "converged"
            assert torch.equal(obj.flat(), x) and lm.lam == lam
            break
        rejections.append(_check_step(rosenbrock, x, obj.flat(), lam, lm.lam, trials))
        r, _ = rosenbrock(x)
        assert float(result.loss) == float(r @ r)  # the loss at the parameters the step started from
        losses.append(float(result.loss))
    assert lm.converged and len(losses) <= 25
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert float((obj.theta - torch.ones(2, dtype=F64)).abs().max()) <= 1e-12
    assert sum(rejections) >= 3  # the rejection path was exercised
    if damping == 1e-12:  # a near Gauss-Newton first step overshoots: 24.2 -> about 2300
        _, rho = _damped_step(rosenbrock, torch.tensor([-1.2, 1.0], dtype=F64), damping)
        assert rho < 0 and rejections[0] >= 5


def test_lm_restores_the_parameters_when_every_trial_fails():
    """With too few tries to reach a damping that lowers the loss, the step ends where it started."""
    obj = _LeastSquares(rosenbrock, [-1.2, 1.0])
    x = obj.flat()
    lm = LevenbergMarquardt(obj, damping=1e-12, max_tries=3)
    result = lm.step()
    assert lm.converged
    assert torch.equal(obj.theta, x)
    assert obj.evaluations == 1 + 3
    assert float(result.loss) == pytest.approx(24.2, rel=1e-15)
    assert lm.lam == pytest.approx(1e-12 * 2 * 4 * 8, rel=1e-15)  # ν doubled after each failure


def test_a_redefined_loss_restarts_the_stall_window_but_keeps_a_failed_descent():
    """``loss_changed`` (new points or weights): a loss that rises on the new loss is no stall, so the window
    restarts; a step on which no damping lowered the loss still ends the stage."""
    obj = _LeastSquares(rosenbrock, [-1.2, 1.0])
    lm = LevenbergMarquardt(obj, stall_window=3, stall_tol=0.0)
    for loss in (0.2, 0.1, 0.05, 0.5):  # 0.5: the first loss on new points
        lm._record(loss)
    assert lm.converged  # read as a stall against losses of the old points
    lm.loss_changed()
    assert not lm.converged and lm.losses == []
    lm._record(0.4)
    assert not lm.converged
    failing = LevenbergMarquardt(_LeastSquares(rosenbrock, [-1.2, 1.0]), damping=1e-12, max_tries=3)
    failing.step()
    assert failing.converged and failing.no_descent
    failing.loss_changed()
    assert failing.converged
    other = LevenbergMarquardt(obj)
    other.load_state_dict(failing.state_dict())
    assert other.no_descent and other.converged


def test_lm_damping_stays_at_or_above_its_lower_bound():
    obj = _LeastSquares(rosenbrock, [0.99, 0.98])  # near the minimum: the Gauss-Newton step is good
    lm = LevenbergMarquardt(obj, damping=1e-20)
    x, before = obj.flat(), obj.evaluations
    lm.step()
    assert obj.evaluations - before == 2 and not lm.converged  # accepted at once: λ shrank, then was clipped
    assert _check_step(rosenbrock, x, obj.flat(), 1e-20, lm.lam, 1) == 0
    assert lm.lam == LAM_MIN
    r0, _ = rosenbrock(x)
    r1, _ = rosenbrock(obj.theta)
    assert float(r1 @ r1) < 0.02 * float(r0 @ r0)  # 1.01e-4 -> 1.0e-6


def test_lm_damps_more_when_the_cholesky_factorisation_fails(monkeypatch):
    """On the exactly singular JᵀJ the factorisation fails while λ s is below round-off of the diagonal; LM
    raises λ and refactorises without evaluating the loss, then takes a step that lowers it, and goes on to
    fit the identifiable combination θ₁ + θ₂ = 0.7."""
    infos = []
    real = torch.linalg.cholesky_ex

    def spy(matrix):
        factor, info = real(matrix)
        infos.append(int(info))
        return factor, info

    monkeypatch.setattr(torch.linalg, "cholesky_ex", spy)
    obj = _LeastSquares(duplicated_rate, [0.0, 0.0])
    lm = LevenbergMarquardt(obj, damping=1e-18)
    r0, _ = duplicated_rate(obj.theta)
    result = lm.step()
    # λ s: 1e-18 s, 2e-18 s, 8e-18 s are below half an ulp of the diagonal (4.4e-16): three failures
    assert [i != 0 for i in infos] == [True, True, True, False], infos
    assert obj.evaluations == 2  # the failed factorisations cost no loss evaluation
    assert float(result.loss) == float(r0 @ r0)
    r1, _ = duplicated_rate(obj.theta)
    assert float(r1 @ r1) < 0.2 * float(r0 @ r0)
    assert lm.lam == LAM_MIN and not lm.converged
    for _ in range(15):
        lm.step()
    assert abs(float(obj.theta.sum()) - K_TRUE) <= 1e-10


# ----------------------------------------------------------------------------------------------------------
# PINNLoss.residual_and_jacobian against nested autograd
# ----------------------------------------------------------------------------------------------------------

WEIGHTS = {"residual": 0.3, "periodic": 2.0, "robin": 0.5, "dirichlet": 1.5}


def _mixed_problem():
    """Δu + 0.3 u_xy = sin x on [0, 1] x [0, 2]; periodic in x, Robin u - 0.5 u_y = 0.2 on y = 0, u = 0 on
    y = 2; unequal weights on every term."""
    return kp.Problem(
        domain=kp.Rectangle((0.0, 0.0), (1.0, 2.0)),
        residual=lambda x, u: u.laplacian() + 0.3 * u.d("x", "y") - torch.sin(x[:, 0]),
        conditions=[
            kp.Periodic("x", weight=WEIGHTS["periodic"]),
            kp.Robin(a=1.0, b=0.5, g=0.2, on="ymin", weight=WEIGHTS["robin"]),
            kp.Dirichlet(value=0.0, on="ymax", weight=WEIGHTS["dirichlet"]),
        ],
        residual_weight=WEIGHTS["residual"],
        name="mixed",
    )


def _model(family: str, d: int):
    if family == "kan":
        return kp.KAN([d, 4, 1], grid=5, seed=3)
    return kp.MLP([d, 6, 6, 1], seed=3)


def _autograd_derivatives(model, x):
    """u, ∇u and the second derivatives u_xx, u_yy, u_xy at ``x`` by nested autograd (graph kept)."""
    x = x.detach().clone().requires_grad_(True)
    u = model(x)[:, 0]
    g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]  # (N, 2)
    hx = torch.autograd.grad(g[:, 0].sum(), x, create_graph=True)[0]  # (N, 2): u_xx, u_xy
    hy = torch.autograd.grad(g[:, 1].sum(), x, create_graph=True)[0]  # (N, 2): u_yx, u_yy
    return u, g, hx[:, 0], hy[:, 1], hx[:, 1]


def _mixed_residual_by_hand(model, points, counts):
    """r̃ of the mixed problem, term by term and column by column: sqrt(w/N) times each residual."""
    scale = [math.sqrt(w / n) for w, n in zip(WEIGHTS.values(), counts, strict=True)]
    x = points.interior
    u, _, uxx, uyy, uxy = _autograd_derivatives(model, x)
    interior = uxx + uyy + 0.3 * uxy - torch.sin(x[:, 0])
    periodic, robin, dirichlet = points.conditions
    u_lo, g_lo, *_ = _autograd_derivatives(model, periodic["lo"])
    u_hi, g_hi, *_ = _autograd_derivatives(model, periodic["hi"])
    u_r, g_r, *_ = _autograd_derivatives(model, robin["x"])
    normal_derivative = (g_r * robin["normals"]).sum(dim=1)
    u_d = model(dirichlet["x"])[:, 0]
    return torch.cat(
        [
            scale[0] * interior,
            scale[1] * (u_lo - u_hi),  # the Periodic condition's value column ...
            scale[1] * (g_lo[:, 0] - g_hi[:, 0]),  # ... then its x-derivative column
            scale[2] * (u_r + 0.5 * normal_derivative - 0.2),
            scale[3] * u_d,
        ]
    )


def _rows_by_autograd(r, params):
    """``(M, P)``: row ``i`` is the autograd gradient of ``r[i]`` with respect to ``params``."""
    rows = []
    for i in range(r.shape[0]):
        grads = torch.autograd.grad(r[i], params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                    for g, p in zip(grads, params, strict=True)
                ]
            )
        )
    return torch.stack(rows)


def _gradient(loss, model):
    total, parts = loss(model)
    grads = torch.autograd.grad(total, list(model.parameters()))
    return total.detach(), parts.detach(), torch.cat([g.reshape(-1) for g in grads])


def _close(a, b, tol=1e-11):
    assert float((a - b).abs().max()) <= tol * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("family", ["kan", "mlp"])
def test_residual_and_jacobian_equal_a_hand_built_residual_and_autograd(family):
    problem = _mixed_problem()
    model = _model(family, 2)
    model.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 20, 10, 0, "sobol", 0, F64, "cpu")
    loss = PINNLoss(problem, points, "forward")
    r, jac, parts = loss.residual_and_jacobian(model)  # on a fresh loss, as in LM's first step
    expected = _mixed_residual_by_hand(model, points, loss.counts)
    assert r.shape == (20 + 2 * 10 + 10 + 10,) and jac.shape == (r.shape[0], model.num_parameters)
    _close(r, expected.detach(), 1e-12)
    _close(jac, _rows_by_autograd(expected, list(model.parameters())))
    total, parts_ref, grad = _gradient(loss, model)
    assert float(r @ r) == pytest.approx(float(total), rel=1e-12)
    _close(parts, parts_ref, 1e-12)
    _close(jac.T @ r, 0.5 * grad)
    assert float(parts[1]) > 1e-3 * float(total)  # the Periodic term carries weight in the check
    again = loss.residual_and_jacobian(model)  # a second call (the plan settled) gives the same numbers
    _close(again[0], r, 1e-14)
    _close(again[1], jac, 1e-14)


@pytest.mark.parametrize("family", ["kan", "mlp"])
@pytest.mark.parametrize("name", ["heat1d", "poisson_disk", "poisson_mixed"])
def test_residual_and_jacobian_reproduce_the_loss_and_half_its_gradient(name, family):
    problem = kp.load_problem(name)
    problem = dataclasses.replace(problem, residual_weight=0.25)
    model = _model(family, problem.domain.dim)
    model.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 40, 16, 12, "sobol", 1, F64, "cpu")
    loss = PINNLoss(problem, points, "forward")
    r, jac, parts = loss.residual_and_jacobian(model)
    total, parts_ref, grad = _gradient(loss, model)
    rows = sum(c * n for c, n in zip(_columns(loss, model), loss.counts, strict=True))
    assert r.shape == (rows,) and jac.shape == (rows, model.num_parameters)
    assert float(r @ r) == pytest.approx(float(total), rel=1e-12)
    _close(parts, parts_ref, 1e-12)
    _close(jac.T @ r, 0.5 * grad)
    assert float(grad.abs().max()) > 1e-2


def _columns(loss, model):
    """Residual columns of every term (Periodic has two)."""
    with torch.no_grad():
        return [loss.term_residual(model, t).shape[1] for t in range(len(loss.weights))]
