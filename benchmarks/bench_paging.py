"""Paging benchmark over the emulator on loopback: floors, our pager sequential and prefetching."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson

import wegly_async as wa

from ._common import EmulatorInfo, Row, best_of, emulator_process

TAKE = 100


def _url(emu: EmulatorInfo) -> str:
    return f"{emu.base_url}/integrations/external/chats/{emu.chat_ids[0]}/timeline"


async def _bytes_only(session: aiohttp.ClientSession, emu: EmulatorInfo, events: int) -> int:
    headers = {"Authorization": f"Bearer {emu.token}"}
    received = 0
    for skip in range(0, events, TAKE):
        params: dict[str, str | int] = {"skip": skip, "take": TAKE, "order": "asc"}
        async with session.get(_url(emu), params=params, headers=headers) as resp:
            received += len(await resp.read())
    return received


async def _raw_sequential(session: aiohttp.ClientSession, emu: EmulatorInfo) -> int:
    headers = {"Authorization": f"Bearer {emu.token}"}
    skip = total = 0
    count = 0
    while True:
        params: dict[str, str | int] = {"skip": skip, "take": TAKE, "order": "asc"}
        async with session.get(_url(emu), params=params, headers=headers) as resp:
            page: Any = orjson.loads(await resp.read())
        records = page["records"]
        for _ in records:  # every consumer visits each event; so do the pager rows
            count += 1
        skip += len(records)
        total = page["total"]
        if not records or skip >= total:
            return count


async def _raw_concurrent(session: aiohttp.ClientSession, emu: EmulatorInfo, width: int) -> int:
    """Fetch every page with ``width`` requests in flight: the floor for a prefetching pager."""
    headers = {"Authorization": f"Bearer {emu.token}"}
    gate = asyncio.Semaphore(width)

    async def fetch(skip: int) -> Any:
        async with gate:
            params: dict[str, str | int] = {"skip": skip, "take": TAKE, "order": "asc"}
            async with session.get(_url(emu), params=params, headers=headers) as resp:
                return orjson.loads(await resp.read())

    first = await fetch(0)
    rest = await asyncio.gather(*(fetch(s) for s in range(TAKE, first["total"], TAKE)))
    count = 0
    for page in [first, *rest]:
        for _ in page["records"]:
            count += 1
    return count


async def _measure(latency: float, events: int, rounds: int) -> list[Row]:
    label = f"{latency * 1000:.0f} ms latency, {events:,} events"
    rows: list[Row] = []
    async with (
        emulator_process(chats=1, events=events, latency=latency) as emu,
        aiohttp.ClientSession() as session,
        wa.WeglyClient(emu.token, base_url=emu.base_url) as client,
    ):
        chat = emu.chat_ids[0]

        # Count and drop each event, as the floors do: a list of every event would add
        # garbage-collector work that the floors never pay (measured: -40% at 0 ms).
        async def typed(prefetch: int = 1) -> int:
            count = 0
            async for _ in client.chats.timeline(chat, take=TAKE, prefetch=prefetch):
                count += 1
            return count

        async def raw() -> int:
            count = 0
            async for _ in client.chats.timeline(chat, take=TAKE, prefetch=1).raw():
                count += 1
            return count

        runs: dict[str, Callable[[], Awaitable[object]]] = {
            "bytes": lambda: _bytes_only(session, emu, events),
            "raw": lambda: _raw_sequential(session, emu),
            "raw8": lambda: _raw_concurrent(session, emu, 8),
            "seq": typed,
            "seq_raw": raw,
        }
        widths = (4, 8)
        for width in widths:
            runs[f"prefetch{width}"] = lambda w=width: typed(w)  # type: ignore[misc]
        best = await best_of(rounds, runs)
    t_bytes, t_raw, t_raw8, t_seq, t_seq_raw = (
        best[name] for name in ("bytes", "raw", "raw8", "seq", "seq_raw")
    )
    prefetch = {width: best[f"prefetch{width}"] for width in widths}

    def rate(seconds: float) -> float:
        return events / seconds

    rows += [
        Row("paging", f"bytes only, sequential ({label})", rate(t_bytes), "events/s"),
        Row("paging", f"raw aiohttp + orjson, sequential ({label})", rate(t_raw), "events/s"),
        Row("paging", f"raw aiohttp + orjson, 8 in flight ({label})", rate(t_raw8), "events/s"),
        Row(
            "paging",
            f"pager typed, sequential ({label})",
            rate(t_seq),
            "events/s",
            ratio=t_raw / t_seq,
            baseline="raw aiohttp + orjson sequential",
        ),
        Row(
            "paging",
            f"pager raw(), sequential ({label})",
            rate(t_seq_raw),
            "events/s",
            ratio=t_raw / t_seq_raw,
            baseline="raw aiohttp + orjson sequential",
        ),
    ]
    for width, seconds in prefetch.items():
        rows.append(
            Row(
                "paging",
                f"pager typed, prefetch={width} ({label})",
                rate(seconds),
                "events/s",
                ratio=t_seq / seconds,
                baseline="pager sequential",
            )
        )
        if width == 8:
            rows.append(
                Row(
                    "paging",
                    f"pager typed, prefetch=8 vs raw 8 in flight ({label})",
                    rate(seconds),
                    "events/s",
                    ratio=t_raw8 / seconds,
                    baseline="raw aiohttp + orjson, 8 in flight",
                )
            )
    return rows


async def _steady(latency: float, events: int, rounds: int) -> list[Row]:
    """Compare prefetch=8 with raw 8 in flight on a long timeline, where the ramp weighs little."""
    label = f"{latency * 1000:.0f} ms latency, {events:,} events"
    async with (
        emulator_process(chats=1, events=events, latency=latency) as emu,
        aiohttp.ClientSession() as session,
        wa.WeglyClient(emu.token, base_url=emu.base_url) as client,
    ):
        chat = emu.chat_ids[0]

        async def typed() -> int:
            count = 0
            async for _ in client.chats.timeline(chat, take=TAKE, prefetch=8):
                count += 1
            return count

        best = await best_of(
            rounds, {"raw8": lambda: _raw_concurrent(session, emu, 8), "prefetch8": typed}
        )
    return [
        Row(
            "paging",
            f"raw aiohttp + orjson, 8 in flight ({label})",
            events / best["raw8"],
            "events/s",
        ),
        Row(
            "paging",
            f"pager typed, prefetch=8 vs raw 8 in flight ({label})",
            events / best["prefetch8"],
            "events/s",
            ratio=best["raw8"] / best["prefetch8"],
            baseline="raw aiohttp + orjson, 8 in flight (target >= 0.9x)",
        ),
    ]


async def run(quick: bool) -> list[Row]:
    """Page a chat at 0 ms and 20 ms of server latency, every contender taking turns."""
    rows = await _measure(0.0, 5_000 if quick else 10_000, 2 if quick else 11)
    # 100 pages: enough round trips that one slow answer moves a ratio by little.
    rows += await _measure(0.020, 2_000 if quick else 10_000, 2 if quick else 9)
    # The speculation ramp (2 requests until 4 answers) costs about two round trips once per
    # iteration: at 10,000 events that is a seventh of the time, on a long export nothing.
    rows += await _steady(0.020, 5_000 if quick else 50_000, 1 if quick else 3)
    return rows
