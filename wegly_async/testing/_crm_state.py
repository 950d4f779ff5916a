"""What the emulator knows of the CRM: leads, deals and proposals, in the documented shapes.

Records are kept as the API shows them (JSON dicts), amounts as exact ``Decimal``; codes
count up per kind, as a company's lead and deal numbers do.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

import attrs

from .._convert import format_utc
from .._validation import check_decimal, check_int, check_text, check_uuid
from ._chat_state import People, Person, now_stamp
from ._history import JSON, new_uuid

__all__ = ["Crm", "item_total", "proposal_totals", "seed_proposal"]

if TYPE_CHECKING:
    from wegly_async.types.proposals import ProposalItem

_PIPELINE: Final = "Funil de vendas"
_STAGES: Final = ("Prospecção", "Qualificação", "Proposta", "Negociação")
# Emulator decision (the docs name no values): discount_type 0 takes an amount off,
# 1 a percentage.
DISCOUNT_AMOUNT: Final = 0
DISCOUNT_PERCENT: Final = 1
_HUNDRED: Final = Decimal(100)


class Crm:
    """The leads, deals and proposals of one emulator, with the pipeline deals move through."""

    def __init__(self, rng: random.Random, people: People) -> None:
        self._rng = rng
        self.people = people
        self.pipeline = {"id": new_uuid(rng), "name": _PIPELINE}
        self.stages = [
            {"id": new_uuid(rng), "name": name, "position": position}
            for position, name in enumerate(_STAGES, start=1)
        ]
        self.leads: dict[str, JSON] = {}
        self.deals: dict[str, JSON] = {}
        self.proposals: dict[str, JSON] = {}
        self._lead_codes = itertools.count(1)
        self._deal_codes = itertools.count(1)
        self._proposal_codes = itertools.count(1)

    @property
    def owner(self) -> Person:
        """The key's user: who creates records and is responsible by default."""
        return self.people.people[0]

    def new_id(self) -> str:
        """Return a fresh UUID."""
        return new_uuid(self._rng)

    def stage(self, stage_id: str | None) -> JSON | None:
        """Return the stage with this id (the first stage for None), or None if unknown."""
        if stage_id is None:
            return self.stages[0]
        return next((stage for stage in self.stages if stage["id"] == stage_id), None)

    def add_lead(self, fields: JSON, followers: list[JSON]) -> JSON:
        """Store a lead and return it."""
        stamp = now_stamp()
        lead = {
            "id": self.new_id(),
            "code": next(self._lead_codes),
            "status": 1,
            **fields,
            "followers": followers,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.leads[lead["id"]] = lead
        return lead

    def add_deal(self, fields: JSON, participants: list[JSON], stage: JSON) -> JSON:
        """Store a deal in the shape ``GET /deals/{id}`` shows and return it."""
        stamp = now_stamp()
        source = fields.pop("lead_source", None)
        deal_source = None if source is None else {"id": self.new_id(), **source, "logo": None}
        marketing = fields.pop("marketing", None)
        deal = {
            "id": self.new_id(),
            "code": next(self._deal_codes),
            "title": fields.pop("title"),
            "status": 1,
            "value": fields.pop("value", None),
            "created_by": self.owner.user(),
            "stage": {"id": stage["id"], "name": stage["name"], "pipeline": self.pipeline},
            "pipeline_stages": self.stages,
            "responsible": fields.pop("responsible"),
            "deal_source": deal_source,
            "marketing_lead_source": self._marketing(marketing, deal_source),
            "quality_rating": fields.pop("quality_rating", None),
            "quality_reason": fields.pop("quality_reason", None),
            "won_date": None,
            "lost_date": None,
            "crm_loss_reason": None,
            "lost_reason_description": None,
            "visibility": fields.pop("visibility", 1),
            "created_at": stamp,
            "updated_at": stamp,
            "archived_at": None,
            "last_activity_at": stamp,
            "expected_close_date": fields.pop("expected_close_date", None),
            "temperature": fields.pop("temperature", None),
            "participants": participants,
        }
        # The rest (tags, person, organization, note) is kept, though the page shows none.
        self.deals[deal["id"]] = {**deal, "_more": fields}
        return deal

    def _marketing(self, marketing: JSON | None, source: JSON | None) -> JSON | None:
        if marketing is None:
            return None
        url = marketing["url_conversion"]
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        return {
            "id": self.new_id(),
            "utm_search_term": query.get("utm_term"),
            "lead_source": source,
            "url_conversion": url,
            "campaing_name": query.get("utm_campaign"),
            "ad_set_name": None,
            "content_name": query.get("utm_content"),
            "displayed_on_name": None,
            "conversion_tool_name": None,
            "creative": None,
        }

    def add_proposal(self, fields: JSON, items: Iterable[JSON]) -> str:
        """Store a proposal with its items and return its id."""
        proposal: JSON = {
            "id": self.new_id(),
            "lead": None,
            "deal": None,
            "code": next(self._proposal_codes),
            "version": 1,
            "title": "Proposta comercial",
            "status": 0,
            "notes": None,
            "is_primary": True,
            "discount_type": DISCOUNT_AMOUNT,
            "discount_value": Decimal(0),
            "valid_until": None,
            "created_by": self.owner.user(),
            "approved_by": None,
            "approved_at": None,
            "archived_at": None,
            "rejected_at": None,
            **fields,
            "items": [{"id": item.get("id") or self.new_id(), **item} for item in items],
        }
        self.proposals[proposal["id"]] = proposal
        return str(proposal["id"])


def item_total(item: JSON) -> Decimal:
    """Return an item's quantity times its unit price, less its own discount."""
    gross = Decimal(item.get("quantity") or 0) * Decimal(item.get("unit_price") or 0)
    return _discounted(gross, item.get("discount_type"), item.get("discount_value"))


def _discounted(amount: Decimal, kind: Any, value: Any) -> Decimal:
    if not value:
        return amount
    if kind == DISCOUNT_PERCENT:
        return amount - amount * Decimal(value) / _HUNDRED
    return amount - Decimal(value)


def proposal_totals(proposal: JSON) -> JSON:
    """Return the proposal as the API shows it: items counted, subtotal and total computed."""
    items = proposal["items"]
    subtotal = sum((item_total(item) for item in items), Decimal(0))
    total = _discounted(subtotal, proposal["discount_type"], proposal["discount_value"])
    shown = {key: value for key, value in proposal.items() if key != "items"}
    return {**shown, "subtotal": subtotal, "total": total, "items_count": len(items)}


def seed_proposal(
    crm: Crm,
    *,
    title: object,
    lead_id: object,
    deal_id: object,
    status: object,
    discount_type: object,
    discount_value: object,
    items: Iterable[ProposalItem] | None,
) -> str:
    """Check what ``WeglyEmulator.create_proposal`` was given, store the proposal, return its id.

    An item keeps the ``id`` it is given (so a test can change it later), else gets one.
    """
    from wegly_async.types.proposals import ProposalItem

    fields: JSON = {}
    if title is not None:
        fields["title"] = check_text(title, "title")
    for name, value, records in (("lead", lead_id, crm.leads), ("deal", deal_id, crm.deals)):
        if value is not None:
            record = records.get(check_uuid(value, f"{name}_id"))
            if record is None:
                raise ValueError(f"unknown {name}_id {value!r}: create the {name} through the API")
            fields[name] = {"id": record["id"], "title": record["title"]}
    for name, value in (("status", status), ("discount_type", discount_type)):
        if value is not None:
            fields[name] = check_int(value, name)
    if discount_value is not None:
        fields["discount_value"] = check_decimal(discount_value, "discount_value")
    stored = []
    for item in items or ():
        if not isinstance(item, ProposalItem):
            raise TypeError(f"items must hold ProposalItem objects, got {type(item).__name__}")
        stored.append(_stored_item(item))
    return crm.add_proposal(fields, stored)


def _stored_item(item: ProposalItem) -> JSON:
    return {
        key: format_utc(value) if isinstance(value, datetime) else value
        for key, value in attrs.asdict(item, recurse=False).items()
        if value is not None and key != "delete"
    }
