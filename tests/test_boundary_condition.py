"""kp.Boundary: any relation of the fields and their derivatives on a boundary part, checked against the
conditions it can restate (Robin, Dirichlet) and on a solve whose exact solution needs it."""

import math

import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.loss import PINNLoss, sample_collocation


def _parts(problem: kp.Problem, mode: str = "forward") -> torch.Tensor:
    net = kp.KAN([2, 4, len(problem.fields)], grid=5, seed=2)
    net.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 120, 80, 0, "sobol", 0, torch.float64, "cpu")
    return PINNLoss(problem, points, mode)(Ansatz(net, problem.fields, problem.unknowns))[1].detach()


def _square(conditions, fields=("u",)) -> kp.Problem:
    def residual(x, f):
        return f.laplacian() if len(fields) == 1 else {k: f[k].laplacian() for k in fields}

    return kp.Problem(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), residual, conditions, fields=fields)


@pytest.mark.parametrize("mode", ["forward", "autograd"])
def test_boundary_restating_robin_gives_the_same_loss(mode):
    """a u + b ∂u/∂n - g written as a Boundary equation: the same loss term, to round-off."""
    robin = _square([kp.Robin(a=1.5, b=0.5, g=0.2, on="ymin"), kp.Dirichlet(0.0, on="ymax")])
    boundary = _square(
        [
            kp.Boundary(lambda x, u, n: 1.5 * u.value + 0.5 * u.normal_derivative(n) - 0.2, on="ymin"),
            kp.Dirichlet(0.0, on="ymax"),
        ]
    )
    a, b = _parts(robin, mode), _parts(boundary, mode)
    assert float(a[1]) > 1e-3  # the term is not trivially zero
    torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


def test_a_boundary_equation_of_two_fields_in_a_system():
    """In a system the equation gets every field; a dict gives one column per relation, equal to the values
    and normal derivatives computed by autograd at the condition's points."""
    problem = _square(
        [kp.Boundary(lambda x, f, n: {"u": f["u"].value - 0.3, "v": f["v"].normal_derivative(n)}, on="xmin")],
        ("u", "v"),
    )
    net = kp.KAN([2, 4, 2], grid=5, seed=2)
    net.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 50, 40, 0, "sobol", 0, torch.float64, "cpu")
    rows = PINNLoss(problem, points, "forward").term_residual(Ansatz(net, ("u", "v"), ()), 1).detach()
    x = points.conditions[0]["x"].clone().requires_grad_(True)
    out = net(x)  # (N, 2)
    dv = torch.autograd.grad(out[:, 1].sum(), x)[0]  # (N, 2)
    assert rows.shape == (x.shape[0], 2) and torch.allclose(x[:, 0], torch.zeros_like(x[:, 0]))
    torch.testing.assert_close(rows[:, 0], out[:, 0].detach() - 0.3, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(rows[:, 1], -dv[:, 0], rtol=1e-10, atol=1e-12)  # outward normal (-1, 0)


def test_a_boundary_condition_solves_a_problem_that_needs_it():
    """Δu = 0 with u = sin(pi x) e^{pi (y - 1)}: u_y - pi u = 0 on y = 0 (true there: u_y = pi u; a Robin
    condition ∂u/∂n + pi u = 0 written as a relation of u_y), the exact values on the other sides; the solve
    finds the harmonic function (1.6e-3 measured)."""

    def exact(x):
        return torch.sin(math.pi * x[:, 0]) * torch.exp(math.pi * (x[:, 1] - 1))

    problem = kp.Problem(
        kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
        lambda x, u: u.laplacian(),
        [
            kp.Boundary(lambda x, u, n: u.d("y") - math.pi * u.value, on="ymin"),
            kp.Dirichlet(exact, on=["xmin", "xmax", "ymax"]),
        ],
        exact=exact,
    )
    sol = kp.solve(
        problem, kp.KAN([2, 6, 1], grid=5, seed=0), steps=100, grids=(5, 10), seed=0, progress=False
    )
    assert sol.relative_l2() < 4e-3


def test_boundary_needs_a_callable_equation():
    with pytest.raises(TypeError, match="Boundary needs equation="):
        kp.Boundary(0.0, on="xmin")


def test_a_boundary_equation_of_the_wrong_shape_is_named():
    problem = _square([kp.Boundary(lambda x, u, n: u.value[:3], on="xmin")])
    with pytest.raises(ValueError, match="the Boundary equation returned shape"):
        _parts(problem)
