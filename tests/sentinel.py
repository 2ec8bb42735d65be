"""Test helper: a real ``kanpde solve`` process that waits mid-training for a signal.

The sentinel problem is poisson1d whose residual, at its 60th call (training under way), touches
``training`` beside the problem file and waits while ``hold`` exists (60 s at most), so a test can send a
signal at a known point however fast the machine is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SENTINEL_PROBLEM = """
import time
from pathlib import Path
import kanpde as kp

base = kp.load_problem("poisson1d")
calls = {"n": 0}


def residual(x, u):
    calls["n"] += 1
    if calls["n"] == 60:  # training is under way
        Path(__file__).with_name("training").touch()
        hold = Path(__file__).with_name("hold")
        for _ in range(6000):  # while the test holds the run, wait here for its signal (at most 60 s)
            if not hold.exists():
                break
            time.sleep(0.01)
    return base.residual(x, u)


problem = kp.Problem(base.domain, residual, base.conditions, base.exact, name="sentinel")
"""


def write_sentinel(folder: Path) -> Path:
    """Write the sentinel problem file into ``folder``; returns its path."""
    problem = folder / "sentinel.py"
    problem.write_text(SENTINEL_PROBLEM)
    return problem


def start_solve(*args: str, cwd: Path) -> subprocess.Popen:
    """``python -m kanpde solve ARGS --no-progress`` on one thread, its output captured."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "kanpde", "solve", *args, "--no-progress"]
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """A child inherits an ignored SIGINT (Python then keeps ignoring it): give it the default back, so the
    solve sees Ctrl-C as a user's terminal would deliver it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_mid_training(args: list[str], cwd: Path, sig: int) -> tuple[int, str]:
    """Run ``kanpde solve ARGS`` (a sentinel problem in ``cwd``), send ``sig`` once training is under way;
    returns the exit status and the standard error."""
    hold = cwd / "hold"
    hold.touch()  # the run waits mid-training for the signal
    proc = start_solve(*args, cwd=cwd)
    try:
        deadline = time.monotonic() + 120
        while not (cwd / "training").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the solve did not start training"
            time.sleep(0.02)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hold.unlink(missing_ok=True)
    return proc.returncode, stderr
