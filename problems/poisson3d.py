r"""3-D Poisson equation on the unit cube.

PDE:        -Δu = f  in (0, 1)^3,   f(x, y, z) = 3 pi^2 sin(pi x) sin(pi y) sin(pi z)
Domain:     [0, 1]^3
Conditions: u = 0 on all six faces
Exact:      u(x, y, z) = sin(pi x) sin(pi y) sin(pi z)
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(pi x) sin(pi y) sin(pi z), shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1]) * torch.sin(PI * x[:, 2])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu = 3 pi^2 u, shape (N,)."""
    return 3 * PI**2 * exact(x)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    residual=residual,
    conditions=[kp.Dirichlet(value=0.0)],
    exact=exact,
    name="poisson3d",
)
