"""The result of a solve: evaluate, measure, save, load, export, plot.

**Evaluation set.** Metrics use a fixed regular grid over the domain's bounding box, end points included,
keeping the nodes inside the domain: 1001 nodes in 1-D, 101² in 2-D, 31³ in 3-D, 15 per column beyond
(space-time counts ``t`` as a column; a 2-D space-time grid is 41² × 21). The relative H1 error uses the
spatial gradient.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import metrics as _metrics
from ._atomic import plain
from ._checks import check_positive_int
from .checkpoint import (
    domain_from_dict,
    domain_to_dict,
    float_dtype,
    problem_info,
    read_checkpoint,
    read_problem,
    write_checkpoint,
)
from .derivatives import Field, resolve_mode
from .geometry import Domain
from .grids import grid_nodes
from .models import rebuild_model
from .problem import Problem

__all__ = ["Solution", "load", "evaluation_points"]


def _grid_sizes(domain) -> list[int]:
    if domain.is_time_dependent:
        space = {1: [101], 2: [41, 41], 3: [21, 21, 21]}.get(domain.space_dim, [11] * domain.space_dim)
        return space + [21 if domain.space_dim > 1 else 101]
    return {1: [1001], 2: [101, 101], 3: [31, 31, 31]}.get(domain.dim, [15] * domain.dim)


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
    ``(N,)``.

    ``problem`` may be ``None`` (a checkpoint loaded without its problem): the solution then evaluates,
    exports and plots on ``domain``, and metrics that need the exact solution say how to pass the problem.
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
    ) -> None:
        self.model, self.problem, self.history, self.settings = model, problem, list(history), dict(settings)
        self.trainer_state = trainer_state  # where training stands, for kanpde.resume
        self.domain = problem.domain if problem is not None else domain

    def __repr__(self) -> str:
        name = self.problem.name if self.problem is not None else "?"
        return f"Solution(problem={name!r}, model={self.model!r}, steps={len(self.history)} records)"

    # -- evaluation -------------------------------------------------------------------------------------
    @property
    def _param(self) -> Tensor:
        return (
            next(self.model.buffers()) if not list(self.model.parameters()) else next(self.model.parameters())
        )

    def __call__(self, x) -> Tensor | np.ndarray:
        p = self._param
        if isinstance(x, np.ndarray):
            with torch.no_grad():
                return self.model(torch.as_tensor(x, dtype=p.dtype, device=p.device))[:, 0].cpu().numpy()
        if not isinstance(x, Tensor):
            raise TypeError(
                f"a Solution takes a tensor or NumPy array of shape (N, d), got {type(x).__name__}"
            )
        with torch.no_grad():
            return self.model(x.to(dtype=p.dtype, device=p.device))[:, 0].to(x.device)

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

    def _need_exact(self, what: str) -> Problem:
        problem = self._need_problem(what)
        if problem.exact is None:
            raise ValueError(
                f"{what} needs an exact solution, and problem {problem.name!r} has none (exact=None)"
            )
        return problem

    def relative_l2(self) -> float:
        """``||u - u*|| / ||u*||`` on the evaluation set."""
        problem = self._need_exact("relative_l2")
        p = self._param
        x = evaluation_points(problem.domain, p.dtype, p.device)[0]
        with torch.no_grad():
            return _metrics.relative_l2(self.model(x)[:, 0], problem.exact(x).reshape(-1))

    def metrics(self) -> dict:
        """Relative L2, max abs and relative H1 errors on the evaluation set, plus its size."""
        problem = self._need_exact("metrics")
        p = self._param
        x = evaluation_points(problem.domain, p.dtype, p.device)[0]
        d = problem.domain.space_dim
        u, grad_u = self._value_and_grad(x, d)
        xe = x.clone().requires_grad_(True)
        exact = problem.exact(xe).reshape(-1)
        grad_exact = torch.autograd.grad(exact.sum(), xe)[0][:, :d]
        exact = exact.detach()
        return {
            "relative_l2": _metrics.relative_l2(u, exact),
            "max_abs": _metrics.max_abs(u, exact),
            "relative_h1": _metrics.relative_h1(u, grad_u, exact, grad_exact),
            "n_points": int(x.shape[0]),
        }

    def _value_and_grad(self, x: Tensor, d: int, batch: int = 20000) -> tuple[Tensor, Tensor]:
        values, grads = [], []
        for chunk in x.split(batch):
            f = Field(self.model, chunk, self.problem.domain.names, d, resolve_mode("auto", self.model))
            values.append(f.value.detach())
            grads.append(f.grad().detach())
        return torch.cat(values), torch.cat(grads)

    def residual(self, x: Tensor, batch: int = 20000) -> Tensor:
        """The PDE residual ``R[u](x)`` ``(N,)`` of the trained model."""
        problem = self._need_problem("residual")
        out = []
        for chunk in x.split(batch):
            f = Field(
                self.model,
                chunk,
                problem.domain.names,
                problem.domain.space_dim,
                resolve_mode("auto", self.model),
            )
            out.append(problem.residual(chunk, f).reshape(-1).detach())
        return torch.cat(out)

    # -- files ------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a checkpoint (:mod:`kanpde.checkpoint`): model config, knot grids, weights, history,
        settings, the trainer's position, the domain and the problem's name (never code)."""
        payload = {
            "model_class": type(self.model).__name__,
            "model_config": plain(self.model.config()),
            "state_dict": {
                k: v.detach().cpu() if isinstance(v, Tensor) else v
                for k, v in self.model.state_dict().items()
            },
            "history": self.history,
            "settings": plain(self.settings),
            "trainer_state": self.trainer_state,
            "problem": problem_info(self.problem),
            "domain": domain_to_dict(self.domain) if self.domain is not None else None,
        }
        return write_checkpoint(path, payload)

    def export(self, path: str | Path, resolution: int | None = None) -> tuple[Path, Path]:
        """Write the fields on a regular grid to HDF5 with an XDMF file beside it (for ParaView).

        Fields: ``u``, and where the problem is attached ``residual`` and, with an exact solution,
        ``exact`` and ``error`` (``u - exact``); a space-time problem gives a time series. Settings and
        metrics are stored as attributes.
        """
        from .export import export_hdf5

        domain = self._need_domain("export")
        if resolution is not None and (check_positive_int("resolution", resolution) < 2):
            raise ValueError(f"resolution must be an integer >= 2 (nodes per coordinate), got {resolution}")
        sizes = _grid_sizes(domain) if resolution is None else [resolution] * domain.dim
        axes, mask = domain.evaluation_grid(sizes)
        p = self._param
        nodes = torch.as_tensor(grid_nodes(axes), dtype=p.dtype, device=p.device)  # (M, d)
        fields = {"u": self(nodes).cpu().numpy()}
        problem = self.problem
        if problem is not None and problem.exact is not None:
            with torch.no_grad():
                fields["exact"] = problem.exact(nodes).reshape(-1).cpu().numpy()
            fields["error"] = fields["u"] - fields["exact"]
        if problem is not None:
            fields["residual"] = self.residual(nodes).cpu().numpy()
        shape = [len(a) for a in axes]
        fields = {k: v.reshape(shape) for k, v in fields.items()}  # (n_1, ..., n_d)
        attrs = {
            "problem": problem.name if problem is not None else "",
            "model": repr(self.model),
            "settings": plain(self.settings),
        }
        if problem is not None and problem.exact is not None:
            attrs["metrics"] = self.metrics()
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

    def plot(self, path: str | Path) -> Path:
        """Draw the solution, and the error where an exact solution exists, into one PNG."""
        from .plotting import plot_solution

        return plot_solution(self, path)


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
    try:
        state = payload["state_dict"]
        model = rebuild_model(payload["model_class"], payload["model_config"], float_dtype(state))
        model.load_state_dict(state)
    except (AttributeError, TypeError, ValueError, RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: its model does not rebuild ({first}); save it again"
        ) from err
    if device is not None:
        model = model.to(device)
    attached = read_problem(payload["problem"], problem)
    domain = domain_from_dict(payload["domain"]) if payload.get("domain") else None
    return Solution(
        model, attached, payload["history"], payload["settings"], payload.get("trainer_state"), domain=domain
    )
