"""Export chats past one machine: one job per chat on a Redis queue, run by any number of workers.

``enqueue_exports`` adds one job per chat, keyed by the chat, the output directory, the
format and the order, so the same export enqueued twice is one job. ``run_worker`` runs
jobs with a client the caller made (its token from the worker's own environment: no
token is ever written to Redis); workers on several machines share the output directory.
Each job is the chat's resumable export: a worker that dies mid-chat stops beating, and
within about ``heartbeat`` plus ``sweep`` seconds plus a two-second hand-back
another worker resumes the chat from its checkpoint. ``export_status`` reads back every
job's state. The engine is SAQ (the ``queue`` extra), imported only when one of these
functions runs; without it they raise ``ImportError`` naming the extra.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from ._client import WeglyClient
from ._constants import (
    DEFAULT_CSV_FORMULAS,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_FORMAT,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PARQUET_PART_ROWS,
)
from ._enums import Order
from ._errors import QueueConnectionError
from ._queue_jobs import (
    DEFAULT_HEARTBEAT,
    DEFAULT_SWEEP,
    ChatJobStatus,
    EnqueuedExport,
    ExportJob,
    JobState,
    check_queue_url,
)
from ._validation import check_int

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_SWEEP",
    "ChatJobStatus",
    "EnqueuedExport",
    "JobState",
    "QueueConnectionError",
    "check_queue_url",
    "enqueue_exports",
    "export_status",
    "run_worker",
]


async def enqueue_exports(
    queue_url: str,
    chat_ids: Iterable[str],
    out_dir: str | os.PathLike[str],
    *,
    format: str = DEFAULT_EXPORT_FORMAT,
    order: Order | str = Order.ASC,
    take: int = DEFAULT_PAGE_SIZE,
    concurrency: int = DEFAULT_EXPORT_CONCURRENCY,
    fsync: bool = False,
    csv_formulas: str = DEFAULT_CSV_FORMULAS,
    csv_bom: bool = False,
    parquet_part_rows: int = DEFAULT_PARQUET_PART_ROWS,
    heartbeat: int = DEFAULT_HEARTBEAT,
) -> list[EnqueuedExport]:
    """Enqueue one export job per chat into ``out_dir`` and return what each enqueue did.

    The settings are ``export_timelines``'s, ``concurrency`` being the requests in flight
    for each chat; ``out_dir`` is resolved to an absolute path here, which every worker
    must see as the same directory. A job whose key is already queued or running is left
    as it is (``created=False``); one that finished is enqueued again and catches up.
    ``heartbeat`` is how many seconds a job may go untouched before it is handed to
    another worker. ``out_dir`` is created here if it is missing.

    Raises:
        ValueError: the URL, a chat id or a setting is not acceptable (before connecting).
        TypeError: an argument has the wrong type.
        QueueConnectionError: the queue's Redis cannot be reached or fails.
        ImportError: the ``queue`` extra is not installed.
    """
    url = check_queue_url(queue_url)
    if isinstance(chat_ids, str):
        raise TypeError("chat_ids must be a list of chat ids, not a single string")
    check_int(heartbeat, "heartbeat", minimum=1)
    jobs = {
        job.key: job
        for job in (
            ExportJob.make(
                chat_id,
                out_dir,
                format=format,
                order=order,
                take=take,
                concurrency=concurrency,
                fsync=fsync,
                csv_formulas=csv_formulas,
                csv_bom=csv_bom,
                parquet_part_rows=parquet_part_rows,
            )
            for chat_id in chat_ids
        )
    }
    from ._queue_engine import enqueue

    # Made here, where the export is started: a worker never makes it (see run_worker).
    for out in {job.out for job in jobs.values()}:
        await asyncio.to_thread(_make_out_dir, out)
    return await enqueue(url, list(jobs.values()), heartbeat)


def _make_out_dir(out: str) -> None:
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot use {out} as the output directory: {exc}") from exc


async def run_worker(
    queue_url: str,
    client: WeglyClient,
    *,
    concurrency: int = DEFAULT_EXPORT_CONCURRENCY,
    sweep: int = DEFAULT_SWEEP,
    stop: asyncio.Event | None = None,
) -> None:
    """Run export jobs with ``client``, ``concurrency`` chats at a time, until ``stop`` is set.

    Cancelling it stops it the same way: each running chat is left at its last checkpoint
    and its job goes back to the queue for this or another worker. Every ``sweep``
    seconds one worker of the fleet hands the jobs of workers that stopped beating to
    the others. A job whose output directory does not exist on this machine (the shared
    directory not mounted) is not written here but tried again later, by any worker.
    The caller owns ``client`` (and closes it).

    Raises:
        ValueError: the URL, ``concurrency`` or ``sweep`` is not acceptable.
        TypeError: an argument has the wrong type.
        QueueConnectionError: the queue's Redis cannot be reached at the start.
        ImportError: the ``queue`` extra is not installed.
    """
    url = check_queue_url(queue_url)
    if not isinstance(client, WeglyClient):
        raise TypeError(f"client must be a WeglyClient, got {type(client).__name__}")
    check_int(concurrency, "concurrency", minimum=1)
    check_int(sweep, "sweep", minimum=1)
    from ._queue_engine import work

    await work(url, client, concurrency=concurrency, sweep=sweep, stop=stop)


async def export_status(queue_url: str) -> list[ChatJobStatus]:
    """Return the status of every export job in the queue, sorted by directory and chat.

    Raises:
        ValueError: the URL is not acceptable (before connecting).
        QueueConnectionError: the queue's Redis cannot be reached or fails.
        ImportError: the ``queue`` extra is not installed.
    """
    url = check_queue_url(queue_url)
    from ._queue_engine import read_status

    return await read_status(url)
