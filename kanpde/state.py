"""Where a training run stands: the position in the schedule, the optimiser's and the levers' state.

A :class:`TrainerState` travels with a :class:`~kanpde.Solution` (and its checkpoint), so that a paused or
interrupted run resumes bit for bit (:func:`kanpde.resume`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from torch import Tensor

__all__ = ["TrainerState"]


@dataclass
class TrainerState:
    """The position of a run.

    Attributes:
        grid_index, stage_index: the grid stage and the optimiser stage the run is in.
        stage_step, step: steps taken in the current stage, and in total.
        evaluations: loss evaluations so far (of objectives already closed).
        extended: whether the model was moved onto the current grid stage's grid.
        finished: whether the schedule is done.
        carry: per optimiser stage, the steps an early end handed to the same stage on the next grid.
        optimizer: the current stage's optimiser state (``None`` between stages).
        best, best_params: the lowest loss of the current stage's loss function and its parameters.
        interior: the interior points, when a lever replaced the ones drawn from the seed (RAD).
        levers: every lever's ``state_dict()``, in the settings' order.
        run_id: the run's identity (a random hex string), which its run folder records.
    """

    grid_index: int = 0
    stage_index: int = 0
    stage_step: int = 0
    step: int = 0
    evaluations: int = 0
    extended: bool = False
    finished: bool = False
    carry: list[int] = field(default_factory=list)
    optimizer: dict | None = None
    best: float = math.inf
    best_params: Tensor | None = None
    interior: Tensor | None = None
    levers: list[dict] = field(default_factory=list)
    run_id: str | None = None

    def copy(self) -> TrainerState:
        """A copy whose lists are its own (tensors are shared: the trainer replaces them, never writes in them)."""
        return dataclasses.replace(self, carry=list(self.carry), levers=[dict(s) for s in self.levers])

    def as_dict(self) -> dict:
        """Plain data and tensors, for checkpoints (the tensors shared, as in :meth:`copy`:
        ``dataclasses.asdict`` would deep-copy the optimiser state at every save)."""
        state = self.copy()
        return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}

    @classmethod
    def from_dict(cls, data: dict, levers: tuple = ()) -> TrainerState:
        """Inverse of :meth:`as_dict`; also reads the dict that kanpde 0.2 stored (``levers`` are the settings'
        levers, whose state it kept under its own keys)."""
        if not isinstance(data, dict):
            raise TypeError(f"a trainer state is a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        if "resamples" in data or "weights" in data or "scale" in data or "levers" not in data:
            data = _legacy(data, levers)
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown trainer state entries {', '.join(unknown)}; the checkpoint is damaged")
        return cls(**data)


def _legacy(data: dict, levers: tuple) -> dict:
    """kanpde 0.2's state dict, whose levers kept their state under its own keys; each lever reads its part
    (:meth:`kanpde.levers.Lever.legacy_state`)."""
    data = dict(data)
    old = {k: data.pop(k, None) for k in ("resamples", "resampled_at", "weights", "scale")}
    data["levers"] = [lever.legacy_state(old) for lever in levers]
    data.setdefault("carry", [])
    return data
