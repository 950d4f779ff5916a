"""The commands: send, emulator (export lives in ``_export``, demo in ``_demo``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .._client import WeglyClient
from .._errors import WeglyError
from .._validation import check_int
from ..types.chats import SendResult, TemplateField
from ._exits import EXIT_FAILED, EXIT_OK, UsageError, describe_error, usage_errors

__all__ = ["run_emulator", "run_send"]


def _make_client(args: argparse.Namespace) -> WeglyClient:
    with usage_errors():
        return WeglyClient(args.token, base_url=args.base_url, origin=args.origin)


def _parse_field(spec: str) -> TemplateField:
    head, sep, value = spec.partition("=")
    component, colon, index = head.partition(":")
    if not sep or not colon or not index.isdigit() or not component:
        raise UsageError(
            f"--field must look like COMPONENT:INDEX=VALUE (e.g. BODY:1=Maria), got {spec!r}"
        )
    return TemplateField(component.upper(), "TEXT", index=int(index), value=value)


async def _send(client: WeglyClient, args: argparse.Namespace) -> SendResult:
    chats = client.chats
    if args.text is not None:
        return await chats.send_text(args.chat_id, args.text, reply_to=args.reply_to)
    if args.reaction is not None:
        if args.to is None:
            raise UsageError("--reaction needs --to WAMID (the message reacted to)")
        return await chats.send_reaction(args.chat_id, args.reaction, reference_wamid=args.to)
    if args.template is not None:
        if args.language is None:
            raise UsageError("--template needs --language (e.g. pt_BR)")
        fields = [_parse_field(spec) for spec in args.field]
        return await chats.send_template(
            args.chat_id, name=args.template, language=args.language, fields=fields
        )
    senders = {
        "image": chats.send_image,
        "video": chats.send_video,
        "audio": chats.send_audio,
        "document": chats.send_document,
    }
    kind = next(kind for kind in senders if getattr(args, kind) is not None)
    return await senders[kind](
        args.chat_id, getattr(args, kind), caption=args.caption, reply_to=args.reply_to
    )


async def run_send(args: argparse.Namespace) -> int:
    """Send one message; print the created message ids, or one error line and exit 1."""
    client = _make_client(args)
    async with client:
        try:
            with usage_errors():
                result = await _send(client, args)
        except WeglyError as exc:
            print(f"chat {args.chat_id}: {describe_error(exc)}", file=sys.stderr)
            return EXIT_FAILED
    for message in result.records:
        print(
            f"sent {message.type or 'message'} {message.id} (status {message.status or 'unknown'})"
        )
    return EXIT_OK


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
    stop = _stop_on_signals()
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


def _stop_on_signals() -> asyncio.Event:
    """Return an event that SIGINT or SIGTERM sets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    return stop
