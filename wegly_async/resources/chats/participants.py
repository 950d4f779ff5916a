"""Who works on a chat: remove a participant, change the responsible user.

Both are retried like GETs: setting the responsible user sets an absolute value, and a
removal ends in the same state however often it runs (a repeat after a lost answer may
answer 404 although the first attempt worked).
"""

from __future__ import annotations

from typing import Any, Unpack

from ..._pipeline import RequestOptions
from ..._resource import APIResource, model_parser
from ..._validation import check_bool, check_chat_id, check_uuid
from ...types.chats import Chat

__all__ = ["ParticipantsMixin", "responsible_body"]

_chat = model_parser(Chat)


class ParticipantsMixin(APIResource):
    """The participant routes of ``client.chats``."""

    async def remove_participant(
        self, chat_id: str, user_id: str, **options: Unpack[RequestOptions]
    ) -> Chat:
        """Remove the user ``user_id`` from the chat's participants.

        Raises:
            NotFoundError: no such chat, or the user is not a participant.
            APIStatusError: the server refused the request (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"/chats/{check_chat_id(chat_id)}/participants/{check_uuid(user_id, 'user_id')}"
        return await self._delete(path, _chat, options, idempotent=True)

    async def set_responsible(
        self,
        chat_id: str,
        user_id: str,
        *,
        update_chat: bool = True,
        update_leads: bool = False,
        update_deals: bool = False,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """Make ``user_id`` responsible for the chat and, if asked, for its leads and deals.

        Raises:
            NotFoundError: no such chat or user.
            APIStatusError: the server refused the request (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"/chats/{check_chat_id(chat_id)}/responsible"
        json = responsible_body(
            user_id, update_chat=update_chat, update_leads=update_leads, update_deals=update_deals
        )
        return await self._patch(path, _chat, options, json=json, idempotent=True)


def responsible_body(
    user_id: str, *, update_chat: bool, update_leads: bool, update_deals: bool
) -> dict[str, Any]:
    """Return the JSON body that makes ``user_id`` responsible (API.md 4.7: all four sent)."""
    return {
        "user_id": check_uuid(user_id, "user_id"),
        "update_chat": check_bool(update_chat, "update_chat"),
        "update_leads": check_bool(update_leads, "update_leads"),
        "update_deals": check_bool(update_deals, "update_deals"),
    }
