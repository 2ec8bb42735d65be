r"""2-D heat equation with a source on the unit square.

PDE:        u_t = κ Δu + f,   (x, y) in (0, 1)^2, t in (0, 1],   κ = 0.1 by default,
            f(x, y, t) = (2 pi^2 κ - 1) e^{-t} sin(pi x) sin(pi y)
Domain:     [0, 1]^2 x [0, 1] in (x, y, t)
Conditions: u = 0 on the boundary of the square for all t;   u(x, y, 0) = sin(pi x) sin(pi y)
Exact:      u(x, y, t) = e^{-t} sin(pi x) sin(pi y)

Check: u_t = -u and Δu = -2 pi^2 u, so u_t - κ Δu = (2 pi^2 κ - 1) u = f. With κ = 0.1 the source is
about 0.97 u, so the solution decays at the moderate rate e^{-t} instead of e^{-2 pi^2 κ t}.
``make_problem(kappa=...)`` builds the same problem with another diffusivity.
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x, y, t) = e^{-t} sin(pi x) sin(pi y), shape (N,); columns x, y, t."""
    return torch.exp(-x[:, 2]) * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, y, 0) = sin(pi x) sin(pi y), shape (N,)."""
    return torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def make_problem(kappa: float = 0.1) -> kp.Problem:
    """The heat problem with diffusivity ``kappa`` > 0 (the exact solution does not change)."""
    if not kappa > 0:
        raise ValueError(f"kappa must be > 0, got {kappa!r}")

    def source(x: torch.Tensor) -> torch.Tensor:
        return (2 * PI**2 * kappa - 1) * exact(x)

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        return u.dt() - kappa * u.laplacian() - source(x)

    return kp.Problem(
        domain=kp.SpaceTime(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), t=(0.0, 1.0)),
        residual=residual,
        conditions=[kp.Dirichlet(value=0.0), kp.Initial(value=initial)],
        exact=exact,
        name="heat2d",
    )


problem = make_problem()
