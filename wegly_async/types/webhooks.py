"""Models of the events Wegly pushes to a webhook subscriber."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .._enums import WebhookEventKey
from .chats import Message

__all__ = ["RecordSummary", "WebhookEvent"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class RecordSummary:
    """The lead or deal a ``lead.*`` or ``deal.*`` event is about (``code``, ``status``: ints)."""

    id: str | None = None
    code: int | None = None
    title: str | None = None
    status: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class WebhookEvent:
    """One verified webhook event: its key, its payload as sent, and typed views of it.

    ``payload`` keeps every field, known or not; ``message``, ``chat_id``, ``lead`` and
    ``deal`` are the decoded parts the payload has (``None`` when it has not).
    """

    event_key: WebhookEventKey
    payload: dict[str, Any] = attrs.field(repr=False)
    message: Message | None = attrs.field(default=None, repr=False)
    chat_id: str | None = None
    lead: RecordSummary | None = None
    deal: RecordSummary | None = None
