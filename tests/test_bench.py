"""The KAN vs MLP benchmark harness: a tiny end-to-end run, its table, the aggregation and its errors."""

import argparse
import csv
import json
import math

import pytest

from kanpde import bench, solve
from kanpde.bench import ModelSpec, Plan, Suite, aggregate, kan, mlp

REQUIRED = [
    "problem",
    "model",
    "width",
    "grid",
    "params",
    "seed",
    "relative_l2",
    "relative_h1",
    "seconds",
    "evaluations",
]
NUMERIC = [
    "width",
    "depth",
    "grid",
    "params",
    "seed",
    "relative_l2",
    "relative_h1",
    "max_abs",
    "mse",
    "seconds",
    "steps",
    "evaluations",
]

# smaller than --quick: a few seconds
TINY = Plan(
    "quick",
    (
        Suite(
            name="sweep",
            problems=("poisson2d",),
            models=(kan(3, (3, 6)), mlp(6, 2)),
            schedule=(("lm", 4),),
            n_interior=64,
            n_boundary=32,
            n_initial=0,
        ),
        Suite(
            name="paper",
            problems=("poisson2d",),
            models=(kan(3, (3, 6)), mlp(6, 3)),
            schedule=(("adam", 2), ("lbfgs", 2)),
            n_interior=64,
            n_boundary=32,
            n_initial=0,
            residual_weight=0.01,
            headline=(kan(3, (3, 6)), mlp(6, 3)),
        ),
    ),
    "tiny test plan",
)


def parse(argv):
    return bench.add_arguments(argparse.ArgumentParser(prog="kanpde bench")).parse_args(argv)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(bench.PLANS, "quick", TINY)
        mp.setattr(bench.cli, "_log", lambda message: None)
        assert bench.run_from_args(parse(["--quick", "--out", str(out)])) == 0
    return out


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_summary_has_the_columns_and_finite_numbers(tiny_run):
    rows = read_csv(tiny_run / "summary.csv")
    assert len(rows) == 2 * 2 * 3  # suites x models x seeds
    assert set(REQUIRED) <= set(rows[0])
    for row in rows:
        for column in NUMERIC:
            assert math.isfinite(float(row[column])), (column, row)
        assert row["model"] in ("kan", "mlp")
        assert row["problem"] == "poisson2d"
        assert row["command"].startswith("kanpde bench --quick")
        assert row["point_seed"] == row["seed"] == row["init_seed"]
    assert {r["seed"] for r in rows} == {"0", "1", "2"}
    kans = [r for r in rows if r["model"] == "kan"]
    assert {r["grid"] for r in kans} == {"6"} and {r["grids"] for r in kans} == {"3-6"}
    assert {r["grid"] for r in rows if r["model"] == "mlp"} == {"0"}
    # the same schedule: every run takes the same number of optimiser steps
    assert {r["steps"] for r in rows if r["suite"] == "sweep"} == {"4"}
    assert {r["steps"] for r in rows if r["suite"] == "paper"} == {"4"}
    assert {r["residual_weight"] for r in rows if r["suite"] == "paper"} == {"0.01"}


def test_every_output_is_written_and_names_its_command(tiny_run):
    for name in ["summary.json", "README.md", *bench.FIGURES]:
        assert (tiny_run / name).stat().st_size > 0, name
    for stem in ["sweep_poisson2d", "paper_poisson2d"]:
        table = read_csv(tiny_run / f"{stem}.csv")
        assert len(table) == 2 and all(r["n_seeds"] == "3" for r in table)
        assert all("equal optimiser schedule" in r["budget"] for r in table)
        data = json.loads((tiny_run / f"{stem}.json").read_text())
        assert data["command"].startswith("kanpde bench --quick")
        assert len(data["runs"]) == 6 and all(run["history"] for run in data["runs"])
    readme = (tiny_run / "README.md").read_text()
    assert "`kanpde bench --quick" in readme
    assert "Equal parameters" in readme and "Equal wall time" in readme
    assert "## Headline" in readme and "in MSE" in readme
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["headlines"]["paper"]["mse_ratio"] == pytest.approx(
        summary["headlines"]["paper"]["l2_ratio"] ** 2
    )
    assert not list(tiny_run.glob(".*.tmp-*"))


def test_report_only_rewrites_from_the_stored_runs(tiny_run):
    before = read_csv(tiny_run / "sweep_poisson2d.csv")
    args = parse(["--quick", "--report-only", "--out", str(tiny_run)])
    assert bench.run_from_args(args) == 0
    assert read_csv(tiny_run / "sweep_poisson2d.csv") == before
    assert "--report-only" in (tiny_run / "README.md").read_text()


def test_aggregate_median_and_spread_on_a_hand_made_table():
    rows = [
        {"model": "kan", "params": 10, "seed": 0, "relative_l2": 1e-3, "seconds": 4.0},
        {"model": "kan", "params": 10, "seed": 1, "relative_l2": 3e-3, "seconds": 1.0},
        {"model": "kan", "params": 10, "seed": 2, "relative_l2": 2e-3, "seconds": 2.0},
        {"model": "mlp", "params": 20, "seed": 0, "relative_l2": 4.0, "seconds": 1.0},
        {"model": "mlp", "params": 20, "seed": 1, "relative_l2": 1.0, "seconds": 2.0},
        {"model": "mlp", "params": 20, "seed": 2, "relative_l2": math.nan, "seconds": 3.0},
        {"model": "mlp", "params": 20, "seed": 3, "relative_l2": 2.0, "seconds": 4.0},
    ]
    k, m = aggregate(rows, keys=("model", "params"), metrics=("relative_l2", "seconds"))
    assert (k["model"], k["params"], k["n_seeds"], k["n_failed"]) == ("kan", 10, 3, 0)
    assert k["relative_l2_median"] == 2e-3
    assert (k["relative_l2_min"], k["relative_l2_max"]) == (1e-3, 3e-3)
    assert (k["seconds_median"], k["seconds_min"], k["seconds_max"]) == (2.0, 1.0, 4.0)
    # the failed (NaN) seed is counted and left out of the statistics
    assert (m["n_seeds"], m["n_failed"]) == (4, 1)
    assert (m["relative_l2_median"], m["relative_l2_min"], m["relative_l2_max"]) == (2.0, 1.0, 4.0)
    assert m["seconds_median"] == 2.5  # even count: the mean of the middle two


