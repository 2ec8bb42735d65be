r"""1-D Poisson equation with a non-symmetric, non-homogeneous solution.

PDE:        -u''(x) = f(x),   x in (0, 1),   f(x) = 4 pi^2 sin(2 pi x)
Domain:     [0, 1]
Conditions: Dirichlet from the exact solution: u(0) = 0, u(1) = 1/2
Exact:      u(x) = sin(2 pi x) + x / 2
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x) = sin(2 pi x) + x / 2, shape (N,)."""
    return torch.sin(2 * PI * x[:, 0]) + 0.5 * x[:, 0]


def source(x: torch.Tensor) -> torch.Tensor:
    """f(x) = -u''(x) = 4 pi^2 sin(2 pi x), shape (N,)."""
    return 4 * PI**2 * torch.sin(2 * PI * x[:, 0])


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.d("x", "x") - source(x)


problem = kp.Problem(
    domain=kp.Interval(0.0, 1.0),
    residual=residual,
    conditions=[kp.Dirichlet(value=exact)],
    exact=exact,
    name="poisson1d",
)
