"""Approximate distance functions: zero exactly on their boundary part, positive elsewhere, smooth inside."""

from __future__ import annotations

import math

import pytest
import torch

import kanpde as kp
from kanpde.geometry import DistanceFunction

F64 = torch.float64
SQUARE = kp.Rectangle((-0.5, -0.5), (0.5, 0.5))
HOLES = [kp.Disk((0.3, 0.3), 0.1), kp.Disk((-0.3, 0.3), 0.1)]
WITH_HOLES = SQUARE - HOLES[0] - HOLES[1]
BUMP = kp.Disk((0.5, 0.0), 0.25)
UNION = SQUARE | BUMP
LSHAPE = kp.Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)])
LENS = kp.Disk((0.0, 0.0), 1.0) & kp.Disk((1.0, 0.0), 1.0)
CUBE_BALL = kp.Box((0, 0, 0), (1, 1, 1)) - kp.Ball((0.5, 0.5, 0.5), 0.3)
BOX3 = kp.Box((0, 0, 0), (1, 2, 3))
INNER = kp.Rectangle((-0.1, -0.2), (0.2, 0.1))
BOX_HOLE = SQUARE - INNER  # a box subtracted: its product form would vanish on its faces' extensions
# the result lies inside none of a disjoint union's operands; K in S - (H - K) is subtracted twice but the
# result is not inside it: their own functions (negative outside them) must not be used
BOX_PAIR = kp.Rectangle((0, 0), (1, 1)) | kp.Rectangle((2, 0.5), (3, 1.5))
BALL_PAIR = kp.Disk((0, 0), 1) | kp.Disk((3, 0), 1)
NESTED = SQUARE - (kp.Disk((0, 0), 0.3) - kp.Disk((0, 0), 0.1))

