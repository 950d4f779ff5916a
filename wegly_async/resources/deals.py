"""``client.deals``: create deals and read one back.

Creation is a POST, never retried once it may have reached the server (a second
attempt could create a second deal); reading is retried like any GET.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Unpack

from .._pipeline import RawResponse, RequestOptions
from .._resource import APIResource, model_parser, to_raw_response
from .._validation import check_uuid
from ..types.deals import Deal
from ..types.shared import (
    FollowerParam,
    LeadSourceParam,
    MarketingParam,
    NoteParam,
    OrganizationParam,
    PersonParam,
    RecordRef,
)
from ._crm import record_body

__all__ = ["DealsResource", "DealsResourceWithRawResponse"]

_record = model_parser(RecordRef)
_deal = model_parser(Deal, exact_numbers=True)


class DealsResource(APIResource):
    """Create deals and read them (``client.deals``)."""

    @property
    def with_raw_response(self) -> DealsResourceWithRawResponse:
        """Return these methods changed to give the ``RawResponse`` instead of the result."""
        return DealsResourceWithRawResponse(self)

    async def create(
        self,
        title: str,
        *,
        value: Decimal | int | float | None = None,
        expected_close_date: datetime | None = None,
        stage_id: str | None = None,
        responsible_id: str | None = None,
        quality_rating: int | None = None,
        quality_reason: str | None = None,
        visibility: int | None = None,
        temperature: int | None = None,
        marketing: MarketingParam | None = None,
        lead_source: LeadSourceParam | None = None,
        tags: Iterable[str] | None = None,
        person: PersonParam | None = None,
        organization: OrganizationParam | None = None,
        followers: Iterable[FollowerParam] | None = None,
        note: NoteParam | None = None,
        **options: Unpack[RequestOptions],
    ) -> RecordRef:
        """Create a deal, in the primary pipeline's first stage unless ``stage_id``.

        ``value`` is sent exactly (``Decimal("19.90")`` as the JSON number ``19.90``).

        Raises:
            APIStatusError: the server refused the deal (a subclass per status).
            APIConnectionError: the server could not be reached; ``SendOutcomeUnknownError``
                when the deal may have been created anyway.
        """
        fields = {
            "value": value,
            "expected_close_date": expected_close_date,
            "stage_id": stage_id,
            "responsible_id": responsible_id,
            "quality_rating": quality_rating,
            "quality_reason": quality_reason,
            "visibility": visibility,
            "temperature": temperature,
            "marketing": marketing,
            "lead_source": lead_source,
            "tags": tags,
            "person": person,
            "organization": organization,
            "followers": followers,
            "note": note,
        }
        return await self._post("/deals", _record, options, json=record_body(title, fields))

    async def get(self, deal_id: str, **options: Unpack[RequestOptions]) -> Deal:
        """Return the deal with its stage, people and marketing source.

        Raises:
            NotFoundError: no deal has this id.
            APIStatusError: the server refused the request (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        return await self._get(f"/deals/{check_uuid(deal_id, 'deal_id')}", _deal, options)


class DealsResourceWithRawResponse:
    """``client.deals`` whose methods give the ``RawResponse`` (``parse()`` gives the result)."""

    create: Callable[..., Awaitable[RawResponse[RecordRef]]]
    get: Callable[..., Awaitable[RawResponse[Deal]]]

    def __init__(self, deals: DealsResource) -> None:
        self.create = to_raw_response(deals.create)
        self.get = to_raw_response(deals.get)

    def __repr__(self) -> str:
        return "<DealsResourceWithRawResponse>"
