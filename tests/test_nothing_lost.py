"""Nothing lost, nothing mixed up (issue 25): one test (or more) per numbered point of the issue.

1 the output folder is checked before training; 2 one run per folder (refused, --overwrite, locks);
3 SIGTERM saves a resumable checkpoint and exits 143; 4 exports never write over their checkpoint, ``--out
DIR/`` is a folder; 5 resuming or loading with another problem is an error unless forced; 8 an interruption
during the final writes says what was written; 10 absurd sizes are one-line errors with the estimate;
12 ill-posed or untrained solves warn; 13 a checkpoint with exactly imposed values never evaluates wrongly
without its problem. Points 6, 7, 9, 10 (loaders) and 11 are in ``tests/test_hardening.py``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sentinel import signal_mid_training, write_sentinel

import kanpde as kp
import kanpde.cli
import kanpde.runfolder
from kanpde.cli import main

TINY = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:5", "--points", "64", "--no-progress"]
TINY_2D = ["--width", "2,3,1", *TINY[2:]]


def error_line(capsys) -> str:
    """The one line a failed command printed (no traceback)."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kanpde: error:"), err
    return lines[0]


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def poisson_run(tmp_path) -> Path:
    out = tmp_path / "run"
    assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 0
    return out


# -- 1: the output location is checked before training -------------------------------------------------------


def _unwritable(tmp_path: Path, kind: str) -> tuple[Path, str]:
    if kind == "dangling link":
        link = tmp_path / "link"
        link.symlink_to(tmp_path / "gone" / "folder")
        return link, "is a link to nothing"
    if kind == "under a file":
        (tmp_path / "afile").write_text("x")
        return tmp_path / "afile" / "run", r"cannot create the run folder .*Not a directory"
    return Path("/proc/kanpde-test-run"), "cannot create the run folder"


@pytest.mark.parametrize("kind", ["dangling link", "under a file", "/proc"])
def test_an_unwritable_out_is_an_error_before_training(tmp_path, kind, capsys, monkeypatch):
    out, match = _unwritable(tmp_path, kind)
    started = []
    monkeypatch.setattr(kanpde.cli, "solve", lambda *a, **k: started.append(1))
    assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 2
    line = error_line(capsys)
    assert re.search(match, line), line
    assert "pass a folder you can write to (--out)" in line
    assert not started  # training never began


def test_an_unwritable_run_folder_stops_kp_solve_before_the_first_step(tmp_path):
    out, _ = _unwritable(tmp_path, "dangling link")
    steps = []
    with pytest.raises(ValueError, match="is a link to nothing"):
        kp.solve(
            kp.load_problem("poisson1d"),
            kp.KAN([1, 3, 1]),
            optimizer=[("adam", 5)],
            grids=(3,),
            n_interior=32,
            callbacks=[kp.RunFolder(out), lambda record, model: steps.append(record["step"])],
        )
    assert steps == []


# -- 2: one run per folder --------------------------------------------------------------------------------------


def test_another_run_into_an_occupied_folder_is_refused_and_leaves_it_whole(poisson_run, capsys):
    before = _contents(poisson_run)
    assert main(["solve", "heat1d", *TINY_2D, "--out", str(poisson_run)]) == 2
    line = error_line(capsys)
    assert "holds another run" in line and "pass --overwrite" in line and "--resume" in line
    assert _contents(poisson_run) == before


def test_overwrite_replaces_every_file_of_the_old_run(poisson_run):
    (poisson_run / "formula.json").write_text("{}")  # a file the new run does not write
    assert main(["solve", "heat1d", *TINY_2D, "--out", str(poisson_run), "--overwrite"]) == 0
    assert not (poisson_run / "formula.json").exists()
    assert kp.load(poisson_run / "solution.pt").problem.name == "heat1d"
    assert '"heat1d"' in (poisson_run / "metrics.json").read_text()
    assert not (poisson_run / kanpde.runfolder.LOCK).exists()


def test_overwrite_that_fails_before_training_keeps_the_old_run(poisson_run, capsys):
    before = _contents(poisson_run)
    bad_width = ["--width", "1,3,1", *TINY[2:]]  # heat1d needs 2 inputs
    assert main(["solve", "heat1d", *bad_width, "--out", str(poisson_run), "--overwrite"]) == 2
    assert "does not fit the problem" in error_line(capsys)
    assert _contents(poisson_run) == before