# (id, domain, on, the complementary part of the boundary: where phi must stay positive)
CASES = [
    ("rect", SQUARE, None, None),
    ("rect-left", SQUARE, "left", ["right", "top", "bottom"]),
    ("box3-faces", BOX3, ["xmin", "zmax"], ["xmax", "ymin", "ymax", "zmin"]),
    ("ball4", kp.Ball((0.5,) * 4, 1.5), None, None),
    ("lshape", LSHAPE, None, None),
    ("holes", WITH_HOLES, None, None),
    ("holes-square", WITH_HOLES, SQUARE, HOLES),
    ("holes-holes", WITH_HOLES, HOLES, SQUARE),
    ("holes-one", WITH_HOLES, HOLES[0], [SQUARE, HOLES[1]]),
    ("union", UNION, None, None),
    ("union-square", UNION, SQUARE, BUMP),
    ("lens", LENS, None, None),
    ("lshape-hole", LSHAPE - kp.Disk((-0.5, -0.5), 0.25), kp.Disk((-0.5, -0.5), 0.25), LSHAPE),
    ("cube-ball", CUBE_BALL, None, None),
    ("box-hole", BOX_HOLE, None, None),
    ("box-hole-inner", BOX_HOLE, INNER, SQUARE),
    ("box-hole-outer", BOX_HOLE, SQUARE, INNER),
    ("box-pair", BOX_PAIR, None, None),
    ("ball-pair", BALL_PAIR, None, None),
    ("nested", NESTED, None, None),
    ("nested-island", NESTED, kp.Disk((0, 0), 0.1), [SQUARE, kp.Disk((0, 0), 0.3)]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("key", "domain", "on", "rest"), CASES, ids=IDS)
def test_zero_on_its_part_positive_elsewhere(key, domain, on, rest) -> None:
    phi = DistanceFunction(domain, on=on)
    xb, _ = domain.sample_boundary(300, on=on, seed=1)
    assert float(phi(xb).abs().max()) < 1e-12
    xi = domain.sample_interior(2000, seed=2)
    values = phi(xi)
    assert values.shape == (2000,) and values.dtype == F64
    assert float(values.min()) > 0.0
    if rest is not None:
        xr, _ = domain.sample_boundary(300, on=rest, seed=3)
        assert float(phi(xr).min()) > 0.0


def test_zero_set_is_the_result_boundary_not_the_operands() -> None:
    """On a union the square's side inside the bump is interior: the function must not vanish there."""
    y = torch.linspace(-0.2, 0.2, 9, dtype=F64)
    covered = torch.stack([torch.full_like(y, 0.5), y], dim=1)
    assert float(DistanceFunction(UNION, on=SQUARE)(covered).min()) > 1e-4
    assert float(DistanceFunction(UNION)(covered).min()) > 1e-4
    # on a difference, the parts of the hole's circle outside the square are not in the domain anyway;
    # the square's sides inside a hole that pokes out are not boundary of the result either
    bite = SQUARE - kp.Disk((0.5, 0.0), 0.2)
    inside_bite = torch.tensor([[0.5, 0.0], [0.5, 0.1], [0.45, -0.05]], dtype=F64)
    assert float(DistanceFunction(bite, on=SQUARE)(inside_bite).min()) > 1e-3
    xb, _ = bite.sample_boundary(200, on=kp.Disk((0.5, 0.0), 0.2), seed=0)
    assert float(DistanceFunction(bite, on=kp.Disk((0.5, 0.0), 0.2))(xb).abs().max()) < 1e-12


@pytest.mark.parametrize(
    ("key", "domain", "on"),
    [("ball4", kp.Ball((0.5,) * 4, 1.5), None), ("lshape", LSHAPE, None), ("holes", WITH_HOLES, HOLES)]
    + [("union", UNION, None), ("lens", LENS, None)],
)
def test_normalised_to_first_order(key, domain, on) -> None:
    """phi(p - h n) = h + O(h^2) at boundary points p with outward normal n, away from corners (the
    sides of a square that no hole cuts carry the square's product form, which is not normalised)."""
    phi = DistanceFunction(domain, on=on)
    xb, normal = domain.sample_boundary(400, on=on, seed=4)
    corners = {
        "lshape": LSHAPE.vertices,
        "union": [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (0.5, 0.25), (0.5, -0.25)],
        "lens": [(0.5, math.sqrt(3) / 2), (0.5, -math.sqrt(3) / 2)],
    }.get(key, [])
    if corners:
        far = torch.cdist(xb, torch.tensor(corners, dtype=F64)).min(dim=1).values > 0.05
        xb, normal = xb[far], normal[far]
    h = 1e-6
    ratio = phi(xb - h * normal) / h
    torch.testing.assert_close(ratio, torch.ones_like(ratio), atol=2e-3, rtol=0)


def test_holes_inside_leave_the_outer_function_alone() -> None:
    """Holes that do not touch the square's sides do not change the square's function (trimming by them
    would put the holes' zero sets, and their curvature, into the domain): equal to the plain square's
    function, with the same bounded Laplacian next to the holes."""
    x = WITH_HOLES.sample_interior(3000, seed=6).requires_grad_(True)
    on_square = DistanceFunction(WITH_HOLES, on=SQUARE)(x)
    torch.testing.assert_close(on_square, DistanceFunction(SQUARE)(x), atol=1e-15, rtol=0)
    grad = torch.autograd.grad(on_square.sum(), x, create_graph=True)[0]  # (N, 2)
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2))
    assert (
        float(lap.abs().max()) <= 4.0 + 1e-9
    )  # the product form (1/4 - x²)(1/4 - y²)·4: Δφ = -4 + 8x² + 8y²
    # a hole that cuts a side still trims it: the square's function is not zero inside the bite
    bite = SQUARE - kp.Disk((0.5, 0.0), 0.2)
    assert float(DistanceFunction(bite, on=SQUARE)(torch.tensor([[0.45, 0.0]], dtype=F64))) > 1e-3


def test_a_subtracted_box_vanishes_on_its_faces_only() -> None:
    """The lines through a box hole's faces cross the domain: the function must not vanish there."""
    on_lines = torch.tensor([[0.4, 0.1], [-0.4, -0.2], [-0.1, 0.4], [0.2, -0.4]], dtype=F64)
    assert float(DistanceFunction(BOX_HOLE, on=INNER)(on_lines).min()) > 1e-3
    assert float(DistanceFunction(BOX_HOLE)(on_lines).min()) > 1e-3


def test_box_product_form() -> None:
    x = BOX3.sample_interior(500, seed=5)
    # one face: the exact distance; both faces of one axis: (x - lo)(hi - x)/(hi - lo)
    torch.testing.assert_close(DistanceFunction(BOX3, on="zmax")(x), 3 - x[:, 2], atol=1e-15, rtol=0)
    both = DistanceFunction(BOX3, on=["ymin", "ymax"])(x)
    torch.testing.assert_close(both, x[:, 1] * (2 - x[:, 1]) / 2, atol=1e-15, rtol=0)
    # all faces: a lower bound of the distance to the boundary, a polynomial of degree 6
    distance = torch.minimum(
        (x - 0).min(dim=1).values, (torch.tensor([1.0, 2.0, 3.0], dtype=F64) - x).min(dim=1).values
    )
    full = DistanceFunction(BOX3)(x)
    assert bool((full <= distance + 1e-15).all()) and bool((full > 0).all())
    expected = 0.25 * math.prod(
        x[:, a] * (hi - x[:, a]) / hi / (hi / 4) for a, hi in enumerate([1.0, 2.0, 3.0])
    )
    torch.testing.assert_close(full, expected, atol=1e-15, rtol=1e-13)


