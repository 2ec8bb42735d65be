"""Exact resume: N steps, save, load, N more steps == 2N uninterrupted, bit for bit (CPU, float64)."""

import pytest
import torch

import kanpde as kp

SCHEDULE = [("adam", 5), ("lbfgs", 5), ("lm", 4)]


def _run(model, **kw):
    return kp.solve(
        kp.load_problem("poisson1d"),
        model,
        grids=kw.pop("grids", (3, 6)),
        optimizer=SCHEDULE,
        n_interior=48,
        log_every=1,
        **kw,
    )


def _same(a: kp.Solution, b: kp.Solution) -> None:
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)
    for name, buf in a.model.named_buffers():
        assert torch.equal(buf, dict(b.model.named_buffers())[name])
    drop = ("seconds",)
    strip = lambda h: [{k: v for k, v in r.items() if k not in drop} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)


@pytest.mark.parametrize("pause", [3, 7, 14, 21], ids=["adam", "lbfgs", "grid-change", "second-grid"])
def test_pause_save_load_resume_is_bit_identical(tmp_path, pause):
    full = _run(kp.KAN([1, 4, 1], grid=3))
    part = _run(kp.KAN([1, 4, 1], grid=3), stop_after=pause)
    assert part.history[-1]["step"] == pause and not part.trainer_state.finished
    loaded = kp.load(part.save(tmp_path / "paused.pt"))
    done = kp.resume(loaded)
    assert done.trainer_state.finished
    _same(full, done)


def test_resume_twice_and_mlp(tmp_path):
    full = _run(kp.MLP([1, 8, 1]), grids=None)
    a = _run(kp.MLP([1, 8, 1]), grids=None, stop_after=4)
    b = kp.resume(kp.load(a.save(tmp_path / "a.pt")), stop_after=9)
    c = kp.resume(kp.load(b.save(tmp_path / "b.pt")))
    _same(full, c)


def test_resume_of_a_finished_run_is_refused():
    sol = _run(kp.KAN([1, 3, 1], grid=3), grids=(3,))
    with pytest.raises(ValueError, match="already finished"):
        kp.resume(sol)
