"""Optimisers for one training stage: Adam, L-BFGS and Levenberg-Marquardt (dense or matrix-free).

Every optimiser works on a :class:`Objective` (the model and its loss) and exposes ``step() -> StepResult``,
a counter of loss(-and-gradient) evaluations and ``loss_changed()``, which the trainer calls when it
redefines the loss (RAD's new points, RBA or causal weights): what was measured on the old loss is dropped
(L-BFGS's cached loss and gradient, Levenberg-Marquardt's stall window), since comparing losses of two
functions makes a rise on new points read as a failed line search or a stall. A non-finite loss or gradient raises
:class:`NonFiniteError`; the trainer stops the stage and restores the best parameters.

* **Adam** - ``torch.optim.Adam``.
* **L-BFGS** - two-loop recursion on the last ``history`` pairs ``(s, y)`` with a strong-Wolfe line search
  (PyTorch's); one step is one iteration, and the loss and gradient found by the line search are reused by
  the next step, so no evaluation is repeated.
* **Levenberg-Marquardt** - with the stacked residual ``r`` and its exact Jacobian ``J``
  (:meth:`~kanpde.loss.PINNLoss.residual_and_jacobian`) solve ``(JᵀJ + λ s I) δ = -Jᵀr`` by Cholesky,
  with ``s`` the largest diagonal entry of ``JᵀJ``. (An eigendecomposition would make every trial ``λ``
  cheap, but LAPACK's symmetric eigensolver is 50x slower than a Cholesky factorisation on the nearly
  singular ``JᵀJ`` of a KAN, whose spline scale and coefficients are redundant. Per-parameter (Marquardt)
  scaling ``diag(JᵀJ)`` descends faster but lets coefficients that few points see move freely: on a fine
  grid the residual between the collocation points grew 100x. It is the option ``scaling="marquardt"``,
  ``λ (diag(JᵀJ) + 10⁻⁶ s)``, for where the uniform damping stalls: a KAN [2, 10, 3] of grid 20 fitted to
  ``sin(4πx) sin(3πy)`` on 1000 points rejected its Gauss-Newton steps until ``λ`` reached 40, and its loss went
  from 0.75 to 0.45 in 200 iterations, where the Marquardt damping reached 8e-9.) A trial is accepted when the gain ratio
  ``ρ = (L(θ) - L(θ+δ)) / (L(θ) - |r + Jδ|^2)`` exceeds ``1e-4``; then ``λ ← λ · max(1/3, 1 - (2ρ - 1)^3)``
  (Nielsen's rule), otherwise ``λ ← λ ν``, ``ν ← 2ν`` and the step is retried. (Capping ``ν`` at 4 was
  tried: it ended poisson2d_sin 5x and helmholtz2d 4x less accurate; the fast growth of ``λ`` after
  failures seems to let the run leave poor basins.) The stage ends ``"converged"`` when ``max_tries``
  trials fail or a step no longer changes the parameters (``θ + δ == θ`` in floating point: the "decrease"
  the trial showed was round-off between two evaluations of the loss, and more damping moves less), and
  ``"stalled"`` when ``stall_window`` accepted steps lowered the loss by at most ``stall_tol`` of its value
  (losses of one loss function only: the window restarts when the loss is redefined, so with weights that
  change every step the stall rule is off and only failed trials end the stage). ``stop_reason`` says which.

**At scale.** Every optimiser goes over the loss's chunks (:attr:`kanpde.loss.PINNLoss.chunks`) one at a
time: the gradient, ``JᵀJ`` and ``Jᵀr`` are sums of the chunks' (and the ranks'), so memory is
``P² + chunk·P`` for Gauss-Newton and one chunk's graph for Adam and L-BFGS, never ``N·P``. Above
:data:`DENSE_MAX` parameters ``"lm"`` solves the damped system matrix-free, by conjugate gradients
preconditioned with ``diag(JᵀJ) + λ s`` on products ``JᵀJ v = Σ_c J_cᵀ (J_c v)`` of the exact Jacobian rows
(kept while they fit :data:`KEEP_BYTES`, else rebuilt per product), stopped at a relative residual
:data:`CG_TOL` or after :data:`CG_MAX_ITER` products; ``"lm-cg"`` does so at any size. Damping and
acceptance are the same; the predicted decrease uses the truncated ``δ`` and its exact ``Jδ``. Why rows and
not autograd products: on KAN [2,40,40,1] (25 881 parameters, 2 900 points) one ``JᵀJ v`` over the kept
rows took 0.15 s, one backward pass for ``Jᵀw`` alone 2.2 s. Why the threshold: at equal wall time the
matrix-free solver reached a lower loss from 3 073 parameters on, the dense one at 1 321
(``results/scale.md``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.optim.lbfgs import _strong_wolfe

from ._checks import check_compile_backend
from .distributed import Comm

__all__ = [
    "Objective",
    "StageStop",
    "NonFiniteError",
    "LineSearchError",
    "StepResult",
    "Adam",
    "LBFGS",
    "LevenbergMarquardt",
    "loss_chunks",
]


SCALINGS = ("uniform", "marquardt")
"""Damping of the Gauss-Newton system: ``"uniform"`` adds ``λ s I`` (``s`` the largest diagonal entry of
``JᵀJ``), ``"marquardt"`` adds ``λ (diag(JᵀJ) + MARQUARDT_FLOOR · s)``."""

MARQUARDT_FLOOR = 1e-6
"""The ``"marquardt"`` damping's floor relative to ``s``: parameters that no residual sees stay damped."""

