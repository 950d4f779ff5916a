"""Models more than one API group shares: the people on the CRM side and their roles."""

from __future__ import annotations

import attrs

__all__ = ["Agent", "Role", "User"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class User:
    """A Wegly user (a person on the CRM side)."""

    id: str | None = None
    name: str | None = None
    avatar: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Agent:
    """The agent responsible for a message, with its user."""

    id: str | None = None
    user: User | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Role:
    """A role a user can have on a lead or deal (a follower's, say)."""

    id: str | None = None
    name: str | None = None
