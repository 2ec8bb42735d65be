"""Checkpoints: loading never runs code named inside the file; the domain and the shipped problem come back."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import kanpde as kp
from kanpde.checkpoint import CHECKPOINT_FORMAT, domain_from_dict, domain_to_dict
from kanpde.export import read_hdf5

SIDE_EFFECT = """
from pathlib import Path
Path(__file__).with_name("EXECUTED").touch()
import kanpde as kp
problem = kp.load_problem("poisson1d")
"""


def _side_effect_file(tmp_path: Path) -> Path:
    path = tmp_path / "innocent.py"
    path.write_text(SIDE_EFFECT)
    return path


def _payload(model, **problem_info) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        "model_class": "KAN",
        "model_config": model.config(),
        "state_dict": model.state_dict(),
        "history": [],
        "settings": {},
        "problem": problem_info,
    }


def test_a_kanpde_01_checkpoint_naming_a_file_does_not_run_it(tmp_path):
    evil = _side_effect_file(tmp_path)
    path = tmp_path / "old.pt"
    torch.save({**_payload(kp.KAN([1, 3, 1]), name="poisson1d", source=str(evil)), "version": 1}, path)
    sol = kp.load(path)
    assert not (tmp_path / "EXECUTED").exists()
    assert sol.problem is None
    with pytest.raises(ValueError, match=r"never runs the problem file.*problem=NAME_OR_FILE.py"):
        sol.relative_l2()
    assert sol(torch.zeros(2, 1, dtype=torch.float64)).shape == (2,)  # it still evaluates
    kp.load(path, problem=evil)  # a file the caller names is trusted and runs
    assert (tmp_path / "EXECUTED").exists()


def test_a_forged_shipped_name_does_not_run_a_file(tmp_path):
    evil = _side_effect_file(tmp_path)
    path = tmp_path / "forged.pt"
    relative = str(Path("..") / ".." / evil.with_suffix(""))  # an attempt to leave the shipped folder
    torch.save({**_payload(kp.KAN([1, 3, 1]), name="x", shipped=relative, digest=None), "version": 2}, path)
    assert kp.load(path).problem is None
    assert not (tmp_path / "EXECUTED").exists()


def test_a_python_problem_named_like_a_shipped_one_is_not_replaced_by_it(tmp_path):
    shipped = kp.load_problem("poisson1d")
    mine = kp.Problem(
        shipped.domain, shipped.residual, shipped.conditions, name="poisson1d"
    )  # not from the file
    sol = kp.Solution(kp.KAN([1, 3, 1]), mine)
    back = kp.load(sol.save(tmp_path / "mine.pt"))
    assert back.problem is None and back.domain == shipped.domain
    assert kp.load(tmp_path / "mine.pt", problem=mine).problem is mine


def test_a_shipped_problem_is_reattached_and_a_changed_file_is_reported(tmp_path, monkeypatch):
    sol = kp.Solution(kp.KAN([1, 3, 1]), kp.load_problem("poisson1d"))
    path = sol.save(tmp_path / "a.pt")
    back = kp.load(path)
    assert back.problem.name == "poisson1d" and math.isfinite(back.relative_l2())
    folder = tmp_path / "problems"
    folder.mkdir()
    original = Path(kp.load_problem("poisson1d").source).read_text()
    (folder / "poisson1d.py").write_text(original + "\n# edited\n")
    monkeypatch.setenv("KANPDE_PROBLEMS", str(folder))
    with pytest.warns(UserWarning, match="shipped problem 'poisson1d' has changed since this checkpoint"):
        assert kp.load(path).problem.name == "poisson1d"


@pytest.mark.parametrize(
    "domain",
    [
        kp.Interval(-1.0, 2.0),
        kp.Rectangle((0.0, -1.0), (1.0, 1.0)),
        kp.Box((0.0,) * 4, (1.0, 2.0, 3.0, 4.0)),
        kp.Disk((0.5, -0.5), 2.0),
        kp.SpaceTime(kp.Disk((0.0, 0.0), 1.0), t=(0.0, 0.5)),
        kp.SpaceTime(kp.Interval(0.0, 1.0), t=(1.0, 3.0)),
    ],
)
def test_domains_round_trip_as_plain_data(domain):
    data = domain_to_dict(domain)
    assert all(isinstance(v, (str, list, float, dict)) for v in data.values())
    back = domain_from_dict(data)
    assert back == domain and type(back) is type(domain)


def test_unknown_domain_types_are_refused():
    with pytest.raises(ValueError, match="unknown domain type 'os.system'"):
        domain_from_dict({"type": "os.system", "lo": [0.0]})


def test_export_and_plot_without_the_problem_use_the_stored_domain(tmp_path):
    problem = kp.Problem(kp.Rectangle((0.0, 0.0), (2.0, 1.0)), lambda x, u: u.laplacian(), name="python_made")
    sol = kp.Solution(kp.KAN([2, 3, 1]), problem)
    back = kp.load(sol.save(tmp_path / "s.pt"))
    assert back.problem is None
    h5, _ = back.export(tmp_path / "s.h5", resolution=5)
    data = read_hdf5(h5)
    assert list(data["fields"]) == ["u"]  # no residual nor exact solution without the problem
    assert data["fields"]["u"].shape == (5, 5) and data["axes"]["x"][-1] == 2.0
    x = torch.tensor([[0.5, 0.25]], dtype=torch.float64)
    assert torch.equal(back(x), sol(x))
    assert back.plot(tmp_path / "s.png").stat().st_size > 0
