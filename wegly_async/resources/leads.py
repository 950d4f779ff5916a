"""``client.leads``: create leads from an external integration and add followers to them.

Both are POSTs, never retried once they may have reached the server: a second attempt
could create a second lead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Unpack

import attrs

from .._constants import MAX_FOLLOWER_NOTES
from .._pipeline import RawResponse, RequestOptions
from .._resource import APIResource, model_parser, to_raw_response
from .._validation import check_label, check_uuid
from ..types.leads import Follower
from ..types.shared import (
    FollowerParam,
    LeadSourceParam,
    MarketingParam,
    NoteParam,
    OrganizationParam,
    PersonParam,
    RecordRef,
)
from ._crm import optional, record_body

__all__ = ["LeadsResource", "LeadsResourceWithRawResponse", "follower_body"]

_record = model_parser(RecordRef)


@attrs.frozen(kw_only=True, weakref_slot=False)
class _FollowerList:
    followers: list[Follower]


_follower_list = model_parser(_FollowerList)


def _followers(raw: RawResponse[Any]) -> list[Follower]:
    return _follower_list(raw).followers


class LeadsResource(APIResource):
    """Create leads and add followers to them (``client.leads``)."""

    @property
    def with_raw_response(self) -> LeadsResourceWithRawResponse:
        """Return these methods changed to give the ``RawResponse`` instead of the result."""
        return LeadsResourceWithRawResponse(self)

    async def create(
        self,
        title: str,
        *,
        stage_id: str | None = None,
        responsible_id: str | None = None,
        quality_rating: int | None = None,
        quality_reason: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        visibility: int | None = None,
        tags: Iterable[str] | None = None,
        person_ids: Iterable[str] | None = None,
        person: PersonParam | None = None,
        organization_id: str | None = None,
        organization: OrganizationParam | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        marketing: MarketingParam | None = None,
        crm_lead_source_id: str | None = None,
        lead_source: LeadSourceParam | None = None,
        followers: Iterable[FollowerParam] | None = None,
        note: NoteParam | None = None,
        **options: Unpack[RequestOptions],
    ) -> RecordRef:
        """Create a lead (from a web form, an ad platform, another CRM) and return its reference.

        Raises:
            APIStatusError: the server refused the lead (a subclass per status).
            APIConnectionError: the server could not be reached; ``SendOutcomeUnknownError``
                when the lead may have been created anyway.
        """
        fields = {
            "stage_id": stage_id,
            "responsible_id": responsible_id,
            "quality_rating": quality_rating,
            "quality_reason": quality_reason,
            "phone": phone,
            "email": email,
            "visibility": visibility,
            "tags": tags,
            "person_ids": person_ids,
            "person": person,
            "organization_id": organization_id,
            "organization": organization,
            "custom_fields": custom_fields,
            "marketing": marketing,
            "crm_lead_source_id": crm_lead_source_id,
            "lead_source": lead_source,
            "followers": followers,
            "note": note,
        }
        json = record_body(title, fields)
        return await self._post("/leads", _record, options, json=json)

    async def add_follower(
        self,
        lead_id: str,
        *,
        user_id: str,
        role_id: str,
        notes: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> list[Follower]:
        """Make ``user_id`` follow the lead in the role ``role_id``; return all its followers.

        Raises:
            NotFoundError: no such lead, user or role.
            APIStatusError: the server refused the follower (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"/leads/{check_uuid(lead_id, 'lead_id')}/followers"
        json = follower_body(user_id=user_id, role_id=role_id, notes=notes)
        return await self._post(path, _followers, options, json=json)


def follower_body(*, user_id: str, role_id: str, notes: str | None) -> dict[str, Any]:
    """Return the JSON body that adds a follower (API.md 4.10: notes <= 1000 characters)."""
    return {
        "user_id": check_uuid(user_id, "user_id"),
        "role_id": check_uuid(role_id, "role_id"),
        "notes": optional(_notes, notes, "notes"),
    }


def _notes(value: object, name: str) -> str:
    return check_label(value, name, MAX_FOLLOWER_NOTES)


_RawRecord = Callable[..., Awaitable[RawResponse[RecordRef]]]


class LeadsResourceWithRawResponse:
    """``client.leads`` whose methods give the ``RawResponse`` (``parse()`` gives the result)."""

    create: _RawRecord
    add_follower: Callable[..., Awaitable[RawResponse[list[Follower]]]]

    def __init__(self, leads: LeadsResource) -> None:
        self.create = to_raw_response(leads.create)
        self.add_follower = to_raw_response(leads.add_follower)

    def __repr__(self) -> str:
        return "<LeadsResourceWithRawResponse>"
