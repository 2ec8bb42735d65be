"""kp.transfinite: boundary values of a rectangle lifted inside, read on the sides only."""

from __future__ import annotations

import pytest
import torch

import kanpde as kp

F64 = torch.float64
BOX = kp.Rectangle((0.0, -1.0), (2.0, 1.0))


def _inside(n: int, seed: int) -> torch.Tensor:
    return BOX.sample_interior(n, sampler="random", seed=seed)  # (n, 2)


def test_equals_the_value_on_the_sides_and_reads_nothing_else() -> None:
    def value(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(3 * x[:, 0] * x[:, 1]) + x[:, 0] ** 2

    seen: list[torch.Tensor] = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return value(x)

    g = kp.transfinite(spy, BOX)
    sides, _ = BOX.sample_boundary(400, seed=1)
    torch.testing.assert_close(g(sides), value(sides), atol=1e-14, rtol=0)
    seen.clear()
    g(_inside(300, 2))
    read = torch.cat(seen)  # every point the value was asked for lies on a side
    on_side = (read[:, 0] == 0) | (read[:, 0] == 2) | (read[:, 1] == -1) | (read[:, 1] == 1)
    assert bool(on_side.all())


def test_exact_for_sums_of_univariate_functions_and_bilinear_ones() -> None:
    """Transfinite interpolation reproduces A(x) + B(y) and every bilinear function exactly."""
    x = _inside(500, 3)
    for u in (
        lambda p: torch.sin(3 * p[:, 0]) + torch.exp(p[:, 1]),
        lambda p: 1 + 2 * p[:, 0] - p[:, 1] + 3 * p[:, 0] * p[:, 1],
    ):
        torch.testing.assert_close(kp.transfinite(u, BOX)(x), u(x), atol=1e-13, rtol=0)
    # a genuinely two-dimensional function is not reproduced inside
    bump = kp.transfinite(lambda p: torch.sin(3 * p[:, 0]) * torch.sin(3 * p[:, 1]), BOX)
    assert float((bump(x) - torch.sin(3 * x[:, 0]) * torch.sin(3 * x[:, 1])).abs().max()) > 0.1


def test_space_time_columns_pass_through() -> None:
    domain = kp.SpaceTime(BOX, t=(0, 1))
    x = domain.sample_interior(200, seed=4)  # (200, 3)

    def u(p: torch.Tensor) -> torch.Tensor:
        return torch.exp(-p[:, 2]) * (p[:, 0] + p[:, 1] ** 2)

    torch.testing.assert_close(kp.transfinite(u, domain)(x), u(x), atol=1e-13, rtol=0)


def test_hard_condition_with_a_lift_trains() -> None:
    """poisson2d-like problem with non-zero values on the sides, imposed exactly through the lift."""
    square = kp.Rectangle((0, 0), (1, 1))

    def exact(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(2 * x[:, 0]) * torch.sin(2 * x[:, 1])  # harmonic, not reproduced by the lift

    problem = kp.Problem(
        domain=square,
        residual=lambda x, u: u.laplacian(),
        conditions=[kp.Dirichlet(kp.transfinite(exact, square), hard=True)],
        exact=exact,
    )
    sol = kp.solve(problem, kp.KAN([2, 3, 1], grid=3, seed=0), grids=(3,), steps=30, n_interior=200)
    xb, _ = square.sample_boundary(100, seed=5)
    torch.testing.assert_close(sol(xb), exact(xb), atol=1e-12, rtol=0)
    assert sol.relative_l2() < 5e-5  # measured 4.7e-6


@pytest.mark.parametrize(
    ("value", "box", "error", "match"),
    [
        (1.0, BOX, TypeError, "must be a callable"),
        (lambda x: x[:, 0], kp.Disk((0, 0), 1), ValueError, "2-D Box"),
        (lambda x: x[:, 0], kp.Box((0, 0, 0), (1, 1, 1)), ValueError, "2-D Box"),
    ],
)
def test_bad_input(value, box, error, match) -> None:
    with pytest.raises(error, match=match):
        kp.transfinite(value, box)


def test_column_values_and_direct_construction() -> None:
    """A value returning (N, 1) gives (N,); Transfinite built directly checks its input as transfinite does."""
    x = _inside(50, 6)
    g = kp.geometry.Transfinite(lambda p: (p[:, 0] + p[:, 1])[:, None], kp.SpaceTime(BOX, t=(0, 1)))
    assert g.box == BOX
    torch.testing.assert_close(g(x), x[:, 0] + x[:, 1], atol=1e-14, rtol=0)
    with pytest.raises(ValueError, match="2-D Box"):
        kp.geometry.Transfinite(lambda p: p[:, 0], kp.Box((0, 0, 0), (1, 1, 1)))
