"""Export benchmark: events/s, and peak RSS of a 20,000- versus a 200,000-event export."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from typing import Any

from ._common import Row, emulator_process

CHILD_TIMEOUT = 900.0


async def _export_in_child(events: int) -> dict[str, Any]:
    async with emulator_process(chats=1, events=events) as emu:
        with tempfile.TemporaryDirectory(prefix="wegly-bench-") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks._export_child",
                emu.base_url,
                emu.token,
                emu.chat_ids[0],
                out,
                stdout=asyncio.subprocess.PIPE,
            )
            stdout, _ = await asyncio.wait_for(proc.communicate(), CHILD_TIMEOUT)
    report: dict[str, Any] = json.loads(stdout)
    if not report["ok"] or report["events"] != events:
        raise RuntimeError(f"export of {events} events was not exact: {report}")
    return report


async def run(quick: bool) -> list[Row]:
    """Export a small and a large chat in child processes; compare their peak memory."""
    small_n, large_n = (2_000, 20_000) if quick else (20_000, 200_000)
    small = await _export_in_child(small_n)
    large = await _export_in_child(large_n)
    rate = large["events"] / large["seconds"]
    mib = 1024.0
    return [
        Row("export", f"{large_n:,} events, JSONL, take=100", rate, "events/s"),
        Row("export", f"peak RSS, {small_n:,} events", small["peak_rss_kb"] / mib, "MiB"),
        Row(
            "export",
            f"peak RSS, {large_n:,} events",
            large["peak_rss_kb"] / mib,
            "MiB",
            ratio=large["peak_rss_kb"] / small["peak_rss_kb"],
            baseline=f"peak RSS at {small_n:,} (target <= 1.2x)",
        ),
        Row(
            "export",
            "RSS after imports, before exporting",
            large["rss_after_import_kb"] / mib,
            "MiB",
        ),
    ]
