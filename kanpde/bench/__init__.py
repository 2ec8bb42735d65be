"""The KAN vs MLP benchmark: KANs and MLPs trained on the same points with the same optimiser schedule.

::

    kanpde bench [--quick] [--out DIR]
    python benchmarks/kan_vs_mlp.py [--quick] [--out DIR]

A **plan** is a list of **suites**. A suite names problems, model specifications, seeds, point counts and one
optimiser schedule; every model of the suite trains on every problem with every seed. Two suites ship:

* ``sweep``: the five problems ``poisson2d``, ``poisson2d_sin``, ``heat1d``, ``heat2d``, ``helmholtz2d``
  with small KANs and MLPs and Levenberg-Marquardt (every model there has at most 6000 parameters);
* ``paper``: the KAN paper's Poisson setup (Liu et al. 2024, §3.4): 10000 interior and 800 boundary points,
  residual weight α = 0.01, KAN ``[2,5,1]``, ``[2,7,1]``, ``[2,10,1]`` against MLPs of depth 2-5 and width
  10 and 100, with L-BFGS (the width-100 MLPs are too large for Levenberg-Marquardt).

**Fairness.** For a given (problem, seed) every model trains on the same collocation points (``solve``'s
``seed`` is the run's seed) and its initial parameters come from the same seed (``KAN(..., seed=s)``,
``MLP(..., seed=s)``). The schedule gives the *total* number of optimiser steps of a run: a KAN trained on
the grids ``(5, 10, 20)`` runs each stage for a third of its steps at each grid, so both families take the
same number of optimiser steps. The tables state the parameter counts and wall times; the comparisons are
made at **equal parameters** (the MLP nearest in parameter count, within a factor 2) or at **equal wall
time** (the best model of the other family that was no slower), each in its own table.

**Outputs** in ``DIR``: ``summary.csv`` (one row per run: problem, model, width, grid, params, seed,
relative_l2, relative_h1, max_abs, mse, seconds, steps, evaluations, ...), ``summary.json`` (the rows, the
aggregates and the settings), one ``<suite>_<problem>.csv`` / ``.json`` table per problem (median and
min-max spread over seeds), the figures ``error_vs_params.png``, ``error_vs_time.png`` and
``staircase.png``, and ``README.md`` with the tables and a reading of them. Every output names the command
that made it. ``--report-only`` rewrites tables, figures and README from a finished run's JSON without
training; ``--headline-only --steps N`` trains only the headline pair, for a longer run of it.

**Time.** Runs use one torch thread by default (``--threads``): on a busy 2-core machine two threads were up
to 10x slower than one. The full plan took about 15-25 minutes on a shared 2-core CPU; ``--quick`` about
10 seconds.
"""

from __future__ import annotations

from .cli import add_arguments, plan_from_args, run_from_args
from .figures import FIGURES
from .plan import PLANS, ModelSpec, Plan, Suite, kan, mlp
from .run import aggregate
from .tables import equal_params, equal_time

__all__ = [
    "ModelSpec",
    "Suite",
    "Plan",
    "PLANS",
    "FIGURES",
    "kan",
    "mlp",
    "plan_from_args",
    "equal_params",
    "equal_time",
    "aggregate",
    "add_arguments",
    "run_from_args",
]
