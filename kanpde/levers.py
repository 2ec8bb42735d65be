"""Levers: what adapts the loss while a solve runs - RAD resampling, RBA and causal weights, sparsity.

A lever is a small frozen settings object (``RAD(every=50)``, ``RBA()``, ``Causal(100.0)``,
``Sparsity(1e-3)``), passed as ``kp.solve(..., levers=(RAD(50), Causal(100.0)))``. For one run it starts a
stateful :class:`LeverRun` that the trainer calls at fixed points, without knowing which levers exist:

* ``wrap(loss, run)`` - whenever the trainer builds the loss: may put a term around it (the sparsity penalty);
* ``before_step(run)`` - before every optimiser step: new interior points, or ``None`` (RAD);
* ``after_step(run)`` - after every step: ``True`` when the lever's factors of the PDE's rows changed
  (RBA, causal weights); the trainer multiplies the ``scale`` of all levers into the loss;
* ``points_changed()`` - the interior points were replaced: drop what was measured on the old ones;
* ``state_dict()`` / ``load_state_dict()`` - what a checkpoint keeps, so that a resumed run goes on bit for bit.

A lever that returns new points or changes its factors *redefines the loss*: the trainer then tells the
optimiser (``loss_changed``) and restarts the stage's best loss, since losses of two functions do not compare.

The methods:

* **RAD** (Wu et al. 2023): every ``every`` steps the interior points are drawn anew from the density
  ``p(x) ∝ |r(x)|^k / E|r|^k + c``, by weighted sampling without replacement from ``10 n`` fresh uniform
  candidates (:func:`rad_points`); ``|r|`` is the Euclidean norm of the PDE's equations at a point. The
  number of points stays fixed (fixed shapes keep compiled graphs valid).
* **RBA** (residual-based attention; Anagnostopoulos et al. 2024): per-point multipliers of the PDE's rows,
  ``λ_n ← γ λ_n + η |r_n| / max_m |r_m|`` after every step from ``λ = 1``, used normalised to mean 1.
* **Causal weighting** (Wang, Sankaran & Perdikaris 2022), time-dependent problems: the points fall into
  ``M`` time slices; with ``L_i`` the mean squared residual of slice ``i``, slice ``i`` gets
  ``w_i = exp(-ε Σ_{k<i} L_k)`` and its rows the factor ``sqrt(M w_i / Σ w)`` (:func:`causal_scale`).
* **Sparsity** (Liu et al. 2024, §2.5.1): ``λ`` times the L1 + entropy penalty on a KAN's edge magnitudes
  (:mod:`kanpde.sparsity`) added to the loss.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from ._checks import check_positive_int, check_positive_real
from .models import is_kan
from .sparsity import SparseLoss

__all__ = [
    "Lever",
    "LeverRun",
    "RAD",
    "RBA",
    "Causal",
    "Sparsity",
    "LEVERS",
    "rad_points",
    "rba_update",
    "causal_scale",
    "residual_norm",
]

CANDIDATES = 10
"""Candidates per point drawn for a RAD resampling."""


def option(name: str, flag: str, kind: str, text: str, *, default_text: str | None = None) -> dict:
    """Field metadata naming the keyword option of :func:`kanpde.solve` (and the command-line flag) that sets
    this field, how the command line parses it and its help text (:mod:`kanpde.settings`)."""
    return {"option": name, "flag": flag, "kind": kind, "help": text, "default_text": default_text}


# -- the protocol -----------------------------------------------------------------------------------------
class LeverRun:
    """A lever's state during one run; every hook does nothing by default (module docstring)."""

    scale: Tensor | None = None
    """Factors ``(N_interior,)`` of the PDE's rows, or ``None`` for none."""

    def wrap(self, loss, run):
        """The loss, with whatever this lever adds around it."""
        return loss

    def before_step(self, run) -> Tensor | None:
        """New interior points ``(N, d)`` before this step, or ``None``."""
        return None

    def after_step(self, run) -> bool:
        """React to the step just taken; ``True`` when :attr:`scale` changed."""
        return False

    def points_changed(self) -> None:
        """The interior points were replaced."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""


class Lever:
    """Base of the lever settings: a frozen dataclass with ``check`` and ``start``."""

    name: ClassVar[str] = "lever"

    def check(self, problem, model) -> Lever:
        """This lever, checked against the problem and the model (an error says what does not fit)."""
        return self

    def start(self, run) -> LeverRun:
        """The lever's state for a run that starts now."""
        raise NotImplementedError

    def legacy_state(self, old: dict) -> dict:
        """This lever's state from the keys of a kanpde 0.2 trainer state (``resamples``, ``resampled_at``,
        ``weights``, ``scale``: RBA's weights and the combined row factors)."""
        return {}

    def as_dict(self) -> dict:
        return {"type": self.name, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


# -- RAD --------------------------------------------------------------------------------------------------
def residual_norm(rows: Tensor) -> Tensor:
    """``|r_n|``: the Euclidean norm over the equations of rows ``(N, C)``, shape ``(N,)``."""
    return torch.linalg.vector_norm(rows, dim=1)


def rad_points(domain, residual_at, n: int, k: float, c: float, seed: int, dtype, device) -> Tensor:
    """``n`` interior points drawn with density ``∝ |r|^k / mean |r|^k + c`` from ``10 n`` uniform candidates.

    ``residual_at(x) -> (M, C)`` evaluates the PDE's residual rows; the draw (without replacement, by the
    exponential-keys method: keys ``E_m / p_m`` with ``E_m`` standard exponential, the ``n`` smallest kept)
    is a pure function of ``seed`` and the residuals.
    """
    candidates = domain.sample_interior(
        CANDIDATES * n, sampler="random", seed=seed, dtype=dtype, device=device
    )
    with torch.no_grad():
        r = residual_norm(residual_at(candidates)).double().cpu().numpy()  # (M,)
    r = np.nan_to_num(r, nan=0.0, posinf=0.0)
    power = r**k
    mean = power.mean()
    p = (power / mean if mean > 0 else np.zeros_like(power)) + c
    keys = np.random.default_rng(seed).exponential(size=p.shape) / p
    chosen = np.sort(np.argpartition(keys, n - 1)[:n])
    return candidates[torch.as_tensor(chosen, device=candidates.device)]


@dataclass(frozen=True)
class RAD(Lever):
    """Residual-based adaptive resampling of the interior points every ``every`` steps (module docstring):
    density ``∝ |r|^k / E|r|^k + c``; ``k = 1, c = 1`` are the robust defaults of Wu et al."""

    every: int = field(metadata=option(
        "resample_every", "resample_every", "int",
        "redraw the interior points from the residual every N steps (RAD)", default_text="off",
    ))  # fmt: skip
    k: float = field(default=1.0, metadata=option(
        "resample_k", "resample_k", "float", "RAD density exponent k in |r|^k / mean + c"
    ))  # fmt: skip
    c: float = field(default=1.0, metadata=option("resample_c", "resample_c", "float", "RAD uniform share c"))
    name: ClassVar[str] = "RAD"

    def __post_init__(self) -> None:
        object.__setattr__(self, "every", check_positive_int("RAD every", self.every))
        object.__setattr__(self, "k", check_positive_real("RAD k", self.k, allow_zero=True))
        object.__setattr__(self, "c", check_positive_real("RAD c", self.c, allow_zero=True))
        if self.k == 0 and self.c == 0:
            raise ValueError("RAD k and c are both 0, which defines no density; keep c = 1")

    def start(self, run) -> LeverRun:
        return _RADRun(self, run.settings.sampling.seed)

    def legacy_state(self, old: dict) -> dict:
        return {"count": old["resamples"] or 0, "at": old["resampled_at"]}


class _RADRun(LeverRun):
    def __init__(self, lever: RAD, seed: int) -> None:
        self.lever, self.seed = lever, seed
        self.count = 0  # resamplings so far: each draws from its own seed
        self.at: int | None = None  # the step of the last one

    def before_step(self, run) -> Tensor | None:
        step, every = run.state.step, self.lever.every
        if step == 0 or step % every != 0 or self.at == step:
            return None
        self.count, self.at = self.count + 1, step
        seed = int(np.random.SeedSequence([self.seed, 0x4AD, self.count]).generate_state(1)[0])
        x = run.points.interior
        lever = self.lever
        return rad_points(
            run.problem.domain, run.residual_rows, len(x), lever.k, lever.c, seed, x.dtype, x.device
        )

    def state_dict(self) -> dict:
        return {"count": self.count, "at": self.at}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.at = int(state["count"]), state["at"]


# -- RBA --------------------------------------------------------------------------------------------------
def rba_update(weights: Tensor, rows: Tensor, gamma: float = 0.999, eta: float = 0.01) -> Tensor:
    """One RBA step: ``λ ← γ λ + η |r| / max |r|`` for rows ``(N, C)``."""
    r = residual_norm(rows)
    top = r.max()
    return gamma * weights + (eta * r / top if float(top) > 0 else 0.0)


@dataclass(frozen=True)
class RBA(Lever):
    """Residual-based attention weights of the PDE's rows (module docstring): ``λ ← γ λ + η |r| / max |r|``."""

    gamma: float = 0.999
    eta: float = 0.01
    name: ClassVar[str] = "RBA"

    def __post_init__(self) -> None:
        object.__setattr__(self, "gamma", check_positive_real("RBA gamma", self.gamma))
        object.__setattr__(self, "eta", check_positive_real("RBA eta", self.eta))

    def start(self, run) -> LeverRun:
        if run.comm.world > 1:
            raise ValueError("RBA weights do not run under torch.distributed yet; use causal weights or none")
        return _RBARun(self)

    def legacy_state(self, old: dict) -> dict:
        return {"weights": old["weights"]}


class _RBARun(LeverRun):
    def __init__(self, lever: RBA) -> None:
        self.lever = lever
        self.weights: Tensor | None = None

    @property
    def scale(self) -> Tensor | None:
        return None if self.weights is None else self.weights / self.weights.mean()

    def after_step(self, run) -> bool:
        rows = run.loss.last_residual
        if rows is None:
            return False
        weights = self.weights if self.weights is not None else rows.new_ones(rows.shape[0])
        self.weights = rba_update(weights, rows, self.lever.gamma, self.lever.eta)
        return True

    def points_changed(self) -> None:
        self.weights = None if self.weights is None else torch.ones_like(self.weights)

    def state_dict(self) -> dict:
        return {"weights": self.weights}

    def load_state_dict(self, state: dict) -> None:
        self.weights = state["weights"]


# -- causal weights ---------------------------------------------------------------------------------------
def causal_scale(t: Tensor, rows: Tensor, epsilon: float, slices: int, t0: float, t1: float) -> Tensor:
    """Row factors ``sqrt(M w_i / Σ w)`` of causal weighting for points at times ``t`` ``(N,)`` with residual
    rows ``(N, C)``, ``M = slices`` equal slices of ``[t0, t1]``."""
    index = ((t - t0) / (t1 - t0) * slices).floor().clamp(0, slices - 1).long()  # (N,)
    squares = rows.square().sum(dim=1)
    sums = torch.zeros(slices, dtype=rows.dtype, device=rows.device).index_add_(0, index, squares)
    counts = torch.zeros(slices, dtype=rows.dtype, device=rows.device).index_add_(
        0, index, torch.ones_like(squares)
    )
    losses = sums / counts.clamp(min=1)  # L_i
    before = torch.cat([losses.new_zeros(1), torch.cumsum(losses, 0)[:-1]])  # Σ_{k<i} L_k
    w = torch.exp(-epsilon * before)
    w = w * slices / w.sum()
    return torch.sqrt(w)[index]


@dataclass(frozen=True)
class Causal(Lever):
    """Causal weights in time with ``epsilon`` over ``slices`` equal time slices (module docstring)."""

    epsilon: float = field(metadata=option(
        "causal", "causal", "float", "causal weighting in time with this epsilon (time-dependent problems)",
        default_text="off",
    ))  # fmt: skip
    slices: int = field(default=16, metadata=option(
        "causal_slices", "causal_slices", "int", "time slices of causal weighting"
    ))  # fmt: skip
    name: ClassVar[str] = "Causal"

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_positive_real("Causal epsilon", self.epsilon))
        object.__setattr__(self, "slices", check_positive_int("Causal slices", self.slices))

    def check(self, problem, model) -> Causal:
        if not problem.domain.is_time_dependent:
            raise ValueError(
                "causal weighting needs a time-dependent problem (a SpaceTime domain); drop causal"
            )
        return self

    def start(self, run) -> LeverRun:
        return _CausalRun(self)

    def legacy_state(self, old: dict) -> dict:
        """The causal factors: the combined ones divided by RBA's normalised weights, when there were any."""
        weights, scale = old["weights"], old["scale"]
        return {"scale": scale if weights is None or scale is None else scale / (weights / weights.mean())}


