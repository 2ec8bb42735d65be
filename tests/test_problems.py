"""Every problem in ``problems/`` is consistent: its exact solution satisfies the PDE and every condition.

The check runs in float64 with autograd derivatives of the exact solution, before any training, so a
wrong source term, sign, boundary value or Neumann flux in a problem file shows up here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

import kanpde as kp

PROBLEMS_DIR = Path(__file__).resolve().parent.parent / "problems"
PROBLEM_FILES = sorted(p for p in PROBLEMS_DIR.glob("*.py") if not p.name.startswith("_"))
TOL = 1e-8
N_INTERIOR = 500
N_CONDITION = 200


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kanpde_problems_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Exact(torch.nn.Module):
    """A callable ``exact(x) -> (N,)`` as a model ``(N, d) -> (N, 1)``."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fn(x)
        return out.reshape(x.shape[0], 1)


def violations(problem: kp.Problem, exact: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
    """Max |residual| of the PDE and of each condition for ``exact``, keyed by term."""
    domain, model = problem.domain, Exact(exact)

    def field_at(x: torch.Tensor) -> kp.Field:
        return kp.Field(model, x, domain.names, domain.space_dim, mode="autograd")

    x = domain.sample_interior(N_INTERIOR, sampler="sobol", seed=0, dtype=torch.float64)
    out = {"pde": problem.residual(x, field_at(x)).detach().abs().max().item()}
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
    assert problem.exact is not None
    assert len(problem.conditions) >= 1
    x = problem.domain.sample_interior(7, dtype=torch.float64)
    u = problem.exact(x)
    assert u.shape in ((7,), (7, 1)) and u.dtype == torch.float64


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.stem)
def test_exact_solution_satisfies_problem(path: Path):
    problem = load(path).problem
    worst = violations(problem, problem.exact)
    bad = {k: v for k, v in worst.items() if not v <= TOL}
    assert not bad, f"{problem.name}: exact solution violates {bad} (tolerance {TOL})"


FACTORY_FILES = [p for p in PROBLEM_FILES if "def make_problem" in p.read_text()]


def test_some_problem_files_have_factories():
    assert {p.stem for p in FACTORY_FILES} >= {"heat2d", "helmholtz2d"}


@pytest.mark.parametrize("path", FACTORY_FILES, ids=lambda p: p.stem)
def test_make_problem_default_matches(path: Path):
    module = load(path)
    problem = module.make_problem()
    assert problem.name == module.problem.name
    assert max(violations(problem, problem.exact).values()) <= TOL


def test_wrong_exact_solution_is_caught():
    problem = load(PROBLEMS_DIR / "poisson2d.py").problem

    def wrong(x: torch.Tensor) -> torch.Tensor:
        return problem.exact(x) + 1e-3 * x[:, 0] ** 2  # Δ adds 2e-3, boundary values shift by 1e-3

    worst = violations(problem, wrong)
    assert worst["pde"] > TOL
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
    assert violations(problem, problem.exact)["0:neumann"] > TOL


@pytest.mark.parametrize("kappa", [0.05, 1.0])
def test_heat2d_other_diffusivity(kappa: float):
    problem = load(PROBLEMS_DIR / "heat2d.py").make_problem(kappa=kappa)
    assert max(violations(problem, problem.exact).values()) <= TOL


def test_helmholtz_other_parameters():
    problem = load(PROBLEMS_DIR / "helmholtz2d.py").make_problem(a1=2, a2=3, k=2.5)
    assert max(violations(problem, problem.exact).values()) <= TOL
