"""Issue 25, items 6, 7, 9, 10 and 11: bounded loaders, a consistent .h5/.xdmf pair, names read from files,
one-line errors for absurd sizes and malformed input, and error measures that neither overflow nor hide
a non-finite truth."""

from __future__ import annotations

import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde import bench
from kanpde._checks import check_compile_backend, check_memory, format_bytes
from kanpde.checkpoint import CHECKPOINT_FORMAT, domain_from_dict, domain_to_dict
from kanpde.cli import main
from kanpde.export import export_hdf5, export_points_hdf5, read_hdf5
from kanpde.formula import Formula
from kanpde.formula.expr import FUNCTIONS, from_tree
from kanpde.metrics import max_abs, relative_h1, relative_l2
from kanpde.models import rebuild_model

X = np.linspace(0.0, 1.0, 5)
Y = np.linspace(0.0, 2.0, 4)


def _huge_power() -> list:
    return ["Pow", ["Integer", "10"], ["Integer", "9" * 4000]]


def _deep_tree(depth: int) -> list:
    tree: list = ["Symbol", "x"]
    for _ in range(depth):
        tree = ["Function", "sin", tree]
    return tree


def _formula_data(tree: list, version=1) -> dict:
    return {"format": "kanpde-formula", "version": version, "tree": tree, "names": ["x"], "edges": []}


def _checkpoint(path: Path, model, **extra) -> Path:
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": 2,
        "model_class": type(model).__name__,
        "model_config": model.config(),
        "state_dict": model.state_dict(),
        "history": [],
        "settings": {},
        "problem": {"name": None, "shipped": None, "digest": None},
        **extra,
    }
    torch.save(payload, path)
    return path


# -- 6: bounded loaders ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tree", "match"),
    [
        (_huge_power(), "Integer leaf holds 4000 characters"),
        (_deep_tree(5000), "nested more than 100 deep"),
        (["Pow", ["Symbol", "x"], ["Integer", "1000000"]], "beyond"),
        (["Pow", ["Pow", ["Integer", "9" * 40], ["Integer", "100"]], ["Integer", "100"]], "larger than"),
    ],
)
def test_a_crafted_formula_tree_is_refused_at_once(tree, match):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        from_tree(tree, FUNCTIONS)
    with pytest.raises(ValueError, match=match):
        Formula.from_dict(_formula_data(tree))
    assert time.perf_counter() - started < 5.0


def test_a_tree_sharing_one_subtree_exponentially_is_refused():
    tree: list = ["Symbol", "x"]
    for _ in range(60):  # 2**60 nodes from 60 lists: shared subtrees count every time they occur
        tree = ["Add", tree, tree]
    with pytest.raises(ValueError, match="more than 20000 nodes"):
        from_tree(tree, FUNCTIONS)


def test_a_formula_still_round_trips_through_its_tree(tmp_path):
    f = Formula("3/2*sin(x)**2 + exp(-y**2)*pi + 2.5*x**3", ("x", "y"))
    assert Formula.load(f.save(tmp_path / "f.json")).equals(f)


def test_a_checkpoint_with_a_crafted_formula_loads_without_it(tmp_path):
    """The 4 KB checkpoint that hung every loader at 100 % CPU: the formula is skipped with a warning."""
    limit = sys.getrecursionlimit()
    for tree in (_huge_power(), _deep_tree(2000)):
        sys.setrecursionlimit(20_000)  # pickling the deep tree recurses; loading it does not
        try:
            path = _checkpoint(tmp_path / "f.pt", kp.KAN([1, 2, 1], grid=3), formula=_formula_data(tree))
        finally:
            sys.setrecursionlimit(limit)
        with pytest.warns(RuntimeWarning, match="the stored formula was not read"):
            sol = kp.load(path)
        assert sol.symbolic_formula is None
        assert sol(torch.zeros(3, 1, dtype=torch.float64)).shape == (3,)


def test_a_formula_file_nested_too_deep_for_json_is_a_value_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deep|not a kanpde formula"):
        Formula.load(path)


