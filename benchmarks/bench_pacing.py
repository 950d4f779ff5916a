"""Pacing benchmark: an export against a rate-limited emulator, with and without the controller.

The server is the emulator's token bucket (one second of the rate, full at the start, a
refused request not charged, ``Retry-After`` in whole seconds rounded up, no
``X-RateLimit-*`` headers but in one row that says so). Every answer's time and status is
counted at the transport.
Last, what the controller costs when the server sets no limit: pagers with ``pacing`` on
and off, taking turns against an emulator in its own process.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable

import wegly_async as wa
from wegly_async.export import export_timelines
from wegly_async.testing import WeglyEmulator

from ._common import Row, emulator_process

LIMIT = 50.0
CHATS = 16
CONCURRENCY = 8
TAKE = 100


class _Counting:
    """Delegate each attempt to the aiohttp transport and note when it was answered, and how."""

    def __init__(self) -> None:
        self._inner = wa.AiohttpTransport()
        self.answers: list[tuple[float, int]] = []

    async def send(self, request: wa.TransportRequest) -> wa.TransportResponse:
        response = await self._inner.send(request)
        self.answers.append((time.perf_counter(), response.status_code))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _rates(answers: list[tuple[float, int]], start: float) -> tuple[float, float]:
    """Return the accepted answers per second from ``start`` on, and the share of 429s."""
    window = [(at, status) for at, status in answers if at >= start]
    if not window:
        return 0.0, 0.0
    elapsed = window[-1][0] - start
    accepted = sum(1 for _, status in window if status == 200)
    refused = sum(1 for _, status in window if status == 429)
    return accepted / max(elapsed, 1e-9), refused / len(window)


async def _export(
    events: int, mode: str, halve_after: float | None, concurrency: int = CONCURRENCY
) -> tuple[list[tuple[float, int]], float]:
    async with WeglyEmulator(rate_limit=LIMIT, rate_headers=mode == HEADERS) as emu:
        chats = [emu.create_chat(events=events, seed=n) for n in range(CHATS)]
        transport = _Counting()
        limit = wa.RateLimit(LIMIT) if mode == "rate_limit=50" else None
        async with wa.WeglyClient(
            emu.token,
            base_url=emu.base_url,
            transport=transport,
            rate_limit=limit,
            pacing=mode != "off",
        ) as client:
            started = time.perf_counter()

            async def halve() -> None:
                assert halve_after is not None
                await asyncio.sleep(halve_after)
                emu.set_rate_limit(LIMIT / 2, headers=mode == HEADERS)

            halving = asyncio.create_task(halve()) if halve_after is not None else None
            with tempfile.TemporaryDirectory(prefix="wegly-bench-") as out:
                result = await export_timelines(
                    client, chats, out, take=TAKE, concurrency=concurrency, progress=None
                )
            if halving is not None:
                halving.cancel()
        if not result.ok or sum(chat.events for chat in result.chats) != events * CHATS:
            raise RuntimeError(f"the paced export was not exact: {result}")
        return transport.answers, started


# The same adaptive client against a server that also says what is left (X-RateLimit-*).
HEADERS = "adaptive, server sends X-RateLimit-*"
MODES = ("rate_limit=50", "adaptive", HEADERS, "off")
PAGER_TAKE = 100


async def _unlimited(events: int, rounds: int) -> list[Row]:
    """Page one chat of a server with no limit, ``pacing`` on and off taking turns."""
    label = f"0 ms latency, {events:,} events, take {PAGER_TAKE}"
    async with (
        emulator_process(chats=1, events=events) as emu,
        wa.WeglyClient(emu.token, base_url=emu.base_url) as on,
        wa.WeglyClient(emu.token, base_url=emu.base_url, pacing=False) as off,
    ):
        chat = emu.chat_ids[0]

        async def raw(client: wa.WeglyClient) -> None:
            async for _ in client.chats.timeline(chat, take=PAGER_TAKE).raw():
                pass

        async def prefetch(client: wa.WeglyClient) -> None:
            async for _ in client.chats.timeline(chat, take=PAGER_TAKE, prefetch=8):
                pass

        runs: dict[str, Callable[[], Awaitable[None]]] = {
            "raw on": lambda: raw(on),
            "raw off": lambda: raw(off),
            "prefetch on": lambda: prefetch(on),
            "prefetch off": lambda: prefetch(off),
        }
        # Wall time, and this process's CPU time (the server runs in another one): on a
        # loaded machine the CPU time moves less, and the controller's cost is CPU.
        wall = dict.fromkeys(runs, float("inf"))
        cpu = dict.fromkeys(runs, float("inf"))
        for _ in range(rounds):
            for name, run in runs.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                await run()
                cpu[name] = min(cpu[name], time.process_time() - started_cpu)
                wall[name] = min(wall[name], time.perf_counter() - started)
        if on.rate_limit_state.throttled:
            raise RuntimeError("the server without a limit answered 429")
    rows = []
    for name, what in (("raw", "pager raw(), sequential"), ("prefetch", "pager typed, prefetch=8")):
        on_s, off_s = wall[f"{name} on"], wall[f"{name} off"]
        rows.append(
            Row(
                "pacing",
                f"no server limit, {what} ({label}), pacing on",
                events / on_s,
                "events/s",
                ratio=off_s / on_s,
                baseline="pacing=False (target >= 0.95x)",
            )
        )
        on_cpu, off_cpu = cpu[f"{name} on"], cpu[f"{name} off"]
        rows.append(
            Row(
                "pacing",
                "... its client CPU time per event",
                on_cpu / events * 1e6,
                "us",
                ratio=off_cpu / on_cpu,
                baseline="pacing=False",
            )
        )
    return rows


CAPPED = 2  # the most in flight before a first 429 that keeps its cost under 1%
LATENCY = 0.02


async def _capped(events: int, rounds: int) -> list[Row]:
    """What a cap on requests in flight before anything is known would buy, and cost."""
    label = f"{CHATS} chats x {events:,} events, take {TAKE}"
    answers, started = await _export(events, "adaptive", None, concurrency=CAPPED)
    rate, refused = _rates(answers, started)
    rows = [
        Row(
            "pacing",
            f"limit {LIMIT:g}/s, {label}, adaptive, concurrency {CAPPED} "
            "(as if capped before the first 429): accepted",
            rate,
            "requests/s",
            ratio=rate / LIMIT,
            baseline="the limit",
        ),
        Row("pacing", f"... concurrency {CAPPED}: 429 answers", refused * 100, "%"),
    ]
    wall = {}
    async with (
        emulator_process(chats=CHATS, events=events, latency=LATENCY) as emu,
        wa.WeglyClient(emu.token, base_url=emu.base_url) as client,
    ):
        for concurrency in (CONCURRENCY, CAPPED):
            best = float("inf")
            for _ in range(rounds):
                with tempfile.TemporaryDirectory(prefix="wegly-bench-") as out:
                    began = time.perf_counter()
                    await export_timelines(
                        client, emu.chat_ids, out, take=TAKE, concurrency=concurrency, progress=None
                    )
                    best = min(best, time.perf_counter() - began)
            wall[concurrency] = best
    rows.append(
        Row(
            "pacing",
            f"no server limit, {LATENCY * 1000:.0f} ms latency, {label}: "
            f"the same export at concurrency {CAPPED}",
            events * CHATS / wall[CAPPED],
            "events/s",
            ratio=wall[CONCURRENCY] / wall[CAPPED],
            baseline=f"concurrency {CONCURRENCY}: what such a cap would cost",
        )
    )
    return rows


async def run(quick: bool) -> list[Row]:
    """Export against a 50 requests/s server; then halve the limit mid-run."""
    events = 500 if quick else 2_000
    rows: list[Row] = []
    label = f"{CHATS} chats x {events:,} events, take {TAKE}, concurrency {CONCURRENCY}"
    for mode in MODES:
        answers, started = await _export(events, mode, None)
        rate, refused = _rates(answers, started)
        rows.append(
            Row(
                "pacing",
                f"limit {LIMIT:g}/s, {label}, controller {mode}: accepted",
                rate,
                "requests/s",
                ratio=rate / LIMIT,
                baseline="the limit (target >= 0.9x)",
            )
        )
        rows.append(Row("pacing", f"... controller {mode}: 429 answers", refused * 100, "%"))
    halve_after, settle = (1.0, 2.0) if quick else (3.0, 5.0)
    for mode in MODES:
        answers, started = await _export(events * 2, mode, halve_after)
        rate, refused = _rates(answers, started + halve_after + settle)
        rows.append(
            Row(
                "pacing",
                f"limit halves to {LIMIT / 2:g}/s at {halve_after:g} s, from {settle:g} s later, "
                f"controller {mode}: accepted",
                rate,
                "requests/s",
                ratio=rate / (LIMIT / 2),
                baseline="the new limit (target >= 0.9x)",
            )
        )
        rows.append(Row("pacing", f"... controller {mode}: 429 answers", refused * 100, "%"))
    rows += await _capped(events, 1 if quick else 2)
    rows += await _unlimited(2_000 if quick else 10_000, 3 if quick else 15)
    return rows
