"""SolveSettings: composed frozen parts, keyword options mapped onto them, each value checked once where it
enters, problem- and model-dependent defaults filled by check(), exact round trips."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.settings import DEFAULT_STEPS, SolveSettings, Stage, flat_options, option_names


def test_defaults_are_real_values_in_their_parts():
    s = SolveSettings()
    assert s.sampling == kp.Sampling() and (s.sampling.sampler, s.sampling.seed) == ("sobol", 0)
    assert s.schedule.stages == (Stage(kp.LM(), None),) and s.schedule.grids == kp.GridPlan()
    assert s.levers == () and s.restarts == kp.Restarts(0, 20)
    rt = s.runtime
    assert (rt.dtype, rt.device, rt.derivatives, rt.log_every, rt.compile, rt.threads) == (
        "float64", "auto", "auto", 10, None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "dim", "points"),
    [("poisson1d", 1, (1000, 2, 400)), ("poisson2d", 2, (2500, 400, 400)), ("heat2d", 3, (4000, 1200, 600))],
)
def test_check_fills_the_problem_and_model_defaults(name, dim, points):
    problem = kp.load_problem(name)
    kan = kp.KAN([dim, 3, 1], grid=4)
    s = SolveSettings().check(problem, kan)
    sampling = s.sampling
    assert (sampling.n_interior, sampling.n_boundary, sampling.n_initial) == points
    assert s.schedule.grids.sizes == (4, 8, 16) and s.schedule.stages == (Stage("lm", DEFAULT_STEPS // 3),)
    assert s.runtime.device == "cpu" and s.schedule.total_steps == 3 * (DEFAULT_STEPS // 3)
    mlp = SolveSettings(steps=7).check(problem, kp.MLP([dim, 4, 1]))
    assert mlp.schedule.grids.sizes is None and mlp.schedule.stages == (Stage("lm", 7),)
    assert s.check(problem, kan) == s  # checking twice changes nothing


def test_keyword_options_map_onto_the_parts():
    s = SolveSettings(
        n_interior=100, sampler="random", seed=3, optimizer=[("adam", 5), ("lm", 7)], lr=0.05,
        lm_scaling="marquardt", grids=(3, 6),
        knots="residual", resample_every=20, resample_k=2.0, point_weights="rba", causal=10.0, causal_slices=8,
        sparsity=1e-3, restarts=2, restart_steps=5, dtype=torch.float32, device="cpu", chunk_size=50,
        compile=True, threads=1, log_every=2,
    )  # fmt: skip
    assert s.sampling == kp.Sampling(n_interior=100, sampler="random", seed=3)
    assert s.schedule == kp.Schedule(
        (Stage(kp.Adam(lr=0.05), 5), Stage(kp.LM(scaling="marquardt"), 7)),
        kp.GridPlan((3, 6), knots="residual"),
    )
    assert s.levers == (kp.RAD(20, k=2.0), kp.RBA(), kp.Causal(10.0, slices=8), kp.Sparsity(1e-3))
    assert s.restarts == kp.Restarts(2, steps=5)
    assert s.runtime == kp.Runtime(
        dtype="float32", device="cpu", chunk_size=50, compile="inductor", threads=1, log_every=2
    )
    options = s.options()
    assert set(options) == set(option_names()) - {"steps"}  # the stages carry their steps
    assert SolveSettings(**options) == s  # the flat view makes the same settings


def test_parts_and_options_compose_and_replace():
    schedule = kp.Schedule((Stage(kp.LM(stall_tol=1e-4), 30),), kp.GridPlan((5, 10)))
    s = SolveSettings(schedule=schedule, levers=(kp.Causal(100.0),), seed=4)
    assert s.schedule == schedule and s.sampling.seed == 4 and s.levers == (kp.Causal(100.0),)
    t = s.replace(causal=None, resample_every=50)
    assert t.levers == (kp.RAD(50),) and t.schedule == schedule
    assert s.replace(runtime=kp.Runtime(threads=2)).runtime.threads == 2
    assert s.replace(steps=40).schedule.stages == (Stage(kp.LM(stall_tol=1e-4), 40),)
    assert s.replace(lr=0.1) == s  # Adam's learning rate: nothing to change without an Adam stage
    marquardt = s.replace(lm_scaling="marquardt")  # every LM stage's damping; its other options kept
    assert marquardt.schedule.stages == (Stage(kp.LM(stall_tol=1e-4, scaling="marquardt"), 30),)
    assert SolveSettings.from_dict(marquardt.as_dict()) == marquardt
    assert SolveSettings(optimizer="adam").replace(lm_scaling="marquardt") == SolveSettings(optimizer="adam")


def test_a_stage_carries_its_optimizer_s_options():
    lm = kp.LM(stall_tol=1e-5, final_stall_tol=1e-6, solver="cg")
    assert Stage(lm, 3).name == "lm-cg" and Stage("lm-cg", 3).optimizer == kp.LM(solver="cg")
    assert kp.OPTIMIZERS["lm"](damping=1e-2).damping == 1e-2
    problem = kp.load_problem("poisson1d")
    sol = kp.solve(problem, kp.KAN([1, 2, 1], grid=3), grids=(3,), n_interior=16, optimizer=[Stage(lm, 2)])
    assert sol.settings.schedule.stages[0].optimizer is lm and sol.history[-1]["stage"] == "lm-cg"


def test_a_sampler_registered_in_the_public_registry_is_accepted(monkeypatch):
    monkeypatch.setitem(kp.SAMPLERS, "halton", lambda n, d, seed: np.full((n, d), 0.5))
    assert SolveSettings(sampler="halton").sampling.sampler == "halton"
    x = kp.solve(
        kp.load_problem("poisson1d"), kp.KAN([1, 2, 1]), sampler="halton", steps=1, grids=3, n_interior=8
    )
    assert x.settings.sampling.sampler == "halton"


def test_dict_round_trip_and_the_flat_settings_of_older_checkpoints():
    s = SolveSettings(
        optimizer=[("adam", 3), ("lm", 2)], grids=(3, 6), dtype=torch.float32, compile=True, causal=2.0,
        levers=(kp.RBA(gamma=0.99),),
    )  # fmt: skip
    assert s.levers == (kp.RBA(gamma=0.99), kp.Causal(2.0))
    assert SolveSettings.from_dict(s.as_dict()) == s
    old = {"schedule": [["adam", 5]], "grids": [3], "seed": 2, "interrupted_at_step": 20}  # kanpde 0.1
    assert SolveSettings.from_dict(old) == SolveSettings(optimizer=[("adam", 5)], grids=(3,), seed=2)
    v02 = {"optimizer": [["lm", 150]], "steps": None, "lr": 0.01, "resample_every": None, "resample_k": 1.0,
           "causal": 3.0, "causal_slices": 16, "point_weights": None, "sparsity": 0.0}  # fmt: skip
    assert SolveSettings.from_dict(v02) == SolveSettings(optimizer=[("lm", 150)], causal=3.0)


def test_options_through_solve_and_a_settings_object_agree():
    problem = kp.load_problem("poisson1d")
    base = SolveSettings(optimizer="adam", steps=3, n_interior=16, grids=(3,))
    a = kp.solve(problem, kp.KAN([1, 2, 1], grid=3), settings=base, lr=0.05)
    b = kp.solve(problem, kp.KAN([1, 2, 1], grid=3), settings=base.replace(lr=0.05))
    assert a.settings == b.settings and a.settings.options()["lr"] == 0.05
    assert torch.equal(a.model.layers[0].coef, b.model.layers[0].coef)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"n_boundary": -3}, ValueError, "n_boundary must be a positive integer"),
        ({"n_initial": 2.0}, TypeError, "n_initial must be a positive integer"),
        ({"sampler": 3}, ValueError, "unknown sampler 3; valid ones: sobol, random, grid"),
        (
            {"optimizer": "adam", "steps": -1},
            ValueError,
            "steps of stage 'adam' must be a non-negative integer",
        ),
        ({"optimizer": [("adam", 3)], "steps": 3}, ValueError, "steps goes with a single optimizer name"),
        ({"optimizer": []}, ValueError, "the optimizer schedule is empty"),
        ({"optimizer": [("adam",)]}, TypeError, r"each stage .* is a \(name, steps\) pair"),
        ({"optimizer": 5}, TypeError, "optimizer must be a name or a sequence"),
        (
            {"optimizer": "newton"},
            ValueError,
            "unknown optimizer 'newton'; valid ones: adam, lbfgs, lm, lm-cg",
        ),
        ({"grids": "5,10"}, ValueError, "grids must be a sequence of positive integers"),
        ({"grids": ()}, ValueError, "grids must be a sequence of positive integers"),
        ({"optimizer": "adam", "lr": float("nan")}, ValueError, "lr must be a finite number > 0"),
        ({"optimizer": "adam", "lr": "0.1"}, TypeError, "lr must be a finite number > 0"),
        (
            {"lm_scaling": "diagonal"},
            ValueError,
            "unknown lm_scaling 'diagonal'; valid ones: uniform, marquardt",
        ),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"dtype": "float16"}, ValueError, "unknown dtype 'float16'; valid ones: float64, float32"),
        ({"device": 3}, TypeError, "device must be 'auto', 'cpu', 'cuda'"),
        ({"derivatives": "numeric"}, ValueError, "unknown derivatives mode 'numeric'"),
        ({"log_every": 0}, ValueError, "log_every must be a positive integer"),
        ({"compile": 1.5}, TypeError, "compile must be True, False or a torch.compile backend"),
        ({"threads": 0}, ValueError, "threads must be a positive integer"),
        ({"sparsity": -1e-3}, ValueError, "sparsity must be a finite number >= 0"),
        ({"sparsity": "1e-3"}, TypeError, "sparsity must be a finite number >= 0"),
        ({"resample_k": 2.0}, ValueError, "resample_k shapes a lever that is off; pass resample_every="),
        ({"point_weights": "lra"}, ValueError, "unknown point_weights 'lra'; valid ones: None, rba"),
        ({"levers": (kp.RAD(5), "rba")}, TypeError, "levers must be kanpde levers"),
        ({"sampling": {"n_interior": 5}}, TypeError, "sampling must be a kanpde.Sampling"),
    ],
)
def test_each_option_is_checked_where_it_enters(options, error, match):
    with pytest.raises(error, match=match):
        SolveSettings(**options)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: kp.LM(solver="qr"), ValueError, "unknown LM solver 'qr'; valid ones: auto, dense, cg"),
        (lambda: kp.LM(stall_window=0), ValueError, "LM stall_window must be a positive integer"),
        (lambda: kp.LBFGS(history=0), ValueError, "LBFGS history must be a positive integer"),
        (lambda: kp.RAD(0), ValueError, "RAD every must be a positive integer"),
        (lambda: kp.RAD(5, k=0.0, c=0.0), ValueError, "RAD k and c are both 0"),
        (lambda: kp.Causal(-1.0), ValueError, "Causal epsilon must be a finite number > 0"),
        (lambda: kp.Sparsity(0.0), ValueError, "Sparsity weight must be a finite number > 0"),
        (lambda: kp.Schedule(grids=(5, 10)), TypeError, "grids must be a kanpde.GridPlan"),
        (
            lambda: kp.GridPlan(knots="dense"),
            ValueError,
            "unknown knots 'dense'; valid ones: uniform, residual",
        ),
    ],
)
def test_each_part_checks_its_own_fields(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(
        TypeError, match=r"unknown solve option\(s\) colour; valid ones: n_interior, n_boundary"
    ):
        SolveSettings.from_dict({"colour": "blue"})
    with pytest.raises(TypeError, match="unknown solve option"):
        SolveSettings().replace(colour="blue")
    with pytest.raises(TypeError, match=r"unknown settings part\(s\) colour; valid ones: sampling, schedule"):
        SolveSettings.from_dict({**SolveSettings().as_dict(), "colour": {}})


def test_model_dependent_options_are_checked_against_the_problem_and_model():
    problem = kp.load_problem("poisson1d")
    with pytest.raises(ValueError, match="grids applies to KAN models only, not to a MLP; drop grids"):
        SolveSettings(grids=(3,)).check(problem, kp.MLP([1, 3, 1]))
    with pytest.raises(ValueError, match="derivatives='forward' needs a model with a jet method"):
        SolveSettings(derivatives="forward").check(problem, torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match=r"sparsity applies to KAN models \(edge magnitudes\), got MLP"):
        SolveSettings(sparsity=1e-3).check(problem, kp.MLP([1, 3, 1]))
    with pytest.raises(ValueError, match="causal weighting needs a time-dependent problem"):
        SolveSettings(causal=1.0).check(problem, kp.KAN([1, 3, 1]))
    with pytest.raises(ValueError, match="restarts re-initialise the model from its config"):
        SolveSettings(restarts=1).check(problem, torch.nn.Linear(1, 1))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            SolveSettings(device="cuda").check(problem, kp.KAN([1, 3, 1]))


def test_every_keyword_option_is_described_once_in_its_field():
    """The command line's flags come from this table: one entry per option, with help and the field's
    default (or a text for a default that depends on the problem)."""
    table = {o.name: o for o in flat_options()}
    assert len(table) == len(flat_options()) == len(option_names())
    assert table["n_interior"].flag == "points" and table["n_interior"].default == "by dimension"
    assert table["lr"].default == kp.Adam().lr and table["causal_slices"].default == kp.Causal(1.0).slices
    assert table["log_every"].default == kp.Runtime().log_every and table["threads"].kind == "int"
    defaults = {f.name: f.default for f in dataclasses.fields(kp.Sampling)}
    assert table["sampler"].default == defaults["sampler"]


def test_threads_apply_during_the_solve_and_are_restored():
    before = torch.get_num_threads()
    seen = []
    problem = kp.load_problem("poisson1d")
    kp.solve(problem, kp.KAN([1, 2, 1], grid=3), grids=(3,), steps=1, n_interior=8, threads=1,
             callbacks=[lambda record, model: seen.append(torch.get_num_threads())])  # fmt: skip
    assert seen == [1] and torch.get_num_threads() == before