def test_formula_version_as_text_is_malformed_not_newer():
    tree = ["Symbol", "x"]
    with pytest.raises(ValueError, match="version '1' is malformed"):
        Formula.from_dict(_formula_data(tree, version="1"))
    with pytest.raises(ValueError, match="newer than this kanpde reads"):
        Formula.from_dict(_formula_data(tree, version=99))
    assert str(Formula.from_dict(_formula_data(tree))) == "x"


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: kp.KAN([1, 100_000, 100_000, 1]),
            r"KAN of width \[1, 100000, 100000, 1\].*would need about",
        ),
        (lambda: kp.KAN([2, 10, 1], grid=10**9), r"grids up to 1000000000 intervals.*would need about"),
        (lambda: kp.MLP([1, 10**6, 10**6, 1]), r"MLP of width.*would need about"),
        (lambda: kp.KAN([2, 5, 1], grid=3).extend_grid(10**9), r"would need about"),
    ],
)
def test_absurd_model_sizes_are_refused_before_allocating(build, match):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        build()
    assert time.perf_counter() - started < 5.0


def test_a_checkpoint_with_an_absurd_width_is_a_one_line_error(tmp_path):
    model = kp.KAN([1, 2, 1], grid=3)
    path = _checkpoint(tmp_path / "wide.pt", model)
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["width"] = [1, 100_000, 100_000, 1]
    torch.save(payload, path)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"does not rebuild \(the stored KAN config \(width \[1, 100000, 100000, 1\]\) "
                       r"describes 80,001,800,001 parameter values, but the stored state holds \d+"):  # fmt: skip
        kp.load(path)
    assert time.perf_counter() - started < 5.0
    with pytest.raises(ValueError, match="would need about"):
        rebuild_model("KAN", payload["model_config"], torch.float64)
    with pytest.raises(ValueError, match="must be a dict"):
        rebuild_model("KAN", ["width"], torch.float64)


def _bomb(path: Path, n: int = 40_000) -> Path:
    """A valid small export whose field is replaced by a gzip dataset of n x n zeros (a few KB on disk)."""
    export_hdf5(path, {"x": X, "y": Y}, {"u": np.zeros((5, 4))})
    with h5py.File(path, "a") as f:
        del f["fields/u"]
        f["fields"].create_dataset(
            "u", shape=(n, n), dtype="f8", chunks=(min(n, 1000),) * 2, compression="gzip"
        )
    assert path.stat().st_size < 1_000_000
    return path


def test_a_small_gzip_export_declaring_huge_arrays_is_refused_before_reading(tmp_path):
    path = _bomb(tmp_path / "bomb.h5")
    with pytest.raises(
        ValueError, match=r"bomb.h5.*fields/u: 11.9 GiB.*would need about 11.9 GiB.*max_bytes="
    ):
        read_hdf5(path)
    with pytest.raises(ValueError, match="would need about 11.9 GiB"):
        kp.Reference.load(path)
    huge = _bomb(tmp_path / "huge.h5", n=2_000_000)  # 29 TiB
    with pytest.raises(ValueError, match="would need about 29.1 TiB"):
        read_hdf5(huge, max_bytes=10**15)  # never more than the machine's memory ...
    small = _bomb(tmp_path / "small.h5", n=300)  # ... and a limit the caller raises is honoured
    with pytest.raises(ValueError, match="would need about 703 KiB"):
        read_hdf5(small, max_bytes=100_000)


def test_npz_and_text_references_are_size_checked(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.zeros((100, 2)), u=np.zeros(100))
    assert len(kp.Reference.load(tmp_path / "r.npz")) == 100
    with pytest.raises(ValueError, match="would need about 2.34 KiB.*max_bytes="):
        kp.Reference.load(tmp_path / "r.npz", max_bytes=1000)
    (tmp_path / "r.dat").write_text("0 0 1\n1 1 2\n")
    with pytest.raises(ValueError, match="would need about"):
        kp.Reference.load(tmp_path / "r.dat", max_bytes=10)


# -- 7: the .h5 and the .xdmf are one export ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["grid", "points"])
def test_a_stale_xdmf_beside_a_new_h5_is_detected(tmp_path, kind):
    def write(value: float):
        if kind == "grid":
            return export_hdf5(tmp_path / "run.h5", {"x": X, "y": Y}, {"u": np.full((5, 4), value)})
        points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        return export_points_hdf5(tmp_path / "run.h5", points, {"u": np.full(4, value)})

    h5, xdmf = write(1.0)
    assert "<!-- kanpde pair token: " in xdmf.read_text()[:200]
    read_hdf5(h5)  # a fresh pair reads
    shutil.copy(xdmf, tmp_path / "old.xdmf")
    write(2.0)
    shutil.copy(tmp_path / "old.xdmf", xdmf)  # the kill between the renames: the new .h5, the old .xdmf
    with pytest.raises(ValueError, match=r"run.h5.*run.xdmf.*are not one export.*export again"):
        read_hdf5(h5)
    with pytest.raises(ValueError, match="are not one export"):
        kp.Reference.load(h5)
    xdmf.unlink()  # the .h5 alone reads
    assert np.all(read_hdf5(h5)["fields"]["u"] == 2.0)


