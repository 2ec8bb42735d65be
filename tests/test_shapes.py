"""Balls in d dimensions and simple polygons: uniform sampling, exact boundaries and normals, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.geometry import SAMPLERS, Ball, Disk, Polygon, SpaceTime

SAMPLER_NAMES = ["sobol", "random", "grid"]
L_VERTICES = [(-1, -1), (1, -1), (1, 0), (0, 0), (0, 1), (-1, 1)]


def l_shape_sdf(x: torch.Tensor) -> torch.Tensor:
    """Independent oracle: the L-shape as the union of two boxes, signed distance min(s1, s2)."""

    def box(lo, hi):
        lo, hi = torch.tensor(lo, dtype=x.dtype), torch.tensor(hi, dtype=x.dtype)
        q = torch.maximum(lo - x, x - hi)
        return torch.linalg.vector_norm(q.clamp(min=0), dim=1) + q.max(dim=1).values.clamp(max=0)

    return torch.minimum(box((-1, -1), (1, 0)), box((-1, -1), (0, 1)))


def fd_gradient(sdf, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central finite differences of ``sdf`` at ``x`` (N, d)."""
    cols = []
    for i in range(x.shape[1]):
        e = torch.zeros(x.shape[1], dtype=x.dtype)
        e[i] = h
        cols.append((sdf(x + e) - sdf(x - e)) / (2 * h))
    return torch.stack(cols, dim=1)


# ---------------------------------------------------------------------------------------------
# balls
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 5])
def test_ball_interior_uniform(d: int) -> None:
    c, radius = torch.arange(d, dtype=torch.float64) * 0.5, 2.0
    ball = Ball(tuple(c.tolist()), radius)
    x = ball.sample_interior(8192, seed=1)
    r = torch.linalg.vector_norm(x - c, dim=1)
    assert x.shape == (8192, d) and float(r.max()) < radius
    # moments of the uniform ball: E[x_i^2] = R^2 / (d + 2); P(|x| < R/2) = 2^-d
    second = ((x - c) ** 2).mean(dim=0)
    torch.testing.assert_close(
        second, torch.full((d,), radius**2 / (d + 2), dtype=x.dtype), atol=0.01, rtol=0
    )
    assert float((r < radius / 2).double().mean()) == pytest.approx(2.0**-d, abs=0.005)
    torch.testing.assert_close((x - c).mean(dim=0), torch.zeros(d, dtype=x.dtype), atol=0.01, rtol=0)


@pytest.mark.parametrize("d", [2, 3, 4, 6])
def test_ball_boundary_uniform_on_sphere(d: int) -> None:
    ball = Ball((1.0,) * d, 0.5)
    x, normal = ball.sample_boundary(8192, seed=2)
    rel = (x - 1.0) / 0.5
    torch.testing.assert_close(
        torch.linalg.vector_norm(rel, dim=1), torch.ones(8192, dtype=x.dtype), atol=1e-14, rtol=0
    )
    torch.testing.assert_close(normal, rel, atol=1e-13, rtol=0)
    # uniform on S^{d-1}: E[s_i] = 0, E[s_i^2] = 1/d, E[s_i^4] = 3 / (d (d + 2))
    torch.testing.assert_close(rel.mean(dim=0), torch.zeros(d, dtype=x.dtype), atol=0.01, rtol=0)
    torch.testing.assert_close(
        (rel**2).mean(dim=0), torch.full((d,), 1 / d, dtype=x.dtype), atol=0.005, rtol=0
    )
    fourth = torch.full((d,), 3 / (d * (d + 2)), dtype=x.dtype)
    torch.testing.assert_close((rel**4).mean(dim=0), fourth, atol=0.005, rtol=0)


