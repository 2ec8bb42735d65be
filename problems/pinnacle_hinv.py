r"""PINNacle HInv: identify the diffusivity a(x, y) of a heat equation from noisy values of u (PINNacle
``inverse.HeatInv``).

PDE:        u_t = div(a grad u) + f   in (-1, 1)^2 x (0, 1],   i.e.  u_t - a Δu - a_x u_x - a_y u_y - f = 0
            f = e^{-t} ((4 pi^2 - 1) sin(pi x) sin(pi y)
                        + pi^2 (2 sin^2(pi x) sin^2(pi y) - cos^2(pi x) sin^2(pi y) - sin^2(pi x) cos^2(pi y)))
            and a_t = 0 (PINNacle's network for a takes no t; here a is a field of (x, y, t) held still in t by
            this second equation)
Domain:     [-1, 1]^2 x [0, 1] in (x, y, t);  two fields: u and the diffusivity a
Conditions: a = a* on the sides of the square;  observations of u at 2500 points (PINNacle's
            ``heatinv_points.dat``) with additive Gaussian noise of standard deviation 0.1 (seeded here: NumPy
            seed 0); no initial or boundary condition on u (as in PINNacle)
Exact:      u* = e^{-t} sin(pi x) sin(pi y),   a* = 2 + sin(pi x) sin(pi y)

Check: u*_t = -u*; a* Δu* = -2 pi^2 (2 + s_x s_y) s_x s_y e^{-t} and grad a* . grad u* = pi^2 (c_x^2 s_y^2 +
s_x^2 c_y^2) e^{-t} (s_x = sin(pi x), c_x = cos(pi x), ...), so u*_t - div(a* grad u*) = f.

Loss weights (a solver's choice): the PDE's mean squared residual is weighted 1e-2 against the data's
(``make_problem(residual_weight=...)``); at weight 1 the PDE's large terms (4 pi^2 u) drown the noisy data.

The metric: relative L2 over u and a together (PINNacle's L2RE of its two outputs). The boundary values of a
are imposed exactly: ``a = 2 + φ N_a`` (a* = 2 on the sides, where sin(pi x) sin(pi y) = 0). Without the data file (a clone without PINNacle's data) the
observation points are 2500 points drawn uniformly in the domain (NumPy seed 1), as the file's are.

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/inverse.py``, class ``HeatInv``),
published best L2RE 5.26e-2. The data folder: ``make_problem(data=FOLDER)``, else ``$KANPDE_PINNACLE_DATA``,
else ``../shared/pinnacle`` beside the repository.
"""

import math
from pathlib import Path

import numpy as np
import torch

import kanpde as kp

PI = math.pi
NOISE = 0.1
N_OBS = 2500
DATA = Path(__file__).resolve().parents[2] / "shared" / "pinnacle"
ENV = "KANPDE_PINNACLE_DATA"
FILE = "heatinv_points.dat"
SQUARE = kp.Rectangle((-1.0, -1.0), (1.0, 1.0))


def exact_u(x: torch.Tensor) -> torch.Tensor:
    """u* = e^{-t} sin(pi x) sin(pi y), shape (N,); columns x, y, t."""
    return torch.exp(-x[:, 2]) * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def exact_a(x: torch.Tensor) -> torch.Tensor:
    """a* = 2 + sin(pi x) sin(pi y), shape (N,)."""
    return 2 + torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


def source(x: torch.Tensor) -> torch.Tensor:
    """f of the module docstring, shape (N,)."""
    sx, cx = torch.sin(PI * x[:, 0]), torch.cos(PI * x[:, 0])
    sy, cy = torch.sin(PI * x[:, 1]), torch.cos(PI * x[:, 1])
    return torch.exp(-x[:, 2]) * (
        (4 * PI**2 - 1) * sx * sy + PI**2 * (2 * sx**2 * sy**2 - cx**2 * sy**2 - sx**2 * cy**2)
    )


def residual(x: torch.Tensor, f: kp.Fields) -> dict:
    u, a = f["u"], f["a"]
    flux = a.value * u.laplacian() + a.d("x") * u.d("x") + a.d("y") * u.d("y")
    return {"heat": u.dt() - flux - source(x), "a_steady": a.dt()}


def observation_points(data: str | Path | None = None) -> np.ndarray:
    """PINNacle's 2500 observation points (x, y, t) from its data file, else as many drawn uniformly, (2500, 3)."""
    path = kp.find_data_file(FILE, data, env=ENV, default=DATA)
    if path is not None:
        points = np.loadtxt(path, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"{path}: expected rows of x, y, t; got an array of shape {points.shape}")
        return points
    rng = np.random.default_rng(1)
    return np.concatenate([rng.uniform(-1.0, 1.0, (N_OBS, 2)), rng.uniform(0.0, 1.0, (N_OBS, 1))], axis=1)


def make_problem(data: str | Path | None = None, seed: int = 0, residual_weight: float = 1e-2) -> kp.Problem:
    """The problem with the observation points from the folder ``data`` (module docstring); ``seed`` draws
    the observation noise; ``residual_weight`` weighs the PDE's mean squared residual against the data's."""
    x = torch.as_tensor(observation_points(data))  # (M, 3)
    noise = torch.as_tensor(np.random.default_rng(seed).normal(0.0, NOISE, size=x.shape[0]))
    return kp.Problem(
        domain=kp.SpaceTime(SQUARE, t=(0.0, 1.0)),
        residual=residual,
        fields=("u", "a"),
        conditions=[kp.Dirichlet(2.0, hard=True, field="a"), kp.Data(x, exact_u(x) + noise, field="u")],
        exact={"u": exact_u, "a": exact_a},
        name="pinnacle_hinv",
        residual_weight=residual_weight,
        recommended={"model": "kan", "width": (3, 10, 2), "grid": 5, "grids": (5, 10), "steps": 2000},
    )


problem = make_problem()
