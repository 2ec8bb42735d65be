r"""1-D wave equation: a standing wave on a string fixed at both ends, released from rest.

PDE:        u_tt = c^2 u_xx,   x in (0, 1), t in (0, 1],   c = 1 (make_problem(c=...))
Domain:     [0, 1] x [0, 1] in (x, t)
Conditions: u(0, t) = u(1, t) = 0;   u(x, 0) = sin(pi x);   u_t(x, 0) = 0 (initial velocity)
Exact:      u(x, t) = sin(pi x) cos(pi c t)

Check: u_tt = -(pi c)^2 u and u_xx = -pi^2 u, so u_tt = c^2 u_xx; u_t = -pi c sin(pi x) sin(pi c t)
vanishes at t = 0.

Second order in time, so two initial conditions: the displacement ``kp.Initial(u0)`` and the velocity
``kp.Initial(0.0, derivative=1)``. Without the velocity condition the problem is not well posed (any
``sin(pi x) (cos(pi c t) + a sin(pi c t))`` fits the rest). Measured with Levenberg-Marquardt on 400
interior, 80 boundary and 80 + 80 initial points (``tests/test_high_order.py``): sine MLP [2, 16, 1] 3.7e-6
after 50 steps (two sine units hold ``sin(pi x) cos(pi t) = (sin(pi (x + t)) + sin(pi (x - t))) / 2``); tanh
MLP [2, 20, 20, 1] 4.2e-5 after 600 steps; KAN [2, 5, 1] on grids 5, 10, 20: 1.6e-4 after 600 steps.
"""

import math

import torch

import kanpde as kp

PI = math.pi


def make_problem(c: float = 1.0) -> kp.Problem:
    """The standing wave with wave speed ``c``."""

    def exact(x: torch.Tensor) -> torch.Tensor:
        """u(x, t) = sin(pi x) cos(pi c t), shape (N,); columns x, t."""
        return torch.sin(PI * x[:, 0]) * torch.cos(PI * c * x[:, 1])

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        return u.dt(2) - c**2 * u.d("x", "x")

    return kp.Problem(
        domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0)),
        residual=residual,
        conditions=[
            kp.Dirichlet(0.0),
            kp.Initial(lambda x: torch.sin(PI * x[:, 0])),
            kp.Initial(0.0, derivative=1),
        ],
        exact=exact,
        name="wave1d_standing",
    )


problem = make_problem()
