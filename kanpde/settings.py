"""The settings of a solve, composed of small frozen parts.

::

    kp.SolveSettings(
        sampling=kp.Sampling(n_interior=4000, sampler="sobol", seed=0),
        schedule=kp.Schedule(
            stages=(kp.Stage(kp.Adam(lr=1e-2), 200), kp.Stage(kp.LM(stall_tol=1e-4), 300)),
            grids=kp.GridPlan((5, 10, 20), knots="residual"),
        ),
        levers=(kp.RAD(every=50), kp.Causal(epsilon=100.0)),
        restarts=kp.Restarts(2, steps=20),
        runtime=kp.Runtime(dtype="float64", device="auto", threads=2),
    )

* :class:`Sampling` - where the loss is evaluated: point counts, sampler, seed.
* :class:`Schedule` - optimiser :class:`Stage` objects, each carrying its optimiser's own options
  (:class:`Adam`, :class:`LBFGS`, :class:`LM`), run on every grid of a :class:`GridPlan`.
* ``levers`` - what adapts the loss while training runs (:mod:`kanpde.levers`: RAD, RBA, Causal, Sparsity).
* :class:`Restarts` - probes of other initialisations before the run.
* :class:`Runtime` - dtype, device, derivative engine, chunking, compilation, threads, records.

Every part is validated where it is built; ``check(problem, model)`` (called once per solve, on the whole
settings) checks it against the problem and the model and fills in the defaults that depend on them: point
counts by dimension (:data:`DEFAULT_POINTS`), the grids ``G, 2G, 4G`` of a KAN on grid ``G``
(:data:`DEFAULT_GRID_FACTORS`), :data:`DEFAULT_STEPS` split over the grids for a stage without ``steps``, and
the device ``"auto"``.

**Keyword options.** ``kp.solve(problem, model, **options)``, ``SolveSettings(**options)``, a problem's
``recommended`` settings, TOML files and command-line flags take the flat options of :func:`option_names`;
each maps onto one part (:data:`OPTION_PARTS`): ``n_interior``, ``n_boundary``, ``n_initial``, ``sampler``,
``seed`` -> :class:`Sampling`; ``optimizer`` (a name or ``(name, steps)`` stages), ``steps``, ``lr`` (every
Adam stage's; no effect on a schedule without one), ``lm_scaling`` (every Levenberg-Marquardt stage's damping),
``grids``, ``knots`` -> :class:`Schedule`; ``resample_every``, ``resample_k``,
``resample_c`` -> :class:`~kanpde.RAD`; ``point_weights="rba"`` -> :class:`~kanpde.RBA`; ``causal``,
``causal_slices`` -> :class:`~kanpde.Causal`; ``sparsity`` -> :class:`~kanpde.Sparsity`; ``restarts``,
``restart_steps`` -> :class:`Restarts`; ``dtype``, ``device``, ``derivatives``, ``chunk_size``,
``compile``, ``threads``, ``log_every`` -> :class:`Runtime`. The command line's flags are generated from
the fields' metadata (:func:`flat_options`), so each default is stated once, in its field.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from . import optim, quasinewton
from ._checks import (
    check_compile_backend,
    check_dtype,
    check_nonnegative_int,
    check_positive_int,
    check_positive_real,
)
from .derivatives import MODES, resolve_mode
from .geometry import SAMPLERS
from .knots import KNOT_PLACEMENTS, KnotRule
from .levers import RAD, RBA, Causal, Lever, Sparsity, lever_from_dict, option
from .models import is_kan

__all__ = [
    "Adam",
    "LBFGS",
    "LM",
    "BFGS",
    "SSBroyden",
    "OPTIMIZERS",
    "Stage",
    "GridPlan",
    "Schedule",
    "Sampling",
    "Restarts",
    "Runtime",
    "SolveSettings",
    "DEFAULT_STEPS",
    "DEFAULT_GRID_FACTORS",
    "DEFAULT_POINTS",
    "DEFAULT_CHUNK_SIZE",
    "DTYPES",
    "option_names",
    "flat_options",
]

DEFAULT_STEPS = 450
"""Steps of a stage without ``steps`` (the default Levenberg-Marquardt one), split over the grid stages."""

DEFAULT_GRID_FACTORS = (1, 2, 4)
"""A KAN on grid ``G`` is trained by default on grids ``G, 2G, 4G`` (nested, so extension is exact)."""

DEFAULT_POINTS: dict[int, tuple[int, int, int]] = {
    1: (1000, 2, 400),
    2: (2500, 400, 400),
    3: (4000, 1200, 600),
    4: (6000, 2000, 1000),
}
"""Default ``(n_interior, n_boundary, n_initial)`` by the number of point columns (4 and more: the last)."""

DEFAULT_CHUNK_SIZE = 16384
"""Points per chunk of the loss by default: larger than every default point set (one chunk), small enough
that a million points run in bounded memory (``benchmarks/scale.py``)."""

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}
"""Floating dtypes by name."""


def _put(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# -- optimisers ---------------------------------------------------------------------------------------------
class OptimizerOptions:
    """Base of an optimiser's options: ``build(objective, final)`` makes the optimiser of a stage (``final``:
    the stage runs on the last grid). ``compilable``: whether its loss may be ``torch.compile``-d."""

    compilable: ClassVar[bool] = True

    @property
    def name(self) -> str:
        raise NotImplementedError

    def build(self, objective: optim.Objective, final: bool = False):
        raise NotImplementedError

    def as_dict(self) -> dict:
        return {"name": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Adam(OptimizerOptions):
    """Adam (``torch.optim.Adam``) with learning rate ``lr``."""

    lr: float = field(default=1e-2, metadata=option("lr", "lr", "float", "Adam's learning rate"))

    def __post_init__(self) -> None:
        _put(self, "lr", check_positive_real("lr", self.lr))

    @property
    def name(self) -> str:
        return "adam"

    def build(self, objective: optim.Objective, final: bool = False) -> optim.Adam:
        return optim.Adam(objective, lr=self.lr)


@dataclass(frozen=True)
class LBFGS(OptimizerOptions):
    """Limited-memory BFGS with a strong-Wolfe line search: step length ``lr``, ``history`` pairs."""

    lr: float = 1.0
    history: int = 50

    def __post_init__(self) -> None:
        _put(self, "lr", check_positive_real("LBFGS lr", self.lr))
        _put(self, "history", check_positive_int("LBFGS history", self.history))

    @property
    def name(self) -> str:
        return "lbfgs"

    def build(self, objective: optim.Objective, final: bool = False) -> optim.LBFGS:
        return optim.LBFGS(objective, lr=self.lr, history=self.history)


@dataclass(frozen=True)
class LM(OptimizerOptions):
    """Levenberg-Marquardt on the exact Jacobian (:class:`kanpde.optim.LevenbergMarquardt`).

    A stage ends ``"converged"`` when ``max_tries`` damped trials fail or a step no longer changes the
    parameters, and ``"stalled"`` when ``stall_window`` accepted steps lowered the loss by at most
    ``stall_tol`` of its value; on the last grid, where there is no finer grid to move on to, by at most
    ``final_stall_tol`` (``0``: as long as the loss falls at all). Its default ``1e-5`` is measured
    (``results/stall_rule.md``): on the default solves, runs still gaining accuracy lowered the loss by at
    least ``1.4e-3`` of itself every 10 steps on the last grid, no tolerance up to ``1e-3`` cost any error,
    and the plateau of ``kanpde solve poisson2d`` drops below ``1e-5`` within two steps. ``solver``: ``"auto"`` (dense
    up to ``dense_max`` parameters, then matrix-free), ``"dense"`` or ``"cg"``; the matrix-free solver stops
    CG at the relative residual ``cg_tol`` or after ``cg_max_iter`` products and keeps Jacobian rows up to
    ``keep_bytes`` (:mod:`kanpde.optim`). ``scaling``: the damping matrix, ``"uniform"`` (``λ s I``, ``s`` the
    largest diagonal entry of ``JᵀJ``) or ``"marquardt"`` (``λ diag(JᵀJ)``, floored at ``10⁻⁶ λ s``; for
    fine KAN grids where the uniform damping stalls, :mod:`kanpde.optim`).
    """

    damping: float = 1e-3
    max_tries: int = 12
    stall_window: int = 10
    stall_tol: float = 1e-3
    final_stall_tol: float = 1e-5
    solver: str = "auto"
    dense_max: int = optim.DENSE_MAX
    cg_tol: float = optim.CG_TOL
    cg_max_iter: int = optim.CG_MAX_ITER
    keep_bytes: int = optim.KEEP_BYTES
    scaling: str = field(default="uniform", metadata=option(
        "lm_scaling", "lm-scaling", "text", "damping of every Levenberg-Marquardt stage: uniform or marquardt",
    ))  # fmt: skip
    compilable: ClassVar[bool] = False  # its steps evaluate Jacobian rows, not a scalar loss

    def __post_init__(self) -> None:
        _put(self, "damping", check_positive_real("LM damping", self.damping))
        _put(self, "max_tries", check_positive_int("LM max_tries", self.max_tries))
        _put(self, "stall_window", check_positive_int("LM stall_window", self.stall_window))
        _put(self, "stall_tol", check_positive_real("LM stall_tol", self.stall_tol, allow_zero=True))
        _put(
            self,
            "final_stall_tol",
            check_positive_real("LM final_stall_tol", self.final_stall_tol, allow_zero=True),
        )
        if self.solver not in optim.SOLVERS:
            raise ValueError(f"unknown LM solver {self.solver!r}; valid ones: {', '.join(optim.SOLVERS)}")
        _put(self, "dense_max", check_positive_int("LM dense_max", self.dense_max))
        _put(self, "cg_tol", check_positive_real("LM cg_tol", self.cg_tol))
        _put(self, "cg_max_iter", check_positive_int("LM cg_max_iter", self.cg_max_iter))
        _put(self, "keep_bytes", check_nonnegative_int("LM keep_bytes", self.keep_bytes))
        if self.scaling not in optim.SCALINGS:
            raise ValueError(
                f"unknown LM scaling {self.scaling!r}; valid ones: {', '.join(optim.SCALINGS)} "
                "(e.g. kp.LM(scaling='marquardt'))"
            )

    @property
    def name(self) -> str:
        return "lm-cg" if self.solver == "cg" else "lm"

    def build(self, objective: optim.Objective, final: bool = False) -> optim.LevenbergMarquardt:
        return optim.LevenbergMarquardt(
            objective,
            damping=self.damping,
            max_tries=self.max_tries,
            stall_window=self.stall_window,
            stall_tol=self.final_stall_tol if final else self.stall_tol,
            solver=self.solver,
            dense_max=self.dense_max,
            cg_tol=self.cg_tol,
            cg_max_iter=self.cg_max_iter,
            keep_bytes=self.keep_bytes,
            scaling=self.scaling,
        )


@dataclass(frozen=True)
class _DenseQuasiNewtonOptions(OptimizerOptions):
    """Options of a dense quasi-Newton method (:mod:`kanpde.quasinewton`): first trial step ``lr``, the
    stopping tolerances ``gtol`` (gradient) and ``xtol`` (step), the Wolfe constants ``c1 < c2``, at most
    ``max_evals`` evaluations per line search, at most ``max_params`` parameters (a dense ``P x P`` matrix)."""

    lr: float = 1.0
    gtol: float = 1e-12
    xtol: float = 1e-14
    c1: float = quasinewton.C1
    c2: float = quasinewton.C2
    max_evals: int = quasinewton.MAX_EVALS
    max_params: int = quasinewton.DENSE_QN_MAX
    method: ClassVar[type] = quasinewton.BFGS

    def __post_init__(self) -> None:
        quasinewton.check_options(self.lr, self.gtol, self.xtol, self.c1, self.c2, self.max_evals)
        _put(self, "max_params", check_positive_int(f"{self.name} max_params", self.max_params))

    @property
    def name(self) -> str:
        return self.method.name

    def build(self, objective: optim.Objective, final: bool = False):
        return self.method(objective, **dataclasses.asdict(self))


@dataclass(frozen=True)
class BFGS(_DenseQuasiNewtonOptions):
    """Full-memory BFGS with a strong-Wolfe line search (:class:`kanpde.quasinewton.BFGS`)."""


@dataclass(frozen=True)
class SSBroyden(_DenseQuasiNewtonOptions):
    """Self-scaled Broyden (Urban, Stefanou & Pons 2025) with a strong-Wolfe line search
    (:class:`kanpde.quasinewton.SSBroyden`)."""

    method: ClassVar[type] = quasinewton.SSBroyden


OPTIMIZERS: dict[str, Any] = {
    "adam": Adam,
    "lbfgs": LBFGS,
    "lm": LM,
    "lm-cg": functools.partial(LM, solver="cg"),
    "bfgs": BFGS,
    "ssbroyden": SSBroyden,
}
"""Optimiser name -> the factory of its options (``OPTIMIZERS["lm"](stall_tol=1e-4)``); a stage given a name
runs the optimiser with its default options."""


def _optimizer(value: Any) -> OptimizerOptions:
    if isinstance(value, OptimizerOptions):
        return value
    if not isinstance(value, str) or value not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {value!r}; valid ones: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[value]()


def optimizer_from_dict(data: Mapping) -> OptimizerOptions:
    """Inverse of :meth:`OptimizerOptions.as_dict`."""
    data = dict(data)
    name = data.pop("name", None)
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid ones: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](**data)


# -- the schedule -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One optimiser run: ``optimizer`` (options such as ``LM(stall_tol=1e-4)``, or a name in
    :data:`OPTIMIZERS` for its defaults) for ``steps`` steps (``None``: :data:`DEFAULT_STEPS` split over the
    grid stages)."""

    optimizer: OptimizerOptions | str
    steps: int | None = field(default=None, metadata=option(
        "steps", "steps", "int", "steps of a single optimiser on every grid stage",
        default_text=f"{DEFAULT_STEPS} split over the grids",
    ))  # fmt: skip

    def __post_init__(self) -> None:
        _put(self, "optimizer", _optimizer(self.optimizer))
        if self.steps is not None:
            _put(self, "steps", check_nonnegative_int(f"steps of stage {self.name!r}", self.steps))

    @property
    def name(self) -> str:
        """The optimiser's name (``"adam"``, ``"lm"``, ...), as the history records it."""
        return self.optimizer.name

    def as_dict(self) -> dict:
        return {"optimizer": self.optimizer.as_dict(), "steps": self.steps}


