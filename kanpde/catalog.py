"""Problem files: find them by name in ``problems/`` or by path, and load them.

A problem file is a Python file that defines ``problem`` (a :class:`~kanpde.Problem`) or
``make_problem(**params)`` returning one. **Problem files are executable Python**: loading one runs it, so
only load files you trust. kanpde loads only the path you name or a file of the shipped ``problems/`` folder.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import sys
from pathlib import Path

from .problem import Problem
from .settings import SolveSettings

__all__ = ["problems_dir", "list_problems", "load_problem", "describe"]


def problems_dir() -> Path:
    """The shipped ``problems/`` folder (beside the package; ``KANPDE_PROBLEMS`` overrides it)."""
    override = os.environ.get("KANPDE_PROBLEMS")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "problems"


def list_problems() -> list[str]:
    """Names of the shipped problems."""
    folder = problems_dir()
    return (
        sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")) if folder.is_dir() else []
    )


def _resolve(ref: str | Path) -> Path:
    ref = str(ref)
    if ref.endswith(".py") or os.sep in ref or "/" in ref:
        path = Path(ref)
        if path.is_dir():
            raise FileNotFoundError(f"no problem file at {path}: it is a folder; pass a path to a .py file")
        if not path.is_file():
            raise FileNotFoundError(f"no problem file at {path}; pass a path to a .py file or a shipped name")
        return path
    path = problems_dir() / f"{ref}.py"
    if not path.is_file():
        names = ", ".join(list_problems()) or "(none found)"
        raise ValueError(f"unknown problem {ref!r}; shipped problems: {names}; or pass a path to a .py file")
    return path


def load_problem(ref: str | Path, **params) -> Problem:
    """Load a problem by shipped name (``"poisson2d"``) or file path, passing ``params`` to ``make_problem``."""
    path = _resolve(ref)
    name = f"_kanpde_problem_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load {path} as a Python module; a problem file must end in .py")
    module = importlib.util.module_from_spec(spec)
    # Registered under its private name so that tools which re-import a function's module (pickle,
    # torch.compile) find it; a file that fails to load is unregistered again.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(name, None)
        raise ValueError(f"problem file {path} has a syntax error at line {err.lineno}: {err.msg}") from err
    except Exception as err:
        sys.modules.pop(name, None)
        raise ValueError(f"problem file {path} raised {type(err).__name__} while loading: {err}") from err
    if hasattr(module, "make_problem"):
        try:
            problem = module.make_problem(**params)
        except Exception as err:
            hint = f" (parameters {params})" if params and isinstance(err, TypeError) else ""
            raise ValueError(f"make_problem in {path} raised {type(err).__name__}{hint}: {err}") from err
    elif params:
        raise ValueError(f"{path} defines no make_problem(**params), so it takes no parameters; got {params}")
    else:
        problem = getattr(module, "problem", None)
    if not isinstance(problem, Problem):
        raise ValueError(f"{path} defines no 'problem' (a kanpde.Problem) nor make_problem() returning one")
    _check_recommended(problem, path)
    return dataclasses.replace(problem, source=str(path.resolve()))


def _check_recommended(problem: Problem, path: Path) -> None:
    """The problem's recommended solve settings, each checked where settings check it."""
    if not problem.recommended:
        return
    try:
        SolveSettings(**problem.solve_options)
        problem.windows, problem.time_steps, problem.stages, problem.fit_steps  # noqa: B018 (checks the marching keys)
    except (TypeError, ValueError) as err:
        raise type(err)(f"problem file {path}: recommended settings: {err}") from err


def _literal_names(node, assigned: dict) -> tuple[str, ...] | None:
    if isinstance(node, ast.Name):
        node = assigned.get(node.id)
    if isinstance(node, (ast.Tuple, ast.List)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return tuple(e.value for e in node.elts)
    return None


def describe(path: str | Path) -> dict:
    """What a problem file declares, read without running it: the first docstring line (``summary``), the
    ``fields`` (when written as a literal ``fields=(...)``) and the names of its ``Unknown(...)``s."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {"summary": "(unreadable problem file)", "fields": None, "unknowns": ()}
    doc = ast.get_docstring(tree)
    summary = doc.strip().splitlines()[0].strip() if doc and doc.strip() else "(no description)"
    assigned = {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    fields, unknowns = None, []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "fields" and fields is None:
                fields = _literal_names(kw.value, assigned)
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name == "Unknown" and node.args and isinstance(node.args[0], ast.Constant):
            unknowns.append(str(node.args[0].value))
    return {"summary": summary, "fields": fields, "unknowns": tuple(dict.fromkeys(unknowns))}
