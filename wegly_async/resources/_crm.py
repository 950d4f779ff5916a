"""Checks shared by lead and deal creation: titles, ratings, and the nested inputs.

A nested input (``person``, ``note``, ...) is a plain mapping with the wire keys, typed
by a ``...Param`` TypedDict; here it is checked key by key before any request, so a
typo is a ``TypeError`` rather than a field the server silently drops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .._constants import (
    MAX_QUALITY_RATING,
    MAX_RECORD_TITLE,
    MIN_QUALITY_RATING,
    VISIBILITY_VALUES,
)
from .._convert import format_utc
from .._validation import (
    check_aware_datetime,
    check_bool,
    check_decimal,
    check_int,
    check_label,
    check_text,
    check_uuid,
)
from ..types.shared import (
    FollowerParam,
    LeadSourceParam,
    MarketingParam,
    NoteParam,
    OrganizationParam,
    PersonContactParam,
    PersonParam,
)

__all__ = ["Check", "check_title", "optional", "record_body"]

Check = Callable[[Any, str], Any]


def optional(check: Check, value: object, name: str) -> Any:
    """Return ``check(value, name)``, or None when ``value`` is None."""
    return None if value is None else check(value, name)


def check_title(value: object, name: str = "title") -> str:
    """Return a lead's or deal's title: non-empty, at most 150 characters (API.md 4.9, 4.11)."""
    return check_label(value, name, MAX_RECORD_TITLE)


def check_quality_rating(value: object, name: str = "quality_rating") -> int:
    """Return a quality rating from 1 to 5."""
    return check_int(value, name, minimum=MIN_QUALITY_RATING, maximum=MAX_QUALITY_RATING)


def check_visibility(value: object, name: str = "visibility") -> int:
    """Return a visibility: 0 (the creator only) or 1 (the whole team)."""
    number = check_int(value, name)
    if number not in VISIBILITY_VALUES:
        raise ValueError(f"{name} must be 0 (the creator only) or 1 (the whole team), got {number}")
    return number


def _list_of(check: Check) -> Check:
    def check_all(values: object, name: str) -> list[Any]:
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise TypeError(f"{name} must be a list, got {type(values).__name__}")
        return [check(value, f"{name}[{index}]") for index, value in enumerate(values)]

    return check_all


def _params(cls: type, keys: Mapping[str, Check]) -> Check:
    """Return the check of a mapping typed by the TypedDict ``cls``, one check per key."""
    required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())

    def check(value: object, name: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise TypeError(
                f"{name} must be a mapping like {cls.__name__}, got {type(value).__name__}"
            )
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            raise TypeError(
                f"{name} has keys the API does not document: {', '.join(unknown)} "
                f"(a {cls.__name__} takes {', '.join(keys)}; send others with extra_body)"
            )
        missing = sorted(key for key in required if key not in value)
        if missing:
            raise TypeError(f"{name} needs {', '.join(missing)}")
        return {key: keys[key](item, f"{name}[{key!r}]") for key, item in value.items()}

    return check


_contact = _params(PersonContactParam, {"type": check_int, "value": check_text})
check_person = _params(
    PersonParam,
    {
        "name": check_text,
        "contacts": _list_of(_contact),
        "avoid_duplicate": check_bool,
        "duplicate_check_types": _list_of(check_int),
    },
)
check_organization = _params(OrganizationParam, {"name": check_text})
check_marketing = _params(MarketingParam, {"url_conversion": check_text})
check_lead_source = _params(LeadSourceParam, {"name": check_text})
check_note = _params(NoteParam, {"content": check_text, "is_pinned": check_bool})
check_followers = _list_of(_params(FollowerParam, {"user_id": check_uuid, "role_id": check_uuid}))


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be strings, got {type(key).__name__}")
    return dict(value)


def _utc(value: object, name: str) -> str:
    moment: datetime = check_aware_datetime(value, name)
    return format_utc(moment)


# Every field of lead and deal creation but the title (API.md 4.9, 4.11), with its check.
_FIELDS: dict[str, Check] = {
    "value": check_decimal,
    "expected_close_date": _utc,
    "stage_id": check_uuid,
    "responsible_id": check_uuid,
    "quality_rating": check_quality_rating,
    "quality_reason": check_text,
    "phone": check_text,
    "email": check_text,
    "visibility": check_visibility,
    "temperature": check_int,
    "tags": _list_of(check_text),
    "person_ids": _list_of(check_uuid),
    "person": check_person,
    "organization_id": check_uuid,
    "organization": check_organization,
    "custom_fields": _object,
    "marketing": check_marketing,
    "crm_lead_source_id": check_uuid,
    "lead_source": check_lead_source,
    "followers": check_followers,
    "note": check_note,
}


def record_body(title: object, fields: Mapping[str, object]) -> dict[str, Any]:
    """Return the JSON body that creates a lead or a deal: the title and the fields given."""
    body = {"title": check_title(title)}
    for name, value in fields.items():
        if value is not None:
            body[name] = _FIELDS[name](value, name)
    return body
