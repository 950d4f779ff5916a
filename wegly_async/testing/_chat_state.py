"""What the emulator knows of a chat beyond its timeline: people, assignment, unread, schedules."""

from __future__ import annotations

import random
import time
from typing import Final

import attrs

from ._history import JSON, format_timestamp, new_uuid

__all__ = [
    "INBOUND_CANCEL_DESCRIPTION",
    "ChatRecord",
    "People",
    "Person",
    "new_record",
    "now_stamp",
    "scheduled_message",
    "tomorrow_stamp",
]

# The people every emulator starts with, as (name, avatar file): the users a chat can be
# assigned to (each one an agent), and the roles a follower can have.
_USERS: Final = ("Camila Rocha", "Rafael Nogueira", "Beatriz Lima")
_ROLES: Final = ("Responsável", "Seguidor")
_DAY_MICROS: Final = 86_400_000_000
_COMPANY_ID: Final = "5f0c2a8e-9b1d-4c3e-8f7a-6d5e4c3b2a10"


def now_stamp() -> str:
    """Return the current time as the API formats it (milliseconds, ``Z``)."""
    return format_timestamp(time.time_ns() // 1_000_000 * 1_000)


@attrs.frozen
class Person:
    """A seeded user with the agent that acts for them."""

    user_id: str
    agent_id: str
    name: str

    def user(self) -> JSON:
        """Return the user as the API shows it."""
        return {"id": self.user_id, "name": self.name, "avatar": None}


class People:
    """The users, agents and roles of the emulated company."""

    def __init__(self, rng: random.Random) -> None:
        self.people = [Person(new_uuid(rng), new_uuid(rng), name) for name in _USERS]
        self.roles = [{"id": new_uuid(rng), "name": name} for name in _ROLES]
        self._by_user = {person.user_id: person for person in self.people}
        self._by_agent = {person.agent_id: person for person in self.people}

    def by_user(self, user_id: str) -> Person | None:
        """Return the person with this user id, if any."""
        return self._by_user.get(user_id.lower())

    def by_agent(self, agent_id: str) -> Person | None:
        """Return the person with this agent id, if any."""
        return self._by_agent.get(agent_id.lower())


@attrs.define
class ChatRecord:
    """A chat's own fields (API.md section 5) and who takes part in it."""

    id: str
    wa_contact_id: str
    phone_number_id: str
    created_at: str
    remote_profile_name: str | None = None
    status: str = "OPEN"
    unread_count: int = 0
    assigned: Person | None = None
    participants: set[str] = attrs.Factory(set)  # user ids
    person_contact_id: str | None = None
    crm_person_id: str | None = None
    updated_at: str | None = None

    def assign(self, person: Person | None) -> None:
        """Make ``person`` responsible (a participant too), or nobody."""
        self.assigned = person
        if person is not None:
            self.participants.add(person.user_id)
        self.touch()

    def remove(self, person: Person) -> bool:
        """Remove ``person`` from the participants (and the assignment); False if not one."""
        if person.user_id not in self.participants:
            return False
        self.participants.discard(person.user_id)
        if self.assigned == person:
            self.assigned = None
        self.touch()
        return True

    def touch(self) -> None:
        """Mark the chat changed now."""
        self.updated_at = now_stamp()

    def summary(self, last_message: JSON | None) -> JSON:
        """Return the chat as the participant and responsible routes show it."""
        return {
            "id": self.id,
            "wa_contact_id": self.wa_contact_id,
            "remote_profile_name": self.remote_profile_name,
            "status": self.status,
            "chat_type": "INDIVIDUAL",
            "unread_count": self.unread_count,
            "assigned_agent_id": self.assigned.agent_id if self.assigned else None,
            "last_message_at": (last_message or {}).get("meta_timestamp"),
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
        }

    def detail(self, last_message: JSON | None) -> JSON:
        """Return the chat as the get and create routes show it."""
        assigned = self.assigned
        return {
            **self.summary(last_message),
            "contact_name": self.remote_profile_name,
            "contact_number": self.wa_contact_id,
            "is_manually_unread": False,
            "priority": 0,
            "archived_at": None,
            "phone_number": {
                "id": self.phone_number_id,
                "display_number": "+55 11 4000-0000",
                "raw_number": "551140000000",
                "phone_number_id": "109876543210",
            },
            "assigned_agent": (
                {"agent_id": assigned.agent_id, "user": assigned.user()} if assigned else None
            ),
            "last_customer_msg_at": None,
            "session_expires_at": None,
            "last_message": last_message,
        }


def new_record(chat_id: str, rng: random.Random) -> ChatRecord:
    """Return the fields of a chat the emulator seeded (not opened through the API)."""
    number = f"55119{int(rng.random() * 10**8):08d}"
    return ChatRecord(chat_id, number, new_uuid(rng), now_stamp())


# Decision (the docs name only USER_REQUEST as a cancel reason): a contact's message cancels
# the chat's PENDING messages with cancel_on_inbound, no reason code, the cause said here.
INBOUND_CANCEL_DESCRIPTION: Final = "canceled: the contact wrote before it was sent"


def scheduled_message(
    chat_id: str, rng: random.Random, payload: JSON, scheduled_at: str, cancel_on_inbound: bool
) -> JSON:
    """Return a new PENDING scheduled message (API.md 4.8) as the API shows it."""
    stamp = now_stamp()
    return {
        "id": new_uuid(rng),
        "chat_id": chat_id,
        "company_id": _COMPANY_ID,
        "is_scheduled": True,
        "status": "PENDING",
        "message_kind": "OPEN_MESSAGE" if payload.get("type") != "template" else "TEMPLATE",
        "cancel_reason": None,
        "cancel_reason_description": None,
        "failure_reason": None,
        "cancel_on_inbound": cancel_on_inbound,
        "scheduled_at": scheduled_at,
        "processed_at": None,
        "sent_at": None,
        "canceled_at": None,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by_user_id": None,
        "sender_agent_id": None,
        "canceled_by_user_id": None,
        "payload": payload,
    }


def tomorrow_stamp() -> str:
    """Return this time tomorrow, the default moment of a seeded scheduled message."""
    return format_timestamp(time.time_ns() // 1_000_000 * 1_000 + _DAY_MICROS)