SOLVERS = ("auto", "dense", "cg")
"""Solvers of the damped Gauss-Newton system: ``"dense"`` (Cholesky of ``JᵀJ``), ``"cg"`` (matrix-free) and
``"auto"`` (dense up to :data:`DENSE_MAX` parameters)."""

DENSE_MAX = 6000
"""Largest model (parameters) that ``"lm"`` solves densely; above it, matrix-free."""

CG_TOL = 1e-6
"""Relative residual at which the matrix-free solver's CG stops."""

CG_MAX_ITER = 200
"""Most CG iterations (``JᵀJ`` products) per damped solve."""

KEEP_BYTES = 2**30
"""Jacobian rows the matrix-free solver keeps between products (bytes; more are rebuilt per product)."""


class StageStop(RuntimeError):
    """A reason to end the current stage early (the trainer restores the best parameters)."""


class NonFiniteError(StageStop):
    """The loss or its gradient became NaN or infinite."""


class LineSearchError(StageStop):
    """The L-BFGS line search found no point with a lower loss."""


@dataclass(frozen=True)
class StepResult:
    """Loss and per-term losses at the parameters the step started from (detached tensors)."""

    loss: Tensor
    parts: Tensor


class Objective:
    """The model's parameters as one flat vector, with the loss, its gradient and its residuals."""

    def __init__(self, model: nn.Module, loss, compile: str | None = None) -> None:
        if compile is not None:
            check_compile_backend(compile)  # a name in torch's registry, never e.g. "os.system"
        self.model, self.loss = model, loss
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.comm: Comm = getattr(loss, "comm", Comm())
        self.chunks = loss_chunks(loss)
        self.evaluations = 0
        self._loss_fn = loss
        if compile is not None and len(self.chunks) > 1:
            raise ValueError(
                f"compile needs the loss in one chunk, but its points are split into {len(self.chunks)} "
                "chunks; drop compile, or raise chunk_size to the number of points"
            )
        if compile is not None:
            # One eager call settles each term's derivative plan, so the compiled graph sees fixed shapes.
            loss(model)
            self._loss_fn = torch.compile(loss.__call__, backend=compile, dynamic=False)

    def flat(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    @torch.no_grad()
    def assign(self, flat: Tensor) -> None:
        offset = 0
        for p in self.params:
            n = p.numel()
            p.copy_(flat[offset : offset + n].view_as(p))
            offset += n

    def value_and_grad(self) -> tuple[Tensor, Tensor, Tensor]:
        """Loss, per-term losses and the flat gradient at the current parameters (summed over ranks); over
        several chunks, chunk by chunk (one chunk's graph alive at a time)."""
        if len(self.chunks) == 1:
            total, parts = self._loss_fn(self.model)
            total, parts, flat = total.detach(), parts.detach(), self._gradient(total)
        else:
            total = parts = flat = None
            for chunk in self.chunks:
                t, p = chunk(self.model)
                g = self._gradient(t)
                if total is None:
                    total, parts, flat = t.detach(), p.detach(), g
                else:
                    total, parts, flat = total + t.detach(), parts + p.detach(), flat + g
        self.evaluations += 1
        return self.comm.sum(total), self.comm.sum(parts), self.comm.sum(flat)

    def _gradient(self, total: Tensor) -> Tensor:
        grads = torch.autograd.grad(total, self.params, allow_unused=True)
        return torch.cat(
            [
                torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1)
                for g, p in zip(grads, self.params, strict=True)
            ]
        )

    def value(self) -> Tensor:
        """Loss at the current parameters, without a gradient (chunk by chunk)."""
        with torch.no_grad() if self.loss.mode == "forward" else torch.enable_grad():
            total = None
            for chunk in self.chunks:
                t = chunk(self.model)[0].detach()
                total = t if total is None else total + t
        self.evaluations += 1
        return self.comm.sum(total)


