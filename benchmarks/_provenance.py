"""Provenance of benchmark results: which kanpde was timed (a digest of its sources and the matching commit)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import subprocess
from pathlib import Path

import torch

import kanpde

__all__ = ["kanpde_source", "source_line", "machine"]


def machine() -> dict:
    """The machine a timing ran on: CPU model and count, torch, its thread count, Python, kanpde and the
    load average when asked (call it before the timings start)."""
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "kanpde": kanpde.__version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def kanpde_source(sha256: str | None = None) -> dict:
    """Which kanpde was timed: its folder, a SHA-256 of its ``*.py`` files (subpackages included) and the git
    commit (of the last 30 in this repository) whose ``kanpde/**/*.py`` are identical, if any."""
    pkg = Path(kanpde.__file__).resolve().parent
    names = sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py"))
    git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]

    def digest(read) -> str:
        h = hashlib.sha256()
        for name in names:
            h.update(name.encode() + b"\0" + read(name) + b"\0")
        return h.hexdigest()

    out = {
        "path": str(pkg.relative_to(Path(__file__).resolve().parent.parent))
        if pkg.is_relative_to(Path(__file__).resolve().parent.parent)
        else pkg.name,
        "sha256": sha256 or digest(lambda name: (pkg / name).read_bytes()),
        "commit": None,
    }
    try:
        commits = subprocess.run(
            git + ["rev-list", "-n", "30", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return out
    for commit in commits.stdout.split():
        try:
            found = digest(
                lambda name, c=commit: (
                    subprocess.run(
                        git + ["show", f"{c}:kanpde/{name}"], capture_output=True, check=True
                    ).stdout
                )
            )
        except subprocess.CalledProcessError:  # a file of the package is not in that commit
            continue
        if found == out["sha256"]:
            out["commit"] = commit[:7]
            break
    return out


def source_line(src: dict) -> str:
    """One sentence naming the timed kanpde for a results file."""
    where = f"`{src['path']}`, sha256 {src['sha256'][:12]}"
    if src.get("commit"):
        line = f"kanpde: {where}, identical to git commit {src['commit']}."
        if not Path(src["path"]).resolve().is_relative_to(Path(__file__).resolve().parent.parent):
            folder = Path(src["path"]).parent
            line += f" ({folder} held `git archive {src['commit']} kanpde problems`, untarred there.)"
        return line
    return f"kanpde: {where}, not identical to any recent commit (uncommitted changes)."
