"""The model registry: names to classes, default shapes, and rebuilding a model from a checkpoint.

:data:`MODELS` is the one list of model families (the command line's ``--model``, checkpoints and the
benchmark harness all read it). Every class in it takes ``width`` first and the keywords ``seed``, ``dtype``
and ``device``, and has ``config()`` returning the constructor arguments that rebuild its shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .kan import KAN
from .mlp import MLP

__all__ = ["MODELS", "model_class", "build_model", "default_width", "rebuild_model"]

MODELS: dict[str, type[nn.Module]] = {"kan": KAN, "mlp": MLP}
"""Model name -> class."""

_DEFAULT_HIDDEN = {"kan": (10,), "mlp": (64, 64, 64)}
_OPTIONS = {"kan": ("grid", "k"), "mlp": ("activation",)}


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


def rebuild_model(class_name: str, config: dict, dtype: torch.dtype) -> nn.Module:
    """A model of class ``class_name`` built from its ``config()`` (load the state dict on top).

    The constructors refuse sizes that cannot fit in memory before allocating (a stored width
    ``[1, 100000, 100000, 1]`` is an error with the estimate, not a hang)."""
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise ValueError(
            f"a model config must be a dict of constructor arguments, got {type(config).__name__}"
        )
    return model_class(class_name)(**{**config, "dtype": dtype})
