"""Fleet benchmark: 4 ``wegly-async worker`` processes run a queued export against 50 requests/s.

This process starts a throwaway ``redis-server`` (loopback, no persistence) and the
emulator, limited to 50 requests/s with the pacing benchmark's token bucket (one second of
the rate, full at the start, a refused request not charged, ``Retry-After`` in whole
seconds rounded up, no ``X-RateLimit-*`` headers). It starts 4 real ``python -m wegly_async
worker`` processes (token and base URL in their environment), waits until each is up,
enqueues one job per chat with ``enqueue_exports`` and polls ``export_status`` until every
job is done. The workers share one ``SharedRateBudget`` on the queue's Redis, with the pace
learnt from 429s or with ``--rate-limit 50``; a worker cannot run without that budget, so
the baseline without one is 4 plain processes (``_fleet_child``), each paced by its own
``rate_limit=50``. Every answer is counted where it leaves, in the emulator. The accepted
rate runs from the first answer to the last: the bucket, full at the start, flatters it by
at most its 50 requests over that span, and each row notes that ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import attrs
from aiohttp import web

from wegly_async._constants import ENV_BASE_URL, ENV_TOKEN
from wegly_async.queue import enqueue_exports, export_status
from wegly_async.testing import WeglyEmulator
from wegly_async.testing._redis import flush_redis, redis_server

from ._common import Row

LIMIT = 50.0
BUCKET = math.ceil(LIMIT)  # the emulator's bucket holds one second of the rate
WORKERS = 4
CHATS = 16
TAKE = 100
# Chats at a time per worker: the 16 jobs all run at once, 4 on each worker.
WORKER_CONCURRENCY = 4
# Requests in flight per chat: the export's default, carried by each job.
JOB_CONCURRENCY = 4
READY_SECONDS = 60.0  # from spawning the processes until each says it is up
DONE_SECONDS = 300.0  # from the enqueue until every job is done
STOP_SECONDS = 15.0  # a worker told SIGTERM hands its jobs back within 10 s
POLL_SECONDS = 0.25
# The Retry-After of a 429 here: the wait for one token (20 ms), rounded up to whole seconds.
FIRST_PAUSE = 1.0


@attrs.frozen
class _Mode:
    """One row of the section: the worker's options, or None for the plain processes."""

    label: str
    worker_args: tuple[str, ...] | None


MODES = (
    _Mode("workers sharing one budget, pace learnt (no --rate-limit)", ()),
    _Mode("workers sharing one budget, --rate-limit 50", ("--rate-limit", f"{LIMIT:g}")),
    _Mode(
        "baseline, no shared budget (a worker always has one): plain processes, "
        "each its own local rate_limit=50",
        None,
    ),
)


@attrs.frozen
class _Run:
    """What one run of the fleet measured: every answer (time, status) and the start-up costs."""

    answers: list[tuple[float, int]]
    ready: float  # seconds from spawning the processes until all of them were up
    first: float  # seconds from the start (the enqueue, or "go") to the first answer
    attempts: int  # export attempts over all chats (1 per chat unless one ran again)


