"""Keep the emulator's chats in memory, ordered and pre-serialized so pages are cheap."""

from __future__ import annotations

import bisect
import functools
import gc
import operator
import random
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import attrs
import orjson

from ._chat_state import (
    INBOUND_CANCEL_DESCRIPTION,
    ChatRecord,
    People,
    new_record,
    now_stamp,
    scheduled_message,
    tomorrow_stamp,
)
from ._crm_state import Crm
from ._history import JSON, format_timestamp, generate_history, new_uuid, new_wamid

MEDIA_TYPES: Final = frozenset({"image", "video", "audio", "document"})
# The actor recorded on reactions sent through the API; a new one replaces the previous
# one on the same message, as WhatsApp keeps one reaction per reactor.
API_ACTOR: Final = "API"
_SEARCH_CACHE_SIZE: Final = 8
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_entry_key = operator.attrgetter("key")


@functools.lru_cache(maxsize=16_384)
def fold(text: str) -> str:
    """Fold ``text`` for searching: case-insensitive and accent-insensitive."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def to_micros(moment: datetime) -> int:
    """Convert an aware datetime to epoch microseconds without float rounding."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("event_at must be timezone-aware, e.g. datetime.now(timezone.utc)")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@attrs.frozen
class Upload:
    """A file received in a multipart send."""

    data: bytes
    content_type: str
    file_name: str


@attrs.frozen
class SendRequest:
    """A validated send: what ``POST /chats/{id}/messages`` asked for."""

    type: str
    body: str | None = None
    reference_wamid: str | None = None
    template: JSON | None = None
    template_fields: list[Any] | None = None
    upload: Upload | None = None


class Entry:
    """One timeline event: its sort key, its JSON bytes and what search and lookups need."""

    __slots__ = ("blob", "folded", "key", "searched")

    def __init__(self, key: tuple[int, str], blob: bytes, searched: str) -> None:
        self.key = key
        self.blob = blob
        self.searched = searched
        self.folded: str | None = None

    def matches(self, needle: str) -> bool:
        """Tell whether the folded ``needle`` occurs in what ``search`` looks at."""
        if self.folded is None:
            self.folded = fold(self.searched)
        return needle in self.folded


def searched_text(message: JSON) -> str:
    """Return what ``search`` matches in a message: its text and its media's file name.

    The docs say "by title, or by code when numeric"; a substring of the text or the file
    name covers both, so "Proposta Comercial nº 19615.pdf" is found by ``19615``.
    """
    media = message.get("media") or {}
    pieces = (message.get("body_text"), media.get("file_name"))
    return "\n".join(piece for piece in pieces if isinstance(piece, str))


class Chat:
    """One chat's timeline, sorted by ``(event_at, event id)``."""

    def __init__(self, chat_id: str) -> None:
        self.id = chat_id
        self.entries: list[Entry] = []
        self.by_wamid: dict[str, Entry] = {}
        self._searches: dict[str, tuple[int, list[Entry]]] = {}
        self._version = 0

    def insert(self, micros: int, event: JSON) -> Entry:
        """Store ``event`` at its place in time and index its message's wamid."""
        message = event.get("message") or {}
        entry = Entry((micros, event["id"]), _dumps(event), searched_text(message))
        entries = self.entries
        if not entries or entries[-1].key < entry.key:
            entries.append(entry)
        else:
            entries.insert(bisect.bisect_right(entries, entry.key, key=_entry_key), entry)
        wamid = (message.get("content_payload") or {}).get("wamid")
        if wamid is not None:
            self.by_wamid[wamid] = entry
        self._version += 1
        return entry

    def last_micros(self) -> int | None:
        """Return the time of the newest event, if any."""
        return self.entries[-1].key[0] if self.entries else None

    def update_message(self, entry: Entry, message: JSON) -> None:
        """Replace the message of ``entry`` and refresh its cached bytes."""
        event = orjson.loads(entry.blob)
        event["message"] = message
        entry.blob = _dumps(event)

    def page(self, *, skip: int, take: int, descending: bool, search: str | None) -> bytes:
        """Render one page of the timeline as the response body."""
        entries = self._matching(fold(search)) if search else self.entries
        total = len(entries)
        if descending:
            stop = max(total - skip, 0)
            chosen = entries[max(stop - take, 0) : stop][::-1]
        else:
            chosen = entries[skip : skip + take]
        records = b",".join([entry.blob for entry in chosen])
        return b'{"total":%d,"records":[%s]}' % (total, records)

    def _matching(self, needle: str) -> list[Entry]:
        # Pagers repeat the same search page after page; reuse the match list until the
        # timeline changes.
        cached = self._searches.get(needle)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        found = [entry for entry in self.entries if entry.matches(needle)]
        if len(self._searches) >= _SEARCH_CACHE_SIZE:
            self._searches.clear()
        self._searches[needle] = (self._version, found)
        return found


