"""Checkpoint files: what :meth:`kanpde.Solution.save` writes and :func:`kanpde.load` reads.

A checkpoint is a ``torch.save`` archive of plain data and tensors only (read back with
``weights_only=True``, so opening one never unpickles code): the model class and constructor arguments,
its state dict, the fields and unknowns, the exactly imposed Dirichlet conditions, the history, the
settings, the trainer's state (for :func:`kanpde.resume`), the domain as plain values, the problem's name
and the formula once found. This module owns that payload: :func:`payload` builds it from a solution,
:func:`restore` rebuilds the solution's parts from it.

**Loading never runs code named inside the file.** A problem is Python code; kanpde 0.1 stored the path of
the problem file and executed it on load, so a checkpoint someone sent you could run any ``.py`` file on your
machine. Now :func:`read_problem` attaches, in this order: the ``problem`` the caller passes (an object, a
shipped name or a path the caller names); the shipped problem of the stored name, when the checkpoint says
it was made from the shipped file (with a warning when that file changed since); otherwise none, and the
solution still evaluates, exports and plots on the stored domain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ._atomic import atomic_write, plain
from .ansatz import Ansatz
from .catalog import list_problems, load_problem, problems_dir
from .conditions import Dirichlet, Initial
from .formula import Formula
from .geometry import Domain
from .hard import Hard, hard_terms
from .models import rebuild_model
from .problem import Problem, Unknown
from .settings import SolveSettings
from .state import TrainerState

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "Restored",
    "payload",
    "restore",
    "write_checkpoint",
    "read_checkpoint",
    "read_problem",
    "domain_to_dict",
    "domain_from_dict",
    "encode_on",
    "decode_on",
]

CHECKPOINT_FORMAT = "kanpde-checkpoint"
CHECKPOINT_VERSION = 3
"""1: kanpde 0.1 (problem by file path); 2: the domain as plain values and the shipped problem by name;
3: the settings by part (:class:`~kanpde.SolveSettings`) and the trainer state with the levers' own."""

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_REQUIRED = ("model_class", "model_config", "state_dict", "history", "settings", "problem")
_HINT = "pass a .pt checkpoint written by Solution.save or 'kanpde solve'"


# -- domains as plain values ------------------------------------------------------------------------------
def _domain_classes() -> dict[str, type]:
    found, todo = {}, [Domain]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = sub
            todo.append(sub)
    return found


def _encode(value: Any) -> Any:
    if isinstance(value, Domain):
        return domain_to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return plain(value)