def _sizes(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    message = f"grids must be a sequence of positive integers such as (5, 10, 20), got {value!r}"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(message)
    try:
        return tuple(check_positive_int("grids", g) for g in value)
    except (TypeError, ValueError):
        raise ValueError(message) from None


@dataclass(frozen=True)
class GridPlan:
    """The grid stages of a KAN: the schedule runs at each of ``sizes`` (``None``: ``G, 2G, 4G`` for a KAN on
    grid ``G``); ``knots`` places the new knots at each extension (a name in :data:`kanpde.KNOT_PLACEMENTS`:
    ``"uniform"``, nested uniform extension, or ``"residual"``, new knots of the first layer where the
    residual of the model trained so far is large)."""

    sizes: tuple[int, ...] | None = field(default=None, metadata=option(
        "grids", "grids", "ints", "KAN grid stages, e.g. 5,10,20: the optimiser schedule runs at each",
        default_text="G,2G,4G of the KAN's grid G",
    ))  # fmt: skip
    knots: str = field(default="uniform", metadata=option(
        "knots", "knots", "text",
        f"KAN knot placement at grid stages: {', '.join(KNOT_PLACEMENTS)} (residual: new knots where the "
        "residual is large)",
    ))  # fmt: skip

    def __post_init__(self) -> None:
        _put(self, "sizes", _sizes(self.sizes))
        if not isinstance(self.knots, str) or self.knots not in KNOT_PLACEMENTS:
            raise ValueError(f"unknown knots {self.knots!r}; valid ones: {', '.join(KNOT_PLACEMENTS)}")

    @property
    def rule(self) -> KnotRule | None:
        """The knot placement rule (``None``: uniform)."""
        return KNOT_PLACEMENTS[self.knots]

    def check(self, problem, model) -> GridPlan:
        kan = is_kan(model)
        if self.sizes is not None and not kan:
            raise ValueError(f"grids applies to KAN models only, not to a {_family(model)}; drop grids")
        if self.knots != "uniform" and not kan:
            raise ValueError(f"knots applies to KAN models only, not to a {_family(model)}; drop knots")
        if self.sizes is None and kan:
            grid = getattr(model, "net", model).grid
            return dataclasses.replace(self, sizes=tuple(f * grid for f in DEFAULT_GRID_FACTORS))
        return self

    def as_dict(self) -> dict:
        return {"sizes": None if self.sizes is None else list(self.sizes), "knots": self.knots}


def _family(model) -> str:
    return type(getattr(model, "net", model)).__name__


def _stages(value: Any) -> tuple[Stage, ...]:
    """A schedule: ``[("adam", 200), ("lm", 300)]`` (pairs or :class:`Stage` objects) -> stages."""
    example = "e.g. optimizer=[('adam', 500), ('lm', 300)]"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"optimizer must be a name or a sequence of (name, steps) pairs ({example}), got {value!r}"
        )
    stages = []
    for item in value:
        if isinstance(item, Stage):
            stages.append(item)
        elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) == 2:
            stages.append(Stage(item[0], item[1]))
        else:
            raise TypeError(
                f"each stage of the optimizer schedule is a (name, steps) pair ({example}), got {item!r}"
            )
    if not stages:
        raise ValueError(f"the optimizer schedule is empty; {example}")
    return tuple(stages)


