r"""2-D Taylor-Green vortex: unsteady incompressible Navier-Stokes with an exact solution (u, v, p).

PDE:        u_t + u u_x + v u_y = -p_x + nu Δu,   v_t + u v_x + v v_y = -p_y + nu Δv,   u_x + v_y = 0,
            nu = 0.1, density 1
Domain:     [0, pi]^2 x [0, 1] in (x, y, t)
Conditions: u, v, p = exact on the lateral boundary (Dirichlet; p there fixes its free constant at every t);
            u, v = exact at t = 0 (Initial)
Exact:      u = -cos(x) sin(y) F(t),   v = sin(x) cos(y) F(t),   p = -(cos 2x + cos 2y) F(t)^2 / 4,
            F(t) = e^{-2 nu t}

Check: u_x + v_y = sin x sin y F - sin x sin y F = 0; Δu = -2u, so nu Δu - u_t = (-2 nu + 2 nu) u = 0 and the
       momentum equations reduce to u u_x + v u_y = -p_x: u u_x + v u_y = -(1/2) sin 2x F^2 = -p_x (likewise in y).
"""

import math

import torch

import kanpde as kp

NU = 0.1


def _decay(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-2 * NU * x[:, 2])


def velocity_u(x: torch.Tensor) -> torch.Tensor:
    return -torch.cos(x[:, 0]) * torch.sin(x[:, 1]) * _decay(x)


def velocity_v(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x[:, 0]) * torch.cos(x[:, 1]) * _decay(x)


def pressure(x: torch.Tensor) -> torch.Tensor:
    return -0.25 * (torch.cos(2 * x[:, 0]) + torch.cos(2 * x[:, 1])) * _decay(x) ** 2


def residual(x: torch.Tensor, u: kp.Fields) -> dict:
    U, V, P = u["u"], u["v"], u["p"]
    return {
        "momentum_x": U.dt() + U.value * U.d("x") + V.value * U.d("y") + P.d("x") - NU * U.laplacian(),
        "momentum_y": V.dt() + U.value * V.d("x") + V.value * V.d("y") + P.d("y") - NU * V.laplacian(),
        "continuity": U.d("x") + V.d("y"),
    }


problem = kp.Problem(
    domain=kp.SpaceTime(kp.Rectangle((0.0, 0.0), (math.pi, math.pi)), t=(0.0, 1.0)),
    residual=residual,
    fields=("u", "v", "p"),
    conditions=[
        kp.Dirichlet(velocity_u, field="u"),
        kp.Dirichlet(velocity_v, field="v"),
        kp.Dirichlet(pressure, field="p"),
        kp.Initial(velocity_u, field="u"),
        kp.Initial(velocity_v, field="v"),
    ],
    exact={"u": velocity_u, "v": velocity_v, "p": pressure},
    name="taylor_green",
)
