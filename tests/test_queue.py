"""The job queue in one process: a real Redis, the emulator, and the worker in the test loop."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from queue_helpers import redis, redis_contents, wait_for_state
from test_export_resume import assert_jsonl_exact

import wegly_async as wa
from wegly_async.queue import enqueue_exports, export_status, run_worker
from wegly_async.testing import WeglyEmulator

WAIT = 30.0  # seconds any awaited state may take on a loaded machine


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator(latency=0.01) as emulator:
        yield emulator


@contextlib.asynccontextmanager
async def worker(
    url: str, emu: WeglyEmulator, budget: wa.SharedRateBudget | None = None, **options: int
) -> AsyncIterator[None]:
    """Run a worker in this loop with a client of the emulator; stop it on the way out."""
    stop = asyncio.Event()
    async with wa.WeglyClient(emu.token, base_url=emu.base_url, rate_budget=budget) as client:
        task = asyncio.create_task(run_worker(url, client, stop=stop, sweep=1, **options))
        try:
            yield
        finally:
            stop.set()
            async with asyncio.timeout(WAIT):
                await task


async def test_enqueuing_the_same_export_twice_makes_one_job(
    redis_url: str, tmp_path: Path
) -> None:
    chats = [str(uuid.uuid4()), str(uuid.uuid4())]
    first = await enqueue_exports(redis_url, chats, tmp_path / "out")
    again = await enqueue_exports(redis_url, [chats[1], chats[0], chats[1]], tmp_path / "out")
    assert [job.created for job in first] == [True, True]
    assert [(job.chat_id, job.created) for job in again] == [(chats[1], False), (chats[0], False)]
    assert {job.key for job in again} == {job.key for job in first}
    # Another order is another export: a job of its own.
    other = await enqueue_exports(redis_url, chats[:1], tmp_path / "out", order="desc")
    assert other[0].created
    client = redis.Redis.from_url(redis_url)
    try:
        assert len(list(client.scan_iter("saq:job:*"))) == 3
        assert client.llen("saq:wegly-export:queued") == 3
    finally:
        client.close()
    statuses = await export_status(redis_url)
    assert sorted(status.chat_id for status in statuses) == sorted([*chats, chats[0]])
    assert {status.state for status in statuses} == {"queued"}
    assert {status.out for status in statuses} == {str((tmp_path / "out").resolve())}


async def test_a_worker_exports_each_chat_exactly_and_reports_running_then_done(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    emu_slow = emu.create_chat(events=1500, seed=701)
    small = emu.create_chat(events=120, seed=702)
    out = tmp_path / "out"
    await enqueue_exports(redis_url, [emu_slow, small], out, take=50, concurrency=1)
    async with worker(redis_url, emu, concurrency=2):
        running = await wait_for_state(
            redis_url,
            emu_slow,
            lambda s: s.state == "running" and 0 < s.events < 1500,
            within=WAIT,
            what="the long chat running with some events",
        )
        assert running.total == 1500
        for chat_id, events in ((emu_slow, 1500), (small, 120)):
            done = await wait_for_state(
                redis_url, chat_id, lambda s: s.state != "running" and s.state != "queued",
                within=WAIT, what="the chat's job finished",
            )  # fmt: skip
            assert (done.state, done.events, done.error) == ("done", events, None)
    for chat_id in (emu_slow, small):
        assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    contents = redis_contents(redis_url)
    assert emu_slow.encode() in contents  # the scan read the jobs...
    assert emu.token.encode() not in contents  # ...and no token is among them


async def test_a_parquet_job_writes_the_chats_parts_with_its_part_size(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    pytest.importorskip("pyarrow", reason="the parquet extra")
    from test_export_parquet import assert_parquet_exact, part_files, part_sizes

    chat_id = emu.create_chat(events=700, seed=703)
    out = tmp_path / "out"
    await enqueue_exports(
        redis_url, [chat_id], out, format="parquet", take=50, parquet_part_rows=200
    )
    async with worker(redis_url, emu):
        done = await wait_for_state(
            redis_url, chat_id, lambda s: s.state not in ("queued", "running"),
            within=WAIT, what="the chat's job finished",
        )  # fmt: skip
    assert (done.state, done.events, done.format) == ("done", 700, "parquet")
    assert_parquet_exact(out, chat_id, emu.events(chat_id))
    # The job carried the part size: whole pages until at least 200 events a part.
    import pyarrow.parquet as pq

    rows = [pq.read_metadata(path).num_rows for path in part_files(out, chat_id)]
    assert rows == part_sizes(700, 50, 200)


async def test_a_chat_the_server_refuses_fails_once_with_the_error(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    missing = str(uuid.uuid4())
    await enqueue_exports(redis_url, [missing], tmp_path / "out")
    async with worker(redis_url, emu):
        failed = await wait_for_state(
            redis_url, missing, lambda s: s.state == "failed", within=WAIT, what="failed"
        )
    assert failed.attempts == 1  # a 404 is not retried
    assert failed.error is not None
    assert failed.error.startswith("NotFoundError: 404 GET ")
    assert missing in failed.error
    assert failed.line().startswith(f"{missing} failed events=0 ")


async def test_a_rate_budget_that_does_not_answer_leaves_the_job_to_be_tried_again(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=10, seed=704)
    await enqueue_exports(redis_url, [chat_id], tmp_path / "out")
    # The fleet's budget on a Redis nobody serves: every request fails before it is sent.
    budget = wa.SharedRateBudget.from_url("redis://127.0.0.1:1/0", name="gone")
    async with budget, worker(redis_url, emu, budget):
        again = await wait_for_state(
            redis_url, chat_id,
            lambda s: (s.state == "queued" and s.error is not None) or s.state == "failed",
            within=WAIT, what="the job back in the queue after its failure",
        )  # fmt: skip
    assert (again.state, again.attempts) == ("queued", 1), again
    assert again.error is not None and "RateBudgetError" in again.error, again
    assert emu.requests == []


async def test_a_chat_another_export_is_writing_waits_for_its_lock(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=200, seed=703)
    out = tmp_path / "out"
    (out / ".checkpoints").mkdir(parents=True)
    # Another export holds the chat's lock, as a live process on another machine would.
    fd = os.open(out / ".checkpoints" / f"{chat_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        await enqueue_exports(redis_url, [chat_id], out)
        async with worker(redis_url, emu):
            held = await wait_for_state(
                redis_url,
                chat_id,
                lambda s: s.error is not None and "ExportLockedError" in s.error,
                within=WAIT,
                what="an attempt refused by the lock",
            )
            assert held.state == "queued"  # to be tried again, not failed
            assert not (out / f"{chat_id}.jsonl").exists()
            os.close(fd)
            fd = -1
            await wait_for_state(
                redis_url, chat_id, lambda s: s.state == "done", within=WAIT, what="done"
            )
    finally:
        if fd != -1:
            os.close(fd)
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_a_worker_without_the_output_directory_writes_nothing_and_leaves_the_job(
    redis_url: str, emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=20, seed=704)
    out = tmp_path / "share"
    await enqueue_exports(redis_url, [chat_id], out)
    assert out.is_dir()  # made where the export was enqueued...
    out.rmdir()  # ...and not mounted on this worker's machine
    async with worker(redis_url, emu):
        left = await wait_for_state(
            redis_url,
            chat_id,
            lambda s: s.error is not None and "mount the shared --out" in s.error,
            within=WAIT,
            what="the attempt refused for want of the directory",
        )
    assert left.state == "queued"  # for a worker that has it
    assert not out.exists()
    assert emu.requests == []


async def test_an_unreachable_redis_is_a_queue_connection_error(tmp_path: Path) -> None:
    # A free loopback port nothing listens on.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    with pytest.raises(wa.QueueConnectionError, match=f"127.0.0.1:{port}/0") as caught:
        await enqueue_exports(url, [str(uuid.uuid4())], tmp_path)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(wa.QueueConnectionError):
        await export_status(url)
