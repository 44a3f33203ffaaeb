"""Run every benchmark and write docs/BENCHMARKS.md.

``python -m bench`` runs all; ``python -m bench scoring`` runs ``bench/bench_scoring.py`` only;
``--quick`` shrinks the sizes (a smoke run, not for the record).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import machine_description

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, results not written")
    args = parser.parse_args()
    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    names = args.names or available
    sections = []
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        result = module.run(quick=args.quick)
        print(result.markdown(), f"({time.perf_counter() - started:.1f}s)", flush=True)
        sections.append(result.markdown())
    if not args.quick:
        out = ROOT / "docs" / "BENCHMARKS.md"
        out.parent.mkdir(exist_ok=True)
        header = (
            "# Benchmarks\n\nWritten by `make bench` (`python -m bench`); every figure below comes from one run on\n"
            "the machine described here, with its baseline measured in the same run.\n\n" + machine_description()
        )
        out.write_text(header + "\n" + "\n".join(sections))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
