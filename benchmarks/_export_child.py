"""Run one export in a fresh process and print its events/s and peak RSS as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


def peak_rss_kb() -> int:
    """Return this process's own peak RSS in KiB.

    Not ``resource.getrusage``: on Linux ``ru_maxrss`` keeps the parent's size across
    fork and exec, so a child started by a big process would report the parent's peak.
    ``VmHWM`` is the high-water mark of this process's own memory.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def data_bytes(out: Path, chat_id: str, fmt: str) -> int:
    """Return the size of a chat's exported data: its file, or its part files."""
    if fmt == "parquet":
        return sum(part.stat().st_size for part in (out / chat_id).glob("part-*.parquet"))
    return (out / f"{chat_id}.{fmt}").stat().st_size


async def main(base_url: str, token: str, chat_id: str, out: str, fmt: str = "jsonl") -> None:
    """Export one chat in ``fmt`` and report what it cost."""
    import wegly_async as wa
    from wegly_async.export import export_timelines

    rss_after_import = peak_rss_kb()
    async with wa.WeglyClient(token, base_url=base_url) as client:
        result = await export_timelines(
            client,
            [chat_id],
            out,
            format=fmt,  # type: ignore[arg-type]
            take=100,
            concurrency=1,
        )
    report = {
        "ok": result.ok,
        "events": result.chats[0].events,
        "seconds": result.seconds,
        "bytes": data_bytes(Path(out), chat_id, fmt),
        "rss_after_import_kb": rss_after_import,
        "peak_rss_kb": peak_rss_kb(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