def loss_chunks(loss) -> tuple:
    """The chunks a loss evaluates in (:attr:`kanpde.loss.PINNLoss.chunks`); a loss without them is one."""
    return tuple(getattr(loss, "chunks", (loss,)))


def _check_finite(*tensors: Tensor) -> None:
    for t in tensors:
        if not bool(torch.isfinite(t).all()):
            raise NonFiniteError("the loss or its gradient is not finite (NaN or inf)")


class Adam:
    """``torch.optim.Adam`` with learning rate ``lr``."""

    converged = False

    def __init__(self, objective: Objective, lr: float = 1e-3) -> None:
        self.objective = objective
        self.opt = torch.optim.Adam(objective.params, lr=lr)

    def step(self) -> StepResult:
        loss, parts, grad = self.objective.value_and_grad()
        _check_finite(loss, grad)
        offset = 0
        for p in self.objective.params:
            p.grad = grad[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
        self.opt.step()
        return StepResult(loss, parts)

    def loss_changed(self) -> None:
        """The loss was redefined (new points or weights): nothing measured on the old one is kept here."""

    def state_dict(self) -> dict:
        """A copy of the state (torch's own dict shares the moment tensors that the next step updates)."""
        return copy.deepcopy(self.opt.state_dict())

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state)


class LBFGS:
    """Limited-memory BFGS with a strong-Wolfe line search; one iteration per step."""

    converged = False

    def __init__(self, objective: Objective, lr: float = 1.0, history: int = 50) -> None:
        self.objective, self.lr, self.history = objective, lr, history
        self.s: list[Tensor] = []
        self.y: list[Tensor] = []
        self._current: tuple[Tensor, Tensor, Tensor] | None = None
        self._trials: dict[float, tuple[Tensor, Tensor, Tensor]] = {}  # step length -> loss, parts, gradient

    def _evaluate(self, x: Tensor, t: float, d: Tensor) -> tuple[float, Tensor]:
        self.objective.assign(x + t * d)
        loss, parts, grad = self.objective.value_and_grad()
        self._trials[t] = (loss, parts, grad)
        return float(loss), grad

    def _direction(self, g: Tensor) -> Tensor:
        """``-H g`` for the L-BFGS inverse Hessian ``H`` of the stored pairs, in the compact form of Byrd,
        Nocedal and Schnabel (1994) instead of the two-loop recursion (same ``H``, a few matrix products
        instead of ``4 m`` vector operations):

            H = γ I + [S  γY] [[R^-T (D + γ YᵀY) R^-1, -R^-T], [-R^-1, 0]] [Sᵀ; γ Yᵀ],

        with the pairs as rows of ``S``, ``Y`` ``(m, P)``, ``R`` the upper triangle of ``S Yᵀ``
        (``R_ij = s_i·y_j``, ``i <= j``), ``D`` its diagonal and ``γ = s_m·y_m / y_m·y_m``.
        """
        if not self.s:
            return -g
        s, y = torch.stack(self.s), torch.stack(self.y)  # (m, P) each
        sy, yy = s @ y.T, y @ y.T  # (m, m)
        gamma = sy[-1, -1] / yy[-1, -1]
        r = torch.triu(sy)
        sg, yg = s @ g, y @ g  # (m,)
        p2 = torch.linalg.solve_triangular(r, sg[:, None], upper=True)  # R^-1 Sᵀg: (m, 1)
        inner = sy.diagonal()[:, None] * p2 + gamma * (yy @ p2) - gamma * yg[:, None]  # (m, 1)
        p1 = torch.linalg.solve_triangular(r.T, inner, upper=False)  # (m, 1)
        hg = gamma * (g - y.T @ p2[:, 0]) + s.T @ p1[:, 0]  # (P,)
        return -hg

    def step(self) -> StepResult:
        if self._current is None:
            self._current = self.objective.value_and_grad()
        loss, parts, g = self._current
        _check_finite(loss, g)
        x = self.objective.flat()
        d = self._direction(g)
        gtd = torch.dot(g, d)
        if not gtd < 0:  # lost descent (round-off): restart from steepest descent
            self.s, self.y = [], []
            d, gtd = -g, -torch.dot(g, g)
        t = self.lr if self.s else min(1.0, 1.0 / float(g.abs().sum())) * self.lr
        self._trials.clear()
        f_new, g_new, t, _ = _strong_wolfe(self._evaluate, x, t, d, float(loss), g, gtd)
        if not math.isfinite(f_new):
            self.objective.assign(x)
            raise NonFiniteError("the loss is not finite (NaN or inf) along the L-BFGS search direction")
        if not f_new < float(loss):
            self.objective.assign(x)
            raise LineSearchError(
                "the L-BFGS line search found no lower loss (converged to round-off, or the problem is "
                "ill-conditioned: try the 'lm' optimizer)"
            )
        s = t * d
        y = g_new - g
        if float(torch.dot(y, s)) > 1e-10 * float(torch.dot(s, s)) ** 0.5 * float(torch.dot(y, y)) ** 0.5:
            self.s.append(s)
            self.y.append(y)
            if len(self.s) > self.history:
                self.s.pop(0)
                self.y.pop(0)
        self.objective.assign(x + s)
        # The search may end on an earlier trial than its last: take that trial's numbers, not a new evaluation.
        self._current = self._trials.get(t) or self.objective.value_and_grad()
        self._trials.clear()
        _check_finite(self._current[0])
        return StepResult(loss, parts)

    def loss_changed(self) -> None:
        """The loss was redefined (new points or weights): the cached loss and gradient belong to the old one
        (the line search would compare losses of two functions). The curvature pairs are kept."""
        self._current = None

    def state_dict(self) -> dict:
        return {"s": list(self.s), "y": list(self.y), "current": self._current}

    def load_state_dict(self, state: dict) -> None:
        self.s, self.y, self._current = list(state["s"]), list(state["y"]), state["current"]


