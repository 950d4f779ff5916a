"""``wegly-async export``: the export command, its exit statuses and its stop on signals."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

from .._client import WeglyClient
from .._export_parquet import load_pyarrow
from .._validation import check_chat_id
from ..export import ExportResult, export_timelines
from ._connection import make_client
from ._exits import (
    EXIT_FAILED,
    EXIT_OK,
    Interrupted,
    UsageError,
    describe_error,
    usage_errors,
)
from ._progress import progress_reporter
from ._settings import export_settings

__all__ = ["run_export"]


async def run_export(args: argparse.Namespace) -> int:
    """Export the timelines named on the command line; 1 if any chat failed.

    SIGINT and SIGTERM stop it the same way: the chats being written are left at their
    last checkpoint, and ``Interrupted`` says to run the same command again.
    """
    if args.queue is not None:
        from ._queue import enqueue_export

        return await enqueue_export(args)
    with usage_errors():
        chat_ids = [check_chat_id(chat_id, "CHAT_ID") for chat_id in args.chat_ids]
    if args.format == "parquet":
        try:
            load_pyarrow()
        except ImportError as exc:
            raise UsageError(str(exc)) from exc
    client = make_client(args)
    with _cancel_on_signals() as received:
        try:
            result = await _export(client, chat_ids, args)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not received or task is None:
                raise
            task.uncancel()
            raise Interrupted(received[0]) from None
    for chat in result.failed:
        assert chat.error is not None
        print(f"chat {chat.chat_id}: {describe_error(chat.error)}", file=sys.stderr)
    rate = result.written / result.seconds if result.seconds else 0.0
    done = len(result.chats) - len(result.failed)
    print(
        f"exported {result.written:,} new events from {done}/{len(result.chats)} chats "
        f"into {args.out} in {result.seconds:.2f}s ({rate:,.0f} events/s)"
    )
    return EXIT_OK if result.ok else EXIT_FAILED


async def _export(
    client: WeglyClient, chat_ids: list[str], args: argparse.Namespace
) -> ExportResult:
    chats = len(dict.fromkeys(chat_ids))
    with progress_reporter(not args.no_progress, chats=chats) as progress:
        async with client:
            with usage_errors():
                return await export_timelines(
                    client,
                    chat_ids,
                    args.out,
                    **export_settings(args),
                    progress=progress,
                )


@contextlib.contextmanager
def _cancel_on_signals() -> Iterator[list[int]]:
    """Cancel the running task on SIGINT or SIGTERM; yield the list of signals received."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def cancel(signum: int) -> None:
        # Only the first signal cancels: a second one must not cut the clean-up short.
        if not received and task is not None:
            task.cancel()
        received.append(signum)

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, cancel, signum)
            installed.append(signum)
    try:
        yield received
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
