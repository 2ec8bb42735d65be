"""The package's shape, measured: import circles, upward imports, in-function imports, the size of the training
loop and how many modules know each lever.

    python benchmarks/architecture.py                              # this checkout
    python benchmarks/architecture.py --before OLD_CHECKOUT --out results/architecture

What is counted (module = a ``.py`` file of ``kanpde/``, a package's ``__init__`` included):

* **import circles**: the strongly connected components (more than one module) of the graph of
  ``from .x import ...`` edges, counting imports inside functions; imports under ``if TYPE_CHECKING:`` are
  not executed and not counted, and edges into a package's ``__init__`` (re-exports) are dropped, since every
  submodule import passes through it;
* **upward imports**: edges from a module to one in a higher layer of :data:`LAYERS`, the data flow of
  ``problem -> points -> model -> loss -> training -> Solution -> files`` spelled out per module (same-layer
  edges are allowed);
* **in-function imports**: importer-imported pairs with an import inside a function;
* **lever knowledge**: the modules whose code (docstrings and comments stripped) names a lever.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

LAYERS: dict[str, int] = {
    # 0: foundations
    **dict.fromkeys(
        ["_checks", "_atomic", "grids", "metrics", "distributed", "jet", "taylor", "spline", "knots"], 0
    ),
    "geometry": 1,  # every geometry.* module
    **dict.fromkeys(["export", "reference"], 2),  # file formats
    **dict.fromkeys(["derivatives", "residuals", "conditions", "hard"], 3),
    "problem": 4,
    **dict.fromkeys(["network", "kan", "mlp", "models", "ansatz"], 5),  # models
    **dict.fromkeys(["loss", "sparsity", "optim", "quasinewton"], 6),  # loss and generic numerics
    **dict.fromkeys(["levers", "adaptive", "settings", "state", "formula"], 7),  # training plans, formulas
    **dict.fromkeys(["plotting", "checkpoint", "catalog"], 8),
    "solution": 9,
    **dict.fromkeys(["train", "observers", "restarts", "solver", "fitting", "marching", "stepping"], 10),
    "runfolder": 11,
    **dict.fromkeys(["bench", "cli", "__main__", "kanpde"], 12),  # front ends
}
"""Layer of every module, low to high (a subpackage's modules share its layer)."""

LEVERS: dict[str, tuple[str, ...]] = {
    "RAD": ("RAD", "resample_every", "rad_points", "resample"),
    "RBA": ("RBA", "point_weights", "rba_update"),
    "causal weights": ("Causal", "causal", "causal_scale"),
    "sparsity": ("Sparsity", "sparsity", "SparseLoss"),
    "residual knots": ("KnotRule", "KNOT_PLACEMENTS"),
}
"""Identifiers that name each lever in code."""


def modules(root: Path) -> dict[str, Path]:
    """Module name (``kanpde.x.y``) -> file."""
    out = {}
    for path in sorted((root / "kanpde").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _targets(name: str, path: Path, node: ast.ImportFrom, known: dict[str, Path]) -> list[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if node.level:
        base = package[: len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = []
    for alias in node.names:
        full = f"{target}.{alias.name}"
        if full in known:
            found.append(full)
        elif target in known:
            found.append(target)
    return found


def imports(known: dict[str, Path]) -> list[tuple[str, str, bool]]:
    """Edges ``(importer, imported, inside a function)`` between kanpde modules."""
    edges = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(node: ast.AST, inside: bool, name=name, path=path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                deeper = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                if isinstance(child, ast.ImportFrom):
                    edges.extend((name, t, deeper) for t in _targets(name, path, child, known) if t != name)
                elif isinstance(child, ast.Import):
                    edges.extend(
                        (name, a.name, deeper) for a in child.names if a.name in known and a.name != name
                    )
                visit(child, deeper)

        visit(tree, False)
    return edges


def circles(known: dict[str, Path], edges) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), edges into ``__init__`` dropped."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for a, b, _ in edges:
        if known[b].name != "__init__.py":
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in known:
        if v not in index:
            strong(v)
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else parts[0]
    if key not in LAYERS:
        raise KeyError(f"module {module} has no layer in LAYERS; add it")
    return LAYERS[key]


def code_text(path: Path) -> str:
    """The module's code without docstrings and comments."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
    return ast.unparse(tree)


def measure(root: Path) -> dict:
    known = modules(root)
    edges = imports(known)
    found = circles(known, edges)
    upward = sorted({(a, b) for a, b, _ in edges if layer(a) < layer(b)})
    texts = {name: code_text(path) for name, path in known.items()}
    levers = {
        lever: sorted(m for m, text in texts.items() if any(re.search(rf"\b{w}\b", text) for w in words))
        for lever, words in LEVERS.items()
    }
    return {
        "root": root.name,
        "modules": len(known),
        "files_in_circles": sum(len(c) for c in found),
        "circles": found,
        "upward_imports": [f"{a} -> {b}" for a, b in upward],
        "in_function_imports": sorted({f"{a} -> {b}" for a, b, inside in edges if inside}),
        "train_py_lines": len((root / "kanpde" / "train.py").read_text(encoding="utf-8").splitlines()),
        "lever_modules": levers,
    }


def _row(name: str, before: dict | None, after: dict) -> list[str]:
    def value(m: dict) -> str:
        if name == "lever_modules":
            return "; ".join(f"{k} {len(v)}" for k, v in m[name].items())
        v = m[name]
        return str(len(v)) if isinstance(v, list) else str(v)

    return [name, value(before) if before else "", value(after)]


def write(out: Path, before: dict | None, after: dict, command: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps({"command": command, "before": before, "after": after}, indent=1)
    )
    names = [
        "modules",
        "files_in_circles",
        "upward_imports",
        "in_function_imports",
        "train_py_lines",
        "lever_modules",
    ]
    lines = [
        "# The package's shape",
        "",
        f"Made by `{command}` (method: the docstring of `benchmarks/architecture.py`).",
        "",
        "| measure | before | after |",
        "|---|---|---|",
        *("| " + " | ".join(_row(n, before, after)) + " |" for n in names),
        "",
    ]
    for label, m in (("before", before), ("after", after)):
        if m is None:
            continue
        lines += [f"## {label}", "", f"- circles: {m['circles'] or 'none'}", f"- upward: {m['upward_imports'] or 'none'}",
                  f"- in-function: {m['in_function_imports'] or 'none'}"]  # fmt: skip
        lines += [f"- {k}: {', '.join(v)}" for k, v in m["lever_modules"].items()]
        lines.append("")
    out.with_suffix(".md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parent.parent), help="the checkout to measure"
    )
    parser.add_argument("--before", default=None, help="an earlier checkout to measure beside it")
    parser.add_argument("--out", default=None, help="write OUT.json and OUT.md (e.g. results/architecture)")
    args = parser.parse_args(argv)
    after = measure(Path(args.root))
    before = measure(Path(args.before)) if args.before else None
    print(json.dumps({"before": before, "after": after}, indent=1))
    if args.out:
        command = "python benchmarks/architecture.py" + (" --before OLD_CHECKOUT" if args.before else "")
        write(Path(args.out), before, after, command + f" --out {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
