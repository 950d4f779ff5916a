"""Models more than one API group shares: people, roles, record references, CRM inputs.

The ``...Param`` classes are the nested inputs of lead and deal creation: plain mappings
with the wire keys (the Stainless convention), checked at run time before any request.
"""

# No ``from __future__ import annotations`` here: TypedDict finds ``Required`` keys only
# in evaluated annotations (Python 3.11-3.13), and the run-time checks read those keys.
from collections.abc import Iterable
from typing import Required, TypedDict

import attrs

__all__ = [
    "Agent",
    "FollowerParam",
    "LeadSourceParam",
    "MarketingParam",
    "NoteParam",
    "OrganizationParam",
    "PersonContactParam",
    "PersonParam",
    "RecordRef",
    "Role",
    "User",
]


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


@attrs.frozen(kw_only=True, weakref_slot=False)
class RecordRef:
    """A lead or deal named by its id, its number in the company (``code``) and its title."""

    id: str
    code: int | None = None
    title: str | None = None


class PersonContactParam(TypedDict):
    """One way to reach a new person: ``type`` 0 is a phone number."""

    type: int
    value: str


class PersonParam(TypedDict, total=False):
    """A person to create with the record, optionally matched against existing ones."""

    name: Required[str]
    contacts: Iterable[PersonContactParam]
    avoid_duplicate: bool
    duplicate_check_types: Iterable[int]


class OrganizationParam(TypedDict):
    """An organization to create (or find) by name."""

    name: str


class MarketingParam(TypedDict):
    """Where the record converted: a URL whose query may hold ``wegly_code``, ``utm_*``."""

    url_conversion: str


class LeadSourceParam(TypedDict):
    """A lead source named when it has no ``crm_lead_source`` record."""

    name: str


class FollowerParam(TypedDict):
    """A user who follows the record, in a role."""

    user_id: str
    role_id: str


class NoteParam(TypedDict, total=False):
    """A first note on the record, pinned or not."""

    content: Required[str]
    is_pinned: bool
