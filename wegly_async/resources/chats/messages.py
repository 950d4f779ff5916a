"""Bodies of the messages a chat accepts, checked before any request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..._enums import MessageType
from ..._transport import Multipart
from ..._uploads import FileInput, make_upload
from ..._validation import check_optional_text, check_text
from ...types.chats import TemplateField

__all__ = ["media_body", "reaction_body", "template_body", "text_body"]


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
    template_fields = list(fields)
    for field in template_fields:
        if not isinstance(field, TemplateField):
            raise TypeError(f"fields must be TemplateField objects, got {type(field).__name__}")
    return {
        "type": MessageType.TEMPLATE,
        "template": {
            "name": check_text(name, "name"),
            "language": check_text(language, "language"),
        },
        "template_fields": template_fields or None,
    }


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
