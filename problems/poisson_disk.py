r"""Poisson equation on the unit disk with a radial, non-polynomial solution.

PDE:        -Δu = f  in {r < 1},  r^2 = x^2 + y^2,
            f(x, y) = 2 pi sin(pi r^2 / 2) + pi^2 r^2 cos(pi r^2 / 2)
Domain:     disk with centre (0, 0) and radius 1
Conditions: u = 0 on the circle r = 1 (cos(pi / 2) = 0)
Exact:      u(x, y) = cos(pi r^2 / 2)

Derivation: with s = r^2, ∇u = -pi sin(pi s / 2) (x, y), and
            Δu = -2 pi sin(pi s / 2) - pi^2 s cos(pi s / 2).
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = cos(pi r^2 / 2), shape (N,)."""
    return torch.cos(0.5 * PI * (x**2).sum(dim=1))


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu, shape (N,)."""
    s = (x**2).sum(dim=1)
    return 2 * PI * torch.sin(0.5 * PI * s) + PI**2 * s * torch.cos(0.5 * PI * s)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Disk((0.0, 0.0), 1.0),
    residual=residual,
    conditions=[kp.Dirichlet(value=0.0)],
    exact=exact,
    name="poisson_disk",
)
