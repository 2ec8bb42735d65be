"""Symbolic formulas: edge fits per library function, composition, refinement, files, CLI and bad input."""

from __future__ import annotations

import json
import math

import pytest
import sympy
import torch
from kan_edges import set_edges

import kanpde as kp
from kanpde.cli import main
from kanpde.export import read_hdf5
from kanpde.formula import LIBRARY, Formula, FormulaModule, fit_edge, symbolic
from kanpde.formula.expr import from_tree, functions_for, nearest_simple, to_tree
from kanpde.formula.refine import _pde, canonical

F64 = torch.float64
EQUIVALENT = {"sin": {"sin", "cos"}, "cos": {"sin", "cos"}}  # cos(u) = sin(u + pi/2)


def _constants(name: str) -> tuple[float, float, float, float]:
    """Random ``(a, b, c, d)`` for ``name`` (seeded by its place in the library) keeping ``a x + b`` in the
    function's domain on [-1, 1]."""
    g = torch.Generator().manual_seed(list(LIBRARY).index(name))

    def u(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=F64))

    sign = 1.0 if u(0, 1) > 0.5 else -1.0
    a, b, c, d = sign * u(1.0, 2.0), u(-0.5, 0.5), u(0.5, 2.0) * sign, u(-1.0, 1.0)
    if name in ("log", "sqrt", "1/x"):
        b = abs(a) + u(0.2, 0.5)  # a x + b > 0.2
    if name == "tan":
        a, b = u(0.5, 0.8), u(-0.3, 0.3)  # |a x + b| < 1.1 < pi/2
    return a, b, c, d


@pytest.mark.parametrize("name", [n for n in LIBRARY if n != "0"])
def test_each_library_function_is_recovered(name):
    a, b, c, d = _constants(name)
    x = torch.linspace(-1, 1, 400, dtype=F64)
    y = c * LIBRARY[name].torch(a * x + b) + d
    fit = fit_edge(x, y)
    assert fit.function in EQUIVALENT.get(name, {name})
    assert fit.r2 > 0.9999
    v = sympy.Symbol("v")
    back = sympy.lambdify(v, fit.expr(v, LIBRARY), "math")
    worst = max(abs(back(float(s)) - float(t)) for s, t in zip(x[::20], y[::20], strict=True))
    assert worst < 1e-6 * float(y.abs().max())


def test_an_edge_no_single_function_fits_becomes_a_sum_of_two():
    x = torch.linspace(0, 1, 300, dtype=F64)
    fit = fit_edge(x, torch.sin(2 * math.pi * x) + x / 2)
    assert {fit.function, fit.function2} == {"sin", "x"} or {fit.function, fit.function2} == {"cos", "x"}
    assert fit.r2 > 1 - 1e-12 and fit.complexity == 3
    v = sympy.Symbol("v")
    assert sympy.simplify(fit.expr(v, LIBRARY) - sympy.sin(2 * sympy.pi * v) - v / 2) == 0
    assert fit_edge(x, torch.sin(2 * math.pi * x), pairs=True).function2 is None  # one function fits


def test_constant_edge_is_zero_function():
    fit = fit_edge(torch.linspace(-1, 1, 50, dtype=F64), torch.full((50,), 0.5, dtype=F64))
    assert fit.function == "0" and fit.d == sympy.Rational(1, 2)


def test_nearest_simple():
    assert nearest_simple(3.14159265, 1e-2)[0] == sympy.pi
    assert nearest_simple(-1.5707963, 1e-2)[0] == -sympy.pi / 2
    assert nearest_simple(0.3333334, 1e-2)[0] == sympy.Rational(1, 3)
    assert nearest_simple(1e-9, 1e-2)[0] == 0
    assert nearest_simple(8.667, 1e-2) is None  # 26/3 is not simple
    assert nearest_simple(0.05, 1e-2) is None


def polynomial_kan() -> kp.KAN:
    """A [2, 2, 1] KAN whose edges are exactly polynomials (cubic splines hold them), base branch off:
    ``u = 0.5 (h_0 + 0.1)^2 - 0.7 h_1``, ``h_0 = 0.3 x^2 - 0.1 + 0.2 y``, ``h_1 = 0.25 x - 0.3 (y + 0.2)^2``."""
    edges = [
        [
            [lambda v: 0.3 * v**2 - 0.1, lambda v: 0.25 * v],
            [lambda v: 0.2 * v, lambda v: -0.3 * (v + 0.2) ** 2],
        ],
        [[lambda h: 0.5 * (h + 0.1) ** 2], [lambda h: -0.7 * h]],
    ]
    return set_edges(kp.KAN([2, 2, 1], grid=4, seed=0), edges, 200)


