"""Checks on caller input, run before any request so bad input never reaches the network.

Every check takes the value first and the name to show second, returns the value (as
the type it was checked to be) and raises ``TypeError`` for a wrong type, ``ValueError``
for a wrong value. The client, the export, the command line and the emulator all use
these, so one kind of mistake reads the same wherever it is made.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from decimal import Decimal

from ._enums import Order

__all__ = [
    "check_aware_datetime",
    "check_bool",
    "check_chat_id",
    "check_coordinate",
    "check_decimal",
    "check_header_text",
    "check_int",
    "check_label",
    "check_optional_text",
    "check_order",
    "check_seconds",
    "check_str",
    "check_text",
    "check_uuid",
]


def check_int(
    value: object, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` when it is an int (not a bool) within ``minimum`` and ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        if minimum is None:
            raise ValueError(f"{name} must be <= {maximum}, got {value}")
        raise ValueError(f"{name} must be from {minimum} to {maximum}, got {value}")
    return value


def check_seconds(value: object, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as a float when it is a finite number of seconds, >= 0 (or > 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` when it is a bool (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def check_str(value: object, name: str) -> str:
    """Return ``value`` when it is a string, empty or not."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` when it is one of ``choices``, else raise ValueError naming them."""
    if value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name} must be one of {shown}, got {value!r:.40}")
    return value


def check_text(value: object, name: str) -> str:
    """Return ``value`` when it is a string with something other than white space in it."""
    text = check_str(value, name)
    if not text.strip():
        raise ValueError(f"{name} must not be empty")
    return text


def check_optional_text(value: object, name: str) -> str | None:
    """Return ``value`` when it is None or a non-empty string."""
    return None if value is None else check_text(value, name)


def check_label(value: object, name: str, max_length: int) -> str:
    """Return ``value`` when it is non-empty text of at most ``max_length`` characters."""
    text = check_text(value, name)
    if len(text) > max_length:
        raise ValueError(f"{name} must be at most {max_length} characters, got {len(text)}")
    return text


def check_coordinate(value: object, name: str, limit: float) -> float:
    """Return ``value`` as a float when it is a finite number from ``-limit`` to ``limit``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} must be from {-limit:g} to {limit:g}, got {value!r}")
    return float(value)


def check_decimal(value: object, name: str) -> Decimal:
    """Return ``value`` as an exact ``Decimal``: a Decimal, an int, or a float by its shortest repr.

    A float goes through ``repr`` (``19.9`` stays ``19.9``, never ``19.8999999999999985...``);
    NaN and the infinities are refused, and so is a bool, which is no amount.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TypeError(f"{name} must be a Decimal, an int or a float, got {type(value).__name__}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_aware_datetime(value: object, name: str) -> datetime:
    """Return ``value`` when it is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, e.g. datetime.now(timezone.utc)")
    return value


def check_header_text(value: object, name: str) -> str:
    """Return ``value`` when it can go into an HTTP header: text without control characters."""
    text = check_str(value, name)
    if not text.strip() or any(ord(char) < 0x20 or char == "\x7f" for char in text):
        raise ValueError(f"{name} must be non-empty text without control characters, got {text!r}")
    return text


def check_order(value: object, name: str = "order") -> Order:
    """Return ``value`` as an ``Order``: ``Order.ASC``/``Order.DESC`` or ``"asc"``/``"desc"``."""
    if isinstance(value, Order):
        return value
    if isinstance(value, str):
        try:
            return Order(value.lower())
        except ValueError:
            pass
    raise ValueError(
        f"{name} must be 'asc' or 'desc' (or wa.Order.ASC / wa.Order.DESC), got {value!r}"
    )


def check_chat_id(value: object, name: str = "chat_id") -> str:
    """Return ``value`` as a canonical UUID string, the only form allowed into a URL path."""
    return check_uuid(value, name)


def check_uuid(value: object, name: str) -> str:
    """Return ``value`` (an id: chat, user, agent, ...) as a canonical UUID string."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a UUID string, got {type(value).__name__}")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(
            f"{name} must be a UUID like '3c90c3cc-0d44-4b50-8888-8dd25736052a', got {value!r}"
        ) from None
    # uuid.UUID also accepts braces, 'urn:uuid:' and missing hyphens; the API wants the plain form.
    if str(parsed) != value.lower():
        raise ValueError(f"{name} must be a UUID in the 8-4-4-4-12 form, got {value!r}")
    return str(parsed)
