"""The model registry: names to classes, default shapes, and rebuilding a model from a checkpoint.

:data:`MODELS` is the one list of model families (the command line's ``--model``, checkpoints and the
benchmark harness all read it). Every class in it takes ``width`` first and the keywords ``seed``, ``dtype``
and ``device``, and has ``config()`` returning the constructor arguments that rebuild its shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ._checks import check_positive_int
from .kan import KAN
from .knots import grid_sizes
from .mlp import MLP
from .network import check_width

__all__ = [
    "MODELS",
    "is_kan",
    "model_class",
    "build_model",
    "default_width",
    "rebuild_model",
    "config_values",
]

MODELS: dict[str, type[nn.Module]] = {"kan": KAN, "mlp": MLP}
"""Model name -> class."""

_DEFAULT_HIDDEN = {"kan": (10,), "mlp": (64, 64, 64)}
_OPTIONS = {"kan": ("grid", "k"), "mlp": ("activation",)}


def is_kan(model: nn.Module) -> bool:
    """Whether ``model``, or the network inside an :class:`~kanpde.ansatz.Ansatz`, is a :class:`~kanpde.KAN`
    (the one test for "has knot grids, edge functions and grid stages")."""
    return isinstance(getattr(model, "net", model), KAN)


def model_class(name: str) -> type[nn.Module]:
    """The class registered as ``name`` (``"kan"``) or named ``name`` (``"KAN"``, as checkpoints store it)."""
    by_class = {cls.__name__: cls for cls in MODELS.values()}
    if isinstance(name, str) and (name.lower() in MODELS or name in by_class):
        return MODELS.get(name.lower()) or by_class[name]
    raise ValueError(f"unknown model {name!r}; valid ones: {', '.join(MODELS)}")


def default_width(name: str, n_in: int, n_out: int = 1) -> list[int]:
    """The default layer sizes of family ``name`` for ``n_in`` inputs: ``[d, 10, 1]`` (KAN),
    ``[d, 64, 64, 64, 1]`` (MLP)."""
    model_class(name)
    return [n_in, *_DEFAULT_HIDDEN[name.lower()], n_out]


def build_model(
    name: str,
    width: Sequence[int] | None = None,
    *,
    n_in: int | None = None,
    n_out: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    **options,
) -> nn.Module:
    """A new model of family ``name``; ``width`` defaults to :func:`default_width` of ``n_in``.

    ``options`` are the family's own (``grid``, ``k`` for KANs, ``activation`` for MLPs; ``None`` values are
    dropped); one of another family is an error that says which family it belongs to.
    """
    cls = model_class(name)
    family = next(key for key, value in MODELS.items() if value is cls)
    for key, value in options.items():
        if value is not None and key not in _OPTIONS[family]:
            owner = [f for f, names in _OPTIONS.items() if key in names]
            hint = f"it applies to {owner[0].upper()} models only" if owner else "unknown option"
            raise ValueError(f"{key} does not apply to a {family.upper()} model ({hint}); drop it")
    if width is None:
        if n_in is None:
            raise ValueError("pass width=[...] or n_in= to build a model with the default width")
        width = default_width(family, n_in, n_out)
    kwargs = {k: v for k, v in options.items() if v is not None}
    return cls(list(width), seed=seed, dtype=dtype, **kwargs)


def config_values(class_name: str, config: dict) -> int:
    """The number of parameter values a model of ``config`` has, from the config alone (nothing built)."""
    cls = model_class(class_name)
    width = check_width(config.get("width"))
    pairs = list(zip(width[:-1], width[1:], strict=False))
    if cls is KAN:
        k = check_positive_int("k", config.get("k", 3))
        sizes = grid_sizes(config.get("grid", 5), width)
        return sum((sum(g) + a * k) * b + 2 * a * b + b for (a, b), g in zip(pairs, sizes, strict=True))
    return sum(a * b + b for a, b in pairs)


def rebuild_model(
    class_name: str, config: dict, dtype: torch.dtype, state: Mapping[str, object] | None = None
) -> nn.Module:
    """A model of class ``class_name`` built from its ``config()`` (load the state dict on top).

    With the ``state`` dict it will be loaded from, a config that describes more parameter values than the
    state holds is refused before anything is built (a 4 KB checkpoint claiming width
    ``[1, 100000, 100000, 1]``); the constructors themselves refuse sizes that cannot fit in memory."""
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise ValueError(
            f"a model config must be a dict of constructor arguments, got {type(config).__name__}"
        )
    if state is not None:
        stored = sum(t.numel() for t in state.values() if isinstance(t, torch.Tensor))
        needed = config_values(class_name, config)
        if needed > stored:
            raise ValueError(
                f"the stored {class_name} config (width {config.get('width')}) describes {needed:,} parameter "
                f"values, but the stored state holds {stored:,}; the checkpoint is damaged"
            )
    return model_class(class_name)(**{**config, "dtype": dtype})
