"""Tests for kanpde.geometry: domains, faces, normals and samplers (float64 throughout)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from kanpde.geometry import SAMPLERS, Box, Disk, Domain, Interval, Rectangle, SpaceTime

DOMAINS = {
    "interval": Interval(-1.0, 2.0),
    "rectangle": Rectangle((0.0, -1.0), (2.0, 1.0)),
    "box3": Box((0.0, 0.0, 0.0), (1.0, 2.0, 3.0)),
    "box4": Box((0.0,) * 4, (1.0, 1.0, 2.0, 1.0)),
    "disk": Disk((0.5, -0.5), 2.0),
    "st_interval": SpaceTime(Interval(0.0, 1.0), t=(0.0, 2.0)),
    "st_rectangle": SpaceTime(Rectangle((0.0, 0.0), (1.0, 2.0)), t=(0.5, 1.5)),
    "st_disk": SpaceTime(Disk((0.0, 0.0), 1.0), t=(0.0, 1.0)),
}
SAMPLER_NAMES = ["sobol", "random", "grid"]


def _space(domain: Domain) -> Domain:
    return domain.space if isinstance(domain, SpaceTime) else domain


def _spatial_part(domain: Domain, x: torch.Tensor) -> torch.Tensor:
    return x[:, : domain.space_dim]


def _on_face_mask(space: Domain, x: torch.Tensor, face: str) -> torch.Tensor:
    """Exact membership of spatial points ``x`` in a face (no tolerance for boxes)."""
    if isinstance(space, Disk):
        r = torch.linalg.vector_norm(x - torch.tensor(space.center, dtype=x.dtype), dim=1)
        return (r - space.radius).abs() < 1e-12
    axis = space.names.index(face[:-3])
    value = space.hi[axis] if face.endswith("max") else space.lo[axis]
    return x[:, axis] == value


# ---------------------------------------------------------------------------------------------
# description
# ---------------------------------------------------------------------------------------------


def test_dims_names_and_faces() -> None:
    assert Interval(0, 1).names == ("x",)
    assert Interval(0, 1).faces == ("xmin", "xmax")
    assert Rectangle((0, 0), (1, 1)).faces == ("xmin", "xmax", "ymin", "ymax")
    assert DOMAINS["box3"].names == ("x", "y", "z")
    assert DOMAINS["box3"].faces == ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")
    box4 = DOMAINS["box4"]
    assert box4.names == ("x1", "x2", "x3", "x4")
    assert box4.faces[:3] == ("x1min", "x1max", "x2min")
    assert len(box4.faces) == 8
    disk = DOMAINS["disk"]
    assert (disk.dim, disk.space_dim, disk.faces) == (2, 2, ("boundary",))
    assert disk.bounds() == ((-1.5, -2.5), (2.5, 1.5))
    st = DOMAINS["st_rectangle"]
    assert st.names == ("x", "y", "t")
    assert (st.dim, st.space_dim, st.is_time_dependent) == (3, 2, True)
    assert st.faces == ("xmin", "xmax", "ymin", "ymax")
    assert st.bounds() == ((0.0, 0.0, 0.5), (1.0, 2.0, 1.5))
    assert not Rectangle((0, 0), (1, 1)).is_time_dependent


def test_subclasses_are_boxes_and_compare_by_value() -> None:
    assert isinstance(Interval(0, 1), Box) and isinstance(Rectangle((0, 0), (1, 1)), Box)
    assert Interval(0, 1) == Interval(0.0, 1.0)
    assert Interval(0, 1) != Interval(0, 2)
    assert Interval(0, 1).a == 0.0 and Interval(0, 1).b == 1.0
    assert hash(Rectangle((0, 0), (1, 1))) == hash(Rectangle((0.0, 0.0), (1.0, 1.0)))
    assert Box(np.array([0.0, 1.0]), torch.tensor([1.0, 3.0])).hi == (1.0, 3.0)


def test_repr_is_readable() -> None:
    assert repr(Interval(0, 1)) == "Interval(0.0, 1.0)"
    assert repr(Rectangle((0, 0), (1, 2))) == "Rectangle(lo=(0.0, 0.0), hi=(1.0, 2.0))"
    assert repr(Disk((0, 0), 1)) == "Disk(center=(0.0, 0.0), radius=1.0)"
    assert repr(DOMAINS["st_interval"]) == "SpaceTime(space=Interval(0.0, 1.0), t=(0.0, 2.0))"


def test_measures() -> None:
    rect = Rectangle((0, 0), (3, 1))
    assert rect.measure("xmin") == pytest.approx(1.0, abs=1e-15)
    assert rect.measure("top") == pytest.approx(3.0, abs=1e-15)
    assert DOMAINS["box3"].measure("xmax") == pytest.approx(6.0, abs=1e-15)
    assert DOMAINS["box3"].measure("zmin") == pytest.approx(2.0, abs=1e-15)
    assert Interval(0, 5).measure("left") == 1.0
    assert DOMAINS["disk"].measure("boundary") == pytest.approx(4.0 * math.pi, rel=1e-14)
    assert DOMAINS["st_rectangle"].measure("ymin") == pytest.approx(1.0, abs=1e-15)
    assert SpaceTime(Disk((0, 0), 1), t=(0, 3)).measure("boundary") == pytest.approx(6 * math.pi, rel=1e-14)


def test_aliases_resolve_to_canonical_faces() -> None:
    rect = Rectangle((0, 0), (1, 1))
    assert rect.resolve_faces(None) == rect.faces
    assert rect.resolve_faces("left") == ("xmin",)
    assert rect.resolve_faces(["top", "bottom", "right"]) == ("ymax", "ymin", "xmax")
    assert rect.resolve_faces(["xmin", "left"]) == ("xmin",)
    assert Interval(0, 1).resolve_faces(["right"]) == ("xmax",)
    assert DOMAINS["st_rectangle"].resolve_faces("top") == ("ymax",)
    x, _ = rect.sample_boundary(20, on="top")
    assert torch.all(x[:, 1] == 1.0)
    with pytest.raises(ValueError, match="unknown face 'left' for Box"):
        DOMAINS["box3"].resolve_faces("left")


# ---------------------------------------------------------------------------------------------
# interior
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("key", list(DOMAINS))
def test_interior_points_inside(key: str, sampler: str) -> None:
    domain = DOMAINS[key]
    x = domain.sample_interior(257, sampler=sampler, seed=3)
    assert x.shape == (257, domain.dim)
    assert x.dtype == torch.float64
    assert bool(domain.contains(x).all())
    space = _space(domain)
    xs = _spatial_part(domain, x)
    if isinstance(space, Disk):
        r = torch.linalg.vector_norm(xs - torch.tensor(space.center, dtype=x.dtype), dim=1)
        assert float(r.max()) < space.radius
    else:
        lo, hi = torch.tensor(space.lo, dtype=x.dtype), torch.tensor(space.hi, dtype=x.dtype)
        assert bool(((xs > lo) & (xs < hi)).all())
    if domain.is_time_dependent:
        t0, t1 = domain.t
        assert float(x[:, -1].min()) >= t0 and float(x[:, -1].max()) <= t1


def test_interior_covers_box_uniformly() -> None:
    box = DOMAINS["box3"]
    x = box.sample_interior(4096, seed=1)
    mean = x.mean(dim=0)
    torch.testing.assert_close(mean, torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64), atol=5e-3, rtol=0)
    assert float(x[:, 2].min()) < 0.01 and float(x[:, 2].max()) > 2.99


def test_disk_interior_is_area_uniform() -> None:
    disk = Disk((1.0, 2.0), 3.0)
    x = disk.sample_interior(4096, seed=5)
    r = torch.linalg.vector_norm(x - torch.tensor([1.0, 2.0], dtype=x.dtype), dim=1)
    # P(r < R/2) = 1/4 and P(x > cx) = 1/2 for a uniform distribution on the disk
    assert float((r < 1.5).double().mean()) == pytest.approx(0.25, abs=0.01)
    assert float((x[:, 0] > 1.0).double().mean()) == pytest.approx(0.5, abs=0.01)


def test_grid_sampler_returns_exact_count_and_midpoints() -> None:
    square = Rectangle((0, 0), (1, 1))
    x = square.sample_interior(16, sampler="grid")
    mids = torch.tensor([0.125, 0.375, 0.625, 0.875], dtype=torch.float64)
    expected = torch.cartesian_prod(mids, mids)  # (16, 2)
    torch.testing.assert_close(x, expected, atol=1e-15, rtol=0)
    for n in (1, 7, 10, 50):
        y = square.sample_interior(n, sampler="grid", seed=9)
        assert y.shape == (n, 2)
        assert len({tuple(row) for row in y.tolist()}) == n  # no duplicates
    torch.testing.assert_close(
        square.sample_interior(10, sampler="grid", seed=0), square.sample_interior(10, sampler="grid", seed=1)
    )
    theta = Disk((0, 0), 1).sample_boundary(8, sampler="grid")[1]
    angles = torch.atan2(theta[:, 1], theta[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(angles, (torch.arange(8) + 0.5).double() * math.pi / 4, atol=1e-12, rtol=0)


@pytest.mark.parametrize("key", list(DOMAINS))
def test_interior_strict_even_for_extreme_unit_samples(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit samples 0 and the largest float below 1 still map strictly inside the spatial domain."""
    domain = DOMAINS[key]
    space = _space(domain)
    monkeypatch.setitem(SAMPLERS, "zeros", lambda n, d, seed: np.zeros((n, d)))
    monkeypatch.setitem(SAMPLERS, "almost_one", lambda n, d, seed: np.full((n, d), np.nextafter(1.0, 0.0)))
    for name in ("zeros", "almost_one"):
        xs = _spatial_part(domain, domain.sample_interior(3, sampler=name))
        if isinstance(space, Disk):
            r = torch.linalg.vector_norm(xs - torch.tensor(space.center, dtype=xs.dtype), dim=1)
            assert float(r.max()) < space.radius
        else:
            lo, hi = torch.tensor(space.lo, dtype=xs.dtype), torch.tensor(space.hi, dtype=xs.dtype)
            assert bool(((xs > lo) & (xs < hi)).all()), name
            # boundary points avoid edges and corners: each lies on exactly one face
            xb = _spatial_part(domain, domain.sample_boundary(2 * len(space.faces), sampler=name)[0])
            faces_hit = sum(_on_face_mask(space, xb, f).long() for f in space.faces)
            assert bool((faces_hit == 1).all()), name


