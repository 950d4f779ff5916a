"""Export benchmark: events/s (JSONL, and Parquet against it), and peak RSS by export size."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from typing import Any

from ._common import Row, emulator_process

CHILD_TIMEOUT = 900.0


async def _export_in_child(events: int, fmt: str = "jsonl") -> dict[str, Any]:
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
                fmt,
                stdout=asyncio.subprocess.PIPE,
            )
            stdout, _ = await asyncio.wait_for(proc.communicate(), CHILD_TIMEOUT)
    report: dict[str, Any] = json.loads(stdout)
    if not report["ok"] or report["events"] != events:
        raise RuntimeError(f"{fmt} export of {events} events was not exact: {report}")
    return report


def _faster(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    return first if first["seconds"] <= second["seconds"] else second


async def run(quick: bool) -> list[Row]:
    """Export a small and a large chat in child processes; compare formats and peak memory."""
    small_n, large_n = (2_000, 20_000) if quick else (20_000, 200_000)
    small = await _export_in_child(small_n)
    large = await _export_in_child(large_n)
    parquet = await _export_in_child(large_n, "parquet")
    # The two formats take turns again: on a shared machine, each keeps its faster run.
    large = _faster(large, await _export_in_child(large_n))
    parquet = _faster(parquet, await _export_in_child(large_n, "parquet"))
    rate = large["events"] / large["seconds"]
    parquet_rate = parquet["events"] / parquet["seconds"]
    mib = 1024.0
    return [
        Row("export", f"{large_n:,} events, JSONL, take=100", rate, "events/s"),
        Row(
            "export",
            f"{large_n:,} events, Parquet (zstd, 10,000-event parts)",
            parquet_rate,
            "events/s",
            ratio=parquet_rate / rate,
            baseline="JSONL export, same run",
        ),
        Row(
            "export",
            "Parquet bytes / JSONL bytes",
            parquet["bytes"] / mib / mib,
            "MiB",
            ratio=parquet["bytes"] / large["bytes"],
            baseline=f"JSONL: {large['bytes'] / mib / mib:,.1f} MiB",
        ),
        Row(
            "export",
            f"peak RSS, {large_n:,} events, Parquet",
            parquet["peak_rss_kb"] / mib,
            "MiB",
            ratio=parquet["peak_rss_kb"] / large["peak_rss_kb"],
            baseline="JSONL's peak RSS",
        ),
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
