"""The package's shape stays as designed: no import circles but the documented one, no upward imports, no
imports inside functions but the documented one, and a training loop that names no lever
(``benchmarks/architecture.py`` measures it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

import kanpde as kp
from kanpde.state import TrainerState

ROOT = Path(__file__).resolve().parent.parent


def _measure() -> dict:
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "benchmarks" / "architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure(ROOT)


def test_imports_flow_one_way():
    found = _measure()
    # geometry.base builds domains by CSG operators defined in geometry.csg, which builds on base: deliberate
    assert found["circles"] == [["kanpde.geometry.base", "kanpde.geometry.csg"]]
    assert found["in_function_imports"] == ["kanpde.geometry.base -> kanpde.geometry.csg"]
    assert found["upward_imports"] == []


def test_the_training_loop_and_the_command_line_name_no_lever():
    found = _measure()
    for lever, modules in found["lever_modules"].items():
        assert "kanpde.train" not in modules and "kanpde.cli" not in modules, lever


def test_a_kanpde_02_trainer_state_is_read_by_each_lever():
    weights, scale = torch.full((4,), 2.0), torch.full((4,), 3.0)
    old = {"grid_index": 0, "stage_index": 0, "stage_step": 1, "step": 1, "evaluations": 2, "extended": True,
           "optimizer": None, "best": 1.0, "best_params": None, "finished": False, "carry": [0],
           "resamples": 1, "resampled_at": 3, "weights": weights, "scale": scale, "interior": None}  # fmt: skip
    state = TrainerState.from_dict(old, (kp.RAD(3), kp.RBA(), kp.Causal(1.0), kp.Sparsity(1e-3)))
    assert state.levers[0] == {"count": 1, "at": 3} and torch.equal(state.levers[1]["weights"], weights)
    assert torch.equal(state.levers[2]["scale"], scale) and state.levers[3] == {}  # RBA's factors are 1 here
    back = TrainerState.from_dict(state.as_dict(), ())
    assert back.levers[0] == state.levers[0] and torch.equal(back.levers[1]["weights"], weights)
