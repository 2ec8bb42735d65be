"""Bad input, everywhere: one clear error of the right type that says what is wrong and how to fix it.

The catalogue runs each bad input through the Python API (``pytest.raises(..., match=...)``) and through the
command line (exit status 2, exactly one stderr line ``kanpde: error: ...``, no traceback). Then: a NaN in the
loss (Ctrl-C is tested in ``test_interrupt.py``).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import kanpde as kp
import kanpde.train
from kanpde.cli import main
from kanpde.export import export_hdf5, read_hdf5

QUICK = {"optimizer": "adam", "steps": 2, "n_interior": 16}
TINY_CLI = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:3", "--points", "16", "--no-progress"]


@functools.cache
def poisson1d() -> kp.Problem:
    return kp.load_problem("poisson1d")


def interval_problem(residual=None, conditions=None, **kwargs) -> kp.Problem:
    residual = residual or (lambda x, u: u.d("x", "x") + 1.0)
    conditions = [kp.Dirichlet(0.0)] if conditions is None else conditions
    return kp.Problem(kp.Interval(0.0, 1.0), residual, conditions, **kwargs)


def quick_solve(problem, model=None, **options):
    return kp.solve(problem, model or kp.KAN([1, 3, 1]), **{**QUICK, **options})


def checkpoint(path: Path, problem=None) -> Path:
    """A real checkpoint of an untrained KAN, without a solve."""
    return kp.Solution(kp.KAN([1, 3, 1]), problem).save(path)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------------------------------------
# files that are not what they claim to be
# ----------------------------------------------------------------------------------------------------------


class Gadget:
    """A class a weights-only unpickler refuses."""


def truncated_checkpoint(tmp: Path) -> Path:
    path = checkpoint(tmp / "cut.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def plain_dict_checkpoint(tmp: Path) -> Path:
    torch.save({"weights": torch.zeros(3), "epoch": 7}, tmp / "plain.pt")
    return tmp / "plain.pt"


def random_bytes_file(tmp: Path) -> Path:
    path = tmp / "noise.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def pickled_object_checkpoint(tmp: Path) -> Path:
    torch.save({"format": "kanpde-checkpoint", "gadget": Gadget()}, tmp / "pickled.pt")
    return tmp / "pickled.pt"


def tagged_but_empty_checkpoint(tmp: Path) -> Path:
    torch.save({"format": "kanpde-checkpoint", "version": 1}, tmp / "empty.pt")
    return tmp / "empty.pt"


def newer_checkpoint(tmp: Path) -> Path:
    torch.save({"format": "kanpde-checkpoint", "version": 99}, tmp / "newer.pt")
    return tmp / "newer.pt"


def unknown_model_checkpoint(tmp: Path) -> Path:
    path = checkpoint(tmp / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["model_class"] = "Transformer"
    torch.save(payload, path)
    return path


def mismatched_weights_checkpoint(tmp: Path) -> Path:
    path = checkpoint(tmp / "weights.pt")
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["width"] = [1, 7, 1]
    torch.save(payload, path)
    return path


def foreign_hdf5(tmp: Path) -> Path:
    """HDF5 as another program writes it: datasets, no kanpde attributes."""
    path = tmp / "other.h5"
    with h5py.File(path, "w") as f:
        f["temperature"] = np.linspace(0.0, 1.0, 11)
        f.attrs["creator"] = "some other solver"
    return path


def other_format_hdf5(tmp: Path) -> Path:
    path = tmp / "format.h5"
    with h5py.File(path, "w") as f:
        f.attrs["kanpde_format"] = "kanpde-mesh"
    return path


def damaged_export(tmp: Path) -> Path:
    """The kanpde attributes, but the coordinates are gone."""
    h5, _ = export_hdf5(tmp / "run.h5", {"x": np.linspace(0, 1, 5)}, {"u": np.zeros(5)})
    with h5py.File(h5, "a") as f:
        del f["coordinates"]
    return h5


def export_file(tmp: Path) -> Path:
    h5, _ = export_hdf5(tmp / "fields.h5", {"x": np.linspace(0, 1, 5)}, {"u": np.zeros(5)})
    return h5


def folder(tmp: Path, name: str = "folder.py") -> Path:
    path = tmp / name
    path.mkdir()
    return path


PROBLEM_HEADER = "import torch\nimport kanpde as kp\n"
SYNTAX_ERROR = PROBLEM_HEADER + "problem = kp.Problem(\n"
RAISES = PROBLEM_HEADER + "scale = 1 / 0\n"
NO_PROBLEM = PROBLEM_HEADER + "domain = kp.Interval(0.0, 1.0)\n"
NOT_A_PROBLEM = PROBLEM_HEADER + "problem = 'poisson'\n"
WRONG_EXACT = (
    PROBLEM_HEADER
    + "problem = kp.Problem(kp.Interval(0.0, 1.0), lambda x, u: u.d('x', 'x'), [kp.Dirichlet(0.0)],\n"
    + "                     exact=lambda x: torch.cat([x, x], dim=1))\n"
)
WRONG_RESIDUAL = (
    PROBLEM_HEADER
    + "problem = kp.Problem(kp.Interval(0.0, 1.0), lambda x, u: u.value[:3], [kp.Dirichlet(0.0)])\n"
)
BAD_FACE = PROBLEM_HEADER + (
    "problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian(), "
    "[kp.Dirichlet(0.0, on='front')])\n"
)
MAKE_PROBLEM_RAISES = PROBLEM_HEADER + "def make_problem(k=1.0):\n    raise RuntimeError('k is not set')\n"


def problem_file(text: str, name: str = "my_problem.py"):
    return lambda tmp: write(tmp / name, text)


# ----------------------------------------------------------------------------------------------------------
# the API catalogue: (what to do with tmp_path, exception type, message pattern)
# ----------------------------------------------------------------------------------------------------------

API_CASES = [
    # wrong shapes and dtypes
    (
        "model input of the wrong shape",
        lambda t: kp.KAN([2, 3, 1])(torch.zeros(4, 3, dtype=torch.float64)),
        ValueError,
        r"input must have shape \(N, 2\), got \(4, 3\)",
    ),
    (
        "model input of the wrong dtype",
        lambda t: kp.KAN([2, 3, 1])(torch.zeros(4, 2, dtype=torch.float32)),
        TypeError,
        r"input dtype torch.float32 does not match the model's torch.float64; pass x.to",
    ),
    (
        "model input not a tensor",
        lambda t: kp.MLP([2, 3, 1])(np.zeros((4, 2))),
        TypeError,
        r"takes a torch.Tensor of shape \(N, 2\), got ndarray",
    ),
    (
        "solution called on a list",
        lambda t: kp.Solution(kp.KAN([1, 3, 1]), None)([0.5]),
        TypeError,
        r"a Solution takes a tensor or NumPy array of shape \(N, d\), got list",
    ),
    (
        "exact solution returning the wrong shape",
        lambda t: interval_problem(exact=lambda x: torch.cat([x, x], dim=1)),
        ValueError,
        r"exact\(x\) returned shape \(3, 2\) for points of shape \(3, 1\); return \(N,\) or \(N, 1\)",
    ),
    (
        "exact solution returning a list",
        lambda t: interval_problem(exact=lambda x: [0.0] * len(x)),
        TypeError,
        r"exact\(x\) must return a torch.Tensor",
    ),
    (
        "Dirichlet value returning the wrong shape",
        lambda t: quick_solve(interval_problem(conditions=[kp.Dirichlet(lambda x: torch.zeros(len(x), 2))])),
        ValueError,
        r"Dirichlet value returned shape \(2, 2\) for 2 points; return shape \(N,\) or \(N, 1\)",
    ),
    (
        "residual returning the wrong shape",
        lambda t: quick_solve(interval_problem(lambda x, u: u.value[:3])),
        ValueError,
        r"the residual function returned shape \(3,\) for 16 points; return shape \(N,\) or \(N, 1\)",
    ),
    (
        "residual returning a number",
        lambda t: quick_solve(interval_problem(lambda x, u: 0.0)),
        TypeError,
        r"the residual function must return a torch.Tensor, got float",
    ),
    # wrong types
    (
        "problem not a Problem",
        lambda t: kp.solve("poisson1d", kp.KAN([1, 3, 1])),
        TypeError,
        r"solve takes a kanpde.Problem first, got str",
    ),
    (
        "model not a Module",
        lambda t: kp.solve(poisson1d(), [1, 3, 1]),
        TypeError,
        r"model must be a torch.nn.Module such as kanpde.KAN\(\[2, 10, 1\]\), got list",
    ),
    (
        "domain not a Domain",
        lambda t: kp.Problem((0.0, 1.0), lambda x, u: u.value),
        TypeError,
        r"domain must be a kanpde domain \(Interval, Rectangle, Box, Disk, Polygon, SpaceTime, ...\)",
    ),
    (
        "conditions not Conditions",
        lambda t: interval_problem(conditions=["u = 0 on the boundary"]),
        TypeError,
        r"conditions must be kanpde conditions such as kp.Dirichlet\(0.0\)",
    ),
    (
        "residual not callable",
        lambda t: kp.Problem(kp.Interval(0.0, 1.0), "u'' + 1"),
        TypeError,
        r"residual must be a callable residual\(x, u\)",
    ),
    (
        "negative weight",
        lambda t: kp.Dirichlet(0.0, weight=-1.0),
        ValueError,
        r"Dirichlet: weight must be a finite number >= 0, got -1.0",
    ),
    (
        "Dirichlet value a string",
        lambda t: kp.Dirichlet("zero"),
        TypeError,
        r"Dirichlet value must be a finite number or a callable of the points",
    ),
    (
        "residual weight zero",
        lambda t: interval_problem(residual_weight=0.0),
        ValueError,
        r"residual_weight must be a finite number > 0",
    ),
    # unknown names
    (
        "unknown optimizer",
        lambda t: quick_solve(poisson1d(), optimizer="sgd"),
        ValueError,
        r"unknown optimizer 'sgd'; valid ones: adam, lbfgs, lm",
    ),
    (
        "unknown sampler",
        lambda t: quick_solve(poisson1d(), sampler="halton"),
        ValueError,
        r"unknown sampler 'halton'; valid ones: sobol, random, grid",
    ),
    (
        "unknown model class in a checkpoint",
        lambda t: kp.load(unknown_model_checkpoint(t)),
        ValueError,
        r"its model does not rebuild \(unknown model 'Transformer'; valid ones: kan, mlp\)",
    ),
    (
        "unknown face",
        lambda t: kp.Problem(
            kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, on="front")]
        ),
        ValueError,
        r"unknown face 'front' for Rectangle; valid faces: xmin, xmax, ymin, ymax",
    ),
    (
        "unknown coordinate in u.d",
        lambda t: quick_solve(interval_problem(lambda x, u: u.d("q"))),
        ValueError,
        r"unknown coordinate 'q'; valid names are x",
    ),
    (
        "unknown activation",
        lambda t: kp.MLP([1, 8, 1], activation="relu6"),
        ValueError,
        r"unknown activation 'relu6'; valid ones: tanh",
    ),
    (
        "unknown derivatives mode",
        lambda t: quick_solve(poisson1d(), derivatives="symbolic"),
        ValueError,
        r"unknown derivatives mode 'symbolic'; valid ones: auto, forward, autograd",
    ),
    (
        "unknown solve option",
        lambda t: quick_solve(poisson1d(), epochs=10),
        TypeError,
        r"unknown solve option\(s\) epochs; valid ones:",
    ),
    (
        "u.dt on a stationary problem",
        lambda t: quick_solve(interval_problem(lambda x, u: u.dt())),
        ValueError,
        r"u.dt\(\) needs a SpaceTime domain",
    ),
    # out-of-range numbers
    (
        "n_interior zero",
        lambda t: quick_solve(poisson1d(), n_interior=0),
        ValueError,
        r"n_interior must be a positive integer, got 0",
    ),
    (
        "grid zero",
        lambda t: kp.KAN([1, 3, 1], grid=0),
        ValueError,
        r"grid must be a positive integer, got 0; pass e.g. grid=5",
    ),
    (
        "spline order zero",
        lambda t: kp.KAN([1, 3, 1], k=0),
        ValueError,
        r"k must be a positive integer, got 0",
    ),
    (
        "negative learning rate",
        lambda t: quick_solve(poisson1d(), lr=-1e-3),
        ValueError,
        r"lr must be a finite number > 0, got -0.001",
    ),
    (
        "zero radius",
        lambda t: kp.Disk((0.0, 0.0), 0.0),
        ValueError,
        r"Disk: radius must be > 0, got radius=0.0; pass a positive radius",
    ),
    ("negative radius", lambda t: kp.Disk((0.0, 0.0), -1.0), ValueError, r"Disk: radius must be > 0"),
    ("width with one entry", lambda t: kp.KAN([2]), ValueError, r"width needs at least two entries"),
    (
        "model that does not fit the problem",
        lambda t: kp.solve(poisson1d(), kp.KAN([2, 3, 1])),
        ValueError,
        r"model width \[2, 3, 1\] does not fit the problem: it needs 1 input \(x\)",
    ),
    # empty or degenerate domains
    (
        "interval with lo == hi",
        lambda t: kp.Interval(1.0, 1.0),
        ValueError,
        r"Interval: a must be < b, got a=1.0 b=1.0",
    ),
    (
        "time span with t0 == t1",
        lambda t: kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.5, 0.5)),
        ValueError,
        r"SpaceTime: t0 must be < t1, got t=\(0.5, 0.5\)",
    ),
    ("box with zero dimensions", lambda t: kp.Box((), ()), ValueError, r"Box: needs dimension >= 1"),
    (
        "rectangle flat in y",
        lambda t: kp.Rectangle((0.0, 1.0), (1.0, 1.0)),
        ValueError,
        r"lo must be < hi in every coordinate",
    ),
    # conditions that cannot apply
    (
        "Initial on a stationary problem",
        lambda t: interval_problem(conditions=[kp.Initial(0.0)]),
        ValueError,
        r"Initial needs a time-dependent domain.*SpaceTime\(space, t=\(t0, t1\)\)",
    ),
    (
        "Periodic on a Disk",
        lambda t: kp.Problem(kp.Disk((0, 0), 1.0), lambda x, u: u.laplacian(), [kp.Periodic("x")]),
        ValueError,
        r"Periodic needs a box-shaped domain",
    ),
    (
        "Periodic in time",
        lambda t: kp.Problem(kp.SpaceTime(kp.Interval(0, 1)), lambda x, u: u.dt(), [kp.Periodic("t")]),
        ValueError,
        r"Periodic axis 't' is not a spatial coordinate; valid: x",
    ),
    # metrics without an exact solution
    (
        "metrics without an exact solution",
        lambda t: kp.Solution(kp.KAN([1, 3, 1]), interval_problem()).metrics(),
        ValueError,
        r"metrics needs the truth, and problem 'problem' has neither an exact solution nor a reference",
    ),
    (
        "relative_l2 without a problem",
        lambda t: kp.Solution(kp.KAN([1, 3, 1]), None).relative_l2(),
        ValueError,
        r"needs the problem.*kp.load\(path, problem=NAME_OR_FILE.py\)",
    ),
    # problem files
    (
        "missing problem file",
        lambda t: kp.load_problem(t / "missing.py"),
        FileNotFoundError,
        r"no problem file at .*missing.py",
    ),
    (
        "problem file that is a folder",
        lambda t: kp.load_problem(folder(t)),
        FileNotFoundError,
        r"folder.py: it is a folder; pass a path to a .py file",
    ),
    (
        "unknown shipped problem",
        lambda t: kp.load_problem("poisson9d"),
        ValueError,
        r"unknown problem 'poisson9d'; shipped problems: .*poisson1d",
    ),
    (
        "problem file with a syntax error",
        lambda t: kp.load_problem(problem_file(SYNTAX_ERROR)(t)),
        ValueError,
        r"my_problem.py has a syntax error at line \d+",
    ),
    (
        "problem file that raises",
        lambda t: kp.load_problem(problem_file(RAISES)(t)),
        ValueError,
        r"my_problem.py raised ZeroDivisionError while loading: division by zero",
    ),
    (
        "problem file without a problem",
        lambda t: kp.load_problem(problem_file(NO_PROBLEM)(t)),
        ValueError,
        r"defines no 'problem' \(a kanpde.Problem\) nor make_problem\(\)",
    ),
    (
        "problem file whose problem is a string",
        lambda t: kp.load_problem(problem_file(NOT_A_PROBLEM)(t)),
        ValueError,
        r"defines no 'problem' \(a kanpde.Problem\)",
    ),
    (
        "make_problem that raises",
        lambda t: kp.load_problem(problem_file(MAKE_PROBLEM_RAISES)(t)),
        ValueError,
        r"make_problem in .*my_problem.py raised RuntimeError: k is not set",
    ),
    # checkpoints
    (
        "missing checkpoint",
        lambda t: kp.load(t / "nothing.pt"),
        FileNotFoundError,
        r"no checkpoint at .*nothing.pt",
    ),
    (
        "checkpoint that is a folder",
        lambda t: kp.load(folder(t, "run")),
        FileNotFoundError,
        r"it is a folder; pass a .pt checkpoint.*solution.pt",
    ),
    (
        "truncated checkpoint",
        lambda t: kp.load(truncated_checkpoint(t)),
        ValueError,
        r"cut.pt is not a kanpde checkpoint: it is truncated or not written by torch.save",
    ),
    (
        "torch.save of a plain dict",
        lambda t: kp.load(plain_dict_checkpoint(t)),
        ValueError,
        r"plain.pt is not a kanpde checkpoint \(no 'kanpde-checkpoint' format tag\)",
    ),
    (
        "random bytes",
        lambda t: kp.load(random_bytes_file(t)),
        ValueError,
        r"noise.pt is not a kanpde checkpoint: it is truncated or not written by torch.save",
    ),
    (
        "pickle of a class weights_only refuses",
        lambda t: kp.load(pickled_object_checkpoint(t)),
        ValueError,
        r"pickled.pt holds Python objects other than tensors and plain data",
    ),
    (
        "checkpoint with the tag and nothing else",
        lambda t: kp.load(tagged_but_empty_checkpoint(t)),
        ValueError,
        r"empty.pt is a damaged kanpde checkpoint: it lacks model_class, model_config",
    ),
    (
        "checkpoint from a newer kanpde",
        lambda t: kp.load(newer_checkpoint(t)),
        ValueError,
        r"written by a newer kanpde \(checkpoint version 99\); upgrade kanpde",
    ),
    (
        "checkpoint whose weights do not fit its model",
        lambda t: kp.load(mismatched_weights_checkpoint(t)),
        ValueError,
        r"weights.pt is a damaged kanpde checkpoint: its model does not rebuild",
    ),
    (
        "HDF5 export given as a checkpoint",
        lambda t: kp.load(export_file(t)),
        ValueError,
        r"fields.h5 is an HDF5 file \(a field export\?\), not a kanpde checkpoint",
    ),
    # HDF5 written by other programs
    (
        "read_hdf5 of another program's HDF5",
        lambda t: read_hdf5(foreign_hdf5(t)),
        ValueError,
        r"other.h5' is not a kanpde export \(no 'kanpde_format' attribute\); export fields with",
    ),
    (
        "read_hdf5 of another kanpde format",
        lambda t: read_hdf5(other_format_hdf5(t)),
        ValueError,
        r"is not a kanpde field export \(kanpde_format = 'kanpde-mesh'",
    ),
    (
        "read_hdf5 of a damaged export",
        lambda t: read_hdf5(damaged_export(t)),
        ValueError,
        r"run.h5' is a damaged kanpde export .*; export it again",
    ),
    (
        "read_hdf5 of a checkpoint",
        lambda t: read_hdf5(checkpoint(t / "solution.pt")),
        ValueError,
        r"solution.pt' is not a kanpde export: it is not a readable HDF5 file",
    ),
    (
        "read_hdf5 of a missing file",
        lambda t: read_hdf5(t / "gone.h5"),
        FileNotFoundError,
        r"no such file: .*gone.h5",
    ),
    (
        "export to an .xdmf path",
        lambda t: kp.Solution(kp.KAN([1, 3, 1]), poisson1d()).export(t / "u.xdmf"),
        ValueError,
        r"ends in '.xdmf', but it names the HDF5 file; pass a path ending in '.h5'",
    ),
]


@pytest.mark.parametrize(
    ("action", "error", "match"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(action, error, match, tmp_path):
    with pytest.raises(error, match=match):
        action(tmp_path)


# ----------------------------------------------------------------------------------------------------------
# the CLI catalogue: (argv from tmp_path, message pattern); exit 2 and one line, nothing written
# ----------------------------------------------------------------------------------------------------------

CLI_CASES = [
    ("unknown problem", lambda t: ["solve", "poisson9d"], r"unknown problem 'poisson9d'; shipped problems"),
    ("missing problem file", lambda t: ["solve", str(t / "missing.py")], r"no problem file at .*missing.py"),
    (
        "problem file that is a folder",
        lambda t: ["solve", str(folder(t))],
        r"it is a folder; pass a path to a .py",
    ),
    (
        "problem file with a syntax error",
        lambda t: ["solve", str(problem_file(SYNTAX_ERROR)(t))],
        r"has a syntax error at line",
    ),
    (
        "problem file that raises",
        lambda t: ["solve", str(problem_file(RAISES)(t))],
        r"raised ZeroDivisionError while loading: division by zero",
    ),
    (
        "problem file without a problem",
        lambda t: ["solve", str(problem_file(NO_PROBLEM)(t))],
        r"defines no 'problem'",
    ),
    (
        "problem file with a wrong exact solution",
        lambda t: ["solve", str(problem_file(WRONG_EXACT)(t))],
        r"raised ValueError while loading: exact\(x\) returned shape \(3, 2\)",
    ),
    (
        "problem file with a condition on a missing face",
        lambda t: ["solve", str(problem_file(BAD_FACE)(t))],
        r"unknown face 'front' for Rectangle; valid faces",
    ),
    (
        "problem file whose residual has the wrong shape",
        lambda t: ["solve", str(problem_file(WRONG_RESIDUAL)(t)), *TINY_CLI],
        r"the residual function returned shape \(3,\) for 16 points",
    ),
    (
        "--points 0",
        lambda t: ["solve", "poisson1d", "--points", "0"],
        r"--points must be a positive integer, got 0; pass e.g. --points=5",
    ),
    (
        "--grid 0",
        lambda t: ["solve", "poisson1d", "--grid", "0"],
        r"--grid must be a positive integer, got 0",
    ),
    (
        "--lr negative",
        lambda t: ["solve", "poisson1d", "--lr", "-0.1"],
        r"--lr must be a finite number > 0, got -0.1",
    ),
    (
        "--lr not a number",
        lambda t: ["solve", "poisson1d", "--lr", "fast"],
        r"--lr takes a number, got 'fast'",
    ),
    (
        "--optimizer unknown",
        lambda t: ["solve", "poisson1d", "--optimizer", "sgd"],
        r"unknown --optimizer 'sgd'; valid ones: adam, lbfgs, lm",
    ),
    (
        "--model unknown",
        lambda t: ["solve", "poisson1d", "--model", "cnn"],
        r"unknown --model 'cnn'; valid ones: kan, mlp",
    ),
    (
        "--activation unknown",
        lambda t: ["solve", "poisson1d", "--model", "mlp", "--activation", "relu6"],
        r"unknown --activation 'relu6'; valid ones: tanh",
    ),
    (
        "--device unknown",
        lambda t: ["solve", "poisson1d", "--device", "tpu"],
        r"unknown --device 'tpu'; pass one of",
    ),
    (
        "--width with a zero layer",
        lambda t: ["solve", "poisson1d", "--width", "1,0,1"],
        r"every entry of --width must be a positive integer, got \[1, 0, 1\]",
    ),
    (
        "--out is a file",
        lambda t: ["solve", "poisson1d", "--out", str(write(t / "taken", "x")), *TINY_CLI],
        r"--out .*taken is a file; pass a folder",
    ),
    (
        "--config missing",
        lambda t: ["solve", "poisson1d", "--config", str(t / "none.toml")],
        r"no config file",
    ),
    (
        "--config broken",
        lambda t: ["solve", "poisson1d", "--config", str(write(t / "c.toml", "points = [1,"))],
        r"is not valid TOML",
    ),
    (
        "export of a missing checkpoint",
        lambda t: ["export", str(t / "none.pt")],
        r"no checkpoint at .*none.pt",
    ),
    (
        "export of a folder",
        lambda t: ["export", str(folder(t, "run"))],
        r"no checkpoint at .*run: it is a folder; pass a .pt checkpoint",
    ),
    (
        "export of a truncated checkpoint",
        lambda t: ["export", str(truncated_checkpoint(t))],
        r"is not a kanpde checkpoint: it is truncated",
    ),
    (
        "export of a plain dict",
        lambda t: ["export", str(plain_dict_checkpoint(t))],
        r"no 'kanpde-checkpoint' format tag",
    ),
    (
        "export of random bytes",
        lambda t: ["export", str(random_bytes_file(t))],
        r"is not a kanpde checkpoint",
    ),
    (
        "export of a refused pickle",
        lambda t: ["export", str(pickled_object_checkpoint(t))],
        r"holds Python objects other than tensors",
    ),
    (
        "export given a kanpde .h5",
        lambda t: ["export", str(export_file(t))],
        r"fields.h5 is an HDF5 file \(a field export\?\), not a kanpde checkpoint; pass a .pt checkpoint",
    ),
    (
        "export given another program's .h5",
        lambda t: ["export", str(foreign_hdf5(t))],
        r"other.h5 is an HDF5 file .*not a kanpde checkpoint",
    ),
    (
        "export of a checkpoint with neither problem nor domain",
        lambda t: ["export", str(checkpoint(t / "orphan.pt"))],
        r"export needs the problem, .*problem=NAME_OR_FILE.py",
    ),
    (
        "export --resolution 1",
        lambda t: ["export", str(checkpoint(t / "a.pt", poisson1d())), "--resolution", "1"],
        r"resolution must be an integer >= 2 \(nodes per coordinate\), got 1",
    ),
    (
        "export --out to .xdmf",
        lambda t: ["export", str(checkpoint(t / "b.pt", poisson1d())), "--out", str(t / "b.xdmf")],
        r"ends in '.xdmf', but it names the HDF5 file",
    ),
]


def error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kanpde: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("argv", "match"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(argv, match, tmp_path, monkeypatch, capsys):
    args = argv(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(match, error_line(captured.err)), captured.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, not even runs/


def test_catalogue_size():
    assert len(API_CASES) + len(CLI_CASES) >= 40


# ----------------------------------------------------------------------------------------------------------
# NaN in the loss
# ----------------------------------------------------------------------------------------------------------


def nan_after(calls: int):
    count = {"n": 0}

    def residual(x, u):
        count["n"] += 1
        poison = float("nan") if count["n"] > calls else 0.0
        return u.d("x", "x") + 1.0 + poison

    return residual


def test_nan_stops_the_stage_restores_the_best_state_and_says_why():
    problem = interval_problem(nan_after(4))
    with pytest.warns(RuntimeWarning, match=r"stage 'adam' stopped at step \d+: .*best parameters restored"):
        sol = kp.solve(problem, kp.KAN([1, 3, 1]), optimizer="adam", steps=20, n_interior=16)
    assert "stopped" in sol.history[-1] and "finite" in sol.history[-1]["stopped"]
    assert all(torch.isfinite(p).all() for p in sol.model.parameters())
    assert torch.isfinite(sol(torch.linspace(0, 1, 5, dtype=torch.float64)[:, None])).all()


def test_nan_in_the_cli_is_one_warning_line_and_a_finished_run(tmp_path, capsys):
    text = PROBLEM_HEADER + (
        "calls = {'n': 0}\n"
        "def residual(x, u):\n"
        "    calls['n'] += 1\n"
        "    return u.d('x', 'x') + 1.0 + (float('nan') if calls['n'] > 4 else 0.0)\n"
        "problem = kp.Problem(kp.Interval(0.0, 1.0), residual, [kp.Dirichlet(0.0)], name='nan')\n"
    )
    path = write(tmp_path / "nan.py", text)
    out = tmp_path / "out"
    args = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:20", "--points", "16", "--no-progress"]
    assert main(["solve", str(path), *args, "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("kanpde: warning: stage 'adam' stopped"), err
    with (out / "history.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert "finite" in rows[-1]["stopped"]
    back = kp.load(out / "solution.pt")
    assert all(torch.isfinite(p).all() for p in back.model.parameters())
