"""The driver of the benchmarks whose table is a list of labelled rows (``grids.py``, ``adaptive.py``):
``--only`` reruns some rows and keeps the others, ``--list`` prints the labels, and the results are rewritten
after every row."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch


def main(
    argv: list[str] | None,
    *,
    doc: str,
    script: str,
    configs: Sequence,
    run: Callable[[object], dict],
    write: Callable[[list[dict], str], None],
    json_path: Path,
    threads: int,
) -> int:
    """Run ``configs`` (each with ``label`` and ``problem``) through ``run``; merge the rows into those of
    ``json_path`` by label when ``--only`` names problems or labels, and ``write(rows, command)`` after each."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=None, help="rerun rows of these problems or labels")
    parser.add_argument("--list", action="store_true", help="print the configurations and stop")
    parser.add_argument(
        "--threads", type=int, default=threads, help=f"torch intra-op threads (default {threads})"
    )
    args = parser.parse_args(argv)
    if args.list:
        for c in configs:
            print(c.label)
        return 0
    torch.set_num_threads(args.threads)
    rows = {}
    if args.only and json_path.is_file():
        rows = {r["label"]: r for r in json.loads(json_path.read_text())["rows"]}
    command = f"python benchmarks/{script} --threads {args.threads}"
    if args.only:
        command += f" (rows of {', '.join(args.only)} rerun with --only after a change)"
    for config in configs:
        if args.only is not None and config.problem not in args.only and config.label not in args.only:
            continue
        rows[config.label] = run(config)
        print(json.dumps(rows[config.label]), flush=True)
        write([rows[c.label] for c in configs if c.label in rows], command)
    return 0
