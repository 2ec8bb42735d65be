"""The result of a solve: evaluate, measure, save, load, export, plot.

**Evaluation set.** Metrics use a fixed regular grid over the domain's bounding box, end points included,
keeping the nodes inside the domain: 1001 nodes in 1-D, 101² in 2-D, 31³ in 3-D, 15 per column beyond
(space-time counts ``t`` as a column; a 2-D space-time grid is 41² × 21). The relative H1 error uses the
spatial gradient.
"""

from __future__ import annotations

import math
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import metrics as _metrics
from ._atomic import atomic_write
from .derivatives import Field, resolve_mode
from .problem import Problem

__all__ = ["Solution", "load", "evaluation_points", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "kanpde-checkpoint"
_CHECKPOINT_VERSION = 1


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
    mesh = np.meshgrid(*axes, indexing="ij")
    nodes = np.stack([c.ravel() for c in mesh], axis=1)[mask.ravel()]  # (M, d)
    return torch.as_tensor(nodes, dtype=dtype, device=device), axes, mask


def _build_model(kind: str, config: dict) -> nn.Module:
    from .kan import KAN
    from .mlp import MLP

    classes = {"KAN": KAN, "MLP": MLP}
    if kind not in classes:
        raise ValueError(f"checkpoint names an unknown model class {kind!r}; kanpde saves KAN or MLP models")
    return classes[kind](**config)


class Solution:
    """A trained model with its problem, history and settings.

    Call it on points: ``sol(x)`` takes ``(N, d)`` (tensor in, tensor out; NumPy in, NumPy out) and returns
    ``(N,)``.
    """

    def __init__(
        self,
        model: nn.Module,
        problem: Problem | None,
        history: list[dict],
        settings: dict,
        trainer_state: dict | None = None,
    ) -> None:
        self.model, self.problem, self.history, self.settings = model, problem, list(history), dict(settings)
        self.trainer_state = trainer_state  # where training stands, for kanpde.resume
        self.symbolic_formula = None  # the Formula of formula(), exported with the solution once computed

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
                f"{what} needs the problem, which this solution does not have; "
                "load the checkpoint with kp.load(path, problem=...)"
            )
        return self.problem

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
        """Write a checkpoint (model config, knot grids, weights, history, settings, problem name/file)."""
        path = Path(path)
        problem = self.problem
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "model_class": type(self.model).__name__,
            "model_config": _plain(self.model.config()),
            "state_dict": {
                k: v.detach().cpu() if isinstance(v, Tensor) else v
                for k, v in self.model.state_dict().items()
            },
            "history": self.history,
            "settings": _plain(self.settings),
            "trainer_state": self.trainer_state,
            "problem": {
                "name": problem.name if problem else None,
                "source": getattr(problem, "source", None) if problem else None,
            },
            "formula": self.symbolic_formula.as_dict() if self.symbolic_formula is not None else None,
        }
        with atomic_write(path) as tmp:
            torch.save(payload, tmp)
        return path

    def export(self, path: str | Path, resolution: int | None = None) -> tuple[Path, Path]:
        """Write the fields on a regular grid to HDF5 with an XDMF file beside it (for ParaView).

        Fields: ``u``, and where available ``exact``, ``error`` (``u - exact``) and ``residual``; a
        space-time problem gives a time series. Settings and metrics are stored as attributes.
        """
        from .export import export_hdf5

        problem = self._need_problem("export")
        domain = problem.domain
        sizes = _grid_sizes(domain) if resolution is None else [resolution] * domain.dim
        axes, mask = domain.evaluation_grid(sizes)
        mesh = np.meshgrid(*axes, indexing="ij")
        p = self._param
        nodes = torch.as_tensor(np.stack([c.ravel() for c in mesh], axis=1), dtype=p.dtype, device=p.device)
        fields = {"u": self(nodes).cpu().numpy()}
        if problem.exact is not None:
            with torch.no_grad():
                fields["exact"] = problem.exact(nodes).reshape(-1).cpu().numpy()
            fields["error"] = fields["u"] - fields["exact"]
        fields["residual"] = self.residual(nodes).cpu().numpy()
        shape = [len(a) for a in axes]
        fields = {k: v.reshape(shape) for k, v in fields.items()}  # (n_1, ..., n_d)
        attrs = {"problem": problem.name, "model": repr(self.model), "settings": _plain(self.settings)}
        if problem.exact is not None:
            attrs["metrics"] = self.metrics()
        attrs.update(self.formula_attributes())
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


