r"""5-D Poisson equation on the cube [-1, 1]^5 with a smooth non-separable exact solution.

PDE:        -Δu = f   in (-1, 1)^5,   coordinates x1, ..., x5
Domain:     [-1, 1]^5
Conditions: u = exact on the boundary (Dirichlet)
Exact:      u(x) = exp(-|x|^2 / 2) + (1/10) sum_i sin(pi x_i)

Check: with g = exp(-|x|^2/2), Δg = (|x|^2 - d) g (d = 5), and Δ sin(pi x_i) = -pi^2 sin(pi x_i), so
       f = -Δu = (d - |x|^2) g + (pi^2 / 10) sum_i sin(pi x_i).
"""

import math

import torch

import kanpde as kp

PI = math.pi
DIM = 5


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(-|x|^2/2) + sum_i sin(pi x_i) / 10, shape (N,)."""
    return torch.exp(-0.5 * x.square().sum(dim=1)) + 0.1 * torch.sin(PI * x).sum(dim=1)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu, shape (N,)."""
    r2 = x.square().sum(dim=1)
    return (DIM - r2) * torch.exp(-0.5 * r2) + 0.1 * PI**2 * torch.sin(PI * x).sum(dim=1)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Box((-1.0,) * DIM, (1.0,) * DIM),
    residual=residual,
    conditions=[kp.Dirichlet(exact)],
    exact=exact,
    name="poisson5d",
)
