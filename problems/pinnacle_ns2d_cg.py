r"""PINNacle NS2d-CG: steady incompressible Navier-Stokes flow over a backward-facing step (PINNacle
``ns.NS2D_BackStep``, no obstacles).

PDE:        u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0
            u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0
            u_x + v_y = 0,   nu = 1/100
Domain:     the channel [0, 4] x [0, 2] without the block [0, 2] x [1, 2]: inlet x = 0, 0 < y < 1; the step's
            faces y = 1 (0 <= x <= 2) and x = 2 (1 <= y <= 2); outlet x = 4, 0 < y < 2
Conditions: inlet u = 4 y (1 - y), v = 0;   outlet p = 0 and u_y + v_x = 0 (see below);   every other wall
            u = v = 0 (no slip)
Truth:      no closed form; the reference is PINNacle's COMSOL solution ``ns_0_obstacle.dat`` (12 910 nodes:
            x, y, u, v, p)

**The outlet.** PINNacle imposes p = 0 alone there, which leaves the outlet velocity free: the strong-form
problem is under-determined, and a PINN that drives its loss down drifts away from the reference (an MLP at
6.9e-2 L2RE when its loss was 2.7e-5 and 9.6e-2 at 1.2e-6). COMSOL's outlet, which made the reference, is
traction-free: its tangential part nu (u_y + v_x) = 0 shows in the reference as v falling from 0.12 at
x = 3.9 to 0.03 at x = 3.99 where u_y ~ 1. ``make_problem()`` adds that relation (``kp.Boundary``) to
PINNacle's p = 0; ``make_problem(outlet="pinnacle")`` states PINNacle's conditions alone.

Fields u, v, p. The conditions are penalised (``hard=False``, the default: in calibration runs the exact
imposition below converged to a wrong flow, L2RE 1.7). ``hard=True`` imposes them exactly: u = g_u + φ_w N_u with
g_u = 4 y (1 - y) max(0, 1 - x/2)^3 (the inlet profile at x = 0, zero on every wall, C^2), v = φ_w N_v, and
p = φ_o N_p, where φ_w is the distance function of the inlet and the walls and φ_o that of the outlet. To give
them their own distance functions the domain is written as (R - B) ∩ O with R = [0, 4.5] x [0, 2],
B = [-1, 2] x [1, 3] (the step) and O = [-1, 4] x [-1, 3], whose only face on the boundary is the outlet:
the same set as the polygon (0, 0), (4, 0), (4, 2), (2, 2), (2, 1), (0, 1). ``hard=False`` penalises the
conditions on that polygon, the default.

Source: PINNacle (Hao et al. 2024, github i207M/PINNacle, ``src/pde/ns.py``, class ``NS2D_BackStep``;
``NSEquation_BackStep`` in older commits), published best L2RE 8.24e-2 (over u, v and p together). The data
folder: ``make_problem(data=FOLDER)``, else ``$KANPDE_PINNACLE_DATA``, else ``../shared/pinnacle`` beside the
repository; without the file the problem loads without a reference.
"""

from pathlib import Path

import torch

import kanpde as kp

NU = 1.0 / 100
CHANNEL = kp.Rectangle((0.0, 0.0), (4.5, 2.0))
STEP = kp.Rectangle((-1.0, 1.0), (2.0, 3.0))
OUTLET = kp.Rectangle((-1.0, -1.0), (4.0, 3.0))
POLYGON = kp.Polygon([(0.0, 0.0), (4.0, 0.0), (4.0, 2.0), (2.0, 2.0), (2.0, 1.0), (0.0, 1.0)])
DATA = Path(__file__).resolve().parents[2] / "shared" / "pinnacle"
ENV = "KANPDE_PINNACLE_DATA"
OUTLETS = ("traction", "pinnacle")


def inlet(x: torch.Tensor) -> torch.Tensor:
    """u = 4 y (1 - y), shape (N,)."""
    return 4 * x[:, 1] * (1 - x[:, 1])


def lift_u(x: torch.Tensor) -> torch.Tensor:
    """g_u = 4 y (1 - y) max(0, 1 - x/2)^3: the inlet profile at x = 0, zero on the walls, shape (N,)."""
    return inlet(x) * torch.clamp(1 - 0.5 * x[:, 0], min=0.0) ** 3


def residual(x: torch.Tensor, f: kp.Fields) -> dict:
    u, v, p = f["u"], f["v"], f["p"]
    U, V = u.value, v.value
    return {
        "momentum_x": U * u.d("x") + V * u.d("y") + p.d("x") - NU * u.laplacian(),
        "momentum_y": U * v.d("x") + V * v.d("y") + p.d("y") - NU * v.laplacian(),
        "continuity": u.d("x") + v.d("y"),
    }


def traction(x: torch.Tensor, f: kp.Fields, normal: torch.Tensor) -> torch.Tensor:
    """The tangential traction of the outlet over nu: u_y + v_x (zero on a traction-free outlet), (N,)."""
    return f["u"].d("y") + f["v"].d("x")


def at_outlet(x: torch.Tensor) -> torch.Tensor:
    return x[:, 0] > 4 - 1e-9


def _soft_conditions() -> list[kp.Condition]:
    def at_inlet(x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] < 1e-9

    def at_walls(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] > 1e-9) & (x[:, 0] < 4 - 1e-9)

    return [
        kp.Dirichlet(inlet, on=at_inlet, field="u"),
        kp.Dirichlet(0.0, on=at_inlet, field="v"),
        kp.Dirichlet(0.0, on=at_walls, field="u"),
        kp.Dirichlet(0.0, on=at_walls, field="v"),
        kp.Dirichlet(0.0, on=at_outlet, field="p"),
    ]


def make_problem(data: str | Path | None = None, hard: bool = False, outlet: str = "traction") -> kp.Problem:
    """The back-step flow with the reference from the folder ``data``; ``outlet="traction"`` adds the outlet's
    u_y + v_x = 0 to PINNacle's p = 0, ``"pinnacle"`` keeps p = 0 alone (module docstring)."""
    if outlet not in OUTLETS:
        raise ValueError(f"outlet must be one of {', '.join(OUTLETS)}, got {outlet!r}")
    path = kp.find_data_file("ns_0_obstacle.dat", data, env=ENV, default=DATA)
    if hard:
        domain = (CHANNEL - STEP) & OUTLET
        conditions = [
            kp.Dirichlet(lift_u, on=[CHANNEL, STEP], hard=True, field="u"),
            kp.Dirichlet(0.0, on=[CHANNEL, STEP], hard=True, field="v"),
            kp.Dirichlet(0.0, on=OUTLET, hard=True, field="p"),
        ]
    else:
        domain, conditions = POLYGON, _soft_conditions()
    if outlet == "traction":
        conditions.append(kp.Boundary(traction, on=at_outlet))
    return kp.Problem(
        domain=domain,
        residual=residual,
        fields=("u", "v", "p"),
        conditions=conditions,
        reference=kp.Reference.load(path, fields=("u", "v", "p")) if path is not None else None,
        name="pinnacle_ns2d_cg",
        recommended={
            "model": "mlp",
            "width": (2, 20, 20, 20, 3),
            "n_interior": 3000,
            "n_boundary": 1000,
            "steps": 2000,
        },
    )


problem = make_problem()