def test_sampler_registry_outputs_unit_cube() -> None:
    assert set(SAMPLERS) == {"sobol", "random", "grid"}
    for name, fn in SAMPLERS.items():
        u = fn(100, 3, 11)
        assert u.shape == (100, 3), name
        assert u.min() >= 0.0 and u.max() < 1.0, name


# ---------------------------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_seed_reproducible_and_distinct(sampler: str) -> None:
    rect = DOMAINS["rectangle"]
    a = rect.sample_interior(100, sampler=sampler, seed=7)
    b = rect.sample_interior(100, sampler=sampler, seed=7)
    c = rect.sample_interior(100, sampler=sampler, seed=8)
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 0.1
    xb1, nb1 = rect.sample_boundary(40, sampler=sampler, seed=7)
    xb2, nb2 = rect.sample_boundary(40, sampler=sampler, seed=7)
    assert torch.equal(xb1, xb2) and torch.equal(nb1, nb2)
    assert not torch.equal(xb1, rect.sample_boundary(40, sampler=sampler, seed=8)[0])


def test_streams_differ_between_interior_boundary_and_initial() -> None:
    st = SpaceTime(Rectangle((0, 0), (1, 1)), t=(0, 1))
    interior = st.sample_interior(64, seed=0)
    initial = st.sample_initial(64, seed=0)
    assert float((interior[:, :2] - initial[:, :2]).abs().max()) > 0.1
    # the initial slice does not repeat the stationary interior points of the same seed
    stationary = st.space.sample_interior(64, seed=0)
    assert float((stationary - initial[:, :2]).abs().max()) > 0.1
    # opposite faces of a square use different sub-streams: their free coordinates differ
    xb, _ = Rectangle((0, 0), (1, 1)).sample_boundary(64, on=["xmin", "xmax"], seed=0)
    assert float((xb[:32, 1] - xb[32:, 1]).abs().max()) > 0.1
    # interior x-coordinates are not a copy of the boundary's free coordinate stream
    x_in = Rectangle((0, 0), (1, 1)).sample_interior(32, seed=0)
    assert float((x_in[:, 1] - xb[:32, 1]).abs().max()) > 0.1


