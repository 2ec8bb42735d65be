r"""Euler-Bernoulli beam under a uniform load, clamped at both ends: a fourth-order equation.

PDE:        u''''(x) = 1,   x in (0, 1)        (bending stiffness EI = 1, load q = 1)
Domain:     [0, 1]
Conditions: clamped ends: u(0) = u(1) = 0 (Dirichlet) and u'(0) = u'(1) = 0 (Neumann, zero slope)
Exact:      u(x) = x^2 (1 - x)^2 / 24

Check: x^2 (1 - x)^2 = x^2 - 2 x^3 + x^4 has fourth derivative 24; u and u' = x (1 - x)(1 - 2x) / 12
vanish at both ends.

A fourth derivative in the residual: ``u.d("x", order=4)`` (forward jets carry truncated Taylor series, see
``kanpde.taylor``). A KAN needs splines of order ``k >= 4`` here, so that ``u'''`` is continuous: with cubic
splines (``k = 3``) ``u'''`` of a deep KAN jumps at the knots and the residual, read between knots, cannot
see it. The solution is small (at most 1/384), so a relative error of 1e-6 asks for absolute errors near
1e-9. Measured with Levenberg-Marquardt on 100 interior points (``tests/test_high_order.py``): one KAN edge
of degree 4, ``kp.KAN([1, 1], grid=3, k=4)``, holds the quartic and reaches 5e-15 in 20 steps; deeper
networks converge slowly: KAN [1, 2, 1] with k = 5, 4.7e-7 after 400 steps; tanh MLP [1, 8, 8, 1], 6.3e-7
after 800.
"""

import torch

import kanpde as kp


def exact(x: torch.Tensor) -> torch.Tensor:
    """u(x) = x^2 (1 - x)^2 / 24, shape (N,)."""
    s = x[:, 0]
    return s**2 * (1 - s) ** 2 / 24


def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
    return u.d("x", order=4) - 1.0


problem = kp.Problem(
    domain=kp.Interval(0.0, 1.0),
    residual=residual,
    conditions=[kp.Dirichlet(0.0), kp.Neumann(0.0)],
    exact=exact,
    name="beam1d",
)
