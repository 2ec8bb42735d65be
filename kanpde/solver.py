"""The entry points of a solve: :func:`solve` a problem with a model, :func:`resume` a paused run.

:func:`solve` turns a :class:`~kanpde.Problem` and a model into a :class:`~kanpde.Solution`:

1. compose the settings from ``settings`` and the keyword options and check them against the problem and
   the model (:mod:`kanpde.settings`);
2. copy the model, move it to the device and dtype, map the domain's bounding box onto its input range and
   wrap it with the problem's fields, unknowns and hard conditions (:class:`~kanpde.ansatz.Ansatz`);
3. with restarts, probe other initialisations and keep the best start (:mod:`kanpde.restarts`);
4. train (:mod:`kanpde.train`), on ``threads`` CPU threads when asked (torch's setting is restored after).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from ._checks import check_positive_int
from .ansatz import Ansatz
from .conditions import Initial
from .derivatives import Evaluation, accessor
from .distributed import current
from .mlp import MLP
from .observers import Observer, Progress, as_observers
from .problem import Problem
from .restarts import best_start
from .settings import SolveSettings
from .solution import Solution
from .train import train

__all__ = ["solve", "resume"]

Callback = Callable[[dict, nn.Module], None]


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the block on ``n`` CPU threads of torch (``None``: as they are), restoring the number after."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _observers(callbacks, progress: bool) -> list[Observer]:
    observers = as_observers(callbacks)
    return [Progress(), *observers] if progress and current().is_root else observers


def check_model(problem: Problem, model: nn.Module) -> None:
    """Raise ``TypeError`` / ``ValueError`` unless ``model`` is a module whose width fits the problem's
    coordinates and fields."""
    if not isinstance(problem, Problem):
        raise TypeError(f"solve takes a kanpde.Problem first, got {type(problem).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module such as kanpde.KAN([2, 10, 1]), got {type(model).__name__}"
        )
    width, dim, k = getattr(model, "width", None), problem.domain.dim, len(problem.fields)
    if width is not None and (width[0] != dim or width[-1] != k):
        raise ValueError(
            f"model width {width} does not fit the problem: it needs {dim} input{'s' if dim > 1 else ''} "
            f"({', '.join(problem.domain.names)}) and {k} output{'s' if k > 1 else ''}"
            f"{' (' + ', '.join(problem.fields) + ')' if k > 1 else ''}, e.g. [{dim}, 10, {k}]"
        )


class _Recorder(Evaluation):
    """An evaluation that notes every derivative a residual asks for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys: set[tuple[int, ...]] = set()

    def get(self, field: int, key: tuple[int, ...]):
        self.keys.add(tuple(key))
        return super().get(field, key)


def _time_order(problem: Problem) -> int:
    """The highest order of a time derivative in the residual (probed on a few points with a small network)."""
    domain = problem.domain
    net = MLP([domain.dim, 3, len(problem.fields)], seed=0)
    net.set_input_bounds(*domain.bounds())
    x = domain.sample_interior(4, sampler="random", seed=0)
    ev = _Recorder(
        Ansatz(net, problem.fields, problem.unknowns), x, domain.names, domain.space_dim, "autograd"
    )
    try:
        problem.residual(x, accessor(ev, problem.fields))
    except Exception:  # noqa: BLE001 - a residual that cannot run here fails in the solve with its own error
        return 0
    t = domain.dim - 1
    return max((key.count(t) for key in ev.keys), default=0)


def warn_ill_posed(problem: Problem, settings: SolveSettings) -> None:
    """Warn where a solve cannot give a meaningful answer: no conditions at all (the PDE alone has many
    solutions), a residual of order ``m`` in time with initial conditions on fewer than the ``m`` derivatives
    ``u, u_t, ...`` (e.g. ``u_tt`` with only ``Initial(u)``), or a schedule of zero steps (the untrained
    model)."""
    if not problem.conditions:
        warnings.warn(
            f"problem {problem.name!r} has no boundary, initial or data conditions: the PDE alone has many "
            "solutions (ill-posed); add conditions=[...]",
            UserWarning,
            stacklevel=3,
        )
    elif problem.domain.is_time_dependent:
        order = _time_order(problem)
        given = {c.derivative for c in problem.conditions if isinstance(c, Initial)}
        missing = [n for n in range(order) if n not in given]
        if given and missing:
            names = ", ".join("u" if n == 0 else "du/dt" if n == 1 else f"d{n}u/dt{n}" for n in missing)
            hint = ", ".join(f"kp.Initial(value, derivative={n})" for n in missing)
            warnings.warn(
                f"problem {problem.name!r} is of order {order} in time but has no initial condition on {names} "
                f"(ill-posed); add {hint}",
                UserWarning,
                stacklevel=3,
            )
    if settings.schedule.total_steps == 0:
        warnings.warn(
            "the schedule takes no optimiser steps: the solution is the untrained model",
            UserWarning,
            stacklevel=3,
        )