def _add(total: tuple | None, found: tuple) -> tuple:
    """Entry-wise sum of two tuples of tensors (``found`` when there is no total yet)."""
    return found if total is None else tuple(a + b for a, b in zip(total, found, strict=True))


def _damping_weights(diag: Tensor, scale: float, scaling: str) -> Tensor | float:
    """The damping ``D`` of ``(JᵀJ + λ D) δ = -Jᵀr̃``: ``s I`` (``"uniform"``, a number) or
    ``diag(JᵀJ) + MARQUARDT_FLOOR · s`` (``"marquardt"``, ``(P,)``), with ``s`` the largest entry of
    ``diag`` = ``diag(JᵀJ)``."""
    if scaling == "uniform":
        return scale
    return diag + MARQUARDT_FLOOR * scale


class _DenseSystem:
    """The Gauss-Newton system at the current parameters, ``JᵀJ`` ``(P, P)`` and ``Jᵀr̃`` accumulated over
    the loss's chunks (memory ``P² + chunk·P``, never ``N·P``) and summed over ranks; damped solves by
    Cholesky."""

    iterations = 0  # no CG

    def __init__(self, obj: Objective, scaling: str = "uniform") -> None:
        sums = None
        for chunk in loss_chunks(obj.loss):
            r, jac, p = chunk.residual_and_jacobian(obj.model)  # (M_c,), (M_c, P)
            sums = _add(sums, (r @ r, p, jac.T @ r, gram(jac)))
            del r, jac
        loss, parts, grad, a = sums
        obj.evaluations += 1
        self.loss, self.parts = obj.comm.sum(loss), obj.comm.sum(parts)
        self.grad, self.a = obj.comm.sum(grad), obj.comm.sum(a)
        _check_finite(self.loss, self.a)
        self.scale = float(self.a.diagonal().max().clamp(min=1e-300))
        self.weights = _damping_weights(self.a.diagonal(), self.scale, scaling)

    def solve(self, lam: float) -> tuple[Tensor, Tensor] | None:
        """``δ`` solving ``(JᵀJ + λ D) δ = -Jᵀr̃`` (``D`` the damping weights, :func:`_damping_weights`) and the
        predicted decrease ``-(2 δ·Jᵀr̃ + |Jδ|²)``, or ``None`` when the matrix is not numerically positive
        definite at this ``λ``."""
        damped = self.a.clone()  # (P, P); no identity matrix: one P² buffer less
        damped.diagonal().add_(lam * self.weights)
        factor, info = torch.linalg.cholesky_ex(damped)
        del damped
        if int(info) != 0:
            return None
        delta = -torch.cholesky_solve(self.grad[:, None], factor)[:, 0]
        return delta, -(2 * self.grad @ delta + delta @ (self.a @ delta))