# ---------------------------------------------------------------------------------------------
# boundary
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["interval", "rectangle", "box3", "box4", "st_rectangle"])
def test_box_faces_exact_with_axis_normals(key: str) -> None:
    domain = DOMAINS[key]
    space = _space(domain)
    for face in domain.faces:
        x, normal = domain.sample_boundary(33, on=face, seed=2)
        assert x.shape == (33, domain.dim) and normal.shape == (33, domain.space_dim)
        axis = space.names.index(face[:-3])
        sign = 1.0 if face.endswith("max") else -1.0
        value = space.hi[axis] if sign > 0 else space.lo[axis]
        assert bool((x[:, axis] == value).all())
        expected = torch.zeros(33, domain.space_dim, dtype=torch.float64)
        expected[:, axis] = sign
        assert torch.equal(normal, expected)
        others = [i for i in range(domain.space_dim) if i != axis]
        lo = torch.tensor([space.lo[i] for i in others], dtype=torch.float64)
        hi = torch.tensor([space.hi[i] for i in others], dtype=torch.float64)
        assert bool(((x[:, others] > lo) & (x[:, others] < hi)).all())


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("key", list(DOMAINS))
def test_boundary_union_and_outward_unit_normals(key: str, sampler: str) -> None:
    domain = DOMAINS[key]
    space = _space(domain)
    x, normal = domain.sample_boundary(120, sampler=sampler, seed=4)
    assert x.shape == (120, domain.dim) and normal.shape == (120, domain.space_dim)
    xs = _spatial_part(domain, x)
    on_some_face = torch.zeros(120, dtype=torch.bool)
    for face in space.faces:
        on_some_face |= _on_face_mask(space, xs, face)
    assert bool(on_some_face.all())
    torch.testing.assert_close(
        torch.linalg.vector_norm(normal, dim=1), torch.ones(120, dtype=torch.float64), atol=1e-14, rtol=0
    )
    eps = 1e-6
    assert not bool(space.contains(xs + eps * normal).any())
    assert bool(space.contains(xs - eps * normal).all())
    if domain.is_time_dependent:
        t0, t1 = domain.t
        assert float(x[:, -1].min()) >= t0 and float(x[:, -1].max()) <= t1
        assert float(x[:, -1].max() - x[:, -1].min()) > 0.5 * (t1 - t0)  # t is spread, not constant


