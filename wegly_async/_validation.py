"""Checks on caller input, run before any request so bad input never reaches the network."""

from __future__ import annotations

import uuid

__all__ = ["check_chat_id", "check_int", "check_optional_text", "check_text"]


def check_chat_id(value: object, name: str = "chat_id") -> str:
    """Return ``value`` as a canonical UUID string, the only form allowed into a URL path."""
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


def check_text(value: object, name: str) -> str:
    """Return ``value`` when it is a string with something other than white space in it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def check_optional_text(value: object, name: str) -> str | None:
    """Return ``value`` when it is None or a non-empty string."""
    return None if value is None else check_text(value, name)


def check_int(value: object, name: str, *, minimum: int) -> int:
    """Return ``value`` when it is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value