def _plain(obj):
    """Tensors, tuples and dtypes to plain Python values (for checkpoints and attributes)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Tensor):
        return obj.tolist()
    if isinstance(obj, torch.dtype):
        return str(obj).removeprefix("torch.")
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def load(path: str | Path, problem: Problem | None = None, device: str | None = None) -> Solution:
    """Open a checkpoint written by :meth:`Solution.save`.

    The problem is rebuilt from the stored problem file or shipped problem name unless ``problem`` is given;
    when neither works the solution still evaluates, but metrics need ``problem=``.
    """
    path = Path(path)
    payload = _read_checkpoint(path, device)
    kind = payload["model_class"]
    if kind not in ("KAN", "MLP"):
        raise ValueError(f"{path} names an unknown model class {kind!r}; kanpde saves KAN or MLP models")
    try:
        state = payload["state_dict"]
        dtype = next(
            (v.dtype for v in state.values() if isinstance(v, Tensor) and v.is_floating_point()),
            torch.float64,
        )
        model = _build_model(kind, {**payload["model_config"], "dtype": dtype})
        model.load_state_dict(state)
    except (AttributeError, TypeError, ValueError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: its model does not rebuild ({first}); save it again"
        ) from err
    if device is not None:
        model = model.to(device)
    if problem is None:
        problem = _find_problem(payload["problem"])
    solution = Solution(model, problem, payload["history"], payload["settings"], payload.get("trainer_state"))
    solution.symbolic_formula = _read_formula(path, payload.get("formula"))
    return solution


def _read_formula(path: Path, data: dict | None):
    """The formula stored with a checkpoint; one using functions outside the default library is skipped with a
    warning (compute it again with the library)."""
    if data is None:
        return None
    from .formula import Formula

    try:
        return Formula.from_dict(data)
    except ValueError as err:
        import warnings

        warnings.warn(f"{path}: the stored formula was not read ({err})", RuntimeWarning, stacklevel=3)
        return None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_CHECKPOINT_KEYS = ("model_class", "model_config", "state_dict", "history", "settings", "problem")


def _read_checkpoint(path: Path, device: str | None) -> dict:
    """The payload of a checkpoint file; every way a file can fail to be one is a clear error."""
    hint = "pass a .pt checkpoint written by Solution.save or 'kanpde solve'"
    if path.is_dir():
        raise FileNotFoundError(
            f"no checkpoint at {path}: it is a folder; {hint}, e.g. {path / 'solution.pt'}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; {hint}")
    with path.open("rb") as f:
        head = f.read(len(_HDF5_SIGNATURE))
    if head == _HDF5_SIGNATURE:
        raise ValueError(
            f"{path} is an HDF5 file (a field export?), not a kanpde checkpoint; {hint} "
            "(read exports with kanpde.export.read_hdf5)"
        )
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut one has no central directory
        raise ValueError(
            f"{path} is not a kanpde checkpoint: it is truncated or not written by torch.save; {hint}"
        )
    try:
        payload = torch.load(path, map_location=device or "cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path} holds Python objects other than tensors and plain data, which kanpde does not load "
            f"(unpickling them could run code); it is not a kanpde checkpoint; {hint}"
        ) from err
    except Exception as err:  # torch raises several types for damaged archives
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(f"{path} is a damaged checkpoint ({type(err).__name__}: {first}); {hint}") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a kanpde checkpoint (no '{CHECKPOINT_FORMAT}' format tag); {hint}")
    version = payload.get("version", 0)
    if not isinstance(version, int) or version > _CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} was written by a newer kanpde (checkpoint version {version!r}); upgrade kanpde"
        )
    missing = [key for key in _CHECKPOINT_KEYS if key not in payload]
    if missing:
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: it lacks {', '.join(missing)}; save it again"
        )
    return payload


def _find_problem(info: dict) -> Problem | None:
    from .catalog import load_problem

    for ref in (info.get("source"), info.get("name")):
        if ref:
            try:
                return load_problem(ref)
            except (ValueError, FileNotFoundError):
                continue
    return None
