"""Models of the deal routes: a deal as ``deals.get`` shows it, with what it refers to."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .shared import Role, User

__all__ = [
    "Deal",
    "DealParticipant",
    "LeadSource",
    "LossReason",
    "MarketingCreative",
    "MarketingLeadSource",
    "Pipeline",
    "Stage",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Pipeline:
    """A sales pipeline: the stages a deal moves through."""

    id: str | None = None
    name: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Stage:
    """A stage of a pipeline: the deal's own (with its pipeline) or one of the list."""

    id: str | None = None
    name: str | None = None
    position: int | None = None
    pipeline: Pipeline | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class LeadSource:
    """Where deals come from (an ad platform, a web form, ...)."""

    id: str | None = None
    name: str | None = None
    logo: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class MarketingCreative:
    """The ad a deal came from."""

    id: str | None = None
    value: str | None = None
    creative_uri: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class MarketingLeadSource:
    """The campaign a deal came from, as its conversion URL told it."""

    id: str | None = None
    utm_search_term: str | None = None
    lead_source: LeadSource | None = None
    url_conversion: str | None = None
    # Spelled so by the API.
    campaing_name: str | None = None
    ad_set_name: str | None = None
    content_name: str | None = None
    displayed_on_name: str | None = None
    conversion_tool_name: str | None = None
    creative: MarketingCreative | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class LossReason:
    """Why a deal was lost, from the company's list."""

    id: str | None = None
    name: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class DealParticipant:
    """A user taking part in a deal, in a role."""

    id: str | None = None
    role: Role | None = None
    notes: str | None = None
    user: User | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Deal:
    """A sales opportunity in a pipeline; every field may be absent."""

    id: str | None = None
    code: int | None = None
    title: str | None = None
    status: int | None = None
    # Sent on creation; not in the visible part of the documented answer.
    value: Decimal | None = None
    created_by: User | None = None
    stage: Stage | None = None
    pipeline_stages: list[Stage] = attrs.Factory(list)
    responsible: User | None = None
    deal_source: LeadSource | None = None
    marketing_lead_source: MarketingLeadSource | None = None
    quality_rating: int | None = None
    quality_reason: str | None = None
    won_date: datetime | None = None
    lost_date: datetime | None = None
    crm_loss_reason: LossReason | None = None
    lost_reason_description: str | None = None
    visibility: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    last_activity_at: datetime | None = None
    expected_close_date: datetime | None = None
    temperature: int | None = None
    participants: list[DealParticipant] = attrs.Factory(list)