def test_a_folder_locked_by_a_live_solve_is_refused(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "run"
        out.mkdir()
        (out / kanpde.runfolder.LOCK).write_text(f"{holder.pid}\n")
        assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 2
        assert f"another solve (process {holder.pid}) is writing into" in error_line(capsys)
        assert not (out / "solution.pt").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_and_released(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "run"
    out.mkdir()
    (out / kanpde.runfolder.LOCK).write_text(f"{gone.pid}\n")
    assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 0
    assert (out / "solution.pt").exists() and not (out / kanpde.runfolder.LOCK).exists()


def test_a_refused_run_leaves_no_folder_it_created(tmp_path, capsys):
    out = tmp_path / "a" / "b"
    assert main(["solve", "heat1d", "--width", "1,3,1", *TINY[2:], "--out", str(out)]) == 2
    error_line(capsys)
    assert not (tmp_path / "a").exists()


def test_resume_into_its_own_folder_goes_on_but_not_into_another_runs(tmp_path, capsys):
    paused = tmp_path / "paused"
    kp.solve(
        kp.load_problem("poisson1d"),
        kp.KAN([1, 3, 1]),
        optimizer=[("adam", 10)],
        grids=(3,),
        n_interior=32,
        stop_after=4,
        callbacks=[kp.RunFolder(paused)],
    )
    other = tmp_path / "other"
    assert main(["solve", "poisson1d", *TINY, "--out", str(other)]) == 0
    checkpoint = str(paused / "solution.pt")
    capsys.readouterr()
    assert main(["solve", "poisson1d", "--resume", checkpoint, "--out", str(other), "--no-progress"]) == 2
    assert "holds another run" in error_line(capsys)
    assert main(["solve", "poisson1d", "--resume", checkpoint, "--no-progress"]) == 0
    assert kp.load(checkpoint).trainer_state.finished


# -- 3: SIGTERM --------------------------------------------------------------------------------------------------


def test_sigterm_saves_a_resumable_checkpoint_says_so_and_exits_143(tmp_path):
    problem = write_sentinel(tmp_path)
    args = [str(problem), "--grids", "3", "--optimizer", "adam:400", "--points", "64"]
    code, stderr = signal_mid_training([*args, "--out", str(tmp_path / "cut")], tmp_path, signal.SIGTERM)
    assert code == 143, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kanpde: terminated (SIGTERM) after step"), stderr
    assert "--resume" in lines[0]
    paused = kp.load(tmp_path / "cut" / "solution.pt", problem=problem)
    assert 0 < paused.trainer_state.step < 400 and not paused.trainer_state.finished
    assert not (tmp_path / "cut" / kanpde.runfolder.LOCK).exists()


# -- 4: exports never write over their checkpoint -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["export", "symbolic"])
def test_out_equal_to_the_checkpoint_is_refused(poisson_run, command, capsys):
    checkpoint = poisson_run / "solution.pt"
    before = checkpoint.read_bytes()
    assert main([command, str(checkpoint), "--out", str(checkpoint)]) == 2
    assert "would write over the checkpoint" in error_line(capsys)
    assert checkpoint.read_bytes() == before


def test_out_with_a_trailing_separator_is_a_folder(poisson_run, tmp_path, capsys):
    target = tmp_path / "newdir"
    assert main(["export", str(poisson_run / "solution.pt"), "--out", f"{target}{os.sep}"]) == 0
    assert target.is_dir()
    assert sorted(p.name for p in target.iterdir()) == ["solution.h5", "solution.xdmf"]


# -- 5: resuming or loading with another problem ---------------------------------------------------------------


def test_resume_with_another_problem_is_refused_unless_forced(tmp_path, capsys):
    run = tmp_path / "heat"
    assert main(["solve", "heat1d", *TINY_2D, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["solve", "poisson2d_sin", "--resume", str(run / "solution.pt"), "--no-progress"]) == 2
    line = error_line(capsys)
    assert "was not made from this problem" in line and "'heat1d', not 'poisson2d_sin'" in line
    assert "--force" in line


def test_load_with_another_problem_is_an_error_unless_forced(poisson_run):
    with pytest.raises(ValueError, match=r"made from problem 'poisson1d', not 'heat1d'.*force=True"):
        kp.load(poisson_run / "solution.pt", problem="heat1d")
    forced = kp.load(poisson_run / "solution.pt", problem="heat1d", force=True)
    assert forced.problem.name == "heat1d"
    assert kp.load(poisson_run / "solution.pt", problem="poisson1d").problem.name == "poisson1d"


# -- 8: an interruption during the final writes -----------------------------------------------------------------


def test_ctrl_c_during_the_final_writes_says_the_run_finished(tmp_path, monkeypatch, capsys):
    def interrupted_export(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kp.Solution, "export", interrupted_export)
    out = tmp_path / "run"
    assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "while writing the final files" in err and "nothing written" not in err
    assert kp.load(out / "solution.pt").trainer_state.finished


# -- 10: absurd sizes on the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--points", "1e12", r"would need about .* TiB, more than the .* of memory"),
        ("--grids", "1e9", "memory"),
    ],
)
def test_absurd_sizes_are_one_line_errors_with_the_estimate(tmp_path, flag, value, match, capsys):
    args = ["solve", "poisson1d", *TINY, flag, value, "--out", str(tmp_path / "big")]
    assert main(args) == 2
    assert re.search(match, error_line(capsys))
    assert not (tmp_path / "big").exists()


# -- 12: ill-posed and untrained solves warn --------------------------------------------------------------------


def _tiny_solve(problem: kp.Problem, width: list[int], **options):
    options = {"optimizer": [("adam", 2)], "grids": (3,), "n_interior": 16, "n_boundary": 8, **options}
    return kp.solve(problem, kp.KAN(width), **options)


def test_a_problem_without_conditions_warns():
    base = kp.load_problem("poisson1d")
    bare = kp.Problem(base.domain, base.residual, [], name="bare")
    with pytest.warns(UserWarning, match="has no boundary, initial or data conditions"):
        _tiny_solve(bare, [1, 3, 1])


def test_a_wave_with_only_an_initial_value_warns_for_the_velocity():
    domain = kp.SpaceTime(kp.Interval(0.0, 1.0), (0.0, 1.0))
    wave = kp.Problem(
        domain,
        lambda x, u: u.dt(2) - u.d("x", "x"),
        [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(torch.pi * x[:, 0]))],
        name="wave",
    )
    with pytest.warns(
        UserWarning,
        match=r"order 2 in time but has no initial condition on du/dt .*kp.Initial\(value, derivative=1\)",
    ):
        _tiny_solve(wave, [2, 3, 1], n_initial=8)


