r"""1-D heat (diffusion) equation with a source, as in the jaxKAN benchmarks.

PDE:        u_t = u_xx + e^{-t} (pi^2 - 1) sin(pi x),   x in (0, 1), t in (0, 1]
Domain:     [0, 1] x [0, 1] in (x, t)
Conditions: u(0, t) = u(1, t) = 0;   u(x, 0) = sin(pi x)
Exact:      u(x, t) = e^{-t} sin(pi x)

Check: u_t = -e^{-t} sin(pi x), u_xx = -pi^2 e^{-t} sin(pi x), so u_t - u_xx = (pi^2 - 1) e^{-t} sin(pi x).
"""

import math

import torch

import kanpde as kp

PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x, t) = e^{-t} sin(pi x), shape (N,); columns x, t."""
    return torch.exp(-x[:, 1]) * torch.sin(PI * x[:, 0])


def source(x: torch.Tensor) -> torch.Tensor:
    """e^{-t} (pi^2 - 1) sin(pi x), shape (N,)."""
    return (PI**2 - 1) * exact(x)


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = sin(pi x), shape (N,)."""
    return torch.sin(PI * x[:, 0])


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt() - u.d("x", "x") - source(x)


problem = kp.Problem(
    domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0)),
    residual=residual,
    conditions=[kp.Dirichlet(value=0.0), kp.Initial(value=initial)],
    exact=exact,
    name="heat1d",
)
