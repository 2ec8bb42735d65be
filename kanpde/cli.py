"""The ``kanpde`` command line: list the shipped problems, solve one, export a checkpoint.

::

    kanpde list
    kanpde solve poisson2d --grids 5,10,20 --optimizer adam:200,lm:300 --out runs/p2d
    kanpde solve my_problem.py --model mlp --width 2,64,64,1 --config run.toml
    kanpde export runs/p2d/solution.pt --out p2d.h5
    kanpde symbolic runs/p2d/solution.pt

``solve`` writes into its output folder (default ``runs/<problem>``): ``solution.pt`` (checkpoint),
``solution.h5`` + ``solution.xdmf`` (fields for ParaView), ``metrics.json``, ``history.csv`` and the figures
``solution.png``, ``history.png`` and, for KANs, ``edges.png`` (the files of :class:`kanpde.RunFolder`).

Settings come, in increasing precedence, from the solver's defaults, the problem's ``recommended`` settings
(a problem file may name what suits it; a model given on the command line replaces the recommended model), a
``--config`` TOML file (the same settings as the flags, by their long names, ``boundary_points`` or
``boundary-points``, e.g. ``width = [2, 10, 1]``, ``optimizer = "adam:200,lm:300"``) and the flags. Bad input
ends with one line ``kanpde: error: ...`` on stderr and exit status 2; warnings are one line
``kanpde: warning: ...`` each. An interrupted solve (Ctrl-C) saves a resumable checkpoint as of the last
completed step and the history (``solution.pt``, ``history.csv``), says where and how to continue on one
line (``kanpde solve PROBLEM --resume .../solution.pt``) and ends with status 130.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from ._atomic import write_json
from ._checks import check_count
from .bench import add_arguments, run_from_args
from .catalog import describe, list_problems, load_problem, problems_dir
from .distributed import init_from_env, leave
from .formula import FormulaBudget, check_problem, check_symbolic, symbolic
from .marching import Marching, load_march, march
from .metrics import relative_l2
from .models import MODELS, build_model, is_kan
from .runfolder import RunFolder
from .settings import FlatOption, SolveSettings, flat_options
from .solution import load
from .solver import check_model, resume, solve, threads
from .stepping import discrete_time

__all__ = ["main", "COMMANDS"]

PROG = "kanpde"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class UsageError(Exception):
    """Bad command-line input; reported as one ``kanpde: error:`` line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors become :class:`UsageError` (one line, no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------------------------------
# kanpde list
# --------------------------------------------------------------------------------------------------


def _add_list(sub) -> None:
    sub.add_parser("list", help="list the shipped problems", description="List the shipped problems.")


def _run_list(args: argparse.Namespace) -> int:
    names = list_problems()
    if not names:
        print(f"no problems found in {problems_dir()}", file=sys.stderr)
        return 0
    pad = max(len(n) for n in names)
    for name in names:
        info = describe(problems_dir() / f"{name}.py")
        extra = []
        if info["fields"] and info["fields"] != ("u",):
            extra.append(f"fields {', '.join(info['fields'])}")
        if info["unknowns"]:
            extra.append(f"unknowns {', '.join(info['unknowns'])}")
        print(f"{name:<{pad}}  {info['summary']}" + (f"  [{'; '.join(extra)}]" if extra else ""))
    return 0


# --------------------------------------------------------------------------------------------------
# kanpde solve: options
# --------------------------------------------------------------------------------------------------


def _int(flag: str, text) -> int:
    """An integer from a string (a TOML integer as it is); the range is the library's to check."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    word = str(text).strip()
    try:
        return int(word)
    except ValueError:
        pass
    try:  # a whole number in scientific notation, e.g. 1e6
        value = float(word)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value == int(value) and "e" in word.lower():
        return int(value)
    raise UsageError(f"--{flag} takes an integer, got {text!r}")


def _float(flag: str, text) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return float(str(text).strip())
    except ValueError:
        raise UsageError(f"--{flag} takes a number, got {text!r}") from None


def _int_list(flag: str, text) -> list[int]:
    """``"2,10,1"`` (or a TOML list) -> ``[2, 10, 1]``."""
    items = str(text).split(",") if isinstance(text, (str, int)) else text
    if not isinstance(items, (list, tuple)) or not items:
        raise UsageError(f"--{flag} takes comma-separated integers such as 2,10,1, got {text!r}")
    try:
        return [_int(flag, v) for v in items]
    except UsageError:
        raise UsageError(f"--{flag} takes comma-separated integers such as 2,10,1, got {text!r}") from None


def _schedule(flag: str, text) -> str | list[tuple[str, int]]:
    """``"lbfgs"`` -> ``"lbfgs"``; ``"adam:200,lm:300"`` (or ``[["adam", 200], ...]``) -> stage pairs."""
    if isinstance(text, str) and ":" not in text and "," not in text:
        return text.strip()
    if isinstance(text, str):
        items = [item.split(":") for item in text.split(",")]
    elif isinstance(text, (list, tuple)):
        items = [list(item) if isinstance(item, (list, tuple)) else [item] for item in text]
    else:
        items = []
    if not items or any(len(item) != 2 for item in items):
        raise UsageError(f"--{flag} takes a name or a schedule such as adam:200,lm:300, got {text!r}")
    return [(str(name).strip(), _int(flag, steps)) for name, steps in items]


def _compile(flag: str, text) -> bool | str:
    """``true``/``false`` or a torch.compile backend name."""
    if isinstance(text, bool):
        return text
    low = str(text).strip().lower()
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(low, low)


def _bool(flag: str, text) -> bool:
    """``true``/``false`` (a flag given without a value is true)."""
    if isinstance(text, bool):
        return text
    low = str(text).strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    raise UsageError(f"--{flag} takes true or false, got {text!r}")


def _text(flag: str, text) -> str:
    return str(text).strip()


_PARSERS: dict[str, Callable] = {
    "int": _int,
    "float": _float,
    "text": _text,
    "ints": _int_list,
    "schedule": _schedule,
    "compile": _compile,
}
"""How the command line reads each kind of option (:class:`kanpde.settings.FlatOption`)."""


def _option_help(option: FlatOption) -> str:
    return option.help if option.default is None else f"{option.help} (default: {option.default})"


# flag (TOML key, argparse dest) -> (solve option, parser, help): generated from the settings' fields
_SETTINGS_FLAGS: dict[str, tuple[str, Callable, str]] = {
    o.flag: (o.name, _PARSERS[o.kind], _option_help(o)) for o in flat_options()
}
# flag -> (parser, help) of the model and the run
_MODEL_FLAGS: dict[str, tuple[Callable, str]] = {
    "model": (_text, f"network: {', '.join(MODELS)} (default kan)"),
    "width": (_int_list, "layer sizes, e.g. 2,10,1 (default: d,10,1 for KAN, d,64,64,64,1 for MLP)"),
    "grid": (_int, "initial KAN grid intervals (default: the first of --grids, else 5)"),
    "activation": (_text, "MLP activation: tanh, sin, silu, softplus (default tanh)"),
}
_RUN_FLAGS: dict[str, tuple[Callable, str]] = {
    "out": (_text, "output folder (default runs/<problem>; with --resume the checkpoint's folder)"),
    "every": (_int, f"save a resumable checkpoint every this many steps (default {100})"),
    "windows": (
        _int,
        "time-march in this many equal time windows, each from the previous one's solution (kp.march; "
        "default: the problem's recommended windows, else 1); window k is written to OUT/window<k>",
    ),
    "time_steps": (
        _int,
        "solve in this many implicit Runge-Kutta steps, a network of space holding a step's stages "
        "(kp.discrete_time; default: the problem's recommended time_steps, else none); the fields go to "
        "OUT/fields.h5, no checkpoints",
    ),
    "stages": (
        _int,
        "Runge-Kutta (Radau IIA) stages of a step with --time-steps (default: recommended, else 3)",
    ),
    "fit_steps": (
        _int,
        "optimiser steps of the fit to the initial value before the first step of --time-steps (default: "
        "recommended, else --steps)",
    ),
    "resume": (_text, "continue the run of this checkpoint (e.g. after Ctrl-C) instead of starting one"),
    "overwrite": (_bool, "replace another run's files in --out instead of refusing (default: refuse)"),
    "force": (_bool, "resume or load a checkpoint with a problem other than the one it was made from"),
    "problem": (_text, "the problem, as in the PROBLEM argument (config file only)"),
}
_DEFAULT_EVERY = 100


def _add_solve(sub) -> None:
    p = sub.add_parser(
        "solve",
        help="train a KAN or MLP on a problem and write the results",
        description="Train a KAN or MLP on a problem and write checkpoint, fields, metrics and figures.",
    )
    p.add_argument("problem", nargs="?", help="a shipped problem name (see 'kanpde list') or a .py file")
    for table in (_MODEL_FLAGS, {k: v[1:] for k, v in _SETTINGS_FLAGS.items()}, _RUN_FLAGS):
        for name, (parse, text) in table.items():
            if name == "problem":
                continue
            flag = f"--{name.replace('_', '-')}"
            if parse is _bool:
                p.add_argument(flag, dest=name, action="store_const", const=True, default=None, help=text)
            else:
                p.add_argument(flag, dest=name, default=None, help=text)
    p.add_argument("--config", default=None, help="a TOML file with any of the options above")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--symbolic",
        action="store_true",
        help="also find the solution's formula (KAN only; see 'kanpde symbolic')",
    )


def _read_config(path: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as err:
            raise UsageError("--config needs Python 3.11 or the 'tomli' package") from err
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no config file at {file}")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"config file {file} is not valid TOML: {err}") from err
    valid = [*_MODEL_FLAGS, *_SETTINGS_FLAGS, *_RUN_FLAGS]
    config = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in valid:
            raise UsageError(f"unknown key {key!r} in {file}; valid keys: {', '.join(valid)}")
        config[name] = value
    return config


def _raw_options(args: argparse.Namespace) -> dict:
    """Config file values overridden by the flags given (unparsed)."""
    raw = _read_config(args.config) if args.config else {}
    flags = [*_MODEL_FLAGS, *_SETTINGS_FLAGS, *_RUN_FLAGS]
    raw.update({k: getattr(args, k) for k in flags if getattr(args, k, None) is not None})
    return raw


def _flag_names(message: str, flags: dict[str, str]) -> str:
    """The library's error in the command line's words: option ``n_interior`` -> ``--points``."""
    for name, flag in flags.items():
        message = re.sub(rf"(?<![-\w]){name}(?![\w])", f"--{flag.replace('_', '-')}", message)
    return message


def _in_flag_words(make: Callable, names: dict[str, str]):
    """``make()``, with a library error reworded for the command line (option names as flags)."""
    try:
        return make()
    except (ValueError, TypeError) as err:
        raise UsageError(_flag_names(str(err), names)) from err


_SETTINGS_NAMES = {field: flag for flag, (field, _, _) in _SETTINGS_FLAGS.items()}
_MODEL_NAMES = {"grid": "grid", "width": "width", "activation": "activation"}


def _settings(raw: dict, recommended: dict | None = None) -> SolveSettings:
    """The solve settings: the problem's recommended ones, overridden by the options (parsed from strings
    here, checked by the library)."""
    options = dict(recommended or {})
    options.update(
        {field: parse(flag, raw[flag]) for flag, (field, parse, _) in _SETTINGS_FLAGS.items() if flag in raw}
    )
    return _in_flag_words(lambda: SolveSettings(**options), _SETTINGS_NAMES)


def _recommended(problem, raw: dict) -> tuple[dict, dict]:
    """The problem's recommended solve settings and model; a model given on the command line replaces the
    recommended model (and, for another family, its grids)."""
    settings, model = problem.solve_options, problem.model_options
    if any(flag in raw for flag in _MODEL_FLAGS):
        family = str(raw.get("model", model.get("model", "kan"))).lower()
        if family != str(model.get("model", "kan")).lower():
            settings = {k: v for k, v in settings.items() if k != "grids"}
        model = {}
    return settings, model


def _model(raw: dict, settings: SolveSettings, n_in: int, n_out: int = 1, recommended: dict | None = None):
    """The model from the options (else the problem's recommended model): family, width and the family's
    own options."""
    opts = dict(recommended or {})
    opts.update({flag: parse(flag, raw[flag]) for flag, (parse, _) in _MODEL_FLAGS.items() if flag in raw})
    family = opts.pop("model", "kan").lower()
    if family not in MODELS:
        raise UsageError(f"unknown --model {family!r}; valid ones: {', '.join(MODELS)}")
    if family == "kan" and "grid" not in opts:
        sizes = settings.schedule.grids.sizes
        opts["grid"] = sizes[0] if sizes else 5
    width = opts.pop("width", None)

    def build():
        return build_model(
            family,
            width,
            n_in=n_in,
            n_out=n_out,
            seed=settings.sampling.seed,
            dtype=settings.runtime.torch_dtype,
            **opts,
        )

    return _in_flag_words(build, _MODEL_NAMES)


def _run_solve(args: argparse.Namespace) -> int:
    comm = init_from_env()  # under torchrun: join the group; rank 0 alone writes and prints
    try:
        code = _solve_on(comm, args)
    except BaseException:
        leave(wait=False)
        raise
    leave()
    return code


def _solve_on(comm, args: argparse.Namespace) -> int:
    raw = _raw_options(args)
    if args.problem is not None:
        raw["problem"] = args.problem
    every = _RUN_FLAGS["every"][0]("every", raw.get("every", _DEFAULT_EVERY))
    overwrite = _bool("overwrite", raw.get("overwrite", False))
    options = {"metadata": {"options": _plain_options(raw)}, "formula": args.symbolic, "overwrite": overwrite}
    options["progress"] = not args.no_progress
    if "resume" in raw:
        if "windows" in raw or "time_steps" in raw:
            what = "a march (--windows)" if "windows" in raw else "--time-steps"
            raise UsageError(f"--resume continues one solve; {what} starts afresh: drop one of them")
        solution = _resumable(raw)
        out = Path(raw["out"]) if "out" in raw else Path(raw["resume"]).parent
        _check_symbolic(args, solution.problem, solution.model)
        folder = RunFolder(out, every, **options)
        folder.claim(solution.trainer_state.run_id, resuming=True)

        def run():
            return resume(solution, progress=not args.no_progress, callbacks=[folder])

        problem = solution.problem
    else:
        if "problem" not in raw:
            raise UsageError("name a problem: kanpde solve PROBLEM (see 'kanpde list')")
        problem = load_problem(str(raw["problem"]))
        recommended_settings, recommended_model = _recommended(problem, raw)
        settings = _settings(raw, recommended_settings)
        if "time_steps" in raw and "windows" in raw:
            raise UsageError("--windows and --time-steps are two ways to go through time: drop one of them")
        time_steps = (  # a --windows given on the command line wins over a recommended time_steps
            _count(raw, "time_steps", 0)
            if "time_steps" in raw
            else (0 if "windows" in raw else problem.time_steps)
        )
        if "fit_steps" in raw and not time_steps:
            raise UsageError(
                "--fit-steps is the fit before the first implicit Runge-Kutta step: it needs --time-steps "
                "(or a problem that recommends time_steps)"
            )
        if time_steps:
            stages = _count(raw, "stages", problem.stages)
            fit_steps = _count(raw, "fit_steps", 1) if "fit_steps" in raw else problem.fit_steps
            model = _model(raw, settings, problem.domain.space_dim, stages, recommended_model)
            out = Path(raw["out"]) if "out" in raw else Path("runs") / problem.name
            steps = (time_steps, stages, fit_steps)
            return _step_on(comm, args, problem, model, settings, steps, out, every, options)
        model = _model(raw, settings, problem.domain.dim, len(problem.fields), recommended_model)
        check_model(problem, model)  # as solve() does, before the settings (and before the folder is claimed)
        settings = _in_flag_words(lambda: settings.check(problem, model), _SETTINGS_NAMES)
        out = Path(raw["out"]) if "out" in raw else Path("runs") / problem.name
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out} is a file; pass a folder")
        _check_symbolic(args, problem, model)
        windows = _count(raw, "windows", problem.windows)
        if windows > 1:
            return _march_on(comm, args, problem, model, settings, windows, out, every, options)
        folder = RunFolder(out, every, **options)
        folder.claim()  # an unwritable, locked or occupied folder is an error now, not after training

        def run():
            return solve(problem, model, settings=settings, progress=not args.no_progress, callbacks=[folder])

    start = time.perf_counter()
    try:
        with _sigterm_as_interrupt():
            solution = run()
            if comm.is_root:
                _print_summary(problem, solution, folder.path, time.perf_counter() - start)
    except KeyboardInterrupt as err:
        return _interrupted(folder, raw, err) if comm.is_root else _exit_code(err)
    finally:
        folder.release()
    return 0


def _count(raw: dict, name: str, default: int) -> int:
    """A whole-number flag ``--name`` >= 1, else ``default`` (parsed from a string where given as one)."""
    value = raw.get(name, default)
    value = _RUN_FLAGS[name][0](name, value) if isinstance(value, str) else value
    return _in_flag_words(lambda: check_count(f"--{name.replace('_', '-')}", value), {})


class Terminated(KeyboardInterrupt):
    """SIGTERM (what batch schedulers send at a time limit), handled as Ctrl-C is."""


@contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (the main thread only; elsewhere as it was)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def _exit_code(err: KeyboardInterrupt) -> int:
    """The exit status of an interruption: 143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED


def _march_on(
    comm, args, problem, model, settings, windows: int, out: Path, every: int, options: dict
) -> int:
    """``kanpde solve --windows K``: :func:`kanpde.march` in ``K`` windows, window ``k`` written to
    ``OUT/window<k>`` (its checkpoint, history, fields and figures), the whole march's metrics to
    ``OUT/metrics.json``; ``OUT`` is claimed (locked) for the whole march."""
    if args.symbolic:
        raise UsageError("--symbolic reads one network's formula; a march has one network a window: drop it")
    top = RunFolder(out, every, **options)
    top.claim()
    count, finished = iter(range(windows)), [0]

    def solve_window(window_problem, window_model, **solve_options):
        k = next(count)
        metadata = {**options["metadata"], "window": k}
        folder = RunFolder(out / f"window{k}", every, **{**options, "metadata": metadata})
        solution = solve(
            window_problem, window_model, progress=not args.no_progress, callbacks=[folder], **solve_options
        )
        finished[0] += 1
        return solution

    start = time.perf_counter()
    try:
        with _sigterm_as_interrupt():
            marched = _in_flag_words(
                lambda: march(problem, model, windows, solve=solve_window, settings=settings), {}
            )
        if comm.is_root:
            metrics = marched.metrics() if problem.has_truth else {}
            write_json(out / "metrics.json", metrics)
            _print_summary(problem, marched, out, time.perf_counter() - start)
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted; {_finished_windows(finished[0], windows, out)}", file=sys.stderr)
        return _exit_code(err)
    finally:
        top.release()
    return 0


def _step_on(comm, args, problem, model, settings, steps: tuple, out: Path, every, options) -> int:
    """``kanpde solve --time-steps N``: :func:`kanpde.discrete_time` in ``N`` steps of ``stages`` stages
    (``steps``: ``(N, stages, fit_steps)``),
    the fields over the whole time span to ``OUT/fields.h5`` (+ ``.xdmf``), the metrics to
    ``OUT/metrics.json``; ``OUT`` is claimed (locked) for the run. The steps keep no checkpoints."""
    if args.symbolic:
        raise UsageError(
            "--symbolic reads one network's formula; --time-steps has one network a step: drop it"
        )
    time_steps, stages, fit_steps = steps
    top = RunFolder(out, every, **options)
    top.claim()
    done, start = [0], time.perf_counter()

    def solve_step(step_problem, step_model, **solve_options):  # the fit to the initial value, then the steps
        solution = solve(step_problem, step_model, **solve_options)
        done[0] += 1
        steps_done = done[0] - 1
        if (
            not args.no_progress
            and comm.is_root
            and steps_done
            and steps_done % max(1, time_steps // 10) == 0
        ):
            print(f"step {steps_done} of {time_steps}, {time.perf_counter() - start:.0f} s", file=sys.stderr)
        return solution

    try:
        with _sigterm_as_interrupt():
            stepped = _in_flag_words(
                lambda: discrete_time(
                    problem,
                    model,
                    time_steps,
                    stages=stages,
                    fit_steps=fit_steps,
                    solve=solve_step,
                    settings=settings,
                ),
                {},
            )
        if comm.is_root:
            top.drop_replaced()  # --overwrite: the other run's files go before this run writes its own
            if stepped.exportable:
                stepped.export(out / "fields.h5")
            metrics = stepped.metrics() if problem.has_truth else {}
            write_json(out / "metrics.json", {**metrics, "options": options["metadata"]["options"]})
            _print_summary(problem, stepped, out, time.perf_counter() - start)
    except KeyboardInterrupt as err:
        print(
            f"{PROG}: interrupted after {max(done[0] - 1, 0)} of {time_steps} steps; the steps keep no "
            "checkpoints, nothing was written",
            file=sys.stderr,
        )
        return _exit_code(err)
    finally:
        top.release()
    return 0


def _finished_windows(done: int, windows: int, out: Path) -> str:
    """What an interrupted march leaves: ``done`` of ``windows`` windows finished in ``out/window<k>``."""
    if done == 0:
        return f"window 0 of {windows} was not finished (its last checkpoint: {out}/window0/solution.pt)"
    paths = f"[f'{out}/window{{k}}/solution.pt' for k in range({done})]"
    reopen = f"kp.load_march({paths}, problem, windows={windows}) reopens them"
    which = "window 0 of" if done == 1 else f"windows 0..{done - 1} of"
    return f"{which} {windows} finished in {out}/window<k> ({reopen})"


def _check_symbolic(args: argparse.Namespace, problem, model) -> None:
    """``--symbolic`` needs a KAN on a problem a formula can describe; say so before training."""
    if not args.symbolic:
        return
    if not is_kan(model):
        raise UsageError("--symbolic needs a KAN (its edges are fitted); drop it or pass --model kan")
    try:
        check_problem(problem)
    except ValueError as err:
        raise UsageError(f"--symbolic: {err}") from err


def _resumable(raw: dict):
    """The checkpoint of ``--resume`` with its problem attached; training options come from it alone."""
    given = sorted(set(raw) & {*_SETTINGS_FLAGS, *_MODEL_FLAGS})  # noqa: C401
    if given:
        flags = ", ".join(f"--{g.replace('_', '-')}" for g in given)
        raise UsageError(
            f"--resume continues the run stored in the checkpoint with its own settings; drop {flags}"
        )
    force = _bool("force", raw.get("force", False))
    solution = load(raw["resume"], problem=raw.get("problem"), force=force)
    if solution.problem is None:
        raise UsageError(
            f"the checkpoint {raw['resume']} was not made from a shipped problem; name its problem file: "
            f"kanpde solve PROBLEM.py --resume {raw['resume']}"
        )
    return solution


def _plain_options(raw: dict) -> dict:
    return {k: v if isinstance(v, (int, float, bool, list)) else str(v) for k, v in raw.items()}


def _interrupted(folder: RunFolder, raw: dict, err: KeyboardInterrupt) -> int:
    """One line saying what the interruption left, and the exit status (130 Ctrl-C, 143 SIGTERM)."""
    code = _exit_code(err)
    what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
    if folder.phase == "writing":
        message = (
            f"{what} while writing the final files; the finished run's checkpoint is {folder.checkpoint} "
            f"(write the fields with: kanpde export {folder.checkpoint})"
        )
    elif folder.phase == "done":
        message = f"{what} after the run finished; its files are in {folder.path}"
    elif folder.interrupted is None:
        message = f"{what} before training started; nothing written"
    else:
        name = raw.get("problem", "PROBLEM")
        message = (
            f"{what} after step {folder.interrupted}; saved a resumable checkpoint to {folder.checkpoint} and "
            f"the history to {folder.history_csv}; continue with: kanpde solve {name} --resume {folder.checkpoint}"
        )
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def _print_summary(problem, solution, out: Path, seconds: float) -> None:
    rel = solution.relative_l2() if problem.has_truth else None
    truth = "reference" if problem.exact is None else "exact"
    rows = [("problem", problem.name), ("model", repr(solution.model))]
    if hasattr(solution, "times"):  # a march (kp.Marching)
        rows.append(
            ("windows", f"{len(solution.solutions)} of length {solution.times[1] - solution.times[0]:.4g}")
        )
    rows.append(("params", str(solution.model.num_parameters)))
    rows.append(
        ("relative L2", "n/a (no exact solution or reference)" if rel is None else f"{rel:.3e} (vs {truth})")
    )
    if solution.symbolic_formula is not None:
        rows.append(("formula", str(solution.symbolic_formula)))
    if rel is not None and len(problem.fields) > 1:  # a system: each field's error too
        rows += [(f"  {name}", f"{solution.relative_l2(name):.3e}") for name in problem.fields]
    rows += [(f"{name}", f"{value:.6g} (unknown)") for name, value in solution.unknowns.items()]
    rows += [("seconds", f"{seconds:.1f}"), ("out", str(out))]
    for key, value in rows:
        print(f"{key:<12} {value}")


# --------------------------------------------------------------------------------------------------
# kanpde export
# --------------------------------------------------------------------------------------------------


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a checkpoint's fields to HDF5 + XDMF",
        description="Write the fields of a checkpoint to HDF5 with an XDMF file beside it (for ParaView).",
    )
    p.add_argument(
        "checkpoint",
        help="a solution.pt written by 'kanpde solve' or Solution.save, or the folder of a march "
        "('kanpde solve --windows K' writes OUT/window<k>): its windows as one time series",
    )
    p.add_argument("--out", default=None, help="the .h5 file or a folder (default: beside the checkpoint)")
    p.add_argument(
        "--problem",
        default=None,
        help="the problem (shipped name or file) for the exact solution and the residual, when the checkpoint "
        "was not made from a shipped problem",
    )
    p.add_argument("--resolution", default=None, help="nodes per coordinate (default: the evaluation grid)")
    p.add_argument(
        "--force",
        action="store_true",
        help="use --problem even when the checkpoint was made from another one",
    )
    p.add_argument(
        "--windows",
        default=None,
        help="a march folder: the number of windows it was made in, when only its first ones are there "
        "(an interrupted march; default: the window<k> folders found)",
    )


def _run_export(args: argparse.Namespace) -> int:
    checkpoint = Path(args.checkpoint)
    resolution = _int("resolution", args.resolution) if args.resolution is not None else None
    if (checkpoint / "window0").is_dir():  # the folder of a march
        solution = _load_march_folder(checkpoint, args)
        target = _output(args.out, checkpoint / "march", "march.h5", (".h5", ".xdmf"))
    else:
        if args.windows is not None:
            raise UsageError("--windows reads a march folder; drop it for one checkpoint")
        solution = load(checkpoint, problem=args.problem, force=args.force)
        target = _output(args.out, checkpoint, checkpoint.with_suffix(".h5").name, (".h5", ".xdmf"))
    h5, xdmf = solution.export(target, resolution=resolution)
    print(h5)
    print(xdmf)
    return 0


def _load_march_folder(folder: Path, args: argparse.Namespace) -> Marching:
    """The march ``kanpde solve --windows K`` wrote to ``folder`` (``window<k>/solution.pt``, k = 0, 1, ...)."""
    paths = []
    while (folder / f"window{len(paths)}" / "metrics.json").is_file():  # written when a window finishes
        paths.append(folder / f"window{len(paths)}" / "solution.pt")
    unfinished = folder / f"window{len(paths)}" / "solution.pt"
    if not paths:
        raise UsageError(
            f"{folder} holds no finished window (window0/metrics.json): pass a checkpoint (a solution.pt) or "
            "the folder of a march (kanpde solve --windows K)"
            + (f"; window 0 was interrupted, its checkpoint is {unfinished}" if unfinished.is_file() else "")
        )
    if args.problem is None:
        raise UsageError(
            f"exporting the march in {folder} needs --problem: the problem it solved (a shipped name or a "
            "problem file you trust)"
        )
    if args.force:
        raise UsageError("--force opens one checkpoint against another problem; a march cannot: drop it")
    windows = len(paths) if args.windows is None else check_count("--windows", _int("windows", args.windows))
    if unfinished.is_file():
        print(
            f"{PROG}: window {len(paths)} of {folder} was not finished; exporting windows 0..{len(paths) - 1}",
            file=sys.stderr,
        )
    try:
        return load_march(paths, args.problem, windows=windows)
    except ValueError as err:
        hint = "" if args.windows else " (here: --windows K for an interrupted march of K windows)"
        raise UsageError(f"{err}{hint}") from err


def _output(out: str | None, checkpoint: Path, name: str, companions: tuple[str, ...]) -> Path:
    """The file ``--out`` names: beside the checkpoint when not given; ``name`` inside a folder (an existing
    one, or one written with a trailing separator, which is created). Writing over the checkpoint itself is
    refused (``companions``: the suffixes of the files written beside the target)."""
    if out is None:
        target = checkpoint.parent / name
        out = str(target)
    elif out.endswith(("/", os.sep)) or Path(out).is_dir():
        Path(out).mkdir(parents=True, exist_ok=True)
        target = Path(out) / name
    else:
        target = Path(out)
    written = {target.resolve(), *(target.with_suffix(s).resolve() for s in companions)}
    if checkpoint.resolve() in written:
        raise UsageError(
            f"--out {out} would write over the checkpoint {checkpoint}; pass another file or a folder"
        )
    return target


# --------------------------------------------------------------------------------------------------
# kanpde symbolic
# --------------------------------------------------------------------------------------------------


def _add_symbolic(sub) -> None:
    p = sub.add_parser(
        "symbolic",
        help="print the formula of a KAN solution and its error",
        description="Fit the edges of a KAN checkpoint to library functions, compose them, refine the constants "
        "against the PDE and print the formula with its relative L2 error against the exact solution (or, "
        "without one, against the KAN).",
    )
    p.add_argument("checkpoint", help="a solution.pt of a KAN written by 'kanpde solve' or Solution.save")
    p.add_argument("--problem", default=None, help="the problem, when the checkpoint's cannot be found")
    p.add_argument(
        "--force",
        action="store_true",
        help="use --problem even when the checkpoint was made from another one",
    )
    p.add_argument("--no-refine", action="store_true", help="compose the edge fits only (no PDE refinement)")
    p.add_argument("--out", default=None, help="also write the formula to this JSON file")
    p.add_argument(
        "--budget",
        type=float,
        default=FormulaBudget().seconds,
        metavar="SECONDS",
        help="wall time of the search (default %(default)g s); a KAN of more than "
        f"{FormulaBudget().max_edges} edges is pruned or narrowed to a KAN [d, w, 1] first",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="torch CPU threads (default: as torch sets them)",
    )


def _run_symbolic(args: argparse.Namespace) -> int:
    target = (
        _output(args.out, Path(args.checkpoint), "formula.json", ()) if args.out else None
    )  # before fitting
    solution = load(Path(args.checkpoint), problem=args.problem, force=args.force)
    if solution.problem is None:
        raise UsageError(
            f"cannot find the problem of {args.checkpoint}; name it with --problem NAME_OR_FILE.py"
        )
    try:
        check_symbolic(solution.problem, solution.model)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{args.checkpoint}: {err}") from err
    try:
        budget = FormulaBudget(seconds=args.budget)
    except ValueError as err:
        raise UsageError(f"--budget: {err}") from err
    if args.threads is not None:
        _in_flag_words(lambda: check_count("--threads", args.threads), {})
    with threads(args.threads):
        found = symbolic(solution) if args.no_refine else solution.formula(budget=budget)
    print(f"{'formula':<12} {found}")
    if solution.problem.exact is not None:
        print(f"{'relative L2':<12} {found.relative_l2(solution.problem):.3e} (to the exact solution)")
    else:
        x = solution.problem.domain.evaluation_points()[0]
        print(f"{'relative L2':<12} {relative_l2(found(x), solution(x)):.3e} (to the KAN; no exact solution)")
    if found.loss is not None:
        print(f"{'PDE loss':<12} {found.loss:.3e}")
    if target is not None:
        print(f"{'out':<12} {found.save(target)}")
    return 0


# --------------------------------------------------------------------------------------------------
# kanpde bench
# --------------------------------------------------------------------------------------------------


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="KAN vs MLP on the same points and schedule, several seeds")
    add_arguments(p)


def _run_bench(args: argparse.Namespace) -> int:
    return run_from_args(args)


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------

Command = tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], int]]

COMMANDS: dict[str, Command] = {
    "list": (_add_list, _run_list),
    "solve": (_add_solve, _run_solve),
    "export": (_add_export, _run_export),
    "symbolic": (_add_symbolic, _run_symbolic),
    "bench": (_add_bench, _run_bench),
}
"""Sub-command name -> (function adding its parser to the sub-parsers, function running it)."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Physics-informed KANs for partial differential equations.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, ``kanpde: warning: ...`` (no source line)."""
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def _error(message: str) -> int:
    text = " ".join(str(message).split()) or "failed"
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Run the ``kanpde`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        return _error(str(err))
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    if args.command is None:
        return _error(f"name a command: {', '.join(COMMANDS)} (see '{PROG} --help')")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return COMMANDS[args.command][1](args)
    except (UsageError, ValueError, TypeError, OSError) as err:
        return _error(str(err) or type(err).__name__)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