class _Answers:
    """Note the time and status of every answer the emulator sends."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []

    async def __call__(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        self.seen.append((time.perf_counter(), response.status))


def _tail(log: IO[bytes]) -> str:
    """Return the last lines a process wrote to its log, for an error message."""
    log.flush()
    lines = Path(log.name).read_text(errors="replace").splitlines()
    return " | ".join(lines[-5:])


def _open_logs(stack: contextlib.ExitStack, work: Path, name: str) -> list[IO[bytes]]:
    """Open one log file per process for its stderr, closed with ``stack``."""
    return [stack.enter_context(open(work / f"{name}-{n}.log", "wb")) for n in range(WORKERS)]


async def _ready(
    procs: list[asyncio.subprocess.Process], logs: list[IO[bytes]], prefix: str
) -> None:
    """Wait until every process printed its first line, which must start with ``prefix``."""
    for proc, log in zip(procs, logs, strict=True):
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_SECONDS)
        if not line.decode().startswith(prefix):
            raise RuntimeError(f"a fleet process did not start ({proc.returncode}): {_tail(log)}")


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    """Stop every process still running: SIGTERM first, SIGKILL past ``STOP_SECONDS``."""
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
    for proc in procs:
        try:
            await asyncio.wait_for(proc.communicate(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _wait_done(
    url: str, procs: list[asyncio.subprocess.Process], logs: list[IO[bytes]], events: int
) -> int:
    """Poll the queue until every chat's job is done with all its events; return the attempts."""
    deadline = time.monotonic() + DONE_SECONDS
    while True:
        for proc, log in zip(procs, logs, strict=True):
            if proc.returncode is not None:
                raise RuntimeError(f"a worker exited ({proc.returncode}) early: {_tail(log)}")
        statuses = await export_status(url)
        failed = [status.line() for status in statuses if status.state == "failed"]
        if failed:
            raise RuntimeError(f"a fleet export job failed: {failed[0]}")
        if len(statuses) == CHATS and all(status.state == "done" for status in statuses):
            short = [status.line() for status in statuses if status.events != events]
            if short:
                raise RuntimeError(f"a fleet export job missed events: {short[0]}")
            return sum(status.attempts for status in statuses)
        if time.monotonic() > deadline:
            states = sorted(status.state for status in statuses)
            raise TimeoutError(f"the fleet's jobs were not done after {DONE_SECONDS:g} s: {states}")
        await asyncio.sleep(POLL_SECONDS)


async def _workers(
    emu: WeglyEmulator, chats: list[str], events: int, url: str, args: tuple[str, ...], work: Path
) -> tuple[float, float, int]:
    """Run the jobs with 4 workers; return their start-up time, the start and the attempts."""
    env = {**os.environ, ENV_TOKEN: emu.token, ENV_BASE_URL: emu.base_url}
    command = ["-m", "wegly_async", "worker", "--queue", url]
    command += ["--concurrency", str(WORKER_CONCURRENCY), *args]
    procs: list[asyncio.subprocess.Process] = []
    with contextlib.ExitStack() as stack:
        logs = _open_logs(stack, work, "worker")
        try:
            spawned = time.perf_counter()
            for log in logs:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        *command,
                        env=env,
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=log,
                    )
                )
            await _ready(procs, logs, "worker on ")
            started = time.perf_counter()
            await enqueue_exports(url, chats, work / "out", take=TAKE, concurrency=JOB_CONCURRENCY)
            attempts = await _wait_done(url, procs, logs, events)
        finally:
            await _stop(procs)
    return started - spawned, started, attempts


async def _plain(
    emu: WeglyEmulator, chats: list[str], events: int, work: Path
) -> tuple[float, float, int]:
    """Export with 4 plain processes, each paced alone; return start-up, start and attempts."""
    env = {**os.environ, ENV_TOKEN: emu.token, ENV_BASE_URL: emu.base_url}
    out = work / "out"
    out.mkdir()
    options = [str(out), str(TAKE), str(JOB_CONCURRENCY), f"{LIMIT:g}"]
    procs: list[asyncio.subprocess.Process] = []
    with contextlib.ExitStack() as stack:
        logs = _open_logs(stack, work, "plain")
        try:
            spawned = time.perf_counter()
            for n, log in enumerate(logs):
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "benchmarks._fleet_child",
                        *options,
                        *chats[n::WORKERS],
                        env=env,
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=log,
                    )
                )
            await _ready(procs, logs, "ready")
            started = time.perf_counter()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
            outputs = await asyncio.wait_for(
                asyncio.gather(*(proc.communicate() for proc in procs)), DONE_SECONDS
            )
        finally:
            await _stop(procs)
    done = attempts = 0
    for proc, (stdout, _) in zip(procs, outputs, strict=True):
        summary = json.loads(stdout.decode().splitlines()[-1]) if proc.returncode == 0 else {}
        if not summary.get("ok"):
            raise RuntimeError(f"a plain fleet process failed ({proc.returncode}): {summary}")
        done += summary["events"]
        attempts += summary["attempts"]
    if done != events * CHATS:
        raise RuntimeError(f"the plain processes exported {done} events, not {events * CHATS}")
    return started - spawned, started, attempts


