"""High-dimensional boxes: activation bounds of a KAN, points on a box's edges and corners, restarts."""

import itertools
import math

import pytest
import torch

import kanpde as kp
from kanpde.geometry.base import Domain

F64 = torch.float64


def _corners(dim: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([-1.0, 1.0], repeat=dim)), dtype=F64)  # (2^d, d)


# ---- KAN.activation_bounds -------------------------------------------------------------------------------
def test_activation_bounds_hold_every_activation_and_are_exact_on_the_first_hidden_layer():
    net = kp.KAN([2, 3, 2, 1], grid=6, seed=4)
    with torch.no_grad():
        for layer in net.layers:  # edges far from monotone, so extremes are inside the intervals
            layer.coef.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(1))
    bounds = net.activation_bounds(points=2001)
    grid = torch.linspace(-1.0, 1.0, 401, dtype=F64)
    x = torch.cartesian_prod(grid, grid)  # (401^2, 2)
    for (lo, hi), a in zip(bounds, net.activations(x), strict=True):
        assert bool((a >= lo - 1e-12).all()) and bool((a <= hi + 1e-12).all())
    # first hidden layer: inputs vary independently over the box, so the bound is the range itself
    lo, hi = bounds[1]
    a = net.activations(x)[1]
    assert torch.allclose(a.min(0).values, lo, atol=2e-4)
    assert torch.allclose(a.max(0).values, hi, atol=2e-4)


