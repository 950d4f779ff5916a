"""Run the benchmark suite and write a results table: ``python -m benchmarks [--quick]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from . import bench_decode, bench_export, bench_import, bench_paging, bench_sends
from ._common import Row, format_table, machine

SYNC_SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "decode": bench_decode.run,
    "import": bench_import.run,
}
ASYNC_SECTIONS: dict[str, Callable[[bool], Coroutine[Any, Any, list[Row]]]] = {
    "paging": bench_paging.run,
    "sends": bench_sends.run,
    "export": bench_export.run,
}
SECTIONS = ["decode", "paging", "sends", "export", "import"]


def main() -> int:
    """Run the chosen sections, print the table, and write it to the results file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--output", default="benchmarks/RESULTS.md", help="results file")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name in ASYNC_SECTIONS:
            rows += asyncio.run(ASYNC_SECTIONS[name](args.quick))
        else:
            rows += SYNC_SECTIONS[name](args.quick)
    table = format_table(rows)
    header = (
        "# Benchmark results\n\n"
        f"Machine: {machine()}\n\n"
        f"Command: `python -m benchmarks{' --quick' if args.quick else ''}` "
        f"({time.perf_counter() - started:.0f} s). Every ratio compares two figures measured "
        "in this same run.\n\n"
    )
    print(table)
    Path(args.output).write_text(header + table + "\n")
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