def solve(
    problem: Problem,
    model: nn.Module,
    *,
    settings: SolveSettings | None = None,
    progress: bool = False,
    callbacks: Sequence[Observer | Callback] = (),
    stop_after: int | None = None,
    **options,
) -> Solution:
    """Train ``model`` on ``problem`` and return the :class:`~kanpde.Solution`.

    ``options`` are the parts of :class:`~kanpde.SolveSettings` (``sampling=``, ``schedule=``, ``levers=``,
    ``restarts=``, ``runtime=``) and the keyword options that map onto them (:mod:`kanpde.settings`):
    ``n_interior``, ``n_boundary``, ``n_initial``, ``sampler``, ``seed``, ``optimizer`` (a name or
    ``(name, steps)`` stages), ``steps``, ``lr``, ``grids``, ``knots``, ``resample_every``, ``resample_k``,
    ``resample_c``, ``point_weights``, ``causal``, ``causal_slices``, ``sparsity``, ``restarts``,
    ``restart_steps``, ``dtype``, ``device``, ``derivatives``, ``chunk_size``, ``compile``, ``threads`` and
    ``log_every``. Pass them as keywords, as a ``settings`` object, or both (the keywords change the object's
    parts).

    ``progress`` shows a tqdm bar; ``callbacks`` are observers (:class:`~kanpde.RunFolder`, any
    :class:`kanpde.observers.Observer`) or functions ``callback(record, model)`` called at every history
    record. ``stop_after`` pauses after that many optimiser steps in total; save the solution and continue
    later with :func:`resume`. On ``KeyboardInterrupt`` the observers get the run as of its last completed
    step (a :class:`~kanpde.RunFolder` saves it, resumable) and the interrupt propagates. The ``model``
    passed in is not modified; the trained one is ``solution.model``.
    """
    check_model(problem, model)
    if settings is not None and not isinstance(settings, SolveSettings):
        raise TypeError(f"settings must be a kanpde.SolveSettings, got {type(settings).__name__}")
    if stop_after is not None:
        check_positive_int("stop_after", stop_after)
    settings = (settings or SolveSettings()).replace(**options).check(problem, model)
    warn_ill_posed(problem, settings)
    observers = _observers(callbacks, progress)
    runtime = settings.runtime
    with threads(runtime.threads):
        model = copy.deepcopy(model).to(device=torch.device(runtime.device), dtype=runtime.torch_dtype)
        if hasattr(model, "set_input_bounds"):
            model.set_input_bounds(*problem.domain.bounds())
        ansatz = Ansatz.for_problem(model, problem)
        if settings.restarts.n:
            ansatz = best_start(problem, ansatz, settings)
        return train(problem, ansatz, settings, observers, stop_after)


def resume(
    solution: Solution,
    *,
    progress: bool = False,
    callbacks: Sequence[Observer | Callback] = (),
    stop_after: int | None = None,
) -> Solution:
    """Continue a run paused with ``stop_after`` or interrupted (also after :meth:`Solution.save` and
    :func:`kanpde.load`).

    The continuation is bit-identical to an uninterrupted run on the same machine in float64: the
    optimiser state, the levers' state, the grid stage and the position in the schedule travel with the
    solution.
    """
    state = solution.trainer_state
    if state is None:
        raise ValueError(
            "this solution holds no resumable training state (it was not saved by a solve); solve again instead"
        )
    if solution.problem is None:
        raise ValueError(
            "resuming needs the problem, which this solution does not have; load the checkpoint with "
            "kp.load(path, problem=NAME_OR_FILE.py) first"
        )
    if state.finished:
        raise ValueError("this run already finished its schedule; start a new solve to train further")
    if stop_after is not None:
        check_positive_int("stop_after", stop_after)
    settings = solution.settings
    observers = _observers(callbacks, progress)
    with threads(settings.runtime.threads):
        model = copy.deepcopy(solution.ansatz)
        return train(solution.problem, model, settings, observers, stop_after, solution.history, state.copy())