def test_grid_stages_span_the_corners_that_interior_samples_miss():
    """In 5-D a hidden node's extreme values lie at the corners; the grid now covers them."""
    net = kp.KAN([5, 2, 1], grid=4, seed=0)
    first = net.layers[0]
    with torch.no_grad():  # increasing coefficients: increasing edges, so every node peaks at x = (1, ..., 1)
        first.base_weight.zero_()
        first.coef.copy_(torch.arange(7, dtype=F64)[None, :, None].expand(5, 7, 2))
    inside = 0.8 * (torch.rand(3000, 5, dtype=F64, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    corners = _corners(5)
    # the samples alone do not come near the corners' activations
    assert bool(
        (net.activations(corners)[1].max(0).values > net.activations(inside)[1].max(0).values + 1).all()
    )
    wider = net.extend_grid(8, samples=inside)
    assert wider.range_violation(corners) <= 1e-12  # at the bound itself, up to round-off
    assert net.range_violation(corners) > 0.0  # the initial hidden grid [-1, 1] did not


def test_activation_bounds_rejects_bad_points():
    with pytest.raises(ValueError, match="points"):
        kp.KAN([2, 3, 1]).activation_bounds(points=0)


# ---- Box.sample_skeleton -----------------------------------------------------------------------------------
def test_skeleton_points_lie_on_edges_and_corners_split_evenly_over_codimensions():
    box = kp.Box((-1.0, 0.0, 2.0, -3.0), (1.0, 2.0, 5.0, 0.0))
    x, normals = box.sample_skeleton(301, seed=3)
    assert x.shape == (301, 4) and normals.shape == (301, 4)
    lo, hi = torch.tensor(box.lo, dtype=F64), torch.tensor(box.hi, dtype=F64)
    at_lo, at_hi = x == lo, x == hi
    pinned = (at_lo | at_hi).sum(1)  # (n,)
    assert bool((pinned >= 2).all())
    assert pinned.bincount(minlength=5).tolist() == [0, 0, 101, 100, 100]
    assert bool(((x >= lo) & (x <= hi)).all())
    # the normal: the mean of the pinned faces' outward normals, unit length
    expected = (at_hi.to(F64) - at_lo.to(F64)) / pinned.to(F64).sqrt()[:, None]
    assert torch.allclose(normals, expected, atol=0, rtol=0)
    assert torch.allclose(normals.norm(dim=1), torch.ones(301, dtype=F64))
    again, _ = box.sample_skeleton(301, seed=3)
    other, _ = box.sample_skeleton(301, seed=4)
    assert torch.equal(x, again) and not torch.equal(x, other)


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_skeleton_free_coordinates_are_uniform_whatever_the_sampler(sampler):
    x, _ = kp.Box((0.0,) * 5, (1.0,) * 5).sample_skeleton(4000, sampler=sampler, seed=2)
    free = x[(x > 0.0) & (x < 1.0)]  # the coordinates not pinned to a face
    counts = torch.histc(free, bins=5, min=0.0, max=1.0) / free.numel()
    assert torch.allclose(counts, torch.full((5,), 0.2, dtype=F64), atol=0.02)  # chance: ~0.005


def test_dirichlet_skeleton_leaves_every_face_a_point_when_n_is_small():
    box = kp.Rectangle((0.0, 0.0), (1.0, 1.0))
    pts = kp.Dirichlet(0.0, skeleton=0.3).sample(box, 4, "sobol", 0, F64, "cpu")  # 4 faces need all 4
    assert pts["x"].shape == (4, 2)
    pts = kp.Dirichlet(0.0, skeleton=0.99).sample(box, 100, "sobol", 0, F64, "cpu")
    assert int(((pts["x"] == 0.0) | (pts["x"] == 1.0)).all(1).sum()) == 96  # 96 corners, 4 on the faces


def test_skeleton_points_cover_every_corner_of_a_3d_box():
    x, _ = kp.Box((0.0,) * 3, (1.0,) * 3).sample_skeleton(400, seed=0)
    corners = x[(x == 0.0).logical_or(x == 1.0).all(1)]
    assert len({tuple(c.tolist()) for c in corners}) == 8


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: kp.Interval(0.0, 1.0).sample_skeleton(10), "dim >= 2"),
        (lambda: kp.Box((0.0,) * 3, (1.0,) * 3).sample_skeleton(0), "n"),
        (lambda: kp.Box((0.0,) * 5, (1.0,) * 5).sample_skeleton(3), "n >= 4"),
        (lambda: kp.Box((0.0,) * 3, (1.0,) * 3).sample_skeleton(10, sampler="halton"), "sampler"),
    ],
)
def test_skeleton_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- Dirichlet(skeleton=...) -------------------------------------------------------------------------------
def test_dirichlet_skeleton_draws_its_share_on_edges_and_corners_with_the_values_there():
    box = kp.Box((-1.0,) * 5, (1.0,) * 5)
    cond = kp.Dirichlet(lambda x: x.sum(1), skeleton=0.3)
    cond.validate(box)
    pts = cond.sample(box, 1000, "sobol", 0, F64, "cpu")
    pinned = (pts["x"].abs() == 1.0).sum(1)
    assert int((pinned >= 2).sum()) == 300
    assert int((pinned == 1).sum()) == 700
    assert torch.equal(pts["target"], pts["x"].sum(1))
    plain = kp.Dirichlet(0.0).sample(box, 1000, "sobol", 0, F64, "cpu")
    assert int(((plain["x"].abs() == 1.0).sum(1) >= 2).sum()) == 0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: kp.Dirichlet(0.0, skeleton=1.0), r"\[0, 1\)"),
        (lambda: kp.Dirichlet(0.0, skeleton=-0.1), r"\[0, 1\)"),
        (lambda: kp.Dirichlet(0.0, skeleton="0.3"), r"\[0, 1\)"),
        (lambda: kp.Dirichlet(0.0, on="xmin", skeleton=0.3), "whole boundary"),
        (lambda: kp.Dirichlet(0.0, hard=True, skeleton=0.3), "whole boundary"),
    ],
)
def test_dirichlet_skeleton_bad_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("domain", [kp.Disk((0.0, 0.0), 1.0), kp.Interval(0.0, 1.0)])
def test_dirichlet_skeleton_needs_a_box_of_dimension_two_or_more(domain: Domain):
    with pytest.raises(ValueError, match="kp.Box domain of dimension >= 2"):
        kp.Problem(domain=domain, residual=lambda x, u: u.value, conditions=[kp.Dirichlet(0.0, skeleton=0.2)])


