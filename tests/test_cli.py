"""The ``kanpde`` command line: list, solve (end to end, tiny), export, config files, and clean errors."""

import csv
import json
import math
import shutil
import subprocess
import sys

import pytest

import kanpde as kp
import kanpde.cli
from kanpde.cli import main
from kanpde.export import read_hdf5

TINY = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:5", "--points", "64", "--no-progress"]
OUTPUTS = [
    "solution.pt",
    "solution.h5",
    "solution.xdmf",
    "metrics.json",
    "history.csv",
    "solution.png",
    "history.png",
    "edges.png",
]


def _options(metrics: dict) -> dict:
    """The keyword options of the settings a run's ``metrics.json`` records."""
    return kp.SolveSettings.from_dict(metrics["settings"]).options()


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kanpde: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "poisson1d"
    assert main(["solve", "poisson1d", *TINY, "--out", str(out)]) == 0
    return out


def test_list(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert "poisson2d" in names and "poisson1d" in names
    poisson1d = lines[names.index("poisson1d")]
    assert "1-D Poisson equation" in poisson1d


def test_solve_writes_everything(run_dir):
    for name in OUTPUTS:
        assert (run_dir / name).is_file() and (run_dir / name).stat().st_size > 0, name
    assert not list(run_dir.glob(".*.tmp-*"))


def test_solve_metrics(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert math.isfinite(metrics["relative_l2"])
    assert metrics["problem"] == "poisson1d" and metrics["model"] == "kan"
    assert metrics["width"] == [1, 3, 1] and metrics["params"] > 0
    assert metrics["train_seconds"] > 0 and metrics["steps"] == 5
    assert _options(metrics)["n_interior"] == 64
    assert _options(metrics)["optimizer"] == [["adam", 5]]


def test_solve_history_csv(run_dir):
    with (run_dir / "history.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for column in ("step", "stage", "grid", "loss", "seconds", "evaluations"):
        assert column in rows[0]
    assert rows[-1]["step"] == "5" and rows[-1]["stage"] == "adam" and rows[-1]["grid"] == "3"


def test_solve_summary(tmp_path, capsys):
    out = tmp_path / "mlp"
    args = ["solve", "poisson1d", "--model", "mlp", "--width", "1,4,1", "--activation", "sin"]
    args += ["--optimizer", "adam", "--steps", "3", "--points", "32", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    summary = capsys.readouterr().out
    for word in ("poisson1d", "MLP", "params", "relative L2", "seconds", str(out)):
        assert word in summary
    assert not (out / "edges.png").exists()  # edge plots are for KANs
    assert (out / "solution.png").is_file()


def test_export(run_dir, tmp_path, capsys):
    checkpoint = tmp_path / "run.pt"
    shutil.copy(run_dir / "solution.pt", checkpoint)
    assert main(["export", str(checkpoint)]) == 0  # beside the checkpoint
    data = read_hdf5(tmp_path / "run.h5")
    assert "u" in data["fields"] and data["fields"]["u"].shape == (1001,)
    assert (tmp_path / "run.xdmf").is_file()
    target = tmp_path / "fields" / "coarse.h5"
    assert main(["export", str(checkpoint), "--out", str(target), "--resolution", "11"]) == 0
    assert read_hdf5(target)["fields"]["u"].shape == (11,)
    assert str(target) in capsys.readouterr().out


def test_config_file_and_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(
        'model = "kan"\nwidth = [1, 2, 1]\ngrids = [3]\noptimizer = "adam"\nsteps = 2\npoints = 32\n'
        "boundary-points = 2\n"
    )
    assert main(["solve", "poisson1d", "--config", str(config), "--steps", "4", "--no-progress"]) == 0
    out = tmp_path / "runs" / "poisson1d"  # the default output folder
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["width"] == [1, 2, 1]  # from the file
    assert metrics["steps"] == 4  # the flag wins
    assert _options(metrics)["n_interior"] == 32


def test_interrupt_returns_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kanpde.cli, "solve", interrupted)
    assert main(["solve", "poisson1d", *TINY, "--out", str(tmp_path / "x")]) == 130
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["solve", "no_such_problem"], "unknown problem"),
        (["solve", "poisson1d", "--width", "2,x,1"], "--width"),
        (["solve", "poisson1d", "--width", "2,10,1"], "1 input"),
        (["solve", "poisson1d", "--optimizer", "sgd"], "unknown --optimizer 'sgd'"),
        (["solve", "poisson1d", "--optimizer", "adam:ten"], "--optimizer"),
        (["solve", "poisson1d", "--model", "transformer"], "unknown --model 'transformer'"),
        (["solve", "poisson1d", "--model", "mlp", "--grid", "5"], "KAN models only"),
        (["solve", "poisson1d", "--optimizer", "adam:5", "--steps", "5"], "single --optimizer"),
        (["solve", "poisson1d", "--dtype", "float16"], "unknown --dtype 'float16'"),
        (["solve", "poisson1d", "--bogus"], "unrecognized arguments"),
        (["solve", "poisson1d", "--config", "missing.toml"], "no config file"),
        (["solve"], "name a problem"),
        (["export", "missing.pt"], "no checkpoint"),
        (["frobnicate"], "invalid choice"),
        ([], "name a command"),
    ],
)
def test_bad_input(args, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert match in error_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_bad_problem_file(tmp_path, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text("import kanpde as kp\nproblem = kp.Problem(\n")
    assert main(["solve", str(bad), "--no-progress"]) == 2
    assert "syntax error" in error_line(capsys)


def test_bad_config(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("colour = 'blue'\n")
    assert main(["solve", "poisson1d", "--config", str(config)]) == 2
    assert "unknown key 'colour'" in error_line(capsys)
    config.write_text("width = [1, 3\n")
    assert main(["solve", "poisson1d", "--config", str(config)]) == 2
    assert "not valid TOML" in error_line(capsys)


def test_bad_checkpoint(tmp_path, capsys):
    fake = tmp_path / "fake.pt"
    fake.write_bytes(b"not a checkpoint")
    assert main(["export", str(fake)]) == 2
    assert "checkpoint" in error_line(capsys)


def test_python_m_kanpde_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kanpde", "solve", "no_such_problem"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kanpde: error: unknown problem")
    assert result.stdout == ""


def test_bench_subcommand_is_wired(capsys, tmp_path):
    from kanpde.cli import main

    assert main(["bench", "--quick", "--device", "tpu", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kanpde: error:") and "device" in err[0]


def test_the_summary_of_a_system_gives_each_fields_error(tmp_path, capsys):
    args = [
        "solve",
        "stokes2d",
        "--width",
        "2,3,3",
        "--grids",
        "3",
        "--optimizer",
        "adam:3",
        "--points",
        "64",
    ]
    assert main([*args, "--no-progress", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    sol = kp.load(tmp_path / "s" / "solution.pt")
    for field in ("u", "v", "p"):
        assert f"  {field:<10} {sol.relative_l2(field):.3e}" in out
    assert f"relative L2  {sol.relative_l2():.3e} (vs exact)" in out
