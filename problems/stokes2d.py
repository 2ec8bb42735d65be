r"""Steady 2-D Stokes flow with a manufactured solution: velocity (u, v) and pressure p.

PDE:        -nu Δu + p_x = f_1,   -nu Δv + p_y = f_2,   u_x + v_y = 0   in (0, 1)^2, nu = 1
Domain:     [0, 1]^2
Conditions: u, v = exact on the boundary (Dirichlet); p = exact at four interior points (Data), which
            fixes the pressure's free constant
Exact:      u = sin(pi x) cos(pi y),   v = -cos(pi x) sin(pi y)   (the stream function sin(pi x) sin(pi y)/pi:
            divergence-free),   p = cos(pi x) cos(pi y)

Check: Δu = -2 pi^2 u and Δv = -2 pi^2 v, p_x = -pi sin(pi x) cos(pi y), p_y = -pi cos(pi x) sin(pi y), so
       f_1 = (2 nu pi^2 - pi) sin(pi x) cos(pi y) and f_2 = -(2 nu pi^2 + pi) cos(pi x) sin(pi y);
       u_x + v_y = pi cos(pi x) cos(pi y) - pi cos(pi x) cos(pi y) = 0.
"""

import math

import torch

import kanpde as kp

PI = math.pi
NU = 1.0


def velocity_u(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1])


def velocity_v(x: torch.Tensor) -> torch.Tensor:
    return -torch.cos(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def pressure(x: torch.Tensor) -> torch.Tensor:
    return torch.cos(PI * x[:, 0]) * torch.cos(PI * x[:, 1])


def residual(x: torch.Tensor, u: kp.Fields) -> dict:
    U, V, P = u["u"], u["v"], u["p"]
    f1 = (2 * NU * PI**2 - PI) * torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1])
    f2 = -(2 * NU * PI**2 + PI) * torch.cos(PI * x[:, 0]) * torch.sin(PI * x[:, 1])
    return {
        "momentum_x": -NU * U.laplacian() + P.d("x") - f1,
        "momentum_y": -NU * V.laplacian() + P.d("y") - f2,
        "continuity": U.d("x") + V.d("y"),
    }


PRESSURE_POINTS = torch.tensor([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]], dtype=torch.float64)

problem = kp.Problem(
    domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
    residual=residual,
    fields=("u", "v", "p"),
    conditions=[
        kp.Dirichlet(velocity_u, field="u"),
        kp.Dirichlet(velocity_v, field="v"),
        kp.Data(PRESSURE_POINTS, pressure(PRESSURE_POINTS), field="p"),
    ],
    exact={"u": velocity_u, "v": velocity_v, "p": pressure},
    name="stokes2d",
)