class _MatrixFreeSystem:
    """The Gauss-Newton system without ``JᵀJ``: preconditioned conjugate gradients on
    ``(JᵀJ + λ s I) δ = -Jᵀr̃`` with products ``JᵀJ v = Σ_c J_cᵀ (J_c v)`` over the chunks' exact Jacobian
    rows, kept while they fit in ``keep_bytes`` (memory ``N·P``), otherwise rebuilt chunk by chunk at every
    product (memory ``chunk·P``, one Jacobian pass per product). The preconditioner is ``diag(JᵀJ) + λ s``,
    the column sums of squares of the rows; ``s = max diag(JᵀJ)`` as in the dense system, so both solve the
    same equations. Each product is one sum over ranks."""

    def __init__(
        self, obj: Objective, tol: float, max_iter: int, keep_bytes: int, scaling: str = "uniform"
    ) -> None:
        self.obj, self.tol, self.max_iter = obj, tol, max_iter
        self.x = obj.flat()
        sums, rows, kept = None, [], 0
        for chunk in loss_chunks(obj.loss):
            r, jac, p = chunk.residual_and_jacobian(obj.model)  # (M_c,), (M_c, P)
            sums = _add(sums, (r @ r, p, jac.T @ r, jac.square().sum(0)))
            kept += jac.numel() * jac.element_size()
            if rows is not None:
                rows = [*rows, jac] if kept <= keep_bytes else None
            del r, jac
        loss, parts, grad, diag = sums
        obj.evaluations += 1
        self.rows = rows
        self.loss, self.parts = obj.comm.sum(loss), obj.comm.sum(parts)
        self.grad, self.diag = obj.comm.sum(grad), obj.comm.sum(diag)
        _check_finite(self.loss, self.grad)
        self.scale = float(self.diag.max().clamp(min=1e-300))
        self.weights = _damping_weights(self.diag, self.scale, scaling)
        self.iterations = 0  # CG iterations of the last solve

    def _products(self, v: Tensor) -> tuple[Tensor, list[Tensor]]:
        """``JᵀJ v`` ``(P,)`` summed over ranks, and ``J v`` by chunks (this rank's rows)."""
        if self.rows is not None:
            jv = [jac @ v for jac in self.rows]  # chunks x (M_c,)
            out = sum(jac.T @ w for jac, w in zip(self.rows, jv, strict=True))
            return self.obj.comm.sum(out), jv
        jv, out = [], None
        for chunk in loss_chunks(self.obj.loss):
            _, jac, _ = chunk.residual_and_jacobian(self.obj.model)  # (M_c, P)
            jv.append(jac @ v)
            out = jac.T @ jv[-1] if out is None else out + jac.T @ jv[-1]
            del jac
        return self.obj.comm.sum(out), jv

    def solve(self, lam: float) -> tuple[Tensor, Tensor]:
        """``δ`` of ``(JᵀJ + λ D) δ = -Jᵀr̃`` from preconditioned CG started at 0 (stopped when ``|b - Aδ| <= tol |b|`` or after
        ``max_iter`` products; every iterate lowers the quadratic model, so a truncated ``δ`` still
        predicts a decrease) and the predicted decrease ``-(2 δ·Jᵀr̃ + |Jδ|²)`` with ``Jδ`` carried along
        exactly (no drift of the recursion)."""
        if self.rows is None:
            self.obj.assign(self.x)  # products rebuild J at the linearisation point
        mu = lam * self.weights  # (P,) or a number
        precond = self.diag + mu
        b = -self.grad
        delta = torch.zeros_like(b)
        res = b.clone()
        z = res / precond
        direction, rz = z, res @ z
        jdelta: tuple | None = None
        bound = self.tol * float(b.norm())
        self.iterations = 0
        for _ in range(self.max_iter):
            if float(res.norm()) <= bound:  # (at once when Jᵀr̃ = 0: δ = 0 predicts no decrease)
                break
            jtj, jp = self._products(direction)
            q = jtj + mu * direction
            alpha = rz / (direction @ q)
            delta += alpha * direction
            res -= alpha * q
            jdelta = _add(jdelta, tuple(alpha * w for w in jp))
            self.iterations += 1
            z = res / precond
            rz_new = res @ z
            direction = z + (rz_new / rz) * direction
            rz = rz_new
        jd2 = self.obj.comm.sum(sum(w @ w for w in jdelta)) if jdelta else torch.zeros_like(rz)
        return delta, -(2 * self.grad @ delta + jd2)


