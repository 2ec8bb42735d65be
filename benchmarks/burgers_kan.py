"""Burgers with a KAN: why the plain solve misses (issue 16), and a recipe that does better (issue 27 item 4).

    python benchmarks/burgers_kan.py                                    # all -> results/burgers_kan.{json,md}
    python benchmarks/burgers_kan.py --part recipe --recipe D --threads 1   # one recipe; other rows kept
    python benchmarks/burgers_kan.py --part none                        # rewrite the .md from the .json

**Recipes** (:data:`RECIPES`, :func:`continuation`): viscosity continuation and the symmetry condition. The
KAN is solved with Levenberg-Marquardt for ``nu = 0.05/pi``, then from that network for ``0.02/pi``, then
for the problem's ``0.01/pi``, each phase on its own grids (grid extension between them, new knots where the
residual is large), with ``u(0, t) = 0`` as a condition (:func:`symmetric`: exact, from the odd symmetry
of the problem). A wide viscous profile is easy for the splines; each phase sharpens the one before. The
symmetry condition holds the shock at ``x = 0``: without it the KAN ends with the shock a fraction of its
width off, which alone costs an error of a few 1e-2 (measured: 3.2e-2 after the same three phases on
grids (5, 10), 10, (10, 20), 2.5e-3 with it). Recipe D adds residual-driven resampling (RAD) on 4000
points in the last phase, which puts points into the shock: 1.7e-4 where B, the same without it, ends at
1.15e-3; recipe E, D with 100 steps a grid in the last phase, 9.9e-5. A row gives the phases, the error against the Cole-Hopf reference after each, the wall time of all
phases together and the thread count.

**Diagnostic** (issue 16):

Three runs of KAN [2, 10, 1] (float64, CPU, seed 0), each against the Cole-Hopf reference of
``problems/burgers1d.py``:

1. **fit** - least squares to the reference values themselves (the "residual" ``u - u_ref`` at the interior
   collocation points, zero boundary values), grids 10 and 20, Levenberg-Marquardt: can the network hold the
   shock at all?
2. **PINN from the fit** - the Burgers residual, started from run 1's network on grid 20: is the reference a
   minimum of the PINN loss for this network and these points?
3. **PINN from scratch** - the Burgers residual from the random initialisation, grids 10 and 20.

For every run: the relative L2 error on the reference grid, the share of the squared error within
``|x| < 0.02`` (the shock), the PDE residual's mean square at the training points and at 20 000 fresh
uniform points of the domain, and ``u(0, t)`` at t = 0.5 and 1 (0 in the reference: the shock stands still at
x = 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp
from kanpde._atomic import write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
POINTS = {"n_interior": 8000, "n_boundary": 400, "n_initial": 400}
_FIRST = {
    "width": [2, 5, 5, 5, 1],
    "options": {"n_interior": 2500, "knots": "residual"},
    "symmetry_points": 200,
}
RECIPES = {
    "A": {  # phases: (nu * pi, grids, Levenberg-Marquardt steps a grid)
        **_FIRST,
        "phases": [[0.05, [5, 10], 60], [0.02, [10, 20], 60], [0.01, [20, 40], 60]],
    },
    "B": {  # A without the second phase's grid 20
        **_FIRST,
        "phases": [[0.05, [5, 10], 60], [0.02, [10], 60], [0.01, [20, 40], 60]],
    },
    "C": {  # B with 100 steps a grid in the last phase
        **_FIRST,
        "phases": [[0.05, [5, 10], 60], [0.02, [10], 60], [0.01, [20, 40], 100]],
    },
    "D": {  # B with 4000 points resampled from the residual every 20 steps in the last phase
        **_FIRST,
        "phases": [
            [0.05, [5, 10], 60],
            [0.02, [10], 60],
            [0.01, [20, 40], 60, {"n_interior": 4000, "resample_every": 20}],
        ],
    },
    "E": {  # D with 100 steps a grid in the last phase
        **_FIRST,
        "phases": [
            [0.05, [5, 10], 60],
            [0.02, [10], 60],
            [0.01, [20, 40], 100, {"n_interior": 4000, "resample_every": 20}],
        ],
    },
}
"""The recipes of issue 27 item 4 (module docstring); each phase is ``kp.solve(problem_nu, model, grids=...,
steps=..., **options)`` from the network of the phase before, a phase's own options (a fourth entry) over
the recipe's."""
RECIPE = RECIPES["D"]


