"""``export --queue``, ``worker`` and ``export-status``: the export as jobs on a Redis queue.

A thin layer over ``wegly_async.queue``, which imports the engine (the ``queue`` extra)
only when one of these runs. The enqueuing side needs no token; a worker builds its
client from its own connection options and ``WEGLY_*`` environment, in ``worker_client``
alone.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .._client import WeglyClient
from .._config import redact_url
from .._constants import DEFAULT_EXPORT_CONCURRENCY
from .._errors import QueueConnectionError
from .._queue_jobs import DEFAULT_HEARTBEAT, DEFAULT_SWEEP, check_queue_url
from .._rate import RateLimit
from .._rate_redis import SharedRateBudget
from .._validation import check_chat_id, check_int, check_str
from ._commands import stop_on_signals
from ._connection import make_client
from ._exits import EXIT_FAILED, EXIT_OK, UsageError, usage_errors
from ._settings import export_settings

__all__ = [
    "add_queue_options",
    "add_queue_parsers",
    "enqueue_export",
    "run_export_status",
    "run_worker_command",
    "worker_client",
]

ConnectionOptions = Callable[[argparse.ArgumentParser], None]

# Workers of one token share this budget unless told otherwise; give each token its own.
DEFAULT_RATE_BUDGET = "default"

_WORKER_EXAMPLES = """\
examples:
  export WEGLY_TOKEN=...                     # each worker reads its own environment
  wegly-async export CHAT_ID... --out /mnt/exports --queue redis://10.0.0.5:6379/0
  wegly-async worker --queue redis://10.0.0.5:6379/0 --concurrency 8
  wegly-async export-status --queue redis://10.0.0.5:6379/0

Start any number of workers, on any machines that mount the same --out directory.
SIGINT or SIGTERM stops a worker: its chats stay at their checkpoints and their jobs
go back to the queue. A worker that dies is noticed by the others within a heartbeat.
"""


def add_queue_options(export: argparse.ArgumentParser) -> None:
    """Add ``--queue`` and ``--heartbeat`` to the export command."""
    export.add_argument(
        "--queue",
        metavar="REDIS_URL",
        help="enqueue one job per chat on this Redis (redis://HOST:PORT/DB) and return, "
        "for `wegly-async worker` to run (default: export here and now)",
    )
    export.add_argument(
        "--heartbeat",
        type=int,
        default=DEFAULT_HEARTBEAT,
        metavar="SECONDS",
        help="with --queue: hand a job to another worker once its worker has been silent "
        "this long (default %(default)s)",
    )


def add_queue_parsers(commands: Any, connection_options: ConnectionOptions) -> None:
    """Add ``worker`` and ``export-status`` to the command line's subparsers."""
    worker = commands.add_parser(
        "worker",
        help="run export jobs from a Redis queue until stopped",
        description="Run the export jobs that `wegly-async export --queue` enqueued.",
        epilog=_WORKER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_url(worker)
    worker.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_EXPORT_CONCURRENCY,
        help="chats exported at once (default %(default)s)",
    )
    worker.add_argument(
        "--sweep",
        type=int,
        default=DEFAULT_SWEEP,
        metavar="SECONDS",
        help="how often the fleet looks for jobs whose worker went silent (default %(default)s)",
    )
    worker.add_argument(
        "--rate-limit",
        type=float,
        metavar="PER_SECOND",
        help="the requests a second the whole fleet may send (default: learnt from the "
        "server's 429 answers); every worker on this Redis shares one budget",
    )
    worker.add_argument(
        "--rate-budget",
        default=DEFAULT_RATE_BUDGET,
        metavar="NAME",
        help="the name of the fleet's shared rate budget on the queue's Redis: one per "
        "token (default %(default)s)",
    )
    connection_options(worker)
    status = commands.add_parser(
        "export-status",
        help="print each queued export job's state, one line per chat",
        description="Print CHAT_ID STATE ... for every export job on the queue: queued, "
        "running (with the events so far), done, or failed (with the error).",
        epilog=_WORKER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_url(status)


def _add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queue", metavar="REDIS_URL", required=True, help="the Redis URL, redis://HOST:PORT/DB"
    )