@dataclass(frozen=True)
class Schedule:
    """The optimiser ``stages``, run one after the other on every grid of ``grids``."""

    stages: tuple[Stage, ...] = field(default=(Stage(LM()),), metadata=option(
        "optimizer", "optimizer", "schedule",
        f"an optimiser ({', '.join(OPTIMIZERS)}) or a schedule adam:200,lm:300", default_text="lm",
    ))  # fmt: skip
    grids: GridPlan = GridPlan()

    def __post_init__(self) -> None:
        _put(self, "stages", _stages(self.stages))
        if not isinstance(self.grids, GridPlan):
            raise TypeError(f"grids must be a kanpde.GridPlan, got {type(self.grids).__name__}")

    @property
    def grid_sizes(self) -> tuple[int | None, ...]:
        """The grid of every grid stage (``(None,)`` for a model without a grid)."""
        return self.grids.sizes or (None,)

    @property
    def total_steps(self) -> int:
        """Steps asked for over all grids (of a checked schedule)."""
        return sum(s.steps or 0 for s in self.stages) * len(self.grid_sizes)

    def check(self, problem, model) -> Schedule:
        grids = self.grids.check(problem, model)
        split = max(1, DEFAULT_STEPS // len(grids.sizes or (None,)))
        stages = tuple(s if s.steps is not None else dataclasses.replace(s, steps=split) for s in self.stages)
        return Schedule(stages, grids)

    def as_dict(self) -> dict:
        return {"stages": [s.as_dict() for s in self.stages], "grids": self.grids.as_dict()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Schedule:
        stages = tuple(Stage(optimizer_from_dict(s["optimizer"]), s["steps"]) for s in data["stages"])
        return cls(stages, GridPlan(**data["grids"]))


# -- points, restarts, runtime ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sampling:
    """The collocation points: counts (``None``: by dimension, :data:`DEFAULT_POINTS`), the ``sampler`` (a
    name in :data:`kanpde.SAMPLERS`) and the ``seed`` of the points (and of a model built by the command
    line)."""

    n_interior: int | None = field(
        default=None,
        metadata=option(
            "n_interior", "points", "int", "interior collocation points", default_text="by dimension"
        ),
    )
    n_boundary: int | None = field(
        default=None,
        metadata=option(
            "n_boundary", "boundary_points", "int", "boundary collocation points", default_text="by dimension"
        ),
    )
    n_initial: int | None = field(default=None, metadata=option(
        "n_initial", "initial_points", "int", "initial-condition points of time-dependent problems",
        default_text="by dimension"))  # fmt: skip
    sampler: str = field(
        default="sobol",
        metadata=option("sampler", "sampler", "text", "collocation sampler: sobol, random, grid"),
    )
    seed: int = field(
        default=0,
        metadata=option("seed", "seed", "int", "seed of the initialisation and the collocation points"),
    )

    def __post_init__(self) -> None:
        for name in ("n_interior", "n_boundary", "n_initial"):
            if getattr(self, name) is not None:
                _put(self, name, check_positive_int(name, getattr(self, name)))
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; valid ones: {', '.join(SAMPLERS)}")
        _put(self, "seed", check_nonnegative_int("seed", self.seed))

    def check(self, problem, model) -> Sampling:
        defaults = DEFAULT_POINTS[min(max(problem.domain.dim, 1), 4)]
        return dataclasses.replace(
            self,
            n_interior=self.n_interior or defaults[0],
            n_boundary=self.n_boundary or defaults[1],
            n_initial=self.n_initial or defaults[2],
        )


@dataclass(frozen=True)
class Restarts:
    """Try ``n`` other initialisations besides the model's own: the model's seed ``s`` and ``s + 1, ...,
    s + n`` each run the first stage on the first grid for ``steps`` steps from the same points, and the run
    goes on from the probe whose last recorded loss is lowest (the probes' steps and seconds are not in the
    history). For a small network whose optimiser can settle in a poor local minimum (``poisson5d``)."""

    n: int = field(
        default=0,
        metadata=option(
            "restarts",
            "restarts",
            "int",
            "try this many other initialisations (seeds s+1, ...) on a short probe; go on from the best",
        ),
    )
    steps: int = field(
        default=20, metadata=option("restart_steps", "restart_steps", "int", "steps of each restart probe")
    )

    def __post_init__(self) -> None:
        _put(self, "n", check_nonnegative_int("restarts", self.n))
        _put(self, "steps", check_positive_int("restart_steps", self.steps))

    def check(self, problem, model) -> Restarts:
        net = getattr(model, "net", model)
        if self.n and not (hasattr(net, "config") and isinstance(getattr(net, "seed", None), int)):
            raise ValueError(
                f"restarts re-initialise the model from its config() and seed, which a {type(net).__name__} "
                "does not have; use kp.KAN or kp.MLP, or set restarts=0"
            )
        return self


def _device(value: Any) -> str:
    if isinstance(value, torch.device):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda' or a torch device, got {value!r}")
    if value == "auto":
        return value
    try:
        torch.device(value)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {value!r}; pass one of auto, cpu, cuda (or e.g. 'cuda:1')") from err
    return value


def _dtype(value: Any) -> str:
    if isinstance(value, torch.dtype):
        value = str(check_dtype(value)).removeprefix("torch.")
    if value not in DTYPES:
        raise ValueError(f"unknown dtype {value!r}; valid ones: {', '.join(DTYPES)} (or torch.float64 ...)")
    return value


def _compile(value: Any) -> str | None:
    """``True`` means torch.compile's default backend (``"inductor"``); a string names a backend."""
    if value is False or value is None:
        return None
    if value is True:
        return "inductor"
    if isinstance(value, str) and value:
        return check_compile_backend(value)
    raise TypeError(
        f"compile must be True, False or a torch.compile backend name such as 'inductor', got {value!r}"
    )


def _concrete_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; pass device='cpu' or 'auto'")
    return device


@dataclass(frozen=True)
class Runtime:
    """How the run executes: ``dtype`` (``"float64"`` or ``"float32"``; a ``torch.dtype`` is stored by name),
    ``device`` (``"auto"``: CUDA when available), ``derivatives`` (``"auto"``, ``"forward"`` jets or
    ``"autograd"``), ``chunk_size`` (points per chunk: the loss, its gradient and the Gauss-Newton sums go
    chunk by chunk, so memory grows with the chunk, not with the points; the numbers are the same up to
    round-off), ``compile`` (``torch.compile`` backend of the loss of Adam and L-BFGS stages; ``True``:
    inductor), ``threads`` (CPU threads of torch during the solve, restored after; ``None``: torch's setting)
    and ``log_every`` (a history record every this many steps and at the end of every stage)."""

    dtype: str = field(default="float64", metadata=option("dtype", "dtype", "text", "float64 or float32"))
    device: str = field(
        default="auto",
        metadata=option("device", "device", "text", "auto, cpu or cuda (auto: CUDA when available)"),
    )
    derivatives: str = field(
        default="auto",
        metadata=option("derivatives", "derivatives", "text", "auto, forward (jets) or autograd"),
    )
    chunk_size: int = field(
        default=DEFAULT_CHUNK_SIZE,
        metadata=option(
            "chunk_size",
            "chunk_size",
            "int",
            "points per chunk: loss, gradient and Gauss-Newton sums go chunk by chunk, bounding memory",
        ),
    )
    compile: str | None = field(default=None, metadata=option(
        "compile", "compile", "compile", "torch.compile the loss for Adam/L-BFGS: true or a backend name",
        default_text="off"))  # fmt: skip
    threads: int | None = field(default=None, metadata=option(
        "threads", "threads", "int", "CPU threads torch uses during the solve (2 on a busy 2-core machine "
        "can be 10x slower than 1)", default_text="torch's setting"))  # fmt: skip
    log_every: int = field(
        default=10, metadata=option("log_every", "log_every", "int", "a history record every this many steps")
    )

    def __post_init__(self) -> None:
        _put(self, "dtype", _dtype(self.dtype))
        _put(self, "device", _device(self.device))
        if self.derivatives not in MODES:
            raise ValueError(f"unknown derivatives mode {self.derivatives!r}; valid ones: {', '.join(MODES)}")
        _put(self, "chunk_size", check_positive_int("chunk_size", self.chunk_size))
        _put(self, "compile", _compile(self.compile))
        if self.threads is not None:
            _put(self, "threads", check_positive_int("threads", self.threads))
        _put(self, "log_every", check_positive_int("log_every", self.log_every))

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def check(self, problem, model) -> Runtime:
        resolve_mode(self.derivatives, model)
        return dataclasses.replace(self, device=_concrete_device(self.device))


# -- the whole ----------------------------------------------------------------------------------------------
PARTS = ("sampling", "schedule", "levers", "restarts", "runtime")
"""The parts of :class:`SolveSettings`, in order."""

_LEVER_ORDER = (RAD, RBA, Causal, Sparsity)
"""The order in which levers switched on by keyword options are applied (RBA's factors before causal ones)."""


@dataclass(frozen=True, init=False)
class SolveSettings:
    """Everything that defines a run: the composed parts (module docstring), with their defaults.

    ``SolveSettings(sampling=..., schedule=..., levers=..., restarts=..., runtime=..., **options)`` takes
    parts, keyword options (:func:`option_names`), or both: the options change the parts given (or the
    default ones), e.g. ``SolveSettings(schedule=my_schedule, seed=3)``.
    """

    sampling: Sampling
    schedule: Schedule
    levers: tuple[Lever, ...]
    restarts: Restarts
    runtime: Runtime

    def __init__(
        self,
        *,
        sampling: Sampling | None = None,
        schedule: Schedule | None = None,
        levers: Sequence[Lever] = (),
        restarts: Restarts | int | None = None,
        runtime: Runtime | None = None,
        **options,
    ) -> None:
        if isinstance(restarts, numbers.Integral) and not isinstance(restarts, bool):
            options["restarts"] = restarts
            restarts = None
        parts = {
            "sampling": _part("sampling", sampling, Sampling),
            "schedule": _part("schedule", schedule, Schedule),
            "levers": _levers(levers),
            "restarts": _part("restarts", restarts, Restarts),
            "runtime": _part("runtime", runtime, Runtime),
        }
        for name, value in _apply_options(parts, options).items():
            _put(self, name, value)

    # -- problem- and model-dependent defaults ------------------------------------------------------------
    def check(self, problem, model) -> SolveSettings:
        """These settings checked against ``problem`` and ``model``, with the defaults that depend on them
        filled in (module docstring); raises ``ValueError`` for options that do not fit (``grids`` for a
        model without a grid, causal weights without time, CUDA asked for where there is none, ...)."""
        return SolveSettings(
            sampling=self.sampling.check(problem, model),
            schedule=self.schedule.check(problem, model),
            levers=tuple(lever.check(problem, model) for lever in self.levers),
            restarts=self.restarts.check(problem, model),
            runtime=self.runtime.check(problem, model),
        )

    def replace(self, **options) -> SolveSettings:
        """A copy with parts or keyword options changed (checked like the constructor's)."""
        parts = {name: getattr(self, name) for name in PARTS}
        given = {k: options.pop(k) for k in PARTS if k in options}
        parts.update(given)
        return SolveSettings(**parts, **options)

    def options(self) -> dict:
        """The keyword options these settings answer to (the flat view, :func:`option_names`): what
        ``kp.solve(**options)`` or the command line would take to make them. Options of a stage's optimiser
        other than Adam's ``lr`` and Levenberg-Marquardt's ``scaling`` are not keyword options; :meth:`as_dict`
        has them."""
        out = {**dataclasses.asdict(self.sampling), **dataclasses.asdict(self.runtime)}
        stages = self.schedule.stages
        out["optimizer"] = [[s.name, s.steps] for s in stages]
        adam = [s.optimizer.lr for s in stages if isinstance(s.optimizer, Adam)]
        if adam:
            out["lr"] = adam[0]
        lm = [s.optimizer.scaling for s in stages if isinstance(s.optimizer, LM)]
        if lm:
            out["lm_scaling"] = lm[0]
        grids = self.schedule.grids
        out["grids"] = None if grids.sizes is None else list(grids.sizes)
        out["knots"] = grids.knots
        out["restarts"], out["restart_steps"] = self.restarts.n, self.restarts.steps
        out["sparsity"], out["point_weights"] = 0.0, None
        for lever in self.levers:
            for f in dataclasses.fields(lever):
                if "option" in f.metadata:
                    out[f.metadata["option"]] = getattr(lever, f.name)
            if isinstance(lever, RBA):
                out["point_weights"] = "rba"
        return out

    # -- plain data -------------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        """Plain values by part, for files (checkpoints, ``metrics.json``, exports)."""
        return {
            "sampling": dataclasses.asdict(self.sampling),
            "schedule": self.schedule.as_dict(),
            "levers": [lever.as_dict() for lever in self.levers],
            "restarts": dataclasses.asdict(self.restarts),
            "runtime": dataclasses.asdict(self.runtime),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolveSettings:
        """Settings from :meth:`as_dict` output, or from the flat options that checkpoints of kanpde 0.1 and
        0.2 stored (``{"n_interior": 2500, "optimizer": [["lm", 150]], ...}``)."""
        if not isinstance(data, Mapping):
            raise TypeError(
                f"settings must be a mapping of option names to values, got {type(data).__name__}"
            )
        if not {"sampling", "runtime"} <= set(
            data
        ):  # the flat options of kanpde 0.1-0.2 (0.1 had "schedule")
            return cls(**_legacy_options(data))
        unknown = sorted(set(data) - set(PARTS))
        if unknown:
            raise TypeError(f"unknown settings part(s) {', '.join(unknown)}; valid ones: {', '.join(PARTS)}")
        return cls(
            sampling=Sampling(**data["sampling"]),
            schedule=Schedule.from_dict(data["schedule"]),
            levers=tuple(lever_from_dict(d) for d in data["levers"]),
            restarts=Restarts(**data["restarts"]),
            runtime=Runtime(**data["runtime"]),
        )


def _part(name: str, value: Any, cls: type) -> Any:
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a kanpde.{cls.__name__}, got {type(value).__name__}")
    return value


def _levers(value: Any) -> tuple[Lever, ...]:
    if isinstance(value, Lever):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"levers must be a sequence of levers such as (kp.RAD(50),), got {value!r}")
    for lever in value:
        if not isinstance(lever, Lever):
            raise TypeError(
                f"levers must be kanpde levers (kp.RAD, kp.RBA, kp.Causal, kp.Sparsity), got {lever!r}"
            )
    return tuple(value)


# -- keyword options ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlatOption:
    """A keyword option: its name, the command-line flag, how the command line parses it (``kind``), its help
    and default (from the field it sets)."""

    name: str
    flag: str
    kind: str
    help: str
    default: Any


POINT_WEIGHTS = (None, "rba")
"""Values of the keyword option ``point_weights``: none, or :class:`~kanpde.RBA` weights."""

_SWITCHES = (
    FlatOption("point_weights", "point_weights", "text", "adaptive weights of the PDE's points: rba", None),
)
"""Keyword options that switch a lever on without setting one of its fields."""

OPTION_PARTS = (Sampling, Stage, Schedule, Adam, LM, GridPlan, RAD, Causal, Sparsity, Restarts, Runtime)
"""The classes whose fields carry keyword options (in the command line's order)."""


def flat_options() -> tuple[FlatOption, ...]:
    """Every keyword option, from the metadata of the fields it sets (each default stated once)."""
    found = []
    for cls in OPTION_PARTS:
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if "option" not in meta:
                continue
            default = f.default if f.default is not dataclasses.MISSING else None
            default = default if meta["default_text"] is None else meta["default_text"]
            if isinstance(default, tuple):
                default = meta["default_text"]
            found.append(FlatOption(meta["option"], meta["flag"], meta["kind"], meta["help"], default))
    return (*found, *_SWITCHES)


def option_names() -> tuple[str, ...]:
    """The names of the keyword options."""
    return tuple(o.name for o in flat_options())


def check_options(options: Mapping[str, Any]) -> None:
    """Raise a ``TypeError`` naming the valid options when ``options`` holds an unknown name."""
    unknown = sorted(set(options) - set(option_names()))
    if unknown:
        raise TypeError(
            f"unknown solve option(s) {', '.join(unknown)}; valid ones: {', '.join(option_names())}"
        )


def _apply_options(parts: dict, options: dict) -> dict:
    """``parts`` with the keyword ``options`` applied (each onto its part; module docstring)."""
    check_options(options)
    o = dict(options)
    sampling_keys = ("n_interior", "n_boundary", "n_initial", "sampler", "seed")
    if any(k in o for k in sampling_keys):
        parts["sampling"] = dataclasses.replace(
            parts["sampling"], **{k: o[k] for k in sampling_keys if k in o}
        )
    runtime_keys = ("dtype", "device", "derivatives", "chunk_size", "compile", "threads", "log_every")
    if any(k in o for k in runtime_keys):
        parts["runtime"] = dataclasses.replace(parts["runtime"], **{k: o[k] for k in runtime_keys if k in o})
    restart_keys = {"restarts": "n", "restart_steps": "steps"}
    if any(k in o for k in restart_keys):
        changes = {field_: o[k] for k, field_ in restart_keys.items() if k in o}
        parts["restarts"] = dataclasses.replace(parts["restarts"], **changes)
    parts["schedule"] = _apply_schedule(parts["schedule"], o)
    parts["levers"] = _apply_levers(parts["levers"], o)
    return parts


def _apply_schedule(schedule: Schedule, o: dict) -> Schedule:
    stages = schedule.stages
    if "optimizer" in o:
        if isinstance(o["optimizer"], (str, OptimizerOptions)):
            steps = o.get("steps")
            stages = (Stage(o["optimizer"], steps),)
        else:
            stages = _stages(o["optimizer"])
            if o.get("steps") is not None:
                raise ValueError(
                    "steps goes with a single optimizer name; a schedule carries the steps of each stage"
                )
    elif "steps" in o:
        if len(stages) != 1:
            raise ValueError(
                "steps goes with a single optimizer name; a schedule carries the steps of each stage"
            )
        stages = (dataclasses.replace(stages[0], steps=o["steps"]),)
    if "lr" in o:
        lr = check_positive_real("lr", o["lr"])
        stages = tuple(
            dataclasses.replace(s, optimizer=Adam(lr)) if isinstance(s.optimizer, Adam) else s for s in stages
        )
    if "lm_scaling" in o:
        if o["lm_scaling"] not in optim.SCALINGS:
            raise ValueError(
                f"unknown lm_scaling {o['lm_scaling']!r}; valid ones: {', '.join(optim.SCALINGS)}"
            )
        stages = tuple(
            dataclasses.replace(s, optimizer=dataclasses.replace(s.optimizer, scaling=o["lm_scaling"]))
            if isinstance(s.optimizer, LM)
            else s
            for s in stages
        )
    grid_keys = {"grids": "sizes", "knots": "knots"}
    grids = schedule.grids
    if any(k in o for k in grid_keys):
        grids = dataclasses.replace(grids, **{f: o[k] for k, f in grid_keys.items() if k in o})
    return Schedule(stages, grids)


def _apply_levers(levers: tuple[Lever, ...], o: dict) -> tuple[Lever, ...]:
    current = {type(lever): lever for lever in levers}
    found = dict(current)
    for cls, switch, subs in (
        (RAD, "resample_every", {"resample_k": "k", "resample_c": "c"}),
        (Causal, "causal", {"causal_slices": "slices"}),
    ):
        _flat_checks(o, switch, subs)
        if switch in o and o[switch] is None:
            found.pop(cls, None)
            continue
        changes = {f: o[k] for k, f in subs.items() if k in o}
        first = next(iter(dataclasses.fields(cls))).name  # the switch's field
        if switch in o:
            base = current.get(cls)
            found[cls] = (
                cls(**{first: o[switch], **changes})
                if base is None
                else dataclasses.replace(base, **{first: o[switch]}, **changes)
            )
        elif changes and cls in current:
            found[cls] = dataclasses.replace(current[cls], **changes)
        elif changes:
            names = ", ".join(k for k in subs if k in o)
            raise ValueError(f"{names} shape{'s' if len(changes) == 1 else ''} a lever that is off; "
                             f"pass {switch}= as well to turn it on")  # fmt: skip
    if "point_weights" in o:
        if o["point_weights"] not in POINT_WEIGHTS:
            valid = ", ".join(map(str, POINT_WEIGHTS))
            raise ValueError(f"unknown point_weights {o['point_weights']!r}; valid ones: {valid}")
        if o["point_weights"] is None:
            found.pop(RBA, None)
        else:
            found.setdefault(RBA, RBA())
    if "sparsity" in o:
        weight = check_positive_real("sparsity", o["sparsity"], allow_zero=True)
        found.pop(Sparsity, None)
        if weight > 0:
            found[Sparsity] = Sparsity(weight)
    kept = [lever for lever in levers if found.get(type(lever)) is not None]
    out = [found[type(lever)] for lever in kept]
    out += [found[cls] for cls in _LEVER_ORDER if cls in found and cls not in current]
    return _ordered(out, levers)


def _ordered(levers: list[Lever], given: tuple[Lever, ...]) -> tuple[Lever, ...]:
    """Levers added by keyword options go in :data:`_LEVER_ORDER` among the given ones."""
    if given:
        return tuple(levers)
    return tuple(sorted(levers, key=lambda lever: _LEVER_ORDER.index(type(lever))))


def _flat_checks(o: dict, switch: str, subs: dict) -> None:
    """The flat values of a lever, checked in the keyword options' own words."""
    if switch == "resample_every":
        if o.get(switch) is not None:
            check_positive_int(switch, o[switch])
        k = check_positive_real("resample_k", o.get("resample_k", 1.0), allow_zero=True)
        c = check_positive_real("resample_c", o.get("resample_c", 1.0), allow_zero=True)
        if k == 0 and c == 0:
            raise ValueError("resample_k and resample_c are both 0, which defines no density; keep c = 1")
    else:
        if o.get(switch) is not None:
            check_positive_real(switch, o[switch])
        if "causal_slices" in o:
            check_positive_int("causal_slices", o["causal_slices"])


def _legacy_options(data: Mapping[str, Any]) -> dict:
    """The flat settings of kanpde 0.1-0.2 checkpoints as keyword options: lever options of a lever that was
    off and Adam's learning rate without an Adam stage are dropped (they had no effect)."""
    data = dict(data)
    if "schedule" in data and "optimizer" not in data:  # kanpde 0.1
        data["optimizer"] = data.pop("schedule")
    data.pop("interrupted_at_step", None)  # a marker of 0.1's Ctrl-C checkpoints
    check_options(data)
    if data.get("resample_every") is None:
        data.pop("resample_k", None), data.pop("resample_c", None)
    if data.get("causal") is None:
        data.pop("causal_slices", None)
    optimizer = data.get("optimizer", "lm")
    names = (
        [optimizer]
        if isinstance(optimizer, str)
        else [s[0] if not isinstance(s, Stage) else s.name for s in optimizer]
    )
    if "adam" not in names:
        data.pop("lr", None)
    if not {"lm", "lm-cg"} & set(names):
        data.pop("lm_scaling", None)
    if data.get("steps") is None:
        data.pop("steps", None)
    return data
