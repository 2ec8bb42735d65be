"""Data parallelism over ``torch.distributed``: collocation points sharded over ranks, sums reduced.

Every rank holds the whole model and draws the same collocation points from the seed, then keeps its shard
(every ``world``-th point from its ``rank``). Each loss term is normalised by its *global* point count, so
the per-rank partial losses, gradients, ``JᵀJ`` and ``Jᵀr`` add up (``all_reduce`` with ``SUM``) to exactly
the single-process quantities; every rank then takes the same optimiser step.

Run with ``torchrun --nproc_per_node=N -m kanpde solve PROBLEM``; the backend is NCCL on CUDA and gloo on
the CPU, chosen automatically by :func:`init_from_env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["Comm", "current", "init_from_env", "leave"]


@dataclass(frozen=True)
class Comm:
    """This process's place in the group; ``Comm()`` is the single-process case (no communication)."""

    rank: int = 0
    world: int = 1

    @property
    def is_root(self) -> bool:
        """Rank 0 alone writes files and shows progress."""
        return self.rank == 0

    def sum(self, t: Tensor) -> Tensor:
        """Sum of ``t`` over all ranks (``t`` itself on a single process)."""
        if self.world == 1:
            return t
        out = t.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def shard(self, t: Tensor) -> Tensor:
        """This rank's rows of ``t``: ``t[rank::world]``."""
        return t if self.world == 1 else t[self.rank :: self.world]


def current() -> Comm:
    """The :class:`Comm` of the initialised default process group, or the single-process one."""
    if dist.is_available() and dist.is_initialized():
        return Comm(dist.get_rank(), dist.get_world_size())
    return Comm()


def init_from_env() -> Comm:
    """Join the process group that ``torchrun`` describes in the environment (``WORLD_SIZE`` > 1).

    The backend is NCCL when CUDA is available (each rank on GPU ``LOCAL_RANK``) and gloo otherwise.
    Without ``torchrun`` this does nothing and returns the single-process :class:`Comm`.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return current()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return current()


def leave(wait: bool = True) -> None:
    """Leave the process group that :func:`init_from_env` joined (nothing without one).

    With ``wait`` every rank first meets the others, so rank 0 can finish writing while the rest wait; a
    process group left alive at interpreter exit can abort the process ("terminate called without an
    active exception" from gloo's threads).
    """
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