def test_ball_measures_and_disk_is_the_2d_ball() -> None:
    assert Ball((0, 0, 0), 2.0).volume() == pytest.approx(4 / 3 * math.pi * 8, rel=1e-14)
    assert Ball((0, 0, 0), 2.0).measure("boundary") == pytest.approx(4 * math.pi * 4, rel=1e-14)
    assert Ball((0,) * 4, 1.0).volume() == pytest.approx(math.pi**2 / 2, rel=1e-14)
    assert Ball((0,) * 4, 1.0).measure("boundary") == pytest.approx(2 * math.pi**2, rel=1e-14)
    disk = Disk((0.5, -0.5), 2.0)
    assert isinstance(disk, Ball) and disk.volume() == pytest.approx(4 * math.pi, rel=1e-14)
    ball2 = Ball((0.5, -0.5), 2.0)
    assert torch.equal(ball2.sample_interior(64, seed=3), disk.sample_interior(64, seed=3))
    assert torch.equal(ball2.sample_boundary(64, seed=3)[0], disk.sample_boundary(64, seed=3)[0])
    assert Ball((0.0,) * 5, 1.0).names == ("x1", "x2", "x3", "x4", "x5")
    assert Ball((0.0,) * 3, 1.0).bounds() == ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))


def test_ball_contains_and_spacetime() -> None:
    ball = kp.Ball(center=(0.0,) * 5, radius=1.0)
    pts = torch.tensor([[0.0] * 5, [1.0, 0, 0, 0, 0], [0.6, 0.6, 0.6, 0, 0]], dtype=torch.float64)
    assert ball.contains(pts).tolist() == [True, True, False]
    st = SpaceTime(ball, t=(0.0, 2.0))
    x = st.sample_interior(256, seed=0)
    assert x.shape == (256, 6) and bool(ball.contains(x[:, :5]).all())
    assert float(x[:, 5].max() - x[:, 5].min()) > 1.5
    xb, nb = st.sample_boundary(64, seed=0)
    torch.testing.assert_close(nb, xb[:, :5], atol=1e-13, rtol=0)
    x0 = st.sample_initial(32)
    assert bool((x0[:, 5] == 0.0).all()) and bool(ball.contains(x0[:, :5]).all())


# ---------------------------------------------------------------------------------------------
# polygons
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, -1])
def test_polygon_description(orientation: int) -> None:
    lshape = Polygon(L_VERTICES[::orientation])
    assert lshape.volume() == pytest.approx(3.0, abs=1e-15)
    assert lshape.measure("boundary") == pytest.approx(8.0, abs=1e-15)
    assert lshape.bounds() == ((-1.0, -1.0), (1.0, 1.0))
    assert lshape.faces == ("boundary",) and lshape.names == ("x", "y")
    pts = torch.tensor([[-0.5, 0.5], [0.5, -0.5], [0.5, 0.5], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0 + 1e-3]])
    assert lshape.contains(pts).tolist() == [True, True, False, True, True, False]


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_polygon_interior_uniform_and_exact_counts(sampler: str) -> None:
    lshape = kp.Polygon(L_VERTICES)
    for n in (1, 7, 300):
        x = lshape.sample_interior(n, sampler=sampler, seed=4)
        assert x.shape == (n, 2)
        assert bool((l_shape_sdf(x) < 0).all())  # strictly inside, never in the removed quadrant
    x = lshape.sample_interior(3000, sampler=sampler, seed=4)
    # each of the three unit squares holds a third of the points
    thirds = [(x[:, 0] < 0) & (x[:, 1] > 0), (x[:, 0] < 0) & (x[:, 1] < 0), (x[:, 0] > 0) & (x[:, 1] < 0)]
    for part in thirds:
        assert float(part.double().mean()) == pytest.approx(1 / 3, abs=0.02)


def test_polygon_interior_topping_up_keeps_the_first_points() -> None:
    lshape = Polygon(L_VERTICES)
    small, large = lshape.sample_interior(50, seed=9), lshape.sample_interior(500, seed=9)
    assert torch.equal(small, large[:50])  # the first accepted candidates of one stream


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("orientation", [1, -1])
def test_polygon_boundary_exact_and_outward(sampler: str, orientation: int) -> None:
    lshape = Polygon(L_VERTICES[::orientation])
    x, normal = lshape.sample_boundary(400, sampler=sampler, seed=5)
    assert x.shape == normal.shape == (400, 2)
    assert float(l_shape_sdf(x).abs().max()) < 1e-15  # on the edges, exactly
    torch.testing.assert_close(torch.linalg.vector_norm(normal, dim=1), torch.ones(400, dtype=x.dtype))
    torch.testing.assert_close(normal, fd_gradient(l_shape_sdf, x), atol=1e-6, rtol=0)
    # outward: a step along the normal leaves the L-shape, a step against it enters
    assert bool((l_shape_sdf(x + 1e-6 * normal) > 0).all()) and bool(
        (l_shape_sdf(x - 1e-6 * normal) < 0).all()
    )


