"""``client.chats``: open and read chats, send messages into them, manage them, read timelines.

The participant and scheduled-message routes are in ``participants.py`` and
``scheduled_messages.py``, each beside its body builder. GETs are retried like any read;
a POST (every send, ``create``) never is, as a second attempt could send twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Unpack

from ..._constants import DEFAULT_PAGE_SIZE, DEFAULT_PREFETCH
from ..._enums import ChatStatus, MessageType, Order
from ..._pipeline import RawResponse, RequestOptions
from ..._resource import model_parser, to_raw_response
from ..._uploads import FileInput
from ..._validation import check_chat_id, check_int, check_order, check_str
from ...types.chats import (
    Button,
    Chat,
    ListSection,
    ScheduledMessage,
    SendResult,
    TemplateField,
    UnreadSummary,
)
from ...types.timeline import TimelineEvent
from .messages import (
    buttons_body,
    list_body,
    location_body,
    media_body,
    new_chat_body,
    reaction_body,
    template_body,
    text_body,
)
from .participants import ParticipantsMixin
from .scheduled_messages import ScheduledMessagesMixin
from .timeline import TimelinePager

__all__ = ["ChatsResource", "ChatsResourceWithRawResponse"]

_send_result = model_parser(SendResult)
_chat = model_parser(Chat)
_unread = model_parser(UnreadSummary)


class ChatsResource(ParticipantsMixin, ScheduledMessagesMixin):
    """Open, read and manage chats, send messages into them, read timelines (``client.chats``)."""

    @property
    def with_raw_response(self) -> ChatsResourceWithRawResponse:
        """Return these methods changed to give the ``RawResponse`` instead of the result."""
        return ChatsResourceWithRawResponse(self)

    async def send_text(
        self,
        chat_id: str,
        body: str,
        *,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Send a text message, optionally as a reply to the message with wamid ``reply_to``.

        Raises:
            APIStatusError: the server refused the message (a subclass per status).
            APIConnectionError: the server could not be reached; ``SendOutcomeUnknownError``
                when the message may have been sent anyway.
        """
        path = _messages_path(chat_id)
        return await self._post(path, _send_result, options, json=text_body(body, reply_to))

    async def send_reaction(
        self,
        chat_id: str,
        emoji: str,
        *,
        reference_wamid: str,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """React with ``emoji`` to the message whose wamid is ``reference_wamid``.

        Raises:
            APIStatusError: the server refused the reaction (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        json = reaction_body(emoji, reference_wamid)
        return await self._post(path, _send_result, options, json=json)

    async def send_template(
        self,
        chat_id: str,
        *,
        name: str,
        language: str,
        fields: Iterable[TemplateField] = (),
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Send an approved WhatsApp template, filling its placeholders with ``fields``.

        Raises:
            APIStatusError: the server refused the template (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        json = template_body(name, language, fields)
        return await self._post(path, _send_result, options, json=json)

    async def send_image(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Upload and send an image, with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        body = media_body(
            MessageType.IMAGE,
            file,
            caption=caption,
            filename=filename,
            mime_type=mime_type,
            reply_to=reply_to,
        )
        return await self._post(path, _send_result, options, multipart=body)

    async def send_video(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Upload and send a video, with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        body = media_body(
            MessageType.VIDEO,
            file,
            caption=caption,
            filename=filename,
            mime_type=mime_type,
            reply_to=reply_to,
        )
        return await self._post(path, _send_result, options, multipart=body)

    async def send_audio(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Upload and send an audio file.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        body = media_body(
            MessageType.AUDIO,
            file,
            caption=caption,
            filename=filename,
            mime_type=mime_type,
            reply_to=reply_to,
        )
        return await self._post(path, _send_result, options, multipart=body)

    async def send_document(
        self,
        chat_id: str,
        file: FileInput,
        *,
        caption: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Upload and send a document (PDF, spreadsheet, ...), with an optional caption.

        Raises:
            FileNotFoundError: ``file`` is a path that does not exist.
            APIStatusError: the server refused the upload (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = _messages_path(chat_id)
        body = media_body(
            MessageType.DOCUMENT,
            file,
            caption=caption,
            filename=filename,
            mime_type=mime_type,
            reply_to=reply_to,
        )
        return await self._post(path, _send_result, options, multipart=body)

    async def create(
        self,
        *,
        whatsapp_phone_id: str,
        wa_contact_id: str,
        template: str,
        language: str,
        fields: Iterable[TemplateField] = (),
        person_contact_id: str | None = None,
        remote_profile_name: str | None = None,
        crm_person_id: str | None = None,
        assigned_agent_id: str | None = None,
        status: ChatStatus | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """Open a chat with ``wa_contact_id`` by sending it an approved template.

        Raises:
            APIStatusError: the server refused the chat (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        json = new_chat_body(
            whatsapp_phone_id=whatsapp_phone_id,
            wa_contact_id=wa_contact_id,
            template=template,
            language=language,
            fields=fields,
            person_contact_id=person_contact_id,
            remote_profile_name=remote_profile_name,
            crm_person_id=crm_person_id,
            assigned_agent_id=assigned_agent_id,
            status=status,
        )
        return await self._post("/chats", _chat, options, json=json)

    async def get(self, chat_id: str, **options: Unpack[RequestOptions]) -> Chat:
        """Return the chat with its last message.

        Raises:
            NotFoundError: no chat has this id.
            APIStatusError: the server refused the request (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._get(f"/chats/{check_chat_id(chat_id)}", _chat, options)

    async def unread_summary(self, **options: Unpack[RequestOptions]) -> UnreadSummary:
        """Return how many inbound messages, in how many chats, are still unread.

        Raises:
            APIStatusError: the server refused the request (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._get("/chats/notifications/unread", _unread, options)

    async def send_location(
        self,
        chat_id: str,
        *,
        latitude: float,
        longitude: float,
        name: str | None = None,
        address: str | None = None,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Send a location pin, optionally named and with an address.

        Raises:
            APIStatusError: the server refused the message (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"{_messages_path(chat_id)}/location"
        json = location_body(latitude, longitude, name, address, reply_to)
        return await self._post(path, _send_result, options, json=json)

    async def send_buttons(
        self,
        chat_id: str,
        text: str,
        buttons: Iterable[Button],
        *,
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Send ``text`` with one to three reply buttons.

        Raises:
            APIStatusError: the server refused the message (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"{_messages_path(chat_id)}/interactive"
        json = buttons_body(text, buttons, reply_to)
        return await self._post(path, _send_result, options, json=json)

    async def send_list(
        self,
        chat_id: str,
        text: str,
        *,
        button: str,
        sections: Iterable[ListSection],
        reply_to: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SendResult:
        """Send ``text`` with a ``button`` that opens a list of choices in ``sections``.

        Raises:
            APIStatusError: the server refused the message (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"{_messages_path(chat_id)}/interactive"
        json = list_body(text, button, sections, reply_to)
        return await self._post(path, _send_result, options, json=json)

    def timeline(
        self,
        chat_id: str,
        *,
        order: Order | str = Order.ASC,
        take: int = DEFAULT_PAGE_SIZE,
        skip: int = 0,
        search: str | None = None,
        prefetch: int = DEFAULT_PREFETCH,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> TimelinePager:
        """Return a pager over the chat's timeline events, oldest first unless ``order="desc"``.

        ``prefetch`` keeps up to that many page requests in flight ahead of the reader
        (events still come strictly in order). Every event that existed when an iteration
        starts is yielded once while new ones arrive; see ``TimelinePager``. ``limit`` stops
        an iteration after that many events, asking for no more than it needs. Nothing is
        requested until the pager is iterated; bad arguments raise here. The options apply
        to every page request.
        """
        chat_id = check_chat_id(chat_id)
        path = f"/chats/{chat_id}/timeline"
        order = check_order(order)
        params: dict[str, str | int] = {"order": order.value}
        if search is not None:
            params["search"] = check_str(search, "search")
        check_int(take, "take", minimum=1)
        check_int(skip, "skip", minimum=0)
        check_int(prefetch, "prefetch", minimum=1)
        if limit is not None:
            check_int(limit, "limit", minimum=1)
        fetch = self._list_fetch(path, TimelineEvent, options, params=params)
        return TimelinePager(
            fetch,
            skip=skip,
            take=take,
            prefetch=prefetch,
            order=order,
            chat_id=chat_id,
            limit=limit,
        )


# A raw twin has its method's parameters (functools.wraps keeps the signature for help()
# and IDEs); the annotation states only the result, so every checker reads the same type.
_RawSend = Callable[..., Awaitable[RawResponse[SendResult]]]
_RawChat = Callable[..., Awaitable[RawResponse[Chat]]]


class ChatsResourceWithRawResponse:
    """``client.chats`` whose methods give the ``RawResponse`` (``parse()`` gives the result)."""

    send_text: _RawSend
    send_reaction: _RawSend
    send_template: _RawSend
    send_image: _RawSend
    send_video: _RawSend
    send_audio: _RawSend
    send_document: _RawSend
    send_location: _RawSend
    send_buttons: _RawSend
    send_list: _RawSend
    create: _RawChat
    get: _RawChat
    remove_participant: _RawChat
    set_responsible: _RawChat
    unread_summary: Callable[..., Awaitable[RawResponse[UnreadSummary]]]
    update_scheduled_message: Callable[..., Awaitable[RawResponse[ScheduledMessage]]]

    def __init__(self, chats: ChatsResource) -> None:
        self.send_text = to_raw_response(chats.send_text)
        self.send_reaction = to_raw_response(chats.send_reaction)
        self.send_template = to_raw_response(chats.send_template)
        self.send_image = to_raw_response(chats.send_image)
        self.send_video = to_raw_response(chats.send_video)
        self.send_audio = to_raw_response(chats.send_audio)
        self.send_document = to_raw_response(chats.send_document)
        self.send_location = to_raw_response(chats.send_location)
        self.send_buttons = to_raw_response(chats.send_buttons)
        self.send_list = to_raw_response(chats.send_list)
        self.create = to_raw_response(chats.create)
        self.get = to_raw_response(chats.get)
        self.remove_participant = to_raw_response(chats.remove_participant)
        self.set_responsible = to_raw_response(chats.set_responsible)
        self.unread_summary = to_raw_response(chats.unread_summary)
        self.update_scheduled_message = to_raw_response(chats.update_scheduled_message)

    def __repr__(self) -> str:
        return "<ChatsResourceWithRawResponse>"


def _messages_path(chat_id: str) -> str:
    return f"/chats/{check_chat_id(chat_id)}/messages"
