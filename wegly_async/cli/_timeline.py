"""``wegly-async timeline``: a chat's events, one per line, as text or as the server's JSON."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from .._constants import DEFAULT_PAGE_SIZE, DEFAULT_PREFETCH
from .._errors import WeglyError
from .._validation import check_chat_id, check_int
from ..resources.chats.timeline import TimelinePager
from ..types.chats import Message
from ..types.timeline import TimelineEvent
from ._connection import make_client
from ._exits import EXIT_FAILED, EXIT_OK, describe_error, usage_errors
from ._render import json_line, one_line, wamid_of

__all__ = ["event_line", "message_columns", "run_timeline", "utc_stamp"]


def event_line(event: TimelineEvent) -> str:
    """Return one event as ``time direction type wamid text``, safe for a terminal."""
    when = utc_stamp(event.event_at)
    if event.message is None:
        return one_line(f"{when}  -    {event.event_type or 'event'}")
    return f"{when}  {message_columns(event.message)}"


def utc_stamp(moment: datetime | None) -> str:
    """Return ``moment`` in UTC to the second (``2026-01-31T12:00:00Z``), or ``-``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def message_columns(message: Message) -> str:
    """Return a message as ``direction type wamid text``, safe for a terminal."""
    direction = "-" if message.from_me is None else ("out" if message.from_me else "in")
    pieces = []
    if message.media is not None and message.media.file_name:
        pieces.append(f"[{message.media.file_name}]")
    if message.call is not None:
        duration = message.call.duration_ms
        seconds = "" if duration is None else f" {duration // 1000}s"
        pieces.append(f"[call {message.call.status or '-'}{seconds}]")
    if message.body_text:
        pieces.append(message.body_text)
    kind = message.type or "-"
    wamid = wamid_of(message) or "-"
    return one_line(f"{direction:<3}  {kind:<8}  {wamid}  {' '.join(pieces)}")


async def _lines(pager: TimelinePager, as_json: bool) -> AsyncGenerator[str, None]:
    if as_json:
        async with contextlib.aclosing(pager.raw_pages()) as raw_pages:
            async for raw in raw_pages:
                for record in raw.records:
                    yield json_line(record)
    else:
        async with contextlib.aclosing(pager.pages()) as pages:
            async for page in pages:
                for event in page.records:
                    yield event_line(event)


async def run_timeline(args: argparse.Namespace) -> int:
    """Print the chat's events, oldest first unless ``--order desc``; 1 if reading failed."""
    with usage_errors():
        chat_id = check_chat_id(args.chat_id, "CHAT_ID")
        limit = None if args.limit is None else check_int(args.limit, "--limit", minimum=1)
    client = make_client(args)
    # With a --limit, pages are read one after the other and no larger than needed, so
    # nothing is asked for past the N-th event; without, requests run ahead to go faster.
    take = DEFAULT_PAGE_SIZE if limit is None else min(limit, DEFAULT_PAGE_SIZE)
    prefetch = DEFAULT_PREFETCH if limit is None else 1
    async with client:
        with usage_errors():
            pager = client.chats.timeline(
                chat_id, order=args.order, take=take, search=args.search, prefetch=prefetch
            )
        lines = _lines(pager, args.json)
        printed = 0
        try:
            async with contextlib.aclosing(lines):
                async for line in lines:
                    print(line)
                    printed += 1
                    if printed == limit:
                        break
        except WeglyError as exc:
            sys.stdout.flush()
            print(one_line(f"chat {chat_id}: {describe_error(exc)}"), file=sys.stderr)
            return EXIT_FAILED
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, like other Unix tools.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