class LevenbergMarquardt:
    """Levenberg-Marquardt on the exact Jacobian with Nielsen's damping update.

    The damped system is solved densely (:class:`_DenseSystem`, Cholesky of ``JᵀJ`` accumulated over
    chunks) for up to ``dense_max`` parameters and matrix-free above (:class:`_MatrixFreeSystem`,
    preconditioned CG); ``solver`` forces one (``"dense"`` or ``"cg"``). The damping and acceptance rule is
    the same for both (module docstring); ``scaling`` chooses the damping matrix (:data:`SCALINGS`).
    """

    def __init__(
        self,
        objective: Objective,
        damping: float = 1e-3,
        max_tries: int = 12,
        stall_window: int = 10,
        stall_tol: float = 1e-3,
        solver: str = "auto",
        dense_max: int = DENSE_MAX,
        cg_tol: float = CG_TOL,
        cg_max_iter: int = CG_MAX_ITER,
        keep_bytes: int = KEEP_BYTES,
        scaling: str = "uniform",
    ) -> None:
        if objective.loss.mode != "forward":
            raise ValueError(
                "the 'lm' optimiser needs forward-mode derivatives (a kanpde.KAN or kanpde.MLP with "
                "derivatives='auto' or 'forward')"
            )
        if solver not in SOLVERS:
            raise ValueError(f"unknown Gauss-Newton solver {solver!r}; valid ones: {', '.join(SOLVERS)}")
        if scaling not in SCALINGS:
            raise ValueError(f"unknown LM damping scaling {scaling!r}; valid ones: {', '.join(SCALINGS)}")
        self.scaling = scaling
        n = sum(p.numel() for p in objective.params)
        self.solver = solver if solver != "auto" else ("dense" if n <= dense_max else "cg")
        self.cg = (cg_tol, cg_max_iter, keep_bytes)
        self.objective, self.max_tries = objective, max_tries
        self.lam, self.nu = damping, 2.0
        self.stall_window, self.stall_tol = stall_window, stall_tol
        self.losses: list[float] = []  # accepted losses of the last stall_window steps
        self.converged = False  # no damping gives a decrease, or the loss stalled
        self.no_descent = False  # the first of the two: no damping gave a decrease
        self.cg_iterations = 0  # CG iterations of the last step, all trials together (matrix-free)

    def _linearise(self) -> _DenseSystem | _MatrixFreeSystem:
        if self.solver == "dense":
            return _DenseSystem(self.objective, self.scaling)
        return _MatrixFreeSystem(self.objective, *self.cg, self.scaling)

    def step(self) -> StepResult:
        obj = self.objective
        system = self._linearise()
        loss = system.loss
        x = obj.flat()
        self.cg_iterations = 0
        for _ in range(self.max_tries):
            found = system.solve(self.lam)
            self.cg_iterations += system.iterations
            if found is not None:  # positive definite at this damping (else: damp more, below)
                delta, predicted = found
                trial = x + delta
                if torch.equal(trial, x):  # below the round-off of the parameters; more damping moves less
                    self._no_descent(x)
                    break
                obj.assign(trial)
                new = obj.value()
                rho = float((loss - new) / predicted) if float(predicted) > 0 else -1.0
                if math.isfinite(rho) and rho > 1e-4:
                    self.lam *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
                    self.nu = 2.0
                    self._record(float(new))
                    break
            self.lam *= self.nu
            self.nu *= 2.0
        else:
            self._no_descent(x)
        self.lam = min(max(self.lam, 1e-15), 1e10)
        return StepResult(loss, system.parts)

    @property
    def stop_reason(self) -> str | None:
        """Why the stage converged: ``"converged"`` (no damping lowers the loss, or a step no longer moves the
        parameters), ``"stalled"`` (the stall rule), ``None`` while it goes on."""
        if not self.converged:
            return None
        return "converged" if self.no_descent else "stalled"

    def _no_descent(self, x: Tensor) -> None:
        """No damping lowers the loss, or the step no longer changes the parameters: back to ``x``, done."""
        self.objective.assign(x)
        self.converged = self.no_descent = True

    def _record(self, loss: float) -> None:
        """Remember an accepted loss; declare a stall when the last ``stall_window`` steps lowered the loss
        by at most ``stall_tol`` of its value (``<=``: a loss that does not move at all stalls at any
        tolerance, 0 included)."""
        self.losses = [*self.losses, loss][-(self.stall_window + 1) :]
        if len(self.losses) > self.stall_window:
            first = self.losses[0]
            self.converged = first - loss <= self.stall_tol * first

    def loss_changed(self) -> None:
        """The loss was redefined (new points or weights): the stall window held losses of the old one, and a
        loss that rises on new points would read as a stall. The window restarts; the damping is kept."""
        self.losses = []
        self.converged = self.no_descent

    def state_dict(self) -> dict:
        return {
            "lam": self.lam,
            "nu": self.nu,
            "losses": list(self.losses),
            "converged": self.converged,
            "no_descent": self.no_descent,
        }

    def load_state_dict(self, state: dict) -> None:
        self.lam, self.nu = float(state["lam"]), float(state["nu"])
        self.losses = list(state.get("losses", []))
        self.converged = bool(state.get("converged", False))
        self.no_descent = bool(state.get("no_descent", False))


def gram(jac: Tensor, blocks: int = 4) -> Tensor:
    """``JᵀJ`` ``(P, P)`` of ``jac`` ``(M, P)`` from the upper block triangle: the products of ``blocks``
    column blocks with the ones at or right of them, mirrored, cost ``(blocks + 1) / (2 blocks)`` of the
    full product (LAPACK's ``syrk`` is not exposed by torch). The result is exactly symmetric."""
    p = jac.shape[1]
    if p < 64 * blocks:  # small: one product is as fast
        full = jac.T @ jac  # (P, P)
        return 0.5 * (full + full.T)
    edges = [round(i * p / blocks) for i in range(blocks + 1)]
    out = jac.new_empty(p, p)
    for a in range(blocks):
        left = jac[:, edges[a] : edges[a + 1]]  # (M, P_a)
        for b in range(a, blocks):
            block = left.T @ jac[:, edges[b] : edges[b + 1]]  # (P_a, P_b)
            block = 0.5 * (block + block.T) if b == a else block  # exactly symmetric
            out[edges[a] : edges[a + 1], edges[b] : edges[b + 1]] = block
            if b > a:
                out[edges[b] : edges[b + 1], edges[a] : edges[a + 1]] = block.T
    return out
