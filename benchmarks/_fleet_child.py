"""One plain process of the fleet benchmark's baseline: export its chats with a local controller.

It reads ``WEGLY_TOKEN`` and ``WEGLY_BASE_URL`` from its environment, as a worker does.
Arguments: out dir, take, requests in flight per chat, the local ``rate_limit``, then the
chat ids. It prints ``ready`` once imported and connected, waits for a line on stdin (so
the processes start together), exports each chat as its own ``export_timelines`` call (as
a worker runs one job per chat), all at once, and prints a JSON summary line.
"""

from __future__ import annotations

import asyncio
import json
import sys

import wegly_async as wa
from wegly_async.export import export_timelines


async def main(out: str, take: str, concurrency: str, limit: str, *chats: str) -> None:
    """Wait for the start signal, export ``chats`` paced by this process alone, and report."""
    async with wa.WeglyClient(rate_limit=wa.RateLimit(float(limit))) as client:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        results = await asyncio.gather(
            *(
                export_timelines(
                    client, [chat], out, take=int(take), concurrency=int(concurrency), progress=None
                )
                for chat in chats
            )
        )
    ok = all(result.ok for result in results)
    events = sum(chat.events for result in results for chat in result.chats)
    print(json.dumps({"ok": ok, "events": events}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