def test_disk_boundary_normal_points_away_from_center() -> None:
    disk = DOMAINS["disk"]
    x, normal = disk.sample_boundary(50, seed=1)
    radial = (x - torch.tensor(disk.center, dtype=x.dtype)) / disk.radius
    torch.testing.assert_close(normal, radial, atol=1e-13, rtol=0)


def test_points_split_proportionally_to_measure() -> None:
    rect = Rectangle((0, 0), (3, 1))  # faces xmin/xmax length 1, ymin/ymax length 3
    x, _ = rect.sample_boundary(800, seed=0)
    counts = [int(_on_face_mask(rect, x, f).sum()) for f in rect.faces]
    assert counts == [100, 100, 300, 300]
    x, _ = rect.sample_boundary(81, on=["left", "top"], seed=0)
    counts = [int(_on_face_mask(rect, x, f).sum()) for f in ("xmin", "ymax")]
    assert sum(counts) == 81 and abs(counts[1] / counts[0] - 3.0) < 0.1
    thin = Rectangle((0, 0), (100, 1))
    x, _ = thin.sample_boundary(10, seed=0)
    counts = [int(_on_face_mask(thin, x, f).sum()) for f in thin.faces]
    assert counts == [1, 1, 4, 4]
    box = DOMAINS["box3"]  # face areas: x 6, y 3, z 2
    x, _ = box.sample_boundary(220, seed=0)
    counts = [int(_on_face_mask(box, x, f).sum()) for f in box.faces]
    assert counts == [60, 60, 30, 30, 20, 20]


