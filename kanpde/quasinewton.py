"""Dense quasi-Newton optimisers: full-memory BFGS and the self-scaled Broyden method (SSBroyden).

Both keep a dense approximation ``H`` ``(P, P)`` of the inverse Hessian of the loss, in float64 whatever the
model's dtype, take the direction ``d = -H g`` and a step ``s = t d`` whose length ``t`` satisfies the strong
Wolfe conditions (:func:`strong_wolfe`), then update ``H`` from ``s`` and ``y = g(x + s) - g(x)``. With
``ρ = 1 / sᵀy`` and ``v = ρ s - Hy / (yᵀHy)``, every update is a member of the self-scaled Broyden family

    H⁺ = (1/τ) (H - Hy (Hy)ᵀ / (yᵀHy) + φ (yᵀHy) v vᵀ) + ρ s sᵀ,                                 (1)

which satisfies the secant equation ``H⁺ y = s`` for any ``τ > 0`` and ``φ``. ``φ = 1, τ = 1`` is BFGS
(Nocedal & Wright, *Numerical Optimization*, 2nd ed., eq. 6.17 written out), ``φ = 0, τ = 1`` is DFP.

**BFGS** (:class:`BFGS`): ``φ = 1``, ``τ = 1``; the first step is steepest descent (``H = I``) and, before the
first update, ``H`` is replaced by ``(sᵀy / yᵀy) I`` (Nocedal & Wright eq. 6.20).

**SSBroyden** (:class:`SSBroyden`): ``τ`` and ``φ`` are chosen at every update as in Urban, Stefanou & Pons,
"Unveiling the optimization process of physics informed neural networks: how accurate and competitive can
PINNs be?", J. Comput. Phys. (2025), arXiv:2405.04230, eqs. (13)-(23) (the method "SSBroyden2" of the
authors' public code, jorgeurban/self_scaled_algorithms_pinns, whose update these formulas restate), used
for PINNs and PIKANs by Kiyani, Shukla, Urbán, Darbon & Karniadakis, "Optimizing the optimizer for
physics-informed neural networks and Kolmogorov-Arnold networks", Comput. Methods Appl. Mech. Engrg. 446
(2025) 118308. The choice rests on Al-Baali's self-scaling Broyden-family updates (Al-Baali, J. Optim.
Theory Appl., 1998; Al-Baali & Khalfan, 2005). With ``n = P``, ``g`` the gradient at the start of the step
and ``B = H⁻¹`` (so that ``sᵀBs = -t sᵀg``):

    h = yᵀHy / sᵀy,    b = sᵀBs / sᵀy = -t sᵀg / sᵀy,    a = b h - 1 (>= 0),    c = √(a / (1 + a)),
    ρ⁻ = min(1, h (1 - c)),    θ⁻ = (ρ⁻ - 1) / a,    θ⁺ = 1 / ρ⁻,
    θ = max(θ⁻, min(θ⁺, (1 - b) / b)),    σ = 1 + a θ (>= ρ⁻ > 0),    φ = (1 - θ) / σ,
    ρ⁺ = min(1, 1 / b),    σₙ = σ^(1 / (1 - n)),
    τ = min(ρ⁺ σₙ, σ)              if θ <= 0,
    τ = ρ⁺ min(σₙ, 1 / θ)          if θ > 0,

and at the first update (``H = I`` from the steepest-descent first step) ``τ = h / σ``, which for ``θ = 0``
is the BFGS initial scaling ``H = (sᵀy / yᵀy) I``. ``a = 0`` (``s`` parallel to ``Hy``, ``v = 0``, where the
family members coincide) takes ``θ⁻ = -∞``; ``n = 1`` takes ``σₙ = 1``.

**Safeguards.** An update is skipped when ``sᵀy <= 1e-10 |s| |y|`` (curvature not sufficiently positive: the
line search stopped at its evaluation limit without the curvature condition, or round-off). A direction that
is not a descent direction (``gᵀd >= 0``: ``H`` lost positive definiteness to round-off) resets ``H`` to the
identity. The first trial step length is ``lr`` (``lr · min(1, 1/|g|₁)`` while ``H = I``), capped at
``1.01 · 2 (f_prev - f) / |gᵀd|``, where a linear model predicts twice the previous step's decrease (Nocedal &
Wright eq. 3.60; SciPy's BFGS, which Urban et al. used, does the same): without the cap a self-scaled ``H``
that came out too large costs many trials (helmholtz2d: 5.6 evaluations a step over 30 steps, 2.5 with it).

**Stopping.** ``converged`` is set when ``|g|∞ <= gtol`` at the start of a step (the step then does not
move) or at the new point, or when the step is negligible: ``|s|∞ <= xtol (1 + |x|∞)``. A line search that
finds no lower loss raises :class:`~kanpde.optim.LineSearchError` (parameters restored), a non-finite loss
or gradient at the start of a step, or at every trial point, :class:`~kanpde.optim.NonFiniteError`; a trial
point with a non-finite loss is treated as too long a step.

**Loss redefined** (:meth:`loss_changed`: RAD's new points, RBA or causal weights): the cached loss and
gradient are dropped (the line search would compare losses of two functions) and ``converged`` is cleared;
``H`` is kept, as L-BFGS keeps its pairs: it is a model of the curvature, not a measurement the new loss
contradicts.

**Cost and size.** ``H`` takes ``8 P²`` bytes, a step ``O(P²)`` arithmetic besides the loss evaluations
(one per line-search trial, usually one). Models above ``max_params`` (:data:`DENSE_QN_MAX`, 20 000
parameters: 3.2 GB) are refused; use ``"lbfgs"``. ``H`` is never modified in place: every update builds a
new matrix, so :meth:`state_dict` hands out references (the trainer takes a state at every step) and a
resumed run continues bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .optim import LineSearchError, NonFiniteError, Objective, StepResult, _check_finite

__all__ = ["BFGS", "SSBroyden", "strong_wolfe", "ssbroyden_scaling", "broyden_update", "DENSE_QN_MAX"]

DENSE_QN_MAX = 20000
"""Largest model (parameters) the dense quasi-Newton optimisers accept: ``H`` takes ``8 P²`` bytes."""

C1 = 1e-4
"""Sufficient-decrease (Armijo) constant of the strong Wolfe conditions."""

C2 = 0.9
"""Curvature constant of the strong Wolfe conditions (Nocedal & Wright's value for quasi-Newton methods)."""

MAX_EVALS = 25
"""Most loss-and-gradient evaluations of one line search."""

CURVATURE_EPS = 1e-10
"""An update is skipped unless ``sᵀy > CURVATURE_EPS |s| |y|``."""


@dataclass(frozen=True)
class Trial:
    """One evaluation on the search line ``x + t d``: the loss, per-term losses, gradient and slope ``gᵀd``
    (``f`` is ``inf`` when the loss or the gradient is not finite)."""

    t: float
    loss: Tensor
    parts: Tensor
    grad: Tensor
    slope: float
    f: float


def _too_high(p: Trial, start: Trial, c1: float, lower: Trial) -> bool:
    """The trial fails sufficient decrease ``f(t) <= f(0) + c1 t f'(0)`` or is not below ``lower``."""
    return p.f > start.f + c1 * p.t * start.slope or p.f >= lower.f


def _cubic_min(a: Trial, b: Trial) -> float | None:
    """Minimiser of the cubic through the values and slopes at ``a`` and ``b`` (``None`` when it has none or
    an end is not finite)."""
    if not (math.isfinite(a.f) and math.isfinite(b.f) and math.isfinite(a.slope) and math.isfinite(b.slope)):
        return None
    if a.t == b.t:
        return None
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    disc = d1 * d1 - a.slope * b.slope
    if disc < 0:
        return None
    d2 = math.copysign(math.sqrt(disc), b.t - a.t)
    denom = b.slope - a.slope + 2 * d2
    if denom == 0:
        return None
    t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / denom
    return t if math.isfinite(t) else None


def _between(lo: Trial, hi: Trial) -> float:
    """The next trial inside the bracket: the cubic's minimiser kept 10 % of the width away from either end,
    or the midpoint when there is no cubic (a non-finite end)."""
    left, right = min(lo.t, hi.t), max(lo.t, hi.t)
    margin = 0.1 * (right - left)
    t = _cubic_min(lo, hi)
    if t is None:
        return 0.5 * (left + right)
    return min(max(t, left + margin), right - margin)


def _beyond(prev: Trial, p: Trial) -> float:
    """The next trial past ``p`` while the slope is still negative: the cubic's minimiser within
    ``[1.1 t, 10 t]`` (``4 t`` without one)."""
    t = _cubic_min(prev, p)
    return 4 * p.t if t is None else min(max(t, 1.1 * p.t), 10 * p.t)


def _zoom(
    evaluate: Callable[[float], Trial],
    start: Trial,
    lo: Trial,
    hi: Trial,
    evals: int,
    c1: float,
    c2: float,
    t_tol: float,
) -> Trial:
    """Nocedal & Wright's Algorithm 3.6: shrink the bracket ``[lo, hi]`` (``lo`` the lowest trial meeting
    sufficient decrease) until a trial meets both conditions, ``evals`` evaluations are spent or the bracket
    is narrower than ``t_tol``; returns that trial or the lowest one."""
    while evals > 0 and abs(hi.t - lo.t) > t_tol:
        p = evaluate(_between(lo, hi))
        evals -= 1
        if _too_high(p, start, c1, lo):
            hi = p
            continue
        if abs(p.slope) <= -c2 * start.slope:
            return p
        if p.slope * (hi.t - lo.t) >= 0:
            hi = lo
        lo = p
    return lo


def strong_wolfe(
    evaluate: Callable[[float], Trial],
    start: Trial,
    t: float,
    c1: float = C1,
    c2: float = C2,
    max_evals: int = MAX_EVALS,
    t_tol: float = 0.0,
) -> Trial:
    """A step length meeting the strong Wolfe conditions along a descent direction (``start.slope < 0``):

        f(t) <= f(0) + c1 t f'(0)    and    |f'(t)| <= c2 |f'(0)|,

    by Nocedal & Wright's Algorithm 3.5 (bracketing, extrapolating by cubic interpolation) and 3.6 (zoom,
    safeguarded cubic interpolation; bisection next to a non-finite trial, which counts as too long a step).
    At most ``max_evals`` evaluations; when they run out, or the bracket is narrower than ``t_tol``, the lowest
    trial meeting sufficient decrease is returned, which is ``start`` (``t = 0``) when none does."""
    prev = start
    for used in range(1, max_evals + 1):
        p = evaluate(t)
        if _too_high(p, start, c1, prev):
            return _zoom(evaluate, start, prev, p, max_evals - used, c1, c2, t_tol)
        if abs(p.slope) <= -c2 * start.slope:
            return p
        if p.slope >= 0:
            return _zoom(evaluate, start, p, prev, max_evals - used, c1, c2, t_tol)
        prev, t = p, _beyond(prev, p)
    return prev


def broyden_update(
    h: Tensor | None,
    s: Tensor,
    y: Tensor,
    tau: float,
    phi: float,
    *,
    hy: Tensor | None = None,
    sy: float | None = None,
) -> Tensor:
    """The self-scaled Broyden-family update (1) of the module docstring, as a new matrix (``h`` is not
    changed; ``None`` is the identity). ``hy = H y`` and ``sy = sᵀy`` when the caller has them already."""
    rho = 1.0 / (float(s @ y) if sy is None else sy)
    if hy is None:
        hy = y if h is None else h @ y  # read, never written
    yhy = float(y @ hy)
    v = rho * s - hy / yhy
    out = torch.diag(torch.ones_like(s)) if h is None else h.clone()
    out.addr_(hy, hy, alpha=-1.0 / yhy)
    out.addr_(v, v, alpha=phi * yhy)
    out.div_(tau)
    out.addr_(s, s, alpha=rho)
    return out


def ssbroyden_scaling(h: float, b: float, n: int, first: bool) -> tuple[float, float]:
    """``(τ, φ)`` of the SSBroyden update from ``h = yᵀHy / sᵀy``, ``b = sᵀBs / sᵀy`` and the dimension
    ``n`` (formulas in the module docstring; Urban, Stefanou & Pons 2025, eqs. 13-23)."""
    a = max(b * h - 1.0, 0.0)  # >= 0 by Cauchy-Schwarz; round-off can make it slightly negative
    c = math.sqrt(a / (1.0 + a))
    rho_minus = min(1.0, h * (1.0 - c))
    theta_minus = (rho_minus - 1.0) / a if a > 0 else -math.inf
    theta = max(theta_minus, min(1.0 / rho_minus, (1.0 - b) / b))
    sigma = 1.0 + a * theta
    phi = (1.0 - theta) / sigma
    if first:
        return h / sigma, phi
    rho_plus = min(1.0, 1.0 / b)
    sigma_n = sigma ** (1.0 / (1.0 - n)) if n > 1 else 1.0
    if theta <= 0:
        return min(rho_plus * sigma_n, sigma), phi
    return rho_plus * min(sigma_n, 1.0 / theta), phi


class _DenseQuasiNewton:
    """What BFGS and SSBroyden share: the dense ``H``, the strong-Wolfe step, the stopping rules and the
    state; subclasses give the update (:meth:`_updated`)."""

    name = "dense quasi-Newton"

    def __init__(
        self,
        objective: Objective,
        lr: float = 1.0,
        gtol: float = 1e-12,
        xtol: float = 1e-14,
        c1: float = C1,
        c2: float = C2,
        max_evals: int = MAX_EVALS,
        max_params: int = DENSE_QN_MAX,
    ) -> None:
        check_options(lr, gtol, xtol, c1, c2, max_evals)
        n = sum(p.numel() for p in objective.params)
        if n > max_params:
            raise ValueError(
                f"the model has {n} parameters, too many for the dense {n} x {n} inverse Hessian of "
                f"{self.name!r} ({8 * n * n / 1e9:.1f} GB); use optimizer 'lbfgs' (limited memory) for models "
                f"above {max_params} parameters, or pass max_params={n} if the memory is there"
            )
        self.objective, self.n = objective, n
        self.lr, self.gtol, self.xtol = float(lr), float(gtol), float(xtol)
        self.c1, self.c2, self.max_evals = float(c1), float(c2), int(max_evals)
        self.h: Tensor | None = None  # float64 (P, P); None: the identity, before the first update
        self.converged = False
        self._current: tuple[Tensor, Tensor, Tensor] | None = None  # loss, parts, gradient at the parameters
        self._previous: float | None = None  # the loss where the previous step started (same loss function)
        self._finite_trial = False

    # -- one step --------------------------------------------------------------------------------------
    def step(self) -> StepResult:
        if self._current is None:
            self._current = self.objective.value_and_grad()
        loss, parts, g = self._current
        _check_finite(loss, g)
        if float(g.abs().max()) <= self.gtol:
            self.converged = True
            return StepResult(loss, parts)
        x = self.objective.flat()
        d = self._direction(g)
        found = self._search(x, d, loss, parts, g)
        s = found.t * d
        self._learn(s, found.grad - g, g, found.t)
        self.objective.assign(x + s)  # the search's last assignment may have been another trial
        self._current, self._previous = (found.loss, found.parts, found.grad), float(loss)
        self.converged = float(found.grad.abs().max()) <= self.gtol or float(s.abs().max()) <= self.xtol * (
            1.0 + float(x.abs().max())
        )
        return StepResult(loss, parts)

    def _direction(self, g: Tensor) -> Tensor:
        """``-H g`` (in ``g``'s dtype); steepest descent, and ``H`` reset, when that is not downhill."""
        if self.h is not None:
            d = -(self.h @ g.to(self.h.dtype)).to(g.dtype)
            if float(g @ d) < 0:
                return d
            self.h = None  # round-off cost H its positive definiteness: start again from the identity
        return -g

    def _search(self, x: Tensor, d: Tensor, loss: Tensor, parts: Tensor, g: Tensor) -> Trial:
        """The strong-Wolfe step along ``d`` from ``x``; the parameters are restored and the stage ends (an
        error) when no trial lowers the loss."""
        start = Trial(0.0, loss, parts, g, float(g @ d), float(loss))
        t = self._first_trial(start)
        scale = float(d.abs().max())
        t_tol = torch.finfo(d.dtype).eps * (1.0 + float(x.abs().max())) / scale
        self._finite_trial = False
        found = strong_wolfe(
            lambda step: self._evaluate(x, step, d), start, t, self.c1, self.c2, self.max_evals, t_tol
        )
        if found.t == 0:
            self.objective.assign(x)
            if not self._finite_trial:
                raise NonFiniteError(
                    f"the loss or its gradient is not finite (NaN or inf) at every {self.name} trial point"
                )
            raise LineSearchError(
                f"the {self.name} line search found no lower loss (converged to round-off, or the problem is "
                "ill-conditioned: try the 'lm' optimizer)"
            )
        return found

    def _first_trial(self, start: Trial) -> float:
        """``lr`` (``lr · min(1, 1/|g|₁)`` while ``H = I``), capped by ``1.01 · 2 (f_prev - f) / |gᵀd|``: the
        step at which the linear model predicts twice the previous decrease (Nocedal & Wright eq. 3.60, as in
        SciPy's BFGS)."""
        t = self.lr if self.h is not None else self.lr * min(1.0, 1.0 / float(start.grad.abs().sum()))
        if self._previous is not None and self._previous > start.f:
            t = min(t, 2.02 * (self._previous - start.f) / -start.slope)
        return t

    def _evaluate(self, x: Tensor, t: float, d: Tensor) -> Trial:
        self.objective.assign(x + t * d)
        loss, parts, grad = self.objective.value_and_grad()
        finite = bool(torch.isfinite(loss).all()) and bool(torch.isfinite(grad).all())
        self._finite_trial |= finite
        return Trial(
            t, loss, parts, grad, float(grad @ d) if finite else math.nan, float(loss) if finite else math.inf
        )

    def _learn(self, s: Tensor, y: Tensor, g: Tensor, t: float) -> None:
        """Update ``H`` from the step unless the curvature ``sᵀy`` is not sufficiently positive."""
        s64, y64, g64 = s.double(), y.double(), g.double()
        sy = float(s64 @ y64)
        if not sy > CURVATURE_EPS * float(s64.norm()) * float(y64.norm()):
            return
        self.h = self._updated(s64, y64, g64, t, sy)

    def _updated(self, s: Tensor, y: Tensor, g: Tensor, t: float, sy: float) -> Tensor:
        raise NotImplementedError

    # -- the trainer's interface -------------------------------------------------------------------------
    def loss_changed(self) -> None:
        """The loss was redefined (new points or weights): the cached loss and gradient belong to the old one
        (the line search would compare losses of two functions) and so does ``converged``. ``H`` is kept."""
        self._current = self._previous = None
        self.converged = False

    def state_dict(self) -> dict:
        """The state, by reference: ``H`` and the cached tensors are never modified in place."""
        return {
            "h": self.h,
            "current": self._current,
            "previous": self._previous,
            "converged": self.converged,
        }

    def load_state_dict(self, state: dict) -> None:
        self.h, self._current, self._previous = state["h"], state["current"], state.get("previous")
        self.converged = bool(state.get("converged", False))


def check_options(lr: float, gtol: float, xtol: float, c1: float, c2: float, max_evals: int) -> None:
    """One clear error for one bad option."""
    for name, value in (("lr", lr), ("gtol", gtol), ("xtol", xtol), ("c1", c1), ("c2", c2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a real number, got {value!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(
            f"lr (the first trial step length) must be a finite number > 0, got {lr}; e.g. lr=1.0"
        )
    for name, value in (("gtol", gtol), ("xtol", xtol)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value}; e.g. {name}=1e-12")
    if not 0 < c1 < c2 < 1:
        raise ValueError(
            f"the Wolfe constants must satisfy 0 < c1 < c2 < 1, got c1={c1}, c2={c2}; e.g. c1=1e-4, c2=0.9"
        )
    if isinstance(max_evals, bool) or not isinstance(max_evals, int) or max_evals < 1:
        raise ValueError(f"max_evals must be an integer >= 1, got {max_evals!r}; e.g. max_evals=25")


class BFGS(_DenseQuasiNewton):
    """Full-memory BFGS with a strong-Wolfe line search (module docstring): update (1) with ``φ = τ = 1``,
    ``H = (sᵀy / yᵀy) I`` before the first update."""

    name = "bfgs"

    def _updated(self, s: Tensor, y: Tensor, g: Tensor, t: float, sy: float) -> Tensor:
        h = self.h
        if h is None:
            h = torch.diag(torch.full_like(s, sy / float(y @ y)))
        return broyden_update(h, s, y, tau=1.0, phi=1.0, sy=sy)


class SSBroyden(_DenseQuasiNewton):
    """The self-scaled Broyden method of Urban, Stefanou & Pons (2025) with a strong-Wolfe line search:
    update (1) with ``τ`` and ``φ`` from :func:`ssbroyden_scaling` (module docstring)."""

    name = "ssbroyden"

    def _updated(self, s: Tensor, y: Tensor, g: Tensor, t: float, sy: float) -> Tensor:
        hy = y if self.h is None else self.h @ y
        h_ratio = float(y @ hy) / sy
        b = -t * float(s @ g) / sy  # sᵀBs / sᵀy, since B s = t B d = -t g
        tau, phi = ssbroyden_scaling(h_ratio, b, self.n, first=self.h is None)
        return broyden_update(self.h, s, y, tau, phi, hy=hy, sy=sy)