def domain_to_dict(domain: Domain) -> dict:
    """``{"type": class name, field: value, ...}`` with nested domains as such dicts (plain data only)."""
    if not dataclasses.is_dataclass(domain):
        raise TypeError(f"cannot store the domain {domain!r}: kanpde domains are dataclasses")
    fields = {f.name: _encode(getattr(domain, f.name)) for f in dataclasses.fields(domain) if f.init}
    return {"type": type(domain).__name__, **fields}


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "type" in value:
        return domain_from_dict(value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def domain_from_dict(data: dict) -> Domain:
    """Inverse of :func:`domain_to_dict`; only kanpde's own domain classes are built."""
    if not isinstance(data, dict):
        raise ValueError(f"a stored domain must be a dict with a 'type', got {type(data).__name__}")
    classes = _domain_classes()
    name = data.get("type")
    if name not in classes:
        raise ValueError(
            f"unknown domain type {name!r} in the checkpoint; known: {', '.join(sorted(classes))}"
        )
    fields = {k: _decode(v) for k, v in data.items() if k != "type"}
    _check_domain_keys(classes[name], fields)
    if name == "Interval":  # constructed from its end points
        return classes[name](fields["lo"][0], fields["hi"][0])
    return classes[name](**fields)


def _check_domain_keys(cls: type, fields: dict) -> None:
    """A ``ValueError`` naming the stored domain's missing or unknown keys (rather than a ``KeyError`` or a
    ``TypeError`` from the constructor)."""
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    required = [
        n
        for n, f in known.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in fields]
    unknown = [k for k in fields if k not in known]
    if missing or unknown:
        wrong = ", ".join([f"lacks {k!r}" for k in missing] + [f"has the unknown key {k!r}" for k in unknown])
        raise ValueError(
            f"the stored {cls.__name__} domain {wrong}; it needs {', '.join(required)}: the checkpoint is "
            "damaged, save it again"
        )


def encode_on(on: Any) -> Any:
    """A condition's ``on=`` as plain data: face names as they are, shapes as domain dicts."""
    if isinstance(on, Domain):
        return {"shape": domain_to_dict(on)}
    if isinstance(on, (list, tuple)):
        return [encode_on(o) for o in on]
    if on is None or isinstance(on, str):
        return on
    raise ValueError(f"cannot store on={on!r} in a checkpoint (face names and shapes only)")


def decode_on(data: Any) -> Any:
    """Inverse of :func:`encode_on`."""
    if isinstance(data, dict) and "shape" in data:
        return domain_from_dict(data["shape"])
    if isinstance(data, list):
        return [decode_on(d) for d in data]
    return data


# -- the problem's identity --------------------------------------------------------------------------------
def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _shipped_file(problem: Problem) -> Path | None:
    """The shipped problem file ``problem`` was loaded from, if it was."""
    if not problem.source:
        return None
    source = Path(problem.source).resolve()
    folder = problems_dir().resolve()
    return source if source.parent == folder and source.suffix == ".py" else None


def problem_info(problem: Problem | None) -> dict:
    """What a checkpoint records of the problem: its name, and the shipped file's name and digest when it
    is a shipped problem (nothing that would be executed)."""
    if problem is None:
        return {"name": None, "shipped": None, "digest": None}
    shipped = _shipped_file(problem)
    return {
        "name": problem.name,
        "shipped": shipped.stem if shipped is not None else None,
        "digest": _digest(shipped) if shipped is not None else None,
    }


def read_problem(info: dict, problem: Problem | str | Path | None) -> Problem | None:
    """The problem to attach to a loaded solution (see the module docstring)."""
    if isinstance(problem, Problem):
        return problem
    if isinstance(problem, (str, Path)):
        return load_problem(problem)
    if problem is not None:
        raise TypeError(
            f"problem must be a kanpde.Problem, a shipped name or a path, got {type(problem).__name__}"
        )
    shipped = info.get("shipped")
    if shipped is None and info.get("source"):  # kanpde 0.1: attach only a file of the shipped folder
        source = Path(info["source"])
        if source.parent.resolve() == problems_dir().resolve():
            shipped = source.stem
    if not shipped or shipped not in list_problems():
        return None
    path = problems_dir() / f"{shipped}.py"
    stored = info.get("digest")
    if stored is not None and stored != _digest(path):
        warnings.warn(
            f"the shipped problem {shipped!r} has changed since this checkpoint was written; metrics use "
            "the current file",
            UserWarning,
            stacklevel=3,
        )
    return load_problem(shipped)


# -- files ------------------------------------------------------------------------------------------------
def write_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` (plain data and tensors) atomically, tagged with the format and version."""
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **payload}
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_checkpoint(path: str | Path, device: str | None = None) -> dict:
    """The payload of a checkpoint file; every way a file can fail to be one is a clear error."""
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(
            f"no checkpoint at {path}: it is a folder; {_HINT}, e.g. {path / 'solution.pt'}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; {_HINT}")
    with path.open("rb") as f:
        head = f.read(len(_HDF5_SIGNATURE))
    if head == _HDF5_SIGNATURE:
        raise ValueError(
            f"{path} is an HDF5 file (a field export?), not a kanpde checkpoint; {_HINT} "
            "(read exports with kanpde.export.read_hdf5)"
        )
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut one has no central directory
        raise ValueError(
            f"{path} is not a kanpde checkpoint: it is truncated or not written by torch.save; {_HINT}"
        )
    try:
        payload = torch.load(path, map_location=device or "cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path} holds Python objects other than tensors and plain data, which kanpde does not load "
            f"(unpickling them could run code); it is not a kanpde checkpoint; {_HINT}"
        ) from err
    except Exception as err:  # torch raises several types for damaged archives
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(f"{path} is a damaged checkpoint ({type(err).__name__}: {first}); {_HINT}") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a kanpde checkpoint (no '{CHECKPOINT_FORMAT}' format tag); {_HINT}")
    version = payload.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: its version {version!r} is not an integer; {_HINT}"
        )
    if version > CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} was written by a newer kanpde (checkpoint version {version!r}); upgrade kanpde"
        )
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise ValueError(
            f"{path} is a damaged kanpde checkpoint: it lacks {', '.join(missing)}; save it again"
        )
    return payload


def stored_run_id(path: str | Path) -> str | None:
    """The run identity in the trainer state of the checkpoint at ``path`` (memory-mapped: nothing large is
    read); ``None`` when there is none or the file is not a readable checkpoint."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return payload["trainer_state"]["run_id"]
    except Exception:  # noqa: BLE001 - any file that is not a checkpoint of a run has no run identity
        return None


def float_dtype(state: dict) -> torch.dtype:
    """The floating dtype of a state dict's tensors (float64 when it has none)."""
    return next(
        (v.dtype for v in state.values() if isinstance(v, Tensor) and v.is_floating_point()), torch.float64
    )


# -- the payload ------------------------------------------------------------------------------------------
def payload(solution) -> dict:
    """What a checkpoint of ``solution`` holds (plain data and tensors; never code)."""
    net, ansatz = solution.model, solution.ansatz
    state = solution.trainer_state
    return {
        "model_class": type(net).__name__,
        "model_config": plain(net.config()),
        "state_dict": {
            k: v.detach().cpu() if isinstance(v, Tensor) else v for k, v in net.state_dict().items()
        },
        "fields": list(solution.fields),
        "unknowns": [
            {**spec.as_dict(), "raw": float(ansatz.raw[name].detach())} for name, spec in ansatz.specs.items()
        ],
        "hard": hard_info(solution),
        "history": solution.history,
        "settings": solution.settings.as_dict() if solution.settings is not None else None,
        "trainer_state": state.as_dict() if state is not None else None,
        "problem": problem_info(solution.problem),
        "domain": domain_to_dict(solution.domain) if solution.domain is not None else None,
        "formula": solution.symbolic_formula.as_dict() if solution.symbolic_formula is not None else None,
    }


def _hard_text(info: list[dict]) -> str:
    """The exactly imposed conditions of :func:`_hard_of` in words, e.g. ``u: Dirichlet 0.0, u: initial value
    a function``."""
    kinds = {0: "initial value", 1: "initial velocity"}
    words = []
    for h in info:
        kind = kinds.get(h["initial"], "initial") if "initial" in h else "Dirichlet"
        value = "a function" if h["value"] is None else h["value"]
        words.append(f"{h['field']}: {kind} {'from the window before' if h.get('carried') else value}")
    return ", ".join(sorted(words)) or "none"


def hard_info(solution) -> list[dict]:
    """The exactly imposed conditions as plain data (a callable value as ``None``: only the problem can
    give it back)."""
    if solution.problem is None:
        return list(getattr(solution.ansatz, "hard_info", []))
    return _hard_of(solution.problem)


def _hard_of(problem: Problem) -> list[dict]:
    """Each exactly imposed condition as plain data: a Dirichlet condition's field, value and part, an
    initial condition's field, value and ``"initial"`` (its time derivative)."""
    out = []
    for c in problem.hard_conditions:
        info = {"field": c.field or problem.fields[0], "value": None if callable(c.value) else float(c.value)}
        if getattr(c.value, "carried", False):
            info["carried"] = c.value.fingerprint()  # a marched window's start: the window before, by digest
        out.append(
            {**info, "initial": c.derivative} if isinstance(c, Initial) else {**info, "on": encode_on(c.on)}
        )
    return out


def differences(data: dict, problem: Problem) -> list[str]:
    """How ``problem`` differs from the one a checkpoint's payload ``data`` was made from: its name, domain,
    fields, unknowns and exactly imposed conditions (what a checkpoint records of them)."""
    found = []
    name = data["problem"].get("name")
    if name is not None and name != problem.name:
        found.append(f"it was made from problem {name!r}, not {problem.name!r}")
    if data.get("domain") is not None and data["domain"] != domain_to_dict(problem.domain):
        found.append(
            f"its domain is {_domain_text(data['domain'])}, not {_domain_text(domain_to_dict(problem.domain))}"
        )
    if "fields" in data and list(data["fields"]) != list(problem.fields):
        found.append(f"its fields are {', '.join(data['fields'])}, not {', '.join(problem.fields)}")
    stored = sorted(u["name"] for u in data.get("unknowns", []))
    if stored != sorted(u.name for u in problem.unknowns):
        found.append(
            f"its unknowns are {stored or 'none'}, not {sorted(u.name for u in problem.unknowns) or 'none'}"
        )
    if "hard" in data and data["hard"] != _hard_of(problem):
        found.append(
            f"its exactly imposed values ({_hard_text(data['hard'])}) differ from the problem's "
            f"({_hard_text(_hard_of(problem))})"
        )
    return found


def _domain_text(data: dict) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in data.items() if k != "type")
    return f"{data.get('type')}({fields})"


def save(solution, path: str | Path) -> Path:
    """Write ``solution``'s checkpoint to ``path`` atomically."""
    return write_checkpoint(path, payload(solution))


@dataclasses.dataclass(frozen=True)
class Restored:
    """A checkpoint's contents, rebuilt: what a :class:`~kanpde.Solution` is made of."""

    ansatz: Ansatz
    problem: Problem | None
    history: list
    settings: SolveSettings | None
    trainer_state: TrainerState | None
    domain: Domain | None
    formula: Formula | None


def restore(
    path: str | Path,
    problem: Problem | str | Path | None = None,
    device: str | None = None,
    force: bool = False,
) -> Restored:
    """Read the checkpoint at ``path`` and rebuild its parts; the problem is attached as
    :func:`read_problem` says, once checked against the one the checkpoint was made from
    (:func:`differences`): a problem passed in that differs is an error unless ``force``; a shipped problem of
    the stored name that differs (the run changed its conditions) is not attached, with a warning. A damaged
    checkpoint is a ``ValueError`` that says so."""
    path = Path(path)
    data = read_checkpoint(path, device)
    attached = _checked_problem(
        path, data, read_problem(data["problem"], problem), problem is not None, force
    )
    domain = domain_from_dict(data["domain"]) if data.get("domain") else None
    fields = tuple(data.get("fields", ("u",)))
    hard = _stored_hard(data, fields, domain) if attached is None else []
    ansatz = _damaged(path, "its model does not rebuild", lambda: _ansatz(data, attached, fields, hard))
    settings, state = _damaged(path, "its settings do not read back", lambda: _run_state(data))
    if device is not None:
        ansatz = ansatz.to(device)
    formula = _read_formula(path, data.get("formula"))
    return Restored(ansatz, attached, data["history"], settings, state, domain, formula)


def _checked_problem(path: Path, data: dict, attached: Problem | None, given: bool, force: bool):
    """``attached`` when it is the problem the checkpoint was made from (see :func:`restore`)."""
    if attached is None:
        return None
    found = differences(data, attached)
    if not found or (given and force):
        return attached
    what = "; ".join(found)
    if given:
        raise ValueError(
            f"{path} was not made from this problem: {what}; pass the problem it was made from, or force=True "
            "(--force) to use this one anyway"
        )
    warnings.warn(
        f"{path}: the shipped problem {attached.name!r} is not the problem this checkpoint was made from ({what}); "
        "loaded without a problem: pass the problem it was made from for metrics and residuals",
        UserWarning,
        stacklevel=4,
    )
    return None


def _damaged(path: Path, what: str, read):
    """``read()``, its failure a ``ValueError`` that says the checkpoint is damaged and what failed."""
    try:
        return read()
    except (AttributeError, TypeError, ValueError, RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path} is a damaged kanpde checkpoint: {what} ({first}); save it again") from err


def _run_state(data: dict) -> tuple[SolveSettings | None, TrainerState | None]:
    """The stored settings and trainer state (``None`` where the solution has none)."""
    settings = SolveSettings.from_dict(data["settings"]) if data["settings"] is not None else None
    state = data.get("trainer_state")
    levers = settings.levers if settings is not None else ()
    return settings, TrainerState.from_dict(state, levers) if state is not None else None


def _ansatz(data: dict, problem: Problem | None, fields: tuple[str, ...], hard: list[Hard]) -> Ansatz:
    state = data["state_dict"]
    model = rebuild_model(data["model_class"], data["model_config"], float_dtype(state), state)
    model.load_state_dict(state)
    specs = [
        (Unknown(**{k: v for k, v in u.items() if k != "raw"}), u["raw"]) for u in data.get("unknowns", [])
    ]
    if problem is not None:
        ansatz = Ansatz.for_problem(model, problem)
    else:
        ansatz = Ansatz(model, fields, tuple(s for s, _ in specs), hard)
        ansatz.hard_info = data.get("hard", [])
    with torch.no_grad():
        for spec, raw in specs:
            ansatz.raw[spec.name].fill_(raw)
    return ansatz


def _read_formula(path: Path, data: dict | None) -> Formula | None:
    """The formula stored with a checkpoint (plain data, nothing evaluated); one that does not read back
    (functions outside the default library, damaged data) is skipped with a warning: compute it again."""
    if data is None:
        return None
    try:
        return Formula.from_dict(data)
    except (ValueError, TypeError, KeyError, IndexError) as err:
        warnings.warn(f"{path}: the stored formula was not read ({err})", RuntimeWarning, stacklevel=3)
        return None


def _stored_hard(data: dict, fields: tuple[str, ...], domain: Domain | None) -> list[Hard]:
    """The exactly imposed conditions rebuilt from a checkpoint without its problem (numbers only: a
    callable value needs the problem)."""
    conditions = []
    for info in data.get("hard", []):
        if info["field"] not in fields:
            raise ValueError(
                f"the checkpoint's exactly imposed values name a field {info['field']!r} its model does not "
                f"have (fields {', '.join(fields)}): the file is damaged"
            )
        if info.get("carried"):
            raise ValueError(
                f"field {info['field']!r} starts exactly from the previous window's solution (a window of "
                "kp.march with Initial(..., hard=True)): this checkpoint alone does not hold it; open the march's "
                "windows in order with kp.load_march([window0, window1, ...], problem) (on the command line: "
                "kanpde export MARCH_FOLDER --problem FILE)"
            )
        if info["value"] is None or domain is None:
            what = "initial" if "initial" in info else "Dirichlet"
            raise ValueError(
                f"field {info['field']!r} imposes its {what} values exactly with a function of the points; "
                "load the checkpoint with kp.load(path, problem=NAME_OR_FILE.py) to evaluate it"
            )
        if "initial" in info:
            conditions.append(
                Initial(info["value"], derivative=info["initial"], hard=True, field=info["field"])
            )
        else:
            conditions.append(
                Dirichlet(info["value"], on=decode_on(info["on"]), hard=True, field=info["field"])
            )
    return hard_terms(domain, fields, conditions) if conditions else []
