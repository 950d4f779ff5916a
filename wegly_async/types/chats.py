"""Models of the chat routes: messages, what they carry, and what sending answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .._enums import (
    CallDirection,
    CallStatus,
    MessageOrigin,
    MessageStatus,
    MessageType,
    ReactionActor,
    SentVia,
)
from .._validation import check_int, check_str, check_text
from .shared import Agent, User

__all__ = ["Call", "Media", "Message", "Reaction", "SendResult", "TemplateField"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Media:
    """A file attached to a message."""

    id: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    is_downloaded: bool | None = None
    url: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Call:
    """A voice call recorded in the timeline."""

    id: str | None = None
    status: CallStatus | None = None
    direction: CallDirection | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    recording_processed: bool | None = None
    recording_available: bool | None = None
    has_recording: bool | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Reaction:
    """An emoji reaction to a message."""

    id: str | None = None
    emoji: str | None = None
    actor: ReactionActor | None = None
    reactor_wa_id: str | None = None
    reactor_user_id: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Message:
    """A WhatsApp message in a chat, in the full or the reduced shape the API sends."""

    id: str
    type: MessageType | None = None
    origin: MessageOrigin | None = None
    from_me: bool | None = None
    sent_via: SentVia | None = None
    status: MessageStatus | None = None
    body_text: str | None = None
    content_payload: dict[str, Any] | None = None
    reactions: list[Reaction] = attrs.Factory(list)
    meta_timestamp: datetime | None = None
    created_at: datetime | None = None
    is_history: bool | None = None
    history_phase: int | None = None
    history_chunk_order: int | None = None
    history_progress: int | None = None
    is_media_placeholder: bool | None = None
    agent: Agent | None = None
    user: User | None = None
    media: Media | None = None
    call: Call | None = None
    quoted_message: Message | None = None
    crm_marketing_lead_source: list[dict[str, Any]] = attrs.Factory(list)


@attrs.frozen(kw_only=True, weakref_slot=False)
class SendResult:
    """What the send route answers: the message or messages it created."""

    total: int
    records: list[Message]


def _non_empty_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_text(value, f"TemplateField.{attribute.name}")


def _optional_index(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_int(value, f"TemplateField.{attribute.name}", minimum=0)


def _str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_str(value, f"TemplateField.{attribute.name}")


@attrs.frozen
class TemplateField:
    """A value for one placeholder of a template (e.g. ``BODY`` text ``{{1}}``)."""

    component: str = attrs.field(validator=_non_empty_str)
    type: str = attrs.field(validator=_non_empty_str)
    index: int | None = attrs.field(default=None, validator=_optional_index)
    button_index: int | None = attrs.field(default=None, validator=_optional_index)
    card_index: int | None = attrs.field(default=None, validator=_optional_index)
    value: str = attrs.field(kw_only=True, validator=_str)
