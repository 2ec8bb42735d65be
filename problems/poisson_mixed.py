r"""Poisson equation on the unit square with mixed Dirichlet and Neumann conditions.

PDE:        -Δu = f  in (0, 1)^2,   f(x, y) = (pi^2 / 4 - 1) e^x cos(pi y / 2)
Domain:     [0, 1]^2
Conditions: Dirichlet from the exact solution on x = 0 and y = 0:
                u(0, y) = cos(pi y / 2),   u(x, 0) = e^x
            Neumann (outward normal derivative) on x = 1 and y = 1:
                ∂u/∂n = u_x(1, y)  = e cos(pi y / 2)
                ∂u/∂n = u_y(x, 1)  = -(pi / 2) e^x sin(pi / 2) = -(pi / 2) e^x
Exact:      u(x, y) = e^x cos(pi y / 2)
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = e^x cos(pi y / 2), shape (N,)."""
    return torch.exp(x[:, 0]) * torch.cos(0.5 * PI * x[:, 1])


def exact_dx(x: torch.Tensor) -> torch.Tensor:
    """u_x = e^x cos(pi y / 2): the outward normal derivative on the face x = 1."""
    return torch.exp(x[:, 0]) * torch.cos(0.5 * PI * x[:, 1])


def exact_dy(x: torch.Tensor) -> torch.Tensor:
    """u_y = -(pi / 2) e^x sin(pi y / 2): the outward normal derivative on the face y = 1."""
    return -0.5 * PI * torch.exp(x[:, 0]) * torch.sin(0.5 * PI * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu = (pi^2 / 4 - 1) u, shape (N,)."""
    return (PI**2 / 4 - 1) * exact(x)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
    residual=residual,
    conditions=[
        kp.Dirichlet(value=exact, on=["xmin", "ymin"]),
        kp.Neumann(flux=exact_dx, on="xmax"),
        kp.Neumann(flux=exact_dy, on="ymax"),
    ],
    exact=exact,
    name="poisson_mixed",
)
