r"""Poisson equation with an unknown coefficient field a(x, y), identified from observations of u.

PDE:        -div(a grad u) = f,   i.e.  -(a Δu + a_x u_x + a_y u_y) = f   in (0, 1)^2
Domain:     [0, 1]^2;  two fields: u and the coefficient a (no boundary condition on a)
Conditions: u = 0 on the boundary;  observations of u at 500 points (a scrambled Sobol set, seed 5)
Exact:      u = sin(pi x) sin(pi y),   a = 1 + 0.4 sin(pi x) cos(pi y)   (so 0.6 <= a <= 1.4),
            f = -(a Δu + grad a · grad u) with Δu = -2 pi^2 u

Identifiability: with u known, a solves the transport equation grad u · grad a + Δu a = -f along the
gradient lines of u, which all start at u's single maximum (1/2, 1/2), where a Δu = -f fixes a; so u determines
a everywhere without a boundary condition on a.
"""

import math

import torch

import kanpde as kp

PI = math.pi
N_OBS = 500

DOMAIN = kp.Rectangle((0.0, 0.0), (1.0, 1.0))


def exact_u(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def exact_a(x: torch.Tensor) -> torch.Tensor:
    return 1 + 0.4 * torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -(a Δu + a_x u_x + a_y u_y), shape (N,)."""
    sx, cx = torch.sin(PI * x[:, 0]), torch.cos(PI * x[:, 0])
    sy, cy = torch.sin(PI * x[:, 1]), torch.cos(PI * x[:, 1])
    a = 1 + 0.4 * sx * cy
    a_x, a_y = 0.4 * PI * cx * cy, -0.4 * PI * sx * sy
    u_x, u_y = PI * cx * sy, PI * sx * cy
    return -(a * (-2 * PI**2 * sx * sy) + a_x * u_x + a_y * u_y)


def residual(x: torch.Tensor, u: kp.Fields) -> torch.Tensor:
    U, A = u["u"], u["a"]
    return -(A.value * U.laplacian() + A.d("x") * U.d("x") + A.d("y") * U.d("y")) - source(x)


OBS_X = DOMAIN.sample_interior(N_OBS, sampler="sobol", seed=5, dtype=torch.float64)

problem = kp.Problem(
    domain=DOMAIN,
    residual=residual,
    fields=("u", "a"),
    conditions=[kp.Dirichlet(0.0, field="u"), kp.Data(OBS_X, exact_u(OBS_X), field="u")],
    exact={"u": exact_u, "a": exact_a},
    name="poisson_inverse_field",
)
