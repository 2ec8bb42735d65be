"""The bounded formula search (kanpde.formula.search): exact recovery from a small KAN and through narrowing,
the time budget and its message, the progress lines, the command line."""

from __future__ import annotations

import math

import pytest
import torch
from kan_edges import set_edges

import kanpde as kp
import kanpde.formula.search as search
from kanpde.cli import main
from kanpde.formula import FormulaBudget, FormulaBudgetError, find_formula

F64 = torch.float64
EXACT = "sin(pi*x)*sin(pi*y**2)"


def cosine_kan() -> kp.KAN:
    """The KAN [2, 2, 1] of poisson2d's solution: ``h_0 = (x - y²) / 2``, ``h_1 = (x + y²) / 2`` and
    ``u = cos(2π h_0) / 2 - cos(2π h_1) / 2 = sin(πx) sin(πy²)`` (splines on 40 intervals: error ~1e-6)."""
    edges = [
        [[lambda v: v / 2, lambda v: v / 2], [lambda v: -(v**2) / 2, lambda v: v**2 / 2]],
        [[lambda h: torch.cos(2 * math.pi * h) / 2], [lambda h: -torch.cos(2 * math.pi * h) / 2]],
    ]
    return set_edges(kp.KAN([2, 2, 1], grid=40, seed=0), edges, 400)


@pytest.fixture(scope="module")
def problem():
    return kp.load_problem("poisson2d")


def test_cosine_kan_is_the_solution(problem):
    x = problem.domain.evaluation_points()[0]
    with torch.no_grad():
        assert kp.metrics.relative_l2(cosine_kan()(x)[:, 0], problem.exact(x)) < 1e-4


def test_a_small_kan_gives_the_exact_formula_with_progress_lines(problem, capsys):
    found = find_formula(cosine_kan(), problem)
    assert found.equals(EXACT) and found.relative_l2(problem) < 1e-14
    err = capsys.readouterr().err
    assert "formula [" in err and "KAN [2, 2, 1]: 6 edges (budget: 12 edges, 120 s)" in err
    assert "fitting 6 edges" in err and "refining" in err


def test_a_wide_kan_is_narrowed_to_the_width_that_holds_the_formula(problem, monkeypatch, capsys):
    # the narrow KANs are stood in for (training is what the benchmark measures): width 1 cannot hold
    # the solution, width 2 holds it exactly; the wide network is judged against the exact solution
    def trained(problem, width, seed, **options):
        return cosine_kan() if width[1] == 2 else kp.KAN(width, grid=3, seed=seed)

    monkeypatch.setattr(search, "train_narrow", trained)
    wide = kp.KAN([2, 10, 1], grid=3, seed=0)
    found = find_formula(wide, problem, evaluate=problem.exact, budget=FormulaBudget(seeds=2))
    assert found.equals(EXACT)
    err = capsys.readouterr().err
    assert "KAN [2, 10, 1]: 30 edges (budget: 12 edges, 120 s)" in err
    assert "pruned at 0.01" in err
    assert err.count("narrow KAN [2, 1, 1], seed") == 4  # two seeds, each trained and measured
    assert "narrow KAN [2, 2, 1], seed 0: fitting 6 edges" in err
    assert "done: an exact formula from a KAN [2, 2, 1]" in err
    assert "[2, 3, 1]" not in err  # it stops at the first exact formula


def test_the_budget_stops_a_wide_network_with_a_clear_message(problem, capsys):
    wide = kp.KAN([2, 10, 1], grid=3, seed=0)
    with pytest.raises(
        FormulaBudgetError,
        match=r"no formula of KAN \[2, 10, 1\] found within the budget of 0.5 s: a KAN of more than 12 edges "
        r"is not fitted edge by edge .* train a narrow KAN such as \[d, 2, 1\]",
    ):
        find_formula(wide, problem, budget=FormulaBudget(seconds=0.5))
    assert "narrow KAN [2, 1, 1], seed 0: training on the PDE" in capsys.readouterr().err


def test_the_budget_bounds_edge_fitting_too(problem):
    with pytest.raises(FormulaBudgetError, match=r"no formula of KAN \[2, 2, 1\] found within the budget"):
        find_formula(cosine_kan(), problem, budget=FormulaBudget(seconds=1e-9), progress=False)


