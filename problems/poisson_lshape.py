r"""Laplace equation on the L-shaped domain with the corner singularity.

PDE:        -Δu = 0  in Ω
Domain:     the L-shape Ω = [-1, 1]^2 minus the quadrant (0, 1] x (0, 1], the polygon with vertices
            (-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1); re-entrant corner at (0, 0) with
            interior angle 3 pi / 2
Conditions: u = r^{2/3} sin(2θ/3) on the whole boundary (zero on the two edges that meet at (0, 0))
Exact:      u(r, θ) = r^{2/3} sin(2θ/3)

θ is the angle measured counter-clockwise from the edge (0, 0)-(0, 1), running from 0 on that edge
through the domain to 3 pi / 2 on the edge (0, 0)-(1, 0): θ = atan2(-x, y) taken in [0, 2 pi), so that its
branch cut lies along the removed quadrant's side and u is smooth (harmonic, as Re/Im of a power of z)
everywhere except at the corner, where ∇u ~ r^{-1/3} is singular. u is in H^{5/3 - ε} only, which is what
limits the accuracy of smooth approximations near the corner.

Recommended: a tanh MLP [2, 20, 20, 20, 1], 600 LM steps on 4000 interior and 800 boundary points
(``kanpde solve poisson_lshape`` uses them): 7.4e-4 in 150 s of one core. The KANs tried end at
5.8e-3 to 9.6e-3 (benchmarks/accuracy.py lists them): sums of univariate splines in x and y resolve the
r^{2/3} corner worse than the MLP's ridge functions.
"""

import math

import torch

import kanpde as kp

VERTICES = [(-1.0, -1.0), (1.0, -1.0), (1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (-1.0, 1.0)]


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = r^{2/3} sin(2θ/3), θ = atan2(-x, y) in [0, 2 pi), shape (N,)."""
    r2 = (x**2).sum(dim=1)
    theta = torch.remainder(torch.atan2(-x[:, 0], x[:, 1]), 2 * math.pi)
    return r2 ** (1.0 / 3.0) * torch.sin(2.0 * theta / 3.0)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian()


problem = kp.Problem(
    domain=kp.Polygon(VERTICES),
    residual=residual,
    conditions=[kp.Dirichlet(value=exact)],
    exact=exact,
    name="poisson_lshape",
    recommended={
        "model": "mlp",
        "width": (2, 20, 20, 20, 1),
        "steps": 600,
        "n_interior": 4000,
        "n_boundary": 800,
    },
)
