"""The result of a solve: evaluate, measure, save, load, export, plot.

**Evaluation set.** With an exact solution, metrics use a fixed regular grid over the domain's bounding box,
end points included, keeping the nodes inside the domain: 1001 nodes in 1-D, 101² in 2-D, 31³ in 3-D, then
``floor(60000^(1/d))`` per column (15⁴, 9⁵, 6⁶, at least 3; space-time: 101 × 101, 41² × 21, 21³ × 21, 11 per
space column × 21). The relative H1 error
uses the spatial gradient. Without an exact solution, a problem's :class:`~kanpde.Reference` gives the points
and the true values (relative L2 and max abs only: a reference has no gradients).

**Several fields.** ``sol(x)`` is ``(N,)`` for one field and ``(N, n_fields)`` for several; errors are over
all fields together (the norms of the stacked values) unless ``field=`` names one; :meth:`Solution.metrics`
gives both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import metrics as _metrics
from ._atomic import plain
from ._checks import check_positive_int
from .ansatz import Ansatz
from .checkpoint import (
    domain_from_dict,
    domain_to_dict,
    float_dtype,
    problem_info,
    read_checkpoint,
    read_problem,
    write_checkpoint,
)
from .derivatives import Evaluation, Field, accessor, derivative_key, resolve_mode
from .geometry import Box, Domain
from .grids import grid_nodes
from .models import rebuild_model
from .problem import Problem, Unknown

__all__ = ["Solution", "load", "evaluation_points"]


EVALUATION_NODES = 60_000
"""Past three columns, the evaluation grid has ``floor(EVALUATION_NODES ** (1/d))`` nodes a column (15 in
4-D, 9 in 5-D, 3 at least), so that the error records of a high-dimensional solve stay cheap."""


def _grid_sizes(domain) -> list[int]:
    if domain.is_time_dependent:
        space = {1: [101], 2: [41, 41], 3: [21, 21, 21]}.get(domain.space_dim, [11] * domain.space_dim)
        return space + [21 if domain.space_dim > 1 else 101]
    per_column = max(3, int(EVALUATION_NODES ** (1 / domain.dim) + 1e-9))
    return {1: [1001], 2: [101, 101], 3: [31, 31, 31]}.get(domain.dim, [per_column] * domain.dim)


def evaluation_points(
    domain, dtype=torch.float64, device="cpu"
) -> tuple[Tensor, list[np.ndarray], np.ndarray]:
    """The documented evaluation set: points ``(M, d)`` inside the domain, the axes and the inside mask."""
    axes, mask = domain.evaluation_grid(_grid_sizes(domain))
    nodes = grid_nodes(axes)[mask.ravel()]  # (M, d)
    return torch.as_tensor(nodes, dtype=dtype, device=device), axes, mask


class Solution:
    """A trained model with its problem, history and settings.

    Call it on points: ``sol(x)`` takes ``(N, d)`` (tensor in, tensor out; NumPy in, NumPy out) and returns
    ``(N,)`` for one field, ``(N, n_fields)`` for several. ``sol.d(x, "x")``, ``sol.d(x, "x", "x")`` (any
    order) and ``sol.grad(x)`` give its derivatives the same way. ``sol.unknowns`` are the identified
    coefficients.

    ``sol.model`` (also ``sol.network``) is the trained network ``N`` (a :class:`~kanpde.KAN` or
    :class:`~kanpde.MLP`: prune it, plot its edges, save its config). It is the solution only when every
    Dirichlet condition is imposed weakly: with exactly imposed ones (``hard=True``) the field is
    ``u = g + φ N`` and ``sol.model(x)`` is ``N``, not ``u``. Evaluate the solution with ``sol(x)``, or with
    ``sol.ansatz(x)`` (the tensor map ``(N, d) -> (N, n_fields)`` with its graph).

    ``problem`` may be ``None`` (a checkpoint loaded without its problem): the solution then evaluates,
    exports and plots on ``domain``, and metrics that need the truth say how to pass the problem.
    """

    def __init__(
        self,
        model: nn.Module,
        problem: Problem | None,
        history: list[dict],
        settings: dict,
        trainer_state: dict | None = None,
        *,
        domain: Domain | None = None,
        fields: tuple[str, ...] | None = None,
        unknowns: tuple[Unknown, ...] | None = None,
    ) -> None:
        if not isinstance(model, Ansatz) and problem is not None:
            model = Ansatz.for_problem(model, problem)
        elif not isinstance(model, Ansatz):
            model = Ansatz(model, fields or ("u",), unknowns or ())
        self.ansatz, self.problem, self.history = model, problem, list(history)
        self.settings = dict(settings)
        self.trainer_state = trainer_state  # where training stands, for kanpde.resume
        self.domain = problem.domain if problem is not None else domain
        self.symbolic_formula = None  # the Formula of formula(), saved and exported once computed

    def __repr__(self) -> str:
        name = self.problem.name if self.problem is not None else "?"
        return f"Solution(problem={name!r}, model={self.model!r}, steps={len(self.history)} records)"

    @property
    def model(self) -> nn.Module:
        """The trained network ``N`` (:class:`~kanpde.KAN` or :class:`~kanpde.MLP`). Under exactly imposed
        Dirichlet conditions the solution is ``g + φ N``, not ``N``: evaluate it with ``sol(x)``."""
        return self.ansatz.net

    @property
    def network(self) -> nn.Module:
        """The trained network ``N``, the same object as :attr:`model` (the name says what it is)."""
        return self.ansatz.net

    @property
    def fields(self) -> tuple[str, ...]:
        return self.ansatz.fields

    @property
    def unknowns(self) -> dict[str, float]:
        """The unknown coefficients' values, ``{name: value}``."""
        return self.ansatz.unknown_values()

    # -- evaluation -------------------------------------------------------------------------------------
    @property
    def _param(self) -> Tensor:
        net = self.model
        return next(net.buffers()) if not list(net.parameters()) else next(net.parameters())

    def _shape(self, values: Tensor) -> Tensor:
        return values[:, 0] if len(self.fields) == 1 else values

    def __call__(self, x) -> Tensor | np.ndarray:
        p = self._param
        if isinstance(x, np.ndarray):
            with torch.no_grad():
                return (
                    self._shape(self.ansatz(torch.as_tensor(x, dtype=p.dtype, device=p.device))).cpu().numpy()
                )
        if not isinstance(x, Tensor):
            raise TypeError(
                f"a Solution takes a tensor or NumPy array of shape (N, d), got {type(x).__name__}"
            )
        with torch.no_grad():
            return self._shape(self.ansatz(x.to(dtype=p.dtype, device=p.device))).to(x.device)

    def d(
        self, x: Tensor | np.ndarray, *names: str, order: int | None = None, field: str | None = None
    ) -> Tensor | np.ndarray:
        """The derivative of the solution by the named coordinates at ``x`` ``(N, d)``: ``sol.d(x, "x")`` is
        ``du/dx``, ``sol.d(x, "x", "y")`` is ``d2u/dx dy``, ``sol.d(x, "x", order=4)`` is ``d4u/dx4`` (any
        order, as ``u.d`` in a residual). ``(N,)`` for one field or ``field=``, ``(N, n_fields)`` for
        several; tensor in, tensor out; NumPy in, NumPy out. Exactly imposed conditions are included (the
        derivative of ``g + φ N``)."""
        domain = self._need_domain("sol.d")
        key = derivative_key(domain.names, names, order, "sol.d(x, {})")
        return self._derivative_values(x, lambda u: u._get(key), field)

    def grad(self, x: Tensor | np.ndarray, field: str | None = None) -> Tensor | np.ndarray:
        """The spatial gradient of the solution at ``x`` ``(N, d)``: ``(N, d_space)`` for one field or
        ``field=``, ``(N, d_space, n_fields)`` for several; tensor in, tensor out; NumPy in, NumPy out."""
        return self._derivative_values(x, lambda u: u.grad(), field)

    def _derivative_values(
        self, x: Tensor | np.ndarray, take, field: str | None, batch: int = 20000
    ) -> Tensor | np.ndarray:
        """``take(u)`` of every field's accessor (or ``field``'s) at ``x``, in batches, detached; the last
        axis runs over the fields and is dropped for one."""
        domain = self._need_domain("derivatives of the solution")
        if not isinstance(x, (Tensor, np.ndarray)):
            raise TypeError(
                f"a Solution takes a tensor or NumPy array of shape (N, d), got {type(x).__name__}"
            )
        p = self._param
        points = torch.as_tensor(x, dtype=p.dtype, device=p.device)
        if points.ndim != 2 or points.shape[1] != domain.dim:
            raise ValueError(
                f"points must have shape (N, {domain.dim}) (columns {', '.join(domain.names)}), "
                f"got {tuple(points.shape)}"
            )
        columns = self._columns(field)
        mode = resolve_mode("auto", self.ansatz)
        chunks = []
        for chunk in points.split(batch):
            with torch.no_grad() if mode == "forward" else torch.enable_grad():
                ev = Evaluation(self.ansatz, chunk, domain.names, domain.space_dim, mode)
                each = [take(Field.of(ev, i, self.fields[i])).detach() for i in columns]
            chunks.append(torch.stack(each, dim=-1))  # (n, ..., F)
        values = torch.cat(chunks)
        values = values[..., 0] if len(columns) == 1 else values
        return values.cpu().numpy() if isinstance(x, np.ndarray) else values.to(x.device)

    def _need_problem(self, what: str) -> Problem:
        if self.problem is None:
            raise ValueError(
                f"{what} needs the problem, which this solution does not have (a checkpoint never runs the "
                "problem file it was made from); load it with kp.load(path, problem=NAME_OR_FILE.py) or "
                "problem=a kp.Problem"
            )
        return self.problem

    def _need_domain(self, what: str) -> Domain:
        if self.domain is None:
            return self._need_problem(what).domain
        return self.domain

    def _truth(self, what: str) -> tuple[Tensor, Tensor]:
        problem = self._need_problem(what)
        p = self._param
        truth = problem.truth(p.dtype, p.device)
        if truth is None:
            raise ValueError(
                f"{what} needs the truth, and problem {problem.name!r} has neither an exact solution nor a "
                "reference (pass exact= or reference=kp.Reference(...) to the problem)"
            )
        return truth

    def _columns(self, field: str | None) -> list[int]:
        if field is None:
            return list(range(len(self.fields)))
        if field not in self.fields:
            raise ValueError(f"unknown field {field!r}; this solution's fields are {', '.join(self.fields)}")
        return [self.fields.index(field)]

    def relative_l2(self, field: str | None = None) -> float:
        """``||u - u*|| / ||u*||`` on the evaluation set (or the reference's points), over all fields
        together, or of the one ``field``."""
        x, true = self._truth("relative_l2")
        columns = self._columns(field)
        with torch.no_grad():
            return _metrics.relative_l2(self._evaluate(x)[:, columns], true[:, columns])

    def _evaluate(self, x: Tensor, batch: int = 20000) -> Tensor:
        with torch.no_grad():
            return torch.cat([self.ansatz(chunk) for chunk in x.split(batch)])  # (M, n_fields)

    def metrics(self) -> dict:
        """Errors against the truth: relative L2, max abs and (with an exact solution) relative H1, over all
        fields together; with several fields the same per field under ``"fields"``; the number of points,
        ``"truth"`` (``"exact"`` or ``"reference"``) and the unknowns (with their relative errors where the
        problem knows their exact values)."""
        problem = self._need_problem("metrics")
        x, true = self._truth("metrics")
        exact = problem.exact is not None
        u, grad_u = self._values_and_gradients(x, problem.domain, exact)
        grad_true = self._exact_gradients(problem, x) if exact else None
        columns = {name: [i] for i, name in enumerate(self.fields)}
        out = _errors(u, true, grad_u, grad_true, list(range(len(self.fields))))
        out["n_points"] = int(x.shape[0])
        out["truth"] = "exact" if exact else "reference"
        if len(self.fields) > 1:
            out["fields"] = {n: _errors(u, true, grad_u, grad_true, c) for n, c in columns.items()}
        if self.ansatz.specs:
            out["unknowns"] = self.unknowns
            errors = {
                n: abs(v - spec.exact) / abs(spec.exact)
                for n, v in out["unknowns"].items()
                if (spec := self.ansatz.specs[n]).exact not in (None, 0.0)
            }
            if errors:
                out["unknown_relative_errors"] = errors
        return out

    def _values_and_gradients(self, x: Tensor, domain: Domain, gradients: bool, batch: int = 20000):
        if not gradients:
            return self._evaluate(x), None
        d, mode = domain.space_dim, resolve_mode("auto", self.ansatz)
        values, grads = [], []
        for chunk in x.split(batch):
            ev = Evaluation(self.ansatz, chunk, domain.names, d, mode)
            each = [Field.of(ev, i, f) for i, f in enumerate(self.fields)]
            values.append(torch.stack([f.value.detach() for f in each], dim=1))  # (n, F)
            grads.append(torch.stack([f.grad().detach() for f in each], dim=2))  # (n, d, F)
        return torch.cat(values), torch.cat(grads)

    @staticmethod
    def _exact_gradients(problem: Problem, x: Tensor) -> Tensor:
        """``∇u*`` over the space columns, ``(M, d_space, n_fields)``."""
        xe = x.clone().requires_grad_(True)
        values = problem.exact_values(xe)  # (M, F)
        d = problem.domain.space_dim
        grads = [
            torch.autograd.grad(values[:, i].sum(), xe, retain_graph=True)[0][:, :d]
            for i in range(values.shape[1])
        ]
        return torch.stack(grads, dim=2).detach()  # (M, d, F)

    def residuals(self, x: Tensor, batch: int = 20000) -> dict[str, Tensor]:
        """The PDE's residuals at ``x``: ``{equation: (N,)}`` (one entry, ``"residual"``, for a residual
        function returning one tensor)."""
        from .loss import equations

        problem = self._need_problem("residual")
        mode = resolve_mode("auto", self.ansatz)
        names, chunks = None, []
        for chunk in x.split(batch):
            ev = Evaluation(self.ansatz, chunk, problem.domain.names, problem.domain.space_dim, mode)
            r, names = equations(problem.residual(chunk, accessor(ev, self.fields)), chunk.shape[0])
            chunks.append(r.detach())
        values = torch.cat(chunks)  # (N, C)
        return {name: values[:, i] for i, name in enumerate(names)}

    def residual(self, x: Tensor, batch: int = 20000) -> Tensor:
        """The PDE residual ``R[u](x)``: ``(N,)`` for one equation, ``(N, C)`` for several."""
        values = list(self.residuals(x, batch).values())
        return values[0] if len(values) == 1 else torch.stack(values, dim=1)

    def formula(self, *, library=None, threshold: float = 0.0, **refine_options):
        """The closed form of this solution: ``kp.symbolic(self).refine(self.problem)`` (see
        :func:`kanpde.symbolic` and :meth:`kanpde.Formula.refine`, whose options pass through). The formula is
        kept as ``symbolic_formula`` and saved and exported with the solution from then on."""
        from .formula import symbolic

        problem = self._need_problem("formula")
        found = symbolic(self, library=library, threshold=threshold).refine(problem, **refine_options)
        self.symbolic_formula = found
        return found

    def formula_attributes(self) -> dict:
        """The formula as export attributes: text, data and relative L2 (empty before :meth:`formula`)."""
        f = self.symbolic_formula
        if f is None:
            return {}
        attrs = {"formula": str(f), "formula_data": f.as_dict()}
        if self.problem is not None and self.problem.exact is not None:
            attrs["formula_relative_l2"] = f.relative_l2(self.problem)
        return attrs

    # -- files ------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a checkpoint (:mod:`kanpde.checkpoint`): model config, knot grids, weights, the fields and
        unknowns, history, settings, the trainer's position, the domain and the problem's name (never code)."""
        net = self.model
        payload = {
            "model_class": type(net).__name__,
            "model_config": plain(net.config()),
            "state_dict": {
                k: v.detach().cpu() if isinstance(v, Tensor) else v for k, v in net.state_dict().items()
            },
            "fields": list(self.fields),
            "unknowns": [
                {**spec.as_dict(), "raw": float(self.ansatz.raw[name].detach())}
                for name, spec in self.ansatz.specs.items()
            ],
            "hard": self._hard_info(),
            "history": self.history,
            "settings": plain(self.settings),
            "trainer_state": self.trainer_state,
            "problem": problem_info(self.problem),
            "domain": domain_to_dict(self.domain) if self.domain is not None else None,
            "formula": self.symbolic_formula.as_dict() if self.symbolic_formula is not None else None,
        }
        return write_checkpoint(path, payload)

    def _hard_info(self) -> list[dict]:
        """The exactly imposed Dirichlet conditions as plain data (a callable value as ``None``: only the
        problem can give it back)."""
        from .checkpoint import encode_on

        if self.problem is None:
            return list(getattr(self.ansatz, "hard_info", []))
        return [
            {
                "field": c.field or self.fields[0],
                "value": None if callable(c.value) else float(c.value),
                "on": encode_on(c.on),
            }
            for c in self.problem.hard_conditions
        ]

    @property
    def exportable(self) -> bool:
        """Whether :meth:`export` can write the fields: a domain of 1 to 3 spatial axes (ParaView's grids), or
        none known yet (then :meth:`export` says how to pass it)."""
        return self.domain is None or self.domain.space_dim <= 3

    def export(self, path: str | Path, resolution: int | None = None) -> tuple[Path, Path]:
        """Write the fields on a regular grid to HDF5 with an XDMF file beside it (for ParaView).

        A box (and space-time over a box) is written as its grid; another domain in 2-D or 3-D as its
        evaluation nodes inside plus points on its boundary, triangulated with the cells outside removed
        (XDMF ``Triangle``/``Tetrahedron`` topology; :func:`kanpde.export.export_points_hdf5`).

        Datasets: one per field (``u``, or the field names), and where the problem is attached the
        residual (``residual``, or ``residual_<equation>`` per equation), and against the truth ``exact``
        and ``error`` (``u - exact``; ``exact_<field>``, ``error_<field>`` with several fields). Without an
        exact solution the truth is the reference, interpolated linearly onto the grid (NaN outside its
        points' hull). A space-time problem gives a time series. Settings and metrics are attributes.
        """
        from .export import export_hdf5

        domain = self._need_domain("export")
        if not self.exportable:
            raise ValueError(
                f"export writes fields on 1-, 2- or 3-D grids for ParaView; this solution's domain has "
                f"{domain.space_dim} spatial axes ({', '.join(domain.names)}): evaluate it at the points you "
                "need with solution(points) instead"
            )
        if resolution is not None and (check_positive_int("resolution", resolution) < 2):
            raise ValueError(f"resolution must be an integer >= 2 (nodes per coordinate), got {resolution}")
        sizes = _grid_sizes(domain) if resolution is None else [resolution] * domain.dim
        problem = self.problem
        attrs = {
            "problem": problem.name if problem is not None else "",
            "model": repr(self.model),
            "fields": list(self.fields),
            "settings": plain(self.settings),
        }
        if problem is not None and problem.has_truth:
            attrs["metrics"] = plain(self.metrics())
        if self.ansatz.specs:
            attrs["unknowns"] = self.unknowns
        attrs.update(self.formula_attributes())
        space = domain.space if domain.is_time_dependent else domain
        if not isinstance(space, Box) and space.dim in (2, 3):
            return self._export_mesh(path, domain, sizes, attrs)
        axes, mask = domain.evaluation_grid(sizes)
        p = self._param
        nodes = torch.as_tensor(grid_nodes(axes), dtype=p.dtype, device=p.device)  # (M, d)
        fields = self._export_fields(nodes)
        shape = [len(a) for a in axes]
        fields = {k: v.reshape(shape) for k, v in fields.items()}  # (n_1, ..., n_d)
        names = domain.names
        if domain.is_time_dependent:
            # move t (last column) to the front: (n_t, n_1, ..., n_d)
            fields = {k: np.moveaxis(v, -1, 0) for k, v in fields.items()}
            space_mask = mask.all(axis=-1)
            return export_hdf5(
                path,
                dict(zip(names[:-1], axes[:-1], strict=True)),
                fields,
                times=axes[-1],
                attrs=attrs,
                mask=None if space_mask.all() else space_mask,
            )
        return export_hdf5(
            path, dict(zip(names, axes, strict=True)), fields, attrs=attrs, mask=None if mask.all() else mask
        )

    def _export_mesh(self, path, domain: Domain, sizes: list[int], attrs: dict) -> tuple[Path, Path]:
        """A domain that is not a box: its evaluation nodes inside plus boundary points, triangulated
        (tetrahedra in 3-D) with the cells outside removed (:func:`kanpde.export.export_points_hdf5`)."""
        from .export import export_points_hdf5

        timed = domain.is_time_dependent
        space = domain.space if timed else domain
        axes, mask = space.evaluation_grid(sizes[: space.dim])
        boundary = space.sample_boundary(4 * max(sizes[: space.dim]), sampler="grid", dtype=torch.float64)[0]
        points = np.concatenate([grid_nodes(axes)[mask.ravel()], boundary.numpy()])  # (N, d_space)
        times = domain.evaluation_grid(sizes)[0][-1] if timed else None
        if timed:  # every point at every time: (T * N, d_space + 1), time outermost
            stacked = np.concatenate(
                [np.repeat(times, len(points))[:, None], np.tile(points, (len(times), 1))], axis=1
            )
            stacked = np.roll(stacked, -1, axis=1)  # columns x, y, (z,) t
        else:
            stacked = points
        p = self._param
        fields = self._export_fields(torch.as_tensor(stacked, dtype=p.dtype, device=p.device))
        if timed:
            fields = {k: v.reshape(len(times), len(points)) for k, v in fields.items()}  # (T, N)

        def inside(c: np.ndarray) -> np.ndarray:
            return space.contains(torch.as_tensor(c)).numpy()

        names = tuple(space.names)
        return export_points_hdf5(path, points, fields, names=names, inside=inside, times=times, attrs=attrs)

    def _export_fields(self, nodes: Tensor) -> dict[str, np.ndarray]:
        values = self._evaluate(nodes).cpu().numpy()  # (M, F)
        one = len(self.fields) == 1
        out = {("u" if one else f): values[:, i] for i, f in enumerate(self.fields)}
        problem = self.problem
        if problem is None:
            return out
        true = None
        if problem.exact is not None:
            with torch.no_grad():
                true = problem.exact_values(nodes).cpu().numpy()  # (M, F)
        elif problem.reference is not None:
            true = interpolate_reference(problem.reference, nodes.cpu().numpy())
        if true is not None:
            for i, f in enumerate(self.fields):
                out["exact" if one else f"exact_{f}"] = true[:, i]
                out["error" if one else f"error_{f}"] = values[:, i] - true[:, i]
        for name, r in self.residuals(nodes).items():
            out[name if name.startswith("residual") else f"residual_{name}"] = r.cpu().numpy()
        return out

    def plot(self, path: str | Path, field: str | None = None) -> Path | list[Path]:
        """Draw the solution, and the error where the truth is known, into one PNG; with several fields and
        no ``field``, one PNG per field (``<stem>_<field>.png``) and the list of their paths."""
        from .plotting import plot_solution

        if field is None and len(self.fields) > 1:
            path = Path(path)
            return [
                plot_solution(self, path.with_name(f"{path.stem}_{f}{path.suffix}"), f) for f in self.fields
            ]
        return plot_solution(self, path, field)


def _errors(u: Tensor, true: Tensor, grad_u, grad_true, columns: list[int]) -> dict:
    out = {
        "relative_l2": _metrics.relative_l2(u[:, columns], true[:, columns]),
        "max_abs": _metrics.max_abs(u[:, columns], true[:, columns]),
    }
    if grad_u is not None:
        out["relative_h1"] = _metrics.relative_h1(
            u[:, columns], grad_u[..., columns], true[:, columns], grad_true[..., columns]
        )
    return out


def interpolate_reference(reference, nodes: np.ndarray) -> np.ndarray | None:
    """The reference's values linearly interpolated at ``nodes`` ``(M, d)`` (NaN outside the hull of its
    points); ``None`` beyond 3 columns."""
    d = nodes.shape[1]
    if d == 1:
        order = np.argsort(reference.points[:, 0])
        xs = reference.points[order, 0]
        return np.stack(
            [
                np.interp(nodes[:, 0], xs, reference.values[order, i], left=np.nan, right=np.nan)
                for i in range(reference.values.shape[1])
            ],
            axis=1,
        )
    if d > 3:
        return None
    from scipy.interpolate import LinearNDInterpolator

    return LinearNDInterpolator(reference.points, reference.values)(nodes)  # (M, F)


def load(
    path: str | Path, problem: Problem | str | Path | None = None, device: str | None = None
) -> Solution:
    """Open a checkpoint written by :meth:`Solution.save` (or ``kanpde solve``).

    Loading never runs a file named inside the checkpoint (:mod:`kanpde.checkpoint`). The problem is
    ``problem`` when given (a :class:`~kanpde.Problem`, a shipped name or a path to a problem file you
    trust), else the shipped problem the checkpoint was made from; otherwise the solution has none and
    still evaluates, exports and plots on the stored domain.
    """
    path = Path(path)
    payload = read_checkpoint(path, device)
    attached = read_problem(payload["problem"], problem)
    domain = domain_from_dict(payload["domain"]) if payload.get("domain") else None
    try:
        state = payload["state_dict"]
        model = rebuild_model(payload["model_class"], payload["model_config"], float_dtype(state))
        model.load_state_dict(state)
        specs = [
            (Unknown(**{k: v for k, v in u.items() if k != "raw"}), u["raw"])
            for u in payload.get("unknowns", [])
        ]
        if attached is not None:
            ansatz = Ansatz.for_problem(model, attached)
        else:
            fields = tuple(payload.get("fields", ("u",)))
            ansatz = Ansatz(model, fields, tuple(s for s, _ in specs), _stored_hard(payload, fields, domain))
            ansatz.hard_info = payload.get("hard", [])
        with torch.no_grad():
            for spec, raw in specs:
                ansatz.raw[spec.name].fill_(raw)
    except (AttributeError, TypeError, ValueError, RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: its model does not rebuild ({first}); save it again"
        ) from err
    if device is not None:
        ansatz = ansatz.to(device)
    solution = Solution(
        ansatz, attached, payload["history"], payload["settings"], payload.get("trainer_state"), domain=domain
    )
    solution.symbolic_formula = _read_formula(path, payload.get("formula"))
    return solution


def _read_formula(path: Path, data: dict | None):
    """The formula stored with a checkpoint (plain data, nothing evaluated); one that does not read back
    (functions outside the default library, damaged data) is skipped with a warning: compute it again."""
    if data is None:
        return None
    import warnings

    from .formula import Formula

    try:
        return Formula.from_dict(data)
    except (ValueError, TypeError, KeyError, IndexError) as err:
        warnings.warn(f"{path}: the stored formula was not read ({err})", RuntimeWarning, stacklevel=3)
        return None


def _stored_hard(payload: dict, fields: tuple[str, ...], domain: Domain | None) -> list:
    """The exactly imposed Dirichlet conditions rebuilt from a checkpoint without its problem (numbers
    only: a callable value needs the problem)."""
    from .ansatz import Hard
    from .checkpoint import decode_on
    from .geometry import DistanceFunction

    out = []
    for info in payload.get("hard", []):
        if info["value"] is None or domain is None:
            raise ValueError(
                f"field {info['field']!r} imposes its Dirichlet values exactly with a function of the points; "
                "load the checkpoint with kp.load(path, problem=NAME_OR_FILE.py) to evaluate it"
            )
        out.append(
            Hard(fields.index(info["field"]), DistanceFunction(domain, decode_on(info["on"])), info["value"])
        )
    return out
