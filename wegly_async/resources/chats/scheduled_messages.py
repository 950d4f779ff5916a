"""Scheduled messages of a chat: change one before it is sent.

An update is retried like a GET: it sets absolute values (and files that replace the
stored ones), so repeating it leaves the same message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Unpack

from ..._convert import form_text, format_utc
from ..._enums import MessageType
from ..._pipeline import RequestOptions
from ..._resource import APIResource, model_parser
from ..._transport import Multipart
from ..._uploads import FileInput, make_upload
from ..._validation import (
    check_aware_datetime,
    check_bool,
    check_chat_id,
    check_optional_text,
    check_text,
    check_uuid,
)
from ...types.chats import ScheduledMessage, TemplateField
from .messages import check_template_fields, template_body

__all__ = ["ScheduledMessagesMixin", "format_utc", "scheduled_update", "scheduled_update_body"]

_scheduled = model_parser(ScheduledMessage)


class ScheduledMessagesMixin(APIResource):
    """The scheduled-message routes of ``client.chats``."""

    async def update_scheduled_message(
        self,
        chat_id: str,
        scheduled_message_id: str,
        *,
        scheduled_at: datetime | None = None,
        cancel_on_inbound: bool | None = None,
        text: str | None = None,
        template: str | None = None,
        language: str | None = None,
        fields: Iterable[TemplateField] | None = None,
        reply_to: str | None = None,
        files: Iterable[FileInput] | None = None,
        **options: Unpack[RequestOptions],
    ) -> ScheduledMessage:
        """Change a scheduled message: only the fields given are sent.

        ``files`` (paths, bytes, binary files) replace the stored files, sent as
        multipart/form-data; ``files=[]`` removes them.

        Raises:
            NotFoundError: no such chat or scheduled message.
            APIStatusError: the server refused the change (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        message_id = check_uuid(scheduled_message_id, "scheduled_message_id")
        path = f"/chats/{check_chat_id(chat_id)}/scheduled-messages/{message_id}"
        json, multipart = scheduled_update(
            scheduled_update_body(
                scheduled_at=scheduled_at,
                cancel_on_inbound=cancel_on_inbound,
                text=text,
                template=template,
                language=language,
                fields=fields,
                reply_to=reply_to,
            ),
            files,
        )
        return await self._patch(
            path, _scheduled, options, json=json, multipart=multipart, idempotent=True
        )


def scheduled_update_body(
    *,
    scheduled_at: datetime | None,
    cancel_on_inbound: bool | None,
    text: str | None,
    template: str | None,
    language: str | None,
    fields: Iterable[TemplateField] | None,
    reply_to: str | None,
) -> dict[str, Any]:
    """Return the fields of a scheduled-message update: only those given (API.md 4.8)."""
    body: dict[str, Any] = {}
    if scheduled_at is not None:
        body["scheduled_at"] = format_utc(check_aware_datetime(scheduled_at, "scheduled_at"))
    if cancel_on_inbound is not None:
        body["cancel_on_inbound"] = check_bool(cancel_on_inbound, "cancel_on_inbound")
    if text is not None and template is not None:
        raise ValueError("give text or template, not both: a message is one or the other")
    if text is not None:
        body.update(type=MessageType.TEXT.value, body=check_text(text, "text"))
    if template is not None or language is not None:
        if template is None or language is None:
            raise ValueError("template and language go together: give both")
        body.update(template_body(template, language, fields or ()))
        body["type"] = MessageType.TEMPLATE.value
    elif fields is not None:
        body["template_fields"] = check_template_fields(fields)
    if (wamid := check_optional_text(reply_to, "reply_to")) is not None:
        body["reference_wamid"] = wamid
    return {key: value for key, value in body.items() if value is not None}


def scheduled_update(
    body: dict[str, Any], files: Iterable[FileInput] | None
) -> tuple[dict[str, Any] | None, Multipart | None]:
    """Return the update as JSON, or as multipart/form-data when it carries files (API.md 4.8)."""
    if files is None:
        if not body:
            raise ValueError(
                "update_scheduled_message changes nothing: give scheduled_at, cancel_on_inbound, "
                "text, template, fields, reply_to or files"
            )
        return body, None
    if isinstance(files, str | bytes | bytearray | memoryview | os.PathLike) or hasattr(
        files, "read"
    ):
        raise TypeError("files must be a list of files: wrap a single file in a list")
    uploads = [make_upload(file, filename=None, mime_type=None) for file in files]
    body["replace_files"] = True
    if not uploads:
        return body, None
    fields = {name: form_text(value) for name, value in body.items()}
    return None, Multipart(fields=fields, upload=uploads[0], more_uploads=tuple(uploads[1:]))
