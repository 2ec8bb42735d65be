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

**One run per folder.** Before the first step the folder is *claimed* (:meth:`RunFolder.claim`): it must
be a folder kanpde can create and write (an unwritable ``--out`` is an error before training, not after
it); no other live process may be writing there (a lock file ``.kanpde-lock`` holds the writer's pid; a
lock left by a process that is gone is taken over); and it may hold no other run's files (the checkpoint's
trainer state names the run they belong to): a run resumed into its own folder goes on, another run is
refused unless ``overwrite=True`` (``--overwrite``), which removes the old run's files just before the new
run writes its first file (a run that fails before that leaves the old one whole), so the files of two runs
never lie side by side. A run that ends before it wrote anything leaves no folder behind.

Under ``torch.distributed`` rank 0 alone writes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ._atomic import write_csv, write_json
from ._checks import check_positive_int
from .checkpoint import stored_run_id
from .distributed import current
from .models import MODELS, is_kan
from .observers import Observer, Run
from .plotting import plot_edges, plot_history
from .solution import Solution

__all__ = ["RunFolder", "RUN_FILES"]

RUN_FILES = ("solution.pt", "history.csv", "metrics.json", "solution.h5", "solution.xdmf", "formula.json",
             "history.png", "edges.png")  # fmt: skip
"""The files a run writes (also ``solution.png`` and ``solution_<field>.png``)."""

LOCK = ".kanpde-lock"


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
        overwrite: replace another run's files in the folder (module docstring) instead of refusing.
        progress: print the formula search's progress lines (with ``formula=True``).

    After an interruption, :attr:`interrupted` holds the step the checkpoint resumes from; :attr:`phase` says
    how far the folder got: ``"new"``, ``"training"``, ``"writing"`` (the final files) or ``"done"``.
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
        overwrite: bool = False,
        progress: bool = True,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"the run folder {self.path} is a file; pass a folder")
        self.every = check_positive_int("every", every) if every is not None else None
        self.export, self.plots, self.metadata = bool(export), bool(plots), dict(metadata or {})
        self.formula, self.overwrite, self.progress = bool(formula), bool(overwrite), bool(progress)
        self.interrupted: int | None = None
        self.phase = "new"
        self._saved_at = 0
        self._claimed = False
        self._created: Path | None = None  # the outermost folder claim() made (removed if left empty)
        self._replaced: list[Path] = []  # another run's files that overwrite=True replaces

    @property
    def checkpoint(self) -> Path:
        """The checkpoint file, ``path / "solution.pt"``."""
        return self.path / "solution.pt"

    @property
    def history_csv(self) -> Path:
        return self.path / "history.csv"

    # -- the folder ------------------------------------------------------------------------------------
    def claim(self, run_id: str | None = None, *, resuming: bool = False) -> None:
        """Take the folder for the run ``run_id`` (module docstring): create it, lock it, and check that it
        holds no other run's files (``resuming``: a run resumed into its own folder, or into a folder of
        kanpde 0.2 without a marker). Raises ``ValueError`` saying what to do otherwise."""
        if self._claimed or not current().is_root:
            return
        self._created = _first_missing(self.path)
        _make_folder(self.path)
        _lock(self.path / LOCK)
        try:
            self._check_other_run(run_id, resuming)
        except ValueError:
            self.release()
            raise
        self._claimed = True

    def _check_other_run(self, run_id: str | None, resuming: bool) -> None:
        found = _run_files(self.path)
        if not found:
            return
        if resuming and self.checkpoint.exists() and stored_run_id(self.checkpoint) in (run_id, None):
            return
        if not self.overwrite:
            names = ", ".join(p.name for p in found[:4]) + (", ..." if len(found) > 4 else "")
            raise ValueError(
                f"the run folder {self.path} holds another run ({names}); pass --overwrite (overwrite=True) to "
                f"replace it, another --out, or --resume {self.path / 'solution.pt'} to continue it"
            )
        self._replaced = found  # removed just before the first write (drop_replaced)

    def drop_replaced(self) -> None:
        """Remove the other run's files that ``overwrite=True`` replaces (done before this run's first file)."""
        for file in self._replaced:
            file.unlink(missing_ok=True)
        self._replaced = []

    def release(self) -> None:
        """Drop the folder's lock (when this process holds it), and the folder when claim() made it and
        nothing was written into it."""
        lock = self.path / LOCK
        if _lock_pid(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        if self._created is not None:
            _remove_empty(self.path, self._created)
        self._claimed, self._created, self._replaced = False, None, []

    # -- observer hooks --------------------------------------------------------------------------------
    def on_start(self, run: Run) -> None:
        self._saved_at = run.history[-1]["step"] if run.history else 0
        self.claim(run.state.run_id, resuming=bool(run.history) or run.state.step > 0)
        self.phase = "training"

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
        self.release()

    def on_end(self, solution: Solution) -> None:
        if current().is_root:
            self.write(solution)
        self.release()

    # -- files -----------------------------------------------------------------------------------------
    def _save(self, solution: Solution) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.drop_replaced()
        solution.save(self.checkpoint)
        write_csv(self.history_csv, solution.history)

    def write(self, solution: Solution) -> dict:
        """Write every file of the folder for ``solution``; returns the metrics written to ``metrics.json``."""
        self.phase = "writing"
        if self.formula and solution.symbolic_formula is None:
            _find_formula(solution, self.progress)
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
        self.phase = "done"
        return metrics


def _make_folder(path: Path) -> None:
    """Create ``path`` (and its parents), or say why it cannot be a run folder."""
    if path.is_symlink() and not path.exists():
        raise ValueError(
            f"the run folder {path} is a link to nothing; pass a folder you can write to (--out)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"cannot create the run folder {path} ({err.strerror or err}); pass a folder you can write to (--out)"
        ) from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write into the run folder {path}; pass a folder you can write to (--out)")


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (``None`` when ``path`` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing = folder
    return missing


def _remove_empty(path: Path, top: Path) -> None:
    """Remove ``path`` and its parents up to ``top`` while they are empty folders."""
    for folder in (path, *path.parents):
        if not folder.is_dir() or any(folder.iterdir()):
            return
        folder.rmdir()
        if folder == top:
            return


def _lock_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def _lock(lock: Path) -> None:
    """Create ``lock`` holding this process's pid; a lock of a live other process is an error, one left by a
    process that is gone is taken over."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _lock_pid(lock)
            if pid is not None and pid != os.getpid() and _alive(pid):
                raise ValueError(
                    f"another solve (process {pid}) is writing into {lock.parent}; wait for it to end or pass "
                    "another --out"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone (or it is ours)
            continue
        except OSError as err:
            raise ValueError(
                f"cannot write into the run folder {lock.parent} ({err.strerror or err}); pass a folder you "
                "can write to (--out)"
            ) from err
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return
    raise ValueError(f"cannot lock the run folder {lock.parent}; another process keeps taking it")


def _run_files(path: Path) -> list[Path]:
    """The files of a run in ``path``."""
    found = [path / name for name in RUN_FILES if (path / name).exists()]
    return found + sorted(p for p in path.glob("solution*.png") if p.is_file())


def _find_formula(solution: Solution, progress: bool) -> None:
    """``solution.formula()``, its failure a warning (the run's files matter more than the formula)."""
    try:
        solution.formula(progress=progress)
    except (ValueError, RuntimeError, ArithmeticError, TimeoutError) as err:  # TimeoutError: the budget
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
