r"""PINNacle Heat2d-LT: a nonlinear heat equation over a long time (PINNacle ``heat.Heat2D_LongTime``).

PDE:        u_t = 0.001 (u_xx + u_yy) + 5 sin(k u^2) (1 + 2 sin(pi t / 4)) sin(m1 pi x) sin(m2 pi y),
            k = 1, m1 = 4, m2 = 2
Domain:     [0, 1]^2 x [0, 100] in (x, y, t)
Conditions: u = 0 on the sides of the square;   u(x, y, 0) = sin(4 pi x) sin(3 pi y)
Truth:      no closed form; the reference is PINNacle's COMSOL solution ``heat_longtime.dat`` (192 nodes at
            the 501 times t = 0, 0.2, ..., 100: 96 192 points)

What happens: within t ~ 1 the source drives u to its stable values (u^2 = pi where the source's sign
is positive, hence |u| <= sqrt(pi) = 1.7725), after which the solution changes slowly. A network on the whole
100 time units must hold a fast start and a long quasi-steady stretch at once; every method PINNacle
tried ends at L2RE ~1, and so do kanpde's marched windows (:func:`kanpde.march`, ``make_problem(windows=10)``).
Recommended here: implicit Runge-Kutta steps with a network of space (:func:`kanpde.discrete_time`, ``kanpde
solve --time-steps``): 500 three-stage Radau IIA steps of 0.2, each 30 Levenberg-Marquardt iterations from the
previous step's network, a KAN [2, 10, 3] of grid 20 holding the three stage values, damped by Marquardt's
rule (``lm_scaling="marquardt"``: with the default damping its fit to the initial value stalls). In the
PINNacle table's 5400 s it solved the task to L2RE 7.6e-2 and 9.8e-2 over the 100 time units (seeds 0 and 1;
``results/pinnacle.md``, ``benchmarks/pinnacle_notes.md``), 10x below PINNacle's best. The side values are
imposed exactly (``u = φ N``).

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/heat.py``, class ``Heat2D_LongTime``),
published best L2RE 9.99e-1. The data folder: ``make_problem(data=FOLDER)``, else ``$KANPDE_PINNACLE_DATA``,
else ``../shared/pinnacle`` beside the repository; without the file the problem loads without a reference.
"""

import math
from pathlib import Path

import torch

import kanpde as kp

PI = math.pi
K, M1, M2 = 1.0, 4, 2
T_END = 100.0
DATA = Path(__file__).resolve().parents[2] / "shared" / "pinnacle"
ENV = "KANPDE_PINNACLE_DATA"
FILE = "heat_longtime.dat"


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, y, 0) = sin(4 pi x) sin(3 pi y), shape (N,)."""
    return torch.sin(4 * PI * x[:, 0]) * torch.sin(3 * PI * x[:, 1])


def forcing(x: torch.Tensor) -> torch.Tensor:
    """(1 + 2 sin(pi t / 4)) sin(m1 pi x) sin(m2 pi y), shape (N,)."""
    return (
        (1 + 2 * torch.sin(0.25 * PI * x[:, 2])) * torch.sin(M1 * PI * x[:, 0]) * torch.sin(M2 * PI * x[:, 1])
    )


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt() - 0.001 * u.laplacian() - 5 * torch.sin(K * u.value**2) * forcing(x)


def make_problem(
    data: str | Path | None = None, t_end: float = T_END, windows: int = 0, time_steps: int = 500
) -> kp.Problem:
    """The problem on ``[0, t_end]`` with the reference from the folder ``data`` (module docstring),
    recommending ``time_steps`` implicit Runge-Kutta steps; ``windows`` > 0 recommends that many marching
    windows of a network of space and time instead (the marched rows of ``benchmarks/pinnacle_notes.md``)."""
    path = kp.find_data_file(FILE, data, env=ENV, default=DATA)
    reference = None
    if path is not None:
        reference = kp.Reference.load(path)
        if t_end < T_END:
            reference = reference.between(0.0, t_end + 1e-9)
    if windows:
        recommended = {"model": "kan", "width": (3, 8, 1), "grid": 5, "grids": (5,), "steps": 1000}
        recommended |= {"n_interior": 1500, "n_boundary": 300, "n_initial": 500, "windows": windows}
    else:
        recommended = {"model": "kan", "width": (2, 10, 3), "grid": 20, "grids": (20,), "steps": 30}
        recommended |= {"lm_scaling": "marquardt"}
        recommended |= {"n_interior": 1000, "time_steps": time_steps, "stages": 3, "fit_steps": 200}
    return kp.Problem(
        domain=kp.SpaceTime(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), t=(0.0, float(t_end))),
        residual=residual,
        conditions=[kp.Dirichlet(0.0, hard=True), kp.Initial(initial)],
        reference=reference,
        name="pinnacle_heat2d_lt",
        recommended=recommended,
    )


problem = make_problem()