@contextlib.contextmanager
def _queue_errors(command: str) -> Iterator[None]:
    """Turn a missing extra into a usage error; a Redis failure is reported by the caller."""
    try:
        yield
    except ImportError as exc:
        raise UsageError(f"{command}: {exc}") from None


async def enqueue_export(args: argparse.Namespace) -> int:
    """Enqueue the export named on the command line, one job per chat, and print each."""
    from ..queue import enqueue_exports

    with usage_errors("--queue: "):
        url = check_queue_url(args.queue)
    with usage_errors():
        chat_ids = [check_chat_id(chat_id, "CHAT_ID") for chat_id in args.chat_ids]
        check_int(args.heartbeat, "--heartbeat", minimum=1)
    with _queue_errors("--queue"):
        try:
            with usage_errors():
                enqueued = await enqueue_exports(
                    url,
                    chat_ids,
                    args.out,
                    **export_settings(args),
                    heartbeat=args.heartbeat,
                )
        except QueueConnectionError as exc:
            return _queue_failed(exc)
    for job in enqueued:
        verb = "enqueued" if job.created else "already queued or running"
        print(f"{job.chat_id} {verb} (job {job.key})")
    created = sum(job.created for job in enqueued)
    print(
        f"{created} new jobs, {len(enqueued) - created} already on {redact_url(url)}; "
        "run `wegly-async worker --queue ...` to export them"
    )
    return EXIT_OK


def worker_client(args: argparse.Namespace, url: str) -> tuple[WeglyClient, SharedRateBudget]:
    """Return the client a worker exports with, paced by the fleet's budget on the queue's Redis."""
    with usage_errors("--rate-limit: "):
        limit = None if args.rate_limit is None else RateLimit(args.rate_limit)
    with usage_errors("--rate-budget: "):
        budget = SharedRateBudget.from_url(url, name=check_str(args.rate_budget, "name"))
    return make_client(args, rate_limit=limit, rate_budget=budget), budget


async def run_worker_command(args: argparse.Namespace) -> int:
    """Run export jobs until SIGINT or SIGTERM, then hand the running ones back."""
    from ..queue import run_worker

    with usage_errors("--queue: "):
        url = check_queue_url(args.queue)
    with usage_errors():
        check_int(args.concurrency, "--concurrency", minimum=1)
        check_int(args.sweep, "--sweep", minimum=1)
    with _queue_errors("worker"):
        client, budget = worker_client(args, url)
    _log_to_stderr()
    stop = stop_on_signals()
    async with budget, client:
        with _queue_errors("worker"):
            try:
                print(
                    f"worker on {redact_url(url)}: {args.concurrency} chats at a time; "
                    "Ctrl-C or SIGTERM to stop",
                    flush=True,
                )
                await run_worker(
                    url, client, concurrency=args.concurrency, sweep=args.sweep, stop=stop
                )
            except QueueConnectionError as exc:
                return _queue_failed(exc)
    print("worker stopped: its running chats were left at their checkpoints and requeued")
    return EXIT_OK


async def run_export_status(args: argparse.Namespace) -> int:
    """Print one line per export job: ``CHAT_ID STATE ...``."""
    from ..queue import export_status

    with usage_errors("--queue: "):
        url = check_queue_url(args.queue)
    with _queue_errors("export-status"):
        try:
            statuses = await export_status(url)
        except QueueConnectionError as exc:
            return _queue_failed(exc)
    for status in statuses:
        print(status.line())
    if not statuses:
        print(f"no export jobs on {redact_url(url)}", file=sys.stderr)
    return EXIT_OK


def _queue_failed(exc: QueueConnectionError) -> int:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _log_to_stderr() -> None:
    """Show the worker's own lines (jobs done, failed, handed back) on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("wegly_async.queue")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # The engine's own errors (a job's traceback) still show; its routine lines do not.
    logging.getLogger("saq").setLevel(logging.ERROR)
