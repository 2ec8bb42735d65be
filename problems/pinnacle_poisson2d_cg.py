r"""PINNacle Poisson2d-CG: the Poisson-Boltzmann (Helmholtz-type) equation on a square with four circular holes
(PINNacle ``poisson.PoissonBoltzmann2D``).

PDE:        -Δu + k^2 u = f,   k = 8,   f(x, y) = A (mu1^2 + x^2 + mu2^2 + y^2) sin(mu1 pi x) sin(mu2 pi y),
            A = 10, mu = (1, 4)
Domain:     Ω = [-1, 1]^2 minus the disks of centre (0.5, 0.5) radius 0.2, (0.4, -0.4) radius 0.4,
            (-0.2, -0.7) radius 0.1 and (-0.6, 0.5) radius 0.3
Conditions: u = 0.2 on the square's sides;   u = 1 on the four circles
Truth:      no closed form; the reference is PINNacle's COMSOL solution ``poisson_boltzmann2d.dat`` (3236 nodes:
            x, y, u)

Both Dirichlet values are imposed exactly: u = g + φ N with φ the distance function of the whole boundary and
g = 0.2 + 0.8 φ_s / (φ_s + φ_c), φ_s the distance function of the square's sides and φ_c that of the circles
(g = 0.2 on the sides, where φ_s = 0, and 1 on the circles, where φ_c = 0; the circles keep clear of the sides,
so φ_s + φ_c > 0 on the closure of Ω).

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/poisson.py``, class ``PoissonBoltzmann2D``),
published best L2RE 1.43e-2. The data folder: ``make_problem(data=FOLDER)``, else ``$KANPDE_PINNACLE_DATA``,
else ``../shared/pinnacle`` beside the repository; without the file the problem loads without a reference.
"""

from pathlib import Path

import torch

import kanpde as kp

K, A, MU = 8.0, 10.0, (1.0, 4.0)
CIRCLES = [((0.5, 0.5), 0.2), ((0.4, -0.4), 0.4), ((-0.2, -0.7), 0.1), ((-0.6, 0.5), 0.3)]
SQUARE = kp.Rectangle((-1.0, -1.0), (1.0, 1.0))
HOLES = [kp.Disk(c, r) for c, r in CIRCLES]
DOMAIN = SQUARE - HOLES[0] - HOLES[1] - HOLES[2] - HOLES[3]
DATA = Path(__file__).resolve().parents[2] / "shared" / "pinnacle"
ENV = "KANPDE_PINNACLE_DATA"
PI = torch.pi


def source(x: torch.Tensor) -> torch.Tensor:
    """f = A (mu1^2 + x^2 + mu2^2 + y^2) sin(mu1 pi x) sin(mu2 pi y), shape (N,)."""
    X, Y = x[:, 0], x[:, 1]
    return A * (MU[0] ** 2 + X**2 + MU[1] ** 2 + Y**2) * torch.sin(MU[0] * PI * X) * torch.sin(MU[1] * PI * Y)


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return -u.laplacian() + K**2 * u.value - source(x)


class Lift:
    """g = 0.2 + 0.8 φ_s / (φ_s + φ_c): 0.2 on the square's sides, 1 on the circles, smooth inside."""

    def __init__(self) -> None:
        self.sides = kp.DistanceFunction(DOMAIN, on=SQUARE)
        self.circles = kp.DistanceFunction(DOMAIN, on=HOLES)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s, c = self.sides(x), self.circles(x)
        return 0.2 + 0.8 * s / (s + c)


def make_problem(data: str | Path | None = None, hard: bool = True) -> kp.Problem:
    """The problem with the reference from the folder ``data`` (module docstring); ``hard=False`` penalises
    the two Dirichlet conditions instead of imposing them."""
    path = kp.find_data_file("poisson_boltzmann2d.dat", data, env=ENV, default=DATA)
    if hard:
        conditions = [kp.Dirichlet(Lift(), hard=True)]
    else:
        conditions = [kp.Dirichlet(0.2, on=SQUARE), kp.Dirichlet(1.0, on=HOLES)]
    return kp.Problem(
        domain=DOMAIN,
        residual=residual,
        conditions=conditions,
        reference=kp.Reference.load(path) if path is not None else None,
        name="pinnacle_poisson2d_cg",
        recommended={"model": "mlp", "width": (2, 20, 20, 20, 1), "steps": 2000},
    )


problem = make_problem()