# ---- restarts ----------------------------------------------------------------------------------------------
def _poisson1d() -> kp.Problem:
    return kp.load_problem("poisson1d")


def test_restarts_continue_from_the_probe_with_the_lowest_loss():
    problem = _poisson1d()
    probes = [
        kp.solve(problem, kp.KAN([1, 2, 1], grid=3, seed=s), grids=(3,), steps=4, device="cpu")
        for s in (5, 6, 7)
    ]
    losses = [p.history[-1]["loss"] for p in probes]
    chosen = min(range(3), key=losses.__getitem__)
    best = probes[chosen]
    assert chosen != 0 and max(losses) > 1.2 * min(losses)  # not the model's own start: a real choice
    run = kp.solve(
        problem,
        kp.KAN([1, 2, 1], grid=3, seed=5),
        grids=(3,),
        steps=0,
        restarts=2,
        restart_steps=4,
        device="cpu",
    )
    # the same first layer (the run's grid stage re-spans and refits the hidden layer, keeping its function)
    for a, b in zip(run.model.layers[0].parameters(), best.model.layers[0].parameters(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-10)
    x = torch.linspace(0.0, 1.0, 101, dtype=F64)[:, None]
    assert torch.allclose(run(x), best(x), rtol=0, atol=1e-2 * float(best(x).abs().max()))


def test_restarts_lower_the_loss_of_the_poorest_start():
    problem = _poisson1d()
    options = {"grids": (3, 6), "steps": 20, "device": "cpu"}
    plain = [
        kp.solve(problem, kp.KAN([1, 2, 1], grid=3, seed=s), **options).history[-1]["loss"] for s in range(3)
    ]
    worst = max(range(3), key=plain.__getitem__)
    restarted = kp.solve(
        problem, kp.KAN([1, 2, 1], grid=3, seed=worst), restarts=2, restart_steps=10, **options
    )
    assert restarted.history[-1]["loss"] < 0.9 * plain[worst]  # without restarts: plain[worst]


def test_restarts_bad_options():
    problem = _poisson1d()
    with pytest.raises(ValueError, match="restarts"):
        kp.SolveSettings(restarts=-1)
    with pytest.raises(ValueError, match="restart_steps"):
        kp.SolveSettings(restart_steps=0)

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1, dtype=F64)

        def forward(self, x):
            return self.lin(x)

    with pytest.raises(ValueError, match="config\\(\\) and seed"):
        kp.solve(problem, Plain(), restarts=1, steps=1, device="cpu")


def test_poisson5d_ships_its_boundary_with_edges_and_corners():
    problem = kp.load_problem("poisson5d")
    (cond,) = problem.conditions
    assert cond.skeleton == pytest.approx(0.3)
    assert problem.recommended["restarts"] == 2
    assert math.isclose(float(problem.exact(torch.ones(1, 5, dtype=F64))), math.exp(-2.5), rel_tol=1e-12)


def test_a_5d_run_folder_keeps_checkpoint_and_metrics_and_export_says_why_not(tmp_path):
    problem = kp.load_problem("poisson5d")
    folder = kp.RunFolder(tmp_path / "run", plots=False)
    model = kp.KAN([5, 2, 1], grid=3, seed=0)
    with pytest.warns(RuntimeWarning, match="not exported"):
        sol = kp.solve(
            problem,
            model,
            steps=1,
            grids=(3,),
            n_interior=64,
            n_boundary=64,
            device="cpu",
            callbacks=[folder],
        )
    written = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "solution.pt" in written and "metrics.json" in written and "solution.h5" not in written
    with pytest.raises(ValueError, match="5 spatial axes"):
        sol.export(tmp_path / "u.h5")
