r"""Heat equation with a source on the unit ball in d >= 3 dimensions (d = 3 by default).

PDE:        u_t = κ Δu + f,   x in the unit ball B of R^d, t in (0, 1],   κ = 0.1 by default
Domain:     B x [0, 1] with B = {|x| <= 1} (centre 0, radius 1), columns x, y, z, t (x1..xd, t for d > 3)
Conditions: u = 0 on the sphere |x| = 1 for all t;   u(x, 0) = v(x)
Exact:      u(x, t) = e^{-t} v(x),   v(x) = cos(pi s / 2) + x_1 (1 - s) / 2,   s = |x|^2

Derivation: with s = |x|^2, Δ cos(pi s / 2) = -pi d sin(pi s / 2) - pi^2 s cos(pi s / 2) and
            Δ (x_1 (1 - s)) = -(2 d + 4) x_1, so Δv = -pi d sin(pi s / 2) - pi^2 s cos(pi s / 2) - (d + 2) x_1;
            u_t = -u, hence f = u_t - κ Δu = -e^{-t} v - κ e^{-t} Δv.
v vanishes on the sphere (cos(pi / 2) = 0 and 1 - s = 0), and is not radial (the x_1 term).
``make_problem(dim=..., kappa=...)`` builds the problem in another dimension or with another diffusivity.
"""

import math

import torch

import kanpde as kp

PI = math.pi


def v(x: torch.Tensor) -> torch.Tensor:
    """v(x) = cos(pi s / 2) + x_1 (1 - s) / 2 on the spatial columns, shape (N,)."""
    s = (x**2).sum(dim=1)
    return torch.cos(0.5 * PI * s) + 0.5 * x[:, 0] * (1.0 - s)


def laplacian_v(x: torch.Tensor) -> torch.Tensor:
    """Δv on the spatial columns ``x`` (N, d), shape (N,)."""
    d = x.shape[1]
    s = (x**2).sum(dim=1)
    return -PI * d * torch.sin(0.5 * PI * s) - PI**2 * s * torch.cos(0.5 * PI * s) - (d + 2) * x[:, 0]


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x, t) = e^{-t} v(x), shape (N,); the last column is t."""
    return torch.exp(-x[:, -1]) * v(x[:, :-1])


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = v(x), shape (N,)."""
    return v(x[:, :-1])


def make_problem(dim: int = 3, kappa: float = 0.1) -> kp.Problem:
    """The heat problem on the unit ball of R^dim (dim >= 3) with diffusivity ``kappa`` > 0."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 3:
        raise ValueError(f"dim must be an int >= 3, got {dim!r}")
    if not kappa > 0:
        raise ValueError(f"kappa must be > 0, got {kappa!r}")

    def source(x: torch.Tensor) -> torch.Tensor:
        decay = torch.exp(-x[:, -1])
        return -decay * v(x[:, :-1]) - kappa * decay * laplacian_v(x[:, :-1])

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        return u.dt() - kappa * u.laplacian() - source(x)

    return kp.Problem(
        domain=kp.SpaceTime(kp.Ball(center=(0.0,) * dim, radius=1.0), t=(0.0, 1.0)),
        residual=residual,
        conditions=[kp.Dirichlet(value=0.0), kp.Initial(value=initial)],
        exact=exact,
        name="heat_ball",
    )


problem = make_problem()
