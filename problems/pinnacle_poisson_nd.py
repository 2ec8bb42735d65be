r"""PINNacle PNd: the 5-D Poisson equation with an additive exact solution (PINNacle ``poisson.PoissonND``).

PDE:        -Δu = (pi^2 / 4) sum_i sin(pi x_i / 2)   in (0, 1)^5   (PINNacle: Δu + f = 0)
Domain:     [0, 1]^5, coordinates x1, ..., x5
Conditions: u = exact on the boundary (Dirichlet)
Exact:      u(x) = sum_i sin(pi x_i / 2)

Check: Δ sin(pi x_i / 2) = -(pi / 2)^2 sin(pi x_i / 2), so -Δu = (pi^2 / 4) sum_i sin(pi x_i / 2).

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/poisson.py``, class ``PoissonND`` with dim=5,
len=1), published best L2RE 4.67e-4. PINNacle measures on 20 000 points drawn in the cube; kanpde's metrics
use its regular evaluation grid (9 nodes a column in 5-D, end points included).
"""

import math

import torch

import kanpde as kp

PI = math.pi
DIM = 5


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sum_i sin(pi x_i / 2), shape (N,)."""
    return torch.sin(0.5 * PI * x).sum(dim=1)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.laplacian() + 0.25 * PI**2 * torch.sin(0.5 * PI * x).sum(dim=1)


problem = kp.Problem(
    domain=kp.Box((0.0,) * DIM, (1.0,) * DIM),
    residual=residual,
    conditions=[kp.Dirichlet(exact)],
    exact=exact,
    name="pinnacle_poisson_nd",
    recommended={"model": "kan", "width": (5, 1, 1), "grid": 5, "grids": (5, 10, 20), "steps": 300},
)
