"""Models of the events Wegly pushes to a webhook subscriber."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from .._enums import WebhookEventKey
from .._errors import DecodeError, WebhookPayloadError
from .._responses import model_decoder
from .chats import Message

__all__ = ["RecordSummary", "WebhookEvent"]

T = TypeVar("T")


@attrs.frozen(kw_only=True, weakref_slot=False)
class RecordSummary:
    """The lead or deal a ``lead.*`` or ``deal.*`` event is about (``code``, ``status``: ints)."""

    id: str | None = None
    code: int | None = None
    title: str | None = None
    status: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_MESSAGE = model_decoder(Message)
_RECORD = model_decoder(RecordSummary)


@attrs.frozen(kw_only=True, weakref_slot=False)
class WebhookEvent:
    """One verified webhook event: its key, its payload as sent, and typed views of it.

    ``payload`` keeps every field, known or not; ``message``, ``chat_id``, ``lead`` and
    ``deal`` are the parts the payload has (``None`` when it has not), decoded from it on
    first access and then kept: a part that does not fit its type raises
    ``WebhookPayloadError`` there (``parse_event`` reads them all, so raises it at once).
    """

    event_key: WebhookEventKey
    payload: dict[str, Any] = attrs.field(repr=False)
    # The parts decoded so far, by name. Not functools.cached_property: on a slotted class
    # its first read raises and catches an AttributeError, which costs more than the decoding
    # it saves a handler that skips the part.
    _parts: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    @property
    def message(self) -> Message | None:
        """Return the payload's ``message`` as a ``Message``, decoded on first read.

        Raises:
            WebhookPayloadError: the payload's ``message`` does not fit ``Message``.
        """
        parts = self._parts
        return parts["message"] if "message" in parts else _part(self, "message", _MESSAGE)

    @property
    def chat_id(self) -> str | None:
        """Return the payload's ``chat_id``.

        Raises:
            WebhookPayloadError: the payload's ``chat_id`` is not a string.
        """
        chat_id = self.payload.get("chat_id")
        if chat_id is None or isinstance(chat_id, str):
            return chat_id
        raise WebhookPayloadError(f"payload.chat_id is not a string ({self.event_key})")

    @property
    def lead(self) -> RecordSummary | None:
        """Return the payload's ``lead`` as a ``RecordSummary``, decoded on first read.

        Raises:
            WebhookPayloadError: the payload's ``lead`` does not fit ``RecordSummary``.
        """
        parts = self._parts
        return parts["lead"] if "lead" in parts else _part(self, "lead", _RECORD)

    @property
    def deal(self) -> RecordSummary | None:
        """Return the payload's ``deal`` as a ``RecordSummary``, decoded on first read.

        Raises:
            WebhookPayloadError: the payload's ``deal`` does not fit ``RecordSummary``.
        """
        parts = self._parts
        return parts["deal"] if "deal" in parts else _part(self, "deal", _RECORD)


def _part(event: WebhookEvent, name: str, decode: Callable[[dict[str, Any]], T]) -> T | None:
    value = event.payload.get(name)
    if value is not None and not isinstance(value, dict):
        raise WebhookPayloadError(f"payload.{name} is not an object ({event.event_key})")
    try:
        decoded = None if value is None else decode(value)
    except DecodeError as exc:
        failure = exc
    else:
        event._parts[name] = decoded  # kept: read again, it is the same object
        return decoded
    # Outside the except block: the converter's error (which may quote the payload) stays
    # out of __context__, and only the reason is told.
    raise WebhookPayloadError(
        f"payload.{name} does not decode ({event.event_key}): {failure.reason}"
    )
