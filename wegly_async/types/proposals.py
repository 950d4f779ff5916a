"""Models of the proposal routes: a proposal, and the items an update adds, changes or removes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .._validation import (
    check_aware_datetime,
    check_bool,
    check_decimal,
    check_int,
    check_str,
    check_text,
    check_uuid,
)
from .shared import RecordRef, User

__all__ = ["Proposal", "ProposalItem"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Proposal:
    """A commercial proposal on a lead or deal, its money as exact ``Decimal``."""

    id: str | None = None
    lead: RecordRef | None = None
    deal: RecordRef | None = None
    code: int | None = None
    version: int | None = None
    title: str | None = None
    status: int | None = None
    notes: str | None = None
    is_primary: bool | None = None
    discount_type: int | None = None
    discount_value: Decimal | None = None
    subtotal: Decimal | None = None
    total: Decimal | None = None
    items_count: int | None = None
    valid_until: datetime | None = None
    created_by: User | None = None
    approved_by: User | None = None
    approved_at: datetime | None = None
    archived_at: datetime | None = None
    rejected_at: datetime | None = None


def _optional(check: Callable[[object, str], Any]) -> Callable[[Any, Any, object], None]:
    """Return an attrs validator that runs ``check`` on a value other than None."""

    def validate(instance: Any, attribute: Any, value: object) -> None:
        if value is not None:
            check(value, f"ProposalItem.{attribute.name}")

    return validate


def _decimal(value: Decimal | float | None) -> Decimal | None:
    """Turn an amount into a ``Decimal``; what is no amount is left for the validator to name."""
    try:
        return None if value is None else check_decimal(value, "amount")
    except (TypeError, ValueError):
        return value  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class ProposalItem:
    """A proposal line to add (no ``id``), change (its ``id``) or remove (``delete=True``)."""

    id: str | None = attrs.field(default=None, validator=_optional(check_text))
    delete: bool | None = attrs.field(default=None, validator=_optional(check_bool))
    product_id: str | None = attrs.field(default=None, validator=_optional(check_uuid))
    sku: str | None = attrs.field(default=None, validator=_optional(check_str))
    name: str | None = attrs.field(default=None, validator=_optional(check_str))
    description: str | None = attrs.field(default=None, validator=_optional(check_str))
    quantity: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_optional(check_decimal)
    )
    unit_price: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_optional(check_decimal)
    )
    unit: int | None = attrs.field(default=None, validator=_optional(check_int))
    discount_type: int | None = attrs.field(default=None, validator=_optional(check_int))
    discount_value: Decimal | None = attrs.field(
        default=None, converter=_decimal, validator=_optional(check_decimal)
    )
    notes: str | None = attrs.field(default=None, validator=_optional(check_str))
    is_recurring_default: bool | None = attrs.field(default=None, validator=_optional(check_bool))
    billing_interval_default: int | None = attrs.field(default=None, validator=_optional(check_int))
    contract_term_months: int | None = attrs.field(default=None, validator=_optional(check_int))
    start_date: datetime | None = attrs.field(
        default=None, validator=_optional(check_aware_datetime)
    )
    end_date: datetime | None = attrs.field(default=None, validator=_optional(check_aware_datetime))
    billing_cycles: int | None = attrs.field(default=None, validator=_optional(check_int))

    def __attrs_post_init__(self) -> None:
        if self.delete and self.id is None:
            raise ValueError("ProposalItem(delete=True) needs the id of the item to remove")
