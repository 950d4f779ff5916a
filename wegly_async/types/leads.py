"""Models of the lead routes: what creating a lead and adding a follower answer."""

from __future__ import annotations

import attrs

from .shared import Role, User

__all__ = ["Follower"]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Follower:
    """A user who follows a lead, in a role, with notes on why."""

    role: Role | None = None
    user: User | None = None
    notes: str | None = None
