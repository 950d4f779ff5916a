"""``export --queue``, ``worker`` and ``export-status`` as real processes: kills, stops, the lock.

The emulator and the Redis fixture serve on loopback; each worker is a child process
(``python -m wegly_async worker``) with the emulator's URL and token in its own
environment, killed in a ``finally`` whatever happens. Waits are bounded; nothing
asserts how long something took (the hand-over time is printed, for the record).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from queue_helpers import redis, redis_contents, wait_for_state
from test_export_resume import Run, assert_jsonl_exact, cli_env, finish, spawn

from wegly_async.cli import main
from wegly_async.queue import enqueue_exports
from wegly_async.testing import WeglyEmulator

WAIT = 30.0  # seconds any awaited state may take on a loaded machine
HANDOVER = 30.0  # the bound: a dead worker's job runs elsewhere within this
HEARTBEAT = 3  # short for the tests; the default is 10 s
EVENTS = 1200
TAKE = 50


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    # Latency makes a 1,200-event chat take a second or more: long enough to stop mid-way.
    async with WeglyEmulator(latency=0.05) as emulator:
        yield emulator


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "wegly_async", *args]


class Workers:
    """Worker processes of one test; every one still running is killed on the way out."""

    def __init__(self, url: str, emu: WeglyEmulator, cwd: Path) -> None:
        self.url, self.emu, self.cwd = url, emu, cwd
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, *extra: str) -> asyncio.subprocess.Process:
        args = command("worker", "--queue", self.url, "--sweep", "1", *extra)
        proc = await spawn(args, cli_env(self.emu), self.cwd)
        self.procs.append(proc)
        assert proc.stdout is not None
        async with asyncio.timeout(WAIT):
            banner = await proc.stdout.readline()
        assert banner.startswith(b"worker on redis://127.0.0.1:"), banner
        return proc

    def by_pid(self, pid: int | None) -> asyncio.subprocess.Process:
        """Return the worker process with this id."""
        (proc,) = [proc for proc in self.procs if proc.pid == pid]
        return proc

    async def kill_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
                with contextlib.suppress(Exception):
                    await finish(proc)


@pytest.fixture
async def workers(redis_url: str, emu: WeglyEmulator, tmp_path: Path) -> AsyncIterator[Workers]:
    fleet = Workers(redis_url, emu, tmp_path)
    try:
        yield fleet
    finally:
        await fleet.kill_all()


async def sigkill(proc: asyncio.subprocess.Process) -> Run:
    proc.send_signal(signal.SIGKILL)
    run = await finish(proc)
    assert run.returncode == -signal.SIGKILL, run
    return run


def skips_from_zero(emu: WeglyEmulator, chat_id: str) -> int:
    """Count the timeline requests for the chat that started at its first event."""
    path = f"/chats/{chat_id}/timeline"
    return sum(
        1
        for r in emu.requests
        if r.method == "GET" and r.path.endswith(path) and r.query.get("skip", "0") == "0"
    )


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    """Run the command line in a thread of this process (for commands that start no worker)."""
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


async def test_cli_enqueues_once_then_a_worker_exports_and_no_token_reaches_redis(
    redis_url: str,
    emu: WeglyEmulator,
    workers: Workers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chats = [emu.create_chat(events=400, seed=801), emu.create_chat(events=150, seed=802)]
    out = tmp_path / "out"
    enqueue = ["export", *chats, "--out", str(out), "--queue", redis_url, "--take", "50"]
    # Enqueuing needs no token: there is none in this process's environment.
    monkeypatch.delenv("WEGLY_TOKEN", raising=False)
    first = await cli(capsys, *enqueue)
    assert first.returncode == 0, first
    assert [line.split(" ", 1)[1].split(" (")[0] for line in first.stdout.splitlines()[:2]] == [
        "enqueued",
        "enqueued",
    ]
    again = await cli(capsys, *enqueue)
    assert again.returncode == 0, again
    assert "0 new jobs, 2 already" in again.stdout
    queued = await cli(capsys, "export-status", "--queue", redis_url)
    assert sorted(queued.stdout.splitlines()) == sorted(
        f"{chat_id} queued format=jsonl out={out.resolve()}" for chat_id in chats
    )

    proc = await workers.start("--concurrency", "2")
    for chat_id in chats:
        await wait_for_state(
            redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done"
        )
    proc.send_signal(signal.SIGTERM)
    stopped = await finish(proc)
    assert stopped.returncode == 0, stopped

    for chat_id in chats:
        assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    status = await cli(capsys, "export-status", "--queue", redis_url)
    assert sorted(status.stdout.splitlines()) == sorted(
        f"{chat_id} done events={len(emu.events(chat_id))} format=jsonl out={out.resolve()}"
        for chat_id in chats
    )
    contents = redis_contents(redis_url)
    assert chats[0].encode() in contents
    assert emu.token.encode() not in contents
    assert emu.token not in stopped.stdout + stopped.stderr


async def test_cli_a_refused_url_is_a_usage_error_before_any_connection(
    emu: WeglyEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id = emu.create_chat(events=1, seed=803)
    for args in (
        ["export", chat_id, "--out", str(tmp_path), "--queue", "http://127.0.0.1:6379/0"],
        ["worker", "--queue", "127.0.0.1:6379", "--token", "t", "--base-url", emu.base_url],
        ["export-status", "--queue", "redis://127.0.0.1:6379/db"],
    ):
        run = await cli(capsys, *args)
        assert run.returncode == 2, run
        assert "redis://127.0.0.1:6379/0" in run.stderr  # an example of what works
    assert emu.requests == []


async def test_cli_workers_pace_with_the_fleets_budget_on_the_queues_redis(
    redis_url: str, emu: WeglyEmulator, workers: Workers, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=200, seed=804)
    out = tmp_path / "out"
    await enqueue_exports(redis_url, [chat_id], out, take=50)
    first = await workers.start("--rate-limit", "7", "--rate-budget", "company-x")
    second = await workers.start("--rate-limit", "7", "--rate-budget", "company-x")
    await wait_for_state(redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done")
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
        assert (await finish(proc)).returncode == 0
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        budget = await client.hgetall("wegly-async:rate:company-x")
        assert float(budget[b"rate"]) == 7.0  # the fleet's pace, capped by --rate-limit
        assert float(budget[b"count"]) + float(budget[b"previous"]) > 0  # answers counted
        assert await client.exists("wegly-async:rate:default") == 0
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("option", "value"), [("--rate-limit", "0"), ("--rate-limit", "-3"), ("--rate-budget", "")]
)
async def test_cli_a_bad_rate_option_is_a_usage_error_before_any_connection(
    emu: WeglyEmulator, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    args = ["worker", "--queue", "redis://127.0.0.1:1/0", "--token", "t", "--base-url"]
    run = await cli(capsys, *args, emu.base_url, option, value)
    assert run.returncode == 2, run
    assert f"wegly-async worker: error: {option}: " in run.stderr, run
    assert emu.requests == []


async def test_cli_a_sigkilled_workers_chat_resumes_on_another_worker_from_its_checkpoint(
    redis_url: str, emu: WeglyEmulator, workers: Workers, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=EVENTS, seed=804)
    out = tmp_path / "out"
    # Both workers up first: the job goes to one, and the other is there to take it over.
    await workers.start()
    await workers.start()
    await enqueue_exports(redis_url, [chat_id], out, take=TAKE, concurrency=1, heartbeat=HEARTBEAT)
    running = await wait_for_state(
        redis_url,
        chat_id,
        lambda s: s.state == "running" and 0 < s.events < EVENTS * 3 // 4,
        within=WAIT,
        what="the chat under way, a quarter of it at least left",
    )
    await sigkill(workers.by_pid(running.worker_pid))
    killed = time.monotonic()
    resumed = await wait_for_state(
        redis_url,
        chat_id,
        lambda s: s.state == "running" and s.attempts == 2,
        within=HANDOVER,
        what="the job running on the other worker",
    )
    print(f"hand-over after SIGKILL: {time.monotonic() - killed:.1f}s (heartbeat {HEARTBEAT}s)")
    assert 0 < resumed.events < EVENTS
    assert resumed.worker_pid != running.worker_pid
    await wait_for_state(redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done")
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    assert skips_from_zero(emu, chat_id) == 1  # resumed, not started again


async def test_cli_a_live_workers_lock_holds_and_a_killed_ones_does_not(
    redis_url: str, emu: WeglyEmulator, workers: Workers, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=EVENTS, seed=805)
    out = tmp_path / "out"
    data = out / f"{chat_id}.jsonl"
    checkpoint = out / ".checkpoints" / f"{chat_id}.json"
    await workers.start()
    await workers.start()
    await enqueue_exports(redis_url, [chat_id], out, take=TAKE, concurrency=1, heartbeat=HEARTBEAT)
    running = await wait_for_state(
        redis_url,
        chat_id,
        lambda s: s.state == "running" and 0 < s.events < EVENTS * 3 // 4,
        within=WAIT,
        what="the chat under way, a quarter of it at least left",
    )
    # Frozen, it stops beating but stays alive and keeps the chat's flock.
    frozen = workers.by_pid(running.worker_pid)
    frozen.send_signal(signal.SIGSTOP)
    await asyncio.sleep(0.2)  # lets a page in flight land before the snapshot
    size, saved = data.stat().st_size, checkpoint.read_bytes()
    await wait_for_state(
        redis_url,
        chat_id,
        lambda s: s.attempts >= 2 and s.error is not None and "ExportLockedError" in s.error,
        within=HANDOVER + WAIT,
        what="the second worker refused by the first one's lock",
    )
    assert (data.stat().st_size, checkpoint.read_bytes()) == (size, saved)
    await sigkill(frozen)  # the kernel drops its flock with it
    await wait_for_state(redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done")
    assert_jsonl_exact(data, emu.events(chat_id))
    assert skips_from_zero(emu, chat_id) == 1


async def test_cli_sigterm_stops_a_worker_at_a_checkpoint_and_requeues_its_chat(
    redis_url: str, emu: WeglyEmulator, workers: Workers, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=EVENTS, seed=806)
    out = tmp_path / "out"
    await enqueue_exports(redis_url, [chat_id], out, take=TAKE, concurrency=1)
    proc = await workers.start()
    await wait_for_state(
        redis_url,
        chat_id,
        lambda s: s.state == "running" and 0 < s.events < EVENTS * 3 // 4,
        within=WAIT,
        what="the chat under way, a quarter of it at least left",
    )
    proc.send_signal(signal.SIGTERM)
    stopped = await finish(proc)
    assert stopped.returncode == 0, stopped
    assert "worker stopped" in stopped.stdout
    assert "Traceback" not in stopped.stderr
    handed_back = await wait_for_state(
        redis_url, chat_id, lambda s: s.state == "queued", within=WAIT, what="requeued"
    )
    assert handed_back.error == "cancelled"
    assert 0 < handed_back.events < EVENTS
    await workers.start()
    await wait_for_state(redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done")
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    assert skips_from_zero(emu, chat_id) == 1
