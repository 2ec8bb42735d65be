"""Every problem in ``problems/`` is consistent: its exact solution satisfies the PDE and every condition.

The check runs in float64 with autograd derivatives of the exact solution, before any training, so a
wrong source term, sign, boundary value or Neumann flux in a problem file shows up here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

import kanpde as kp
from kanpde.derivatives import Evaluation, accessor
from kanpde.loss import equations

PROBLEMS_DIR = Path(__file__).resolve().parent.parent / "problems"
# the PINNacle files (pinnacle_*.py) are checked by tests/test_pinnacle.py: some need data files, two state
# PINNacle's problems with its inconsistent "exact" solutions
PROBLEM_FILES = sorted(p for p in PROBLEMS_DIR.glob("*.py") if not p.name.startswith(("_", "pinnacle_")))
TOL = 1e-8
N_INTERIOR = 500
N_CONDITION = 200


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kanpde_problems_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Exact(torch.nn.Module):
    """A problem's exact solution as a model ``(N, d) -> (N, n_fields)``, with its unknowns at their exact
    values."""

    def __init__(self, problem: kp.Problem) -> None:
        super().__init__()
        self.problem = problem

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.problem.exact_values(x)

    def unknown(self, name: str, x: torch.Tensor, records=None) -> torch.Tensor:
        spec = next(u for u in self.problem.unknowns if u.name == name)
        return torch.full((x.shape[0],), spec.exact, dtype=x.dtype)


def violations(problem: kp.Problem) -> dict[str, float]:
    """Max |residual| of every PDE equation and of each condition for the exact solution, keyed by term."""
    domain, model = problem.domain, Exact(problem)

    def field_at(x: torch.Tensor):
        ev = Evaluation(model, x, domain.names, domain.space_dim, mode="autograd")
        return accessor(ev, problem.fields)

    x = domain.sample_interior(N_INTERIOR, sampler="sobol", seed=0, dtype=torch.float64)
    r, names = equations(problem.residual(x, field_at(x)), N_INTERIOR)
    out = {f"pde:{name}": r[:, i].detach().abs().max().item() for i, name in enumerate(names)}
    for i, cond in enumerate(problem.conditions):
        pts = cond.sample(domain, N_CONDITION, "sobol", 1, torch.float64, "cpu")
        r = cond.residual(field_at, pts)
        out[f"{i}:{cond.label}"] = r.detach().abs().max().item()
    return out


def test_problems_found():
    assert len(PROBLEM_FILES) >= 9, [p.name for p in PROBLEM_FILES]


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.stem)
def test_problem_metadata(path: Path):
    module = load(path)
    assert module.__doc__ and module.__doc__.strip(), f"{path.name} needs a module docstring"
    problem = module.problem
    assert isinstance(problem, kp.Problem)
    assert problem.name == path.stem
    assert problem.has_truth
    assert len(problem.conditions) >= 1
    assert all(u.exact is not None for u in problem.unknowns), "give every shipped unknown its exact value"
    if problem.exact is not None:
        x = problem.domain.sample_interior(7, dtype=torch.float64)
        u = problem.exact_values(x)
        assert u.shape == (7, len(problem.fields)) and u.dtype == torch.float64


EXACT_FILES = [p for p in PROBLEM_FILES if p.stem not in ("burgers1d",)]  # burgers1d: test_burgers.py


@pytest.mark.parametrize("path", EXACT_FILES, ids=lambda p: p.stem)
def test_exact_solution_satisfies_problem(path: Path):
    module = load(path)
    problem = module.problem
    worst = violations(problem)
    # noisy observations (a module's NOISE, the standard deviation) lie within 5 sigma of the truth
    noisy = {f"{i}:{c.label}" for i, c in enumerate(problem.conditions) if isinstance(c, kp.Data)}
    tol = {k: 5 * getattr(module, "NOISE", 0.0) + TOL if k in noisy else TOL for k in worst}
    bad = {k: v for k, v in worst.items() if not v <= tol[k]}
    assert not bad, f"{problem.name}: exact solution violates {bad} (tolerance {TOL})"


FACTORY_FILES = [p for p in PROBLEM_FILES if "def make_problem" in p.read_text()]


def test_some_problem_files_have_factories():
    assert {p.stem for p in FACTORY_FILES} >= {"heat2d", "helmholtz2d"}


@pytest.mark.parametrize("path", FACTORY_FILES, ids=lambda p: p.stem)
def test_make_problem_default_matches(path: Path):
    module = load(path)
    problem = module.make_problem()
    assert problem.name == module.problem.name
    assert max(violations(problem).values()) <= TOL


def test_wrong_exact_solution_is_caught():
    problem = load(PROBLEMS_DIR / "poisson2d.py").problem

    def wrong(x: torch.Tensor) -> torch.Tensor:
        return problem.exact(x) + 1e-3 * x[:, 0] ** 2  # Δ adds 2e-3, boundary values shift by 1e-3

    worst = violations(dataclasses.replace(problem, exact=wrong))
    assert worst["pde:residual"] > TOL
    assert worst["0:dirichlet"] > TOL


def test_wrong_neumann_flux_is_caught():
    module = load(PROBLEMS_DIR / "poisson_mixed.py")
    problem = kp.Problem(
        domain=module.problem.domain,
        residual=module.problem.residual,
        conditions=[kp.Neumann(flux=lambda x: -module.exact_dx(x), on="xmax")],  # inward instead of outward
        exact=module.exact,
        name="poisson_mixed_wrong",
    )
    assert violations(problem)["0:neumann"] > TOL


@pytest.mark.parametrize("kappa", [0.05, 1.0])
def test_heat2d_other_diffusivity(kappa: float):
    problem = load(PROBLEMS_DIR / "heat2d.py").make_problem(kappa=kappa)
    assert max(violations(problem).values()) <= TOL


def test_helmholtz_other_parameters():
    problem = load(PROBLEMS_DIR / "helmholtz2d.py").make_problem(a1=2, a2=3, k=2.5)
    assert max(violations(problem).values()) <= TOL
