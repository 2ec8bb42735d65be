"""The loss's single jet pass over all terms' points equals per-term passes; it steps aside when a residual
evaluates the model at points of its own."""

import dataclasses

import pytest
import torch

import kanpde as kp
from kanpde.ansatz import Ansatz
from kanpde.loss import PINNLoss, sample_collocation


def _loss_and_grad(loss: PINNLoss, model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    total, parts = loss(model)
    grads = torch.autograd.grad(total, list(model.parameters()))
    return total.detach(), parts.detach(), torch.cat([g.reshape(-1) for g in grads])


def _setup(name: str, family: str = "kan"):
    problem = kp.load_problem(name)
    d, k = problem.domain.dim, len(problem.fields)
    net = kp.KAN([d, 4, k], grid=5, seed=3) if family == "kan" else kp.MLP([d, 8, 8, k], seed=3)
    net.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 200, 60, 40, "sobol", 0, torch.float64, "cpu")
    return problem, Ansatz(net, problem.fields, problem.unknowns), points


@pytest.mark.parametrize("family", ["kan", "mlp"])
@pytest.mark.parametrize("name", kp.list_problems())
def test_one_pass_over_all_terms_equals_per_term_passes(name: str, family: str) -> None:
    problem, model, points = _setup(name, family)
    stacked = PINNLoss(problem, points, "forward")
    # every shipped problem evaluates the model at its own point sets, except those whose conditions are all
    # imposed exactly (pinnacle_poisson2d_cg, pinnacle_ns2d_cg): the PDE's points alone, nothing to stack
    stacks = not all(getattr(c, "hard", False) for c in problem.conditions)
    assert (stacked._layout is not None) == stacks
    per_term = PINNLoss(problem, points, "forward")
    per_term._layout = None
    a, b = _loss_and_grad(stacked, model), _loss_and_grad(per_term, model)
    for x, y in zip(a, b, strict=True):
        assert float((x - y).abs().max()) <= 1e-12 * max(1.0, float(y.abs().max()))
    assert (stacked._layout is not None) == stacks  # still in use after a real call
    assert float(a[0]) > 0


def test_one_pass_with_periodic_robin_and_mixed_derivatives() -> None:
    """Conditions that evaluate the model twice (Periodic: both faces) or ask for gradients (Robin), and a
    residual with a mixed second derivative, served from one pass."""
    problem = kp.Problem(
        domain=kp.Rectangle((0.0, 0.0), (1.0, 2.0)),
        residual=lambda x, u: u.laplacian() + 0.3 * u.d("x", "y") - torch.sin(x[:, 0]),
        conditions=[
            kp.Periodic("x"),
            kp.Robin(a=1.0, b=0.5, g=0.2, on="ymin"),
            kp.Dirichlet(value=0.0, on="ymax"),
        ],
        name="mixed_conditions",
    )
    model = kp.KAN([2, 4, 1], grid=5, seed=4)
    model.set_input_bounds(*problem.domain.bounds())
    points = sample_collocation(problem, 150, 60, 0, "sobol", 0, torch.float64, "cpu")
    stacked = PINNLoss(problem, points, "forward")
    assert stacked._layout is not None and len(stacked._layout.calls) == 5  # interior, lo, hi, ymin, ymax
    per_term = PINNLoss(problem, points, "forward")
    per_term._layout = None
    a, b = _loss_and_grad(stacked, model), _loss_and_grad(per_term, model)
    for x, y in zip(a, b, strict=True):
        assert float((x - y).abs().max()) <= 1e-12 * max(1.0, float(y.abs().max()))
    assert stacked._layout is not None


class _FreshPointsDirichlet(kp.Dirichlet):
    """A Dirichlet condition that evaluates the model at a new tensor (same values) at every call."""

    def residual(self, field_at, points):
        return (field_at(points["x"] * 1.0).value - points["target"])[:, None]


def test_a_condition_at_points_of_its_own_turns_the_single_pass_off() -> None:
    """The stacked pass cannot serve a model evaluation at a tensor it has not seen: the loss falls back to
    per-term passes, for good, with the numbers of a plain per-term loss."""
    problem, model, points = _setup("poisson2d")
    problem = dataclasses.replace(problem, conditions=[_FreshPointsDirichlet(value=0.0)])
    loss = PINNLoss(problem, points, "forward")
    assert loss._layout is not None  # learned from the probe's call, whose tensor was a different one
    reference = PINNLoss(problem, points, "forward")
    reference._layout = None
    a = _loss_and_grad(loss, model)
    assert loss._layout is None
    b = _loss_and_grad(reference, model)
    for x, y in zip(a, b, strict=True):
        assert float((x - y).abs().max()) <= 1e-12 * max(1.0, float(y.abs().max()))
    assert torch.equal(_loss_and_grad(loss, model)[0], a[0])  # and stays on per-term passes
