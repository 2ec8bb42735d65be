r"""Poisson equation on a square with four circular holes (the geometry of PINNacle's Poisson benchmark).

PDE:        -Δu = f  in Ω,   f(x, y) = 2 pi^2 sin(pi x) cos(pi y) - e^{x + y}
Domain:     Ω = [-0.5, 0.5]^2 minus the four disks of radius 0.1 centred at (±0.3, ±0.3)
Conditions: u = exact on the square's sides (Dirichlet), imposed exactly: u = g + φ N with φ the square's
            distance function and g = kp.transfinite(exact, square), the transfinite interpolation of the
            side values (it reads the exact solution on the four sides only, nowhere inside);
            Robin u + ∂u/∂n = g on each circle, with n the outward normal of Ω (pointing into the hole,
            n = -(x - c) / 0.1 for the hole centred at c) and g = u + ∇u · n from the exact solution
Exact:      u(x, y) = sin(pi x) cos(pi y) + e^{x + y} / 2

The hard side condition is the choice that wins here (benchmarks/hard_soft.py, KAN [2, 10, 1], the same
points and schedule: relative L2 5.8e-8 hard against 1.0e-5 soft); `Dirichlet(exact, on=SQUARE)` is the
penalised form of the same condition.

Derivation: ∇u = (pi cos(pi x) cos(pi y) + e^{x+y}/2,  -pi sin(pi x) sin(pi y) + e^{x+y}/2) and
            Δu = -2 pi^2 sin(pi x) cos(pi y) + e^{x + y}.
"""

import math

import torch

import kanpde as kp

PI = math.pi
RADIUS = 0.1
CENTRES = [(0.3, 0.3), (-0.3, 0.3), (-0.3, -0.3), (0.3, -0.3)]

SQUARE = kp.Rectangle((-0.5, -0.5), (0.5, 0.5))
HOLES = [kp.Disk(c, RADIUS) for c in CENTRES]


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(pi x) cos(pi y) + e^{x + y} / 2, shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1]) + 0.5 * torch.exp(x[:, 0] + x[:, 1])


def exact_grad(x: torch.Tensor) -> torch.Tensor:
    """∇u, shape (N, 2)."""
    e = 0.5 * torch.exp(x[:, 0] + x[:, 1])
    ux = PI * torch.cos(PI * x[:, 0]) * torch.cos(PI * x[:, 1]) + e
    uy = -PI * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1]) + e
    return torch.stack([ux, uy], dim=1)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = -Δu, shape (N,)."""
    return 2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1]) - torch.exp(x[:, 0] + x[:, 1])


def hole_normal(x: torch.Tensor) -> torch.Tensor:
    """Outward normal of Ω on the circles, -(x - c) / |x - c| with c the nearest centre, shape (N, 2)."""
    centres = torch.tensor(CENTRES, dtype=x.dtype, device=x.device)  # (4, 2)
    offset = x[:, None, :] - centres[None, :, :]  # (N, 4, 2)
    nearest = torch.linalg.vector_norm(offset, dim=2).argmin(dim=1)  # (N,)
    rel = offset[torch.arange(x.shape[0], device=x.device), nearest]  # (N, 2)
    return -rel / torch.linalg.vector_norm(rel, dim=1, keepdim=True)


def robin_value(x: torch.Tensor) -> torch.Tensor:
    """g = u + ∂u/∂n on the circles, shape (N,)."""
    return exact(x) + (exact_grad(x) * hole_normal(x)).sum(dim=1)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() - source(x)


problem = kp.Problem(
    domain=SQUARE - HOLES[0] - HOLES[1] - HOLES[2] - HOLES[3],
    residual=residual,
    conditions=[
        kp.Dirichlet(value=kp.transfinite(exact, SQUARE), on=SQUARE, hard=True),
        kp.Robin(a=1.0, b=1.0, g=robin_value, on=HOLES),
    ],
    exact=exact,
    name="poisson_holes",
)
