"""The commands export and emulator (demo, send and timeline have modules of their own)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .._validation import check_chat_id, check_int
from ..export import export_timelines
from ._connection import make_client
from ._exits import EXIT_FAILED, EXIT_OK, UsageError, describe_error, usage_errors
from ._progress import progress_reporter

__all__ = ["run_emulator", "run_export", "stop_on_signals"]


async def run_export(args: argparse.Namespace) -> int:
    """Export the timelines named on the command line; 1 if any chat failed."""
    with usage_errors():
        chat_ids = [check_chat_id(chat_id, "CHAT_ID") for chat_id in args.chat_ids]
    client = make_client(args)
    with progress_reporter(not args.no_progress) as progress:
        async with client:
            with usage_errors():
                result = await export_timelines(
                    client,
                    chat_ids,
                    args.out,
                    format=args.format,
                    order=args.order,
                    take=args.take,
                    concurrency=args.concurrency,
                    fsync=args.fsync,
                    progress=progress,
                )
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


async def run_emulator(args: argparse.Namespace) -> int:
    """Serve the emulator with seeded chats until interrupted."""
    from ..testing import WeglyEmulator

    with usage_errors():
        emulator = WeglyEmulator(
            host=args.host,
            port=args.port,
            token=args.token,
            latency=args.latency,
            max_take=args.max_take,
        )
        check_int(args.chats, "--chats", minimum=0)
        check_int(args.events, "--events", minimum=0)
    # Handlers first: a Ctrl-C right after the banner must still stop the server cleanly.
    stop = stop_on_signals()
    try:
        await emulator.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from exc
    async with emulator:
        chat_ids = [
            emulator.create_chat(events=args.events, seed=n) for n in range(1, args.chats + 1)
        ]
        print(f"Wegly emulator serving at {emulator.base_url}")
        print(f"export WEGLY_BASE_URL={emulator.base_url}")
        print(f"export WEGLY_TOKEN={emulator.token}")
        for chat_id in chat_ids:
            print(f"chat {chat_id} ({args.events} events)")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    return EXIT_OK


def stop_on_signals() -> asyncio.Event:
    """Return an event that SIGINT or SIGTERM sets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    return stop
