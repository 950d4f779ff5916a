"""Models of a chat's timeline: its events and the pages the pager yields."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._enums import EventType
from .chats import Message
from .pages import OffsetPage

__all__ = ["TimelineEvent", "TimelinePage"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class TimelineEvent:
    """One entry of a chat's timeline: a message or a call."""

    id: str
    event_type: EventType | None = None
    event_at: datetime | None = None
    message: Message | None = None


@attrs.frozen
class TimelinePage(OffsetPage[TimelineEvent]):
    """One page of a timeline, with the ``skip`` of its first new event and the ``take``."""