def test_no_progress_is_silent(problem, capsys):
    with pytest.raises(FormulaBudgetError):
        find_formula(cosine_kan(), problem, budget=FormulaBudget(seconds=1e-9), progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"seconds": 0}, "FormulaBudget seconds must be a positive number, got 0"),
        ({"seconds": math.inf}, "FormulaBudget seconds must be a positive number"),
        ({"max_edges": 0}, "FormulaBudget max_edges must be a whole number >= 1, got 0"),
        ({"seeds": 1.5}, "FormulaBudget seeds must be a whole number >= 1, got 1.5"),
    ],
)
def test_budget_checks_its_values(options, match):
    with pytest.raises(ValueError, match=match):
        FormulaBudget(**options)


def test_solution_formula_takes_the_budget(problem):
    sol = kp.Solution(kp.KAN([2, 10, 1], grid=3, seed=0), problem)
    with pytest.raises(FormulaBudgetError, match=r"within the budget of 0.2 s"):
        sol.formula(budget=FormulaBudget(seconds=0.2), progress=False)
    with pytest.raises(TypeError, match="budget must be a kanpde.FormulaBudget, got float"):
        sol.formula(budget=10.0)


def test_cli_symbolic_budget(tmp_path, problem, capsys):
    wide = kp.Solution(kp.KAN([2, 10, 1], grid=3, seed=0), problem).save(tmp_path / "wide.pt")
    assert main(["symbolic", str(wide), "--budget", "0.3", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "formula [" in err
    assert "kanpde: error: no formula of KAN [2, 10, 1] found within the budget of 0.3 s" in err
    assert "--budget SECONDS" in err
    assert main(["symbolic", str(wide), "--budget", "-1"]) == 2
    assert "--budget: FormulaBudget seconds must be a positive number, got -1" in capsys.readouterr().err
    small = kp.Solution(cosine_kan(), problem).save(tmp_path / "small.pt")
    assert main(["symbolic", str(small), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert f"formula      {EXACT}" in out and "relative L2  0.000e+00" in out


def test_a_run_folder_warns_when_the_budget_ends_the_search(tmp_path, problem, monkeypatch):
    # kanpde solve --symbolic: the run's files matter more than the formula, so a spent budget is a warning
    monkeypatch.setattr(search._Clock, "out", lambda self: True)  # the budget is spent from the start
    sol = kp.Solution(kp.KAN([2, 10, 1], grid=3, seed=0), problem)
    with pytest.warns(
        RuntimeWarning, match=r"no formula found: no formula of KAN \[2, 10, 1\] found within the budget"
    ):
        kp.RunFolder(tmp_path / "run", formula=True).on_end(sol)
    assert (tmp_path / "run" / "solution.pt").exists() and not (tmp_path / "run" / "formula.json").exists()


def test_a_run_folder_without_progress_searches_silently(tmp_path, problem, capsys):
    sol = kp.Solution(cosine_kan(), problem)
    kp.RunFolder(tmp_path / "quiet", formula=True, progress=False, plots=False, export=False).on_end(sol)
    assert "formula [" not in capsys.readouterr().err
    assert (tmp_path / "quiet" / "formula.json").exists()
    again = kp.Solution(cosine_kan(), problem)  # sol holds its formula now
    kp.RunFolder(tmp_path / "loud", formula=True, plots=False, export=False).on_end(again)
    assert "formula [" in capsys.readouterr().err


def test_train_narrow_trains_on_the_pde_and_stops_when_told(monkeypatch):
    import kanpde.formula.narrow as narrow

    monkeypatch.setattr(narrow, "GRIDS", (3, 6))
    monkeypatch.setattr(narrow, "STEPS", 40)
    poisson1d = kp.load_problem("poisson1d")
    x = poisson1d.domain.evaluation_points()[0]
    net = narrow.train_narrow(poisson1d, [1, 1, 1], 0)
    assert net.width == [1, 1, 1] and net.grid == 6
    with torch.no_grad():
        assert kp.metrics.relative_l2(net(x)[:, 0], poisson1d.exact(x)) < 1e-2
    untrained = narrow.train_narrow(poisson1d, [1, 1, 1], 0, stop=lambda: True)
    assert untrained.grid == 3  # stopped before the first step, on the first grid
