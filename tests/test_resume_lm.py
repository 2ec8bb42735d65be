"""Exact resume from a pause inside a stage of every optimiser, Levenberg-Marquardt included.

A run paused after N steps, saved, loaded and resumed must equal the uninterrupted run bit for bit (CPU,
float64). Pausing inside an LM stage needs its damping ``λ`` and its window of accepted losses (the stall
test) to travel with the checkpoint; pausing inside Adam or L-BFGS needs their moments and curvature pairs.
"""

import pytest
import torch

import kanpde as kp

SCHEDULE = [("lm", 5), ("adam", 4), ("lbfgs", 4)]  # 13 steps per grid, on grids 3 and 6


def _run(model, **kw):
    options = {"grids": (3, 6), "optimizer": SCHEDULE, "n_interior": 48, "log_every": 1}
    options.update(kw)
    return kp.solve(kp.load_problem("poisson1d"), model, **options)


def _same(a: kp.Solution, b: kp.Solution) -> None:
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)
    for name, buf in a.model.named_buffers():
        assert torch.equal(buf, dict(b.model.named_buffers())[name])
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)


def _resumed(tmp_path, model, pause, **kw):
    part = _run(model, stop_after=pause, **kw)
    assert part.history[-1]["step"] == pause and not part.trainer_state.finished
    loaded = kp.load(part.save(tmp_path / "paused.pt"))
    done = kp.resume(loaded)
    assert done.trainer_state.finished
    return part, done


@pytest.mark.parametrize(
    ("pause", "stage"),
    [(3, "lm"), (7, "adam"), (11, "lbfgs"), (16, "lm")],
    ids=["lm-first-grid", "adam", "lbfgs", "lm-last-grid"],
)
def test_pause_inside_every_optimiser_is_bit_identical(tmp_path, pause, stage):
    full = _run(kp.KAN([1, 4, 1], grid=3))
    part, done = _resumed(tmp_path, kp.KAN([1, 4, 1], grid=3), pause)
    assert part.history[-1]["stage"] == stage
    assert part.trainer_state.stage_step not in (0, dict(SCHEDULE)[stage])  # inside the stage
    if stage == "lm":  # the damping moved away from its start: a resume that dropped it would differ
        assert part.trainer_state.optimizer["lam"] != 1e-3
    _same(full, done)


def test_pause_inside_lm_on_an_mlp(tmp_path):
    full = _run(kp.MLP([1, 8, 1]), grids=None, optimizer="lm", steps=12)
    part, done = _resumed(tmp_path, kp.MLP([1, 8, 1]), 5, grids=None, optimizer="lm", steps=12)
    assert part.trainer_state.optimizer["lam"] != 1e-3
    _same(full, done)


def test_pause_inside_lm_keeps_the_stall_window(tmp_path):
    """Grid 3 stalls (the loss fell < 0.1% over 10 accepted steps) at step 47 of 60. Paused at step 44,
    the resumed stage must still hold the last accepted losses, or it declares the stall 10 steps late."""
    options = {"grids": (3, 12), "optimizer": "lm", "steps": 60, "n_interior": 64, "log_every": 1}
    full = _run(kp.KAN([1, 4, 1], grid=3), **options)
    first = [r for r in full.history if r["grid"] == 3 and r.get("stopped") == "stalled"]
    assert len(first) == 1 and 44 < first[0]["step"] <= 54  # the pause lies in the stall window
    part, done = _resumed(tmp_path, kp.KAN([1, 4, 1], grid=3), 44, **options)
    assert len(part.trainer_state.optimizer["losses"]) == 11  # the full window: 10 steps and the first
    _same(full, done)
