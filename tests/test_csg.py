"""CSG domains: interior and boundary sampling of differences, unions and intersections, on= shapes.

Every check uses an independent oracle: signed distances written here from the shapes' definitions
(boxes, circles), never the package's own.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.geometry import Difference, Intersection, Union

F64 = torch.float64
SAMPLER_NAMES = ["sobol", "random", "grid"]

SQUARE = kp.Rectangle((-0.5, -0.5), (0.5, 0.5))
HOLES = [kp.Disk((0.3, 0.3), 0.1), kp.Disk((-0.3, 0.3), 0.1)]
WITH_HOLES = SQUARE - HOLES[0] - HOLES[1]
BUMP = kp.Disk((0.5, 0.0), 0.25)
UNION = SQUARE | BUMP
LENS = kp.Disk((0.0, 0.0), 1.0) & kp.Disk((1.0, 0.0), 1.0)
L_CUT = kp.Polygon([(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)]) - kp.Disk((-0.5, -0.5), 0.25)
CUBE_BALL = kp.Box((0, 0, 0), (1, 1, 1)) - kp.Ball((0.5, 0.5, 0.5), 0.3)


def box_sdf(x: torch.Tensor, lo, hi) -> torch.Tensor:
    q = torch.maximum(torch.tensor(lo, dtype=F64) - x, x - torch.tensor(hi, dtype=F64))
    return torch.linalg.vector_norm(q.clamp(min=0), dim=1) + q.max(dim=1).values.clamp(max=0)


def ball_sdf(x: torch.Tensor, c, r: float) -> torch.Tensor:
    return torch.linalg.vector_norm(x - torch.tensor(c, dtype=F64), dim=1) - r


ORACLES = {
    "holes": lambda x: torch.maximum(
        box_sdf(x, (-0.5, -0.5), (0.5, 0.5)),
        -torch.minimum(ball_sdf(x, (0.3, 0.3), 0.1), ball_sdf(x, (-0.3, 0.3), 0.1)),
    ),
    "union": lambda x: torch.minimum(box_sdf(x, (-0.5, -0.5), (0.5, 0.5)), ball_sdf(x, (0.5, 0.0), 0.25)),
    "lens": lambda x: torch.maximum(ball_sdf(x, (0.0, 0.0), 1.0), ball_sdf(x, (1.0, 0.0), 1.0)),
    "l_cut": lambda x: torch.maximum(
        torch.minimum(box_sdf(x, (-1, -1), (1, 0)), box_sdf(x, (-1, -1), (0, 1))),
        -ball_sdf(x, (-0.5, -0.5), 0.25),
    ),
    "cube_ball": lambda x: torch.maximum(
        box_sdf(x, (0, 0, 0), (1, 1, 1)), -ball_sdf(x, (0.5, 0.5, 0.5), 0.3)
    ),
}
DOMAINS = {"holes": WITH_HOLES, "union": UNION, "lens": LENS, "l_cut": L_CUT, "cube_ball": CUBE_BALL}
# exact area / volume and boundary measure
LENS_ANGLE = 2 * math.acos(0.5)  # each arc of the lens subtends 2 pi / 3
EXACT = {
    "holes": (1 - 2 * math.pi * 0.01, 4 + 2 * 2 * math.pi * 0.1),
    "union": (1 + math.pi * 0.25**2 / 2, 4 - 0.5 + math.pi * 0.25),
    "lens": (2 * (LENS_ANGLE / 2 - math.sin(LENS_ANGLE) / 2), 2 * LENS_ANGLE),
    "l_cut": (3 - math.pi * 0.25**2, 8 + 2 * math.pi * 0.25),
    "cube_ball": (1 - 4 / 3 * math.pi * 0.3**3, 6 + 4 * math.pi * 0.3**2),
}


def fd_gradient(sdf, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    eye = torch.eye(x.shape[1], dtype=F64) * h
    return torch.stack([(sdf(x + e) - sdf(x - e)) / (2 * h) for e in eye], dim=1)


# ---------------------------------------------------------------------------------------------
# construction
# ---------------------------------------------------------------------------------------------


def test_operators_build_the_csg_classes() -> None:
    assert isinstance(WITH_HOLES, Difference) and isinstance(UNION, Union) and isinstance(LENS, Intersection)
    assert WITH_HOLES == SQUARE - kp.Disk((0.3, 0.3), 0.1) - kp.Disk((-0.3, 0.3), 0.1)
    assert hash(WITH_HOLES) == hash(SQUARE - HOLES[0] - HOLES[1])
    assert repr(UNION) == "(Rectangle(lo=(-0.5, -0.5), hi=(0.5, 0.5)) | Disk(center=(0.5, 0.0), radius=0.25))"
    assert WITH_HOLES.names == ("x", "y") and CUBE_BALL.names == ("x", "y", "z")
    assert WITH_HOLES.faces == ("boundary",)
    assert WITH_HOLES.leaves == (SQUARE, *HOLES)
    assert UNION.bounds() == ((-0.5, -0.5), (0.75, 0.5))
    assert LENS.bounds() == ((0.0, -1.0), (1.0, 1.0))
    assert WITH_HOLES.bounds() == SQUARE.bounds()


@pytest.mark.parametrize("key", list(DOMAINS))
def test_volume_and_boundary_measure_estimates(key: str) -> None:
    area, perimeter = EXACT[key]
    domain = DOMAINS[key]
    assert domain.volume() == pytest.approx(area, rel=2e-3)
    assert domain.measure("boundary") == pytest.approx(perimeter, rel=2e-3)


# ---------------------------------------------------------------------------------------------
# interior
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("key", list(DOMAINS))
def test_interior_inside_never_in_a_hole_exact_counts(key: str, sampler: str) -> None:
    domain, sdf = DOMAINS[key], ORACLES[key]
    for n in (1, 5, 333):
        x = domain.sample_interior(n, sampler=sampler, seed=2)
        assert x.shape == (n, domain.dim) and x.dtype == F64
        assert bool((sdf(x) < 0).all()), "an interior point outside the result (or in a hole)"
        assert bool(domain.contains(x).all())


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_interior_uniform_area_fractions(sampler: str) -> None:
    """Uniform in the result: the fraction in a region equals its share of the area (Monte Carlo error)."""
    x = WITH_HOLES.sample_interior(4000, sampler=sampler, seed=1)
    area = EXACT["holes"][0]
    upper = (1 / 2 - 2 * math.pi * 0.01) / area  # the upper half holds both holes
    left = (1 / 2 - math.pi * 0.01) / area
    assert float((x[:, 1] > 0).double().mean()) == pytest.approx(upper, abs=0.025)
    assert float((x[:, 0] < 0).double().mean()) == pytest.approx(left, abs=0.025)
    # area estimate from uniform samples: the fraction of the bounding box's uniform points inside
    box_points = SQUARE.sample_interior(20000, sampler=sampler, seed=3)
    estimate = float(WITH_HOLES.contains(box_points).double().mean())
    assert estimate == pytest.approx(area, abs=4 * math.sqrt(area * (1 - area) / 20000))


def test_interior_deterministic_and_seeded() -> None:
    a, b = WITH_HOLES.sample_interior(100, seed=7), WITH_HOLES.sample_interior(100, seed=7)
    assert torch.equal(a, b)
    assert float((a - WITH_HOLES.sample_interior(100, seed=8)).abs().max()) > 0.1
    assert torch.equal(WITH_HOLES.sample_interior(40, seed=7), a[:40])  # topping up keeps the first points
    x32 = WITH_HOLES.sample_interior(10, dtype=torch.float32)
    assert x32.dtype == torch.float32


# ---------------------------------------------------------------------------------------------
# boundary
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("key", list(DOMAINS))
def test_boundary_on_result_only_with_outward_unit_normals(key: str, sampler: str) -> None:
    domain, sdf = DOMAINS[key], ORACLES[key]
    for n in (1, 3, 400):
        x, normal = domain.sample_boundary(n, sampler=sampler, seed=4)
        assert x.shape == normal.shape == (n, domain.dim)
    assert float(sdf(x).abs().max()) < 1e-12, "a boundary point off the result's boundary"
    torch.testing.assert_close(torch.linalg.vector_norm(normal, dim=1), torch.ones(400, dtype=F64))
    torch.testing.assert_close(normal, fd_gradient(sdf, x), atol=1e-5, rtol=0)
    assert bool((sdf(x + 1e-6 * normal) > 0).all()) and bool((sdf(x - 1e-6 * normal) < 0).all())


def test_boundary_uniform_in_arc_length_and_hole_normals_point_into_holes() -> None:
    x, normal = WITH_HOLES.sample_boundary(4000, seed=0)
    perimeter = EXACT["holes"][1]
    for hole in HOLES:
        c = torch.tensor(hole.center, dtype=F64)
        on = (torch.linalg.vector_norm(x - c, dim=1) - 0.1).abs() < 1e-12
        assert int(on.sum()) / 4000 == pytest.approx(2 * math.pi * 0.1 / perimeter, abs=2e-3)
        torch.testing.assert_close(normal[on], -(x[on] - c) / 0.1, atol=1e-12, rtol=0)
        angle = torch.atan2(x[on, 1] - c[1], x[on, 0] - c[0])
        assert float(angle.mean()) == pytest.approx(0.0, abs=0.1)  # spread around the circle
        assert float(torch.cos(angle).mean()) == pytest.approx(0.0, abs=0.05)
    on_square = box_sdf(x, (-0.5, -0.5), (0.5, 0.5)).abs() < 1e-15
    assert int(on_square.sum()) / 4000 == pytest.approx(4 / perimeter, abs=2e-3)


def test_union_drops_the_covered_boundary() -> None:
    x, normal = UNION.sample_boundary(2000, seed=1)
    covered = (x[:, 0] == 0.5) & (x[:, 1].abs() < 0.25)  # the square's side inside the bump
    assert int(covered.sum()) == 0
    arc = (ball_sdf(x, (0.5, 0.0), 0.25).abs() < 1e-12) & (x[:, 0] > 0.5)
    assert int(arc.sum()) / 2000 == pytest.approx(math.pi * 0.25 / EXACT["union"][1], abs=3e-3)


def test_shared_boundaries_are_sampled_once_and_interior_faces_dropped() -> None:
    a = kp.Rectangle((0, 0), (1, 1))
    side_by_side = a | kp.Rectangle((1, 0), (2, 1))  # the face x = 1 is interior
    x, _ = side_by_side.sample_boundary(600, seed=0)
    assert int(((x[:, 0] - 1).abs() < 1e-12).sum()) == 0
    assert side_by_side.measure("boundary") == pytest.approx(6.0, rel=1e-12)
    inner = a | kp.Rectangle((0.0, 0.0), (1.0, 0.5))  # the bottom edge belongs to both operands
    x, _ = inner.sample_boundary(800, seed=0)
    assert int((x[:, 1] == 0).sum()) == pytest.approx(200, abs=2)  # a quarter, not twice that
    half = a - kp.Rectangle((0.5, 0.0), (1.5, 1.0))  # keeps [0, 0.5] x [0, 1]
    x, normal = half.sample_boundary(300, seed=0)
    assert float(box_sdf(x, (0, 0), (0.5, 1)).abs().max()) < 1e-15
    right = x[:, 0] == 0.5
    assert int(right.sum()) == 100 and bool((normal[right] == torch.tensor([1.0, 0.0], dtype=F64)).all())


def test_interval_difference_has_four_boundary_points() -> None:
    gap = kp.Interval(0, 3) - kp.Interval(1, 2)
    x, normal = gap.sample_boundary(8, seed=0)
    pairs = sorted(zip(x[:, 0].tolist(), normal[:, 0].tolist(), strict=True))
    assert pairs == [(0.0, -1.0)] * 2 + [(1.0, 1.0)] * 2 + [(2.0, -1.0)] * 2 + [(3.0, 1.0)] * 2
    inside = gap.sample_interior(100, seed=0)
    assert bool((((inside > 0) & (inside < 1)) | ((inside > 2) & (inside < 3))).all())


# ---------------------------------------------------------------------------------------------
# on= shapes
# ---------------------------------------------------------------------------------------------


def test_on_shape_selects_exactly_that_part() -> None:
    x, normal = WITH_HOLES.sample_boundary(200, on=HOLES, seed=0)
    r = torch.stack([ball_sdf(x, h.center, 0.1) for h in HOLES], dim=1).abs().min(dim=1).values
    assert float(r.max()) < 1e-12
    x0, _ = WITH_HOLES.sample_boundary(100, on=HOLES[0], seed=0)
    assert float(ball_sdf(x0, (0.3, 0.3), 0.1).abs().max()) < 1e-12
    xs, ns = WITH_HOLES.sample_boundary(120, on=SQUARE, seed=0)
    assert float(box_sdf(xs, (-0.5, -0.5), (0.5, 0.5)).abs().max()) < 1e-15
    assert bool((ns.abs().sum(dim=1) == 1).all())  # axis normals of the square's sides
    # equal shapes built anew select the same part; the domain itself selects everything
    again, _ = WITH_HOLES.sample_boundary(100, on=kp.Disk((0.3, 0.3), 0.1), seed=0)
    assert torch.equal(again, x0)
    assert torch.equal(WITH_HOLES.sample_boundary(50, on=WITH_HOLES)[0], WITH_HOLES.sample_boundary(50)[0])
    # a compound operand: the boundary of (square - hole 0) that is the result's, none on hole 1
    xc, _ = WITH_HOLES.sample_boundary(300, on=SQUARE - HOLES[0], seed=0)
    assert float(ball_sdf(xc, (-0.3, 0.3), 0.1).abs().min()) > 1e-3
    assert int((ball_sdf(xc, (0.3, 0.3), 0.1).abs() < 1e-12).sum()) > 0
    # on the union, on=square gives the square's sides outside the bump only
    xu, _ = UNION.sample_boundary(200, on=SQUARE, seed=0)
    assert float(box_sdf(xu, (-0.5, -0.5), (0.5, 0.5)).abs().max()) < 1e-15
    assert float(ball_sdf(xu, (0.5, 0.0), 0.25).min()) >= -1e-12


def test_on_shape_in_conditions_and_spacetime() -> None:
    problem = kp.Problem(
        domain=WITH_HOLES,
        residual=lambda x, u: u.laplacian(),
        conditions=[kp.Dirichlet(1.0, on=SQUARE), kp.Dirichlet(0.0, on=HOLES)],
    )
    pts = problem.conditions[1].sample(WITH_HOLES, 64, "sobol", 0, F64, "cpu")
    assert bool((pts["target"] == 0).all())
    r = torch.stack([ball_sdf(pts["x"], h.center, 0.1) for h in HOLES], dim=1).abs().min(dim=1).values
    assert float(r.max()) < 1e-12
    st = kp.SpaceTime(WITH_HOLES, t=(0.0, 2.0))
    xt, nt = st.sample_boundary(100, on=HOLES[1], seed=1)
    assert xt.shape == (100, 3) and nt.shape == (100, 2)
    assert float(ball_sdf(xt[:, :2], (-0.3, 0.3), 0.1).abs().max()) < 1e-12
    assert float(xt[:, 2].min()) >= 0 and float(xt[:, 2].max()) <= 2 and float(xt[:, 2].std()) > 0.4
    xi = st.sample_interior(500, seed=1)
    assert bool((ORACLES["holes"](xi[:, :2]) < 0).all()) and float(xi[:, 2].std()) > 0.4
    x0 = st.sample_initial(50, seed=1)
    assert bool((x0[:, 2] == 0).all()) and bool((ORACLES["holes"](x0[:, :2]) < 0).all())
    xm, _ = st.sample_boundary(20, on=lambda p: p[:, 0] < 0)  # masks work on CSG results too
    assert bool((xm[:, 0] < 0).all())


def test_on_shape_not_in_the_domain() -> None:
    stranger = kp.Disk((0.0, 0.0), 0.1)
    with pytest.raises(
        ValueError, match=r"on=Disk\(center=\(0.0, 0.0\), radius=0.1\) is not part of the domain"
    ):
        WITH_HOLES.sample_boundary(10, on=stranger)
    with pytest.raises(ValueError, match="is not part of the domain"):
        kp.Problem(
            domain=WITH_HOLES,
            residual=lambda x, u: u.laplacian(),
            conditions=[kp.Dirichlet(0.0, on=[stranger])],
        )
    with pytest.raises(ValueError, match="is not part of the domain"):
        SQUARE.sample_boundary(10, on=HOLES[0])
    assert SQUARE.resolve_on(SQUARE) == SQUARE.faces  # a primitive's only shape is itself
    with pytest.raises(TypeError, match="a shape or a list of shapes"):
        kp.Dirichlet(0.0, on=[SQUARE, "left"]).validate(WITH_HOLES)
    with pytest.raises(ValueError, match="unknown face 'left'"):
        WITH_HOLES.sample_boundary(10, on="left")


# ---------------------------------------------------------------------------------------------
# errors, evaluation grid
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: kp.Disk((0, 0), 0.5) - SQUARE, ValueError, r"the difference .* is empty"),
        (lambda: SQUARE & kp.Disk((3, 3), 0.5), ValueError, r"the intersection .* is empty"),
        (lambda: SQUARE - kp.Ball((0, 0, 0), 0.2), ValueError, "same dimension, got 2"),
        (lambda: SQUARE - kp.SpaceTime(SQUARE), TypeError, r"stationary domains.*SpaceTime\(a - b"),
        (lambda: SQUARE - [HOLES[0]], TypeError, "combine one shape at a time"),
        (lambda: SQUARE | 3, TypeError, "must be a Domain"),
    ],
)
def test_bad_construction(make, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        make()


def test_selected_part_empty() -> None:
    covered = kp.Disk((0, 0), 0.2)
    domain = SQUARE | covered  # the small disk lies inside the square: none of its boundary remains
    with pytest.raises(ValueError, match="the selected part is empty"):
        domain.sample_boundary(10, on=covered)


def test_evaluation_grid_masks_the_holes() -> None:
    coords, mask = WITH_HOLES.evaluation_grid(201)
    assert mask.shape == (201, 201)
    assert mask.mean() == pytest.approx(EXACT["holes"][0], abs=0.01)
    x, y = np.meshgrid(*coords, indexing="ij")
    assert not mask[(np.hypot(x - 0.3, y - 0.3) < 0.09)].any()
