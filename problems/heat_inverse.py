r"""Heat equation with an unknown diffusivity kappa, identified from noisy observations of u.

PDE:        u_t = kappa u_xx,   x in (0, 1), t in (0, 1];   kappa unknown (true value 0.1)
Domain:     [0, 1] x [0, 1] in (x, t)
Conditions: u(0, t) = u(1, t) = 0;   u(x, 0) = sin(pi x);
            observations u_m = u(x_m, t_m) + e_m at 400 scattered points (a scrambled Sobol set, seed 7)
            with additive Gaussian noise of standard deviation 1% of max |u| (= 0.01; seeded, numpy seed 11)
Exact:      u(x, t) = e^{-kappa pi^2 t} sin(pi x),   kappa = 0.1

Check: u_t = -kappa pi^2 u = kappa u_xx. The unknown is bounded below by 0 (kappa = exp(r)), so the
optimisers move log kappa; it starts at 0.5.
"""

import math

import numpy as np
import torch

import kanpde as kp

PI = math.pi
KAPPA = 0.1
NOISE = 0.01
N_OBS = 400

DOMAIN = kp.SpaceTime(kp.Interval(0.0, 1.0), t=(0.0, 1.0))


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = e^{-kappa pi^2 t} sin(pi x), shape (N,); columns x, t."""
    return torch.exp(-KAPPA * PI**2 * x[:, 1]) * torch.sin(PI * x[:, 0])


def observations() -> tuple[torch.Tensor, torch.Tensor]:
    """The 400 noisy observations: points (M, 2) and values (M,), the same at every load."""
    x = DOMAIN.sample_interior(N_OBS, sampler="sobol", seed=7, dtype=torch.float64)
    noise = np.random.default_rng(11).normal(0.0, NOISE, size=N_OBS)
    return x, exact(x) + torch.as_tensor(noise)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt() - u.unknown("kappa") * u.d("x", "x")


OBS_X, OBS_U = observations()

problem = kp.Problem(
    domain=DOMAIN,
    residual=residual,
    unknowns=[kp.Unknown("kappa", 0.5, lower=0.0, exact=KAPPA)],
    conditions=[
        kp.Dirichlet(0.0),
        kp.Initial(lambda x: torch.sin(PI * x[:, 0])),
        kp.Data(OBS_X, OBS_U),
    ],
    exact=exact,
    name="heat_inverse",
)
