"""Type-checked only (``mypy``): the job queue's public API used the ways our users use it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import wegly_async as wa
from wegly_async.queue import (
    ChatJobStatus,
    EnqueuedExport,
    enqueue_exports,
    export_status,
    run_worker,
)

QUEUE = "redis://127.0.0.1:6379/0"


async def enqueue(chat_ids: list[str]) -> int:
    jobs: list[EnqueuedExport] = await enqueue_exports(
        QUEUE, chat_ids, Path("/mnt/exports"), format="csv", order=wa.Order.DESC, heartbeat=10
    )
    return sum(job.created for job in jobs)


async def work(stop: asyncio.Event) -> None:
    async with wa.WeglyClient() as client:
        try:
            await run_worker(QUEUE, client, concurrency=8, sweep=3, stop=stop)
        except wa.QueueConnectionError as exc:
            print(exc)


async def report() -> list[str]:
    statuses: list[ChatJobStatus] = await export_status(QUEUE)
    running = [s for s in statuses if s.state == "running"]
    return [f"{s.chat_id} {s.events}/{s.total} on {s.worker_pid}" for s in running]
