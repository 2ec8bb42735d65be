"""SolveSettings: the defaults live in the fields, every option is checked once, round trips are exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.settings import DEFAULT_STEPS, SolveSettings, Stage


def test_defaults_are_real_values():
    s = SolveSettings()
    assert (s.sampler, s.optimizer, s.steps, s.lr, s.seed) == ("sobol", "lm", None, 1e-2, 0)
    assert (s.dtype, s.device, s.derivatives, s.log_every, s.compile) == ("float64", "auto", "auto", 10, None)
    assert not s.is_resolved


@pytest.mark.parametrize(
    ("name", "dim", "points"),
    [("poisson1d", 1, (1000, 2, 400)), ("poisson2d", 2, (2500, 400, 400)), ("heat2d", 3, (4000, 1200, 600))],
)
def test_resolve_fills_the_problem_and_model_defaults(name, dim, points):
    problem = kp.load_problem(name)
    kan = kp.KAN([dim, 3, 1], grid=4)
    s = SolveSettings().resolve(problem, kan)
    assert s.is_resolved and (s.n_interior, s.n_boundary, s.n_initial) == points
    assert s.grids == (4, 8, 16) and s.schedule == (Stage("lm", DEFAULT_STEPS // 3),)
    assert s.device == "cpu"
    mlp = SolveSettings(steps=7).resolve(problem, kp.MLP([dim, 4, 1]))
    assert mlp.grids is None and mlp.schedule == (Stage("lm", 7),)
    assert s.resolve(problem, kan) == s  # resolving twice changes nothing


def test_a_sampler_registered_in_the_public_registry_is_accepted(monkeypatch):
    monkeypatch.setitem(kp.SAMPLERS, "halton", lambda n, d, seed: np.full((n, d), 0.5))
    assert SolveSettings(sampler="halton").sampler == "halton"
    x = kp.solve(
        kp.load_problem("poisson1d"), kp.KAN([1, 2, 1]), sampler="halton", steps=1, grids=3, n_interior=8
    )
    assert x.settings["sampler"] == "halton"


def test_dict_round_trip_and_kanpde_01_checkpoints():
    s = SolveSettings(optimizer=[("adam", 3), ("lm", 2)], grids=(3, 6), dtype=torch.float32, compile=True)
    assert (
        s.optimizer == (Stage("adam", 3), Stage("lm", 2)) and s.dtype == "float32" and s.compile == "inductor"
    )
    assert SolveSettings.from_dict(s.as_dict()) == s
    old = {"schedule": [["adam", 5]], "grids": [3], "seed": 2, "interrupted_at_step": 20}
    assert SolveSettings.from_dict(old) == SolveSettings(optimizer=[("adam", 5)], grids=(3,), seed=2)


def test_options_through_solve_and_a_settings_object_agree():
    problem = kp.load_problem("poisson1d")
    base = SolveSettings(optimizer="adam", steps=3, n_interior=16, grids=(3,))
    a = kp.solve(problem, kp.KAN([1, 2, 1], grid=3), settings=base, lr=0.05)
    b = kp.solve(problem, kp.KAN([1, 2, 1], grid=3), settings=base.replace(lr=0.05))
    assert a.settings == b.settings and a.settings["lr"] == 0.05
    assert torch.equal(a.model.layers[0].coef, b.model.layers[0].coef)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"n_boundary": -3}, ValueError, "n_boundary must be a positive integer"),
        ({"n_initial": 2.0}, TypeError, "n_initial must be a positive integer"),
        ({"sampler": 3}, ValueError, "unknown sampler 3; valid ones: sobol, random, grid"),
        ({"optimizer": "adam", "steps": -1}, ValueError, "steps must be a non-negative integer"),
        ({"optimizer": [("adam", 3)], "steps": 3}, ValueError, "steps goes with a single optimizer name"),
        ({"optimizer": []}, ValueError, "the optimizer schedule is empty"),
        ({"optimizer": [("adam",)]}, TypeError, r"each stage .* is a \(name, steps\) pair"),
        ({"optimizer": 5}, TypeError, "optimizer must be a name or a sequence"),
        ({"grids": "5,10"}, ValueError, "grids must be a sequence of positive integers"),
        ({"grids": ()}, ValueError, "grids must be a sequence of positive integers"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number > 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a finite number > 0"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"dtype": "float16"}, ValueError, "unknown dtype 'float16'; valid ones: float64, float32"),
        ({"device": 3}, TypeError, "device must be 'auto', 'cpu', 'cuda'"),
        ({"derivatives": "numeric"}, ValueError, "unknown derivatives mode 'numeric'"),
        ({"log_every": 0}, ValueError, "log_every must be a positive integer"),
        ({"compile": 1.5}, TypeError, "compile must be True, False or a torch.compile backend"),
        ({"sparsity": -1e-3}, ValueError, "sparsity must be a finite number >= 0"),
        ({"sparsity": "1e-3"}, TypeError, "sparsity must be a finite number >= 0"),
    ],
)
def test_each_option_is_checked_where_it_enters(options, error, match):
    with pytest.raises(error, match=match):
        SolveSettings(**options)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(
        TypeError, match=r"unknown solve option\(s\) colour; valid ones: n_interior, n_boundary"
    ):
        SolveSettings.from_dict({"colour": "blue"})
    with pytest.raises(TypeError, match="unknown solve option"):
        SolveSettings().replace(colour="blue")


def test_model_dependent_options_are_checked_at_resolve():
    problem = kp.load_problem("poisson1d")
    with pytest.raises(ValueError, match="grids applies to KAN models only, not to a MLP; drop grids"):
        SolveSettings(grids=(3,)).resolve(problem, kp.MLP([1, 3, 1]))
    with pytest.raises(ValueError, match="derivatives='forward' needs a model with a jet method"):
        SolveSettings(derivatives="forward").resolve(problem, torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match=r"sparsity applies to KAN models \(edge magnitudes\), got MLP"):
        SolveSettings(sparsity=1e-3).resolve(problem, kp.MLP([1, 3, 1]))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            SolveSettings(device="cuda").resolve(problem, kp.KAN([1, 3, 1]))
