"""The settings of a solve: one frozen object whose fields carry the defaults, validated where it is built.

:class:`SolveSettings` is what :func:`kanpde.solve` builds from its keyword options, what the command line
builds from its flags and what checkpoints and exports store (:meth:`SolveSettings.as_dict`). Each option is
checked here, once, in ``__post_init__``. A few defaults depend on the problem and the model (point counts
by dimension, the grid stages of a KAN, the steps of the default optimiser split over the grid stages, the
device ``"auto"``); :meth:`SolveSettings.resolve` fills them in and returns settings in which every field is
concrete and the optimiser is a tuple of :class:`Stage` objects, the *schedule*.

Defaults: Levenberg-Marquardt for :data:`DEFAULT_STEPS` steps split evenly over the grid stages; a KAN on grid
``G`` trains on grids ``G, 2G, 4G`` (:data:`DEFAULT_GRID_FACTORS`); point counts by dimension
(:data:`DEFAULT_POINTS`); Sobol points; float64; CUDA when available.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ._checks import check_dtype, check_nonnegative_int, check_positive_int, check_positive_real
from .knots import KNOT_PLACEMENTS

__all__ = [
    "Stage",
    "SolveSettings",
    "DEFAULT_STEPS",
    "DEFAULT_GRID_FACTORS",
    "DEFAULT_POINTS",
    "DEFAULT_CHUNK_SIZE",
    "DTYPES",
    "DEVICES",
]

DEFAULT_STEPS = 450
"""Levenberg-Marquardt steps of the default schedule, split evenly over the grid stages."""

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
"""Points per chunk of the loss by default: larger than every default point set (one chunk, today's path
and speed), small enough that a million points run in bounded memory (``benchmarks/scale.py``)."""

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}
"""Floating dtypes by name."""

DEVICES = ("auto", "cpu", "cuda")
"""Device names (``"cuda:1"`` and other torch device strings are accepted too)."""

POINT_WEIGHTS = (None, "rba")
"""Adaptive weights of the PDE's rows: none, or residual-based attention (:mod:`kanpde.adaptive`)."""


@dataclass(frozen=True)
class Stage:
    """One optimiser run: ``optimizer`` (a name in :data:`kanpde.OPTIMIZERS`) for ``steps`` steps."""

    optimizer: str
    steps: int

    def __post_init__(self) -> None:
        from .optim import OPTIMIZERS

        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid ones: {', '.join(OPTIMIZERS)}")
        check_nonnegative_int(f"steps of stage {self.optimizer!r}", self.steps)


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
        raise ValueError(
            f"unknown device {value!r}; pass one of {', '.join(DEVICES)} (or e.g. 'cuda:1')"
        ) from err
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
        return value
    raise TypeError(
        f"compile must be True, False or a torch.compile backend name such as 'inductor', got {value!r}"
    )


