"""The accuracy benchmark's command-line contract: one problem, a checkpoint, a JSON last line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kanpde as kp

ROOT = Path(__file__).resolve().parent.parent


def test_accuracy_script_writes_a_checkpoint_and_a_json_last_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "poisson1d", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"problem", "config", "relative_l2", "train_seconds", "steps", "params", "checkpoint"} <= set(row)
    assert row["problem"] == "poisson1d" and row["config"].startswith("default")
    assert 0 < row["relative_l2"] < 1e-5 and row["train_seconds"] > 0
    back = kp.load(row["checkpoint"])  # an outside check re-evaluates the stored solution
    assert back.relative_l2() == pytest.approx(row["relative_l2"], rel=1e-12)


def test_device_speed_script_writes_its_table(tmp_path):
    """The GPU throughput script (issue 4), run small on the CPU: one row per size, optimiser and compile
    setting, LM skipped above its Jacobian limit, throughput = points / median step seconds."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "device_speed.py"),
            "--device",
            "cpu",
            "--sizes",
            "300",
            "2000",
            "--warmup",
            "1",
            "--repeats",
            "2",
            "--compile",
            "none",
            "--lm-max-bytes",
            "2e6",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "device_speed_cpu.json").read_text())
    rows = {(r["n"], r["optimizer"]): r for r in result["rows"]}
    assert set(rows) == {(n, o) for n in (300, 2000) for o in ("adam", "lbfgs", "lm")}
    assert "skipped" in rows[(2000, "lm")]  # 2200 x 311 doubles is above 2e6 bytes
    for key in [(300, "adam"), (300, "lbfgs"), (300, "lm"), (2000, "adam")]:
        r = rows[key]
        assert r["points_steps_per_second"] == pytest.approx(r["points"] / r["seconds_per_step"], rel=1e-12)
        assert len(r["step_seconds"]) == 2 and r["params"] == 311
    assert "| 3e+02 | LM | no | 311 |" in (tmp_path / "device_speed_cpu.md").read_text()
