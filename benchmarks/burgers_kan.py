"""Why a KAN misses burgers1d's target (issue 16): it can represent the solution, the PINN loss does not find it.

    python benchmarks/burgers_kan.py            # -> results/burgers_kan.{json,md}

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

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
POINTS = {"n_interior": 8000, "n_boundary": 400, "n_initial": 400}


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


def main() -> int:
    problem, module = _burgers()
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
    out = {"machine": info, "kanpde": kanpde_source(), "points": POINTS, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "burgers_kan.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = [
        "# KAN [2, 10, 1] on burgers1d: representation vs. the PINN loss",
        "",
        "Made by `python benchmarks/burgers_kan.py` (" + source_line(out["kanpde"]) + "). "
        f"Points: {POINTS['n_interior']} interior (Sobol), {POINTS['n_boundary']} boundary, "
        f"{POINTS['n_initial']} initial; Levenberg-Marquardt, 100 steps a grid; float64, "
        f"{info['torch_threads']} threads. Errors against the Cole-Hopf reference (256 x 101 nodes).",
        "",
        "| run | relative L2 | share of the squared error at \\|x\\| < 0.02 | residual² at the training points "
        "| residual² at 20 000 fresh points | u(0, 0.5) | u(0, 1) | steps | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['relative_l2']:.2e} | {r['shock_share']:.2f} | {r['residual_ms_train']:.1e} "
            f"| {r['residual_ms_fresh']:.1e} | {r['u0_t05']:+.3f} | {r['u0_t1']:+.3f} | {r['steps']} "
            f"| {r['seconds']} |"
        )
    lines += [
        "",
        "For the fit the residual columns are the Burgers residual of the fitted network. The reference has "
        "u(0, t) = 0 (the shock stands at x = 0).",
    ]
    (RESULTS / "burgers_kan.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
