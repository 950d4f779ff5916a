"""Fleet benchmark: 4 worker processes export against one emulator at 50 requests/s.

Each worker is a plain child process exporting its share of the chats with
``export_timelines`` and ``rate_limit=RateLimit(50)``: once with one ``SharedRateBudget`` in
Redis for all of them, once with only its own local controller (which overshoots: each one
thinks it may send 50 a second). The server is the pacing benchmark's token bucket (one
second of the rate, full at the start, a refused request not charged, ``Retry-After`` in
whole seconds rounded up, no ``X-RateLimit-*`` headers). Every answer is counted where it
arrives, in the workers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time

from wegly_async.testing import WeglyEmulator
from wegly_async.testing._redis import redis_server

from ._common import Row

LIMIT = 50.0
WORKERS = 4
CHATS = 16
MODES = ("shared budget", "local controllers")


async def _fleet(
    events: int, redis_url: str, mode: str, run: int
) -> tuple[list[tuple[float, int]], float]:
    """Run the workers once and return every answer (time, status) and when they started."""
    async with WeglyEmulator(rate_limit=LIMIT) as emu:
        chats = [emu.create_chat(events=events, seed=n) for n in range(CHATS)]
        url = redis_url if mode == "shared budget" else "-"
        with tempfile.TemporaryDirectory(prefix="wegly-fleet-") as out:
            common = (emu.base_url, emu.token, url, f"bench-{run}", out)
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "benchmarks._fleet_child",
                    *common,
                    *chats[n::WORKERS],
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                for n in range(WORKERS)
            ]
            for worker in workers:
                assert worker.stdout is not None
                if (await worker.stdout.readline()).strip() != b"ready":
                    raise RuntimeError("a fleet worker did not start")
            started = time.time()
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
            outputs = await asyncio.gather(*(worker.communicate() for worker in workers))
    answers: list[tuple[float, int]] = []
    events_done = 0
    for worker, (stdout, _) in zip(workers, outputs, strict=True):
        lines = stdout.decode().splitlines()
        if worker.returncode != 0 or len(lines) != 2:
            raise RuntimeError(f"a fleet worker failed ({worker.returncode})")
        answers += [(at, status) for at, status in json.loads(lines[0])]
        summary = json.loads(lines[1])
        if not summary["ok"]:
            raise RuntimeError(f"a fleet worker's export failed: {summary}")
        events_done += summary["events"]
    if events_done != events * CHATS:
        raise RuntimeError(f"the fleet exported {events_done} events, not {events * CHATS}")
    return sorted(answers), started


def _rates(answers: list[tuple[float, int]], started: float) -> tuple[float, float]:
    """Return the accepted answers per second and the share of 429s."""
    elapsed = answers[-1][0] - started
    accepted = sum(1 for _, status in answers if status == 200)
    refused = sum(1 for _, status in answers if status == 429)
    return accepted / elapsed, refused / len(answers)


async def run(quick: bool) -> list[Row]:
    """Export with 4 workers sharing one budget, then with 4 local controllers, same run."""
    events = 500 if quick else 2_000
    label = f"{WORKERS} processes, {CHATS} chats x {events:,} events, take 100, concurrency 8 each"
    rows: list[Row] = []
    with redis_server() as redis_url:
        for number, mode in enumerate(MODES):
            rate, refused = _rates(*await _fleet(events, redis_url, mode, number))
            rows.append(
                Row(
                    "fleet",
                    f"limit {LIMIT:g}/s, {label}, {mode}: accepted",
                    rate,
                    "requests/s",
                    ratio=rate / LIMIT,
                    baseline="the limit (target >= 0.9x)",
                )
            )
            rows.append(Row("fleet", f"... {mode}: 429 answers", refused * 100, "%"))
    return rows
