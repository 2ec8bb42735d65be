"""A stage stopped by a NaN restores the best parameters it has seen, not the last ones.

The residual turns NaN for one evaluation right after a chosen step (a callback arms it), so the stop is
deterministic and the loss is finite again when the trainer re-evaluates the restored model. A callback keeps
the parameters after every step; the history's loss at step k is the loss at the parameters step k started
from, so the best parameters are those after step argmin - 1, unless the point the failed step started from
(re-evaluated at the stop) is lower still.
"""

import pytest
import torch

import kanpde as kp

POISON_AFTER = 12


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])


def _run(optimizer: str, lr: float):
    armed = {"calls": 0}

    def residual(x, u):
        r = u.d("x", "x") + 1.0
        if armed["calls"] > 0:
            armed["calls"] -= 1
            return r + float("nan")
        return r

    problem = kp.Problem(kp.Interval(0.0, 1.0), residual, [kp.Dirichlet(0.0)], name="poisoned")
    model = kp.MLP([1, 8, 1], seed=0)
    after = {0: _flat(model)}  # parameters after each step; "after step 0" is the start

    def watch(record, model):
        if "stopped" not in record:
            after[record["step"]] = _flat(model)
            if record["step"] == POISON_AFTER:
                armed["calls"] = 1  # the next step's first loss evaluation is NaN

    with pytest.warns(
        RuntimeWarning, match=f"stage '{optimizer}' stopped at step {POISON_AFTER}: .*not finite"
    ):
        sol = kp.solve(
            problem,
            model,
            optimizer=optimizer,
            steps=30,
            lr=lr,
            n_interior=16,
            log_every=1,
            callbacks=[watch],
        )
    return sol, after


@pytest.mark.parametrize(("optimizer", "lr"), [("adam", 0.2), ("lm", 1e-2)])
def test_nan_stop_restores_the_best_parameters_seen(optimizer, lr):
    sol, after = _run(optimizer, lr)
    steps = [r for r in sol.history if "stopped" not in r]
    assert [r["step"] for r in steps] == list(range(1, POISON_AFTER + 1))
    assert "not finite" in sol.history[-1]["stopped"]
    losses = [r["loss"] for r in steps]
    best = min(range(len(losses)), key=losses.__getitem__)  # index of step best + 1
    if optimizer == "adam":  # Adam at this rate overshoots: the best parameters are several steps back
        assert best + 1 < POISON_AFTER - 2
    restored = _flat(sol.model)
    if optimizer == "adam":
        assert torch.equal(restored, after[best])
        # the last parameters differ: restoring mattered
        assert not torch.equal(restored, after[POISON_AFTER])
        # re-evaluated after restoring
        assert sol.history[-1]["loss"] == pytest.approx(losses[best], rel=1e-12)
    else:
        # LM lowers the loss at every step: the point the poisoned step started from is finite (the NaN was
        # one evaluation) and lower than every recorded one, so it is kept
        assert torch.equal(restored, after[POISON_AFTER])
        assert sol.history[-1]["loss"] < min(losses)
