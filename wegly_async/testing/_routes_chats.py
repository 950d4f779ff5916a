"""The emulator's chat routes beyond send and timeline (API.md 4.1-4.8), beside the store."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

import orjson
from aiohttp import web

from .._constants import (
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_CHOICE_ID,
    MAX_INTERACTIVE_BODY,
    MAX_LIST_BUTTON,
    MAX_LIST_ROWS,
    MAX_LIST_SECTIONS,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    MAX_SECTION_TITLE,
)
from ._app import _BODY, _JSON, _UUID_RE, PREFIX, ApiError, ServerState, _Routes
from ._chat_state import ChatRecord, Person, now_stamp
from ._history import JSON
from ._store import Chat, SendRequest

__all__ = ["add_chat_routes"]

_SCHEDULED_TYPES: Final = ("text", "template")


def add_chat_routes(app: web.Application, state: ServerState) -> None:
    """Register the chat routes of ``ChatRoutes`` on the emulator's application."""
    routes = ChatRoutes(state)
    chats = PREFIX + "/chats"
    app.router.add_post(chats, routes.create)
    app.router.add_get(chats + "/notifications/unread", routes.unread)
    app.router.add_get(chats + "/{chat_id}", routes.get)
    app.router.add_post(chats + "/{chat_id}/messages/location", routes.location)
    app.router.add_post(chats + "/{chat_id}/messages/interactive", routes.interactive)
    app.router.add_delete(chats + "/{chat_id}/participants/{user_id}", routes.remove_participant)
    app.router.add_patch(chats + "/{chat_id}/responsible", routes.set_responsible)
    app.router.add_patch(
        chats + "/{chat_id}/scheduled-messages/{scheduled_id}", routes.update_scheduled
    )


def _answer(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type=_JSON)


def _object() -> dict[str, Any]:
    body = _BODY.get()
    if body.error is not None:
        raise ApiError(body.error_status, body.error)
    if not isinstance(body.json, dict):
        raise ApiError(400, "send a JSON object")
    return body.json


