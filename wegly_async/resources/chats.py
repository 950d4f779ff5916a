"""The chat endpoints: send a message, read the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from .._constants import DEFAULT_PAGE_SIZE, DEFAULT_PREFETCH
from .._convert import encode_json
from .._enums import MessageType, Order
from .._models import SendResult, TemplateField, TimelineEvent
from .._pagination import FetchedPage, TimelinePager
from .._responses import ResponseContext, parse_envelope, parse_response, structure_records
from .._transport import Multipart, Response, Transport
from .._uploads import FileInput, make_upload
from .._validation import check_chat_id, check_int, check_optional_text, check_text

__all__ = ["ChatsResource"]


T = TypeVar("T")


class ChatsResource:
    """Send messages into chats and read their timelines (``client.chats``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return "<ChatsResource>"

    async def send_text(
        self, chat_id: str, body: str, *, reply_to: str | None = None
    ) -> SendResult:
        """Send a text message, optionally as a reply to the message with wamid ``reply_to``.

        Raises:
            APIStatusError: the server refused the message (a subclass per status).
            APIConnectionError: the server could not be reached; ``SendOutcomeUnknownError``
                when the message may have been sent anyway.
        """
        payload = {
            "type": MessageType.TEXT,
            "body": check_text(body, "body"),
            "reference_wamid": check_optional_text(reply_to, "reply_to"),
        }
        return await self._send_json(chat_id, payload)

    async def send_reaction(self, chat_id: str, emoji: str, *, reference_wamid: str) -> SendResult:
        """React with ``emoji`` to the message whose wamid is ``reference_wamid``.

        Raises:
            APIStatusError: the server refused the reaction (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        payload = {
            "type": MessageType.REACTION,
            "body": check_text(emoji, "emoji"),
            "reference_wamid": check_text(reference_wamid, "reference_wamid"),
        }
        return await self._send_json(chat_id, payload)

    async def send_template(
        self,
        chat_id: str,
        *,
        name: str,
        language: str,
        fields: Iterable[TemplateField] = (),
    ) -> SendResult:
        """Send an approved WhatsApp template, filling its placeholders with ``fields``.

        Raises:
            APIStatusError: the server refused the template (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        template_fields = list(fields)
        for field in template_fields:
            if not isinstance(field, TemplateField):
                raise TypeError(f"fields must be TemplateField objects, got {type(field).__name__}")
        payload: dict[str, Any] = {
            "type": MessageType.TEMPLATE,
            "template": {
                "name": check_text(name, "name"),
                "language": check_text(language, "language"),
            },
            "template_fields": template_fields or None,
        }
        return await self._send_json(chat_id, payload)

    async def send_image(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
    ) -> SendResult:
        """Upload and send an image, with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._send_media(
            MessageType.IMAGE, chat_id, file, caption, filename, mime_type, reply_to
        )

    async def send_video(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
    ) -> SendResult:
        """Upload and send a video, with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._send_media(
            MessageType.VIDEO, chat_id, file, caption, filename, mime_type, reply_to
        )

    async def send_audio(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
    ) -> SendResult:
        """Upload and send an audio file.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._send_media(
            MessageType.AUDIO, chat_id, file, caption, filename, mime_type, reply_to
        )

    async def send_document(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
    ) -> SendResult:
        """Upload and send a document (PDF, spreadsheet, ...), with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._send_media(
            MessageType.DOCUMENT, chat_id, file, caption, filename, mime_type, reply_to
        )

    def timeline(
        self,
        chat_id: str,
        *,
        order: Order | str = Order.ASC,
        take: int = DEFAULT_PAGE_SIZE,
        skip: int = 0,
        search: str | None = None,
        prefetch: int = DEFAULT_PREFETCH,
    ) -> TimelinePager:
        """Return a pager over the chat's timeline events, oldest first unless ``order="desc"``.

        ``prefetch`` keeps up to that many page requests in flight ahead of the reader
        (events still come strictly in order). Every event that existed when an iteration
        starts is yielded once while new ones arrive; see ``TimelinePager``. Nothing is
        requested until the pager is iterated; bad arguments raise here.
        """
        chat_id = check_chat_id(chat_id)
        path = f"/chats/{chat_id}/timeline"
        order = _check_order(order)
        params: dict[str, str | int] = {"order": order.value}
        if search is not None:
            if not isinstance(search, str):
                raise TypeError(f"search must be a str, got {type(search).__name__}")
            params["search"] = search
        check_int(take, "take", minimum=1)
        check_int(skip, "skip", minimum=0)
        check_int(prefetch, "prefetch", minimum=1)

        async def fetch(page_skip: int, page_take: int) -> FetchedPage:
            query = {**params, "skip": page_skip, "take": page_take}
            response = await self._transport.request("GET", path, params=query)
            ctx = ResponseContext(response.status, response.method, response.url, response.content)
            total, records = parse_envelope(ctx)

            def decode(fresh: list[dict[str, Any]]) -> list[TimelineEvent]:
                return structure_records(fresh, TimelineEvent, ctx)

            return FetchedPage(total=total, records=records, decode=decode, invalid=ctx.error)

        return TimelinePager(
            fetch, skip=skip, take=take, prefetch=prefetch, order=order, chat_id=chat_id
        )

    async def _send_json(self, chat_id: str, payload: dict[str, Any]) -> SendResult:
        path = f"/chats/{check_chat_id(chat_id)}/messages"
        response = await self._transport.request("POST", path, json=encode_json(payload))
        return _parse(response, SendResult)

    async def _send_media(
        self,
        kind: MessageType,
        chat_id: str,
        file: FileInput,
        caption: str | None,
        filename: str | None,
        mime_type: str | None,
        reply_to: str | None,
    ) -> SendResult:
        path = f"/chats/{check_chat_id(chat_id)}/messages"
        fields = {"type": kind.value}
        if (text := check_optional_text(caption, "caption")) is not None:
            fields["body"] = text
        if (wamid := check_optional_text(reply_to, "reply_to")) is not None:
            fields["reference_wamid"] = wamid
        upload = make_upload(file, filename=filename, mime_type=mime_type)
        multipart = Multipart(fields=fields, upload=upload)
        response = await self._transport.request("POST", path, multipart=multipart)
        return _parse(response, SendResult)


def _check_order(order: object) -> Order:
    if isinstance(order, Order):
        return order
    if isinstance(order, str):
        try:
            return Order(order.lower())
        except ValueError:
            pass
    raise ValueError(
        f"order must be 'asc' or 'desc' (or wa.Order.ASC / wa.Order.DESC), got {order!r}"
    )


def _parse(response: Response, cls: type[T]) -> T:
    return parse_response(
        response.content, cls, status=response.status, method=response.method, url=response.url
    )
