"""The run folder: a solve's files, written by an observer of the training loop.

::

    sol = kp.solve(problem, model, callbacks=[kp.RunFolder("runs/p2d", every=100)])
    # after a Ctrl-C or a crash:
    sol = kp.resume(kp.load("runs/p2d/solution.pt"), callbacks=[kp.RunFolder("runs/p2d", every=100)])

Files (every one written atomically, so a crash never leaves a half-written file):

* ``solution.pt``: a resumable checkpoint (:meth:`~kanpde.Solution.save`), at the first record at or after
  every ``every`` steps, at the end, and on ``KeyboardInterrupt`` (the run as of its last completed step);
* ``history.csv``: one row per history record, written with every checkpoint;
* at the end: ``metrics.json`` (errors against the exact solution when there is one, parameter count,
  steps, wall time, settings), ``solution.h5`` + ``solution.xdmf`` (the fields, for ParaView) and the
  figures ``solution.png`` (``solution_<field>.png`` per field of several), ``history.png`` and, for KANs,
  ``edges.png``; with ``formula=True`` also the solution's closed form (:meth:`~kanpde.Solution.formula`),
  in ``formula.json`` and with the checkpoint, ``metrics.json`` and ``solution.h5``.

Under ``torch.distributed`` rank 0 alone writes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ._atomic import write_csv, write_json
from ._checks import check_positive_int
from .distributed import current
from .models import MODELS, is_kan
from .observers import Observer, Run
from .plotting import plot_edges, plot_history
from .solution import Solution

__all__ = ["RunFolder"]


class RunFolder(Observer):
    """Write a run's checkpoint, history, metrics, fields and figures into the folder ``path``.

    Args:
        path: the folder (created at the first write; an existing file there is an error).
        every: also save the checkpoint and the history every this many steps (``None``: only at the end
            and on an interruption).
        export: write ``solution.h5`` + ``solution.xdmf`` at the end (domains of 1 to 3 spatial axes; the
            fields of a higher-dimensional solve are not written).
        plots: write the figures at the end.
        metadata: extra plain values stored in ``metrics.json`` (the command line stores its options).
        formula: at the end, find the solution's formula first (a KAN on a problem of one field); a formula
            that fails is a warning, and the other files are written without it.

    After an interruption, :attr:`interrupted` holds the step the checkpoint resumes from.
    """

    def __init__(
        self,
        path: str | Path,
        every: int | None = None,
        *,
        export: bool = True,
        plots: bool = True,
        metadata: dict | None = None,
        formula: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"the run folder {self.path} is a file; pass a folder")
        self.every = check_positive_int("every", every) if every is not None else None
        self.export, self.plots, self.metadata = bool(export), bool(plots), dict(metadata or {})
        self.formula = bool(formula)
        self.interrupted: int | None = None
        self._saved_at = 0

    @property
    def checkpoint(self) -> Path:
        """The checkpoint file, ``path / "solution.pt"``."""
        return self.path / "solution.pt"

    @property
    def history_csv(self) -> Path:
        return self.path / "history.csv"

    # -- observer hooks --------------------------------------------------------------------------------
    def on_start(self, run: Run) -> None:
        self._saved_at = run.history[-1]["step"] if run.history else 0

    def on_record(self, record: dict, run: Run) -> None:
        if self.every is None or record["step"] - self._saved_at < self.every:
            return
        self._saved_at = record["step"]
        if current().is_root:
            self._save(run.snapshot())

    def on_interrupt(self, solution: Solution) -> None:
        self.interrupted = solution.trainer_state.step
        if current().is_root:
            self._save(solution)

    def on_end(self, solution: Solution) -> None:
        if current().is_root:
            self.write(solution)

    # -- files -----------------------------------------------------------------------------------------
    def _save(self, solution: Solution) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        solution.save(self.checkpoint)
        write_csv(self.history_csv, solution.history)

    def write(self, solution: Solution) -> dict:
        """Write every file of the folder for ``solution``; returns the metrics written to ``metrics.json``."""
        if self.formula and solution.symbolic_formula is None:
            _find_formula(solution)
        self._save(solution)
        metrics = run_metrics(solution)
        metrics.update(self.metadata)
        write_json(self.path / "metrics.json", metrics)
        if self.export and solution.exportable:
            solution.export(self.path / "solution.h5")
        elif self.export:
            warnings.warn(
                f"{self.path}: fields of a domain with more than 3 spatial axes are not exported (HDF5 + XDMF "
                "grids are 1-3-D); the checkpoint, metrics and slice plots are written",
                RuntimeWarning,
                stacklevel=2,
            )
        if self.plots:
            solution.plot(self.path / "solution.png")
            if solution.history:
                plot_history(solution.history, self.path / "history.png")
            if is_kan(solution.model):
                plot_edges(solution.model, self.path / "edges.png")
        if solution.symbolic_formula is not None:
            solution.symbolic_formula.save(self.path / "formula.json")
        return metrics


def _find_formula(solution: Solution) -> None:
    """``solution.formula()``, its failure a warning (the run's files matter more than the formula)."""
    try:
        solution.formula()
    except (ValueError, RuntimeError, ArithmeticError) as err:
        warnings.warn(f"no formula found: {err}", RuntimeWarning, stacklevel=3)


def run_metrics(solution: Solution) -> dict:
    """What ``metrics.json`` holds: the problem, the model, its size, the run's length and time, the errors
    against the exact solution (when the problem has one) and the settings."""
    problem, model, history = solution.problem, solution.model, solution.history
    family = next((name for name, cls in MODELS.items() if isinstance(model, cls)), type(model).__name__)
    state = solution.trainer_state
    data = {
        "problem": problem.name if problem is not None else None,
        "source": problem.source if problem is not None else None,
        "model": family,
        "model_repr": repr(model),
        "width": list(getattr(model, "width", [])),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "train_seconds": history[-1]["seconds"] if history else 0.0,
        "steps": history[-1]["step"] if history else 0,
        "finished": bool(state is not None and state.finished),
        "final_loss": history[-1]["loss"] if history else None,
    }
    if problem is not None and problem.has_truth:
        data.update(solution.metrics())
    elif solution.ansatz.specs:
        data["unknowns"] = solution.unknowns
    data.update(solution.formula_attributes())
    data["settings"] = solution.settings.as_dict() if solution.settings is not None else None
    return data
