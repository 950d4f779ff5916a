"""The emulator's chat routes through the SDK: state that hangs together, 404s and 400s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import wegly_async as wa
from wegly_async.testing import WeglyEmulator
from wegly_async.testing._chat_state import INBOUND_CANCEL_DESCRIPTION

PHONE_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    async with emu.client(max_retries=0) as c:
        yield c


async def status_and_message(
    client: wa.WeglyClient, method: str, path: str, json: Any
) -> tuple[int, Any]:
    with pytest.raises(wa.APIStatusError) as caught:
        await client.request(method, path, json=json)
    body = caught.value.body
    assert isinstance(body, dict)
    return caught.value.status_code, body["message"]


# --- create and get --------------------------------------------------------------------------


async def test_a_created_chat_reads_back_and_its_timeline_starts_with_the_template(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    agent_user = emu.users[0]
    created = await client.chats.create(
        whatsapp_phone_id=PHONE_ID,
        wa_contact_id="11999999999",
        template="saudacao_inicial",
        language="pt_BR",
        fields=[wa.TemplateField("BODY", "TEXT", 1, value="Ana")],
        remote_profile_name="Ana",
    )
    assert created.id in emu.chat_ids
    assert created.wa_contact_id == "11999999999"
    assert created.status is wa.ChatStatus.OPEN
    assert created.phone_number is not None
    assert created.phone_number.id == PHONE_ID
    assert created.assigned_agent is None
    assert created.last_message is not None
    assert created.last_message.type is wa.MessageType.TEMPLATE
    assert created.last_message.wamid is not None
    read = await client.chats.get(created.id or "")
    assert read.last_message == created.last_message
    assert (read.remote_profile_name, read.unread_count) == ("Ana", 0)
    events = await client.chats.timeline(created.id or "").to_list()
    assert len(events) == 1
    first = events[0].message
    assert first is not None
    assert first.content_payload is not None
    assert first.content_payload["template"] == {"name": "saudacao_inicial", "language": "pt_BR"}
    assert first.content_payload["template_fields"][0]["value"] == "Ana"
    assert agent_user.id is not None


async def test_create_with_an_assigned_agent_makes_its_user_responsible(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    someone = emu.users[1]
    chat = await client.chats.set_responsible(emu.create_chat(), someone.id or "")
    assert chat.assigned_agent_id is not None
    created = await client.chats.create(
        whatsapp_phone_id=PHONE_ID,
        wa_contact_id="5511",
        template="oi",
        language="pt_BR",
        assigned_agent_id=chat.assigned_agent_id,
    )
    assert created.assigned_agent is not None
    assert created.assigned_agent.user is not None
    assert created.assigned_agent.user.id == someone.id
    # The responsible user is a participant: removing them works once.
    await client.chats.remove_participant(created.id or "", someone.id or "")


async def test_create_with_an_unknown_agent_is_a_404_and_opens_no_chat(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    with pytest.raises(wa.NotFoundError, match="agent"):
        await client.chats.create(
            whatsapp_phone_id=PHONE_ID,
            wa_contact_id="5511",
            template="oi",
            language="pt_BR",
            assigned_agent_id=UNKNOWN,
        )
    assert emu.chat_ids == []


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"wa_contact_id": "1", "template": {"name": "a", "language": "b"}}, "whatsapp_phone_id"),
        ({"whatsapp_phone_id": PHONE_ID, "template": {"name": "a", "language": "b"}}, "wa_contact"),
        ({"whatsapp_phone_id": PHONE_ID, "wa_contact_id": "1"}, "template"),
        (
            {"whatsapp_phone_id": PHONE_ID, "wa_contact_id": "1", "template": {"name": "a"}},
            "template.language",
        ),
    ],
)
async def test_create_with_a_bad_body_is_a_400_with_a_message(
    emu: WeglyEmulator, client: wa.WeglyClient, body: Any, match: str
) -> None:
    status, message = await status_and_message(client, "POST", "/chats", body)
    assert status == 400
    assert match in message
    assert emu.chat_ids == []


async def test_get_of_an_unknown_chat_is_a_404(client: wa.WeglyClient) -> None:
    with pytest.raises(wa.NotFoundError, match="not found"):
        await client.chats.get(UNKNOWN)


async def test_a_seeded_chat_has_fields_and_its_newest_event_as_last_message(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat(events=20, seed=3)
    chat = await client.chats.get(chat_id)
    assert chat.id == chat_id
    assert chat.wa_contact_id
    assert chat.last_message is not None
    assert chat.last_message.id == emu.events(chat_id)[-1]["message"]["id"]


# --- unread ----------------------------------------------------------------------------------


async def test_unread_summary_counts_seeded_unread_messages_over_all_chats(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    assert await client.chats.unread_summary() == wa.UnreadSummary(
        unread_messages_total=0, unread_chats_total=0
    )
    first = emu.create_chat(events=5, seed=1, unread=3)
    emu.create_chat(unread=2)
    emu.create_chat(events=4)
    summary = await client.chats.unread_summary()
    assert summary == wa.UnreadSummary(unread_messages_total=5, unread_chats_total=2)
    chat = await client.chats.get(first)
    assert chat.unread_count == 3
    tail = emu.events(first)[-3:]
    assert [event["message"]["origin"] for event in tail] == ["INBOUND"] * 3
    assert len(emu.events(first)) == 8


@pytest.mark.parametrize(
    ("unread", "error"), [(-1, ValueError), (True, TypeError), ("2", TypeError)]
)
def test_create_chat_checks_unread(unread: Any, error: type) -> None:
    with pytest.raises(error, match="unread"):
        WeglyEmulator().create_chat(unread=unread)


# --- location and interactive ----------------------------------------------------------------


async def test_a_location_appears_in_the_timeline_with_its_payload(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat(events=3, seed=5)
    target = emu.events(chat_id)[-1]["message"]["content_payload"]["wamid"]
    result = await client.chats.send_location(
        chat_id, latitude=-23.55, longitude=-46.63, name="Escritório", reply_to=target
    )
    sent = result.records[0]
    assert sent.type is wa.MessageType.LOCATION
    last = emu.events(chat_id)[-1]["message"]
    assert last["id"] == sent.id
    assert last["content_payload"]["location"] == {
        "latitude": -23.55,
        "longitude": -46.63,
        "name": "Escritório",
        "address": None,
    }
    assert last["quoted_message"]["content_payload"]["wamid"] == target


async def test_buttons_and_lists_appear_in_the_timeline_with_their_payload(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat()
    await client.chats.send_buttons(
        chat_id, "Confirma?", [wa.Button("y", "Sim"), wa.Button("n", "Não")]
    )
    section = wa.ListSection("Planos", [wa.ListRow("pro", "Pro", "O melhor")])
    await client.chats.send_list(chat_id, "Escolha", button="Ver", sections=[section])
    events = await client.chats.timeline(chat_id).to_list()
    messages = [event.message for event in events]
    assert all(m is not None and m.type is wa.MessageType.INTERACTIVE for m in messages)
    buttons, listed = (m.content_payload for m in messages if m is not None)
    assert buttons == {
        "wamid": buttons and buttons["wamid"],
        "interactive": {
            "type": "button",
            "body": {"text": "Confirma?"},
            "action": {"buttons": [{"id": "y", "title": "Sim"}, {"id": "n", "title": "Não"}]},
        },
    }
    assert listed is not None
    assert listed["interactive"]["action"] == {
        "button": "Ver",
        "sections": [
            {"title": "Planos", "rows": [{"id": "pro", "title": "Pro", "description": "O melhor"}]}
        ],
    }
    assert [m.body_text for m in messages if m is not None] == ["Confirma?", "Escolha"]


@pytest.mark.parametrize(
    ("route", "body", "match"),
    [
        ("location", {"latitude": 91, "longitude": 0}, "latitude"),
        ("location", {"latitude": 0}, "longitude"),
        ("location", {"latitude": True, "longitude": 0}, "latitude"),
        (
            "interactive",
            {"interactive_type": "carousel", "body": {"text": "t"}, "action": {}},
            "interactive_type",
        ),
        (
            "interactive",
            {"interactive_type": "button", "body": {"text": "t"}, "action": {"buttons": []}},
            "1 to 3",
        ),
        (
            "interactive",
            {
                "interactive_type": "button",
                "body": {"text": "t"},
                "action": {"buttons": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]},
            },
            "unique",
        ),
        ("interactive", {"interactive_type": "button", "body": "t", "action": {}}, "body"),
        (
            "interactive",
            {
                "interactive_type": "list",
                "body": {"text": "t"},
                "action": {
                    "button": "b",
                    "sections": [{"title": "s", "rows": [{"id": "r", "title": "x" * 25}]}],
                },
            },
            "24",
        ),
    ],
)
async def test_bad_location_and_interactive_bodies_are_400s_and_store_nothing(
    emu: WeglyEmulator, client: wa.WeglyClient, route: str, body: Any, match: str
) -> None:
    chat_id = emu.create_chat()
    path = f"/chats/{chat_id}/messages/{route}"
    status, message = await status_and_message(client, "POST", path, body)
    assert status == 400
    assert match in message
    assert emu.events(chat_id) == []


async def test_sends_to_an_unknown_chat_are_404s(client: wa.WeglyClient) -> None:
    with pytest.raises(wa.NotFoundError):
        await client.chats.send_location(UNKNOWN, latitude=0, longitude=0)
    with pytest.raises(wa.NotFoundError):
        await client.chats.send_buttons(UNKNOWN, "t", [wa.Button("a", "A")])


# --- responsible and participants ------------------------------------------------------------


async def test_set_responsible_changes_what_get_returns(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat(events=2, seed=9)
    user = emu.users[2]
    summary = await client.chats.set_responsible(chat_id, user.id or "")
    chat = await client.chats.get(chat_id)
    assert chat.assigned_agent_id is not None
    assert chat.assigned_agent_id == summary.assigned_agent_id
    assert chat.assigned_agent == wa.AssignedAgent(
        agent_id=chat.assigned_agent_id, user=wa.User(id=user.id, name=user.name)
    )


async def test_set_responsible_without_update_chat_leaves_the_chat_alone(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat()
    await client.chats.set_responsible(
        chat_id, emu.users[0].id or "", update_chat=False, update_leads=True
    )
    assert (await client.chats.get(chat_id)).assigned_agent is None


async def test_removing_the_responsible_user_works_once_then_is_a_404(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat()
    user_id = emu.users[0].id or ""
    await client.chats.set_responsible(chat_id, user_id)
    summary = await client.chats.remove_participant(chat_id, user_id)
    assert summary.assigned_agent_id is None
    assert (await client.chats.get(chat_id)).assigned_agent is None
    with pytest.raises(wa.NotFoundError, match="not a participant"):
        await client.chats.remove_participant(chat_id, user_id)


async def test_unknown_users_are_404s(emu: WeglyEmulator, client: wa.WeglyClient) -> None:
    chat_id = emu.create_chat()
    with pytest.raises(wa.NotFoundError, match="user"):
        await client.chats.set_responsible(chat_id, UNKNOWN)
    with pytest.raises(wa.NotFoundError, match="user"):
        await client.chats.remove_participant(chat_id, UNKNOWN)
    with pytest.raises(wa.NotFoundError, match="chat"):
        await client.chats.set_responsible(UNKNOWN, emu.users[0].id or "")


async def test_a_bad_responsible_body_is_a_400(emu: WeglyEmulator, client: wa.WeglyClient) -> None:
    chat_id = emu.create_chat()
    body = {"user_id": emu.users[0].id, "update_chat": "yes"}
    status, message = await status_and_message(
        client, "PATCH", f"/chats/{chat_id}/responsible", body
    )
    assert (status, message) == (400, "update_chat must be a boolean")


def test_users_and_roles_are_seeded_models() -> None:
    emu = WeglyEmulator()
    assert len(emu.users) == 3
    assert all(isinstance(user, wa.User) and user.id and user.name for user in emu.users)
    assert len({user.id for user in emu.users}) == 3
    assert [role.name for role in emu.roles] == ["Responsável", "Seguidor"]
    assert all(isinstance(role, wa.Role) for role in emu.roles)


# --- scheduled messages ----------------------------------------------------------------------


async def test_patch_changes_a_seeded_scheduled_message(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat()
    scheduled_id = emu.schedule_message(chat_id)
    when = datetime(2030, 1, 2, 12, 0, tzinfo=UTC) + timedelta(milliseconds=5)
    message = await client.chats.update_scheduled_message(
        chat_id, scheduled_id, scheduled_at=when, cancel_on_inbound=True
    )
    assert message.id == scheduled_id
    assert message.status is wa.ScheduledMessageStatus.PENDING
    assert (message.scheduled_at, message.cancel_on_inbound) == (when, True)
    assert message.payload is not None
    assert message.payload["type"] == "text"
    changed = await client.chats.update_scheduled_message(
        chat_id, scheduled_id, template="lembrete", language="pt_BR"
    )
    assert changed.payload == {
        "type": "template",
        "template": {"name": "lembrete", "language": "pt_BR"},
        "template_fields": [],
    }
    assert changed.scheduled_at == when
    again = await client.chats.update_scheduled_message(chat_id, scheduled_id, text="Até amanhã")
    assert again.payload == {"type": "text", "body": "Até amanhã"}


async def test_schedule_message_takes_its_arguments(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id = emu.create_chat()
    when = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    scheduled_id = emu.schedule_message(
        chat_id, template="oi", scheduled_at=when, cancel_on_inbound=True
    )
    message = await client.chats.update_scheduled_message(chat_id, scheduled_id, reply_to="wamid.A")
    assert message.scheduled_at == when
    assert message.payload is not None
    assert message.payload["template"] == {"name": "oi", "language": "pt_BR"}
    assert message.payload["reference_wamid"] == "wamid.A"


async def test_a_contacts_message_cancels_the_scheduled_messages_that_asked_for_it(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id, other = emu.create_chat(), emu.create_chat()
    canceled = emu.schedule_message(chat_id, cancel_on_inbound=True)
    kept = emu.schedule_message(chat_id)
    elsewhere = emu.schedule_message(other, cancel_on_inbound=True)
    await client.chats.send_text(chat_id, "Lembrete enviado por nós")  # ours: cancels nothing
    before = await client.chats.update_scheduled_message(chat_id, canceled, text="a")
    assert before.status is wa.ScheduledMessageStatus.PENDING
    emu.receive_message(chat_id, "Já vi, obrigado")
    await emu.wait_deliveries()
    message = await client.chats.update_scheduled_message(chat_id, canceled, text="b")
    assert message.status is wa.ScheduledMessageStatus.CANCELED
    assert message.canceled_at is not None
    assert message.cancel_reason is None
    assert message.cancel_reason_description == INBOUND_CANCEL_DESCRIPTION
    for chat, scheduled in ((chat_id, kept), (other, elsewhere)):
        untouched = await client.chats.update_scheduled_message(chat, scheduled, text="c")
        assert (untouched.status, untouched.canceled_at) == (
            wa.ScheduledMessageStatus.PENDING,
            None,
        )


async def test_scheduled_messages_of_another_chat_or_unknown_are_404s(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    chat_id, other = emu.create_chat(), emu.create_chat()
    scheduled_id = emu.schedule_message(chat_id)
    with pytest.raises(wa.NotFoundError):
        await client.chats.update_scheduled_message(other, scheduled_id, text="x")
    with pytest.raises(wa.NotFoundError):
        await client.chats.update_scheduled_message(chat_id, UNKNOWN, text="x")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({}, "nothing to change"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"scheduled_at": "2030-01-01T10:00:00"}, "offset"),
        ({"cancel_on_inbound": "true"}, "cancel_on_inbound"),
        ({"type": "sticker"}, "type"),
        ({"type": "text"}, "body"),
        ({"template": {"name": "a", "language": "b"}}, "type=template"),
        ({"type": "template", "template": {"name": "a"}}, "template.language"),
        ({"template_fields": [{}]}, "template message"),
    ],
)
async def test_bad_scheduled_message_changes_are_400s_and_change_nothing(
    emu: WeglyEmulator, client: wa.WeglyClient, body: Any, match: str
) -> None:
    chat_id = emu.create_chat()
    scheduled_id = emu.schedule_message(chat_id, text="Original")
    path = f"/chats/{chat_id}/scheduled-messages/{scheduled_id}"
    status, message = await status_and_message(client, "PATCH", path, body)
    assert status == 400
    assert match in message
    kept = await client.chats.update_scheduled_message(
        chat_id, scheduled_id, cancel_on_inbound=False
    )
    assert kept.payload == {"type": "text", "body": "Original"}


def test_schedule_message_checks_its_arguments() -> None:
    emu = WeglyEmulator()
    chat_id = emu.create_chat()
    with pytest.raises(ValueError, match="unknown chat"):
        emu.schedule_message("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    with pytest.raises(TypeError, match="scheduled_at"):
        emu.schedule_message(chat_id, scheduled_at="2030-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        emu.schedule_message(chat_id, scheduled_at=datetime(2030, 1, 1))
    with pytest.raises(TypeError, match="cancel_on_inbound"):
        emu.schedule_message(chat_id, cancel_on_inbound=1)  # type: ignore[arg-type]


async def test_the_new_routes_need_the_token(emu: WeglyEmulator) -> None:
    async with wa.WeglyClient(token="wrong", base_url=emu.base_url, max_retries=0) as client:
        with pytest.raises(wa.AuthenticationError):
            await client.chats.unread_summary()


async def test_files_replace_the_stored_ones_over_the_real_transport(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Any
) -> None:
    chat_id = emu.create_chat()
    scheduled_id = emu.schedule_message(chat_id, text="Segue a proposta")
    pdf = tmp_path / "proposta.pdf"
    pdf.write_bytes(b"%PDF-1.7 " + bytes(range(256)))
    message = await client.chats.update_scheduled_message(
        chat_id, scheduled_id, cancel_on_inbound=True, files=[pdf, b"second file"]
    )
    assert message.cancel_on_inbound is True
    assert message.payload is not None
    assert message.payload["body"] == "Segue a proposta"
    assert message.payload["files"] == [
        {"file_name": "proposta.pdf", "mime_type": "application/pdf", "size": 265},
        {"file_name": "file", "mime_type": "application/octet-stream", "size": 11},
    ]
    replaced = await client.chats.update_scheduled_message(chat_id, scheduled_id, files=[b"x"])
    assert replaced.payload is not None
    assert [f["size"] for f in replaced.payload["files"]] == [1]
    emptied = await client.chats.update_scheduled_message(chat_id, scheduled_id, files=[])
    assert emptied.payload is not None
    assert emptied.payload["files"] == []
