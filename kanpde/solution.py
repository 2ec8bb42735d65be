"""The result of a solve: evaluate and measure; save, export and plot through the modules that own them
(:mod:`kanpde.checkpoint`, :mod:`kanpde.export`, :mod:`kanpde.plotting`).

**Evaluation set.** With an exact solution, metrics use a fixed regular grid over the domain's bounding box,
end points included, keeping the nodes inside the domain (:meth:`kanpde.Domain.evaluation_points`: 1001
nodes in 1-D, 101² in 2-D, 31³ in 3-D, then ``floor(60000^(1/d))`` per column; space-time: 101 × 101, 41² ×
21, 21³ × 21, 11 per space column × 21). The relative H1 error uses the spatial gradient. Without an exact solution, a problem's :class:`~kanpde.Reference` gives the points
and the true values (relative L2 and max abs only: a reference has no gradients).

**Several fields.** ``sol(x)`` is ``(N,)`` for one field and ``(N, n_fields)`` for several; errors are over
all fields together (the norms of the stacked values) unless ``field=`` names one; :meth:`Solution.metrics`
gives both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import checkpoint
from . import metrics as _metrics
from .ansatz import Ansatz
from .derivatives import Evaluation, Field, derivative_key, resolve_mode
from .export import export_solution
from .formula import Formula, FormulaBudget, check_symbolic, find_formula
from .geometry import Domain
from .plotting import plot_solution
from .problem import Problem, Unknown
from .residuals import residual_rows
from .settings import SolveSettings
from .state import TrainerState

__all__ = ["Solution", "load"]


class Solution:
    """A trained model with its problem, history and settings (``None`` for one not made by a solve).

    Call it on points: ``sol(x)`` takes ``(N, d)`` (tensor in, tensor out; NumPy in, NumPy out) and returns
    ``(N,)`` for one field, ``(N, n_fields)`` for several. ``sol.d(x, "x")``, ``sol.d(x, "x", "x")`` (any
    order) and ``sol.grad(x)`` give its derivatives the same way. ``sol.unknowns`` are the identified
    coefficients.

    ``sol.model`` (also ``sol.network``) is the trained network ``N`` (a :class:`~kanpde.KAN` or
    :class:`~kanpde.MLP`: prune it, plot its edges, save its config). It is the solution only when every
    condition is imposed weakly: with exactly imposed ones (``hard=True``: Dirichlet values, initial
    values) the field is ``u = g + φ N`` and ``sol.model(x)`` is ``N``, not ``u``. Evaluate the solution
    with ``sol(x)``, or with ``sol.ansatz(x)`` (the tensor map ``(N, d) -> (N, n_fields)`` with its graph).

    ``problem`` may be ``None`` (a checkpoint loaded without its problem): the solution then evaluates,
    exports and plots on ``domain``, and metrics that need the truth say how to pass the problem.
    """

    def __init__(
        self,
        model: nn.Module,
        problem: Problem | None,
        history: Sequence[dict] = (),
        settings: SolveSettings | None = None,
        trainer_state: TrainerState | None = None,
        *,
        domain: Domain | None = None,
        fields: tuple[str, ...] | None = None,
        unknowns: tuple[Unknown, ...] | None = None,
    ) -> None:
        if not isinstance(model, Ansatz) and problem is not None:
            model = Ansatz.for_problem(model, problem)
        elif not isinstance(model, Ansatz):
            model = Ansatz(model, fields or ("u",), unknowns or ())
        if settings is not None and not isinstance(settings, SolveSettings):
            raise TypeError(f"settings must be a kanpde.SolveSettings or None, got {type(settings).__name__}")
        self.ansatz, self.problem, self.history = model, problem, list(history)
        self.settings = settings
        self.trainer_state = trainer_state  # where training stands, for kanpde.resume
        self.domain = problem.domain if problem is not None else domain
        self.symbolic_formula: Formula | None = (
            None  # the Formula of formula(), saved and exported once computed
        )

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
                return self._shape(self.ansatz(self.as_points(x))).cpu().numpy()
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
        points = self.as_points(x)
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
        return field_columns(self.fields, field)

    def relative_l2(self, field: str | None = None) -> float:
        """``||u - u*|| / ||u*||`` on the evaluation set (or the reference's points), over all fields
        together, or of the one ``field``."""
        x, true = self._truth("relative_l2")
        columns = self._columns(field)
        with torch.no_grad():
            return _metrics.relative_l2(self.evaluate(x)[:, columns], true[:, columns])

    def as_points(self, x) -> Tensor:
        """Points ``x`` (a tensor or array ``(M, d)``) as a tensor of the model's dtype on its device."""
        p = self._param
        return torch.as_tensor(x, dtype=p.dtype, device=p.device)

    def evaluate(self, x: Tensor, batch: int = 20000) -> Tensor:
        """Every field at points ``x`` ``(M, d)`` as columns ``(M, n_fields)``, ``batch`` points at a time,
        without a graph."""
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
        out = field_errors(u, true, grad_u, grad_true, list(range(len(self.fields))))
        out["n_points"] = int(x.shape[0])
        out["truth"] = "exact" if exact else "reference"
        if len(self.fields) > 1:
            out["fields"] = {n: field_errors(u, true, grad_u, grad_true, c) for n, c in columns.items()}
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
            return self.evaluate(x), None
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
        problem = self._need_problem("residual")
        values, names = residual_rows(problem, self.ansatz, x, resolve_mode("auto", self.ansatz), batch=batch)
        return {name: values[:, i] for i, name in enumerate(names)}  # values: (N, C)

    def residual(self, x: Tensor, batch: int = 20000) -> Tensor:
        """The PDE residual ``R[u](x)``: ``(N,)`` for one equation, ``(N, C)`` for several."""
        values = list(self.residuals(x, batch).values())
        return values[0] if len(values) == 1 else torch.stack(values, dim=1)

    def formula(
        self,
        *,
        library=None,
        threshold: float = 0.0,
        budget: FormulaBudget | None = None,
        progress: bool = True,
        **refine_options,
    ):
        """The closed form of this solution within ``budget`` (default ``kp.FormulaBudget()``: 120 s): the
        KAN's edges fitted and refined against the PDE (``kp.symbolic(self).refine(self.problem)``) when it
        has at most ``budget.max_edges`` edges, else those of the pruned KAN, or of a narrow KAN
        ``[d, w, 1]`` trained on the PDE (:func:`kanpde.formula.find_formula`); ``progress`` prints one line
        per phase to stderr. Options of :meth:`kanpde.Formula.refine` pass through. The formula is kept as
        ``symbolic_formula`` and saved and exported with the solution from then on."""
        problem = self._need_problem("formula")
        check_symbolic(problem, self.model)
        found = find_formula(
            self.model,
            problem,
            library=library,
            threshold=threshold,
            budget=budget,
            progress=progress,
            evaluate=lambda x: self(x).reshape(-1),
            **refine_options,
        )
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
        unknowns, history, settings, the trainer's state, the domain and the problem's name (never code)."""
        return checkpoint.save(self, path)

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
        return export_solution(self, path, resolution)

    def plot(self, path: str | Path, field: str | None = None) -> Path | list[Path]:
        """Draw the solution, and the error where the truth is known, into one PNG; with several fields and
        no ``field``, one PNG per field (``<stem>_<field>.png``) and the list of their paths."""
        if field is None and len(self.fields) > 1:
            path = Path(path)
            return [
                plot_solution(self, path.with_name(f"{path.stem}_{f}{path.suffix}"), f) for f in self.fields
            ]
        return plot_solution(self, path, field)


def field_errors(u: Tensor, true: Tensor, grad_u, grad_true, columns: list[int]) -> dict:
    """Relative L2 and max abs error of the ``columns`` of ``u`` against ``true`` (and the relative H1 error
    when gradients ``(M, d, F)`` are given)."""
    out = {
        "relative_l2": _metrics.relative_l2(u[:, columns], true[:, columns]),
        "max_abs": _metrics.max_abs(u[:, columns], true[:, columns]),
    }
    if grad_u is not None:
        out["relative_h1"] = _metrics.relative_h1(
            u[:, columns], grad_u[..., columns], true[:, columns], grad_true[..., columns]
        )
    return out


def load(
    path: str | Path,
    problem: Problem | str | Path | None = None,
    device: str | None = None,
    *,
    force: bool = False,
) -> Solution:
    """Open a checkpoint written by :meth:`Solution.save` (or ``kanpde solve``).

    Loading never runs a file named inside the checkpoint (:mod:`kanpde.checkpoint`). The problem is
    ``problem`` when given (a :class:`~kanpde.Problem`, a shipped name or a path to a problem file you
    trust), else the shipped problem the checkpoint was made from; otherwise the solution has none and
    still evaluates, exports and plots on the stored domain.

    A ``problem`` other than the one the checkpoint was made from (another name, domain, fields, unknowns or
    exactly imposed conditions) is an error that says what differs, unless ``force=True``: metrics against
    the wrong truth, or an ansatz without its exact Dirichlet values, would be wrong numbers.
    """
    found = checkpoint.restore(path, problem, device, force)
    solution = Solution(
        found.ansatz, found.problem, found.history, found.settings, found.trainer_state, domain=found.domain
    )
    solution.symbolic_formula = found.formula
    return solution


def field_columns(fields: Sequence[str], field: str | None) -> list[int]:
    """The output columns of ``field`` among ``fields`` (all of them for ``None``)."""
    if field is None:
        return list(range(len(fields)))
    if field not in fields:
        raise ValueError(f"unknown field {field!r}; this solution's fields are {', '.join(fields)}")
    return [list(fields).index(field)]
