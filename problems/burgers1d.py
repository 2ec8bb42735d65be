r"""Viscous Burgers equation with a shock forming at x = 0: the classic PINN benchmark (Raissi et al. 2019).

PDE:        u_t + u u_x = nu u_xx,   nu = 0.01 / pi,   x in (-1, 1), t in (0, 1]
Domain:     [-1, 1] x [0, 1] in (x, t)
Conditions: u(-1, t) = u(1, t) = 0;   u(x, 0) = -sin(pi x)
Truth:      no closed form; the reference is the Cole-Hopf solution evaluated by quadrature here
            (:func:`cole_hopf`) on a 256 x 101 grid of x in [-1, 1] and t in [0, 1].

Cole-Hopf: u = -2 nu phi_x / phi with phi_t = nu phi_xx and phi(y, 0) = exp(-cos(pi y) / (2 pi nu)), so
    u(x, t) = - ∫ sin(pi y) phi(y, 0) G(x - y) dy / ∫ phi(y, 0) G(x - y) dy,   G(s) = exp(-s^2 / (4 nu t)).
Quadrature: y = x - sqrt(4 nu t) z with z on 401 uniform nodes of [-16, 16] (the trapezoid rule is spectrally
accurate for this smooth, rapidly decaying integrand; the exponent is shifted by its maximum so that nothing
overflows although phi(., 0) spans e^{+-50}); 401 and 8001 nodes agree to 2e-15. tests/test_burgers.py checks the
PDE by finite differences.

Recommended model: a tanh MLP [2, 20, 20, 20, 1] (``kanpde solve burgers1d`` uses it). With the solver's
Levenberg-Marquardt defaults it reaches a relative L2 of about 1e-3; every KAN we tried (KAN [2, 10, 1],
[2, 8, 8, 1], [2, 16, 1] on grids to 40; with residual-driven resampling, residual knots, causal weights,
exact boundary values, Adam before LM) settles at 0.06-0.3 with the shock displaced from x = 0, and LM stops
there; the best, KAN [2, 5, 5, 5, 1] with causal weights (ε = 100), ends at 4.2e-2 (``results/accuracy.md``). Not for want of representation: KAN [2, 10, 1] fits the reference values
themselves to 5.8e-4, but its Burgers residual there is large (the splines do not resolve u_xx across a shock
about 0.0075 wide) and the PINN loss started from that fit moves the shock (``results/burgers_kan.md``).

A KAN recipe that works (``benchmarks/burgers_kan.py``, ``results/burgers_kan.md``): viscosity continuation,
one Levenberg-Marquardt solve each for nu = 0.05/pi, 0.02/pi and 0.01/pi from the network of the one
before, on grids that grow to 40 with knots inserted where the residual is large, the last solve on 4000
points resampled from the residual every 20 steps (RAD), and the symmetry condition u(0, t) = 0 (exact: the
initial value is odd and the equation is unchanged under x -> -x, u -> -u), which holds the shock at x = 0.
KAN [2, 5, 5, 5, 1] reaches 1.7e-4 in 295 s on 1 thread (recipe D) and 9.9e-5 in 446 s with 100 instead
of 60 steps a grid in the last solve (recipe E). Without the symmetry
condition the shock ends a fraction of its width off (3.2e-2); without RAD 1.1e-3. It takes three solves,
so it is a recipe, not this problem's recommended settings.
"""

import math

import numpy as np
import torch

import kanpde as kp

PI = math.pi
NU = 0.01 / PI
NODES = 401
HALF_WIDTH = 16.0


def cole_hopf(x: np.ndarray, t: np.ndarray, nu: float = NU, nodes: int = NODES) -> np.ndarray:
    """u(x, t) of the Cole-Hopf formula for arrays ``x``, ``t`` of one shape (t = 0 gives -sin(pi x))."""
    x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    out = -np.sin(PI * x)  # t = 0
    z = np.linspace(-HALF_WIDTH, HALF_WIDTH, nodes)  # (K,)
    flat_x, flat_t, flat_out = x.reshape(-1), t.reshape(-1), out.reshape(-1)
    for start in range(0, flat_x.size, 4096):
        xs, ts = flat_x[start : start + 4096], flat_t[start : start + 4096]
        live = ts > 0
        if not live.any():
            continue
        y = xs[live, None] - np.sqrt(4 * nu * ts[live, None]) * z  # (n, K)
        exponent = -np.cos(PI * y) / (2 * PI * nu) - z**2  # log of phi(y, 0) G(x - y)
        weight = np.exp(exponent - exponent.max(axis=1, keepdims=True))  # (n, K)
        values = -(np.sin(PI * y) * weight).sum(axis=1) / weight.sum(axis=1)
        chunk = flat_out[start : start + 4096]
        chunk[live] = values
        flat_out[start : start + 4096] = chunk
    return flat_out.reshape(x.shape)


def reference() -> kp.Reference:
    """The Cole-Hopf solution on 256 x 101 nodes of [-1, 1] x [0, 1]."""
    x, t = np.meshgrid(np.linspace(-1.0, 1.0, 256), np.linspace(0.0, 1.0, 101), indexing="ij")
    points = np.stack([x.reshape(-1), t.reshape(-1)], axis=1)  # (25856, 2)
    return kp.Reference(points, cole_hopf(points[:, 0], points[:, 1]), source="Cole-Hopf quadrature")


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.dt() + u.value * u.d("x") - NU * u.d("x", "x")


problem = kp.Problem(
    domain=kp.SpaceTime(kp.Interval(-1.0, 1.0), t=(0.0, 1.0)),
    residual=residual,
    conditions=[kp.Dirichlet(0.0), kp.Initial(lambda x: -torch.sin(PI * x[:, 0]))],
    reference=reference(),
    name="burgers1d",
    recommended={"model": "mlp", "width": (2, 20, 20, 20, 1)},
)