async def _fleet(events: int, url: str, mode: _Mode) -> _Run:
    """Run the fleet once against a fresh emulator and return what it measured."""
    flush_redis(url)
    answers = _Answers()
    emu = WeglyEmulator(rate_limit=LIMIT)
    emu.app.on_response_prepare.append(answers)
    async with emu:
        chats = [emu.create_chat(events=events, seed=n) for n in range(CHATS)]
        with tempfile.TemporaryDirectory(prefix="wegly-fleet-") as work:
            if mode.worker_args is None:
                ready, started, attempts = await _plain(emu, chats, events, Path(work))
            else:
                ready, started, attempts = await _workers(
                    emu, chats, events, url, mode.worker_args, Path(work)
                )
    if not answers.seen:
        raise RuntimeError("the fleet sent no request")
    return _Run(answers.seen, ready, answers.seen[0][0] - started, attempts)


def _after_first_episode(answers: list[tuple[float, int]]) -> tuple[int, int]:
    """Return the 429s and all answers from the first 429's ``Retry-After`` (1 s) on."""
    first = next((at for at, status in answers if status == 429), None)
    if first is None:
        return 0, len(answers)
    rest = [status for at, status in answers if at >= first + FIRST_PAUSE]
    return rest.count(429), len(rest)


def _rows(mode: _Mode, label: str, run: _Run) -> list[Row]:
    """Return the accepted rate (first to last answer), the 429 share and the start-up costs."""
    span = run.answers[-1][0] - run.answers[0][0]
    accepted = sum(1 for _, status in run.answers if status == 200)
    refused = sum(1 for _, status in run.answers if status == 429)
    later_refused, later_all = _after_first_episode(run.answers)
    rate = accepted / max(span, 1e-9)
    # Over any span the server accepts at most its full bucket plus the rate times the span.
    ceiling = (BUCKET + LIMIT * span) / (LIMIT * span)
    return [
        Row(
            "fleet",
            f"limit {LIMIT:g}/s, {label}, {mode.label}: accepted",
            rate,
            "requests/s",
            ratio=rate / LIMIT,
            baseline="the limit (target >= 0.9x)",
            note=f"first to last answer, {span:.1f} s; the server's own ceiling over it is "
            f"{ceiling:.2f}x, its bucket being full at the start",
        ),
        Row(
            "fleet",
            f"... {mode.label}: 429 answers",
            refused * 100 / len(run.answers),
            "%",
            baseline="target <= 1%",
            note=f"{refused} of {len(run.answers)}"
            + (
                f"; from {FIRST_PAUSE:g} s after the first 429 on (its Retry-After), "
                f"{later_refused} of {later_all}, {later_refused * 100 / max(later_all, 1):.1f}%"
                if refused
                else ""
            ),
        ),
        Row(
            "fleet",
            f"... {mode.label}: start-up",
            run.ready,
            "s",
            note=f"spawn to all {WORKERS} up; first answer {run.first:.2f} s after the "
            f"{'start signal' if mode.worker_args is None else 'enqueue'}; "
            f"{run.attempts} export attempts for {CHATS} chats",
        ),
    ]


async def run(quick: bool) -> list[Row]:
    """Export with 4 workers sharing a learnt and a configured budget, then 4 plain processes."""
    events = 500 if quick else 2_000
    label = (
        f"{WORKERS} processes, {CHATS} chats x {events:,} events, take {TAKE}, "
        f"{WORKER_CONCURRENCY} chats at a time each, {JOB_CONCURRENCY} requests in flight a chat"
    )
    rows: list[Row] = []
    with redis_server() as url:
        for mode in MODES:
            rows += _rows(mode, label, await _fleet(events, url, mode))
    return rows
