"""Problem files: find them by name in ``problems/`` or by path, and load them.

A problem file is a Python file that defines ``problem`` (a :class:`~kanpde.Problem`) or
``make_problem(**params)`` returning one. **Problem files are executable Python**: loading one runs it, so
only load files you trust. kanpde loads only the path you name or a file of the shipped ``problems/`` folder.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from pathlib import Path

from .problem import Problem

__all__ = ["problems_dir", "list_problems", "load_problem"]


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
    return dataclasses.replace(problem, source=str(path.resolve()))