@pytest.fixture(scope="module")
def hand_set():
    """The polynomial KAN, sample points and its formula (fitted once for the tests that read it)."""
    model = polynomial_kan()
    x = torch.rand(300, 2, generator=torch.Generator().manual_seed(1), dtype=F64) * 2 - 1
    return model, x, symbolic(model, x, names=("x", "y"))


def test_formula_of_hand_set_kan_equals_its_output(hand_set):
    model, x, f = hand_set
    assert [e.function for e in f.edges] == ["x^2", "x", "x", "x^2", "x^2", "x"]
    assert {(e.layer, e.i, e.j) for e in f.edges} == {
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 0),
        (0, 1, 1),
        (1, 0, 0),
        (1, 1, 0),
    }
    with torch.no_grad():
        assert float((f(x) - model(x)[:, 0]).abs().max()) < 1e-12
    x_, y_ = sympy.symbols("x y")
    h0 = 0.3 * x_**2 - 0.1 + 0.2 * y_
    h1 = 0.25 * x_ - 0.3 * (y_ + 0.2) ** 2
    exact = sympy.expand(0.5 * (h0 + 0.1) ** 2 - 0.7 * h1)
    gap = sympy.Poly(sympy.expand(f.expr) - exact, x_, y_).coeffs()
    assert max(abs(float(c)) for c in gap) < 1e-12


def test_small_inputs_enter_to_first_order():
    """A KAN multiplying by a small perturbation: h_(0,1) = 0.3 y^2 ± 0.01 x, u = 2 h_0^2 - 2 h_1^2 = 0.024 x y^2.
    The x-edges make 6% of the nodes' scale, so they enter to first order; the product is what remains."""
    model = set_edges(
        kp.KAN([2, 2, 1], grid=4, seed=0),
        [
            [[lambda v: 0.01 * v, lambda v: -0.01 * v], [lambda v: 0.3 * v**2, lambda v: 0.3 * v**2]],
            [[lambda h: 2 * h**2], [lambda h: -2 * h**2]],
        ],
        200,
    )
    x = torch.rand(300, 2, generator=torch.Generator().manual_seed(4), dtype=F64) * 2 - 1
    f = symbolic(model, x, names=("x", "y"), library=("x", "x^2", "sin"))
    with torch.no_grad():
        assert float((f(x) - model(x)[:, 0]).abs().max()) < 1e-12
    terms = sympy.Poly(sympy.expand(f.expr), *f.symbols).terms()
    big = [(powers, float(c)) for powers, c in terms if abs(float(c)) > 1e-12]
    assert len(big) == 1 and big[0][0] == (1, 2) and big[0][1] == pytest.approx(0.024, rel=1e-10)


def test_symbolic_of_a_solution_uses_its_coordinates():
    problem = kp.load_problem("poisson2d")
    sol = kp.Solution(polynomial_kan(), problem)
    f = kp.symbolic(sol, library=("x", "x^2"))
    assert f.names == ("x", "y") and f.expr.free_symbols == {sympy.Symbol("x"), sympy.Symbol("y")}
    assert str(f) == str(f.expr)


def test_refine_pde_recovers_poisson1d_exactly():
    problem = kp.load_problem("poisson1d")
    f = Formula("0.9*sin(6.0*x + 0.05) + 0.45*x + 0.02", ("x",))
    start = _loss(f, problem)
    g = f.refine(problem)
    assert g.loss < 1e-20 * start
    assert g.equals("sin(2*pi*x) + x/2")
    assert g.relative_l2(problem) < 1e-14
    assert f.loss is None and f.expr == sympy.sympify("0.9*sin(6.0*x + 0.05) + 0.45*x + 0.02")  # unchanged


def test_refine_lowers_the_pde_loss_outside_the_family():
    problem = kp.load_problem("poisson1d")
    f = Formula("0.9*sin(6.0*x) + 0.3*x**2", ("x",))  # the exact solution is not of this form
    g = f.refine(problem, snap=False)
    assert g.loss < 1e-2 * _loss(f, problem)


def _loss(f: Formula, problem) -> float:
    make, _ = _pde(f, problem, (None, None, None), 0, torch.device("cpu"))
    module = f.module()
    r, _ = make(module)(module.theta)
    return float(r @ r)


