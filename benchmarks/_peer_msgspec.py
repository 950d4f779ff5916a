"""The timeline models as msgspec Structs (imported only when msgspec is installed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class User(msgspec.Struct):
    id: str | None = None
    name: str | None = None
    avatar: str | None = None


class Agent(msgspec.Struct):
    id: str | None = None
    user: User | None = None


class Media(msgspec.Struct):
    id: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    is_downloaded: bool | None = None
    url: str | None = None


class Call(msgspec.Struct):
    id: str | None = None
    status: str | None = None
    direction: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    recording_processed: bool | None = None
    recording_available: bool | None = None
    has_recording: bool | None = None


class Reaction(msgspec.Struct):
    id: str | None = None
    emoji: str | None = None
    actor: str | None = None
    reactor_wa_id: str | None = None
    reactor_user_id: str | None = None
    created_at: datetime | None = None


class Message(msgspec.Struct):
    id: str
    type: str | None = None
    origin: str | None = None
    from_me: bool | None = None
    sent_via: str | None = None
    status: str | None = None
    body_text: str | None = None
    content_payload: dict[str, Any] | None = None
    reactions: list[Reaction] | None = None
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
    crm_marketing_lead_source: list[dict[str, Any]] | None = None


class TimelineEvent(msgspec.Struct):
    id: str
    event_type: str | None = None
    event_at: datetime | None = None
    message: Message | None = None


class Page(msgspec.Struct):
    total: int
    records: list[TimelineEvent]
