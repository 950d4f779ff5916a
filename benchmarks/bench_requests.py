"""Requests the pager spends and events it keeps against busy servers: counts, not timings."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import orjson
from aiohttp import web

import wegly_async as wa

from ._common import Row

CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
TOKEN = "bench-token"


class _Timeline:
    """One chat's timeline, oldest first, that changes and caps pages the way a busy server does."""

    def __init__(
        self,
        events: int,
        *,
        seed: int,
        cap: tuple[int, int] | None = None,
        inserts: int = 0,
        delay: tuple[float, float] = (0.0, 0.0),
        total_bias: int = 0,
        repeat: bool = False,
    ) -> None:
        self.events = [f"ev-{n:06d}" for n in range(events)]
        self.initial = list(self.events)
        self.rng = random.Random(seed)
        self.cap = cap
        self.inserts = inserts
        self.delay = delay
        self.total_bias = total_bias
        self.repeat = repeat
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        skip, take = int(request.query["skip"]), int(request.query["take"])
        if self.delay[1]:
            await asyncio.sleep(self.rng.uniform(*self.delay))
        view = self.events if request.query["order"] == "asc" else self.events[::-1]
        if self.cap is not None:
            take = min(take, self.rng.randint(*self.cap))
        ids = self.initial[:take] if self.repeat else view[skip : skip + take]
        records = [
            {"id": i, "event_type": "MESSAGE", "event_at": "2026-01-01T00:00:00Z"} for i in ids
        ]
        body = {"total": len(self.events) + self.total_bias, "records": records}
        for _ in range(self.inserts):
            self.events.append(f"ev-{len(self.events):06d}")
        return web.Response(body=orjson.dumps(body), content_type="application/json")


@contextlib.asynccontextmanager
async def _serving(timeline: _Timeline) -> AsyncIterator[wa.WeglyClient]:
    app = web.Application()
    app.router.add_get(f"/integrations/external/chats/{CHAT}/timeline", timeline.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with wa.WeglyClient(
            TOKEN, base_url=f"http://127.0.0.1:{port}", max_retries=0
        ) as client:
            yield client
    finally:
        await runner.cleanup()


async def _page(
    timeline: _Timeline, *, prefetch: int, take: int, order: str = "asc"
) -> tuple[list[str], BaseException | None]:
    ids: list[str] = []
    async with _serving(timeline) as client:
        pager = client.chats.timeline(CHAT, take=take, prefetch=prefetch, order=order)
        try:
            async for record in pager.raw():
                ids.append(record["id"])
        except wa.WeglyError as error:
            return ids, error
    return ids, None


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


async def _varying(prefetch: int, seed: int) -> int:
    timeline = _Timeline(4_000, seed=seed, cap=(40, 100))
    ids, error = await _page(timeline, prefetch=prefetch, take=100)
    _check(error is None and ids == timeline.initial, "the pager lost or duplicated events")
    return timeline.requests


async def _lost_while_moving(prefetch: int, order: str, seed: int) -> int:
    timeline = _Timeline(5_000, seed=seed, inserts=1, delay=(0.001, 0.010), cap=(40, 100))
    ids, error = await _page(timeline, prefetch=prefetch, take=100, order=order)
    _check(error is None and len(ids) == len(set(ids)), "the pager duplicated events")
    return len(set(timeline.initial) - set(ids))


async def run(quick: bool) -> list[Row]:
    """Count requests and lost events for the hostile cases the pager is built to survive."""
    rows: list[Row] = []
    seeds = (1,) if quick else (1, 2, 3)
    sequential = [await _varying(1, seed) for seed in seeds]
    base = sum(sequential) / len(sequential)
    rows.append(Row("requests", "varying caps 40-100, 4,000 events, sequential", base, "requests"))
    for prefetch in (4, 8, 16):
        counts = [await _varying(prefetch, seed) for seed in seeds]
        mean = sum(counts) / len(counts)
        rows.append(
            Row(
                "requests",
                f"varying caps 40-100, 4,000 events, prefetch={prefetch}",
                mean,
                "requests",
                ratio=mean / base,
                baseline="sequential (target <= 1.5x)",
            )
        )
    for prefetch in (1, 8):
        high = _Timeline(90, seed=prefetch, total_bias=100_000 - 90)
        ids, error = await _page(high, prefetch=prefetch, take=25)
        _check(error is None and ids == high.initial, "the pager lost events on a high total")
        rows.append(
            Row(
                "requests",
                f"total too high (90 events, total 100,000, take 25), prefetch={prefetch}",
                high.requests,
                "requests",
                note="target <= 5 + 1",
            )
        )
    repeat = _Timeline(25, seed=1, total_bias=10_000_000, repeat=True)
    _, error = await _page(repeat, prefetch=8, take=25)
    _check(isinstance(error, wa.InvalidResponseError), "a runaway server was not given up")
    rows.append(
        Row(
            "requests",
            "same records forever, total 10,000,000, prefetch=8 (then InvalidResponseError)",
            repeat.requests,
            "requests",
        )
    )
    for order in ("asc", "desc"):
        for prefetch in (1, 4, 8, 16):
            missed = sum([await _lost_while_moving(prefetch, order, seed) for seed in seeds])
            rows.append(
                Row(
                    "requests",
                    f"events lost, {order}, 5,000 events + 1 per request, delays 1-10 ms, "
                    f"caps 40-100, prefetch={prefetch} ({len(seeds)} runs)",
                    missed,
                    "events",
                    note="target 0",
                )
            )
    return rows
