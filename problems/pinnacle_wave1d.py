r"""PINNacle Wave1d-C: the 1-D wave equation with two standing modes (PINNacle ``wave.Wave1D``).

PDE:        u_tt = C^2 u_xx,   C = 2,   x in (0, 1), t in (0, 1]
Domain:     [0, 1] x [0, 1] in (x, t)
Conditions: u(0, t) = u(1, t) = 0 (PINNacle: the exact solution, which is zero there);
            u(x, 0) = sin(pi x) + 0.5 sin(4 pi x);   u_t(x, 0) = 0 (PINNacle: a zero Neumann condition on
            the face t = 0 of the (x, t) rectangle, i.e. -u_t = 0)
Exact:      u(x, t) = sin(pi x) cos(2 pi t) + 0.5 sin(4 pi x) cos(8 pi t)   (a = 4 in PINNacle's class)

Check: u_tt = -4 pi^2 sin(pi x) cos(2 pi t) - 32 pi^2 sin(4 pi x) cos(8 pi t) and
C^2 u_xx = 4 (-pi^2 sin(pi x) cos(2 pi t) - 8 pi^2 sin(4 pi x) cos(8 pi t)): equal.

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/wave.py``, class ``Wave1D``; ``WaveEquation1D``
in older commits), published best L2RE 9.79e-2. The boundary values are imposed exactly (``u = x (1 - x) N``:
they are zero). Recommended: see ``recommended`` below and ``results/pinnacle.md``.

Loss weights (a solver's choice, not part of the statement): the PDE's mean squared residual is weighted 1e-4
against the conditions' (``make_problem(residual_weight=...)``). At weight 1 every KAN and MLP we tried settled
on the first mode alone, L2RE 0.447 (the second mode's share of the norm, 0.5 / sqrt(1.25)): the second
mode's residual, u_tt ~ 32 pi^2, dwarfs the 0.5 sin(4 pi x) it leaves in the initial value.
"""

import math

import torch

import kanpde as kp

PI = math.pi
C = 2.0


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(pi x) cos(2 pi t) + 0.5 sin(4 pi x) cos(8 pi t), shape (N,); columns x, t."""
    X, T = x[:, 0], x[:, 1]
    return torch.sin(PI * X) * torch.cos(2 * PI * T) + 0.5 * torch.sin(4 * PI * X) * torch.cos(8 * PI * T)


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = sin(pi x) + 0.5 sin(4 pi x), shape (N,)."""
    return torch.sin(PI * x[:, 0]) + 0.5 * torch.sin(4 * PI * x[:, 0])


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt(2) - C**2 * u.d("x", "x")


def make_problem(residual_weight: float = 1e-4) -> kp.Problem:
    """The problem; ``residual_weight`` weighs the PDE's mean squared residual against the conditions'."""
    return kp.Problem(
        domain=kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0)),
        residual=residual,
        conditions=[
            kp.Dirichlet(0.0, hard=True),
            kp.Initial(initial),
            kp.Initial(0.0, derivative=1),
        ],
        exact=exact,
        name="pinnacle_wave1d",
        residual_weight=residual_weight,
        recommended={"model": "mlp", "width": (2, 20, 20, 20, 1), "steps": 2000},
    )


problem = make_problem()
