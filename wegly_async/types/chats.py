"""Models of the chat routes: chats, messages, what they carry, and what sending answers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from .._constants import (
    MAX_BUTTON_TITLE,
    MAX_CHOICE_ID,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    MAX_SECTION_TITLE,
)
from .._enums import (
    CallDirection,
    CallStatus,
    CancelReason,
    ChatStatus,
    ChatType,
    MessageKind,
    MessageOrigin,
    MessageStatus,
    MessageType,
    ReactionActor,
    ScheduledMessageStatus,
    SentVia,
)
from .._validation import check_int, check_label, check_str, check_text
from .shared import Agent, User

__all__ = [
    "AssignedAgent",
    "Button",
    "Call",
    "Chat",
    "ListRow",
    "ListSection",
    "Media",
    "Message",
    "PhoneNumber",
    "Reaction",
    "ScheduledMessage",
    "SendResult",
    "TemplateField",
    "UnreadSummary",
]


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

    @property
    def wamid(self) -> str | None:
        """The message's WhatsApp id, to reply or react to it (None when the API gives none)."""
        wamid = (self.content_payload or {}).get("wamid")
        return wamid if isinstance(wamid, str) and wamid else None


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


def _label(max_length: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_label(value, f"{type(instance).__name__}.{attribute.name}", max_length)

    return check


@attrs.frozen
class Button:
    """A reply button: the ``id`` your bot gets back and the ``title`` the contact sees."""

    id: str = attrs.field(validator=_label(MAX_CHOICE_ID))
    title: str = attrs.field(validator=_label(MAX_BUTTON_TITLE))


def _optional_description(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_label(value, "ListRow.description", MAX_ROW_DESCRIPTION)


@attrs.frozen
class ListRow:
    """One choice of a list message, with an optional line of description."""

    id: str = attrs.field(validator=_label(MAX_CHOICE_ID))
    title: str = attrs.field(validator=_label(MAX_ROW_TITLE))
    description: str | None = attrs.field(default=None, validator=_optional_description)


def _rows(rows: Iterable[ListRow]) -> tuple[ListRow, ...]:
    if isinstance(rows, str | bytes) or not isinstance(rows, Iterable):
        raise TypeError(
            f"ListSection.rows must be a sequence of ListRow, got {type(rows).__name__}"
        )
    items = tuple(rows)
    for row in items:
        if not isinstance(row, ListRow):
            raise TypeError(f"ListSection.rows must hold ListRow objects, got {type(row).__name__}")
    if not items:
        raise ValueError("ListSection.rows must hold at least one ListRow")
    return items


@attrs.frozen
class ListSection:
    """A titled group of rows in a list message."""

    title: str = attrs.field(validator=_label(MAX_SECTION_TITLE))
    rows: tuple[ListRow, ...] = attrs.field(converter=_rows)


@attrs.frozen(kw_only=True, weakref_slot=False)
class PhoneNumber:
    """The company's WhatsApp number a chat runs on."""

    id: str | None = None
    display_number: str | None = None
    raw_number: str | None = None
    phone_number_id: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class AssignedAgent:
    """The agent responsible for a chat, with its user."""

    agent_id: str | None = None
    user: User | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Chat:
    """A conversation with one contact; detail and summary answers fill different fields."""

    id: str | None = None
    wa_contact_id: str | None = None
    remote_profile_name: str | None = None
    contact_name: str | None = None
    contact_number: str | None = None
    status: ChatStatus | None = None
    chat_type: ChatType | None = None
    unread_count: int | None = None
    is_manually_unread: bool | None = None
    priority: int | None = None
    archived_at: datetime | None = None
    assigned_agent_id: str | None = None
    phone_number: PhoneNumber | None = None
    assigned_agent: AssignedAgent | None = None
    last_message_at: datetime | None = None
    last_customer_msg_at: datetime | None = None
    # The end of WhatsApp's 24-hour service window: after it only templates may be sent.
    session_expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_message: Message | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnreadSummary:
    """How many inbound messages, and in how many chats, nobody has read yet."""

    unread_messages_total: int
    unread_chats_total: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class ScheduledMessage:
    """A message waiting to be sent into a chat at ``scheduled_at`` (or already handled)."""

    id: str
    chat_id: str | None = None
    company_id: str | None = None
    is_scheduled: bool | None = None
    status: ScheduledMessageStatus | None = None
    message_kind: MessageKind | None = None
    cancel_reason: CancelReason | None = None
    cancel_reason_description: str | None = None
    failure_reason: str | None = None
    cancel_on_inbound: bool | None = None
    scheduled_at: datetime | None = None
    processed_at: datetime | None = None
    sent_at: datetime | None = None
    canceled_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by_user_id: str | None = None
    sender_agent_id: str | None = None
    canceled_by_user_id: str | None = None
    # What will be sent: {type, body, template, template_fields, reference_wamid, ...}.
    payload: dict[str, Any] | None = None
