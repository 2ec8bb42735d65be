r"""PINNacle Heat2d-MS: 2-D heat equation with multi-scale diffusion (PINNacle ``heat.Heat2D_Multiscale``).

PDE:        u_t = u_xx / (500 pi)^2 + u_yy / pi^2,   (x, y) in (0, 1)^2, t in (0, 5]
Domain:     [0, 1]^2 x [0, 5] in (x, y, t)
Conditions: u = 0 on the sides of the square;   u(x, y, 0) = sin(20 pi x) sin(pi y)
Exact:      u(x, y, t) = sin(20 pi x) sin(pi y) exp(-lambda t),   lambda = (20 pi)^2 / (500 pi)^2 + 1 = 1.0016

Check: u_xx / (500 pi)^2 = -(400 / 250000) u and u_yy / pi^2 = -u, so their sum is -lambda u = u_t.

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/heat.py``, class ``Heat2D_Multiscale``;
``HeatMultiscale`` in older commits, with the COMSOL file ``heat_multiscale.dat``; the newer class gives the
exact solution above, which we use), published best L2RE 6.21e-2 (1.74e-2 cited for L-BFGS). The zero side
values are imposed exactly (``u = φ N`` with φ the square's distance function).
"""

import math

import torch

import kanpde as kp

PI = math.pi
KX, KY = 1.0 / (500 * PI) ** 2, 1.0 / PI**2
LAMBDA = KX * (20 * PI) ** 2 + KY * PI**2


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(20 pi x) sin(pi y) exp(-lambda t), shape (N,); columns x, y, t."""
    return torch.sin(20 * PI * x[:, 0]) * torch.sin(PI * x[:, 1]) * torch.exp(-LAMBDA * x[:, 2])


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, y, 0) = sin(20 pi x) sin(pi y), shape (N,)."""
    return torch.sin(20 * PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt() - KX * u.d("x", "x") - KY * u.d("y", "y")


problem = kp.Problem(
    domain=kp.SpaceTime(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), t=(0.0, 5.0)),
    residual=residual,
    conditions=[kp.Dirichlet(0.0, hard=True), kp.Initial(initial)],
    exact=exact,
    name="pinnacle_heat2d_ms",
    recommended={
        "model": "kan",
        "width": (3, 6, 1),
        "grid": [(40, 4, 4), 4],
        "grids": (4,),
        "steps": 2000,
        "n_interior": 8000,
        "n_initial": 3000,
        "n_boundary": 1000,
    },
)
