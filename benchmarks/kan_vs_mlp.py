"""KAN vs MLP on PDEs: same points, same optimiser schedule, several seeds; tables, figures and a README.

    python benchmarks/kan_vs_mlp.py                 # the full run (about 25 minutes on a busy 2-core CPU)
    python benchmarks/kan_vs_mlp.py --quick         # a smoke run (well under 3 minutes)
    python benchmarks/kan_vs_mlp.py --suites paper  # only the KAN paper's Poisson setup

The same as ``kanpde bench`` (see :mod:`kanpde.bench` for the plan and the fairness rules), except that the
default output folder is ``results/kan_vs_mlp/`` of this repository (``--quick`` writes
``runs/kan_vs_mlp_quick/`` instead, so that a smoke run never overwrites the committed results).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kanpde.bench import add_arguments, run_from_args

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/kan_vs_mlp.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.bench_prog = "python benchmarks/kan_vs_mlp.py"
    if args.out is None:
        args.out = (
            str(ROOT / "runs" / "kan_vs_mlp_quick") if args.quick else str(ROOT / "results" / "kan_vs_mlp")
        )
    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