def test_zero_steps_warn_that_the_model_is_untrained():
    with pytest.warns(UserWarning, match="takes no optimiser steps"):
        _tiny_solve(kp.load_problem("poisson1d"), [1, 3, 1], optimizer=[("adam", 0)])


# -- 13: exactly imposed values without the problem -------------------------------------------------------------


def test_a_hard_checkpoint_with_a_function_lift_refuses_to_evaluate_without_its_problem(tmp_path):
    base = kp.load_problem("poisson2d")
    hard = kp.Problem(
        base.domain, base.residual, [kp.Dirichlet(base.exact, hard=True)], base.exact, name="poisson2d"
    )
    sol = kp.Solution(kp.KAN([2, 3, 1]), hard)
    path = sol.save(tmp_path / "hard.pt")
    with pytest.raises(ValueError, match=r"imposes its Dirichlet values exactly with a function.*problem="):
        kp.load(path)
    x = base.domain.sample_interior(50, dtype=torch.float64)
    assert torch.equal(kp.load(path, problem=hard)(x), sol(x))


def test_a_hard_checkpoint_with_constant_values_evaluates_exactly_without_its_problem(tmp_path):
    base = kp.load_problem("heat1d")
    conditions = [kp.Dirichlet(0.0, hard=True), *(c for c in base.conditions if isinstance(c, kp.Initial))]
    hard = kp.Problem(base.domain, base.residual, conditions, base.exact, name="heat1d")
    sol = kp.Solution(kp.KAN([2, 3, 1]), hard)
    back = kp.load(sol.save(tmp_path / "hard.pt"))
    x = base.domain.sample_interior(50, dtype=torch.float64)
    assert torch.equal(back(x), sol(x))
