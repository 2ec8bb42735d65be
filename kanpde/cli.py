"""The ``kanpde`` command line: list the shipped problems, solve one, export a checkpoint.

::

    kanpde list
    kanpde solve poisson2d --grids 5,10,20 --optimizer adam:200,lm:300 --out runs/p2d
    kanpde solve my_problem.py --model mlp --width 2,64,64,1 --config run.toml
    kanpde export runs/p2d/solution.pt --out p2d.h5
    kanpde symbolic runs/p2d/solution.pt

``solve`` writes into its output folder (default ``runs/<problem>``): ``solution.pt`` (checkpoint),
``solution.h5`` + ``solution.xdmf`` (fields for ParaView), ``metrics.json``, ``history.csv`` and the figures
``solution.png``, ``history.png`` and, for KANs, ``edges.png``.

A ``--config`` TOML file holds the same settings as the flags, by their long names (``boundary_points`` or
``boundary-points``), e.g. ``width = [2, 10, 1]``, ``optimizer = "adam:200,lm:300"``; flags given on the
command line override the file. Bad input ends with one line ``kanpde: error: ...`` on stderr and exit
status 2; warnings are one line ``kanpde: warning: ...`` each. An interrupted solve (Ctrl-C) saves the model
and the history as of the last logged step (``solution.pt``, ``history.csv``), says where on one line and
ends with status 130.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ._atomic import atomic_write, write_json
from .kan import KAN
from .mlp import MLP

__all__ = ["main", "MODELS", "DTYPES", "COMMANDS"]

PROG = "kanpde"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


MODELS: dict[str, type] = {"kan": KAN, "mlp": MLP}
"""Model name (``--model``) -> class."""

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}
"""``--dtype`` name -> torch dtype."""

DEVICES = ("auto", "cpu", "cuda")


class UsageError(Exception):
    """Bad command-line input; reported as one ``kanpde: error:`` line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors become :class:`UsageError` (one line, no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------------------------------
# kanpde list
# --------------------------------------------------------------------------------------------------


def _summary(path: Path) -> str:
    """First line of a problem file's module docstring, without running the file."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError):
        return "(unreadable problem file)"
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else "(no description)"


def _add_list(sub) -> None:
    sub.add_parser("list", help="list the shipped problems", description="List the shipped problems.")


def _run_list(args: argparse.Namespace) -> int:
    from .catalog import list_problems, problems_dir

    names = list_problems()
    if not names:
        print(f"no problems found in {problems_dir()}", file=sys.stderr)
        return 0
    pad = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{pad}}  {_summary(problems_dir() / f'{name}.py')}")
    return 0


# --------------------------------------------------------------------------------------------------
# kanpde solve: options
# --------------------------------------------------------------------------------------------------

# option name (TOML key / argparse dest) -> help; every one may come from the command line or the config
_SOLVE_OPTIONS = {
    "model": f"network: {', '.join(MODELS)} (default kan)",
    "width": "layer sizes, e.g. 2,10,1 (default: d,10,1 for KAN, d,64,64,64,1 for MLP)",
    "grid": "initial KAN grid intervals (default: the first of --grids, else 5)",
    "grids": "KAN grid stages, e.g. 5,10,20: the optimiser schedule runs at each",
    "steps": "steps of a single --optimizer",
    "optimizer": "an optimiser name (adam, lbfgs, lm) or a schedule such as adam:200,lm:300",
    "points": "interior collocation points",
    "boundary_points": "boundary collocation points",
    "lr": "Adam learning rate (default 0.01)",
    "device": f"{', '.join(DEVICES)} (default auto: CUDA when available)",
    "dtype": f"{', '.join(DTYPES)} (default float64)",
    "seed": "seed of the initialisation and the collocation points (default 0)",
    "activation": "MLP activation (default tanh)",
    "out": "output folder (default runs/<problem>)",
    "problem": "the problem, as in the PROBLEM argument (config file only)",
}


def _add_solve(sub) -> None:
    p = sub.add_parser(
        "solve",
        help="train a KAN or MLP on a problem and write the results",
        description="Train a KAN or MLP on a problem and write checkpoint, fields, metrics and figures.",
    )
    p.add_argument("problem", nargs="?", help="a shipped problem name (see 'kanpde list') or a .py file")
    for name, text in _SOLVE_OPTIONS.items():
        if name != "problem":
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=text)
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
    config = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _SOLVE_OPTIONS:
            raise UsageError(f"unknown key {key!r} in {file}; valid keys: {', '.join(_SOLVE_OPTIONS)}")
        config[name] = value
    return config


def _int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise UsageError(f"--{name} takes an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"--{name} takes an integer >= {minimum}, got {value!r}")
    return value


def _int_list(name: str, value, example: str) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, (list, tuple)) or not items:
        raise UsageError(f"--{name} takes comma-separated integers such as {example}, got {value!r}")
    try:
        return [_int(name, v) for v in items]
    except UsageError:
        raise UsageError(
            f"--{name} takes comma-separated positive integers such as {example}, got {value!r}"
        ) from None


def _choice(name: str, value, choices: Sequence[str]) -> str:
    if value not in choices:
        raise UsageError(f"unknown --{name} {value!r}; valid ones: {', '.join(choices)}")
    return value


def _schedule(value) -> str | list[tuple[str, int]]:
    """``"lbfgs"`` -> ``"lbfgs"``; ``"adam:200,lm:300"`` (or ``[["adam", 200], ...]``) -> stage pairs."""
    from .optim import OPTIMIZERS

    valid = f"valid optimizers: {', '.join(OPTIMIZERS)}; a schedule reads like adam:200,lm:300"
    if isinstance(value, str) and ":" not in value and "," not in value:
        if value not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer {value!r}; {valid}")
        return value
    if isinstance(value, str):
        items = [item.split(":") for item in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [list(item) if isinstance(item, (list, tuple)) else [item] for item in value]
    else:
        raise UsageError(f"--optimizer takes a name or a schedule, got {value!r}; {valid}")
    stages = []
    for item in items:
        if len(item) != 2:
            raise UsageError(f"bad optimizer schedule {value!r}: each stage is name:steps; {valid}")
        name = item[0].strip() if isinstance(item[0], str) else item[0]
        if name not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer {name!r}; {valid}")
        stages.append((name, _int("optimizer", item[1], minimum=0)))
    return stages


def _options(args: argparse.Namespace) -> dict:
    """Config file values overridden by the flags given, validated; plain values only."""
    config = _read_config(args.config) if args.config else {}
    raw = dict(config)
    raw.update({k: getattr(args, k) for k in _SOLVE_OPTIONS if getattr(args, k, None) is not None})
    if "problem" not in raw:
        raise UsageError("name a problem: kanpde solve PROBLEM (see 'kanpde list')")
    opts = {"problem": str(raw["problem"])}
    opts["model"] = _choice("model", str(raw.get("model", "kan")).lower(), list(MODELS))
    opts["width"] = _int_list("width", raw["width"], "2,10,1") if "width" in raw else None
    opts["grids"] = _int_list("grids", raw["grids"], "5,10,20") if "grids" in raw else None
    opts["grid"] = _int("grid", raw["grid"]) if "grid" in raw else None
    opts["optimizer"] = _schedule(raw["optimizer"]) if "optimizer" in raw else None
    opts["steps"] = _int("steps", raw["steps"], minimum=0) if "steps" in raw else None
    opts["points"] = _int("points", raw["points"]) if "points" in raw else None
    opts["boundary_points"] = (
        _int("boundary-points", raw["boundary_points"]) if "boundary_points" in raw else None
    )
    opts["seed"] = _int("seed", raw.get("seed", 0), minimum=0)
    opts["device"] = _choice("device", str(raw.get("device", "auto")), DEVICES)
    opts["dtype"] = _choice("dtype", str(raw.get("dtype", "float64")), list(DTYPES))
    opts["activation"] = str(raw["activation"]) if "activation" in raw else None
    opts["out"] = str(raw["out"]) if "out" in raw else None
    opts["lr"] = None
    if "lr" in raw:
        try:
            opts["lr"] = float(raw["lr"])
        except (TypeError, ValueError):
            raise UsageError(f"--lr takes a number, got {raw['lr']!r}") from None
        if not (math.isfinite(opts["lr"]) and opts["lr"] > 0):
            raise UsageError(f"--lr takes a number > 0, got {raw['lr']!r}")
    if opts["model"] != "kan" and (opts["grid"] is not None or opts["grids"] is not None):
        raise UsageError("--grid and --grids apply to KAN models only; drop them or pass --model kan")
    if opts["model"] != "mlp" and opts["activation"] is not None:
        raise UsageError("--activation applies to MLP models only; drop it or pass --model mlp")
    if opts["steps"] is not None and not isinstance(opts["optimizer"], str):
        raise UsageError(
            "--steps goes with a single --optimizer NAME; for several stages put the steps in the "
            "schedule, e.g. --optimizer adam:200,lm:300"
        )
    return opts


def _build_model(opts: dict, dim: int):
    cls = MODELS[opts["model"]]
    kwargs = {"seed": opts["seed"], "dtype": DTYPES[opts["dtype"]]}
    if opts["model"] == "kan":
        width = opts["width"] or [dim, 10, 1]
        grid = opts["grid"] or (opts["grids"][0] if opts["grids"] else 5)
        kwargs["grid"] = grid
    else:
        width = opts["width"] or [dim, 64, 64, 64, 1]
        if opts["activation"] is not None:
            kwargs["activation"] = opts["activation"]
    if width[0] != dim or width[-1] != 1:
        raise UsageError(
            f"--width {','.join(map(str, width))} does not fit the problem: it needs {dim} input{'s' if dim != 1 else ''} and "
            f"1 output, e.g. --width {dim},10,1"
        )
    return cls(width, **kwargs)


def _solve_kwargs(opts: dict) -> dict:
    kwargs = {"seed": opts["seed"], "device": opts["device"], "dtype": DTYPES[opts["dtype"]]}
    for opt, key in (("points", "n_interior"), ("boundary_points", "n_boundary"), ("lr", "lr")):
        if opts[opt] is not None:
            kwargs[key] = opts[opt]
    if opts["optimizer"] is not None:
        kwargs["optimizer"] = opts["optimizer"]
    if opts["steps"] is not None:
        kwargs["steps"] = opts["steps"]
    if opts["grids"] is not None:
        kwargs["grids"] = tuple(opts["grids"])
    return kwargs


# --------------------------------------------------------------------------------------------------
# kanpde solve: running and writing
# --------------------------------------------------------------------------------------------------


class LastState:
    """A solve callback keeping the history and a copy of the model's state at the latest record.

    The model keeps training after a record, and an interrupted step may leave it anywhere, so the state is
    copied at each record: after an interruption :meth:`model_at_last_record` gives the model that matches
    the history's last record.
    """

    def __init__(self) -> None:
        self.history: list[dict] = []
        self.model = None
        self._snapshot: tuple | None = None  # (model, state dict copy, number of records), set in one go

    def __call__(self, record: dict, model) -> None:
        state = copy.deepcopy(model.state_dict())  # tensors cloned, extra state copied
        self.history.append(dict(record))
        self.model = model
        self._snapshot = (model, state, len(self.history))

    def model_at_last_record(self):
        """``(model, history)`` as they were at the latest complete record, or ``(None, [])``."""
        if self._snapshot is None:
            return None, []
        model, state, n = self._snapshot
        model.load_state_dict(state)
        return model, self.history[:n]


def on_interrupt(problem, opts: dict, out: Path, last: LastState) -> int:
    """Hook run when a solve is interrupted (Ctrl-C): save what there is, report, return the exit status.

    The model as of the last logged step goes to ``out/solution.pt`` (a normal checkpoint whose settings
    carry ``interrupted_at_step``) and the history so far to ``out/history.csv``; one line on stderr says
    where.
    """
    from .solution import Solution
    from .train import make_settings

    model, history = last.model_at_last_record()
    if model is None:
        print(f"{PROG}: interrupted before the first logged step; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    step = history[-1]["step"]
    settings = make_settings(problem, _build_model(opts, problem.domain.dim), **_solve_kwargs(opts)).as_dict()
    settings["interrupted_at_step"] = step
    checkpoint, csv_path = out / "solution.pt", out / "history.csv"
    try:
        Solution(model, problem, history, settings).save(checkpoint)
        write_history_csv(csv_path, history)
    except OSError as err:
        print(f"{PROG}: interrupted after step {step}; could not save the model: {err}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(
        f"{PROG}: interrupted after step {step}; saved the model and history so far to {checkpoint} "
        f"and {csv_path}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def write_history_csv(path: Path, history: Sequence[dict]) -> Path:
    """One row per record; the columns are the union of the records' keys in order of appearance."""
    columns = list(dict.fromkeys(key for record in history for key in record))
    with atomic_write(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(history)
    return path


def _metrics(solution, opts: dict, seconds: float) -> dict:
    problem, model = solution.problem, solution.model
    data = {
        "problem": problem.name,
        "source": problem.source,
        "model": opts["model"],
        "model_repr": repr(model),
        "width": list(getattr(model, "width", [])),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "train_seconds": seconds,
        "steps": solution.history[-1]["step"] if solution.history else 0,
        "final_loss": solution.history[-1]["loss"] if solution.history else None,
    }
    if problem.exact is not None:
        data.update(solution.metrics())
    data.update(solution.formula_attributes())
    data["settings"] = solution.settings
    data["options"] = opts
    return data


def _write_outputs(solution, opts: dict, seconds: float, out: Path) -> dict:
    from .plotting import plot_edges, plot_history, plot_solution

    out.mkdir(parents=True, exist_ok=True)
    solution.save(out / "solution.pt")
    metrics = _metrics(solution, opts, seconds)
    write_json(out / "metrics.json", metrics)
    write_history_csv(out / "history.csv", solution.history)
    solution.export(out / "solution.h5")
    plot_solution(solution, out / "solution.png")
    if solution.history:
        plot_history(solution.history, out / "history.png")
    if isinstance(solution.model, KAN):
        plot_edges(solution.model, out / "edges.png")
    if solution.symbolic_formula is not None:
        solution.symbolic_formula.save(out / "formula.json")
    return metrics


def _run_solve(args: argparse.Namespace) -> int:
    from .distributed import init_from_env, leave

    comm = init_from_env()  # under torchrun: join the group; rank 0 alone writes and prints
    try:
        code = _solve_on(comm, args)
    except BaseException:
        leave(wait=False)
        raise
    leave()
    return code


def _solve_on(comm, args: argparse.Namespace) -> int:
    from .catalog import load_problem
    from .train import solve

    opts = _options(args)
    problem = load_problem(opts["problem"])
    model = _build_model(opts, problem.domain.dim)
    if args.symbolic and not isinstance(model, KAN):
        raise UsageError("--symbolic needs a KAN (its edges are fitted); drop it or pass --model kan")
    out = Path(opts["out"]) if opts["out"] else Path("runs") / problem.name
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; pass a folder")
    last = LastState()
    start = time.perf_counter()
    try:
        solution = solve(
            problem, model, progress=not args.no_progress, callbacks=[last], **_solve_kwargs(opts)
        )
    except KeyboardInterrupt:
        return on_interrupt(problem, opts, out, last) if comm.is_root else 130
    seconds = time.perf_counter() - start
    if not comm.is_root:
        return 0
    if args.symbolic:
        solution.formula()
    metrics = _write_outputs(solution, opts, seconds, out)
    rel = metrics.get("relative_l2")
    rows = [
        ("problem", problem.name),
        ("model", metrics["model_repr"]),
        ("params", str(metrics["params"])),
        ("relative L2", "n/a (no exact solution)" if rel is None else f"{rel:.3e}"),
        ("seconds", f"{seconds:.1f}"),
        ("out", str(out)),
    ]
    if solution.symbolic_formula is not None:
        rows.insert(4, ("formula", str(solution.symbolic_formula)))
    for key, value in rows:
        print(f"{key:<12} {value}")
    return 0


# --------------------------------------------------------------------------------------------------
# kanpde export
# --------------------------------------------------------------------------------------------------


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a checkpoint's fields to HDF5 + XDMF",
        description="Write the fields of a checkpoint to HDF5 with an XDMF file beside it (for ParaView).",
    )
    p.add_argument("checkpoint", help="a solution.pt written by 'kanpde solve' or Solution.save")
    p.add_argument("--out", default=None, help="the .h5 file or a folder (default: beside the checkpoint)")
    p.add_argument("--problem", default=None, help="the problem, when the checkpoint's cannot be found")
    p.add_argument("--resolution", default=None, help="nodes per coordinate (default: the evaluation grid)")


def _run_export(args: argparse.Namespace) -> int:
    from .catalog import load_problem
    from .solution import load

    checkpoint = Path(args.checkpoint)
    if not checkpoint.exists():
        raise FileNotFoundError(f"no checkpoint at {checkpoint}")
    resolution = _int("resolution", args.resolution, minimum=2) if args.resolution is not None else None
    problem = load_problem(args.problem) if args.problem else None
    solution = load(checkpoint, problem=problem)
    if solution.problem is None:
        raise UsageError(f"cannot find the problem of {checkpoint}; name it with --problem NAME_OR_FILE.py")
    target = Path(args.out) if args.out else checkpoint.with_suffix(".h5")
    if target.is_dir():
        target = target / checkpoint.with_suffix(".h5").name
    h5, xdmf = solution.export(target, resolution=resolution)
    print(h5)
    print(xdmf)
    return 0


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
    p.add_argument("--no-refine", action="store_true", help="compose the edge fits only (no PDE refinement)")
    p.add_argument("--out", default=None, help="also write the formula to this JSON file")


def _run_symbolic(args: argparse.Namespace) -> int:
    from .catalog import load_problem
    from .formula import symbolic
    from .metrics import relative_l2
    from .solution import evaluation_points, load

    problem = load_problem(args.problem) if args.problem else None
    solution = load(Path(args.checkpoint), problem=problem)
    if not isinstance(solution.model, KAN):
        raise UsageError(f"{args.checkpoint} holds a {type(solution.model).__name__}; symbolic needs a KAN")
    if solution.problem is None:
        raise UsageError(
            f"cannot find the problem of {args.checkpoint}; name it with --problem NAME_OR_FILE.py"
        )
    found = symbolic(solution) if args.no_refine else solution.formula()
    print(f"{'formula':<12} {found}")
    if solution.problem.exact is not None:
        print(f"{'relative L2':<12} {found.relative_l2(solution.problem):.3e} (to the exact solution)")
    else:
        x = evaluation_points(solution.problem.domain)[0]
        print(f"{'relative L2':<12} {relative_l2(found(x), solution(x)):.3e} (to the KAN; no exact solution)")
    if found.loss is not None:
        print(f"{'PDE loss':<12} {found.loss:.3e}")
    if args.out:
        print(f"{'out':<12} {found.save(Path(args.out))}")
    return 0


# --------------------------------------------------------------------------------------------------
# kanpde bench
# --------------------------------------------------------------------------------------------------


def _add_bench(sub) -> None:
    from .bench import add_arguments

    p = sub.add_parser("bench", help="KAN vs MLP on the same points and schedule, several seeds")
    add_arguments(p)


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import run_from_args

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
    from . import __version__

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
