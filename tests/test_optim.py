"""Optimiser building blocks: the blocked Gram matrix, the L-BFGS direction and Levenberg-Marquardt on a known
least squares."""

import pytest
import torch

import kanpde as kp
from kanpde.distributed import Comm
from kanpde.optim import LBFGS, LevenbergMarquardt, gram


@pytest.mark.parametrize("shape", [(50, 7), (300, 257), (1000, 611)])
def test_gram_equals_the_full_product_and_is_symmetric(shape):
    gen = torch.Generator().manual_seed(0)
    jac = torch.randn(*shape, generator=gen, dtype=torch.float64)
    a = gram(jac)
    full = jac.T @ jac
    assert float((a - full).abs().max()) <= 1e-12 * float(full.abs().max())
    assert torch.equal(a, a.T)


class _Linear:
    """A stand-in objective with residual r(θ) = Aθ - b (forward mode), so LM's answer is lstsq's."""

    class _Loss:
        mode = "forward"

        def __init__(self, owner):
            self.owner = owner

        def residual_and_jacobian(self, model):
            o = self.owner
            r = o.a @ o.theta - o.b
            return r, o.a.clone(), (r @ r)[None]

    def __init__(self, m, p, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.a = torch.randn(m, p, generator=gen, dtype=torch.float64)
        self.b = torch.randn(m, generator=gen, dtype=torch.float64)
        self.theta = torch.zeros(p, dtype=torch.float64)
        self.params = [self.theta]
        self.loss, self.comm, self.model, self.evaluations = self._Loss(self), Comm(), None, 0

    def flat(self):
        return self.theta.clone()

    def assign(self, flat):
        self.theta.copy_(flat)

    def value(self):
        self.evaluations += 1
        r = self.a @ self.theta - self.b
        return r @ r


def test_lm_reaches_the_least_squares_solution():
    obj = _Linear(80, 12)
    lm = LevenbergMarquardt(obj, damping=1e-8)
    for _ in range(5):
        lm.step()
    exact = torch.linalg.lstsq(obj.a, obj.b[:, None]).solution[:, 0]
    assert float((obj.theta - exact).abs().max()) < 1e-10


def test_matrix_free_lm_reaches_the_least_squares_solution():
    """CG on the damped system of a linear least squares: the first step's damping 1e-12 leaves an error of
    about 6e-13, after which no trial lowers the loss any more (a decrease below round-off)."""
    obj = _Linear(80, 12)
    lm = LevenbergMarquardt(obj, damping=1e-12, solver="cg", cg_tol=1e-14, cg_max_iter=100)
    lm.step()
    assert lm.solver == "cg" and 12 <= lm.cg_iterations <= 20  # P = 12: CG converges in about P steps
    for _ in range(3):
        lm.step()
    exact = torch.linalg.lstsq(obj.a, obj.b[:, None]).solution[:, 0]
    assert float((obj.theta - exact).abs().max()) < 1e-11 and lm.converged


def test_lm_declares_a_stall_and_keeps_it_in_its_state():
    obj = _Linear(40, 5)
    lm = LevenbergMarquardt(obj, stall_window=3, stall_tol=1e-3)
    for loss in (1.0, 0.5, 0.25, 0.2):
        lm._record(loss)
        assert not lm.converged  # fell by more than 0.1% over the last 3 steps
    for loss in (0.19999, 0.19998, 0.19997):
        lm._record(loss)
    assert lm.converged
    other = LevenbergMarquardt(obj, stall_window=3)
    other.load_state_dict(lm.state_dict())
    assert other.losses == lm.losses == [0.2, 0.19999, 0.19998, 0.19997]


def test_lbfgs_drops_its_cached_loss_when_the_loss_changes():
    obj = _Linear(30, 4)
    opt = LBFGS(obj)
    opt._current = (torch.tensor(1.0), torch.zeros(1), torch.zeros(4))
    opt.loss_changed()
    assert opt._current is None


def test_lm_stops_at_the_minimum_of_a_linear_problem():
    obj = _Linear(60, 8)
    lm = LevenbergMarquardt(obj, damping=1e-8, stall_window=2)
    steps = 0
    while not lm.converged and steps < 50:
        lm.step()
        steps += 1
    assert lm.converged and steps <= 6


def _two_loop(s_list, y_list, g):
    """Nocedal & Wright's two-loop recursion (Algorithm 7.4), the textbook oracle for ``-H g``."""
    q, alphas = g.clone(), []
    for s, y in zip(reversed(s_list), reversed(y_list), strict=True):
        a = torch.dot(s, q) / torch.dot(y, s)
        q -= a * y
        alphas.append(a)
    q *= torch.dot(s_list[-1], y_list[-1]) / torch.dot(y_list[-1], y_list[-1])
    for s, y, a in zip(s_list, y_list, reversed(alphas), strict=True):
        q += (a - torch.dot(y, q) / torch.dot(y, s)) * s
    return -q


@pytest.mark.parametrize("m", [1, 4, 10])
def test_lbfgs_compact_direction_equals_the_two_loop_recursion_and_the_secant_condition(m):
    gen = torch.Generator().manual_seed(m)
    p = 40
    b = torch.randn(p, p, generator=gen, dtype=torch.float64)
    hessian = b @ b.T + p * torch.eye(p, dtype=torch.float64)  # SPD, so every pair has s·y > 0
    opt = LBFGS.__new__(LBFGS)
    opt.s = [torch.randn(p, generator=gen, dtype=torch.float64) for _ in range(m)]
    opt.y = [hessian @ s for s in opt.s]
    g = torch.randn(p, generator=gen, dtype=torch.float64)
    d = opt._direction(g)
    oracle = _two_loop(opt.s, opt.y, g)
    assert float((d - oracle).abs().max()) <= 1e-12 * float(oracle.abs().max())
    # H y_m = s_m: the newest pair is reproduced exactly
    secant = opt._direction(opt.y[-1])
    assert float((secant + opt.s[-1]).abs().max()) <= 1e-12 * float(opt.s[-1].abs().max())


class _Plateau(_Linear):
    """The issue-27 plateau: every damped trial evaluates to the same loss, a little below the loss of the
    linearisation (two evaluations of one loss differing by round-off), so every step is accepted while the
    loss it records never moves."""

    def __init__(self, m, p, plateau, seed=0):
        super().__init__(m, p, seed)
        self.theta += 1.0
        r = self.a @ self.theta - self.b
        self.plateau = (
            torch.as_tensor(float(r @ r) * 1e-3, dtype=torch.float64) if plateau is None else plateau
        )

    def value(self):
        self.evaluations += 1
        return self.plateau.clone()


@pytest.mark.parametrize("tol", [0.0, 1e-6])
def test_lm_stage_whose_loss_stays_constant_stalls_after_the_window(tol):
    """A loss that does not move at all is a stall at any tolerance, 0 included (``<=``, not ``<``): the
    stage ends "stalled" after exactly ``stall_window`` accepted steps past the first, not after its steps."""
    obj = _Plateau(40, 5, None)
    lm = LevenbergMarquardt(obj, stall_window=4, stall_tol=tol)
    steps = 0
    while not lm.converged and steps < 50:
        lm.step()
        steps += 1
    assert lm.converged and not lm.no_descent and lm.stop_reason == "stalled"
    assert steps == 4 + 1 and lm.losses == [float(obj.plateau)] * 5
    other = LevenbergMarquardt(obj, stall_window=4)
    other.load_state_dict(lm.state_dict())
    assert other.converged and other.stop_reason == "stalled"
    lm.loss_changed()  # a new loss: the window restarts and the stage goes on
    assert not lm.converged and lm.stop_reason is None


def test_lm_stage_ends_converged_when_a_step_no_longer_moves_the_parameters():
    """At the least-squares solution of a problem with a large θ the Gauss-Newton step is below the round-off
    of θ (x + δ == x): the stage ends "converged" at once, with the parameters and λ as they were and no
    trial evaluation of the loss (its "decrease" would be round-off between two evaluations)."""
    obj = _Linear(40, 5)
    obj.theta.copy_(torch.linspace(1e6, 2e6, 5, dtype=torch.float64))
    null = obj.b - obj.a @ torch.linalg.lstsq(obj.a, obj.b[:, None]).solution[:, 0]  # orthogonal to range(A)
    obj.b = obj.a @ obj.theta + null  # theta is the minimiser; the residual stays |null| > 0
    x, before = obj.flat(), obj.evaluations
    lm = LevenbergMarquardt(obj, damping=1e-3, stall_window=4, stall_tol=0.0)
    lm.step()
    assert lm.converged and lm.no_descent and lm.stop_reason == "converged"
    assert torch.equal(obj.theta, x) and lm.lam == 1e-3
    assert obj.evaluations == before + 1  # the linearisation; no trial


def test_the_progress_bar_says_why_the_last_grid_stopped(capsys):
    """A last grid that ends by the stall rule says "stalled" at the end of the bar, as its history does."""
    sol = kp.solve(
        kp.load_problem("poisson2d"),
        kp.KAN([2, 5, 1], grid=5, seed=0),
        optimizer=[(kp.LM(final_stall_tol=1e-2), 60)],
        grids=(5,),
        n_interior=200,
        n_boundary=40,
        progress=True,
    )
    assert sol.history[-1]["stopped"] == "stalled" and sol.trainer_state.step < 60
    assert capsys.readouterr().err.rstrip().endswith("stalled]")


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_marquardt_damping_solves_the_diagonally_damped_system(solver):
    """On a linear least squares with columns of scales 1e-3 .. 1e3, the first step from 0 is accepted
    (the gain ratio of a linear problem is 1) and is the solution of
    (AᵀA + λ (diag(AᵀA) + 1e-6 max diag(AᵀA))) δ = -Aᵀr, not the uniformly damped one."""
    obj = _Linear(60, 7)
    obj.a *= torch.logspace(-3, 3, 7, dtype=torch.float64)
    lam = 0.5
    lm = LevenbergMarquardt(
        obj, damping=lam, solver=solver, scaling="marquardt", cg_tol=1e-14, cg_max_iter=200
    )
    lm.step()
    ata, g = obj.a.T @ obj.a, obj.a.T @ (-obj.b)  # r(0) = -b
    d = ata.diagonal()
    expected = -torch.linalg.solve(ata + lam * torch.diag(d + 1e-6 * d.max()), g)
    uniform = -torch.linalg.solve(ata + lam * d.max() * torch.eye(7, dtype=torch.float64), g)
    assert float((obj.theta - expected).norm()) <= 1e-9 * float(expected.norm())
    assert float((expected - uniform).norm()) > 0.1 * float(expected.norm())


def test_lm_refuses_an_unknown_scaling():
    with pytest.raises(ValueError, match="uniform, marquardt"):
        LevenbergMarquardt(_Linear(10, 2), scaling="diag")


def test_marquardt_damping_fits_a_fine_grid_kan_where_the_uniform_damping_stalls():
    """A KAN [2, 5, 1] on grid 20 fitted to sin(4πx) sin(3πy) on 400 points in 40 LM steps: the uniform
    damping λ s I (s the largest diagonal entry of JᵀJ) rejects its Gauss-Newton steps until λ is large and
    the loss stays near 0.19; λ diag(JᵀJ) brings it to about 3e-6 (kanpde.optim's docstring)."""
    import math

    def residual(x, u):
        return u.value - torch.sin(4 * math.pi * x[:, 0]) * torch.sin(3 * math.pi * x[:, 1])

    problem = kp.Problem(
        domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)), residual=residual,
        conditions=[kp.Dirichlet(0.0, hard=True)], name="fit",
    )  # fmt: skip
    final = {}
    for scaling in ("uniform", "marquardt"):
        sol = kp.solve(
            problem, kp.KAN([2, 5, 1], grid=20, seed=0), steps=40, n_interior=400, seed=0, grids=(20,),
            lm_scaling=scaling, log_every=10**6,
        )  # fmt: skip
        final[scaling] = sol.history[-1]["loss"]
    assert final["marquardt"] < 1e-4 and final["uniform"] > 0.1
