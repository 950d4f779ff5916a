"""What ``lead create`` sends and prints, and a deal as ``deal get`` shows it."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from .._validation import check_uuid
from ..resources._crm import record_body
from ..types.deals import Deal
from ..types.shared import RecordRef, User
from ._chat import field_text, label_lines, show_object
from ._exits import usage_errors
from ._render import one_line
from ._timeline import utc_stamp

__all__ = ["create_lead", "deal_lines", "get_deal", "lead_line"]

# The two visibilities, as API.md 4.9 describes them.
_VISIBILITY = {0: "0 (the creator only)", 1: "1 (the whole team)"}


def _lead_fields(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments of ``client.leads.create`` the options give, title aside."""
    return {
        "phone": args.phone,
        "email": args.email,
        "tags": args.tags or None,
        "note": None if args.note is None else {"content": args.note},
    }


async def create_lead(args: argparse.Namespace) -> int:
    """Create a lead and print its id, code and title (or the JSON); 1 if it failed."""
    fields = _lead_fields(args)
    # The library's own checks, before the token is looked for: bad input sends nothing.
    with usage_errors():
        record_body(args.title, fields)
    return await show_object(
        args,
        "lead create",
        lambda client: client.leads.with_raw_response.create(args.title, **fields),
        lambda ref: [lead_line(ref)],
    )


def lead_line(ref: RecordRef) -> str:
    """Return ``created lead ID code N: TITLE``, safe for a terminal."""
    return one_line(f"created lead {ref.id} code {field_text(ref.code)}: {field_text(ref.title)}")


async def get_deal(args: argparse.Namespace) -> int:
    """Print one deal's fields (or its JSON); 1 if reading it failed."""
    with usage_errors():
        deal_id = check_uuid(args.deal_id, "DEAL_ID")
    return await show_object(
        args,
        f"deal {deal_id}",
        lambda client: client.deals.with_raw_response.get(deal_id),
        deal_lines,
    )


def _user(user: User | None) -> str:
    return "-" if user is None else field_text(user.name or user.id)


class _Named(Protocol):
    @property
    def name(self) -> str | None: ...


def _named(record: _Named | None) -> str:
    return "-" if record is None else field_text(record.name)


def _stage(deal: Deal) -> str:
    """Return the deal's stage by name, with its place among the pipeline's stages (``2 of 4``)."""
    if deal.stage is None:
        return "-"
    name = _named(deal.stage)
    ordered = sorted(deal.pipeline_stages, key=lambda s: (s.position is None, s.position or 0))
    ids = [stage.id for stage in ordered]
    if deal.stage.id is None or deal.stage.id not in ids:
        return name
    return f"{name} ({ids.index(deal.stage.id) + 1} of {len(ids)})"


def _visibility(value: int | None) -> str:
    return "-" if value is None else _VISIBILITY.get(value, str(value))


def deal_lines(deal: Deal) -> list[str]:
    """Return the deal's fields as ``label  value`` lines, safe for a terminal."""
    stage = deal.stage
    campaign = deal.marketing_lead_source
    participants = ", ".join(
        f"{_user(person.user)} ({_named(person.role)})" for person in deal.participants
    )
    rows = [
        ("id", field_text(deal.id)),
        ("code", field_text(deal.code)),
        ("title", field_text(deal.title)),
        ("status", field_text(deal.status)),
        ("value", field_text(deal.value)),
        ("stage", _stage(deal)),
        ("pipeline", _named(stage.pipeline if stage else None)),
        ("responsible", _user(deal.responsible)),
        ("created by", _user(deal.created_by)),
        ("participants", participants or "-"),
        ("source", _named(deal.deal_source)),
        ("campaign", field_text(campaign.campaing_name if campaign else None)),
        ("conversion url", field_text(campaign.url_conversion if campaign else None)),
        ("quality rating", field_text(deal.quality_rating)),
        ("quality reason", field_text(deal.quality_reason)),
        ("visibility", _visibility(deal.visibility)),
        ("temperature", field_text(deal.temperature)),
        ("expected close", utc_stamp(deal.expected_close_date)),
        ("won at", utc_stamp(deal.won_date)),
        ("lost at", utc_stamp(deal.lost_date)),
        ("loss reason", _named(deal.crm_loss_reason)),
        ("loss description", field_text(deal.lost_reason_description)),
        ("last activity at", utc_stamp(deal.last_activity_at)),
        ("created at", utc_stamp(deal.created_at)),
        ("updated at", utc_stamp(deal.updated_at)),
        ("archived at", utc_stamp(deal.archived_at)),
    ]
    return label_lines(rows)
