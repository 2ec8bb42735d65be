"""Observers of a solve: what hangs off the training loop without being part of its numerics.

An observer is told when a run starts, after every step, at every history record, when it ends and when it
is interrupted (``KeyboardInterrupt``, e.g. Ctrl-C). :class:`kanpde.RunFolder` is the observer that writes a
run's files, :class:`Progress` shows a progress bar; a plain function ``callback(record, model)`` is accepted
too and called at every record.

At a record and at an interruption the observer can take a *resumable* snapshot of the run
(:meth:`Run.snapshot`): a :class:`~kanpde.Solution` whose trainer state continues with :func:`kanpde.resume`
exactly as the uninterrupted run would have (an interrupted step is rolled back to where it started).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from torch import nn
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from .problem import Problem
    from .settings import SolveSettings
    from .solution import Solution
    from .state import TrainerState

__all__ = ["Observer", "Progress", "Run", "as_observers"]


class Run(Protocol):
    """What an observer sees of a run in progress."""

    problem: Problem
    settings: SolveSettings
    model: nn.Module
    history: list[dict]
    state: TrainerState

    def snapshot(self) -> Solution:
        """The run as a resumable :class:`~kanpde.Solution` at this moment (a record or an interruption)."""
        ...


class Observer:
    """Base class of solve observers; override the hooks you need (each does nothing by default).

    * ``on_start(run)``: before the first step (also when a run is resumed);
    * ``on_step(run)``: after every optimiser step;
    * ``on_record(record, run)``: after every history record;
    * ``on_end(solution)``: after the last step, with the finished (or paused, ``stop_after``) solution;
    * ``on_interrupt(solution)``: on ``KeyboardInterrupt``, with the resumable solution as of the last
      completed step; the interrupt propagates after the observers have run.
    """

    def on_start(self, run: Run) -> None:
        """The run is about to take its first step."""

    def on_step(self, run: Run) -> None:
        """An optimiser step was taken."""

    def on_record(self, record: dict, run: Run) -> None:
        """A history record was made."""

    def on_end(self, solution: Solution) -> None:
        """The run finished its schedule or paused at ``stop_after``."""

    def on_interrupt(self, solution: Solution) -> None:
        """The run was interrupted; ``solution`` resumes it."""


class Progress(Observer):
    """A tqdm progress bar of the steps, with the latest loss and error; a run that finished early (its last
    grid converged or stalled) shows its real step count and why it stopped, as its history says."""

    def __init__(self) -> None:
        self.bar = None

    def on_start(self, run: Run) -> None:
        total = run.settings.schedule.total_steps
        self.bar = tqdm(total=total, initial=run.state.step, desc=run.problem.name, leave=True)

    def on_step(self, run: Run) -> None:
        self.bar.update(1)

    def on_record(self, record: dict, run: Run) -> None:
        shown = {"loss": f"{record['loss']:.2e}"}
        if "relative_l2" in record:
            shown["rel_l2"] = f"{record['relative_l2']:.2e}"
        self.bar.set_postfix(shown, refresh=False)

    def on_end(self, solution: Solution) -> None:
        bar = self.bar
        if solution.trainer_state.finished and bar.n < bar.total:
            bar.total = bar.n
            why = solution.history[-1].get("stopped") if solution.history else None
            bar.set_postfix_str(str(why or "converged"), refresh=False)
        bar.close()

    def on_interrupt(self, solution: Solution) -> None:
        self.bar.close()


class _Function(Observer):
    """A plain ``callback(record, model)`` as an observer."""

    def __init__(self, fn: Callable[[dict, nn.Module], None]) -> None:
        self.fn = fn

    def on_record(self, record: dict, run: Run) -> None:
        self.fn(record, run.model)


def as_observers(callbacks: Sequence) -> list[Observer]:
    """Observers from a mix of :class:`Observer` objects and plain ``callback(record, model)`` functions."""
    if isinstance(callbacks, Observer) or callable(callbacks):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if isinstance(cb, Observer):
            out.append(cb)
        elif callable(cb):
            out.append(_Function(cb))
        else:
            raise TypeError(
                f"callbacks must be kanpde observers (e.g. kp.RunFolder) or functions callback(record, model), "
                f"got {cb!r}"
            )
    return out