def test_callable_mask_selects_part_of_boundary() -> None:
    rect = Rectangle((0, 0), (2, 1))
    x, normal = rect.sample_boundary(50, on=lambda p: p[:, 0] < 0.5, seed=3)
    assert x.shape == (50, 2) and normal.shape == (50, 2)
    assert bool((x[:, 0] < 0.5).all())
    on_left = x[:, 0] == 0.0
    assert 0 < int(on_left.sum()) < 50  # both the left face and parts of top/bottom
    assert bool((normal[on_left] == torch.tensor([-1.0, 0.0], dtype=torch.float64)).all())
    disk = Disk((0, 0), 1)
    x, normal = disk.sample_boundary(40, on=lambda p: p[:, 1] > 0, seed=0)
    assert bool((x[:, 1] > 0).all()) and bool((normal[:, 1] > 0).all())
    # a small arc still yields n points after the sampler oversamples again
    x, _ = disk.sample_boundary(30, on=lambda p: p[:, 0] > 0.99, sampler="random", seed=0)
    assert x.shape == (30, 2) and bool((x[:, 0] > 0.99).all())
    st = DOMAINS["st_rectangle"]
    x, _ = st.sample_boundary(20, on=lambda p: p[:, -1] < 1.0)
    assert bool((x[:, -1] < 1.0).all())


# ---------------------------------------------------------------------------------------------
# space-time and periodic pairs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["st_interval", "st_rectangle", "st_disk"])
def test_initial_points_at_t0_inside_space(key: str) -> None:
    st = DOMAINS[key]
    x = st.sample_initial(64, seed=2)
    assert x.shape == (64, st.dim)
    assert bool((x[:, -1] == st.t[0]).all())
    assert bool(st.space.contains(x[:, :-1]).all())
    assert st.names[-1] == "t"
    assert float(x[:, 0].max() - x[:, 0].min()) > 0.5  # spread over the space


def test_periodic_pairs_share_other_coordinates() -> None:
    box = DOMAINS["box3"]
    x_min, x_max = box.sample_periodic_pairs("y", 25, seed=1)
    assert x_min.shape == x_max.shape == (25, 3)
    assert bool((x_min[:, 1] == 0.0).all()) and bool((x_max[:, 1] == 2.0).all())
    assert torch.equal(x_min[:, [0, 2]], x_max[:, [0, 2]])
    assert float(x_min[:, 2].max() - x_min[:, 2].min()) > 1.0
    st = DOMAINS["st_rectangle"]
    a, b = st.sample_periodic_pairs("x", 10, sampler="random", seed=0)
    assert bool((a[:, 0] == 0.0).all()) and bool((b[:, 0] == 1.0).all())
    assert torch.equal(a[:, 1:], b[:, 1:])
    assert float(a[:, 2].min()) >= 0.5 and float(a[:, 2].max()) <= 1.5


