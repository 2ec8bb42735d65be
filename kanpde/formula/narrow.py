"""Narrow KANs for formulas: a KAN ``[d, w, 1]`` trained on the PDE, the width a formula can be read from.

A KAN trained without sparsity spreads its solution over all its hidden nodes (the default ``[2, 10, 1]`` on
poisson2d: every first-layer edge is a different curve no library function fits, and pruning at 1e-2 keeps
9 of the 10 nodes at 9e-2 error), so its formula has hundreds of terms. A narrow KAN has no room to spread:
``[2, 2, 1]`` holds ``sin(πx) sin(πy²) = (cos(πx - πy²) - cos(πx + πy²)) / 2`` with every edge a library
function. :func:`train_narrow` trains one the way ``kanpde solve`` trains by default (Levenberg-Marquardt,
the stall rule, nested grid extension with the hidden spans grown to the activations), on the grids
:data:`GRIDS` from a coarse start, which the benchmark of ``results/symbolic.md`` found to give formulas;
the trained network users have is the yardstick (:func:`~kanpde.formula.search.find_formula`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..ansatz import Ansatz
from ..kan import KAN
from ..loss import PINNLoss, sample_collocation
from ..optim import Objective, StageStop
from ..problem import Problem
from ..settings import LM, Sampling

__all__ = ["train_narrow", "GRIDS", "STEPS"]

GRIDS = (3, 6, 12, 24)
"""Grid sizes a narrow KAN trains on, in turn."""

STEPS = 150
"""Levenberg-Marquardt steps per grid at most (a grid also ends when its loss stalls)."""


def train_narrow(
    problem: Problem,
    width: list[int],
    seed: int,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    stop: Callable[[], bool] | None = None,
) -> KAN:
    """A KAN of ``width`` (initialised from ``seed``) trained on ``problem``'s PDE loss at the default number of
    collocation points (Sobol, from ``seed``); ``stop()`` returning ``True`` ends training early."""
    n = Sampling().check(problem, None)
    points = sample_collocation(
        problem, n.n_interior, n.n_boundary, n.n_initial, "sobol", seed, dtype, device
    )
    model = Ansatz.for_problem(KAN(width, grid=GRIDS[0], seed=seed, dtype=dtype, device=device), problem)
    for index, grid in enumerate(GRIDS):
        if index:
            model = model.extend_grid(grid, samples=points.interior)
        loss = PINNLoss(problem, points, "forward")
        opt = LM().build(Objective(model, loss), final=index == len(GRIDS) - 1)
        for _ in range(STEPS):
            if opt.converged or (stop is not None and stop()):
                break
            try:
                opt.step()
            except StageStop:
                break
        if stop is not None and stop():
            break
    return model.net