def test_ball_formula_and_spacetime_ignores_time() -> None:
    ball = kp.Ball((0.0, 1.0, 0.0), 2.0)
    x = ball.sample_interior(100, seed=0)
    c = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    torch.testing.assert_close(
        DistanceFunction(ball)(x), (4 - ((x - c) ** 2).sum(dim=1)) / 4, atol=1e-15, rtol=0
    )
    st = kp.SpaceTime(WITH_HOLES, t=(0.0, 3.0))
    xt = st.sample_interior(200, seed=0)
    phi_t = DistanceFunction(st, on=HOLES)
    torch.testing.assert_close(phi_t(xt), DistanceFunction(WITH_HOLES, on=HOLES)(xt[:, :2]), atol=0, rtol=0)
    shifted = xt.clone()
    shifted[:, 2] = 0.5
    torch.testing.assert_close(phi_t(shifted), phi_t(xt), atol=0, rtol=0)
    xb, _ = st.sample_boundary(50, on=HOLES, seed=0)
    assert float(phi_t(xb).abs().max()) < 1e-12


@pytest.mark.parametrize(
    ("key", "domain", "on"),
    [
        ("rect", SQUARE, None),
        ("ball4", kp.Ball((0.5,) * 4, 1.5), None),
        ("lshape", LSHAPE, None),
        ("holes", WITH_HOLES, None),
        ("holes-square", WITH_HOLES, SQUARE),
        ("union", UNION, None),
        ("lens", LENS, None),
        ("cube-ball", CUBE_BALL, None),
    ],
)
def test_smooth_second_order_autograd_matches_finite_differences(key, domain, on) -> None:
    phi = DistanceFunction(domain, on=on)
    x = domain.sample_interior(6, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(phi, (x,), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradgradcheck(phi, (x,), eps=1e-6, atol=1e-6)
    # the Laplacian from autograd against a central second difference
    x = domain.sample_interior(20, seed=7).requires_grad_(True)
    (grad,) = torch.autograd.grad(phi(x).sum(), x, create_graph=True)
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(x.shape[1]))
    h, x0 = 1e-4, x.detach()
    fd = sum(
        (phi(x0 + h * e) - 2 * phi(x0) + phi(x0 - h * e)) / h**2 for e in torch.eye(x.shape[1], dtype=F64)
    )
    torch.testing.assert_close(lap.detach(), fd, atol=1e-4 * max(1.0, float(fd.abs().max())), rtol=0)


def test_hard_constrained_function_equals_g_on_its_part_whatever_the_network() -> None:
    """u = g + phi N: equal to g on the Dirichlet part to 1e-12 for random networks N."""
    phi = DistanceFunction(WITH_HOLES, on=SQUARE)
    xb, _ = WITH_HOLES.sample_boundary(200, on=SQUARE, seed=0)

    def g(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(3 * x[:, 0]) + x[:, 1] ** 2

    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        w1, w2 = (
            torch.randn(2, 16, generator=gen, dtype=F64) * 5,
            torch.randn(16, 1, generator=gen, dtype=F64) * 5,
        )
        u = g(xb) + phi(xb) * (torch.tanh(xb @ w1) @ w2)[:, 0]
        assert float((u - g(xb)).abs().max()) < 1e-12


def test_float32_and_errors() -> None:
    x = WITH_HOLES.sample_interior(10, dtype=torch.float32)
    assert DistanceFunction(WITH_HOLES)(x).dtype == torch.float32
    with pytest.raises(TypeError, match="cannot be a mask callable"):
        DistanceFunction(SQUARE, on=lambda p: p[:, 0] < 0)
    with pytest.raises(ValueError, match="is not part of the domain"):
        DistanceFunction(WITH_HOLES, on=kp.Disk((0.0, 0.0), 0.1))
    with pytest.raises(ValueError, match="unknown face 'front'"):
        DistanceFunction(SQUARE, on="front")
    with pytest.raises(ValueError, match=r"shape \(N, 2\), got \(4, 3\)"):
        DistanceFunction(SQUARE)(torch.zeros(4, 3, dtype=F64))
    with pytest.raises(TypeError, match="domain must be a Domain"):
        DistanceFunction("square")
