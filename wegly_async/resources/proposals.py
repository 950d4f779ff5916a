"""``client.proposals``: change a proposal, its items included.

An update sets absolute values, so it is retried like a GET, unless it adds an item
(one without an ``id``): a repeat after a lost answer would add that item twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Unpack

import attrs

from .._convert import format_utc
from .._pipeline import RawResponse, RequestOptions
from .._resource import APIResource, model_parser, to_raw_response
from .._validation import (
    check_aware_datetime,
    check_decimal,
    check_int,
    check_text,
    check_uuid,
)
from ..types.proposals import Proposal, ProposalItem
from ._crm import Check

__all__ = ["ProposalsResource", "ProposalsResourceWithRawResponse", "proposal_body"]

_proposal = model_parser(Proposal, exact_numbers=True)


class ProposalsResource(APIResource):
    """Change proposals (``client.proposals``)."""

    @property
    def with_raw_response(self) -> ProposalsResourceWithRawResponse:
        """Return these methods changed to give the ``RawResponse`` instead of the result."""
        return ProposalsResourceWithRawResponse(self)

    async def update(
        self,
        proposal_id: str,
        *,
        lead_id: str | None = None,
        deal_id: str | None = None,
        deal_code: str | None = None,
        title: str | None = None,
        notes: str | None = None,
        status: int | None = None,
        discount_type: int | None = None,
        discount_value: Decimal | int | float | None = None,
        valid_until: datetime | None = None,
        approved_by: str | None = None,
        approved_at: datetime | None = None,
        archived_at: datetime | None = None,
        rejected_at: datetime | None = None,
        items: Iterable[ProposalItem] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Proposal:
        """Change a proposal: only the fields given are sent; ``items`` add, change or remove lines.

        Raises:
            NotFoundError: no such proposal (or item).
            APIStatusError: the server refused the change (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        path = f"/proposals/{check_uuid(proposal_id, 'proposal_id')}"
        fields = {
            "lead_id": lead_id,
            "deal_id": deal_id,
            "deal_code": deal_code,
            "title": title,
            "notes": notes,
            "status": status,
            "discount_type": discount_type,
            "discount_value": discount_value,
            "valid_until": valid_until,
            "approved_by": approved_by,
            "approved_at": approved_at,
            "archived_at": archived_at,
            "rejected_at": rejected_at,
            "items": items,
        }
        json = proposal_body(fields)
        adds_items = any(item.get("id") is None for item in json.get("items", ()))
        return await self._put(path, _proposal, options, json=json, idempotent=not adds_items)


def _utc(value: object, name: str) -> str:
    return format_utc(check_aware_datetime(value, name))


def _items(values: object, name: str) -> list[dict[str, Any]]:
    if isinstance(values, str | bytes | ProposalItem) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of ProposalItem, got {type(values).__name__}")
    body = []
    for item in values:
        if not isinstance(item, ProposalItem):
            raise TypeError(f"{name} must hold ProposalItem objects, got {type(item).__name__}")
        fields = attrs.asdict(item, recurse=False)
        body.append(
            {
                key: format_utc(value) if isinstance(value, datetime) else value
                for key, value in fields.items()
                if value is not None
            }
        )
    return body


# The fields of a proposal update (API.md 4.13), each with its check.
_FIELDS: dict[str, Check] = {
    "lead_id": check_uuid,
    "deal_id": check_uuid,
    "deal_code": check_text,
    "title": check_text,
    "notes": check_text,
    "status": check_int,
    "discount_type": check_int,
    "discount_value": check_decimal,
    "valid_until": _utc,
    "approved_by": check_uuid,
    "approved_at": _utc,
    "archived_at": _utc,
    "rejected_at": _utc,
    "items": _items,
}


def proposal_body(fields: Mapping[str, object]) -> dict[str, Any]:
    """Return the JSON body of a proposal update: the fields given, at least one."""
    body = {name: _FIELDS[name](value, name) for name, value in fields.items() if value is not None}
    if not any(value != [] for value in body.values()):
        raise ValueError(
            f"proposals.update changes nothing: give at least one of {', '.join(_FIELDS)}"
        )
    return body


class ProposalsResourceWithRawResponse:
    """``client.proposals`` whose methods give the ``RawResponse`` (``parse()`` the result)."""

    update: Callable[..., Awaitable[RawResponse[Proposal]]]

    def __init__(self, proposals: ProposalsResource) -> None:
        self.update = to_raw_response(proposals.update)

    def __repr__(self) -> str:
        return "<ProposalsResourceWithRawResponse>"