def test_polygon_boundary_uniform_in_arc_length() -> None:
    lshape = Polygon(L_VERTICES)
    x, _ = lshape.sample_boundary(8000, seed=6)
    # the edges have lengths 2, 1, 1, 1, 1, 2 of a perimeter 8
    edges = [
        x[:, 1] == -1,
        (x[:, 0] == 1) & (x[:, 1] > -1),
        (x[:, 1] == 0) & (x[:, 0] > 0) & (x[:, 0] < 1),
        (x[:, 0] == 0) & (x[:, 1] > 0) & (x[:, 1] < 1),
        (x[:, 1] == 1) & (x[:, 0] < 0),
        (x[:, 0] == -1) & (x[:, 1] > -1) & (x[:, 1] < 1),
    ]
    counts = [int(e.sum()) for e in edges]
    assert sum(counts) == 8000
    for count, length in zip(counts, [2, 1, 1, 1, 1, 2], strict=True):
        assert count / 8000 == pytest.approx(length / 8, abs=1e-3)
    # within an edge the points are uniform: the bottom edge's x has mean 0 and variance 1/3
    bottom = x[edges[0], 0]
    assert float(bottom.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(bottom.var()) == pytest.approx(1 / 3, abs=0.01)


def test_polygon_grid_boundary_is_evenly_spaced() -> None:
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    x, _ = square.sample_boundary(8, sampler="grid")
    expected = torch.tensor(
        [[0.25, 0], [0.75, 0], [1, 0.25], [1, 0.75], [0.75, 1], [0.25, 1], [0, 0.75], [0, 0.25]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(x, expected, atol=1e-15, rtol=0)


def test_polygon_closed_ring_and_arrays_accepted() -> None:
    ring = Polygon([(0, 0), (1, 0), (0, 1), (0, 0)])
    assert ring.vertices == ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    assert Polygon(np.array(L_VERTICES)) == Polygon(L_VERTICES)
    assert "Polygon(vertices=((-1.0, -1.0)" in repr(Polygon(L_VERTICES))


@pytest.mark.parametrize(
    ("vertices", "exc", "match"),
    [
        ([(0, 0), (1, 0)], ValueError, "needs at least 3 vertices, got 2"),
        ([(0, 0), (1, 1), (1, 0), (0, 1)], ValueError, r"not simple: edge 0 .* and edge 2 .* intersect"),
        ([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)], ValueError, "not simple"),  # a vertex on an edge
        ([(0, 0), (1, 0), (1, 0), (0, 1)], ValueError, "vertex 1 .* repeats vertex 2"),
        ([(0, 0), (1, 0), (2, 0)], ValueError, "overlap"),  # collinear: the boundary folds back
        ([(0, 0), (1, 0), (0.5, 0), (0.5, 1)], ValueError, "overlap"),
        ([(0, 0, 0), (1, 0, 0), (0, 1, 0)], ValueError, r"\(x, y\) pair"),
        ([(0, 0), (1, float("inf")), (0, 1)], ValueError, "must be finite"),
        ("abc", TypeError, "sequence of"),
    ],
)
def test_polygon_bad_input(vertices, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        Polygon(vertices)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Ball((0.0,), 1.0), "at least 2 entries"),
        (lambda: Ball((0.0, 0.0, 0.0), 0.0), "radius must be > 0"),
        (lambda: kp.Ball(center=(0, 0), radius=float("nan")), "must be finite"),
    ],
)
def test_ball_bad_input(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_extreme_unit_samples_stay_strictly_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SAMPLERS, "almost_one", lambda n, d, seed: np.full((n, d), np.nextafter(1.0, 0.0)))
    monkeypatch.setitem(SAMPLERS, "zeros", lambda n, d, seed: np.zeros((n, d)))
    for name in ("almost_one", "zeros"):
        x = Ball((0.0,) * 4, 1.0).sample_interior(3, sampler=name)
        assert float(torch.linalg.vector_norm(x, dim=1).max()) < 1.0
        xb, nb = Ball((0.0,) * 4, 1.0).sample_boundary(3, sampler=name)
        assert bool(torch.isfinite(nb).all())
        torch.testing.assert_close(torch.linalg.vector_norm(xb, dim=1), torch.ones(3, dtype=xb.dtype))