def test_an_xdmf_of_another_tool_is_not_compared(tmp_path):
    h5, xdmf = export_hdf5(tmp_path / "run.h5", {"x": X}, {"u": X})
    xdmf.write_text('<?xml version="1.0"?><Xdmf Version="3.0"><Domain/></Xdmf>')
    assert np.array_equal(read_hdf5(h5)["fields"]["u"], X)


def test_the_pair_token_leaves_the_xdmf_readable(tmp_path):
    """ParaView and meshio parse the .xdmf as XML and ignore comments: the tree is what it was."""
    import xml.etree.ElementTree as ET

    import meshio

    _, xdmf = export_hdf5(tmp_path / "run.h5", {"x": X, "y": Y}, {"u": np.ones((5, 4))})
    root = ET.parse(xdmf).getroot()
    assert [child.tag for child in root] == ["Domain"]
    assert meshio.read(xdmf).point_data["u"].shape == (20,)


# -- 9: names read from files never leave --out -----------------------------------------------------------
def _crafted_summary(out: Path, problem: str, suite: str = "sweep") -> None:
    out.mkdir(parents=True)
    settings = {
        "name": suite,
        "problems": [problem],
        "models": [{"family": "kan", "hidden": [3], "grids": [3]}],
        "seeds": [0],
        "schedule": [["lm", 2]],
        "n_interior": 10,
        "n_boundary": 4,
        "n_initial": 0,
        "residual_weight": None,
    }
    (out / "summary.json").write_text(json.dumps({"plan": "quick", "suites": [settings]}))


@pytest.mark.parametrize(
    ("problem", "suite"), [("/../../x", "sweep"), ("poisson2d", "../escape"), ("..", "a")]
)
def test_report_only_refuses_names_that_would_leave_out(tmp_path, problem, suite, capsys):
    out = tmp_path / "deep" / "out"
    _crafted_summary(out, problem, suite)
    args = bench.add_arguments(__import__("argparse").ArgumentParser()).parse_args(
        ["--quick", "--report-only", "--out", str(out)]
    )
    with pytest.raises(ValueError, match="cannot name a file in the output folder"):
        bench.run_from_args(args)
    assert main(["bench", "--quick", "--report-only", "--out", str(out)]) != 0
    assert "cannot name a file in the output folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["summary.json"]


