r"""2-D Taylor-Green vortex: unsteady incompressible Navier-Stokes with an exact solution (u, v, p).

PDE:        u_t + u u_x + v u_y = -p_x + nu Δu,   v_t + u v_x + v v_y = -p_y + nu Δv,   u_x + v_y = 0,
            nu = 0.1, density 1
Domain:     [0, pi]^2 x [0, 1] in (x, y, t)
Conditions: u, v, p = exact on the lateral boundary (Dirichlet; p there fixes its free constant at every t),
            imposed exactly: each field is g + φ N with φ the square's distance function and g the
            transfinite interpolation of the side values at every t (kp.transfinite: it reads the exact
            solution on the four sides only); u, v = exact at t = 0 (Initial, penalised)
Exact:      u = -cos(x) sin(y) F(t),   v = sin(x) cos(y) F(t),   p = -(cos 2x + cos 2y) F(t)^2 / 4,
            F(t) = e^{-2 nu t}

Check: u_x + v_y = sin x sin y F - sin x sin y F = 0; Δu = -2u, so nu Δu - u_t = (-2 nu + 2 nu) u = 0 and the
       momentum equations reduce to u u_x + v u_y = -p_x: u u_x + v u_y = -(1/2) sin 2x F^2 = -p_x (likewise in y).

Recommended settings: grids 5 and 10, 80 LM steps each, on 2000 interior, 600 boundary and 400 initial
points: 3.0e-6 in 48 s of one core (results/accuracy.md). With the lateral values penalised instead, the same
KAN ended at 3.8e-4 (pressure 1.1e-3) after 300 steps.
"""

import math

import torch

import kanpde as kp

NU = 0.1
SQUARE = kp.Rectangle((0.0, 0.0), (math.pi, math.pi))


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
    domain=kp.SpaceTime(SQUARE, t=(0.0, 1.0)),
    residual=residual,
    fields=("u", "v", "p"),
    conditions=[
        kp.Dirichlet(kp.transfinite(velocity_u, SQUARE), field="u", hard=True),
        kp.Dirichlet(kp.transfinite(velocity_v, SQUARE), field="v", hard=True),
        kp.Dirichlet(kp.transfinite(pressure, SQUARE), field="p", hard=True),
        kp.Initial(velocity_u, field="u"),
        kp.Initial(velocity_v, field="v"),
    ],
    exact={"u": velocity_u, "v": velocity_v, "p": pressure},
    name="taylor_green",
    recommended={"grids": (5, 10), "steps": 80, "n_interior": 2000, "n_boundary": 600, "n_initial": 400},
)
