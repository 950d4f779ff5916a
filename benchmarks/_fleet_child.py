"""One worker of the fleet benchmark: export its share of chats, print each answer as JSON.

Arguments: base URL, token, Redis URL (``-`` for a local controller only), budget name, out
dir, then the chat ids. It prints ``ready`` once imported and connected, waits for a line
on stdin (so the workers start together), then prints ``[[time, status], ...]`` and a
summary line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import wegly_async as wa
from wegly_async.export import export_timelines

LIMIT = 50.0
CONCURRENCY = 8
TAKE = 100


class _Counting:
    """Delegate each attempt to the aiohttp transport and note when it was answered, and how."""

    def __init__(self) -> None:
        self._inner = wa.AiohttpTransport()
        self.answers: list[tuple[float, int]] = []

    async def send(self, request: wa.TransportRequest) -> wa.TransportResponse:
        response = await self._inner.send(request)
        self.answers.append((time.time(), response.status_code))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def main(base_url: str, token: str, redis_url: str, name: str, out: str, *chats: str) -> None:
    """Wait for the start signal, export ``chats``, and report every answer."""
    budget = None if redis_url == "-" else wa.SharedRateBudget.from_url(redis_url, name=name)
    transport = _Counting()
    async with wa.WeglyClient(
        token,
        base_url=base_url,
        transport=transport,
        rate_limit=wa.RateLimit(LIMIT),
        rate_budget=budget,
    ) as client:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        result = await export_timelines(
            client, chats, out, take=TAKE, concurrency=CONCURRENCY, progress=None
        )
    if budget is not None:
        await budget.aclose()
    print(json.dumps(transport.answers))
    print(json.dumps({"ok": result.ok, "events": sum(chat.events for chat in result.chats)}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
