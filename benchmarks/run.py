"""Run every benchmark and print one table: each measurement next to its peer from the same run.

    python -m benchmarks.run            # every suite: each module of benchmarks/ with a rows() function
    python -m benchmarks.run core       # one suite
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from pathlib import Path

SUITES = tuple(
    sorted(
        path.stem
        for path in Path(__file__).parent.glob("*.py")
        if not path.stem.startswith("_") and path.stem != "run"
    )
)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba
    import numpy

    versions = f"Python {platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}"
    for name in ("torch", "jax", "keras"):
        if name in sys.modules:
            versions += f", {name} {sys.modules[name].__version__}"
    return f"{cpu}, {os.cpu_count()} cores; {versions}"


def _format(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"some of {', '.join(SUITES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
    rows = []
    for suite in args.suites or SUITES:
        rows += importlib.import_module(f"benchmarks.{suite}").rows()
    print(f"Machine: {_machine()}\n")
    print("| measurement | cyclr | peer | peer time | ratio | goal |")
    print("|---|---:|---|---:|---:|---|")
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio >= 1 else f"{1 / row.ratio:.1f}x faster"
        print(f"| {row.what} | {_format(row.ours)} | {row.peer_name} | {_format(row.peer)} | {ratio} | {row.goal} |")


if __name__ == "__main__":
    main()
