"""One plain process of the fleet benchmark's baseline: export its chats with a local controller.

It reads ``WEGLY_TOKEN`` and ``WEGLY_BASE_URL`` from its environment, as a worker does.
Arguments: out dir, take, requests in flight per chat, the local ``rate_limit``, then the
chat ids. It prints ``ready`` once imported and connected, waits for a line on stdin (so
the processes start together), exports each chat as its own ``export_timelines`` call (as
a worker runs one job per chat), all at once, and prints a JSON summary line. A chat that
fails with a 429 past the client's retries is exported again from its checkpoint, as a
worker's job is (up to the same number of attempts).
"""

from __future__ import annotations

import asyncio
import json
import sys

import wegly_async as wa
from wegly_async.export import export_timelines

MAX_ATTEMPTS = 10  # the starts a queued job gets


async def _chat(
    client: wa.WeglyClient, chat: str, out: str, take: int, concurrency: int
) -> tuple[int, int, str | None]:
    """Export one chat until it is complete or fails otherwise; return events, attempts, error."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = await export_timelines(
            client, [chat], out, take=take, concurrency=concurrency, progress=None
        )
        done = result.chats[0]
        if not isinstance(done.error, wa.RateLimitError) or attempt == MAX_ATTEMPTS:
            break
    error = None if done.error is None else f"{type(done.error).__name__}: {done.error}"
    return done.events, attempt, error


async def main(out: str, take: str, concurrency: str, limit: str, *chats: str) -> None:
    """Wait for the start signal, export ``chats`` paced by this process alone, and report."""
    async with wa.WeglyClient(rate_limit=wa.RateLimit(float(limit))) as client:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        results = await asyncio.gather(
            *(_chat(client, chat, out, int(take), int(concurrency)) for chat in chats)
        )
    errors = [error for _, _, error in results if error is not None]
    summary = {
        "ok": not errors,
        "events": sum(events for events, _, _ in results),
        "attempts": sum(attempts for _, attempts, _ in results),
        "errors": errors,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
