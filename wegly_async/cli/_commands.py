"""The emulator command (demo, export, send and timeline have modules of their own)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .._validation import check_int
from ._exits import EXIT_OK, UsageError, usage_errors

__all__ = ["run_emulator", "stop_on_signals"]


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
            rate_limit=args.rate_limit,
            rate_burst=args.rate_burst,
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
