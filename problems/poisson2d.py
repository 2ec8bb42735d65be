r"""2-D Poisson equation of the KAN paper (Liu et al. 2024, section 3.4).

PDE:        Δu = f  in (-1, 1)^2, with
            f(x, y) = -pi^2 (1 + 4 y^2) sin(pi x) sin(pi y^2) + 2 pi sin(pi x) cos(pi y^2)
Domain:     [-1, 1]^2
Conditions: u = 0 on the whole boundary (sin(±pi) = 0 at x = ±1, sin(pi (±1)^2) = 0 at y = ±1)
Exact:      u(x, y) = sin(pi x) sin(pi y^2)

Derivation: u_xx = -pi^2 u, u_yy = sin(pi x) (2 pi cos(pi y^2) - 4 pi^2 y^2 sin(pi y^2)).

The residual is the PDE ``Δu - f``, weighted as in the paper by α = 0.01
(loss = α·mean r_PDE^2 + mean r_BC^2): the source reaches |f| ≈ 50, and with α = 1 the boundary term is
under-weighted (a default solve ends near 2e-3 relative L2 instead of 1e-4; results/accuracy.md).
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x, y) = sin(pi x) sin(pi y^2), shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1] ** 2)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu, shape (N,)."""
    sx = torch.sin(PI * x[:, 0])
    y2 = x[:, 1] ** 2
    return -(PI**2) * (1 + 4 * y2) * sx * torch.sin(PI * y2) + 2 * PI * sx * torch.cos(PI * y2)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.laplacian() - source(x)


problem = kp.Problem(
    domain=kp.Rectangle((-1.0, -1.0), (1.0, 1.0)),
    residual=residual,
    conditions=[kp.Dirichlet(value=0.0)],
    exact=exact,
    name="poisson2d",
    residual_weight=0.01,
)