def _grids(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"grids must be a sequence of positive integers such as (5, 10, 20), got {value!r}")
    try:
        return tuple(check_positive_int("grids", g) for g in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"grids must be a sequence of positive integers such as (5, 10, 20), got {value!r}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class SolveSettings:
    """Everything that defines a run, as plain values, with the defaults.

    Attributes:
        n_interior, n_boundary, n_initial: collocation point counts (``None``: by dimension,
            :data:`DEFAULT_POINTS`).
        sampler: a name in :data:`kanpde.SAMPLERS` (``"sobol"``, ``"random"``, ``"grid"``, or one you
            registered there).
        optimizer: a name in :data:`kanpde.OPTIMIZERS` run for ``steps`` steps on every grid stage, or a
            schedule of ``(name, steps)`` stages, e.g. ``[("adam", 200), ("lm", 300)]``, run on every grid.
        steps: steps of a single named optimiser on every grid stage (``None``: :data:`DEFAULT_STEPS` split
            over the grid stages); a schedule carries its own steps.
        grids: KAN grid sizes, the schedule runs at each (``None``: ``G, 2G, 4G`` for a KAN on grid ``G``).
        lr: Adam's learning rate.
        seed: seed of the collocation points.
        dtype: ``"float64"`` or ``"float32"`` (a ``torch.dtype`` is accepted and stored by name).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
        derivatives: ``"auto"``, ``"forward"`` (jets) or ``"autograd"``.
        log_every: a history record every this many steps (and at the end of every stage).
        compile: ``torch.compile`` backend of the loss for Adam and L-BFGS stages (``True``: inductor); needs
            the points in one chunk.
        resample_every: redraw the interior points every this many steps from the residual-based density
            ``∝ |r|^k / E|r|^k + c`` (RAD; :mod:`kanpde.adaptive`); ``None``: fixed points.
        resample_k, resample_c: the exponent ``k`` and the uniform share ``c`` of that density.
        point_weights: ``"rba"`` for residual-based attention weights of the PDE's rows; ``None``: none.
        causal: the ``ε`` of causal weighting in time (time-dependent problems); ``None``: off.
        causal_slices: the number of time slices of causal weighting.
        knots: knot placement at the grid stages of a KAN, a name in :data:`kanpde.KNOT_PLACEMENTS`:
            ``"uniform"`` (nested uniform extension) or ``"residual"`` (from the second grid on, the new knots
            of the first layer go where the residual of the model trained so far is large; nested, so the
            function is kept; those layers leave the fast uniform path).
        chunk_size: points per chunk (all terms together): the loss, its gradient and the Gauss-Newton sums
            ``JᵀJ``, ``Jᵀr`` are accumulated chunk by chunk, so memory grows with the chunk, not with the
            number of points (:mod:`kanpde.loss`); the numbers are the same up to round-off.
        sparsity: weight ``λ`` of the KAN paper's L1 + entropy penalty on the edges' mean absolute values
            (:mod:`kanpde.sparsity`; KANs only), added to the loss by every optimiser (for Gauss-Newton
            methods as extra residual rows); ``0`` (the default) turns it off.
        restarts: try this many other initialisations besides the model's own: the model's seed ``s`` and
            ``s + 1, ..., s + restarts`` (a model with ``config()`` and a ``seed``: :class:`~kanpde.KAN`,
            :class:`~kanpde.MLP`) each run the first optimiser stage on the first grid for
            ``restart_steps`` steps from the same initial points, and the run goes on from the probe whose
            last recorded loss is lowest (with adaptive point weights or causal weights that is the weighted
            loss; the probes' steps and seconds are not in the history). ``0`` (the default): no restarts.
            For a small network whose optimiser can settle in a poor local minimum (``poisson5d``).
        restart_steps: the steps of each probe.
    """

    n_interior: int | None = None
    n_boundary: int | None = None
    n_initial: int | None = None
    sampler: str = "sobol"
    optimizer: str | tuple[Stage, ...] = "lm"
    steps: int | None = None
    grids: tuple[int, ...] | None = None
    lr: float = 1e-2
    seed: int = 0
    dtype: str = "float64"
    device: str = "auto"
    derivatives: str = "auto"
    log_every: int = 10
    compile: str | None = None
    resample_every: int | None = None
    resample_k: float = 1.0
    resample_c: float = 1.0
    point_weights: str | None = None
    causal: float | None = None
    causal_slices: int = 16
    knots: str = "uniform"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    sparsity: float = 0.0
    restarts: int = 0
    restart_steps: int = 20

    def __post_init__(self) -> None:
        from .derivatives import MODES
        from .geometry import SAMPLERS

        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("n_interior", "n_boundary", "n_initial"):
            if getattr(self, name) is not None:
                put(name, check_positive_int(name, getattr(self, name)))
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; valid ones: {', '.join(SAMPLERS)}")
        if isinstance(self.optimizer, str):
            Stage(self.optimizer, 0)  # checks the name
        else:
            put("optimizer", _stages(self.optimizer))
            if self.steps is not None:
                raise ValueError(
                    "steps goes with a single optimizer name; a schedule carries the steps of each stage"
                )
        if self.steps is not None:
            put("steps", check_nonnegative_int("steps", self.steps))
        put("grids", _grids(self.grids))
        put("lr", check_positive_real("lr", self.lr))
        put("seed", check_nonnegative_int("seed", self.seed))
        put("dtype", _dtype(self.dtype))
        put("device", _device(self.device))
        if self.derivatives not in MODES:
            raise ValueError(f"unknown derivatives mode {self.derivatives!r}; valid ones: {', '.join(MODES)}")
        put("log_every", check_positive_int("log_every", self.log_every))
        put("compile", _compile(self.compile))
        if self.resample_every is not None:
            put("resample_every", check_positive_int("resample_every", self.resample_every))
        put("resample_k", check_positive_real("resample_k", self.resample_k, allow_zero=True))
        put("resample_c", check_positive_real("resample_c", self.resample_c, allow_zero=True))
        if self.resample_k == 0 and self.resample_c == 0:
            raise ValueError("resample_k and resample_c are both 0, which defines no density; keep c = 1")
        if self.point_weights not in POINT_WEIGHTS:
            raise ValueError(
                f"unknown point_weights {self.point_weights!r}; valid ones: {', '.join(map(str, POINT_WEIGHTS))}"
            )
        if self.causal is not None:
            put("causal", check_positive_real("causal", self.causal))
        put("causal_slices", check_positive_int("causal_slices", self.causal_slices))
        if not isinstance(self.knots, str) or self.knots not in KNOT_PLACEMENTS:
            raise ValueError(f"unknown knots {self.knots!r}; valid ones: {', '.join(KNOT_PLACEMENTS)}")
        put("chunk_size", check_positive_int("chunk_size", self.chunk_size))
        put("sparsity", check_positive_real("sparsity", self.sparsity, allow_zero=True))
        put("restarts", check_nonnegative_int("restarts", self.restarts))
        put("restart_steps", check_positive_int("restart_steps", self.restart_steps))

    # -- the problem- and model-dependent defaults --------------------------------------------------------
    @property
    def is_resolved(self) -> bool:
        """Whether every field is concrete (:meth:`resolve` was applied)."""
        counts = (self.n_interior, self.n_boundary, self.n_initial)
        return (
            all(c is not None for c in counts)
            and not isinstance(self.optimizer, str)
            and self.device != "auto"
        )

    @property
    def schedule(self) -> tuple[Stage, ...]:
        """The optimiser stages run on every grid (of resolved settings)."""
        if isinstance(self.optimizer, str):
            raise ValueError("these settings are not resolved yet; call settings.resolve(problem, model)")
        return self.optimizer

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def resolve(self, problem, model) -> SolveSettings:
        """These settings with the problem- and model-dependent defaults filled in (see the module docstring).

        Raises ``ValueError`` for options that do not fit the model: ``grids`` for a model without a grid,
        ``derivatives="forward"`` for a model without jets, or CUDA asked for where there is none.
        """
        from .derivatives import resolve_mode

        defaults = DEFAULT_POINTS[min(max(problem.domain.dim, 1), 4)]
        grids = self.grids
        has_grid = hasattr(model, "extend_grid")
        if grids is None and has_grid:
            grids = tuple(f * model.grid for f in DEFAULT_GRID_FACTORS)
        elif grids is not None and not has_grid:
            raise ValueError(f"grids applies to KAN models only, not to a {type(model).__name__}; drop grids")
        if self.knots != "uniform" and not has_grid:
            raise ValueError(f"knots applies to KAN models only, not to a {type(model).__name__}; drop knots")
        if self.sparsity > 0 and not has_grid:
            raise ValueError(
                f"sparsity applies to KAN models (edge magnitudes), got {type(model).__name__}; drop sparsity"
            )
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            steps = self.steps if self.steps is not None else max(1, DEFAULT_STEPS // len(grids or (None,)))
            optimizer = (Stage(optimizer, steps),)
        resolve_mode(self.derivatives, model)
        if self.causal is not None and not problem.domain.is_time_dependent:
            raise ValueError(
                "causal weighting needs a time-dependent problem (a SpaceTime domain); drop causal"
            )
        return dataclasses.replace(
            self,
            n_interior=self.n_interior or defaults[0],
            n_boundary=self.n_boundary or defaults[1],
            n_initial=self.n_initial or defaults[2],
            optimizer=optimizer,
            steps=None,
            grids=grids,
            device=str(_concrete_device(self.device)),
        )

    # -- plain data ------------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        """Plain values (lists, not tuples; the schedule as ``[[name, steps], ...]``), for files."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if not isinstance(self.optimizer, str):
            d["optimizer"] = [[s.optimizer, s.steps] for s in self.optimizer]
        d["grids"] = list(self.grids) if self.grids is not None else None
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolveSettings:
        """Settings from :meth:`as_dict` output (or any mapping of field names to values); an unknown key
        is an error that lists the valid ones. Checkpoints of kanpde 0.1 (a ``schedule`` key) are read too."""
        if not isinstance(data, Mapping):
            raise TypeError(
                f"settings must be a mapping of option names to values, got {type(data).__name__}"
            )
        data = dict(data)
        if "schedule" in data and "optimizer" not in data:  # kanpde 0.1 checkpoints
            data["optimizer"] = data.pop("schedule")
        data.pop("interrupted_at_step", None)  # a marker of 0.1's Ctrl-C checkpoints
        check_options(data)
        return cls(**data)

    def replace(self, **options) -> SolveSettings:
        """A copy with ``options`` changed (checked like the constructor's)."""
        check_options(options)
        return dataclasses.replace(self, **options)


def option_names() -> tuple[str, ...]:
    """The names of the solve options (the fields of :class:`SolveSettings`)."""
    return tuple(f.name for f in dataclasses.fields(SolveSettings))


def check_options(options: Mapping[str, Any]) -> None:
    """Raise a ``TypeError`` naming the valid options when ``options`` holds an unknown name."""
    unknown = sorted(set(options) - set(option_names()))
    if unknown:
        raise TypeError(
            f"unknown solve option(s) {', '.join(unknown)}; valid ones: {', '.join(option_names())}"
        )


def _concrete_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; pass device='cpu' or 'auto'")
    return dev
