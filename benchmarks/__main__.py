"""Run the benchmark suite and write a results table: ``python -m benchmarks [--quick]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from . import (
    bench_decode,
    bench_export,
    bench_fleet,
    bench_import,
    bench_pacing,
    bench_paging,
    bench_plugin,
    bench_requests,
    bench_sends,
    bench_webhooks,
)
from ._common import Row, format_table, machine

SYNC_SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "decode": bench_decode.run,
    "import": bench_import.run,
    "plugin": bench_plugin.run,
}
ASYNC_SECTIONS: dict[str, Callable[[bool], Coroutine[Any, Any, list[Row]]]] = {
    "paging": bench_paging.run,
    "requests": bench_requests.run,
    "pacing": bench_pacing.run,
    "fleet": bench_fleet.run,
    "sends": bench_sends.run,
    "export": bench_export.run,
    "webhooks": bench_webhooks.run,
}
SECTIONS = [
    "decode",
    "paging",
    "requests",
    "pacing",
    "fleet",
    "sends",
    "webhooks",
    "export",
    "import",
    "plugin",
]

NOTES = """\
How to read it:

- Contenders in a section take turns, round after round, and each keeps its fastest round:
  on a shared machine a passing load then hits all of them alike.
- Paging rows visit and drop each event, as a consumer would; the floors do the same.
- At 0 ms latency the sequential typed pager is bound by typed decoding (see the decode
  rows: typed minus the orjson floor is the structuring cost per event).
- At 20 ms the ideal prefetch=8 ratio is below 8x: the first page is always fetched alone
  (speculation starts when a second page is read), then pages come 8 per round trip.
- Webhook rows: both servers share one child process and its loop; this process posts the
  same new signed bodies to each in turn (32 in flight). The bare handler answers a JSON
  body prepared once; the router's handler reads `event.message`, so the typed message is
  decoded. Latency percentiles cover every request of every round.
- Plugin rows: each run is a fresh `python -m pytest --co -q` on an empty directory, the
  contenders in turns; the installed entry point is blocked and this checkout's plugin
  module is loaded by name, as the entry point loads it.
- Peak RSS is the export child's own high-water mark (`VmHWM`), not `ru_maxrss`, which on
  Linux keeps the parent's size across fork and exec.
"""


def main() -> int:
    """Run the chosen sections, print the table, and write it to the results file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument(
        "--output",
        help="results file (default: benchmarks/RESULTS.md after a full run, none otherwise)",
    )
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
    print(table)
    # A partial or quick run must not replace the committed results of a full one.
    output = args.output
    if output is None and chosen == SECTIONS and not args.quick:
        output = "benchmarks/RESULTS.md"
    if output is not None:
        command = " ".join(["python -m benchmarks", *sys.argv[1:]])
        header = (
            "# Benchmark results\n\n"
            f"Machine: {machine()}\n\n"
            f"Command: `{command}` ({time.perf_counter() - started:.0f} s). Every ratio "
            "compares two figures measured in this same run.\n\n"
        )
        Path(output).write_text(header + table + "\n\n" + NOTES)
        print(f"\nwritten to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
