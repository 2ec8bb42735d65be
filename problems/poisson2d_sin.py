r"""2-D Poisson equation of the pykan PDE tutorial.

PDE:        Δu = f  in (-1, 1)^2,   f(x, y) = -2 pi^2 sin(pi x) sin(pi y)
Domain:     [-1, 1]^2
Conditions: u = 0 on the whole boundary
Exact:      u(x, y) = sin(pi x) sin(pi y)
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x, y) = sin(pi x) sin(pi y), shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -2 pi^2 sin(pi x) sin(pi y), shape (N,)."""
    return -2 * PI**2 * exact(x)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Rectangle((-1.0, -1.0), (1.0, 1.0)),
    residual=residual,
    conditions=[kp.Dirichlet(value=0.0)],
    exact=exact,
    name="poisson2d_sin",
)
