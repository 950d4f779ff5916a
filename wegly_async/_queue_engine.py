"""The job queue on SAQ over Redis: enqueue chat exports, run them in workers, read their status.

The only module that imports SAQ or redis-py (the ``queue`` extra); ``wegly_async.queue``
imports it when a queue function runs, so the SDK and the command line never need it
otherwise. A job is one chat's export, run by ``export_timelines`` with its checkpoint
and lock; the engine adds what a fleet needs: a job per key (enqueuing a queued or
running export again adds nothing), at-least-once delivery, and a heartbeat. A running
job touches its queue entry as pages commit and at least three times per heartbeat; a
worker that stops (SIGKILL, a lost machine) stops touching it, and the sweep, which the
live workers run in turn, hands the job to another worker, which resumes from the
checkpoint. The chat's ``flock`` keeps two workers off one chat meanwhile, and the
kernel drops it with the process that held it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable
from typing import Any, cast

from ._client import WeglyClient
from ._config import redact_url
from ._errors import (
    APIConnectionError,
    ExportLockedError,
    InternalServerError,
    QueueConnectionError,
    RateBudgetError,
    RateLimitError,
    TimelineChangedError,
)
from ._queue_jobs import (
    MISSING_EXTRA,
    QUEUE_NAME,
    ChatJobStatus,
    EnqueuedExport,
    ExportJob,
    JobState,
)
from .export import ExportResult, export_timelines

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
    from saq import Job, Status, Worker
    from saq.queue.redis import RedisQueue
    from saq.types import Context, PartialTimersDict
except ImportError as exc:  # pragma: no cover - tested with the modules hidden
    raise ImportError(MISSING_EXTRA) from exc

__all__ = ["enqueue", "read_status", "work"]

logger = logging.getLogger("wegly_async.queue")

_FUNCTION = "wegly_export_chat"
# Every start counts, a worker stopped by a signal or swept included.
MAX_ATTEMPTS = 10
# Finished jobs' status stays readable for a week; a job enqueued again replaces it.
_KEEP_SECONDS = 7 * 24 * 3600
# Retries wait 1 s, then up to 2 s, 4 s (with jitter): a lock held elsewhere has time to go.
_RETRY_DELAY = 1.0
_RETRY_DELAY_MAX = 4.0
_BEATS_PER_HEARTBEAT = 3
_PROGRESS_GAP = 0.25  # at most four progress writes a second per job
_STOP_SECONDS = 10.0  # how long a stopping worker waits for its jobs to reach a checkpoint
# How long a sweep waits for a live worker to cancel a job it hands back (SAQ: 5 s); a
# worker checks for that every second, and a dead one never answers.
_HAND_BACK_WAIT = 2.0
_REDIS_PAUSE = 1.0
# A worker waits for a job in Redis (BLMOVE) this long at a time. Redis serves a waiting
# BLMOVE even for a process that is frozen (SIGSTOP, a paused VM) but whose connection
# lives: a short wait lets such a worker take no job a second after it froze.
_DEQUEUE_SECONDS = 1.0  # before dequeuing again once Redis failed to answer
_CONNECT_SECONDS = 10.0
# Errors after which the same job may well work: the server or the lock, not the request.
_TRANSIENT = (
    APIConnectionError,
    RateLimitError,
    InternalServerError,
    ExportLockedError,
    TimelineChangedError,
    RateBudgetError,  # the fleet's budget on Redis did not answer: nothing was sent
    OSError,
)


_SWEEP_SCRIPT = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""


class _ExportQueue(RedisQueue):
    """SAQ's Redis queue with a sweep that spares jobs being started and one that pauses on errors.

    SAQ's own sweep hands back any job in the active list whose status is not yet
    "active", which is every job in the instant between its dequeue and its start (SAQ
    issues #124 and #277): the job ran twice. Here such a job is handed back only once
    the same worker has seen it so for a whole heartbeat, and a job that finished while
    its hand-back waited is left finished.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._first_seen: dict[str, float] = {}  # job id -> when a sweep first saw it not started

    async def dequeue(
        self,
        timeout: float = 0.0,  # noqa: ASYNC109 - SAQ's signature, which its worker calls
        poll_interval: float = 0.0,
    ) -> Job | None:
        """Take the next job, or wait a moment and return None if Redis failed to answer."""
        try:
            return await super().dequeue(timeout, poll_interval)
        except RedisError as exc:
            logger.warning("the queue's Redis did not answer (%s); trying again", exc)
            await asyncio.sleep(_REDIS_PAUSE)
            return None

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Hand back the jobs whose worker stopped beating; return their ids."""
        script = self.redis.register_script(_SWEEP_SCRIPT)
        found = await script(keys=[self.namespace("sweep"), self.namespace("active")], args=[lock])
        swept: list[str] = []
        now = time.monotonic()
        seen: dict[str, float] = {}
        for raw_id, raw_job in found:
            job_id = raw_id.decode()
            job = self.deserialize(raw_job)
            if job is None:
                swept.append(job_id)
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(self.namespace("active"), 0, raw_id)
                    pipe.zrem(self.namespace("incomplete"), raw_id)
                    await pipe.execute()
                continue
            if not job.stuck and job.status not in (Status.ACTIVE, Status.ABORTING):
                seen[job_id] = first = self._first_seen.get(job_id, now)
                if now - first < max(job.heartbeat, 1):
                    continue  # dequeued an instant ago and not marked active yet, most likely
            elif not job.stuck:
                continue
            swept.append(job_id)
            await self._hand_back(job, min(abort, _HAND_BACK_WAIT))
        self._first_seen = seen
        return swept

    async def _hand_back(self, job: Job, abort: float) -> None:
        logger.info("handing back job %s: its worker stopped beating", job.key)
        await self.abort(job, error=self.swept_error_message)
        with contextlib.suppress(TimeoutError):
            await job.refresh(abort)  # a live worker cancels it; a dead one never answers
        if job.status == Status.COMPLETE:
            return
        if job.retryable:
            await self.retry(job, error=self.swept_error_message)
        else:
            await self.finish(job, Status.ABORTED, error=self.swept_error_message)


async def _open(url: str) -> _ExportQueue:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=_CONNECT_SECONDS)
    queue = _ExportQueue(client, name=QUEUE_NAME)
    try:
        # redis-py types ping() as maybe-synchronous (one client class for both modes).
        await cast("Awaitable[object]", client.ping())
        await queue.connect()
    except RedisError as exc:
        await client.aclose()
        raise QueueConnectionError(f"cannot reach the queue at {redact_url(url)}: {exc}") from exc
    return queue


async def _close(queue: _ExportQueue) -> None:
    try:
        await queue.disconnect()
    except RedisError as exc:  # Redis went away: nothing is left to close on its side
        logger.warning("the queue's Redis did not answer on closing (%s)", exc)
        await queue.redis.aclose()


@contextlib.asynccontextmanager
async def _redis_errors(url: str) -> Any:
    try:
        yield
    except RedisError as exc:
        raise QueueConnectionError(f"the queue at {redact_url(url)} failed: {exc}") from exc


async def enqueue(url: str, jobs: list[ExportJob], heartbeat: int) -> list[EnqueuedExport]:
    """Add one job per chat unless the same one is queued or running; say which were new."""
    queue = await _open(url)
    try:
        async with _redis_errors(url):
            done = []
            for job in jobs:
                added = await queue.enqueue(
                    Job(
                        function=_FUNCTION,
                        kwargs=job.to_kwargs(),
                        key=job.key,
                        timeout=0,  # a chat takes as long as it takes: the heartbeat tells
                        heartbeat=heartbeat,
                        retries=MAX_ATTEMPTS,
                        ttl=_KEEP_SECONDS,
                        retry_delay=_RETRY_DELAY,
                        retry_backoff=_RETRY_DELAY_MAX,
                    )
                )
                done.append(EnqueuedExport(job.chat_id, job.key, created=added is not None))
            return done
    finally:
        await _close(queue)


async def read_status(url: str) -> list[ChatJobStatus]:
    """Return the status of every export job in the queue, by output directory and chat."""
    queue = await _open(url)
    try:
        async with _redis_errors(url):
            found = [status async for job in queue.iter_jobs() if (status := _status(job))]
    finally:
        await _close(queue)
    return sorted(found, key=lambda status: (status.out, status.chat_id, status.format))


_STATES: dict[Status, JobState] = {
    Status.NEW: "queued",
    Status.QUEUED: "queued",
    Status.ABORTING: "queued",  # swept: on its way back to the queue
    Status.ACTIVE: "running",
    Status.COMPLETE: "done",
    Status.FAILED: "failed",
    Status.ABORTED: "failed",
}


def _status(job: Job) -> ChatJobStatus | None:
    if job.function != _FUNCTION:
        return None
    try:
        spec = ExportJob.from_kwargs(job.kwargs)
    except (TypeError, ValueError):
        logger.warning("job %s is not an export this SDK enqueued; skipped", job.key)
        return None
    meta = job.meta if isinstance(job.meta, dict) else {}
    result = job.result if isinstance(job.result, dict) else {}
    state = _STATES[job.status]
    error = None
    if state == "done" and isinstance(result.get("error"), str):
        state, error = "failed", result["error"]
    elif state in ("queued", "failed"):
        error = meta.get("error") if isinstance(meta.get("error"), str) else _last_line(job.error)
    events = result.get("events", meta.get("events", 0))
    total = meta.get("total")
    return ChatJobStatus(
        chat_id=spec.chat_id,
        state=state,
        out=spec.out,
        format=spec.format,
        events=events if type(events) is int else 0,
        total=total if type(total) is int else None,
        attempts=job.attempts,
        error=error,
        worker=job.worker_id if state == "running" else None,
    )


def _last_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


class _Beat:
    """Write a running job's progress to the queue as pages commit, and beat between pages."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self._interval = max(job.heartbeat, 1) / _BEATS_PER_HEARTBEAT
        # Events an earlier attempt wrote stay in the file: its count is the start.
        self._meta: dict[str, Any] = {"events": job.meta.get("events", 0)}
        self._changed = asyncio.Event()

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        """Note the events the file already holds and the chat's total."""
        self._note(events, total)

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        """Note that a page was committed."""
        self._note(events, total)

    def chat_finished(self, result: object) -> None:
        """Note nothing: the job's result says how it ended."""

    def _note(self, events: int, total: int) -> None:
        self._meta.update(events=events, total=total)
        self._changed.set()

    async def run(self) -> None:
        """Send progress whenever it changes, and at least every third of the heartbeat."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._changed.wait()
            self._changed.clear()
            await self.send()
            await asyncio.sleep(_PROGRESS_GAP)

    async def send(self, **extra: Any) -> None:
        """Write the progress (and ``extra``) into the job's entry, which touches it."""
        meta = {**self._meta, **extra}
        total = meta.get("total")
        progress = min(1.0, meta["events"] / total) if total else 0.0
        try:
            await self._job.update(meta=meta, progress=progress)
        except RedisError as exc:
            logger.warning("chat %s: progress not saved (%s)", self._job.key, exc)


async def _run_job(client: WeglyClient, ctx: Context, **kwargs: Any) -> dict[str, Any]:
    """Export one chat as a job: resume from its checkpoint, beat, and say how it ended."""
    job = ctx["job"]
    beat = _Beat(job)
    beating = asyncio.create_task(beat.run())
    failure: str | None = None
    unmounted: str | None = None
    try:
        spec = ExportJob.from_kwargs(kwargs)
        unmounted = await _not_mounted(spec.out)
        if unmounted is None:
            result = await _export(client, spec, beat)
    except (ValueError, TypeError) as exc:
        # A job or files that cannot be resumed (a foreign checkpoint, a link): no retry.
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        await _stop(beating)
    if unmounted is not None:
        logger.warning("job %s: %s", job.key, unmounted)
        await beat.send(error=unmounted)
        raise _TryAgainError(unmounted)  # another worker may have it mounted
    if failure is not None:
        logger.warning("job %s failed: %s", job.key, failure)
        await beat.send(error=failure)
        return {"events": 0, "error": failure}
    chat = result.chats[0]
    if chat.error is None:
        logger.info("chat %s: done, %d events (%d new)", spec.chat_id, chat.events, chat.written)
        return {"events": chat.events, "written": chat.written}
    error = f"{type(chat.error).__name__}: {chat.error}"
    await beat.send(events=chat.events, error=error)
    if isinstance(chat.error, _TRANSIENT):
        logger.warning("chat %s: %s (tried %d times)", spec.chat_id, error, job.attempts)
        raise _TryAgainError(error)
    logger.warning("chat %s failed: %s", spec.chat_id, error)
    return {"events": chat.events, "error": error}


async def _not_mounted(out: str) -> str | None:
    """Say why ``out`` cannot be used here: a worker never makes it, lest it write a local copy."""
    if await asyncio.to_thread(os.path.isdir, out):
        return None
    return f"{out} is not a directory on worker {socket.gethostname()}: mount the shared --out"


class _TryAgainError(Exception):
    """Raise to have the engine run the job again later, while it has attempts left."""


async def _export(client: WeglyClient, spec: ExportJob, beat: _Beat) -> ExportResult:
    return await export_timelines(
        client,
        [spec.chat_id],
        spec.out,
        format=cast(Any, spec.format),  # checked against EXPORT_FORMATS, passed through
        order=spec.order,
        take=spec.take,
        concurrency=spec.concurrency,
        fsync=spec.fsync,
        csv_formulas=cast(Any, spec.csv_formulas),
        csv_bom=spec.csv_bom,
        parquet_part_rows=spec.parquet_part_rows,
        progress=beat,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def work(
    url: str,
    client: WeglyClient,
    *,
    concurrency: int,
    sweep: int,
    stop: asyncio.Event | None,
) -> None:
    """Run export jobs, ``concurrency`` chats at a time, until ``stop`` is set or cancelled."""
    queue = await _open(url)

    async def export_chat(ctx: Context, **kwargs: Any) -> dict[str, Any]:
        return await _run_job(client, ctx, **kwargs)

    # SAQ's defaults but the sweep (its typing asks for every key).
    timers: PartialTimersDict = {"schedule": 1, "worker_info": 10, "sweep": sweep, "abort": 1}
    worker: Worker[Context] = Worker(
        queue,
        # Which machine and process runs a job, for export-status (and to find it).
        id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        functions=[(_FUNCTION, export_chat)],
        concurrency=concurrency,
        timers=timers,
        cancellation_hard_deadline_s=_STOP_SECONDS,
        dequeue_timeout=_DEQUEUE_SECONDS,
    )
    worker.SIGNALS = []  # the caller decides what stops a worker, not SAQ
    try:
        running = asyncio.create_task(worker.start())
        try:
            await (stop.wait() if stop is not None else asyncio.Future())
        finally:
            # A stop hands each running job back (retried); its chat is at a checkpoint.
            await worker.stop()
            await running
    finally:
        await _close(queue)
