"""Time to accuracy: kanpde beside pykan 0.2.8 and DeepXDE 1.15 (PyTorch backend), each with its own recipe.

One run solves two shipped problems with every code, float64 on the CPU, the same torch thread count:

* ``poisson2d``: the KAN paper's Poisson problem (Liu et al. 2024, section 3.4), Δu = f on [-1, 1]², u = 0 on
  the boundary, exact u = sin(πx) sin(πy²); loss = 0.01 · mean r_PDE² + mean r_BC² (the paper's α = 0.01).
* ``heat1d``: u_t = u_xx + e^{-t} (π² - 1) sin(πx) on [0, 1]², u = 0 at x = 0, 1, u(x, 0) = sin(πx), exact
  u = e^{-t} sin(πx); loss = mean r_PDE² + mean r_BC² + mean r_IC².

The sources, exact solutions and residual weights are read from the problem files (``problems/*.py``); each
peer writes the PDE residual in its own terms (:data:`RESIDUALS`, checked against the exact solutions by
the tests). Every code's error is the relative L2 error on kanpde's evaluation grid
(:meth:`kanpde.Domain.evaluation_points`, 101 × 101 here).

Recipes (iteration and point counts, and where they come from):

* **kanpde default** - what ``kanpde solve NAME`` does: ``kp.KAN([2, 10, 1], grid=5, seed=0)``, grids 5, 10,
  20, Levenberg-Marquardt, at most 450 steps, 2500 interior + 400 boundary (+ 400 initial) Sobol points.
* **kanpde target** (poisson2d) - issue 4's target configuration (:data:`TARGET`): KAN [2, 5, 5, 1] on
  grids 5, 10, 20, 40, 100 LM steps a grid, 6000 interior + 600 boundary points, soft Dirichlet
  (``benchmarks/accuracy.py`` now imposes it exactly, which halves the error).
  Both run with ``log_every=1``: a history record (and an evaluation of the error, counted in kanpde's time)
  after every step, so the time at which each error level is first reached is resolved to one step.
* **pykan** - its PDE tutorial with grid extension ("Example 7: Solving Partial Differential Equation", docs
  of pykan 0.2.x): grids 5, 10, 20 (``model.refine`` between them), 50 ``LBFGS.step(closure)`` calls a grid
  (each up to 20 L-BFGS iterations; ``lr=1, history_size=10``, strong Wolfe, tolerances 1e-32),
  ``update_grid_from_samples`` before steps 0, 5, 10, 15 of every grid, derivatives by nested
  ``torch.autograd.functional.jacobian``, ``seed=1``; points: an ``n × n`` mesh of the box with its edges and
  ``n`` points on each boundary face, n = 21 (``benchmarks/pykan_compare.py``'s mesh; the tutorial's 51
  costs 6x more per step and would take most of the budget alone). The width is the KAN paper's [2, 10, 1]
  for this problem (the tutorial's [2, 2, 1] is for its separable sin(πx) sin(πy)); loss weights as in the
  problem (for poisson2d the tutorial's α = 0.01), boundary and initial condition as separate terms.
  On the 21² mesh the grid-20 stage has about one point per interval and direction and loses accuracy
  (the tutorial pairs grid 20 with 51²): pykan's final error is then worse than its best, which the
  time-to-level reading below takes. pykan's runs are not bit-reproducible (two runs differ by 1e-13 after
  one step, and L-BFGS amplifies it), so its final error varies from run to run (6e-2 and 1.1e-1 on
  poisson2d).
* **DeepXDE** - ``dde.nn.FNN([2, 50, 50, 50, 1], "tanh", "Glorot uniform")`` as its Poisson examples
  (``Poisson_Dirichlet_1d.py``: [1] + [50] * 3 + [1]); Adam with lr 1e-3 for 10000 iterations (as
  ``Poisson_Dirichlet_1d.py`` and ``diffusion_1d.py``), then L-BFGS (``Poisson_Lshape.py`` and ``heat.py``
  follow Adam by L-BFGS) with DeepXDE's defaults except ``maxiter``: 5000 instead of 15000, to fit the
  15-minute budget. A run with 15000 (this script at commit e57f8f8) spent 70% of DeepXDE's time on a
  plateau: poisson2d went from 2.71e-4 after 3000 L-BFGS iterations to 2.55e-4 after 15000 (1353 s in
  all), heat1d from 1.333e-3 after 1000 to 1.328e-3. Points (DeepXDE's default Hammersley sampling) as its
  nearest example: poisson2d 1200 domain + 120 boundary (``Poisson_Lshape.py``, 2-D Poisson, Dirichlet),
  heat1d 40 domain + 20 boundary + 10 initial (``diffusion_1d.py``: the same equation u_t = u_xx + source
  with exact e^{-t} sin(πx), on [-1, 1]); ``dde.config.set_default_float("float64")``,
  ``set_random_seed(0)``; loss weights as in the problem.

Each peer runs in its own Python process (``--worker``), in a temporary working directory: pykan seeds
torch, NumPy and ``random`` globally, sets the default dtype and writes ``./model``; DeepXDE is configured
through global setters. Its wall time covers model construction and training (grid refinement included),
not the imports nor the evaluations of the error, which are timed apart and left out.

For every peer result the report gives its final error and wall time, and the wall time kanpde needed to
first reach that error (seconds since ``kp.solve`` was called at the first history record at or below
it): the **time-to-accuracy ratio** = peer seconds / kanpde seconds to the same error. It is also read at
the finest half-decade level (:data:`LEVELS`) the peer reaches, with each code's first time there, which
leaves out time a peer spends on a plateau or losing accuracy after its best.

Usage: ``python benchmarks/peers.py`` (options ``--threads``, ``--out``, ``--quick`` for a tiny smoke run,
``--without PEER ...`` to run as if a peer were not installed). The peers are the optional extra
``pip install 'kanpde[peers]'``; a peer that is not installed is reported in one line and skipped.
Writes ``results/peers.json`` and ``results/peers.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from _provenance import kanpde_source, machine, source_line  # noqa: E402  (benchmarks/ is on sys.path)

import kanpde as kp
from kanpde._atomic import atomic_write, write_json
from kanpde.metrics import relative_l2

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python benchmarks/peers.py"
PROBLEMS = ("poisson2d", "heat1d")
MISSING_EXIT = 3  # a worker whose peer cannot be imported exits with this code


# -- the problems, as the peers see them -----------------------------------------------------------------
Derivative = Callable[..., torch.Tensor]  # d(i) -> ∂u/∂x_i, d(i, j) -> ∂²u/∂x_i∂x_j, each (N,)

RESIDUALS: dict[str, Callable[[torch.Tensor, Derivative, Callable], torch.Tensor]] = {
    "poisson2d": lambda x, d, source: d(0, 0) + d(1, 1) - source(x),  # Δu - f
    "heat1d": lambda x, d, source: d(1) - d(0, 0) - source(x),  # u_t - u_xx - f, columns (x, t)
}
"""Problem -> its PDE residual ``r(x, d, source)``, shape (N,), in terms of the derivatives ``d``."""


@dataclass(frozen=True)
class PeerProblem:
    """What a peer needs of a shipped problem: its box, weight, source and exact solution.

    The boundary terms are the faces of the box: every face for a stationary problem (one Dirichlet term),
    the spatial faces (Dirichlet) and ``t = t0`` (initial condition) for a time-dependent one; their targets
    are the exact solution there (the problems' boundary and initial values).
    """

    name: str
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    time_dependent: bool
    residual_weight: float
    source: Callable[[torch.Tensor], torch.Tensor]
    exact: Callable[[torch.Tensor], torch.Tensor]

    @property
    def dim(self) -> int:
        return len(self.lo)

    def residual(self, x: torch.Tensor, d: Derivative) -> torch.Tensor:
        return RESIDUALS[self.name](x, d, self.source)

    @property
    def weights(self) -> list[float]:
        """Loss weights of the PDE term and the boundary (and initial) terms."""
        return [self.residual_weight, 1.0] + ([1.0] if self.time_dependent else [])


def peer_problem(name: str) -> PeerProblem:
    """The shipped problem ``name`` as a :class:`PeerProblem` (source and exact from its problem file)."""
    if name not in RESIDUALS:
        raise ValueError(f"no peer residual for problem {name!r}; valid ones: {', '.join(RESIDUALS)}")
    problem = kp.load_problem(name)
    module = sys.modules[problem.residual.__module__]  # the problem file, loaded by load_problem
    lo, hi = problem.domain.bounds()
    return PeerProblem(
        name=name,
        lo=tuple(float(v) for v in lo),
        hi=tuple(float(v) for v in hi),
        time_dependent=problem.domain.is_time_dependent,
        residual_weight=float(problem.residual_weight),
        source=module.source,
        exact=problem.exact,
    )


def mesh_points(spec: PeerProblem, n: int, dtype=torch.float64) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """pykan's tutorial points on ``spec``'s 2-D box: an ``n × n`` mesh with its edges ``(n², 2)`` and the
    boundary terms, ``n`` points on each face (corners twice, as in the tutorial): one term of 4 faces, or
    for a time-dependent problem the faces x = lo, hi (Dirichlet) and t = t0 (initial condition)."""
    if spec.dim != 2:
        raise ValueError(f"mesh_points builds 2-D meshes; {spec.name} has {spec.dim} dimensions")
    a = torch.linspace(spec.lo[0], spec.hi[0], n, dtype=dtype)  # (n,)
    b = torch.linspace(spec.lo[1], spec.hi[1], n, dtype=dtype)  # (n,)
    ga, gb = torch.meshgrid(a, b, indexing="ij")  # (n, n) each
    interior = torch.stack([ga.reshape(-1), gb.reshape(-1)], dim=1)  # (n², 2)

    def side(axis: int, value: float) -> torch.Tensor:
        free = b if axis == 0 else a
        cols = [torch.full_like(free, value), free] if axis == 0 else [free, torch.full_like(free, value)]
        return torch.stack(cols, dim=1)  # (n, 2)

    x_faces = [side(0, spec.lo[0]), side(0, spec.hi[0])]
    if spec.time_dependent:
        return interior, [torch.cat(x_faces), side(1, spec.lo[1])]  # (2n, 2), (n, 2)
    return interior, [torch.cat(x_faces + [side(1, spec.lo[1]), side(1, spec.hi[1])])]  # (4n, 2)


def error_on_grid(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, u: torch.Tensor) -> float:
    """Relative L2 error of ``predict`` (``(M, d) -> (M,)``) against ``u`` on the evaluation points ``x``."""
    with torch.no_grad():
        return relative_l2(predict(x).reshape(-1), u)


# -- recipes ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PykanRecipe:
    """pykan's PDE tutorial with grid extension (see the module docstring)."""

    hidden: int = 10
    grids: tuple[int, ...] = (5, 10, 20)
    steps: int = 50  # LBFGS.step(closure) calls per grid
    n_side: int = 21
    k: int = 3
    seed: int = 1
    grid_updates: tuple[int, ...] = (0, 5, 10, 15)  # update_grid_from_samples before these steps
    lbfgs: tuple[tuple[str, object], ...] = (
        ("lr", 1),
        ("history_size", 10),
        ("line_search_fn", "strong_wolfe"),
        ("tolerance_grad", 1e-32),
        ("tolerance_change", 1e-32),
        ("tolerance_ys", 1e-32),
    )


@dataclass(frozen=True)
class DeepxdeRecipe:
    """DeepXDE's examples: an MLP, Adam then L-BFGS (see the module docstring)."""

    hidden: tuple[int, ...] = (50, 50, 50)
    adam_iterations: int = 10000
    lr: float = 1e-3
    lbfgs_iterations: int = 5000  # DeepXDE's default maxiter is 15000 (see the module docstring)
    points: tuple[tuple[str, tuple[int, int, int]], ...] = (
        ("poisson2d", (1200, 120, 0)),  # Poisson_Lshape.py
        ("heat1d", (40, 20, 10)),  # diffusion_1d.py
    )
    seed: int = 0
    display_every: int = 1000  # DeepXDE's default (its loss printout)
    trace_every: int = 100  # the error on the evaluation grid, recorded off the clock


QUICK_PYKAN = PykanRecipe(grids=(3, 6), steps=2, n_side=9, grid_updates=(0,))
QUICK_DEEPXDE = DeepxdeRecipe(
    adam_iterations=30,
    lbfgs_iterations=20,
    points=(("poisson2d", (60, 16, 0)), ("heat1d", (60, 16, 8))),
    display_every=10,
    trace_every=10,
)
QUICK_KANPDE = {"n_interior": 150, "n_boundary": 40, "n_initial": 40, "steps": 6, "grids": (3, 6)}


# -- workers (one process per peer) ----------------------------------------------------------------------
class Stopwatch:
    """Sums the seconds spent inside ``with watch:`` blocks (training), leaving out what happens outside."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._start


def pointwise_jacobian(fn: Callable, x: torch.Tensor) -> torch.Tensor:
    """``(N, out, in)`` derivatives of a pointwise map by ``torch.autograd.functional.jacobian`` of
    ``sum_n fn(x)_n`` (the batch trick of pykan's tutorial), kept differentiable."""
    jac = torch.autograd.functional.jacobian(lambda z: fn(z).sum(0), x, create_graph=True)  # (out, N, in)
    return jac.permute(1, 0, 2)


def run_pykan(spec: PeerProblem, recipe: PykanRecipe, eval_x: torch.Tensor, eval_u: torch.Tensor) -> dict:
    """pykan's tutorial loop on ``spec``; the error after every step from snapshots evaluated afterwards."""
    from kan import KAN, LBFGS

    torch.set_default_dtype(torch.float64)  # pykan builds in the default dtype (this process only)
    interior, boundary = mesh_points(spec, recipe.n_side)
    f_targets = [spec.exact(xb)[:, None] for xb in boundary]  # (B_c, 1) each
    weights = spec.weights
    watch, snapshots, models = Stopwatch(), [], []
    with watch:
        model = KAN(width=[spec.dim, recipe.hidden, 1], grid=recipe.grids[0], k=recipe.k, seed=recipe.seed)
        model = model.speed()

    def loss_value() -> torch.Tensor:
        first = lambda z: pointwise_jacobian(model, z)[:, 0, :]  # noqa: E731  (N, d)
        d1 = first(interior)  # (N, d)
        d2 = pointwise_jacobian(first, interior)  # (N, d, d)
        d = lambda *i: d1[:, i[0]] if len(i) == 1 else d2[:, i[0], i[1]]  # noqa: E731  (N,)
        total = weights[0] * spec.residual(interior, d).square().mean()
        for w, xb, ub in zip(weights[1:], boundary, f_targets, strict=True):
            total = total + w * (model(xb) - ub).square().mean()
        return total

    for g, grid in enumerate(recipe.grids):
        with watch:
            if g > 0:
                model.save_act = True
                model.get_act(interior)
                model = model.refine(grid)
                model = model.speed()
            optimizer = LBFGS(model.parameters(), **dict(recipe.lbfgs))
        models.append(model)

        def closure(optimizer=optimizer) -> torch.Tensor:
            optimizer.zero_grad()
            loss = loss_value()
            loss.backward()
            return loss

        for step in range(recipe.steps):
            with watch:
                if step in recipe.grid_updates:
                    model.update_grid_from_samples(interior)
                optimizer.step(closure)
            snapshots.append((watch.seconds, g, copy.deepcopy(model.state_dict())))
    trace = []
    for seconds, g, state in snapshots:
        models[g].load_state_dict(state)
        trace.append((seconds, error_on_grid(lambda x, m=models[g]: m(x)[:, 0], eval_x, eval_u)))
    return {
        "seconds": watch.seconds,
        "relative_l2": trace[-1][1],
        "trace": trace,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "recipe": dataclasses.asdict(recipe) | {"width": [spec.dim, recipe.hidden, 1]},
        "points": {"interior": interior.shape[0], "boundary": [xb.shape[0] for xb in boundary]},
    }


def run_deepxde(spec: PeerProblem, recipe: DeepxdeRecipe, eval_x: torch.Tensor, eval_u: torch.Tensor) -> dict:
    """DeepXDE's recipe on ``spec``: Adam, then L-BFGS; the error every ``display_every`` iterations."""
    import deepxde as dde

    dde.config.set_default_float("float64")
    dde.config.set_random_seed(recipe.seed)
    n_domain, n_boundary, n_initial = dict(recipe.points)[spec.name]

    def target(x):  # DeepXDE passes boundary points as NumPy arrays (N, d); returns (N, 1)
        return spec.exact(torch.as_tensor(x, dtype=torch.float64)).numpy()[:, None]

    def pde(x, y):
        def d(*i):
            if len(i) == 1:
                return dde.grad.jacobian(y, x, i=0, j=i[0])[:, 0]  # (N,)
            return dde.grad.hessian(y, x, i=i[0], j=i[1])[:, 0]  # (N,)

        return spec.residual(x, d)[:, None]  # (N, 1)

    on_boundary = lambda _, on: on  # noqa: E731
    if spec.time_dependent:
        geom = dde.geometry.GeometryXTime(
            dde.geometry.Interval(spec.lo[0], spec.hi[0]), dde.geometry.TimeDomain(spec.lo[1], spec.hi[1])
        )
        conditions = [dde.icbc.DirichletBC(geom, target, on_boundary), dde.icbc.IC(geom, target, on_boundary)]
        data = dde.data.TimePDE(
            geom, pde, conditions, num_domain=n_domain, num_boundary=n_boundary, num_initial=n_initial
        )
    else:
        geom = dde.geometry.Rectangle(list(spec.lo), list(spec.hi))
        conditions = [dde.icbc.DirichletBC(geom, target, on_boundary)]
        data = dde.data.PDE(geom, pde, conditions, num_domain=n_domain, num_boundary=n_boundary)
    watch, trace = Stopwatch(), []
    with watch:
        net = dde.nn.FNN([spec.dim, *recipe.hidden, 1], "tanh", "Glorot uniform")
        model = dde.Model(data, net)

    def error() -> float:
        return error_on_grid(
            lambda x: torch.as_tensor(model.predict(x.numpy()), dtype=torch.float64), eval_x, eval_u
        )

    class Tracker(dde.callbacks.Callback):
        """Records the error on the evaluation grid, off the clock, every ``trace_every`` iterations (Adam)
        or after every call of torch's L-BFGS (DeepXDE makes one per 1000 iterations)."""

        def on_epoch_end(self) -> None:
            step = model.train_state.step
            if step - (trace[-1][2] if trace else 0) >= recipe.trace_every:
                watch.__exit__()
                trace.append((watch.seconds, error(), step))
                watch.__enter__()

    with watch:
        model.compile("adam", lr=recipe.lr, loss_weights=spec.weights)
        model.train(
            iterations=recipe.adam_iterations, display_every=recipe.display_every, callbacks=[Tracker()]
        )
    adam_error = error()
    with watch:
        dde.optimizers.set_LBFGS_options(maxiter=recipe.lbfgs_iterations)
        _lbfgs_chunks(dde.optimizers.config.LBFGS_options)
        model.compile("L-BFGS", loss_weights=spec.weights)
        model.train(display_every=recipe.display_every, callbacks=[Tracker()])
    final = error()
    trace.append((watch.seconds, final, model.train_state.step))
    return {
        "seconds": watch.seconds,
        "relative_l2": final,
        "relative_l2_after_adam": adam_error,
        "iterations": model.train_state.step,
        "trace": [(s, e) for s, e, _ in trace],
        "params": sum(p.numel() for p in net.parameters()),
        "recipe": dataclasses.asdict(recipe) | {"width": [spec.dim, *recipe.hidden, 1]},
        "points": {"domain": n_domain, "boundary": n_boundary, "initial": n_initial},
    }


def _lbfgs_chunks(options: dict) -> None:
    """DeepXDE (PyTorch backend) runs L-BFGS in calls of ``iter_per_step`` iterations, set once at import
    from the default ``maxiter``; ``set_LBFGS_options`` does not update it. Recompute it as the import does,
    so that a ``maxiter`` below 1000 is honoured (the default 15000 gives the same 1000 either way)."""
    options["iter_per_step"] = min(1000, options["maxiter"])
    options["fun_per_step"] = options["maxfun"] * options["iter_per_step"] // options["maxiter"]


@dataclass(frozen=True)
class Peer:
    """A peer code: its distribution, pinned version, import names, installer line and worker."""

    dist: str
    pinned: str
    modules: tuple[str, ...]
    install: str
    run: Callable[..., dict]
    recipes: tuple[object, object]  # (full, quick)


PEERS: dict[str, Peer] = {
    "pykan": Peer(
        "pykan",
        "0.2.8",
        ("kan", "pandas", "sklearn"),  # pykan imports pandas and scikit-learn without declaring them
        "pip install pykan==0.2.8 pandas scikit-learn",
        run_pykan,
        (PykanRecipe(), QUICK_PYKAN),
    ),
    "deepxde": Peer(
        "DeepXDE",
        "1.15.0",
        ("deepxde",),
        "pip install deepxde==1.15.0",
        run_deepxde,
        (DeepxdeRecipe(), QUICK_DEEPXDE),
    ),
}
"""Peer name -> :class:`Peer`."""


def missing_line(name: str, reason: str) -> str:
    """The one line that says a peer is not available, why, and how to install it."""
    return (
        f"{name}: not available ({reason}); its rows are skipped. "
        f"Install: pip install 'kanpde[peers]' (or {PEERS[name].install})"
    )


def peer_version(name: str) -> str | None:
    with contextlib.suppress(PackageNotFoundError):
        return version(PEERS[name].dist)
    return None


def not_installed(name: str) -> str | None:
    """Why peer ``name`` cannot run here (a module it needs is not found), or ``None``."""
    absent = []
    for module in PEERS[name].modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(module)
    return f"no module {', '.join(absent)}" if absent else None


def worker(args: argparse.Namespace) -> int:
    """``--worker PEER --problem NAME --result FILE``: run one peer on one problem, write its JSON."""
    peer = PEERS[args.worker]
    try:
        for module in peer.modules:
            importlib.import_module(module)
    except Exception as err:  # an optional extra: any import failure means "not available"
        write_json(args.result, {"missing": f"import {module} failed: {type(err).__name__}: {err}"})
        return MISSING_EXIT
    torch.set_num_threads(args.threads)
    spec = peer_problem(args.problem)
    eval_x = kp.load_problem(args.problem).domain.evaluation_points(torch.float64)[0]
    eval_u = spec.exact(eval_x)
    result = peer.run(spec, peer.recipes[1 if args.quick else 0], eval_x, eval_u)
    write_json(args.result, result | {"version": peer_version(args.worker), "threads": args.threads})
    return 0


def run_peer(name: str, problem: str, threads: int, quick: bool, timeout: float) -> dict:
    """Run the worker of peer ``name`` in a fresh process and temporary working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(DDE_BACKEND="pytorch", OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory(prefix=f"peers_{name}_") as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--problem", problem]
        command += ["--result", str(result), "--threads", str(threads)] + (["--quick"] if quick else [])
        try:
            done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"failed": f"no result within {timeout:.0f} s"}
        if done.returncode not in (0, MISSING_EXIT) or not result.is_file():
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            return {"failed": f"worker exited with {done.returncode}: {tail}"}
        return json.loads(result.read_text())


# -- kanpde ----------------------------------------------------------------------------------------------
TARGET = {
    "poisson2d": (
        [2, 5, 5, 1],
        {"grids": (5, 10, 20, 40), "n_interior": 6000, "n_boundary": 600, "steps": 100},
    )
}
"""Problem -> (KAN width, solve options) of kanpde's target row (issue 4's configuration, soft conditions)."""


def kanpde_configs(problem: str, quick: bool) -> dict[str, tuple[str, list[int], dict]]:
    """Config name -> (description, KAN width, solve options) for ``problem``."""
    dim = kp.load_problem(problem).domain.dim
    configs = {"default": (f"default (`kanpde solve {problem}`): KAN [{dim}, 10, 1]", [dim, 10, 1], {})}
    if problem in TARGET:
        width, options = TARGET[problem]
        options = dict(options)
        text = ", ".join(f"{k}={v}" for k, v in options.items())
        configs["target"] = (f"target (benchmarks/accuracy.py): KAN {width}, {text}", width, options)
    if quick:
        quick_text = ", ".join(f"{k}={v}" for k, v in QUICK_KANPDE.items())
        configs = {
            k: (f"{k}, quick: KAN {w}, {quick_text}", w, dict(QUICK_KANPDE))
            for k, (_, w, _) in configs.items()
        }
    return configs


def run_kanpde(problem: str, width: list[int], options: dict) -> dict:
    """``kp.solve`` with ``log_every=1``; every history record stamped with the seconds since the call."""
    prob = kp.load_problem(problem)
    model = kp.KAN(width, grid=(options.get("grids") or (5,))[0], seed=0)
    stamps: list[float] = []
    start = time.perf_counter()
    sol = kp.solve(
        prob,
        model,
        device="cpu",
        dtype=torch.float64,
        log_every=1,
        callbacks=[lambda record, model: stamps.append(time.perf_counter() - start)],
        **options,
    )
    seconds = time.perf_counter() - start
    errors = [r["relative_l2"] for r in sol.history]
    return {
        "seconds": seconds,
        "relative_l2": sol.relative_l2(),
        "steps": sol.history[-1]["step"],
        "params": sol.model.num_parameters,
        "trace": list(zip(stamps, errors, strict=True)),
        "history_seconds_offset": stamps[0] - sol.history[0]["seconds"],  # set-up before the first record
    }


LEVELS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7)
"""Error levels of the time-to-accuracy table (half decades)."""


def time_to(trace: list, error: float) -> float | None:
    """Seconds at the first ``(seconds, relative_l2)`` record at or below ``error``; ``None`` if never."""
    return next((s for s, e in trace if e <= error), None)


# -- the run and its report ------------------------------------------------------------------------------
def compare(peer_run: dict, kanpde_runs: dict) -> dict:
    """Per kanpde configuration, two readings of the time-to-accuracy ratio (peer seconds / kanpde seconds):

    * ``at_final``: to the peer's final error, the peer's whole wall time against kanpde's time to reach it;
    * ``at_level``: to the finest level of :data:`LEVELS` the peer reaches, each code's time to first reach
      it (so that time a peer spends on a plateau or losing accuracy after its best does not count).
    """
    trace = peer_run["trace"]
    level = next((lv for lv in reversed(LEVELS) if time_to(trace, lv) is not None), None)
    out = {}
    for config, run in kanpde_runs.items():
        final = time_to(run["trace"], peer_run["relative_l2"])
        at_level = {"level": level, "peer_seconds": None, "kanpde_seconds": None, "ratio": None}
        if level is not None:
            peer_s, kan_s = time_to(trace, level), time_to(run["trace"], level)
            at_level |= {
                "peer_seconds": peer_s,
                "kanpde_seconds": kan_s,
                "ratio": peer_s / kan_s if kan_s else None,
            }
        out[config] = {
            "at_final": {
                "error": peer_run["relative_l2"],
                "peer_seconds": peer_run["seconds"],
                "kanpde_seconds": final,
                "ratio": peer_run["seconds"] / final if final else None,
            },
            "at_level": at_level,
        }
    return out


def best(trace: list) -> tuple[float, float]:
    """The lowest error of a ``(seconds, relative_l2)`` trace and the seconds at which it was first reached."""
    error = min(e for _, e in trace)
    return time_to(trace, error), error


def _results_table(entry: dict) -> list[str]:
    lines = [
        "| code | configuration | final rel. L2 | wall s | best rel. L2 (at s) | params |",
        "|---|---|---:|---:|---:|---:|",
    ]
    runs = [("kanpde", run) for run in entry["kanpde"].values()]
    runs += [(f"{name} {run.get('version', '')}".strip(), run) for name, run in entry["peers"].items()]
    for code, run in runs:
        if "failed" in run:
            lines.append(f"| {code} | failed: {run['failed']} | - | - | - | - |")
            continue
        at, error = best(run["trace"])
        lines.append(
            f"| {code} | {run['description']} | {run['relative_l2']:.2e} | {run['seconds']:.1f} | "
            f"{error:.2e} ({at:.1f}) | {run['params']} |"
        )
    return lines


def _ratio_cell(reading: dict) -> str:
    if reading["ratio"] is None:
        return "kanpde did not reach it"
    return f"{reading['peer_seconds']:.1f} / {reading['kanpde_seconds']:.2f} = **{reading['ratio']:.0f}x**"


def _ratio_table(entry: dict) -> list[str]:
    configs = list(entry["kanpde"])
    head = " | ".join(f"vs kanpde {c}" for c in configs)
    lines = [f"| peer | reading | error | {head} |", "|---|---|---:|" + "---:|" * len(configs)]
    for name, run in entry["peers"].items():
        if "failed" in run:
            continue
        cmp = run["compare"]
        first = cmp[configs[0]]
        lines.append(
            f"| {name} | at its final error (its whole run) | {first['at_final']['error']:.2e} | "
            + " | ".join(_ratio_cell(cmp[c]["at_final"]) for c in configs)
            + " |"
        )
        if first["at_level"]["level"] is not None:
            lines.append(
                f"| {name} | at the finest level it reaches (first time each) | {first['at_level']['level']:.0e} | "
                + " | ".join(_ratio_cell(cmp[c]["at_level"]) for c in configs)
                + " |"
            )
    return lines


def _levels_table(entry: dict) -> list[str]:
    runs = {f"kanpde {c}": run for c, run in entry["kanpde"].items()}
    runs |= {name: run for name, run in entry["peers"].items() if "failed" not in run}
    reached = {code: [time_to(run["trace"], lv) for lv in LEVELS] for code, run in runs.items()}
    depth = max((i for times in reached.values() for i, t in enumerate(times) if t is not None), default=-1)
    lines = [f"| rel. L2 ≤ | {' | '.join(runs)} |", "|---:|" + "---:|" * len(runs)]
    for i in range(depth + 1):
        cells = [f"{t[i]:.2f}" if t[i] is not None else "-" for t in reached.values()]
        lines.append(f"| {LEVELS[i]:.0e} | " + " | ".join(cells) + " |")
    return lines


def _summary(result: dict) -> list[str]:
    """One line per peer and problem: the ratio against kanpde's default solve, both readings."""
    lines = ["Summary (against kanpde's default solve, `kanpde solve NAME`):", ""]
    for problem, entry in result["problems"].items():
        for name, run in entry["peers"].items():
            if "failed" in run:
                continue
            final, level = run["compare"]["default"]["at_final"], run["compare"]["default"]["at_level"]
            text = f"- {problem}, {name}: at its final error {final['error']:.1e}: " + (
                f"{final['ratio']:.0f}x" if final["ratio"] else "kanpde's default did not reach it"
            )
            if level["level"] is not None:
                text += f"; at {level['level']:.0e}: " + (
                    f"{level['ratio']:.0f}x" if level["ratio"] else "kanpde's default did not reach it"
                )
            lines.append(text)
    return lines if len(lines) > 2 else []


def markdown(result: dict) -> str:
    m, v = result["machine"], result["versions"]
    load = ", ".join(f"{x:.1f}" for x in m["load_average_at_start"] or [])
    lines = [
        "# Time to accuracy: kanpde, pykan and DeepXDE on the same problems",
        "",
        f"Made by `{result['command']}` ({result['threads']} torch thread(s) for every code, float64, CPU; "
        f"torch {v['torch']}, pykan {v['pykan'] or '-'}, DeepXDE {v['deepxde'] or '-'}). "
        + source_line(result["kanpde_source"]),
        "",
        f"Machine: {m['cpu']}, {m['cpu_count']} cores shared with other work (load average {load} at start); "
        "wall times are noisy.",
        "",
    ]
    if result["quick"]:
        lines += ["**Quick smoke run (`--quick`): tiny settings, not a benchmark.**", ""]
    lines += [
        "Each code runs its own documented recipe (the docstring of `benchmarks/peers.py` gives them, with "
        "where their iteration and point counts come from). Error: relative L2 on kanpde's evaluation grid. "
        "kanpde's times are seconds from the call of `kp.solve` to its first history record (one per step) at "
        "or below an error; the peers' are training seconds (evaluations of the error left out) to their first "
        "trace record at or below it (pykan: after every `LBFGS.step`; DeepXDE: every 100 Adam iterations and "
        "every 1000 L-BFGS iterations).",
        "",
        "**Time-to-accuracy ratio** = peer seconds / kanpde seconds to the same error, read two ways: at the "
        "peer's final error (the peer's whole run, as asked; it counts time a peer spends on a plateau or "
        "losing accuracy after its best), and at the finest half-decade level the peer reaches (each code's "
        "first time there).",
        "",
    ]
    lines += [*_summary(result), ""]
    for problem, entry in result["problems"].items():
        lines += [f"## {problem}", "", *_results_table(entry)]
        if any("failed" not in run for run in entry["peers"].values()):
            lines += ["", "Time-to-accuracy ratio (peer s / kanpde s):", "", *_ratio_table(entry)]
        lines += ["", "Seconds to first reach each error level:", "", *_levels_table(entry), ""]
    if result["skipped"]:
        lines += ["Peers not run:", ""] + [f"- {line}" for line in result["skipped"].values()] + [""]
    lines += [
        "Per-iteration and per-evaluation timings against pykan are in `pykan_compare.md`; the error traces "
        "(seconds, relative L2) of every run are in `peers.json`.",
        "",
    ]
    return "\n".join(lines)


def describe(name: str, run: dict) -> str:
    r = run["recipe"]
    if name == "pykan":
        return (
            f"KAN {r['width']}, grids {', '.join(map(str, r['grids']))} x {r['steps']} LBFGS steps, "
            f"{r['n_side']}² mesh"
        )
    p = run["points"]
    pts = f"{p['domain']} + {p['boundary']}" + (f" + {p['initial']}" if p["initial"] else "")
    return (
        f"MLP {r['width']} tanh, Adam {r['adam_iterations']} + L-BFGS ({run['iterations']} iterations in all), "
        f"{pts} points"
    )


def available_peers(without: list[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Installed peers (name -> version) and the one-line reason for each peer that is not run."""
    peers, skipped = {}, {}
    for name in PEERS:
        reason = "treated as not installed: --without" if name in without else not_installed(name)
        if reason:
            skipped[name] = missing_line(name, reason)
            print(skipped[name], flush=True)
            continue
        peers[name] = peer_version(name)
        if peers[name] != PEERS[name].pinned:
            print(f"{name}: {peers[name]} installed; the recipe here is for {PEERS[name].pinned}", flush=True)
    return peers, skipped


def run_problem(problem: str, peers: dict, skipped: dict, args: argparse.Namespace) -> dict:
    """kanpde's configurations, then every available peer, on ``problem``; a peer found missing moves from
    ``peers`` to ``skipped``."""
    entry: dict = {"kanpde": {}, "peers": {}}
    for config, (text, width, options) in kanpde_configs(problem, args.quick).items():
        print(f"[{problem}] kanpde {config} ...", flush=True)
        run = run_kanpde(problem, width, options)
        entry["kanpde"][config] = {"description": text, "options": options} | run
        print(f"    rel L2 {run['relative_l2']:.2e} in {run['seconds']:.1f} s", flush=True)
    for name in list(peers):
        print(f"[{problem}] {name} ...", flush=True)
        run = run_peer(name, problem, args.threads, args.quick, args.timeout)
        if "missing" in run:
            del peers[name]
            skipped[name] = missing_line(name, run["missing"])
            print(skipped[name], flush=True)
            continue
        if "failed" in run:
            print(f"    {name} failed: {run['failed']}", flush=True)
        else:
            run = {"description": describe(name, run)} | run
            run["compare"] = compare(run, entry["kanpde"])
            ratios = ", ".join(
                f"{c} {r:.0f}x" if (r := v["at_final"]["ratio"]) else f"{c} not reached"
                for c, v in run["compare"].items()
            )
            print(
                f"    rel L2 {run['relative_l2']:.2e} in {run['seconds']:.1f} s; ratio {ratios}", flush=True
            )
        entry["peers"][name] = run
    return entry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every code (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="output folder (default results/)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (seconds), not a benchmark")
    parser.add_argument(
        "--without",
        nargs="+",
        default=[],
        choices=list(PEERS),
        help="run as if these peers were not installed",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed to one peer run")
    parser.add_argument("--worker", choices=list(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("--problem", choices=PROBLEMS, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be a positive integer, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    torch.set_num_threads(args.threads)
    info = machine()
    peers, skipped = available_peers(args.without)
    versions = dict(peers)
    warm = kp.load_problem(PROBLEMS[0])  # first-call costs of torch and kanpde, not counted
    kp.solve(warm, kp.KAN([2, 3, 1], grid=3), device="cpu", n_interior=50, n_boundary=20, steps=2, grids=(3,))
    problems = {problem: run_problem(problem, peers, skipped, args) for problem in PROBLEMS}
    for name in skipped:  # a peer found missing after a first problem: none of its rows
        versions.pop(name, None)
        for entry in problems.values():
            entry["peers"].pop(name, None)
    command = COMMAND + (" " + " ".join(sys.argv[1:]) if argv is None and len(sys.argv) > 1 else "")
    result = {
        "command": command,
        "threads": args.threads,
        "quick": args.quick,
        "machine": info
        | {"load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "versions": {"torch": torch.__version__, "kanpde": kp.__version__}
        | {name: versions.get(name) for name in PEERS},
        "kanpde_source": kanpde_source(),
        "skipped": skipped,
        "problems": problems,
    }
    write_json(args.out / "peers.json", _rounded(result), indent=1)
    with atomic_write(args.out / "peers.md") as tmp:
        tmp.write_text(markdown(result), encoding="utf-8")
    print(f"wrote {args.out / 'peers.json'} and {args.out / 'peers.md'}", flush=True)
    return 0


def _rounded(value):
    """Floats to 4 significant digits, so that the traces stay small in the JSON file."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
