"""Figures: every plot writes a real PNG; the edge figure has one panel per KAN edge."""

import dataclasses
import math

import matplotlib.image
import pytest

import kanpde as kp
from kanpde import plotting

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert 150 <= height <= 5000 and 150 <= width <= 5000
    assert image.std() > 0  # not a blank canvas
    assert not list(path.parent.glob(f".{path.name}.tmp-*"))  # the atomic writer cleaned up


def untrained(name: str, exact: bool = True) -> kp.Solution:
    """A Solution of an untrained small KAN (plots need no training)."""
    problem = kp.load_problem(name)
    if not exact:
        problem = dataclasses.replace(problem, exact=None)
    model = kp.KAN([problem.domain.dim, 2, 1], grid=3)
    model.set_input_bounds(*problem.domain.bounds())
    return kp.Solution(model, problem)


def panels_with_data(fig) -> int:
    return sum(1 for ax in fig.axes if ax.lines)


# ---------------------------------------------------------------------------------------------- edges


def test_edges_one_panel_per_edge():
    model = kp.KAN([2, 3, 1], grid=4)
    fig = plotting.edges_figure(model, n_points=50)
    assert panels_with_data(fig) == 2 * 3 + 3 * 1
    titles = {ax.get_title() for ax in fig.axes}
    assert "L0: x0→h2" in titles and "L1: h1→y0" in titles


def test_edges_deep_names_and_wrapping():
    model = kp.KAN([1, 14, 2, 1], grid=3)
    fig = plotting.edges_figure(model, n_points=20)
    assert panels_with_data(fig) == 14 + 28 + 2
    rows = {ax.get_subplotspec().rowspan.start for ax in fig.axes}
    cols = {ax.get_subplotspec().colspan.start for ax in fig.axes}
    assert len(cols) == plotting.PANELS_PER_ROW  # 14 and 28 edges wrap at 12 panels a row
    assert len(rows) == 2 + 3 + 1
    assert "L1: h1.13→h2.1" in {ax.get_title() for ax in fig.axes}


def test_edges_cap_per_layer(monkeypatch):
    monkeypatch.setattr(plotting, "MAX_PANELS_PER_LAYER", 4)
    fig = plotting.edges_figure(kp.KAN([2, 3, 1]), n_points=20)
    assert panels_with_data(fig) == 4 + 3
    assert "4 of 6" in fig._suptitle.get_text()


def test_plot_edges_writes_png(tmp_path):
    path = kp.plot_edges(kp.KAN([2, 2, 1]), tmp_path / "edges.png", n_points=30)
    assert path == tmp_path / "edges.png"
    check_png(path)


def test_plot_edges_rejects_mlp_and_bad_points(tmp_path):
    with pytest.raises(TypeError, match="KAN"):
        plotting.plot_edges(kp.MLP([2, 4, 1]), tmp_path / "e.png")
    with pytest.raises(ValueError, match="n_points"):
        plotting.plot_edges(kp.KAN([2, 2, 1]), tmp_path / "e.png", n_points=1)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- solution


@pytest.mark.parametrize(
    ("name", "exact", "n_maps"),
    [
        ("poisson1d", True, 0),  # u and exact against x, error beside
        ("poisson1d", False, 0),
        ("poisson_disk", True, 3),  # u, exact, |error|
        ("poisson_disk", False, 1),
        ("poisson3d", True, 3),  # middle z slice
        ("heat1d", True, 3),  # x-t maps
        ("heat2d", True, 9),  # three fields at three times
        ("heat2d", False, 3),
    ],
)
def test_plot_solution(tmp_path, name, exact, n_maps):
    solution = untrained(name, exact)
    fig = plotting.solution_figure(solution)
    maps = [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]
    assert len(maps) == n_maps
    if n_maps == 0:
        assert panels_with_data(fig) == (2 if exact else 1)
    check_png(plotting._save(fig, tmp_path / "solution.png"))


def test_solution_plot_method(tmp_path):
    path = untrained("poisson1d").plot(tmp_path / "solution.png")
    assert path == tmp_path / "solution.png"
    check_png(path)


def test_plot_solution_masks_outside_the_domain():
    fig = plotting.solution_figure(untrained("poisson_disk"))
    mesh = next(c for ax in fig.axes for c in ax.collections if hasattr(c, "get_array"))
    values = mesh.get_array()
    assert values.mask.any() and not values.mask.all()  # corners of the bounding box are outside the disk


def test_plot_solution_without_problem_draws_u_on_the_stored_domain(tmp_path):
    solution = untrained("poisson2d")
    solution.problem = None  # a checkpoint loaded without its problem keeps the domain
    fig = plotting.solution_figure(solution)
    maps = [ax for ax in fig.axes if ax.collections and ax.get_label() != "<colorbar>"]
    assert len(maps) == 1  # u only: no exact solution, no error panel
    solution.domain = None  # a kanpde 0.1 checkpoint stored no domain
    with pytest.raises(ValueError, match="problem="):
        plotting.plot_solution(solution, tmp_path / "s.png")


# ---------------------------------------------------------------------------------------------- history


def fake_history() -> list[dict]:
    history = []
    step = 0
    for grid in (5, 10):
        for stage, n in (("adam", 4), ("lbfgs", 3)):
            for _ in range(n):
                step += 1
                loss = 10.0 * math.exp(-0.3 * step)
                history.append(
                    {
                        "step": step,
                        "stage": stage,
                        "grid": grid,
                        "loss": loss,
                        "residual": 0.9 * loss,
                        "dirichlet": 0.1 * loss,
                        "seconds": 0.1 * step,
                        "evaluations": step,
                        "relative_l2": math.sqrt(loss),
                    }
                )
    history[-1]["stopped"] = "line search failed"
    return history


def test_history_marks_grid_and_stage_changes():
    fig = plotting.history_figure(fake_history())
    loss_ax, error_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines[:3]] == ["loss", "residual", "dirichlet"]
    assert loss_ax.get_yscale() == "log" and error_ax.get_yscale() == "log"
    texts = [t.get_text().strip() for t in loss_ax.texts]
    assert "grid 10" in texts  # one grid extension
    assert texts.count("lbfgs") == 2 and texts.count("adam") == 1  # stage changes after the first stage
    dashed = [line for line in loss_ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_xdata()[0] == 7


def test_plot_history_writes_png(tmp_path):
    check_png(plotting.plot_history(fake_history(), tmp_path / "history.png"))


def test_plot_history_without_error_or_grid(tmp_path):
    history = [{"step": s, "stage": "adam", "grid": None, "loss": 1.0 / s} for s in range(1, 6)]
    fig = plotting.history_figure(history)
    assert len(fig.axes) == 1
    check_png(plotting.plot_history(history, tmp_path / "h.png"))


def test_plot_history_rejects_empty(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_history([], tmp_path / "h.png")


def test_plots_do_not_touch_pyplot_state():
    import sys

    import matplotlib

    backend = matplotlib.get_backend()
    plotting.edges_figure(kp.KAN([1, 2, 1]), n_points=10)
    assert matplotlib.get_backend() == backend
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []
