r"""2-D Helmholtz equation, as in the jaxKAN / PINN benchmarks.

PDE:        Δu + k^2 u = q  in (-1, 1)^2,   k = 1,   a1 = 1,   a2 = 4,
            q(x, y) = (k^2 - (a1^2 + a2^2) pi^2) sin(a1 pi x) sin(a2 pi y) = (1 - 17 pi^2) sin(pi x) sin(4 pi y)
Domain:     [-1, 1]^2
Conditions: u = 0 on the whole boundary
Exact:      u(x, y) = sin(pi x) sin(4 pi y)

``make_problem(a1=..., a2=..., k=...)`` builds the family; integer a1, a2 keep the boundary values zero.
"""

import math

import torch

import kanpde as kp

PI = math.pi


def make_problem(a1: int = 1, a2: int = 4, k: float = 1.0) -> kp.Problem:
    """Helmholtz problem with exact solution sin(a1 pi x) sin(a2 pi y) and wave number ``k``."""
    if int(a1) != a1 or int(a2) != a2:
        raise ValueError(f"a1 and a2 must be integers for zero boundary values, got a1={a1!r} a2={a2!r}")

    def exact(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(a1 * PI * x[:, 0]) * torch.sin(a2 * PI * x[:, 1])

    def source(x: torch.Tensor) -> torch.Tensor:
        return (k**2 - (a1**2 + a2**2) * PI**2) * exact(x)

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        return u.laplacian() + k**2 * u.value - source(x)

    return kp.Problem(
        domain=kp.Rectangle((-1.0, -1.0), (1.0, 1.0)),
        residual=residual,
        conditions=[kp.Dirichlet(value=0.0)],
        exact=exact,
        name="helmholtz2d",
    )


problem = make_problem()