def _burgers():
    """The problem and its module (whose ``cole_hopf`` the fit needs), from one run of the problem file: the
    file builds the reference by quadrature, so it is not run twice."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("burgers1d", ROOT / "problems" / "burgers1d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.problem, module


def _fit_problem(problem: kp.Problem, module) -> kp.Problem:
    """``u = u_ref`` as the 'PDE' (values of the Cole-Hopf formula at the points), zero side values."""
    cache: dict = {}

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        key = (x.data_ptr(), x.shape[0])
        if key not in cache:
            xn = x.detach().cpu().numpy()
            cache[key] = torch.as_tensor(module.cole_hopf(xn[:, 0], xn[:, 1]), dtype=x.dtype, device=x.device)
        return u.value - cache[key]

    return kp.Problem(
        domain=problem.domain,
        residual=residual,
        conditions=[kp.Dirichlet(0.0)],
        reference=problem.reference,
        name="burgers1d-fit",
    )


def _report(name: str, sol: kp.Solution, seconds: float, problem: kp.Problem) -> dict:
    ref = problem.reference
    x = torch.as_tensor(np.asarray(ref.points))
    truth = np.asarray(ref.values).reshape(-1)
    u = np.asarray(sol(x)).reshape(-1)
    err = u - truth
    shock = np.abs(np.asarray(ref.points)[:, 0]) < 0.02
    solved = kp.Solution(
        sol.model, problem, sol.history, sol.settings
    )  # the Burgers residual, also for the fit
    fresh = problem.domain.sample_interior(20000, sampler="random", seed=7, dtype=torch.float64)
    train = problem.domain.sample_interior(POINTS["n_interior"], sampler="sobol", seed=0, dtype=torch.float64)
    at_zero = np.asarray(solved(torch.tensor([[0.0, 0.5], [0.0, 1.0]], dtype=torch.float64))).reshape(-1)
    return {
        "run": name,
        "relative_l2": float(np.linalg.norm(err) / np.linalg.norm(truth)),
        "shock_share": float(np.sum(err[shock] ** 2) / np.sum(err**2)),
        "residual_ms_train": float(solved.residual(train).pow(2).mean()),
        "residual_ms_fresh": float(solved.residual(fresh).pow(2).mean()),
        "u0_t05": float(at_zero[0]),
        "u0_t1": float(at_zero[1]),
        "steps": int(sol.history[-1]["step"]),
        "seconds": round(seconds, 1),
    }


def _viscous(problem: kp.Problem, nu: float) -> kp.Problem:
    """burgers1d with viscosity ``nu`` (the reference stays the one of ``0.01/pi``)."""

    def residual(x: torch.Tensor, u: kp.Field) -> torch.Tensor:
        return u.dt() + u.value * u.d("x") - nu * u.d("x", "x")

    return dataclasses.replace(problem, residual=residual)


def symmetric(problem: kp.Problem, n: int) -> kp.Problem:
    """burgers1d with the symmetry condition ``u(0, t) = 0`` at ``n`` points ``t`` evenly spaced in [0, 1].

    Exact, not data: the initial value ``-sin(pi x)`` is odd and Burgers' equation is unchanged under
    ``x -> -x, u -> -u``, so the solution is odd in ``x`` and vanishes on ``x = 0``, where the shock stands.
    """
    t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    points = torch.stack([torch.zeros_like(t), t], dim=1)  # (n, 2): columns x, t
    pin = kp.Data(points, torch.zeros(n, dtype=torch.float64))
    return dataclasses.replace(problem, conditions=[*problem.conditions, pin])


def continuation(problem: kp.Problem, module, recipe: dict = RECIPE, seed: int = 0) -> dict:
    """The recipe: one Levenberg-Marquardt solve a viscosity, each from the network of the one before, the
    last on the problem itself (with the symmetry condition when ``recipe["symmetry_points"]``). Returns the
    row: phases with their error after each, and the totals."""
    model = kp.KAN(recipe["width"], grid=recipe["phases"][0][1][0], seed=seed)
    pinned = symmetric(problem, recipe["symmetry_points"]) if recipe.get("symmetry_points") else problem
    phases, steps = [], 0
    start = time.perf_counter()
    for nu_pi, grids, per_grid, *extra in recipe["phases"]:
        nu = nu_pi / math.pi
        options = {**recipe["options"], **(extra[0] if extra else {})}
        target = pinned if math.isclose(nu, module.NU) else _viscous(pinned, nu)
        sol = kp.solve(target, model, grids=tuple(grids), steps=per_grid, seed=seed, **options)
        model, steps = sol.model, steps + int(sol.history[-1]["step"])
        phases.append(
            {
                "nu_times_pi": nu_pi,
                "grids": list(grids),
                "steps": int(sol.history[-1]["step"]),
                "ended": sol.history[-1].get("stopped", "steps used up"),
                "relative_l2": sol.relative_l2(),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(phases[-1], flush=True)
    seconds = time.perf_counter() - start
    row = _report("KAN recipe: viscosity continuation", sol, seconds, problem)
    return {**row, "steps": steps, "phases": phases, "recipe": recipe, "params": model.num_parameters}


def diagnostic(problem: kp.Problem, module) -> dict:
    """The three runs of issue 16 (module docstring)."""
    info = machine()
    rows = []
    start = time.perf_counter()
    fit = kp.solve(
        _fit_problem(problem, module), kp.KAN([2, 10, 1], grid=10), grids=(10, 20), steps=100, **POINTS
    )
    rows.append(_report("fit to the reference values", fit, time.perf_counter() - start, problem))
    start = time.perf_counter()
    warm = kp.solve(problem, fit.model, grids=(20,), steps=100, **POINTS)
    rows.append(_report("PINN from the fit", warm, time.perf_counter() - start, problem))
    start = time.perf_counter()
    cold = kp.solve(problem, kp.KAN([2, 10, 1], grid=10), grids=(10, 20), steps=100, **POINTS)
    rows.append(_report("PINN from scratch", cold, time.perf_counter() - start, problem))
    return {"machine": info, "kanpde": kanpde_source(), "points": POINTS, "rows": rows}


def _markdown(out: dict) -> list[str]:
    lines = ["# Burgers (burgers1d, nu = 0.01/pi) with a KAN", ""]
    recipes = out.get("recipes", {})
    if recipes:
        lines += ["## Recipes: viscosity continuation with the symmetry condition (issue 27 item 4)", ""]
    for name, rec in sorted(recipes.items()):
        r, m = rec["row"], rec["machine"]
        lines += [
            f"### Recipe {name}",
            "",
            f"Made by `{rec['command']}` ({source_line(rec['kanpde'])}): torch {m['torch']}, "
            f"{m['torch_threads']} thread(s), float64, CPU ({m['cpu_count']} cores shared with other jobs; load "
            f"average {[round(v, 1) for v in m['load_average_at_start']]} at start). KAN {r['recipe']['width']} "
            f"({r['params']} parameters at the end), Levenberg-Marquardt, options "
            f"`{r['recipe']['options']}` in every phase, u(0, t) = 0 at {r['recipe']['symmetry_points']} "
            "points, seed 0; error against the Cole-Hopf reference.",
            "",
            "| phase | nu | grids | steps | its own options | ended | relative L2 after it | seconds so far |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k, (ph, spec) in enumerate(zip(r["phases"], r["recipe"]["phases"], strict=True), 1):
            own = f"`{spec[3]}`" if len(spec) > 3 else ""
            lines.append(
                f"| {k} | {ph['nu_times_pi']:g}/pi | {ph['grids']} | {ph['steps']} | {own} | {ph['ended']} "
                f"| {ph['relative_l2']:.2e} | {ph['seconds']} |"
            )
        lines += [
            "",
            f"**Result**: relative L2 **{r['relative_l2']:.2e}** in **{r['seconds']} s** wall time "
            f"({r['steps']} steps, {m['torch_threads']} thread(s)); share of the squared error at |x| < 0.02 "
            f"{r['shock_share']:.2f}, u(0, 0.5) = {r['u0_t05']:+.3f}, u(0, 1) = {r['u0_t1']:+.3f} (0 in the "
            "reference).",
            "",
        ]
    if recipes:
        lines += [
            "The plain solve of the best KAN before (KAN [2, 5, 5, 5, 1], causal weights) ended at 4.2e-2 "
            "(`results/accuracy.md`). Measured on the way (scratch runs, same machine, 1 thread): the three "
            "phases without the symmetry condition on grids (5, 10), 10, (10, 20) ended at 3.2e-2 with the "
            "shock a fraction of its width off (u(0, 1) = -0.42); with it, 2.5e-3 in 182 s.",
            "",
        ]
    diag = out.get("diagnostic")
    if diag is not None:
        lines += [
            "## Diagnostic: KAN [2, 10, 1], representation vs. the PINN loss (issue 16)",
            "",
            "Made by `python benchmarks/burgers_kan.py` (" + source_line(diag["kanpde"]) + "). "
            f"Points: {POINTS['n_interior']} interior (Sobol), {POINTS['n_boundary']} boundary, "
            f"{POINTS['n_initial']} initial; Levenberg-Marquardt, 100 steps a grid; float64, "
            f"{diag['machine']['torch_threads']} threads. Errors against the Cole-Hopf reference (256 x 101 "
            "nodes).",
            "",
            "| run | relative L2 | share of the squared error at \\|x\\| < 0.02 | residual² at the training "
            "points | residual² at 20 000 fresh points | u(0, 0.5) | u(0, 1) | steps | seconds |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in diag["rows"]:
            lines.append(
                f"| {r['run']} | {r['relative_l2']:.2e} | {r['shock_share']:.2f} | {r['residual_ms_train']:.1e} "
                f"| {r['residual_ms_fresh']:.1e} | {r['u0_t05']:+.3f} | {r['u0_t1']:+.3f} | {r['steps']} "
                f"| {r['seconds']} |"
            )
        lines += [
            "",
            "For the fit the residual columns are the Burgers residual of the fitted network. The reference "
            "has u(0, t) = 0 (the shock stands at x = 0).",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part", choices=("all", "recipe", "diagnostic", "none"), default="all", help="none: rewrite the .md"
    )
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="D", help="which recipe (default D)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    problem, module = _burgers()
    path = RESULTS / "burgers_kan.json"
    out = json.loads(path.read_text()) if path.is_file() else {}
    if "rows" in out:  # the issue-16 layout: the diagnostic alone
        out = {"diagnostic": out}
    if "recipe" in out:  # one recipe, A, before there were several
        out.setdefault("recipes", {})["A"] = out.pop("recipe")
    if args.part in ("all", "diagnostic"):
        out["diagnostic"] = diagnostic(problem, module)
    if args.part in ("all", "recipe"):
        info = machine()
        command = "python benchmarks/burgers_kan.py " + " ".join(argv if argv is not None else sys.argv[1:])
        row = continuation(problem, module, RECIPES[args.recipe])
        out.setdefault("recipes", {})[args.recipe] = {
            "command": command.strip(),
            "machine": info,
            "kanpde": kanpde_source(),
            "row": row,
        }
    RESULTS.mkdir(exist_ok=True)
    write_json(path, out, indent=1)
    lines = _markdown(out)
    (RESULTS / "burgers_kan.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