# ---------------------------------------------------------------------------------------------
# contains, evaluation grid, dtype
# ---------------------------------------------------------------------------------------------


def test_contains_closed_with_tolerance() -> None:
    rect = Rectangle((0, 0), (1, 2))
    pts = torch.tensor([[0.0, 0.0], [1.0, 2.0], [0.5, 1.0], [1.0 + 1e-12, 1.0], [1.001, 1.0], [-0.1, 0.5]])
    assert rect.contains(pts).tolist() == [True, True, True, True, False, False]
    disk = Disk((0, 0), 1)
    pts = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.8, 0.8], [0.0, -1.0 - 1e-3]])
    assert disk.contains(pts).tolist() == [True, True, False, False]
    st = SpaceTime(Interval(0, 1), t=(0, 1))
    pts = torch.tensor([[0.5, 0.0], [0.5, 1.0], [0.5, 1.1], [1.2, 0.5]])
    assert st.contains(pts).tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match=r"shape \(N, 2\), got \(3, 3\)"):
        rect.contains(torch.zeros(3, 3))


def test_evaluation_grid() -> None:
    rect = Rectangle((0, -1), (2, 1))
    coords, mask = rect.evaluation_grid((5, 3))
    assert [len(c) for c in coords] == [5, 3]
    np.testing.assert_allclose(coords[0], [0.0, 0.5, 1.0, 1.5, 2.0], atol=1e-15)
    np.testing.assert_allclose(coords[1], [-1.0, 0.0, 1.0], atol=1e-15)
    assert mask.shape == (5, 3) and mask.dtype == bool and mask.all()
    disk = Disk((0, 0), 1)
    coords, mask = disk.evaluation_grid(201)
    assert mask.shape == (201, 201)
    assert mask.mean() == pytest.approx(math.pi / 4, abs=0.01)
    assert mask[100, 0] and mask[0, 100] and not mask[0, 0]  # (-1, 0), (0, -1) on the circle; corner out
    st = SpaceTime(Disk((0, 0), 1), t=(0, 2))
    coords, mask = st.evaluation_grid([11, 11, 4])
    np.testing.assert_allclose(coords[2], [0.0, 2 / 3, 4 / 3, 2.0], atol=1e-15)
    assert mask.shape == (11, 11, 4)
    assert (mask == mask[:, :, :1]).all()  # constant in t
    assert mask[5, 5, 0] and not mask[0, 0, 3]


