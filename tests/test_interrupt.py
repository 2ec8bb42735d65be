"""The run folder, Ctrl-C and resume: an interrupted solve leaves a resumable checkpoint, and resuming it
ends bit for bit where the uninterrupted run ends (CPU, float64), in Python and on the command line."""

from __future__ import annotations

import csv
import json
import signal

import pytest
import torch
from sentinel import signal_mid_training, start_solve, write_sentinel

import kanpde as kp
import kanpde.cli
from kanpde.cli import main

SCHEDULE = [("adam", 6), ("lm", 5)]


def _options(metrics: dict) -> dict:
    """The keyword options of the settings a run's ``metrics.json`` records."""
    return kp.SolveSettings.from_dict(metrics["settings"]).options()


def _problem(residual_hook=None) -> kp.Problem:
    base = kp.load_problem("poisson1d")
    if residual_hook is None:
        return base

    def residual(x, u):
        residual_hook()
        return base.residual(x, u)

    return kp.Problem(base.domain, residual, base.conditions, base.exact, name="poisson1d")


def _solve(problem, **kw):
    options = {"grids": (3, 6), "optimizer": SCHEDULE, "n_interior": 40, "log_every": 2}
    return kp.solve(problem, kp.KAN([1, 4, 1], grid=3), **{**options, **kw})


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same_params(a, b) -> None:
    for p, q in zip(_params(a), _params(b), strict=True):
        assert torch.equal(p, q)


def _interrupt_at_call(n: int):
    count = {"n": 0}

    def hook():
        count["n"] += 1
        if count["n"] == n:
            raise KeyboardInterrupt

    return hook


@pytest.mark.parametrize(
    "call", [5, 13, 25, 30], ids=["adam", "mid-lm-step", "second-grid", "second-grid-lm"]
)
def test_keyboard_interrupt_with_a_run_folder_resumes_bit_identically(tmp_path, call):
    full = _solve(_problem())
    folder = kp.RunFolder(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        _solve(_problem(_interrupt_at_call(call)), callbacks=[folder])
    paused = kp.load(folder.checkpoint, problem=_problem())  # a problem made in Python: pass it
    assert folder.interrupted == paused.trainer_state.step > 0
    assert not paused.trainer_state.finished
    with (tmp_path / "run" / "history.csv").open(newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [r["step"] for r in paused.history]
    done = kp.resume(paused, callbacks=[kp.RunFolder(tmp_path / "run")])
    _same_params(full.model, done.model)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(done.history) == strip(full.history)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["finished"] and metrics["steps"] == full.history[-1]["step"]


def test_a_run_folder_writes_everything_and_periodic_checkpoints(tmp_path):
    seen = []

    class Spy(kp.Observer):
        def on_record(self, record, run):
            if (tmp_path / "run" / "solution.pt").exists():
                seen.append((record["step"], kp.load(tmp_path / "run" / "solution.pt").trainer_state.step))

    sol = _solve(_problem(), callbacks=[kp.RunFolder(tmp_path / "run", every=4), Spy()])
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    expected = ["edges.png", "history.csv", "history.png", "metrics.json", "solution.h5", "solution.png"]
    assert names == sorted([*expected, "solution.pt", "solution.xdmf"])
    # a checkpoint appears at the first record at or after every 4 steps and resumes from there
    assert seen[0] == (4, 4) and all(saved <= step for step, saved in seen)
    assert sorted({saved for _, saved in seen}) == [4, 8, 13, 17, 21]  # records: 2, 4, 6, 8, 10, 11, 13, ...
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["relative_l2"] == pytest.approx(sol.relative_l2(), rel=1e-12)
    assert _options(metrics)["optimizer"] == [["adam", 6], ["lm", 5]]


def test_a_periodic_checkpoint_resumes_bit_identically(tmp_path):
    full = _solve(_problem())
    snapshots = []

    class Keep(kp.Observer):
        def on_record(self, record, run):
            if record["step"] == 8:
                snapshots.append(run.snapshot())

    _solve(_problem(), callbacks=[Keep()])
    resumed = kp.resume(kp.load(snapshots[0].save(tmp_path / "at8.pt")))
    _same_params(full.model, resumed.model)


def test_ctrl_c_in_the_cli_saves_a_resumable_checkpoint_and_resume_finishes_the_run(
    tmp_path, monkeypatch, capsys
):
    args = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:30", "--points", "16", "--no-progress"]
    assert main(["solve", "poisson1d", *args, "--out", str(tmp_path / "full")]) == 0
    real_solve = kanpde.cli.solve
    records = []

    def interrupt_at_the_second_record(problem, model, *, callbacks=(), **options):
        def stop(record, model):
            records.append(record)
            if len(records) == 2:
                raise KeyboardInterrupt

        return real_solve(problem, model, callbacks=[*callbacks, stop], **options)

    monkeypatch.setattr(kanpde.cli, "solve", interrupt_at_the_second_record)
    out = tmp_path / "out"
    assert main(["solve", "poisson1d", *args, "--out", str(out)]) == 130
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    # the record of step 20 was being made when the interrupt came: step 20 is rolled back
    assert err[0].startswith("kanpde: interrupted after step 19; saved a resumable checkpoint to"), err
    assert f"continue with: kanpde solve poisson1d --resume {out / 'solution.pt'}" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "solution.pt"]
    paused = kp.load(out / "solution.pt")
    assert [r["step"] for r in paused.history] == [10] and paused.trainer_state.step == 19
    monkeypatch.setattr(kanpde.cli, "solve", real_solve)
    assert main(["solve", "--resume", str(out / "solution.pt"), "--no-progress"]) == 0
    _same_params(kp.load(tmp_path / "full" / "solution.pt").model, kp.load(out / "solution.pt").model)
    assert (out / "metrics.json").is_file() and (out / "solution.h5").is_file()


def test_resume_refuses_training_flags(tmp_path, capsys):
    checkpoint = kp.Solution(kp.KAN([1, 3, 1]), kp.load_problem("poisson1d")).save(tmp_path / "a.pt")
    assert main(["solve", "--resume", str(checkpoint), "--points", "50"]) == 2
    assert "--resume continues the run stored in the checkpoint" in capsys.readouterr().err


def test_sigint_to_a_real_solve_then_resume_equals_an_uninterrupted_run(tmp_path):
    problem = write_sentinel(tmp_path)
    args = [str(problem), "--grids", "3,6", "--optimizer", "adam:1500,lm:20", "--points", "64"]
    code, stderr = signal_mid_training([*args, "--out", str(tmp_path / "cut")], tmp_path, signal.SIGINT)
    assert code == 130, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kanpde: interrupted after step"), stderr
    paused = kp.load(tmp_path / "cut" / "solution.pt", problem=problem)
    assert 0 < paused.trainer_state.step < 3040 and not paused.trainer_state.finished
    assert not list((tmp_path / "cut").glob(".*.tmp-*"))
    resumed = start_solve(str(problem), "--resume", str(tmp_path / "cut" / "solution.pt"), cwd=tmp_path)
    full = start_solve(*args, "--out", str(tmp_path / "full"), cwd=tmp_path)
    for p in (resumed, full):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    a = kp.load(tmp_path / "cut" / "solution.pt", problem=problem)
    b = kp.load(tmp_path / "full" / "solution.pt", problem=problem)
    assert a.trainer_state.finished and b.trainer_state.finished
    _same_params(a.model, b.model)