class Store:
    """Hold every chat and uploaded file of one emulator."""

    def __init__(self) -> None:
        self.chats: dict[str, Chat] = {}
        self.media: dict[str, Upload] = {}
        self._rng = random.Random()  # noqa: S311 - ids only need to be unique, not secret
        # The chat routes beyond send and timeline (``_routes_chats.py``).
        self.records: dict[str, ChatRecord] = {}
        self.people = People(self._rng)
        self.scheduled: dict[str, JSON] = {}
        # Leads, deals and proposals (``_routes_crm.py``).
        self.crm = Crm(self._rng, self.people)
        # Told of each message sent through the API (the emulator's webhooks listen).
        self.on_sent: Callable[[str, JSON], None] | None = None

    def _sent(self, chat: Chat, message: JSON) -> None:
        if self.on_sent is not None:
            self.on_sent(chat.id, message)

    def record(self, chat: Chat) -> ChatRecord:
        """Return the chat's own fields, made up on first use for a chat seeded without them."""
        record = self.records.get(chat.id)
        if record is None:
            record = self.records[chat.id] = new_record(chat.id, self._rng)
        return record

    def schedule(
        self,
        chat: Chat,
        *,
        text: str | None,
        template: str | None,
        language: str,
        scheduled_at: datetime | None,
        cancel_on_inbound: bool,
    ) -> str:
        """Store a PENDING scheduled message for ``chat`` and return its id."""
        if template is not None:
            payload: JSON = {
                "type": "template",
                "template": {"name": template, "language": language},
                "template_fields": [],
            }
        else:
            payload = {"type": "text", "body": text or "Lembrete: sua reunião é amanhã às 10h"}
        when = (
            tomorrow_stamp() if scheduled_at is None else format_timestamp(to_micros(scheduled_at))
        )
        message = scheduled_message(chat.id, self._rng, payload, when, cancel_on_inbound)
        self.scheduled[message["id"]] = message
        return str(message["id"])

    def cancel_on_inbound(self, chat: Chat) -> None:
        """Cancel ``chat``'s PENDING scheduled messages that asked to be canceled by a reply."""
        stamp = now_stamp()
        for message in self.scheduled.values():
            if (
                message["chat_id"] == chat.id
                and message["status"] == "PENDING"
                and message["cancel_on_inbound"]
            ):
                message["status"] = "CANCELED"
                message["cancel_reason_description"] = INBOUND_CANCEL_DESCRIPTION
                message["canceled_at"] = message["updated_at"] = stamp

    def send_content(
        self, chat: Chat, kind: str, *, body: str | None, payload: JSON, reply_to: str | None
    ) -> JSON:
        """Store a message of its own route (location, interactive) and return it."""
        micros = self._next_micros(chat)
        message = self._message(kind, format_timestamp(micros), body=body)
        message["content_payload"].update(payload)
        target = self._target(chat, reply_to)
        if target is not None:
            message["quoted_message"] = _without_quote(target[1])
            message["content_payload"]["context"] = {"message_id": reply_to}
        self._append(chat, micros, message)
        self._sent(chat, message)
        return message

    def create_chat(self, events: int, seed: int | None) -> str:
        """Create a chat with ``events`` generated events and return its id."""
        rng = random.Random(seed)  # noqa: S311 - deterministic fake data on purpose
        chat_id = new_uuid(rng)
        if chat_id in self.chats:
            raise ValueError(f"a chat from seed={seed!r} already exists: use another seed")
        chat = Chat(chat_id)
        # The cyclic GC would rescan the growing timeline over and over while it is built
        # (a quarter of the time for 200,000 events); nothing here creates cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for micros, event in generate_history(rng, events):
                chat.insert(micros, event)
        finally:
            if collecting:
                gc.enable()
        self.chats[chat_id] = chat
        return chat_id

    def chat(self, chat_id: str) -> Chat:
        """Return the chat with this id or raise ``ValueError``."""
        try:
            return self.chats[chat_id.lower()]
        except KeyError:
            raise ValueError(f"unknown chat id {chat_id!r}: create it with create_chat()") from None

    def add_message(
        self, chat: Chat, text: str, *, from_me: bool, event_at: datetime | None
    ) -> JSON:
        """Insert a text message event (inbound unless ``from_me``) and return the event."""
        micros = self._next_micros(chat) if event_at is None else to_micros(event_at)
        stamp = format_timestamp(micros)
        message = self._message("text", stamp, body=text)
        if not from_me:
            message.update(origin="INBOUND", from_me=False, sent_via="CONTACT", status="read")
        else:
            message.update(sent_via="AGENT", status="sent")
        return self._append(chat, micros, message)

    def send(self, chat: Chat, request: SendRequest, base_url: str) -> JSON:
        """Store what the API was asked to send and return the created message."""
        micros = self._next_micros(chat)
        stamp = format_timestamp(micros)
        target = self._target(chat, request.reference_wamid)
        message = self._message(request.type, stamp, body=_body_text(request))
        payload = message["content_payload"]
        if target is not None:
            message["quoted_message"] = _without_quote(target[1])
            payload["context"] = {"message_id": request.reference_wamid}
        if request.template is not None:
            payload["template"] = request.template
            payload["template_fields"] = request.template_fields or []
        if request.upload is not None:
            message["media"] = self._save_upload(request.upload, base_url)
        if request.type == "reaction" and target is not None:
            payload["reaction"] = {"emoji": request.body, "message_id": request.reference_wamid}
            self._react(chat, target, request.body or "", stamp)
        self._append(chat, micros, message)
        self._sent(chat, message)
        return message

    def _target(self, chat: Chat, wamid: str | None) -> tuple[Entry, JSON] | None:
        entry = chat.by_wamid.get(wamid) if wamid else None
        if entry is None:
            return None
        message: JSON = orjson.loads(entry.blob)["message"]
        return entry, message

    def _react(self, chat: Chat, target: tuple[Entry, JSON], emoji: str, stamp: str) -> None:
        entry, message = target
        kept = [r for r in message.get("reactions") or [] if r.get("actor") != API_ACTOR]
        reaction = {
            "id": new_uuid(self._rng),
            "emoji": emoji,
            "actor": API_ACTOR,
            "reactor_wa_id": None,
            "reactor_user_id": None,
            "created_at": stamp,
        }
        message["reactions"] = [*kept, reaction]
        chat.update_message(entry, message)

    def _save_upload(self, upload: Upload, base_url: str) -> JSON:
        media_id = new_uuid(self._rng)
        self.media[media_id] = upload
        return {
            "id": media_id,
            "mime_type": upload.content_type,
            "file_name": upload.file_name,
            "is_downloaded": True,
            "url": f"{base_url}/media/{media_id}",
        }

    def _next_micros(self, chat: Chat) -> int:
        # Millisecond precision like the real API; never before the newest event, so a
        # message sent now always lands at the end of an ascending timeline.
        now = time.time_ns() // 1_000_000 * 1_000
        last = chat.last_micros()
        return now if last is None or now > last else last + 1_000

    def _message(self, kind: str, stamp: str, *, body: str | None) -> JSON:
        return {
            "id": new_uuid(self._rng),
            "type": kind,
            "origin": "OUTBOUND",
            "from_me": True,
            "sent_via": "API",
            "status": "processing",
            "body_text": body,
            "content_payload": {"wamid": new_wamid(self._rng)},
            "reactions": [],
            "meta_timestamp": stamp,
            "created_at": stamp,
            "is_history": False,
            "history_phase": None,
            "history_chunk_order": None,
            "history_progress": None,
            "is_media_placeholder": False,
            "agent": None,
            "user": None,
            "media": None,
            "call": None,
            "quoted_message": None,
            "crm_marketing_lead_source": [],
        }

    def _append(self, chat: Chat, micros: int, message: JSON) -> JSON:
        event = {
            "id": new_uuid(self._rng),
            "event_type": "MESSAGE",
            "event_at": message["meta_timestamp"],
            "message": message,
        }
        chat.insert(micros, event)
        return event


def _without_quote(message: JSON) -> JSON:
    """Copy a message for ``quoted_message``: quotes do not nest."""
    return {key: value for key, value in message.items() if key != "quoted_message"}


def _body_text(request: SendRequest) -> str | None:
    """Render what the timeline shows as a sent message's text."""
    if request.template is not None:
        return f"[template {request.template['name']}/{request.template['language']}]"
    return request.body or None


def _dumps(event: JSON) -> bytes:
    # orjson keeps its whole growth buffer alive inside the bytes it returns (about 8 KiB
    # for a 1 KiB event); an exact copy keeps a 200,000-event chat at a few hundred MB.
    return memoryview(orjson.dumps(event)).tobytes()
