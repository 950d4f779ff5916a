"""Bodies of the messages a chat accepts, checked before any request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ..._constants import (
    MAX_BUTTONS,
    MAX_INTERACTIVE_BODY,
    MAX_LIST_BUTTON,
    MAX_LIST_ROWS,
    MAX_LIST_SECTIONS,
)
from ..._enums import MessageType
from ..._transport import Multipart
from ..._uploads import FileInput, make_upload
from ..._validation import (
    check_coordinate,
    check_label,
    check_optional_text,
    check_text,
    check_uuid,
)
from ...types.chats import Button, ListRow, ListSection, TemplateField

__all__ = [
    "buttons_body",
    "check_template_fields",
    "list_body",
    "location_body",
    "media_body",
    "new_chat_body",
    "reaction_body",
    "template_body",
    "text_body",
]

T = TypeVar("T")


def text_body(body: str, reply_to: str | None) -> dict[str, Any]:
    """Return the JSON body of a text message."""
    return {
        "type": MessageType.TEXT,
        "body": check_text(body, "body"),
        "reference_wamid": check_optional_text(reply_to, "reply_to"),
    }


def reaction_body(emoji: str, reference_wamid: str) -> dict[str, Any]:
    """Return the JSON body of a reaction to the message ``reference_wamid``."""
    return {
        "type": MessageType.REACTION,
        "body": check_text(emoji, "emoji"),
        "reference_wamid": check_text(reference_wamid, "reference_wamid"),
    }


def template_body(name: str, language: str, fields: Iterable[TemplateField]) -> dict[str, Any]:
    """Return the JSON body of an approved template with its placeholders filled."""
    template_fields = check_template_fields(fields)
    return {
        "type": MessageType.TEMPLATE,
        "template": {
            "name": check_text(name, "name"),
            "language": check_text(language, "language"),
        },
        "template_fields": template_fields or None,
    }


def check_template_fields(fields: Iterable[TemplateField]) -> list[TemplateField]:
    """Return ``fields`` as a list when every one is a ``TemplateField``."""
    template_fields = list(fields)
    for field in template_fields:
        if not isinstance(field, TemplateField):
            raise TypeError(f"fields must be TemplateField objects, got {type(field).__name__}")
    return template_fields


def media_body(
    kind: MessageType,
    file: FileInput,
    *,
    caption: str | None,
    filename: str | None,
    mime_type: str | None,
    reply_to: str | None,
) -> Multipart:
    """Return the multipart body of a file message of type ``kind``."""
    fields = {"type": kind.value}
    if (text := check_optional_text(caption, "caption")) is not None:
        fields["body"] = text
    if (wamid := check_optional_text(reply_to, "reply_to")) is not None:
        fields["reference_wamid"] = wamid
    upload = make_upload(file, filename=filename, mime_type=mime_type)
    return Multipart(fields=fields, upload=upload)


def new_chat_body(
    *,
    whatsapp_phone_id: str,
    wa_contact_id: str,
    template: str,
    language: str,
    fields: Iterable[TemplateField],
    person_contact_id: str | None,
    remote_profile_name: str | None,
    crm_person_id: str | None,
    assigned_agent_id: str | None,
    status: str | None,
) -> dict[str, Any]:
    """Return the JSON body that opens a chat with a contact by sending a template."""
    body = template_body(template, language, fields)
    del body["type"]
    return {
        "whatsapp_phone_id": check_uuid(whatsapp_phone_id, "whatsapp_phone_id"),
        "wa_contact_id": check_text(wa_contact_id, "wa_contact_id"),
        **body,
        "person_contact_id": _optional_uuid(person_contact_id, "person_contact_id"),
        "remote_profile_name": check_optional_text(remote_profile_name, "remote_profile_name"),
        "crm_person_id": _optional_uuid(crm_person_id, "crm_person_id"),
        "assigned_agent_id": _optional_uuid(assigned_agent_id, "assigned_agent_id"),
        "status": check_optional_text(status, "status"),
    }


def location_body(
    latitude: float,
    longitude: float,
    name: str | None,
    address: str | None,
    reply_to: str | None,
) -> dict[str, Any]:
    """Return the JSON body of a location pin (API.md 4.3)."""
    return {
        "latitude": check_coordinate(latitude, "latitude", 90),
        "longitude": check_coordinate(longitude, "longitude", 180),
        "name": check_optional_text(name, "name"),
        "address": check_optional_text(address, "address"),
        "reference_wamid": check_optional_text(reply_to, "reply_to"),
    }


def buttons_body(text: str, buttons: Iterable[Button], reply_to: str | None) -> dict[str, Any]:
    """Return the JSON body of a message with 1-3 reply buttons (API.md 4.4)."""
    chosen = _items(buttons, Button, "buttons")
    if not 1 <= len(chosen) <= MAX_BUTTONS:
        raise ValueError(f"buttons must hold 1 to {MAX_BUTTONS} Button, got {len(chosen)}")
    _unique_ids(chosen, "button")
    return _interactive("button", text, {"buttons": chosen}, reply_to)


def list_body(
    text: str, button: str, sections: Iterable[ListSection], reply_to: str | None
) -> dict[str, Any]:
    """Return the JSON body of a list message: a button that opens titled sections of rows."""
    chosen = _items(sections, ListSection, "sections")
    if not 1 <= len(chosen) <= MAX_LIST_SECTIONS:
        raise ValueError(
            f"sections must hold 1 to {MAX_LIST_SECTIONS} ListSection, got {len(chosen)}"
        )
    rows = [row for section in chosen for row in section.rows]
    if len(rows) > MAX_LIST_ROWS:
        raise ValueError(f"a list holds at most {MAX_LIST_ROWS} rows in all, got {len(rows)}")
    _unique_ids(rows, "row")
    label = check_label(button, "button", MAX_LIST_BUTTON)
    return _interactive("list", text, {"button": label, "sections": chosen}, reply_to)


def _interactive(
    kind: str, text: str, action: dict[str, Any], reply_to: str | None
) -> dict[str, Any]:
    return {
        "interactive_type": kind,
        "body": {"text": check_label(text, "text", MAX_INTERACTIVE_BODY)},
        "action": action,
        "reference_wamid": check_optional_text(reply_to, "reply_to"),
    }


def _items(values: Iterable[T], cls: type[T], name: str) -> list[T]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of {cls.__name__}")
    items = list(values)
    for item in items:
        if not isinstance(item, cls):
            raise TypeError(f"{name} must hold {cls.__name__} objects, got {type(item).__name__}")
    return items


def _unique_ids(choices: Iterable[Button | ListRow], what: str) -> None:
    seen: set[str] = set()
    for choice in choices:
        if choice.id in seen:
            raise ValueError(f"{what} ids must be unique, {choice.id!r} is repeated")
        seen.add(choice.id)


def _optional_uuid(value: object, name: str) -> str | None:
    return None if value is None else check_uuid(value, name)