def test_matched_comparisons():
    def row(model, params, l2, seconds, label):
        return {
            "model": model,
            "label": label,
            "params": params,
            "relative_l2_median": l2,
            "relative_l2_min": l2,
            "relative_l2_max": l2,
            "seconds_median": seconds,
        }

    table = [
        row("kan", 100, 1e-3, 10.0, "k"),
        row("mlp", 150, 1e-2, 1.0, "m-small"),
        row("mlp", 1000, 1e-4, 50.0, "m-big"),
    ]
    (pair,) = bench.equal_params(table)
    assert pair["mlp"]["label"] == "m-small" and pair["ratio"] == pytest.approx(10.0)
    far = bench.equal_params([table[0], table[2]])
    assert far[0]["mlp"] is None  # 10x the parameters is not "equal parameters"
    by_time = {p["budget"]["label"]: p for p in bench.equal_time(table)}
    assert by_time["k"]["other"]["label"] == "m-small"  # m-big took longer than the KAN
    assert by_time["m-big"]["other"]["label"] == "k" and by_time["m-big"]["ratio"] == pytest.approx(0.1)
    assert by_time["m-small"]["other"] is None


def test_bad_options_say_the_fix():
    with pytest.raises(ValueError, match="unknown suite.*sweep, paper"):
        bench.plan_from_args(parse(["--suites", "nope"]))
    with pytest.raises(ValueError, match="unknown problem"):
        bench.plan_from_args(parse(["--problems", "nope"]))
    with pytest.raises(ValueError, match="positive integer"):
        bench.plan_from_args(parse(["--seeds", "0"]))
    with pytest.raises(ValueError, match="multiple of 3"):
        Suite("s", ("poisson2d",), (kan(5, (5, 10, 20)),), schedule=(("lm", 10),))
    with pytest.raises(ValueError, match="grids apply to KANs only"):
        ModelSpec("mlp", (10,), (5,))


def test_plan_options_narrow_the_full_plan():
    plan = bench.plan_from_args(
        parse(["--suites", "sweep", "--problems", "heat1d", "--seeds", "4", "--steps", "30"])
    )
    (suite,) = plan.suites
    assert suite.problems == ("heat1d",) and suite.seeds == (0, 1, 2, 3)
    assert suite.total_steps == 30 and suite.schedule_for(kan(5, (5, 10, 20))) == [("lm", 10)]
    full = bench.PLANS["full"]
    paper = next(s for s in full.suites if s.name == "paper")
    assert (paper.n_interior, paper.n_boundary, paper.residual_weight) == (10000, 800, 0.01)
    assert {m.label(2) for m in paper.models if m.family == "kan"} == {
        f"KAN [2,{w},1] G5>10>20" for w in (5, 7, 10)
    }
    assert {(m.width, m.depth) for m in paper.models if m.family == "mlp"} == {
        (w, d) for w in (10, 100) for d in (2, 3, 4, 5)
    }
    assert all(len(s.seeds) >= 3 for s in full.suites)
    (long,) = bench.plan_from_args(parse(["--headline-only", "--steps", "300"])).suites
    assert long.name == "paper" and long.models == long.headline and long.total_steps == 300
    assert [m.label(2) for m in long.models] == ["KAN [2,10,1] G5>10>20", "MLP [2,100,100,100,1]"]


def test_hard_imposes_constant_dirichlet_values_for_every_model(tmp_path):
    """--hard reaches the suite, the problem's Dirichlet conditions and the rows; the boundary values of
    every trained model are then exact (zero on poisson2d's square), KAN and MLP alike."""
    (suite,) = bench.plan_from_args(parse(["--suites", "sweep", "--hard"])).suites
    assert suite.hard and "--hard imposed" in suite.note
    small = Suite(
        name="sweep",
        problems=("poisson2d",),
        models=(kan(3, (3,)), mlp(6, 2)),
        seeds=(0,),
        schedule=(("lm", 3),),
        n_interior=64,
        n_boundary=32,
        n_initial=0,
        hard=True,
    )
    problem = bench.run.suite_problem(small, "poisson2d")
    (condition,) = problem.conditions
    assert condition.hard and condition.value == 0.0
    for spec in small.models:
        result = bench.run.run_one(problem, spec, 0, small)
        assert result.row["hard"] is True and math.isfinite(result.row["relative_l2"])
    sol = solve(problem, kan(3, (3,)).build(2, 0), steps=3, n_interior=64, grids=(3,))
    xb, _ = problem.domain.sample_boundary(50, seed=1)
    assert float(sol(xb).abs().max()) < 1e-14


def test_hard_leaves_masks_callables_and_other_conditions_penalised():
    import torch

    import kanpde as kp

    def mask(x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] < 0

    conditions = [
        kp.Dirichlet(0.0, on="left"),
        kp.Dirichlet(1.0, on=mask),
        kp.Dirichlet(lambda x: x[:, 0], on="right"),
        kp.Neumann(0.0, on="top"),
    ]
    assert [bench.run._can_be_hard(c) for c in conditions] == [True, False, False, False]
