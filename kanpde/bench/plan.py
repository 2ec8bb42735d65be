"""What the benchmark runs: model shapes (:class:`ModelSpec`, made by :func:`kan` and :func:`mlp`), suites
of problems x models x seeds under one optimiser schedule and one point set per (problem, seed)
(:class:`Suite`), named lists of suites (:class:`Plan`) and the shipped plans :data:`PLANS`: ``full`` (the
five-problem sweep and the KAN paper's Poisson setup) and ``quick`` (a smoke test of the harness).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import MODELS, build_model
from ..settings import OPTIMIZERS

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_file_name(name: object, what: str) -> str:
    """``name`` when it can be part of a file name inside the output folder: letters, digits, ``_``, ``.``
    and ``-``, not starting with ``.`` or ``-`` (so never ``..``, a separator or an absolute path); the
    benchmark writes ``<suite>_<problem>.json`` and reads such names back from ``summary.json``."""
    if not isinstance(name, str) or len(name) > 100 or not _FILE_NAME.fullmatch(name):
        raise ValueError(
            f"{what} {name!r} cannot name a file in the output folder: use letters, digits, '_', '.' and '-' "
            "(starting with a letter or digit)"
        )
    return name


@dataclass(frozen=True)
class ModelSpec:
    """One network shape: ``family`` ``"kan"`` or ``"mlp"``, the hidden layer sizes and, for KANs, the grids.

    ``hidden=(10,)`` is KAN ``[d, 10, 1]``; ``hidden=(100, 100, 100)`` is the depth-4 MLP
    ``[d, 100, 100, 100, 1]`` (depth counts weight layers, as in the KAN paper). ``grids`` are the KAN grid
    stages, e.g. ``(5, 10, 20)``; MLPs take none.
    """

    family: str
    hidden: tuple[int, ...]
    grids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.family not in MODELS:
            raise ValueError(f"unknown model family {self.family!r}; valid ones: {', '.join(MODELS)}")
        hidden = tuple(self.hidden)
        if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be positive layer sizes such as (10,), got {self.hidden!r}")
        grids = tuple(self.grids)
        if self.family == "kan" and not grids:
            raise ValueError("a KAN spec needs grids, e.g. ModelSpec('kan', (10,), grids=(5, 10, 20))")
        if self.family == "mlp" and grids:
            raise ValueError(f"grids apply to KANs only; drop grids={grids!r} from the MLP spec")
        if any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grids):
            raise ValueError(f"grids must be positive integers such as (5, 10, 20), got {self.grids!r}")
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "grids", grids)

    @property
    def width(self) -> int:
        """The (first) hidden width."""
        return self.hidden[0]

    @property
    def depth(self) -> int:
        """Number of weight layers: 2 for ``[d, h, 1]``."""
        return len(self.hidden) + 1

    @property
    def grid(self) -> int:
        """The final KAN grid; 0 for MLPs (no grid)."""
        return self.grids[-1] if self.grids else 0

    def layers(self, dim: int, n_out: int = 1) -> list[int]:
        return [dim, *self.hidden, n_out]

    def label(self, dim: int, n_out: int = 1) -> str:
        shape = "[" + ",".join(map(str, self.layers(dim, n_out))) + "]"
        if self.family == "mlp":
            return f"MLP {shape}"
        grids = f"G{self.grids[0]}" if len(self.grids) == 1 else f"G{'>'.join(map(str, self.grids))}"
        return f"KAN {shape} {grids}"

    def build(self, dim: int, seed: int, grid: int | None = None, n_out: int = 1):
        options = {"grid": grid or self.grids[0]} if self.family == "kan" else {}
        return build_model(self.family, self.layers(dim, n_out), seed=seed, **options)

    def params_at(self, dim: int, grid: int | None = None, n_out: int = 1) -> int:
        """Trainable parameters (for a KAN at ``grid``, default the final grid)."""
        return self.build(dim, 0, grid or self.grid or None, n_out).num_parameters


def kan(hidden: int, grids: Sequence[int]) -> ModelSpec:
    return ModelSpec("kan", (hidden,), tuple(grids))


def mlp(width: int, depth: int) -> ModelSpec:
    return ModelSpec("mlp", (width,) * (depth - 1))


@dataclass(frozen=True)
class Suite:
    """Problems x models x seeds with one point set per (problem, seed) and one optimiser schedule.

    ``schedule`` holds ``(optimizer, steps)`` stages with the total steps of a run; a KAN with ``n`` grid
    stages runs every stage for ``steps / n`` steps at each grid (``steps`` must divide evenly).
    ``residual_weight`` replaces the problems' own weight when given (the KAN paper's α). ``hard`` imposes
    every Dirichlet condition with a constant value exactly (``u = g + φN``) for every model of the suite,
    KAN and MLP alike.
    ``headline`` names a (KAN, MLP) pair whose comparison opens the README.
    """

    name: str
    problems: tuple[str, ...]
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    schedule: tuple[tuple[str, int], ...] = (("lm", 120),)
    n_interior: int = 1000
    n_boundary: int = 200
    n_initial: int = 200
    residual_weight: float | None = None
    hard: bool = False
    log_every: int = 5
    headline: tuple[ModelSpec, ModelSpec] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not self.problems or not self.models or not self.seeds:
            raise ValueError(f"suite {self.name!r} needs at least one problem, one model and one seed")
        check_file_name(self.name, "suite name")
        for problem in self.problems:
            check_file_name(problem, f"problem name of suite {self.name!r}")
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        schedule = tuple((str(name), int(steps)) for name, steps in self.schedule)
        for name, steps in schedule:
            if name not in OPTIMIZERS:
                raise ValueError(f"unknown optimizer {name!r}; valid ones: {', '.join(OPTIMIZERS)}")
            if steps < 1:
                raise ValueError(f"stage {name!r} of suite {self.name!r} needs steps >= 1, got {steps}")
        object.__setattr__(self, "schedule", schedule)
        for spec in self.models:
            n = len(spec.grids)
            if n > 1 and any(steps % n for _, steps in schedule):
                raise ValueError(
                    f"suite {self.name!r}: {spec.label(2)} has {n} grid stages, so every stage's steps must "
                    f"be a multiple of {n}; got the schedule {schedule}"
                )
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be >= 0, got {self.seeds}")

    def schedule_for(self, spec: ModelSpec) -> list[tuple[str, int]]:
        """The schedule ``solve`` runs at each grid stage of ``spec`` (the total split over the stages)."""
        n = max(1, len(spec.grids))
        return [(name, steps // n) for name, steps in self.schedule]

    @property
    def total_steps(self) -> int:
        return sum(steps for _, steps in self.schedule)

    def schedule_text(self) -> str:
        return " then ".join(f"{name} x {steps}" for name, steps in self.schedule)

    def budget_text(self) -> str:
        """The matched budget of the suite, in words (quoted in every output)."""
        return (
            f"equal optimiser schedule: {self.schedule_text()} steps in total for every model (a KAN with n "
            f"grid stages runs 1/n of every stage at each grid); same collocation points per (problem, seed): "
            f"{self.n_interior} interior, {self.n_boundary} boundary"
            + (f", {self.n_initial} initial (time-dependent problems)" if self.n_initial else "")
            + " points; parameter counts and wall times differ and are compared in their own tables"
        )

    def runs(self) -> int:
        return len(self.problems) * len(self.models) * len(self.seeds)


@dataclass(frozen=True)
class Plan:
    """A named list of suites."""

    name: str
    suites: tuple[Suite, ...]
    description: str = ""

    def runs(self) -> int:
        return sum(s.runs() for s in self.suites)


SWEEP_PROBLEMS = ("poisson2d", "poisson2d_sin", "heat1d", "heat2d", "helmholtz2d")

_SWEEP = Suite(
    name="sweep",
    problems=SWEEP_PROBLEMS,
    models=(
        kan(5, (5,)),
        kan(5, (5, 10, 20)),
        kan(10, (5,)),
        kan(10, (5, 10, 20)),
        mlp(10, 2),
        mlp(10, 3),
        mlp(10, 4),
        mlp(20, 2),
        mlp(20, 3),
        mlp(20, 4),
    ),
    schedule=(("lm", 90),),
    n_interior=1000,
    n_boundary=200,
    n_initial=200,
    note="fewer points and steps than the paper, so that five problems fit the time budget",
)

_PAPER = Suite(
    name="paper",
    problems=("poisson2d",),
    models=(
        kan(5, (5, 10, 20)),
        kan(7, (5, 10, 20)),
        kan(10, (5, 10, 20)),
        *(mlp(w, d) for w in (10, 100) for d in (2, 3, 4, 5)),
    ),
    schedule=(("lbfgs", 90),),
    n_interior=10000,
    n_boundary=800,
    n_initial=0,
    residual_weight=0.01,
    headline=(kan(10, (5, 10, 20)), mlp(100, 4)),
    note=(
        "the KAN paper's points and α = 0.01; L-BFGS because the width-100 MLPs (up to 30701 parameters) "
        "are beyond Levenberg-Marquardt's 6000-parameter limit; the step count is what fits the 30-minute "
        "budget on a 2-core CPU, far fewer steps than the paper trained"
    ),
)

_QUICK = Suite(
    name="sweep",
    problems=("poisson2d",),
    models=(kan(5, (5,)), kan(5, (5, 10)), mlp(10, 3), mlp(20, 3)),
    schedule=(("lm", 40),),
    n_interior=400,
    n_boundary=100,
    n_initial=0,
    note="--quick: a smoke test of the harness on one problem, not a benchmark",
)

PLANS: dict[str, Plan] = {
    "full": Plan("full", (_SWEEP, _PAPER), "the five-problem sweep and the KAN paper's Poisson setup"),
    "quick": Plan("quick", (_QUICK,), "one problem, two small models per family, 3 seeds, 40 steps"),
}
"""Plan name -> plan: ``full`` (default) and ``quick`` (``--quick``)."""