# -- 10: one-line errors -----------------------------------------------------------------------------------
def test_absurd_point_counts_and_grids_are_refused_with_the_estimate():
    square = kp.Rectangle((0.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match=r"1000000000000 points in 2 column\(s\) would need about 14.6 TiB"):
        square.sample_interior(10**12)
    with pytest.raises(ValueError, match="would need about"):
        square.sample_boundary(10**12)
    with pytest.raises(ValueError, match=r"a grid of 100000000000 nodes would need about 1.46 TiB"):
        kp.Interval(0.0, 1.0).evaluation_grid(10**11)


def test_an_export_at_an_absurd_resolution_is_refused(tmp_path):
    model = kp.KAN([1, 2, 1], grid=3)
    model.set_input_bounds([0.0], [1.0])
    path = _checkpoint(tmp_path / "s.pt", model, domain=domain_to_dict(kp.Interval(0.0, 1.0)), fields=["u"])
    sol = kp.load(path)
    with pytest.raises(ValueError, match="would need about"):
        sol.export(tmp_path / "big.h5", resolution=10**11)
    assert main(["export", str(path), "--resolution", "100000000000", "--out", str(tmp_path / "c.h5")]) != 0
    assert not (tmp_path / "big.h5").exists()


def test_check_memory_gives_the_estimate_and_the_limit():
    check_memory("a small thing", 1000)
    with pytest.raises(ValueError, match=r"the points would need about 2 KiB, more than the 1000 B .*fewer"):
        check_memory("the points", 2048, limit=1000, hint="ask for fewer")
    assert format_bytes(12_770_000_000) == "11.9 GiB"


def test_a_stored_domain_missing_a_key_names_it():
    for domain, key in (
        (kp.Interval(0.0, 1.0), "hi"),
        (kp.Rectangle((0, 0), (1, 1)), "lo"),
        (kp.Disk((0, 0), 1), "radius"),
    ):
        data = domain_to_dict(domain)
        del data[key]
        with pytest.raises(ValueError, match=f"lacks '{key}'"):
            domain_from_dict(data)
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        domain_from_dict({**domain_to_dict(kp.Disk((0, 0), 1)), "colour": "red"})
    with pytest.raises(ValueError, match="must be a dict"):
        domain_from_dict(["Interval"])


def test_only_registered_compile_backends_are_accepted():
    assert check_compile_backend("inductor") == "inductor"
    assert check_compile_backend("eager") == "eager"
    with pytest.raises(
        ValueError, match=r"unknown torch.compile backend 'os.system'; known backends: .*inductor"
    ):
        check_compile_backend("os.system")
    with pytest.raises(TypeError, match="must name a torch.compile backend"):
        check_compile_backend(print)
    from kanpde.optim import Objective

    with pytest.raises(ValueError, match="unknown torch.compile backend 'os.system'"):
        Objective(kp.KAN([1, 2, 1], grid=3), None, compile="os.system")  # refused before the loss is used


def test_an_h5_reference_field_of_the_wrong_shape_names_both_shapes(tmp_path):
    h5, _ = export_hdf5(tmp_path / "ref.h5", {"x": X, "y": Y}, {"u": np.ones((5, 4))})
    with h5py.File(h5, "a") as f:
        del f["fields/u"]
        f["fields/u"] = np.ones((4, 5))
    with pytest.raises(ValueError, match=r"field 'u' has shape \(4, 5\), but the coordinates give \(5, 4\)"):
        kp.Reference.load(h5)
    with pytest.raises(ValueError, match=r"damaged kanpde export: field 'u' has shape \(4, 5\)"):
        read_hdf5(h5)


def test_a_latin1_comsol_header_reads_and_a_bad_data_line_names_the_file(tmp_path):
    path = tmp_path / "comsol.txt"
    header = "% Model: plate.mph\n% Description: Temperature (°C)\n% x y u\n".encode("latin-1")
    path.write_bytes(header + b"0 0 1.5\n1 0 2.5\n0 1 3.5\n")
    ref = kp.Reference.load(path)
    assert ref.values[:, 0].tolist() == [1.5, 2.5, 3.5]
    path.write_bytes(header + b"0 0 1.5\n1 0 2\xb05\n")
    with pytest.raises(ValueError, match=r"comsol.txt line 5 is not a row of numbers"):
        kp.Reference.load(path)


# -- 11: error measures --------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e160, 1e-162, 1.0, 1e300, 1e-300])
def test_relative_l2_neither_overflows_nor_underflows(scale):
    exact = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64) * scale
    u = exact * 1.01
    assert relative_l2(u, exact) == pytest.approx(0.01, rel=1e-12)
    grad = torch.stack([exact, -exact], dim=1)  # (3, 2)
    assert relative_h1(u, grad * 1.01, exact, grad) == pytest.approx(0.01, rel=1e-12)
    assert max_abs(u, exact) == pytest.approx(0.03 * scale, rel=1e-12)


def test_relative_l2_of_a_zero_truth_is_still_an_error():
    with pytest.raises(ValueError, match="zero at every evaluation point"):
        relative_l2(torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))


def test_a_non_finite_truth_warns():
    exact = torch.tensor([1.0, float("nan"), 2.0], dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="holds 1 NaN or infinite value"):
        assert np.isnan(relative_l2(exact.nan_to_num(), exact))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        relative_l2(exact.nan_to_num() + 1, exact.nan_to_num())  # no warning for a finite truth


def test_a_problem_whose_exact_solution_is_nan_somewhere_warns_where():
    problem = kp.Problem(
        kp.Interval(0.0, 1.0),
        lambda x, u: u.d("x", "x"),
        conditions=[kp.Dirichlet(0.0)],
        exact=lambda x: torch.where(x[:, 0] > 0.99, torch.nan, x[:, 0]),
        name="nan_exact",
    )
    with pytest.warns(
        RuntimeWarning, match=r"problem 'nan_exact': the exact solution is NaN or infinite at \d+ of"
    ):
        problem.truth()
