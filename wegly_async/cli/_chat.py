"""``wegly-async chat`` and ``unread``: a chat, or the unread counts, as text or as JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .._client import WeglyClient
from .._errors import WeglyError
from .._pipeline import RawResponse
from .._validation import check_chat_id
from ..types.chats import Chat, UnreadSummary
from ._connection import make_client
from ._exits import EXIT_FAILED, EXIT_OK, describe_error, usage_errors
from ._render import exact_json, json_line, one_line
from ._timeline import message_columns, utc_stamp

__all__ = [
    "chat_lines",
    "field_text",
    "label_lines",
    "run_chat",
    "run_unread",
    "show_object",
    "unread_lines",
]

T = TypeVar("T")


def field_text(value: object) -> str:
    """Return a field as shown: ``-`` when absent, an enum by its value, a bool as yes/no."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


def label_lines(rows: list[tuple[str, str]]) -> list[str]:
    """Return ``(label, value)`` rows as aligned ``label  value`` lines, safe for a terminal."""
    width = max(len(label) for label, _ in rows)
    return [one_line(f"{label:<{width}}  {value}") for label, value in rows]


def chat_lines(chat: Chat) -> list[str]:
    """Return the chat's fields as ``label  value`` lines, safe for a terminal."""
    agent = chat.assigned_agent
    user = agent.user if agent is not None else None
    if agent is None:
        assigned = field_text(chat.assigned_agent_id)
    else:
        assigned = f"{field_text(user.name if user else None)} (agent {field_text(agent.agent_id)})"
    phone = chat.phone_number
    last = chat.last_message
    rows = [
        ("id", field_text(chat.id)),
        ("contact", field_text(chat.contact_name or chat.remote_profile_name)),
        ("number", field_text(chat.contact_number or chat.wa_contact_id)),
        ("status", field_text(chat.status)),
        ("type", field_text(chat.chat_type)),
        ("unread", field_text(chat.unread_count)),
        ("marked unread", field_text(chat.is_manually_unread)),
        ("priority", field_text(chat.priority)),
        ("assigned to", assigned),
        ("phone number", field_text(phone.display_number if phone else None)),
        ("last message at", utc_stamp(chat.last_message_at)),
        ("last from contact", utc_stamp(chat.last_customer_msg_at)),
        ("window ends", utc_stamp(chat.session_expires_at)),
        ("archived at", utc_stamp(chat.archived_at)),
        ("created at", utc_stamp(chat.created_at)),
        ("updated at", utc_stamp(chat.updated_at)),
        ("last message", "-" if last is None else message_columns(last).rstrip()),
    ]
    return label_lines(rows)


def unread_lines(summary: UnreadSummary) -> list[str]:
    """Return the unread counts as ``label  value`` lines."""
    return label_lines(
        [
            ("unread messages", str(summary.unread_messages_total)),
            ("unread chats", str(summary.unread_chats_total)),
        ]
    )


async def show_object(
    args: argparse.Namespace,
    what: str,
    fetch: Callable[[WeglyClient], Awaitable[RawResponse[T]]],
    render: Callable[[T], list[str]],
) -> int:
    """Fetch one object and print it, as lines or (``--json``) the server's object on one line.

    The JSON keeps every number's own digits: a deal's ``75000.50`` is not printed as ``75000.5``.
    """
    client = make_client(args)
    async with client:
        try:
            raw = await fetch(client)
            # Parsed with --json too, so an answer that is not the object is a failure (1).
            parsed = raw.parse()
        except WeglyError as exc:
            print(one_line(f"{what}: {describe_error(exc)}"), file=sys.stderr)
            return EXIT_FAILED
    lines = [json_line(exact_json(raw.content))] if args.json else render(parsed)
    print("\n".join(lines))
    return EXIT_OK


async def run_chat(args: argparse.Namespace) -> int:
    """Print one chat's fields (or its JSON); 1 if reading it failed."""
    with usage_errors():
        chat_id = check_chat_id(args.chat_id, "CHAT_ID")
    return await show_object(
        args,
        f"chat {chat_id}",
        lambda client: client.chats.with_raw_response.get(chat_id),
        chat_lines,
    )


async def run_unread(args: argparse.Namespace) -> int:
    """Print how many messages, in how many chats, are unread (or the JSON); 1 if it failed."""
    return await show_object(
        args,
        "unread",
        lambda client: client.chats.with_raw_response.unread_summary(),
        unread_lines,
    )
