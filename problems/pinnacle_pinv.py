r"""PINNacle PInv: identify the coefficient a(x, y) of a Poisson equation from noisy values of u (PINNacle
``inverse.PoissonInv``).

PDE:        div(a grad u) + f = 0   in (0, 1)^2,   i.e.  a Δu + a_x u_x + a_y u_y + f = 0
            f = 2 pi^2 sin(pi x) sin(pi y) a* + 2 pi ((2x + 1) cos(pi x) sin(pi y) + (2y + 1) sin(pi x) cos(pi y)) a*^2
Domain:     [0, 1]^2;  two fields: u and the coefficient a
Conditions: a = a* on the boundary;  observations of u at the 50 x 50 grid of [0, 1]^2 (end points included)
            with additive Gaussian noise of standard deviation 0.1 (seeded here: NumPy seed 0)
Exact:      u* = sin(pi x) sin(pi y),   a* = 1 / (1 + x^2 + y^2 + (x - 1)^2 + (y - 1)^2)

**PINNacle's f does not match u*, a*.** With D = 1 + x^2 + y^2 + (x - 1)^2 + (y - 1)^2, a*_x = -(4x - 2) a*^2,
so div(a* grad u*) = -2 pi^2 a* u* - pi a*^2 ((4x - 2) cos(pi x) sin(pi y) + (4y - 2) sin(pi x) cos(pi y)): the
source that u*, a* satisfy has 2 (2x - 1) where PINNacle's has 2 (2x + 1) (and the same in y). The residual of
(u*, a*) in PINNacle's equation is 4 pi a*^2 (cos(pi x) sin(pi y) + sin(pi x) cos(pi y)), up to 4 pi / 9 in size.
``make_problem()`` states the problem as PINNacle does (its L2RE is measured against u*, a*, which then are
not the exact solution); ``make_problem(source="consistent")`` uses the source u*, a* satisfy.

The metric: relative L2 over u and a together (PINNacle's L2RE of its two outputs). The boundary values of a
are imposed exactly: ``a = ℓ + φ N_a`` with ℓ a*'s side values blended into the square (a Coons patch,
:func:`lift_a`; it holds no interior value of a*).

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/inverse.py``, class ``PoissonInv``),
published best L2RE 2.45e-2.
"""

import math

import numpy as np
import torch

import kanpde as kp

PI = math.pi
NOISE = 0.1
SOURCES = ("pinnacle", "consistent")


def exact_u(x: torch.Tensor) -> torch.Tensor:
    """u* = sin(pi x) sin(pi y), shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def exact_a(x: torch.Tensor) -> torch.Tensor:
    """a* = 1 / (1 + x^2 + y^2 + (x - 1)^2 + (y - 1)^2), shape (N,)."""
    X, Y = x[:, 0], x[:, 1]
    return 1 / (1 + X**2 + Y**2 + (X - 1) ** 2 + (Y - 1) ** 2)


def lift_a(x: torch.Tensor) -> torch.Tensor:
    """a*'s values on the sides of the square blended into it (a Coons patch of the side values only), (N,)."""
    X, Y = x[:, 0], x[:, 1]

    def side(px, py):
        return exact_a(torch.stack([px, py], dim=1))

    zero, one = torch.zeros_like(X), torch.ones_like(X)
    edges = (1 - X) * side(zero, Y) + X * side(one, Y) + (1 - Y) * side(X, zero) + Y * side(X, one)
    corners = (
        (1 - X) * (1 - Y) * side(zero, zero)
        + X * (1 - Y) * side(one, zero)
        + (1 - X) * Y * side(zero, one)
        + X * Y * side(one, one)
    )
    return edges - corners


def forcing(x: torch.Tensor, kind: str = "pinnacle") -> torch.Tensor:
    """f of the module docstring (``kind="pinnacle"``) or the one u*, a* satisfy (``"consistent"``), (N,)."""
    X, Y = x[:, 0], x[:, 1]
    a = exact_a(x)
    sx, cx, sy, cy = torch.sin(PI * X), torch.cos(PI * X), torch.sin(PI * Y), torch.cos(PI * Y)
    shift = 1.0 if kind == "pinnacle" else -1.0
    return 2 * PI**2 * sx * sy * a + 2 * PI * ((2 * X + shift) * cx * sy + (2 * Y + shift) * sx * cy) * a**2


def observations(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2500 noisy observations of u on the 50 x 50 grid: points (2500, 2), values (2500,)."""
    g = np.linspace(0.0, 1.0, 50)
    gx, gy = np.meshgrid(g, g, indexing="ij")
    x = torch.as_tensor(np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1))  # (2500, 2)
    noise = torch.as_tensor(np.random.default_rng(seed).normal(0.0, NOISE, size=x.shape[0]))
    return x, exact_u(x) + noise


def make_problem(source: str = "pinnacle", seed: int = 0, residual_weight: float = 1.0) -> kp.Problem:
    """The problem with PINNacle's source or the consistent one (module docstring); ``seed`` draws the
    observation noise; ``residual_weight`` weighs the PDE's mean squared residual against the data's."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    kind = source

    def residual(x: torch.Tensor, f: kp.Fields) -> torch.Tensor:
        u, a = f["u"], f["a"]
        return a.value * u.laplacian() + a.d("x") * u.d("x") + a.d("y") * u.d("y") + forcing(x, kind)

    obs_x, obs_u = observations(seed)
    return kp.Problem(
        domain=kp.Rectangle((0.0, 0.0), (1.0, 1.0)),
        residual=residual,
        fields=("u", "a"),
        conditions=[kp.Dirichlet(lift_a, hard=True, field="a"), kp.Data(obs_x, obs_u, field="u")],
        exact={"u": exact_u, "a": exact_a},
        name="pinnacle_pinv",
        residual_weight=residual_weight,
        recommended={"model": "kan", "width": (2, 10, 2), "grid": 5, "grids": (5, 10, 20), "steps": 600},
    )


problem = make_problem()
