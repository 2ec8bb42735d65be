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
