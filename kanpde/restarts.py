"""Restarts: probe other initialisations of the model on a short run and go on from the best.

With :class:`~kanpde.Restarts` ``n``, the model's seed ``s`` and ``s + 1, ..., s + n`` each run the first
optimiser stage on the first grid for ``steps`` steps from the same collocation points; the run goes on from
the probe whose last recorded loss is lowest (with adaptive row factors that is the weighted loss).
"""

from __future__ import annotations

import dataclasses
import math

from .ansatz import Ansatz
from .problem import Problem
from .settings import Restarts, Schedule, SolveSettings, Stage
from .train import train

__all__ = ["best_start"]


def probe_settings(settings: SolveSettings) -> SolveSettings:
    """The settings of one probe: the first stage for ``restarts.steps`` steps on the first grid."""
    schedule, steps = settings.schedule, settings.restarts.steps
    sizes = schedule.grids.sizes
    grids = dataclasses.replace(schedule.grids, sizes=sizes[:1] if sizes else None)
    return settings.replace(
        schedule=Schedule((Stage(schedule.stages[0].optimizer, steps),), grids),
        restarts=Restarts(0),
        runtime=dataclasses.replace(settings.runtime, log_every=steps),
    )


def best_start(problem: Problem, ansatz: Ansatz, settings: SolveSettings) -> Ansatz:
    """The trained probe with the lowest loss among the model's initialisation and ``settings.restarts.n``
    others (module docstring)."""
    net, probe = ansatz.net, probe_settings(settings)
    best, best_loss = None, math.inf
    for offset in range(settings.restarts.n + 1):
        candidate = net
        if offset:
            config = {**net.config(), "seed": net.seed + offset}
            runtime = settings.runtime
            candidate = type(net)(**config, dtype=runtime.torch_dtype, device=runtime.device)
        trained = train(problem, Ansatz.for_problem(candidate, problem), probe)
        loss = trained.history[-1]["loss"]
        if math.isfinite(loss) and loss < best_loss:
            best, best_loss = trained.ansatz, loss
    if best is None:
        raise RuntimeError(
            f"every one of the {settings.restarts.n + 1} restart probes ended with a non-finite loss; "
            "lower lr or check the problem's residual"
        )
    return best