def test_residual_jacobian_matches_finite_differences():
    """The per-point constants give the exact Jacobian of the stacked PDE residual (u_t, u_xx, boundary and
    initial rows) with respect to the constants."""
    problem = kp.load_problem("heat1d")
    host = Formula("exp(t)*sin(x)", ("x", "t"))
    make, _ = _pde(host, problem, (60, 10, 10), 0, torch.device("cpu"))
    theta = torch.tensor([0.9, -1.1, 3.0], dtype=F64)
    expr = sympy.sympify("c0*exp(c1*t)*sin(c2*x)")
    module = FormulaModule(expr, host.symbols, sympy.symbols("c0 c1 c2"), theta, host.functions)
    fun = make(module)
    r, jac = fun(theta)
    assert jac.shape == (r.shape[0], 3) and r.shape[0] > 60
    for k in range(3):
        e = torch.zeros(3, dtype=F64)
        e[k] = 1e-6
        fd = (fun(theta + e)[0] - fun(theta - e)[0]) / 2e-6
        assert float((fd - jac[:, k]).abs().max()) < 1e-6 * float(jac[:, k].abs().max())


def test_refine_data_recovers_the_kan_paper_example():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(300, 2, generator=g, dtype=F64) * 2 - 1
    y = torch.exp(torch.sin(math.pi * x[:, 0]) + x[:, 1] ** 2)
    f = Formula("1.05*exp(0.97*sin(3.1*x + 0.01) + 1.02*y**2 + 0.01*y) - 0.02", ("x", "y"))
    r = f.refine(data=(x, y))
    assert r.equals("exp(sin(pi*x) + y**2)")
    assert float((r(x) - y).abs().max()) < 1e-12


def test_canonical_splits_phases_and_merges_numbers():
    x = sympy.Symbol("x")
    out = canonical(0.5 * sympy.sin(0.3183098861837907 * sympy.pi * x + 0.2))
    assert out.has(sympy.sin(1.0 * x)) or out.has(sympy.sin(x))
    assert not any(
        isinstance(a, sympy.Add) and a.has(sympy.Float(0.2)) for a in sympy.preorder_traversal(out)
    )


def test_formula_save_load_round_trip(tmp_path, hand_set):
    _, x, f = hand_set
    f = Formula(
        f.expr + sympy.pi * sympy.Rational(1, 3) * sympy.sin(sympy.Symbol("y")), f.names, f.edges, loss=1e-30
    )
    path = f.save(tmp_path / "formula.json")
    assert json.loads(path.read_text())["text"] == str(f)
    back = Formula.load(path)
    assert back.expr == f.expr and back.names == f.names and back.edges == f.edges and back.loss == 1e-30
    assert torch.equal(back(x), f(x))
    tree = to_tree(f.expr)
    assert from_tree(json.loads(json.dumps(tree)), functions_for(LIBRARY)) == f.expr


def test_formula_files_that_are_not_formulas(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"not a kanpde formula file: it is not JSON"):
        Formula.load(bad)
    bad.write_text(json.dumps({"format": "something"}))
    with pytest.raises(ValueError, match=r"not a kanpde formula \(no 'kanpde-formula' format tag\)"):
        Formula.load(bad)
    tree = {
        "format": "kanpde-formula",
        "version": 1,
        "tree": ["Function", "system", ["Symbol", "x"]],
        "names": ["x"],
    }
    bad.write_text(json.dumps(tree))
    with pytest.raises(ValueError, match=r"unknown function 'system' in a formula tree"):
        Formula.load(bad)
    with pytest.raises(FileNotFoundError, match=r"no formula file"):
        Formula.load(tmp_path / "missing.json")


