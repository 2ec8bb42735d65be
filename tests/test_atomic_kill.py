"""Atomic writes survive SIGKILL: a writer killed mid-write never leaves a partial file under the final name.

A subprocess rewrites a big file in a loop through :func:`kanpde._atomic.atomic_write` (a checkpoint by
:meth:`kanpde.Solution.save`, fields by :func:`kanpde.export.export_hdf5`), printing each finished iteration.
Once it is under way the test waits for its next temporary file and kills it with SIGKILL. The file at the final
name must then load completely and hold a finished iteration: the last one reported, or the next one if the
rename beat the kill. A temporary file may be left behind, with its recognisable ``.NAME.tmp-PID-HEX`` name.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.export import export_hdf5, read_hdf5

WIDTH = [1, 1500, 1500, 1]  # 2.25 M parameters: an 18 MB checkpoint
N = 600  # a 600 x 600 grid: about 9 MB of fields in the HDF5 file

WRITER = f"""
import itertools, sys
from pathlib import Path
import numpy as np
import torch
import kanpde as kp
from kanpde.export import export_hdf5

path, kind = Path(sys.argv[1]), sys.argv[2]
model = kp.MLP({WIDTH})
axis = np.linspace(0.0, 1.0, {N})
for i in itertools.count(1):
    if kind == "pt":
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(i)
        kp.Solution(model, None, [{{"iteration": i}}]).save(path)
    else:
        export_hdf5(path, {{"x": axis, "y": axis}}, {{"u": np.full(({N}, {N}), float(i))}}, attrs={{"iteration": i}})
    print(i, flush=True)
"""


def write_checkpoint(path: Path, i: int) -> None:
    model = kp.MLP(WIDTH)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(i)
    kp.Solution(model, None, [{"iteration": i}]).save(path)


def checkpoint_iteration(path: Path) -> int:
    sol = kp.load(path)  # raises on a partial file
    (i,) = {record["iteration"] for record in sol.history}
    assert all(bool((p == i).all()) for p in sol.model.parameters())
    return i


def write_fields(path: Path, i: int) -> None:
    axis = np.linspace(0.0, 1.0, N)
    export_hdf5(path, {"x": axis, "y": axis}, {"u": np.full((N, N), float(i))}, attrs={"iteration": i})


def fields_iteration(path: Path) -> int:
    data = read_hdf5(path)  # raises on a partial file
    i = data["attrs"]["iteration"]
    assert data["fields"]["u"].shape == (N, N) and bool((data["fields"]["u"] == i).all())
    return i


@pytest.mark.parametrize(
    ("name", "kind", "write", "iteration"),
    [
        ("solution.pt", "pt", write_checkpoint, checkpoint_iteration),
        ("fields.h5", "h5", write_fields, fields_iteration),
    ],
    ids=["checkpoint", "hdf5"],
)
def test_sigkill_mid_write_leaves_the_previous_file_intact(tmp_path, name, kind, write, iteration):
    folder = tmp_path / "out"
    target = folder / name
    write(target, 0)
    assert iteration(target) == 0
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(target), kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    finals = {name, Path(name).with_suffix(".xdmf").name}  # an export also renames its .xdmf into place
    either = "|".join(re.escape(n) for n in sorted(finals))
    temp = re.compile(rf"^\.({either})\.tmp-{proc.pid}-[0-9a-f]{{8}}$")
    try:
        assert proc.stdout.readline().strip() == "1", proc.communicate()  # one full rewrite done
        deadline = time.monotonic() + 30
        while not any(temp.match(p) for p in os.listdir(folder)):  # the next rewrite has begun
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reported = 1 + len(stdout.split())  # iterations finished before the kill
    final = iteration(target)
    assert final in (
        reported,
        reported + 1,
    )  # a finished write: the last reported, or one renamed just in time
    names = set(os.listdir(folder)) - finals
    assert all(temp.match(p) for p in names), names  # leftovers are recognisable temporary files only
    if final == reported:
        assert names, "the kill should have left the interrupted write's temporary file"