def _uuid(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise ApiError(400, f"{name} must be a UUID, got {value!r}")
    return value.lower()


def _optional_uuid(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None else _uuid(value, name)


def _text(value: Any, name: str, *, max_length: int | None = None, required: bool = True) -> Any:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name} must be a non-empty string")
    if max_length is not None and len(value) > max_length:
        raise ApiError(400, f"{name} must be at most {max_length} characters")
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be a boolean")
    return value


def _coordinate(value: Any, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"{name} must be a number")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ApiError(400, f"{name} must be from {-limit:g} to {limit:g}")
    return float(value)


def _template(body: dict[str, Any]) -> tuple[JSON, list[Any]]:
    template = body.get("template")
    if not isinstance(template, dict):
        raise ApiError(400, "template is required: {name, language}")
    name = _text(template.get("name"), "template.name")
    language = _text(template.get("language"), "template.language")
    return {"name": name, "language": language}, _template_fields(body)


def _template_fields(body: dict[str, Any]) -> list[Any]:
    fields = body.get("template_fields") or []
    if not isinstance(fields, list) or not all(isinstance(item, dict) for item in fields):
        raise ApiError(400, "template_fields must be a list of objects")
    return fields


def _choices(items: Any, name: str, title_length: int, *, described: bool = False) -> list[JSON]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ApiError(400, f"{name} must be a list of objects")
    for item in items:
        _text(item.get("id"), f"{name}[].id", max_length=MAX_CHOICE_ID)
        _text(item.get("title"), f"{name}[].title", max_length=title_length)
        if described:
            _text(
                item.get("description"),
                f"{name}[].description",
                max_length=MAX_ROW_DESCRIPTION,
                required=False,
            )
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ApiError(400, f"{name} ids must be unique")
    return items


def _action(kind: Any, action: Any) -> JSON:
    if not isinstance(action, dict):
        raise ApiError(400, "action must be an object")
    if kind == "button":
        buttons = _choices(action.get("buttons"), "action.buttons", MAX_BUTTON_TITLE)
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            raise ApiError(400, f"action.buttons must hold 1 to {MAX_BUTTONS} buttons")
        return {"buttons": buttons}
    if kind != "list":
        raise ApiError(400, f"interactive_type must be 'button' or 'list', got {kind!r}")
    button = _text(action.get("button"), "action.button", max_length=MAX_LIST_BUTTON)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise ApiError(400, f"action.sections must hold 1 to {MAX_LIST_SECTIONS} sections")
    rows: list[JSON] = []
    for section in sections:
        if not isinstance(section, dict):
            raise ApiError(400, "action.sections must be a list of objects")
        _text(section.get("title"), "action.sections[].title", max_length=MAX_SECTION_TITLE)
        rows += _choices(section.get("rows"), "rows", MAX_ROW_TITLE, described=True)
    if not 1 <= len(rows) <= MAX_LIST_ROWS:
        raise ApiError(400, f"a list must hold 1 to {MAX_LIST_ROWS} rows in all")
    _choices(rows, "rows", MAX_ROW_TITLE)
    return {"button": button, "sections": sections}


def _timestamp(value: Any, name: str) -> str:
    if isinstance(value, str):
        try:
            if datetime.fromisoformat(value).tzinfo is not None:
                return value
        except ValueError:
            pass
    raise ApiError(400, f"{name} must be an ISO-8601 date-time with its offset, got {value!r}")


class ChatRoutes(_Routes):
    """The handlers of the chat routes, bound to one emulator's state."""

    def _last_message(self, chat: Chat) -> JSON | None:
        if not chat.entries:
            return None
        message: JSON | None = orjson.loads(chat.entries[-1].blob).get("message")
        return message

    def _person(self, user_id: str) -> Person:
        person = self.state.store.people.by_user(user_id)
        if person is None:
            raise ApiError(404, f"user {user_id} not found")
        return person

    async def create(self, request: web.Request) -> web.Response:
        """Answer ``POST /chats``: open a chat whose timeline starts with the template."""
        body = _object()
        store = self.state.store
        record = ChatRecord(
            id="",
            wa_contact_id=_text(body.get("wa_contact_id"), "wa_contact_id"),
            phone_number_id=_uuid(body.get("whatsapp_phone_id"), "whatsapp_phone_id"),
            created_at=now_stamp(),
            remote_profile_name=_text(
                body.get("remote_profile_name"), "remote_profile_name", required=False
            ),
            status=_text(body.get("status"), "status", required=False) or "OPEN",
            person_contact_id=_optional_uuid(body, "person_contact_id"),
            crm_person_id=_optional_uuid(body, "crm_person_id"),
        )
        template, fields = _template(body)
        agent_id = _optional_uuid(body, "assigned_agent_id")
        agent = None if agent_id is None else store.people.by_agent(agent_id)
        if agent_id is not None and agent is None:
            raise ApiError(404, f"agent {agent_id} not found")
        chat = store.chats[store.create_chat(0, None)]
        record.id = chat.id
        record.assign(agent)
        store.records[chat.id] = record
        send = SendRequest("template", template=template, template_fields=fields)
        store.send(chat, send, str(request.url.origin()))
        return _answer(record.detail(self._last_message(chat)), 201)

    async def get(self, request: web.Request) -> web.Response:
        """Answer ``GET /chats/{id}`` with the chat and its last message."""
        chat = self._chat(request)
        return _answer(self.state.store.record(chat).detail(self._last_message(chat)))

    async def unread(self, request: web.Request) -> web.Response:
        """Answer ``GET /chats/notifications/unread`` with the counts over every chat."""
        counts = [record.unread_count for record in self.state.store.records.values()]
        return _answer(
            {
                "unread_messages_total": sum(counts),
                "unread_chats_total": sum(count > 0 for count in counts),
            }
        )

    async def location(self, request: web.Request) -> web.Response:
        """Answer ``POST /chats/{id}/messages/location``: store the pin, echo the message."""
        chat = self._chat(request)
        body = _object()
        location = {
            "latitude": _coordinate(body.get("latitude"), "latitude", 90),
            "longitude": _coordinate(body.get("longitude"), "longitude", 180),
            "name": _text(body.get("name"), "name", required=False),
            "address": _text(body.get("address"), "address", required=False),
        }
        return self._send(chat, "location", location["name"], {"location": location}, body)

    async def interactive(self, request: web.Request) -> web.Response:
        """Answer ``POST /chats/{id}/messages/interactive``: buttons or a list."""
        chat = self._chat(request)
        body = _object()
        kind = body.get("interactive_type")
        text_body = body.get("body")
        if not isinstance(text_body, dict):
            raise ApiError(400, "body must be an object: {text}")
        text = _text(text_body.get("text"), "body.text", max_length=MAX_INTERACTIVE_BODY)
        interactive = {
            "type": kind,
            "body": {"text": text},
            "action": _action(kind, body.get("action")),
        }
        return self._send(chat, "interactive", text, {"interactive": interactive}, body)

    def _send(
        self, chat: Chat, kind: str, text: str | None, payload: JSON, body: dict[str, Any]
    ) -> web.Response:
        reply_to = _text(body.get("reference_wamid"), "reference_wamid", required=False)
        store = self.state.store
        message = store.send_content(chat, kind, body=text, payload=payload, reply_to=reply_to)
        return _answer({"total": 1, "records": [message]}, 201)

    async def remove_participant(self, request: web.Request) -> web.Response:
        """Answer ``DELETE /chats/{id}/participants/{userId}``: 404 unless a participant."""
        chat = self._chat(request)
        user_id = _uuid(request.match_info["user_id"], "userId")
        record = self.state.store.record(chat)
        if not record.remove(self._person(user_id)):
            raise ApiError(404, f"user {user_id} is not a participant of chat {chat.id}")
        return _answer(record.summary(self._last_message(chat)))

    async def set_responsible(self, request: web.Request) -> web.Response:
        """Answer ``PATCH /chats/{id}/responsible``: assign the chat to the user's agent."""
        chat = self._chat(request)
        body = _object()
        person = self._person(_uuid(body.get("user_id"), "user_id"))
        update_chat = _flag(body, "update_chat", True)
        for name in ("update_leads", "update_deals"):
            _flag(body, name, False)
        record = self.state.store.record(chat)
        if update_chat:
            record.assign(person)
        return _answer(record.summary(self._last_message(chat)))

    async def update_scheduled(self, request: web.Request) -> web.Response:
        """Answer ``PATCH /chats/{id}/scheduled-messages/{sid}``: change what was given."""
        chat = self._chat(request)
        scheduled_id = _uuid(request.match_info["scheduled_id"], "scheduledMessageId")
        scheduled = self.state.store.scheduled.get(scheduled_id)
        if scheduled is None or scheduled["chat_id"] != chat.id:
            raise ApiError(404, f"scheduled message {scheduled_id} not found in chat {chat.id}")
        changes, files = _scheduled_body()
        if not changes and not files:
            raise ApiError(400, "nothing to change: send at least one field")
        updated = _scheduled_changes(scheduled, changes)
        if files or "replace_files" in changes or "files" in scheduled["payload"]:
            updated["payload"]["files"] = _files(scheduled, changes, files)
        updated["updated_at"] = now_stamp()
        self.state.store.scheduled[scheduled_id] = updated
        return _answer(updated)


def _scheduled_body() -> tuple[dict[str, Any], list[JSON]]:
    """Return a scheduled-message update's fields and files, from JSON or multipart."""
    body = _BODY.get()
    if not body.parts:
        return _object(), []
    changes: dict[str, Any] = {}
    files: list[JSON] = []
    for part in body.parts:
        if part.name == "file":
            if not part.data:
                raise ApiError(400, "a 'file' part is empty")
            mime = part.content_type or "application/octet-stream"
            files.append({"file_name": part.filename, "mime_type": mime, "size": len(part.data)})
            continue
        try:
            text = part.text
        except UnicodeDecodeError:
            raise ApiError(400, "multipart text parts must be UTF-8") from None
        changes[part.name] = _form_value(part.name, text)
    return changes, files


# Text parts that carry JSON values (API.md 4.8: booleans as true/false, objects as JSON).
_JSON_PARTS: Final = ("cancel_on_inbound", "replace_files", "template", "template_fields")


def _form_value(name: str, text: str) -> Any:
    if name not in _JSON_PARTS:
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ApiError(400, f"the {name} part must be JSON, got {text!r}") from None


def _files(scheduled: JSON, changes: dict[str, Any], files: list[JSON]) -> list[JSON]:
    replace = _flag(changes, "replace_files", False)
    if files and "replace_files" not in changes:
        raise ApiError(400, "send replace_files with the files")
    kept = [] if replace else list(scheduled["payload"].get("files") or [])
    return kept + files


def _scheduled_changes(scheduled: JSON, changes: dict[str, Any]) -> JSON:
    """Return ``scheduled`` with ``changes`` applied, checked like the API would."""
    updated = dict(scheduled)
    payload = dict(scheduled["payload"])
    if "scheduled_at" in changes:
        updated["scheduled_at"] = _timestamp(changes["scheduled_at"], "scheduled_at")
    if "cancel_on_inbound" in changes:
        updated["cancel_on_inbound"] = _flag(changes, "cancel_on_inbound", False)
    kind = changes.get("type", payload.get("type"))
    if kind not in _SCHEDULED_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(_SCHEDULED_TYPES)}, got {kind!r}")
    if kind == "text":
        if "template" in changes:
            raise ApiError(400, "template is only accepted with type=template")
        if "type" in changes or "body" in changes:
            payload = {"type": "text", "body": _text(changes.get("body"), "body")}
        if "template_fields" in changes:
            raise ApiError(400, "template_fields need a template message")
    elif "type" in changes or "template" in changes:
        template, fields = _template(changes)
        payload = {"type": "template", "template": template, "template_fields": fields}
    elif "template_fields" in changes:
        payload["template_fields"] = _template_fields(changes)
    if "reference_wamid" in changes:
        payload["reference_wamid"] = _text(changes["reference_wamid"], "reference_wamid")
    elif "reference_wamid" in scheduled["payload"]:
        payload["reference_wamid"] = scheduled["payload"]["reference_wamid"]
    updated["payload"] = payload
    updated["message_kind"] = "TEMPLATE" if kind == "template" else "OPEN_MESSAGE"
    return updated