class _CausalRun(LeverRun):
    def __init__(self, lever: Causal) -> None:
        self.lever = lever
        self.scale = None

    def after_step(self, run) -> bool:
        rows = run.loss.last_residual
        if rows is None:
            return False
        lo, hi = run.problem.domain.bounds()
        t = run.loss.points.interior[:, -1]
        self.scale = causal_scale(t, rows, self.lever.epsilon, self.lever.slices, lo[-1], hi[-1])
        return True

    def points_changed(self) -> None:
        self.scale = None

    def state_dict(self) -> dict:
        return {"scale": self.scale}

    def load_state_dict(self, state: dict) -> None:
        self.scale = state["scale"]


# -- sparsity ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sparsity(Lever):
    """``weight`` times the KAN paper's L1 + entropy penalty on edge magnitudes, added to the loss (KANs)."""

    weight: float = field(metadata=option(
        "sparsity", "sparsity", "float",
        "weight of the L1 + entropy penalty on KAN edge magnitudes, for pruning and formulas",
        default_text="0: off",
    ))  # fmt: skip
    name: ClassVar[str] = "Sparsity"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", check_positive_real("Sparsity weight", self.weight))

    def check(self, problem, model) -> Sparsity:
        if not is_kan(model):
            raise ValueError(
                f"sparsity applies to KAN models (edge magnitudes), got {type(model).__name__}; drop sparsity"
            )
        return self

    def start(self, run) -> LeverRun:
        return _SparsityRun(self.weight)


class _SparsityRun(LeverRun):
    def __init__(self, weight: float) -> None:
        self.weight = weight

    def wrap(self, loss, run):
        """The loss plus the penalty on the current interior points (computed on rank 0 alone)."""
        return SparseLoss(loss, run.points.interior, self.weight, run.comm.is_root)


LEVERS: dict[str, type[Lever]] = {cls.name: cls for cls in (RAD, RBA, Causal, Sparsity)}
"""Lever name (as stored in checkpoints) -> class."""


def lever_from_dict(data: dict) -> Lever:
    """Inverse of :meth:`Lever.as_dict`; an unknown type lists the known ones."""
    data = dict(data)
    name = data.pop("type", None)
    if name not in LEVERS:
        raise ValueError(f"unknown lever {name!r}; valid ones: {', '.join(LEVERS)}")
    return LEVERS[name](**data)