def test_dtype_and_device_respected() -> None:
    st = DOMAINS["st_disk"]
    x = st.sample_interior(10, dtype=torch.float32, device="cpu")
    xb, nb = st.sample_boundary(10, dtype=torch.float32)
    assert x.dtype == xb.dtype == nb.dtype == torch.float32
    assert x.device.type == "cpu"
    torch.testing.assert_close(x.double(), st.sample_interior(10), atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_error_unknown_face_lists_valid_names() -> None:
    rect = Rectangle((0, 0), (1, 1))
    msg = r"unknown face 'front' for Rectangle; valid faces: xmin, xmax, ymin, ymax \(aliases left, right, bottom, top\)"
    with pytest.raises(ValueError, match=msg):
        rect.sample_boundary(10, on="front")
    with pytest.raises(ValueError, match="valid faces: boundary"):
        Disk((0, 0), 1).measure("xmin")


def test_error_unknown_sampler() -> None:
    with pytest.raises(ValueError, match="unknown sampler 'halton'; valid samplers: grid, random, sobol"):
        Interval(0, 1).sample_interior(10, sampler="halton")


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (
            lambda: Rectangle((0, 0), (0, 1)),
            ValueError,
            r"lo must be < hi in every coordinate, got lo=\(0.0, 0.0\)",
        ),
        (lambda: Box((1.0,), (0.5,)), ValueError, "pass lo strictly below hi"),
        (lambda: Interval(2, 1), ValueError, "a must be < b"),
        (lambda: Box((0, 0), (1, 1, 1)), ValueError, r"same length, got len\(lo\)=2 len\(hi\)=3"),
        (lambda: Box((), ()), ValueError, "dimension >= 1"),
        (lambda: Rectangle((0, 0, 0), (1, 1, 1)), ValueError, "Rectangle: lo and hi must have 2 entries"),
        (lambda: Box((0, float("nan")), (1, 1)), ValueError, "must be finite"),
        (lambda: Box("ab", "cd"), TypeError, "must be a sequence of numbers"),
        (lambda: Disk((0, 0), -1.0), ValueError, "radius must be > 0, got radius=-1.0"),
        (lambda: Disk((0, 0, 0), 1.0), ValueError, "center must have 2 entries"),
        (lambda: SpaceTime(Interval(0, 1), t=(1.0, 1.0)), ValueError, "t0 must be < t1"),
        (lambda: SpaceTime(SpaceTime(Interval(0, 1)), t=(0, 1)), TypeError, "stationary Domain"),
    ],
)
def test_error_bad_construction(make: Callable[[], object], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        make()


def test_error_bad_point_counts() -> None:
    rect = Rectangle((0, 0), (1, 1))
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        rect.sample_interior(0)
    with pytest.raises(ValueError, match="got -5"):
        rect.sample_boundary(-5)
    with pytest.raises(TypeError, match="n must be a positive integer, got 2.5"):
        rect.sample_interior(2.5)
    with pytest.raises(TypeError, match="got 10.0"):
        rect.sample_boundary(10.0)
    with pytest.raises(ValueError, match="cannot split n=3 points over 4 faces"):
        rect.sample_boundary(3)
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        rect.sample_interior(4, seed=1.5)
    with pytest.raises(TypeError, match="floating torch.dtype"):
        rect.sample_interior(4, dtype=torch.int64)


def test_error_initial_needs_spacetime() -> None:
    with pytest.raises(ValueError, match="Initial conditions need a SpaceTime domain, got Rectangle"):
        Rectangle((0, 0), (1, 1)).sample_initial(10)


def test_error_periodic_pairs() -> None:
    with pytest.raises(ValueError, match="periodic pairs need a Box domain"):
        Disk((0, 0), 1).sample_periodic_pairs("x", 10)
    with pytest.raises(ValueError, match="periodic pairs need a Box domain"):
        SpaceTime(Disk((0, 0), 1)).sample_periodic_pairs("y", 10)
    with pytest.raises(ValueError, match="unknown periodic axis 't' for SpaceTime; valid axes: x, y"):
        DOMAINS["st_rectangle"].sample_periodic_pairs("t", 10)
    with pytest.raises(ValueError, match="unknown periodic axis 'z'"):
        Rectangle((0, 0), (1, 1)).sample_periodic_pairs("z", 10)


def test_error_bad_masks() -> None:
    rect = Rectangle((0, 0), (1, 1))
    with pytest.raises(ValueError, match="no boundary point satisfies the mask"):
        rect.sample_boundary(10, on=lambda p: p[:, 0] > 5.0)
    with pytest.raises(ValueError, match=r"must return shape \(40,\), got \(40, 2\)"):
        rect.sample_boundary(10, on=lambda p: p > 0.5)
    with pytest.raises(TypeError, match="bool tensor"):
        rect.sample_boundary(10, on=lambda p: p[:, 0])
    with pytest.raises(TypeError, match="face names must be strings"):
        rect.resolve_faces(["xmin", 3])


def test_error_evaluation_grid_sizes() -> None:
    with pytest.raises(ValueError, match="pass one int or 2 ints"):
        Rectangle((0, 0), (1, 1)).evaluation_grid((3, 3, 3))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        Interval(0, 1).evaluation_grid(1)
