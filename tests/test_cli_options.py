"""Every option of ``kanpde solve --help`` reaches the solver: one tiny run per option, checked in the files
the run writes (``metrics.json``, ``solution.pt``, ``history.csv``)."""

from __future__ import annotations

import csv
import json

import pytest
import torch

import kanpde as kp
from kanpde.cli import build_parser, main
from kanpde.export import read_hdf5

BASE = ["--width", "1,3,1", "--grids", "3", "--optimizer", "adam:2", "--points", "16", "--no-progress"]


def _options(metrics: dict) -> dict:
    """The keyword options of the settings a run's ``metrics.json`` records."""
    return kp.SolveSettings.from_dict(metrics["settings"]).options()


def _without(args: list[str], *flags: str) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in flags:
            skip = a != "--no-progress"
        else:
            out.append(a)
    return out


def _run(tmp_path, *args: str, problem: str = "poisson1d", base=BASE, folder: str = "out") -> dict:
    out = tmp_path / folder
    assert main(["solve", problem, *base, *args, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["_out"] = out
    return metrics


def _model(metrics: dict):
    return kp.load(metrics["_out"] / "solution.pt").model


def _history(metrics: dict) -> list[dict]:
    with (metrics["_out"] / "history.csv").open(newline="") as f:
        return list(csv.DictReader(f))


MLP_BASE = _without(BASE, "--grids")


def check_model(tmp_path):
    m = _run(tmp_path, "--model", "mlp", base=MLP_BASE)
    assert m["model"] == "mlp" and m["model_repr"].startswith("MLP(width=[1, 3, 1]")


def check_width(tmp_path):
    assert _run(tmp_path, "--width", "1,5,2,1")["width"] == [1, 5, 2, 1]


def check_grid(tmp_path):
    m = _run(tmp_path, "--grid", "4", base=_without(BASE, "--grids"))
    assert _options(m)["grids"] == [4, 8, 16] and _model(m).grid == 16


def check_activation(tmp_path):
    assert (
        "activation='sin'"
        in _run(tmp_path, "--model", "mlp", "--activation", "sin", base=MLP_BASE)["model_repr"]
    )


def check_points(tmp_path):
    assert _options(_run(tmp_path, "--points", "20"))["n_interior"] == 20


def check_boundary_points(tmp_path):
    assert _options(_run(tmp_path, "--boundary-points", "6"))["n_boundary"] == 6


def check_initial_points(tmp_path):
    m = _run(tmp_path, "--initial-points", "9", "--width", "2,3,1", problem="heat1d")
    assert _options(m)["n_initial"] == 9


def check_sampler(tmp_path):
    assert _options(_run(tmp_path, "--sampler", "random"))["sampler"] == "random"


def check_optimizer(tmp_path):
    m = _run(tmp_path, "--optimizer", "lbfgs:2,adam:1")
    assert _options(m)["optimizer"] == [["lbfgs", 2], ["adam", 1]]
    assert [r["stage"] for r in _history(m)] == ["lbfgs", "adam"]


def check_steps(tmp_path):
    # --steps without --optimizer runs the default optimiser (Levenberg-Marquardt) for that many steps
    m = _run(tmp_path, "--steps", "3", base=_without(BASE, "--optimizer"))
    assert _options(m)["optimizer"] == [["lm", 3]] and _history(m)[-1]["stage"] == "lm"


def check_grids(tmp_path):
    m = _run(tmp_path, "--grids", "3,6")
    assert _options(m)["grids"] == [3, 6] and [r["grid"] for r in _history(m)] == ["3", "6"]


def check_lr(tmp_path):
    a = _run(tmp_path, "--lr", "0.05")
    assert _options(a)["lr"] == 0.05
    b = _run(
        tmp_path, folder="default"
    )  # the default 0.01 moves the same first two Adam steps by a fifth as much
    assert a["relative_l2"] != b["relative_l2"]


def check_lm_scaling(tmp_path):
    args = ("--optimizer", "lm:3", "--grids", "8")
    a = _run(tmp_path, *args, "--lm-scaling", "marquardt")
    assert _options(a)["lm_scaling"] == "marquardt"
    b = _run(tmp_path, *args, folder="default")  # the uniform damping takes other steps
    assert _options(b)["lm_scaling"] == "uniform" and a["relative_l2"] != b["relative_l2"]


def check_seed(tmp_path):
    a = _run(tmp_path, "--seed", "3")
    model_a = _model(a)
    b = _run(tmp_path, folder="default")
    assert _options(a)["seed"] == 3 and model_a.seed == 3 and _model(b).seed == 0
    assert not torch.equal(model_a.layers[0].base_weight, _model(b).layers[0].base_weight)


def check_dtype(tmp_path):
    m = _run(tmp_path, "--dtype", "float32")
    assert _options(m)["dtype"] == "float32" and _model(m).layers[0].coef.dtype == torch.float32


def check_device(tmp_path):
    assert _options(_run(tmp_path, "--device", "cpu"))["device"] == "cpu"


def check_derivatives(tmp_path):
    assert _options(_run(tmp_path, "--derivatives", "autograd"))["derivatives"] == "autograd"


def check_log_every(tmp_path):
    m = _run(tmp_path, "--log-every", "1")
    assert _options(m)["log_every"] == 1 and [r["step"] for r in _history(m)] == ["1", "2"]


def check_compile(tmp_path):
    assert _options(_run(tmp_path, "--compile", "eager"))["compile"] == "eager"


def check_knots(tmp_path):
    m = _run(tmp_path, "--knots", "residual", "--grids", "3,6")
    first = _model(m).layers[0]
    assert _options(m)["knots"] == "residual" and first.sizes == (6,) and not first.uniform
    assert _model(_run(tmp_path, "--grids", "3,6", folder="plain")).layers[0].uniform  # the default


def check_chunk_size(tmp_path):
    a = _run(tmp_path, "--chunk-size", "7")  # 16 interior + 2 boundary points: 3 chunks
    b = _run(tmp_path, folder="out2")
    assert _options(a)["chunk_size"] == 7 and _options(b)["chunk_size"] == 16384
    assert a["relative_l2"] == pytest.approx(b["relative_l2"], rel=1e-10)  # the same sums, in chunks


def check_sparsity(tmp_path):
    m = _run(tmp_path, "--sparsity", "0.01", "--log-every", "1")
    first = _history(m)[0]
    assert _options(m)["sparsity"] == 0.01 and float(first["sparsity"]) > 0
    assert float(first["loss"]) == pytest.approx(
        float(first["residual"]) + float(first["dirichlet"]) + float(first["sparsity"]), rel=1e-12
    )
    assert "sparsity" not in _history(_run(tmp_path, "--log-every", "1", folder="plain"))[0]  # off by default


def check_restarts(tmp_path):
    a = _run(tmp_path, "--restarts", "2", "--restart-steps", "2")
    b = _run(tmp_path, folder="plain")
    assert _options(a)["restarts"] == 2 and _options(b)["restarts"] == 0
    assert a["relative_l2"] != b["relative_l2"]  # the run went on from a probe (2 steps in), not from scratch


def check_restart_steps(tmp_path):
    m = _run(tmp_path, "--restarts", "1", "--restart-steps", "3")
    assert _options(m)["restart_steps"] == 3 and _options(m)["restarts"] == 1


def check_symbolic(tmp_path):
    # poisson1d, u = sin(2 pi x) + x/2, on one KAN edge: the formula is exact after refinement
    base = [
        "--width",
        "1,1",
        "--grids",
        "3,6,12",
        "--optimizer",
        "lm:100",
        "--points",
        "200",
        "--no-progress",
    ]
    m = _run(tmp_path, "--symbolic", base=base)
    out = m["_out"]
    assert m["formula"] == "x/2 + sin(2*pi*x)" and m["formula_relative_l2"] < 1e-14
    assert kp.Formula.load(out / "formula.json").equals("sin(2*pi*x) + x/2")
    assert read_hdf5(out / "solution.h5")["attrs"]["formula"] == "x/2 + sin(2*pi*x)"
    assert kp.load(out / "solution.pt").symbolic_formula.equals("sin(2*pi*x) + x/2")
    assert "formula" not in _run(tmp_path, folder="plain")  # off by default


def check_threads(tmp_path):
    before = torch.get_num_threads()
    m = _run(tmp_path, "--threads", "1")
    assert _options(m)["threads"] == 1 and torch.get_num_threads() == before  # restored after the solve


def check_overwrite(tmp_path):
    first = _run(tmp_path, "--optimizer", "adam:1")
    assert main(["solve", "poisson1d", *BASE, "--out", str(first["_out"])]) == 2  # another run is there
    second = _run(tmp_path, "--overwrite")
    assert second["steps"] == 2 and first["steps"] == 1  # replaced, not mixed


def check_force(tmp_path, capsys):
    part = kp.solve(kp.load_problem("poisson1d"), kp.KAN([1, 3, 1], grid=3), optimizer=[("adam", 2)], grids=3,
                    n_interior=16, stop_after=1)  # fmt: skip
    checkpoint = str(part.save(tmp_path / "part.pt"))
    renamed = tmp_path / "renamed.py"
    renamed.write_text(
        "import dataclasses\nimport kanpde as kp\n"
        "problem = dataclasses.replace(kp.load_problem('poisson1d'), name='renamed')\n"
    )
    args = ["solve", str(renamed), "--resume", checkpoint, "--no-progress", "--out", str(tmp_path / "r")]
    assert main(args) == 2  # made from poisson1d: refused, and says so
    assert "it was made from problem 'poisson1d', not 'renamed'" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0 and kp.load(tmp_path / "r" / "solution.pt").trainer_state.finished


def check_out(tmp_path):
    m = _run(tmp_path)
    assert m["_out"] == tmp_path / "out" and (tmp_path / "out" / "solution.h5").is_file()


EVERY_PROBLEM = """
from pathlib import Path
import kanpde as kp

base = kp.load_problem("poisson1d")
calls = {"n": 0}


def residual(x, u):
    calls["n"] += 1
    if calls["n"] == 8 and list(Path(__file__).parent.glob("out*/solution.pt")):
        (Path(__file__).parent / "checkpoint_seen").touch()
    return base.residual(x, u)


problem = kp.Problem(base.domain, residual, base.conditions, base.exact, name="every")
"""


def check_every(tmp_path):
    problem = tmp_path / "every.py"
    problem.write_text(EVERY_PROBLEM)
    _run(tmp_path, "--optimizer", "adam:10", "--log-every", "1", problem=str(problem))
    assert not (tmp_path / "checkpoint_seen").exists()  # default: every 100 steps
    args = ["--optimizer", "adam:10", "--log-every", "1", "--every", "2"]
    _run(tmp_path, *args, problem=str(problem), folder="out2")
    assert (tmp_path / "checkpoint_seen").exists()  # a checkpoint by step 7


def check_resume(tmp_path):
    out = tmp_path / "out"
    assert main(["solve", "poisson1d", *BASE, "--out", str(out)]) == 0
    finished = kp.load(out / "solution.pt")
    part = kp.solve(
        kp.load_problem("poisson1d"),
        kp.KAN([1, 3, 1], grid=3),
        optimizer=[("adam", 2)],
        grids=3,
        n_interior=16,
        stop_after=1,
    )
    part.save(tmp_path / "part.pt")
    assert main(["solve", "--resume", str(tmp_path / "part.pt"), "--no-progress"]) == 0
    done = kp.load(tmp_path / "solution.pt")  # the run folder is the checkpoint's folder
    assert done.trainer_state.finished and (tmp_path / "metrics.json").is_file()
    assert torch.equal(done.model.layers[0].coef, finished.model.layers[0].coef)


def check_config(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('points = 24\nsampler = "grid"\nlog-every = 1\n')
    m = _run(tmp_path, "--config", str(config), "--points", "30")
    assert _options(m)["n_interior"] == 30 and _options(m)["sampler"] == "grid"  # the flag wins
    assert m["options"]["points"] == "30" and m["options"]["sampler"] == "grid"  # as given


def check_resample_every(tmp_path):
    m = _run(tmp_path, "--resample-every", "1")
    assert _options(m)["resample_every"] == 1
    assert kp.load(m["_out"] / "solution.pt").trainer_state.levers[0]["count"] == 1  # before step 2 of 2


def check_resample_k(tmp_path):
    m = _run(tmp_path, "--resample-every", "1", "--resample-k", "2")
    assert _options(m)["resample_k"] == 2.0


def check_resample_c(tmp_path):
    m = _run(tmp_path, "--resample-every", "1", "--resample-c", "0.5")
    assert _options(m)["resample_c"] == 0.5


def check_point_weights(tmp_path):
    m = _run(tmp_path, "--point-weights", "rba")
    state = kp.load(m["_out"] / "solution.pt").trainer_state
    assert _options(m)["point_weights"] == "rba" and state.levers[0]["weights"].shape == (16,)


def check_causal(tmp_path):
    m = _run(tmp_path, "--causal", "2.5", "--width", "2,3,1", problem="heat1d")
    state = kp.load(m["_out"] / "solution.pt").trainer_state
    assert _options(m)["causal"] == 2.5 and state.levers[0]["scale"].shape == (16,)


def check_causal_slices(tmp_path):
    m = _run(tmp_path, "--causal", "1", "--causal-slices", "4", "--width", "2,3,1", problem="heat1d")
    assert _options(m)["causal_slices"] == 4


def check_windows(tmp_path):
    m = _run(tmp_path, "--windows", "2", "--width", "2,3,1", problem="heat1d")
    assert [w["t"] for w in m["windows"]] == [[0.0, 0.5], [0.5, 1.0]]
    assert (m["_out"] / "window0" / "solution.pt").is_file() and (
        m["_out"] / "window1" / "solution.pt"
    ).is_file()


def check_time_steps(tmp_path):
    m = _run(tmp_path, "--time-steps", "2", "--width", "1,4,3", problem="heat1d")
    assert [w["t"] for w in m["windows"]] == [[0.0, 0.5], [0.5, 1.0]] and (m["_out"] / "fields.h5").is_file()


def check_stages(tmp_path):  # two stages: the network's two outputs fit (three, the default, would not)
    m = _run(tmp_path, "--time-steps", "1", "--stages", "2", "--width", "1,4,2", problem="heat1d")
    assert len(m["windows"]) == 1 and m["relative_l2"] < 1.0
    assert (
        main(
            ["solve", "heat1d", *BASE, "--time-steps", "1", "--width", "1,4,2", "--out", str(tmp_path / "x")]
        )
        == 2
    )


def check_fit_steps(tmp_path):  # the fit to the initial value gets --fit-steps, each time step --steps
    from kanpde import cli

    asked, real = [], cli.solve

    def recording(problem, model, **options):
        asked.append(options.get("steps", options["settings"].schedule.total_steps))
        return real(problem, model, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "solve", recording)
        m = _run(tmp_path, "--time-steps", "2", "--fit-steps", "3", "--width", "1,4,3", problem="heat1d")
    assert asked == [3, 2, 2] and len(m["windows"]) == 2  # BASE's --optimizer adam:2 in each time step
    assert main(["solve", "heat1d", *BASE, "--fit-steps", "3", "--out", str(tmp_path / "x")]) == 2


CHECKS = {
    "--model": check_model,
    "--width": check_width,
    "--grid": check_grid,
    "--activation": check_activation,
    "--points": check_points,
    "--boundary-points": check_boundary_points,
    "--initial-points": check_initial_points,
    "--sampler": check_sampler,
    "--optimizer": check_optimizer,
    "--steps": check_steps,
    "--grids": check_grids,
    "--lr": check_lr,
    "--seed": check_seed,
    "--dtype": check_dtype,
    "--device": check_device,
    "--derivatives": check_derivatives,
    "--log-every": check_log_every,
    "--compile": check_compile,
    "--resample-every": check_resample_every,
    "--resample-k": check_resample_k,
    "--resample-c": check_resample_c,
    "--point-weights": check_point_weights,
    "--causal": check_causal,
    "--causal-slices": check_causal_slices,
    "--threads": check_threads,
    "--overwrite": check_overwrite,
    "--force": check_force,
    "--knots": check_knots,
    "--chunk-size": check_chunk_size,
    "--sparsity": check_sparsity,
    "--restarts": check_restarts,
    "--restart-steps": check_restart_steps,
    "--symbolic": check_symbolic,
    "--out": check_out,
    "--every": check_every,
    "--windows": check_windows,
    "--time-steps": check_time_steps,
    "--stages": check_stages,
    "--fit-steps": check_fit_steps,
    "--lm-scaling": check_lm_scaling,
    "--resume": check_resume,
    "--config": check_config,
}


@pytest.mark.parametrize("flag", list(CHECKS))
def test_option_reaches_the_solver(flag, tmp_path, capsys):
    check = CHECKS[flag]
    check(tmp_path, capsys) if check.__code__.co_argcount == 2 else check(tmp_path)


def test_no_progress_silences_the_bar(tmp_path, capsys):
    args = ["solve", "poisson1d", *_without(BASE, "--no-progress")]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "poisson1d" in capsys.readouterr().err  # the tqdm bar
    assert main([*args, "--no-progress", "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""


def test_help_lists_only_tested_options(capsys):
    solve = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "solve")[
        1
    ]
    flags = {s for action in solve._actions for s in action.option_strings if s.startswith("--")}
    assert flags - {"--help"} == {*CHECKS, "--no-progress"}
    assert main(["solve", "--help"]) == 0
    assert "--resume" in capsys.readouterr().out


RECOMMENDING = """
import kanpde as kp

base = kp.load_problem("poisson1d")
problem = kp.Problem(
    base.domain, base.residual, base.conditions, base.exact, name="recommending",
    recommended={"model": "kan", "width": [1, 4, 1], "grid": 3, "grids": (3, 6), "optimizer": "adam", "steps": 2,
                 "n_interior": 24},
)
"""


def test_a_problem_s_recommended_settings_are_the_command_line_s_defaults(tmp_path):
    path = tmp_path / "recommending.py"
    path.write_text(RECOMMENDING)
    out = tmp_path / "a"
    assert main(["solve", str(path), "--no-progress", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["width"] == [1, 4, 1] and _options(m)["grids"] == [3, 6] and _options(m)["n_interior"] == 24
    assert _options(m)["optimizer"] == [["adam", 2]]
    out = tmp_path / "b"  # flags override; another model family drops the recommended model and grids
    assert (
        main(["solve", str(path), "--model", "mlp", "--points", "30", "--no-progress", "--out", str(out)])
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "mlp" and _options(m)["grids"] is None and _options(m)["n_interior"] == 30


def test_bad_recommended_settings_are_refused_where_the_problem_enters(tmp_path):
    """A problem file's recommended settings are checked when the file is loaded; a problem built in Python
    has them checked where they are used."""
    for i, (bad, error, match) in enumerate(
        [
            ("{'pointz': 3}", TypeError, "unknown solve option"),
            ("{'n_interior': 0}", ValueError, "n_interior must"),
        ]
    ):
        path = tmp_path / f"bad{i}.py"
        path.write_text(
            "import kanpde as kp\nbase = kp.load_problem('poisson1d')\n"
            f"problem = kp.Problem(base.domain, base.residual, base.conditions, recommended={bad})\n"
        )
        with pytest.raises(error, match=f"problem file .*bad{i}.py: recommended settings: .*{match}"):
            kp.load_problem(path)
        assert main(["solve", str(path), "--no-progress", "--out", str(tmp_path / "out")]) == 2
    base = kp.load_problem("poisson1d")
    problem = kp.Problem(base.domain, base.residual, recommended={"pointz": 3})
    with pytest.raises(TypeError, match="unknown solve option"):
        kp.solve(problem, kp.KAN([1, 2, 1]), **problem.solve_options)
    with pytest.raises(TypeError, match="recommended must be a dict of solve options"):
        kp.Problem(base.domain, base.residual, recommended=[("n_interior", 3)])
