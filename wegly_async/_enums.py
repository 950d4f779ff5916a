"""String enums that keep unlisted values, so a new server value never breaks a client."""

from __future__ import annotations

import enum
from typing import Self

__all__ = [
    "CallDirection",
    "CallStatus",
    "CancelReason",
    "ChatStatus",
    "ChatType",
    "EventType",
    "MessageKind",
    "MessageOrigin",
    "MessageStatus",
    "MessageType",
    "OpenStrEnum",
    "Order",
    "ReactionActor",
    "ScheduledMessageStatus",
    "SentVia",
    "WebhookEventKey",
]

# Unknown values are cached so repeated ones are the same object; the cap keeps a
# misbehaving server from growing the cache without bound.
_MAX_CACHED_UNKNOWN = 256


class OpenStrEnum(enum.StrEnum):
    """A ``StrEnum`` that accepts values it does not list and keeps them as they are."""

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        cache = cls._value2member_map_
        if len(cache) < len(cls.__members__) + _MAX_CACHED_UNKNOWN:
            cache.setdefault(value, member)
        return member

    @property
    def is_known(self) -> bool:
        """Return whether this value is one the SDK lists."""
        return self._name_ in type(self).__members__


class MessageType(OpenStrEnum):
    """What kind of message it is (the send route accepts the listed ones)."""

    TEXT = "text"
    REACTION = "reaction"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    TEMPLATE = "template"
    # Sent through their own routes (send_location, send_buttons / send_list).
    LOCATION = "location"
    INTERACTIVE = "interactive"


class MessageOrigin(OpenStrEnum):
    """Whether a message came in from the contact or went out to them."""

    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class SentVia(OpenStrEnum):
    """Which side or channel sent a message."""

    CONTACT = "CONTACT"


class MessageStatus(OpenStrEnum):
    """Where a message is in its delivery (``processing`` right after a send)."""

    PROCESSING = "processing"
    SENT = "sent"
    # WhatsApp's later delivery states; not in Wegly's docs yet, listed for convenience.
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class ReactionActor(OpenStrEnum):
    """Who reacted to a message."""

    CONTACT = "CONTACT"


class EventType(OpenStrEnum):
    """What kind of event a timeline entry is."""

    MESSAGE = "MESSAGE"
    # API.md: calls appear in the timeline too; the exact value is undocumented.
    CALL = "CALL"


class CallStatus(OpenStrEnum):
    """How a call ended."""

    COMPLETED = "COMPLETED"


class CallDirection(OpenStrEnum):
    """Whether a call came in or went out."""

    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class ChatStatus(OpenStrEnum):
    """Where a chat stands (the docs show ``OPEN`` only)."""

    OPEN = "OPEN"


class ChatType(OpenStrEnum):
    """Whether a chat is with one contact or a group (the docs show ``INDIVIDUAL`` only)."""

    INDIVIDUAL = "INDIVIDUAL"


class ScheduledMessageStatus(OpenStrEnum):
    """Where a scheduled message is: waiting, sent, canceled or failed."""

    PENDING = "PENDING"
    # Not in the docs, which show the first value only; implied by sent_at, canceled_at
    # and failure_reason, listed for convenience.
    SENT = "SENT"
    CANCELED = "CANCELED"
    FAILED = "FAILED"


class MessageKind(OpenStrEnum):
    """What a scheduled message will be sent as (the docs show ``OPEN_MESSAGE`` only)."""

    OPEN_MESSAGE = "OPEN_MESSAGE"


class CancelReason(OpenStrEnum):
    """Why a scheduled message was canceled (the docs show ``USER_REQUEST`` only)."""

    USER_REQUEST = "USER_REQUEST"


class Order(enum.StrEnum):
    """The order a timeline is read in, by ``meta_timestamp``."""

    ASC = "asc"
    DESC = "desc"


class WebhookEventKey(OpenStrEnum):
    """What a webhook event reports; the list is open (API.md: more keys exist)."""

    LEAD_CREATED = "lead.created"
    LEAD_UPDATED = "lead.updated"
    LEAD_STAGE_CHANGED = "lead.stage_changed"
    LEAD_WON = "lead.won"
    LEAD_LOST = "lead.lost"
    LEAD_TAG_ADDED = "lead.tag_added"
    LEAD_TAG_REMOVED = "lead.tag_removed"
    LEAD_CUSTOM_FIELD_UPDATED = "lead.custom_field_updated"
    LEAD_CUSTOM_FIELD_REMOVED = "lead.custom_field_removed"
    LEAD_QUALITY_UPDATED = "lead.quality_updated"
    DEAL_CREATED = "deal.created"
    DEAL_UPDATED = "deal.updated"
    DEAL_STAGE_CHANGED = "deal.stage_changed"
    DEAL_WON = "deal.won"
    DEAL_LOST = "deal.lost"
    DEAL_TAG_ADDED = "deal.tag_added"
    DEAL_TAG_REMOVED = "deal.tag_removed"
    DEAL_CUSTOM_FIELD_UPDATED = "deal.custom_field_updated"
    DEAL_CUSTOM_FIELD_REMOVED = "deal.custom_field_removed"
    DEAL_QUALITY_UPDATED = "deal.quality_updated"
    CHAT_MESSAGE_SENT = "chat.message_sent"
    CHAT_MESSAGE_RECEIVED = "chat.message_received"