def test_bad_input():
    x = torch.rand(20, 2, dtype=F64)
    model = polynomial_kan()
    with pytest.raises(ValueError, match=r"the function library is empty"):
        symbolic(model, x, library=())
    with pytest.raises(ValueError, match=r"unknown library function\(s\) 'sinc'; valid ones: 0, x, x\^2"):
        symbolic(model, x, library=("x", "sinc"))
    with pytest.raises(
        TypeError, match=r"library entry 'f' must be \(torch function, sympy function, complexity\)"
    ):
        symbolic(model, x, library={"f": torch.sin})
    with pytest.raises(TypeError, match=r"symbolic needs a kanpde.KAN or a Solution of one .* got MLP"):
        symbolic(kp.MLP([2, 8, 1]), x)
    with pytest.raises(ValueError, match=r"symbolic needs sample points x"):
        symbolic(kp.Solution(model, None))
    with pytest.raises(ValueError, match=r"input must have shape \(N, 2\)"):
        symbolic(model, torch.rand(20, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"the formula uses z, which are not among its coordinates x, y"):
        Formula("x + z", ("x", "y"))
    f = Formula("sin(x)", ("x",))
    with pytest.raises(
        ValueError, match=r"refine takes a problem \(its PDE loss\) or data=\(x, y\), exactly one"
    ):
        f.refine()
    with pytest.raises(ValueError, match=r"the formula's coordinates x are not the problem's x, y"):
        f.refine(kp.load_problem("poisson2d"))
    with pytest.raises(ValueError, match=r"data must be x \(N, 1\) and y \(N,\)"):
        f.refine(data=(torch.rand(5, 2, dtype=F64), torch.rand(5, dtype=F64)))
    with pytest.raises(ValueError, match=r"takes a tensor of shape \(N, 1\)"):
        f(torch.rand(4, 2, dtype=F64))


def test_formula_travels_with_the_solution(tmp_path):
    problem = kp.load_problem("poisson1d")
    sol = kp.Solution(kp.KAN([1, 2, 1], grid=3, seed=0), problem)
    sol.symbolic_formula = Formula("sin(2*pi*x) + x/2", ("x",))
    back = kp.load(sol.save(tmp_path / "s.pt"))
    assert back.symbolic_formula.expr == sol.symbolic_formula.expr
    h5, _ = sol.export(tmp_path / "s.h5")
    attrs = read_hdf5(h5)["attrs"]
    assert attrs["formula"] == "x/2 + sin(2*pi*x)"
    assert attrs["formula_relative_l2"] < 1e-15
    assert Formula.from_dict(attrs["formula_data"]).expr == sol.symbolic_formula.expr


def test_cli_symbolic(tmp_path, capsys):
    problem = kp.load_problem("poisson2d")
    checkpoint = kp.Solution(polynomial_kan(), problem).save(tmp_path / "solution.pt")
    out = tmp_path / "f.json"
    assert main(["symbolic", str(checkpoint), "--no-refine", "--out", str(out)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert set(lines) == {"formula", "relative", "out"}
    assert "to the exact solution" in lines["relative"]
    assert Formula.load(out).names == ("x", "y")
    mlp = kp.Solution(kp.MLP([2, 4, 1]), problem).save(tmp_path / "mlp.pt")
    assert main(["symbolic", str(mlp)]) == 2
    assert "symbolic needs a KAN" in capsys.readouterr().err


def test_cli_solve_symbolic_refuses_what_has_no_formula_before_training(tmp_path, capsys):
    # (the full run of --symbolic is check_symbolic in test_cli_options.py)
    args = ["solve", "poisson1d", "--model", "mlp", "--symbolic", "--out", str(tmp_path / "m")]
    assert main(args) == 2
    assert (
        "--symbolic needs a KAN (its edges are fitted); drop it or pass --model kan"
        in capsys.readouterr().err
    )
    assert main(["solve", "taylor_green", "--symbolic", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "--symbolic: symbolic formulas are of one field, and problem 'taylor_green' has 3 (u, v, p)" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "t").exists()


def test_formulas_refuse_problems_they_cannot_describe():
    base = kp.load_problem("poisson2d")
    hard = kp.Problem(base.domain, base.residual, [kp.Dirichlet(0.0, hard=True)], base.exact, name="hard")
    sol = kp.Solution(kp.KAN([2, 2, 1], grid=3), hard)
    with pytest.raises(ValueError, match=r"problem 'hard' imposes conditions exactly \(hard=True\)"):
        symbolic(sol)
    with pytest.raises(ValueError, match=r"imposes conditions exactly"):
        Formula("sin(pi*x)*sin(pi*y)", ("x", "y")).refine(hard)
    inverse = kp.load_problem("heat_inverse")
    with pytest.raises(ValueError, match=r"problem 'heat_inverse' has unknown coefficients \(kappa\)"):
        kp.Solution(kp.KAN([2, 2, 1], grid=3), inverse).formula()
    system = kp.load_problem("stokes2d")
    with pytest.raises(ValueError, match=r"symbolic formulas are of one field, and problem 'stokes2d' has 3"):
        symbolic(kp.Solution(kp.KAN([2, 2, 3], grid=3), system))
    with pytest.raises(TypeError, match=r"symbolic needs a KAN \(its edges are fitted\), got a MLP"):
        symbolic(kp.Solution(kp.MLP([2, 4, 1]), base))
