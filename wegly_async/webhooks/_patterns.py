"""Event-key patterns ("lead.created", "lead.*", "*"): one rule for routers and subscriptions."""

from __future__ import annotations

__all__ = ["check_pattern", "matches"]


def check_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is an event key or a trailing wildcard, else raise ValueError."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("pattern must be an event key such as 'lead.created' or 'lead.*'")
    wildcard = pattern == "*" or (pattern.endswith(".*") and "*" not in pattern[:-1])
    if "*" in pattern and not wildcard:
        raise ValueError(f"pattern {pattern!r}: '*' may only end it, as in 'lead.*'")
    return pattern


def matches(pattern: str, event_key: str) -> bool:
    """Tell whether ``event_key`` is one ``pattern`` selects."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_key.startswith(pattern[:-1])
    return pattern == event_key
