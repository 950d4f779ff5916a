"""client.chats beyond send and timeline: the exact request of every route on a MockTransport,
the documented answers decoding, bad input refused before any request, and the raw twins."""

from __future__ import annotations

import json
import math
import pathlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import CHAT_ID, Router

import wegly_async as wa
from wegly_async.testing import MockResponse

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
USER_ID = "9b2f4c1e-5d6a-4e7b-8c9d-0a1b2c3d4e5f"
PHONE_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SCHEDULED_ID = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
DOC_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
SENT = {"total": 1, "records": [{"id": "6f1c0a52-3b8e-4f45-9d0e-2a7e5b1c9d10"}]}


def doc(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


CHAT_DOC = doc("chat_response_doc")
SUMMARY_DOC = doc("chat_summary_response_doc")
UNREAD_DOC = doc("unread_response_doc")
SCHEDULED_DOC = doc("scheduled_message_response_doc")
REDUCED_DOC = doc("send_reduced_response_doc")


def only_request(router: Router) -> wa.TransportRequest:
    assert len(router.requests) == 1
    return router.requests[0]


def sent(router: Router) -> tuple[str, str, Any]:
    request = only_request(router)
    assert request.params == {}
    body = None if request.content is None else json.loads(request.content)
    if body is not None:
        assert request.headers["Content-Type"] == "application/json"
    return request.method, request.path, body


# --- create ----------------------------------------------------------------------------------


async def test_create_sends_the_template_and_every_given_field(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/chats", json=CHAT_DOC)
    chat = await mock_client.chats.create(
        whatsapp_phone_id=PHONE_ID,
        wa_contact_id="11999999999",
        template="saudacao_inicial",
        language="pt_BR",
        fields=[wa.TemplateField("BODY", "TEXT", 1, value="Ana")],
        person_contact_id=USER_ID,
        remote_profile_name="Ana",
        crm_person_id=SCHEDULED_ID,
        assigned_agent_id=DOC_ID,
        status=wa.ChatStatus.OPEN,
    )
    assert sent(router) == (
        "POST",
        "/chats",
        {
            "whatsapp_phone_id": PHONE_ID,
            "wa_contact_id": "11999999999",
            "template": {"name": "saudacao_inicial", "language": "pt_BR"},
            "template_fields": [{"component": "BODY", "type": "TEXT", "index": 1, "value": "Ana"}],
            "person_contact_id": USER_ID,
            "remote_profile_name": "Ana",
            "crm_person_id": SCHEDULED_ID,
            "assigned_agent_id": DOC_ID,
            "status": "OPEN",
        },
    )
    assert isinstance(chat, wa.Chat)
    assert chat.id == DOC_ID


async def test_create_sends_only_the_required_fields_by_default(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/chats", json=SUMMARY_DOC)
    await mock_client.chats.create(
        whatsapp_phone_id=PHONE_ID, wa_contact_id="5511", template="oi", language="pt_BR"
    )
    assert sent(router)[2] == {
        "whatsapp_phone_id": PHONE_ID,
        "wa_contact_id": "5511",
        "template": {"name": "oi", "language": "pt_BR"},
    }


async def test_create_is_never_retried_after_it_may_have_reached_the_server(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/chats", raises=wa.TransportError("ServerDisconnectedError"))
    with pytest.raises(wa.SendOutcomeUnknownError):
        await mock_client.chats.create(
            whatsapp_phone_id=PHONE_ID, wa_contact_id="5511", template="oi", language="pt_BR"
        )
    assert len(router.requests) == 1


# --- get and the Chat model ------------------------------------------------------------------


async def test_get_reads_the_chat_and_decodes_every_documented_field(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/chats/{CHAT_ID}", json=CHAT_DOC)
    chat = await mock_client.chats.get(CHAT_ID)
    assert sent(router) == ("GET", f"/chats/{CHAT_ID}", None)
    assert chat.status is wa.ChatStatus.OPEN
    assert chat.chat_type is wa.ChatType.INDIVIDUAL
    assert (chat.unread_count, chat.priority, chat.is_manually_unread) == (123, 123, True)
    assert chat.assigned_agent_id == DOC_ID
    assert chat.phone_number == wa.PhoneNumber(
        id=DOC_ID, display_number="<string>", raw_number="<string>", phone_number_id="<string>"
    )
    assert isinstance(chat.assigned_agent, wa.AssignedAgent)
    assert chat.assigned_agent.agent_id == DOC_ID
    assert chat.assigned_agent.user == wa.User(id=DOC_ID, name="<string>", avatar="<string>")
    for moment in (chat.archived_at, chat.last_message_at, chat.session_expires_at):
        assert moment == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    message = chat.last_message
    assert isinstance(message, wa.Message)
    assert message.status is wa.MessageStatus.PROCESSING
    assert message.content_payload == {}
    assert message.meta_timestamp == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)


async def test_a_chat_with_unknown_enum_values_and_fields_still_decodes(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(
        f"/chats/{CHAT_ID}",
        json={"id": CHAT_ID, "status": "SNOOZED", "chat_type": "GROUP", "brand_new": [1]},
    )
    chat = await mock_client.chats.get(CHAT_ID)
    assert (chat.status, chat.chat_type) == ("SNOOZED", "GROUP")
    assert not chat.status.is_known
    assert chat.last_message is None


async def test_get_is_retried_like_any_read(router: Router, mock_client: wa.WeglyClient) -> None:
    router.get(f"/chats/{CHAT_ID}", 503)
    router.get(f"/chats/{CHAT_ID}", json=SUMMARY_DOC)
    chat = await mock_client.chats.get(CHAT_ID)
    assert chat.wa_contact_id == "<string>"
    assert len(router.requests) == 2


async def test_get_of_an_unknown_chat_raises_not_found(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/chats/{CHAT_ID}", 404, json={"message": "chat not found"})
    with pytest.raises(wa.NotFoundError, match="chat not found"):
        await mock_client.chats.get(CHAT_ID)


async def test_a_chat_answer_that_is_not_an_object_is_an_invalid_response(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/chats/{CHAT_ID}", json=[CHAT_DOC])
    with pytest.raises(wa.InvalidResponseError):
        await mock_client.chats.get(CHAT_ID)


# --- wamid -----------------------------------------------------------------------------------


def test_message_wamid_comes_from_the_content_payload() -> None:
    message = wa.Message(id=DOC_ID, content_payload={"wamid": "wamid.HBgM1"})
    assert message.wamid == "wamid.HBgM1"


@pytest.mark.parametrize("payload", [None, {}, {"wamid": 12}, {"wamid": ""}, {"wamid": None}])
def test_message_wamid_is_none_when_the_api_gives_none(payload: Any) -> None:
    assert wa.Message(id=DOC_ID, content_payload=payload).wamid is None


# --- unread summary --------------------------------------------------------------------------


async def test_unread_summary(router: Router, mock_client: wa.WeglyClient) -> None:
    router.get("/chats/notifications/unread", json=UNREAD_DOC)
    summary = await mock_client.chats.unread_summary()
    assert sent(router) == ("GET", "/chats/notifications/unread", None)
    assert summary == wa.UnreadSummary(unread_messages_total=123, unread_chats_total=123)


async def test_an_unread_summary_without_its_counts_is_an_invalid_response(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get("/chats/notifications/unread", json={"unread_messages_total": 1})
    with pytest.raises(wa.InvalidResponseError):
        await mock_client.chats.unread_summary()


# --- location --------------------------------------------------------------------------------


async def test_send_location_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/location", json=REDUCED_DOC)
    result = await mock_client.chats.send_location(
        CHAT_ID,
        latitude=-23.5505,
        longitude=-46.6333,
        name="Escritório",
        address="Av. Paulista, 1000",
        reply_to="wamid.X",
    )
    assert sent(router) == (
        "POST",
        f"/chats/{CHAT_ID}/messages/location",
        {
            "latitude": -23.5505,
            "longitude": -46.6333,
            "name": "Escritório",
            "address": "Av. Paulista, 1000",
            "reference_wamid": "wamid.X",
        },
    )
    # The reduced message shape of the docs: no type, a plain-string meta_timestamp.
    message = result.records[0]
    assert (message.type, message.content_payload) == (None, {})
    assert message.meta_timestamp == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)


async def test_send_location_accepts_the_bounds_and_ints(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/location", json=SENT)
    await mock_client.chats.send_location(CHAT_ID, latitude=90, longitude=-180)
    assert sent(router)[2] == {"latitude": 90.0, "longitude": -180.0}


@pytest.mark.parametrize(
    ("latitude", "longitude", "error"),
    [
        (90.0001, 0, ValueError),
        (-91, 0, ValueError),
        (0, 180.5, ValueError),
        (0, -181, ValueError),
        (math.nan, 0, ValueError),
        (0, math.inf, ValueError),
        (-math.inf, 0, ValueError),
        (True, 0, TypeError),
        (0, False, TypeError),
        ("1.5", 0, TypeError),
        (None, 0, TypeError),
    ],
)
async def test_send_location_refuses_bad_coordinates_before_any_request(
    router: Router, mock_client: wa.WeglyClient, latitude: Any, longitude: Any, error: type
) -> None:
    with pytest.raises(error, match=r"latitude|longitude"):
        await mock_client.chats.send_location(CHAT_ID, latitude=latitude, longitude=longitude)
    assert router.requests == []


# --- buttons ---------------------------------------------------------------------------------


async def test_send_buttons_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/interactive", json=SENT)
    buttons = [wa.Button("yes", "Sim"), wa.Button("no", "Não"), wa.Button("later", "Depois")]
    result = await mock_client.chats.send_buttons(
        CHAT_ID, "Confirma a visita?", buttons, reply_to="wamid.Q"
    )
    assert sent(router) == (
        "POST",
        f"/chats/{CHAT_ID}/messages/interactive",
        {
            "interactive_type": "button",
            "body": {"text": "Confirma a visita?"},
            "action": {
                "buttons": [
                    {"id": "yes", "title": "Sim"},
                    {"id": "no", "title": "Não"},
                    {"id": "later", "title": "Depois"},
                ]
            },
            "reference_wamid": "wamid.Q",
        },
    )
    assert isinstance(result, wa.SendResult)


async def test_send_buttons_takes_any_iterable(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/interactive", json=SENT)
    await mock_client.chats.send_buttons(CHAT_ID, "ok?", (b for b in [wa.Button("a", "A")]))
    assert sent(router)[2]["action"] == {"buttons": [{"id": "a", "title": "A"}]}


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (list, ValueError, "1 to 3"),
        (lambda: [wa.Button(str(n), "t") for n in range(4)], ValueError, "1 to 3"),
        (lambda: [wa.Button("a", "A"), wa.Button("a", "B")], ValueError, "unique"),
        (lambda: [{"id": "a", "title": "A"}], TypeError, "Button"),
        (lambda: "yes", TypeError, "sequence"),
        (lambda: None, TypeError, "sequence"),
    ],
)
async def test_send_buttons_refuses_bad_buttons_before_any_request(
    router: Router, mock_client: wa.WeglyClient, make: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        await mock_client.chats.send_buttons(CHAT_ID, "ok?", make())
    assert router.requests == []


@pytest.mark.parametrize(
    ("text", "error"),
    [("", ValueError), ("  ", ValueError), ("x" * 1025, ValueError), (1, TypeError)],
)
async def test_interactive_body_text_is_checked(
    router: Router, mock_client: wa.WeglyClient, text: Any, error: type
) -> None:
    with pytest.raises(error, match="text"):
        await mock_client.chats.send_buttons(CHAT_ID, text, [wa.Button("a", "A")])
    assert router.requests == []


async def test_a_body_of_exactly_1024_characters_is_sent(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/interactive", json=SENT)
    await mock_client.chats.send_buttons(CHAT_ID, "x" * 1024, [wa.Button("a", "A" * 20)])
    assert len(sent(router)[2]["body"]["text"]) == 1024


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("a", "x" * 21), ValueError),
        (("a", ""), ValueError),
        (("", "A"), ValueError),
        (("i" * 257, "A"), ValueError),
        ((1, "A"), TypeError),
        (("a", None), TypeError),
    ],
)
def test_button_checks_its_id_and_title(args: tuple[Any, Any], error: type) -> None:
    with pytest.raises(error, match="Button"):
        wa.Button(*args)


# --- lists -----------------------------------------------------------------------------------


def sections() -> list[wa.ListSection]:
    return [
        wa.ListSection(
            "Planos",
            [wa.ListRow("basic", "Básico", "R$ 49/mês"), wa.ListRow("pro", "Pro")],
        ),
        wa.ListSection("Ajuda", (wa.ListRow("human", "Falar com alguém"),)),
    ]


async def test_send_list_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/interactive", json=SENT)
    await mock_client.chats.send_list(
        CHAT_ID, "Escolha um plano", button="Ver planos", sections=sections()
    )
    assert sent(router) == (
        "POST",
        f"/chats/{CHAT_ID}/messages/interactive",
        {
            "interactive_type": "list",
            "body": {"text": "Escolha um plano"},
            "action": {
                "button": "Ver planos",
                "sections": [
                    {
                        "title": "Planos",
                        "rows": [
                            {"id": "basic", "title": "Básico", "description": "R$ 49/mês"},
                            {"id": "pro", "title": "Pro"},
                        ],
                    },
                    {"title": "Ajuda", "rows": [{"id": "human", "title": "Falar com alguém"}]},
                ],
            },
        },
    )


def _rows(count: int, prefix: str = "r") -> list[wa.ListRow]:
    return [wa.ListRow(f"{prefix}{n}", f"Row {n}") for n in range(count)]


@pytest.mark.parametrize(
    ("button", "make", "error", "match"),
    [
        ("Ver", list, ValueError, "1 to 10"),
        (
            "Ver",
            lambda: [wa.ListSection(f"S{n}", _rows(1, f"s{n}-")) for n in range(11)],
            ValueError,
            "1 to 10",
        ),
        (
            "Ver",
            lambda: [wa.ListSection("A", _rows(6, "a")), wa.ListSection("B", _rows(5, "b"))],
            ValueError,
            "10 rows",
        ),
        (
            "Ver",
            lambda: [wa.ListSection("A", _rows(2)), wa.ListSection("B", _rows(1))],
            ValueError,
            "unique",
        ),
        ("", lambda: [wa.ListSection("A", _rows(1))], ValueError, "button"),
        ("x" * 21, lambda: [wa.ListSection("A", _rows(1))], ValueError, "button"),
        (None, lambda: [wa.ListSection("A", _rows(1))], TypeError, "button"),
        ("Ver", lambda: [_rows(1)], TypeError, "ListSection"),
    ],
)
async def test_send_list_refuses_what_whatsapp_would_before_any_request(
    router: Router, mock_client: wa.WeglyClient, button: Any, make: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        await mock_client.chats.send_list(CHAT_ID, "Escolha", button=button, sections=make())
    assert router.requests == []


async def test_ten_rows_over_several_sections_are_allowed(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(f"/chats/{CHAT_ID}/messages/interactive", json=SENT)
    chosen = [wa.ListSection("A", _rows(6, "a")), wa.ListSection("B", _rows(4, "b"))]
    await mock_client.chats.send_list(CHAT_ID, "Escolha", button="x" * 20, sections=chosen)
    assert len(router.requests) == 1


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: wa.ListRow("a", "x" * 25), ValueError),
        (lambda: wa.ListRow("a", "A", "d" * 73), ValueError),
        (lambda: wa.ListRow("a", "A", ""), ValueError),
        (lambda: wa.ListRow("a", "A", 5), TypeError),
        (lambda: wa.ListSection("x" * 25, _rows(1)), ValueError),
        (lambda: wa.ListSection("A", []), ValueError),
        (lambda: wa.ListSection("A", "rows"), TypeError),
        (lambda: wa.ListSection("A", [wa.Button("a", "A")]), TypeError),
    ],
)
def test_rows_and_sections_check_themselves(make: Any, error: type) -> None:
    with pytest.raises(error, match=r"ListRow|ListSection"):
        make()


def test_a_section_keeps_its_rows_as_a_tuple() -> None:
    rows = _rows(2)
    section = wa.ListSection("A", rows)
    rows.append(wa.ListRow("late", "Late"))
    assert section.rows == tuple(_rows(2))
    assert wa.ListRow("a", "A", "d" * 72).description == "d" * 72


# --- participants and the responsible user ---------------------------------------------------


async def test_remove_participant(router: Router, mock_client: wa.WeglyClient) -> None:
    path = f"/chats/{CHAT_ID}/participants/{USER_ID}"
    router.add("DELETE", path, json=SUMMARY_DOC)
    chat = await mock_client.chats.remove_participant(CHAT_ID, USER_ID)
    assert sent(router) == ("DELETE", path, None)
    assert chat.id == DOC_ID
    assert chat.phone_number is None


async def test_remove_participant_is_retried_after_a_lost_answer(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    path = f"/chats/{CHAT_ID}/participants/{USER_ID}"
    router.add("DELETE", path, raises=wa.TransportError("ServerDisconnectedError"))
    router.add("DELETE", path, json=SUMMARY_DOC)
    await mock_client.chats.remove_participant(CHAT_ID, USER_ID)
    assert len(router.requests) == 2


@pytest.mark.parametrize("update_leads", [True, False])
async def test_set_responsible_sends_all_four_fields(
    router: Router, mock_client: wa.WeglyClient, update_leads: bool
) -> None:
    router.add("PATCH", f"/chats/{CHAT_ID}/responsible", json=SUMMARY_DOC)
    chat = await mock_client.chats.set_responsible(CHAT_ID, USER_ID, update_leads=update_leads)
    assert sent(router) == (
        "PATCH",
        f"/chats/{CHAT_ID}/responsible",
        {
            "user_id": USER_ID,
            "update_chat": True,
            "update_leads": update_leads,
            "update_deals": False,
        },
    )
    assert chat.assigned_agent_id == DOC_ID


async def test_set_responsible_is_retried_after_a_lost_answer(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add(
        "PATCH",
        f"/chats/{CHAT_ID}/responsible",
        raises=wa.TransportError("TimeoutError", timed_out=True),
    )
    router.add("PATCH", f"/chats/{CHAT_ID}/responsible", json=SUMMARY_DOC)
    await mock_client.chats.set_responsible(CHAT_ID, USER_ID, update_chat=False, update_deals=True)
    assert len(router.requests) == 2
    assert json.loads(router.requests[1].content or b"")["update_deals"] is True


@pytest.mark.parametrize("flag", ["update_chat", "update_leads", "update_deals"])
async def test_set_responsible_flags_must_be_bools(
    router: Router, mock_client: wa.WeglyClient, flag: str
) -> None:
    with pytest.raises(TypeError, match=flag):
        await mock_client.chats.set_responsible(CHAT_ID, USER_ID, **{flag: 1})
    assert router.requests == []


# --- scheduled messages ----------------------------------------------------------------------

SCHEDULED_PATH = f"/chats/{CHAT_ID}/scheduled-messages/{SCHEDULED_ID}"


async def test_update_scheduled_message_sends_only_what_changes(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC)
    when = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-3)))
    message = await mock_client.chats.update_scheduled_message(
        CHAT_ID, SCHEDULED_ID, scheduled_at=when
    )
    assert sent(router) == ("PATCH", SCHEDULED_PATH, {"scheduled_at": "2026-03-01T12:30:00Z"})
    assert isinstance(message, wa.ScheduledMessage)
    assert message.status is wa.ScheduledMessageStatus.PENDING
    assert message.message_kind is wa.MessageKind.OPEN_MESSAGE
    assert message.cancel_reason is wa.CancelReason.USER_REQUEST
    assert message.scheduled_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert message.payload is not None
    assert message.payload["template"] == {"name": "<string>", "language": "<string>"}


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"text": "Lembrete: amanhã às 10h"}, {"type": "text", "body": "Lembrete: amanhã às 10h"}),
        (
            {
                "template": "lembrete",
                "language": "pt_BR",
                "fields": [wa.TemplateField("BODY", "TEXT", 1, value="Ana")],
            },
            {
                "type": "template",
                "template": {"name": "lembrete", "language": "pt_BR"},
                "template_fields": [
                    {"component": "BODY", "type": "TEXT", "index": 1, "value": "Ana"}
                ],
            },
        ),
        (
            {"template": "lembrete", "language": "pt_BR"},
            {"type": "template", "template": {"name": "lembrete", "language": "pt_BR"}},
        ),
        ({"fields": []}, {"template_fields": []}),
        ({"cancel_on_inbound": False}, {"cancel_on_inbound": False}),
        ({"reply_to": "wamid.Z"}, {"reference_wamid": "wamid.Z"}),
    ],
)
async def test_update_scheduled_message_bodies(
    router: Router, mock_client: wa.WeglyClient, kwargs: dict[str, Any], body: Any
) -> None:
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC)
    await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, **kwargs)
    assert sent(router)[2] == body


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "changes nothing"),
        ({"text": "a", "template": "t", "language": "pt_BR"}, ValueError, "not both"),
        ({"template": "t"}, ValueError, "together"),
        ({"language": "pt_BR"}, ValueError, "together"),
        ({"template": "", "language": "pt_BR"}, ValueError, "name"),
        ({"template": "t", "language": " "}, ValueError, "language"),
        ({"text": ""}, ValueError, "text"),
        ({"scheduled_at": datetime(2026, 3, 1, 9, 30)}, ValueError, "timezone-aware"),
        ({"scheduled_at": "2026-03-01T09:30:00Z"}, TypeError, "scheduled_at"),
        ({"cancel_on_inbound": "yes"}, TypeError, "cancel_on_inbound"),
        ({"fields": [{"component": "BODY"}]}, TypeError, "TemplateField"),
    ],
)
async def test_update_scheduled_message_refuses_bad_input_before_any_request(
    router: Router, mock_client: wa.WeglyClient, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, **kwargs)
    assert router.requests == []


# --- ids, options and raw twins --------------------------------------------------------------


def _calls(chats: Any, bad: str) -> list[Any]:
    return [
        lambda: chats.get(bad),
        lambda: chats.send_location(bad, latitude=0, longitude=0),
        lambda: chats.send_buttons(bad, "t", [wa.Button("a", "A")]),
        lambda: chats.send_list(bad, "t", button="b", sections=[wa.ListSection("A", _rows(1))]),
        lambda: chats.remove_participant(bad, USER_ID),
        lambda: chats.remove_participant(CHAT_ID, bad),
        lambda: chats.set_responsible(bad, USER_ID),
        lambda: chats.set_responsible(CHAT_ID, bad),
        lambda: chats.update_scheduled_message(bad, SCHEDULED_ID, text="t"),
        lambda: chats.update_scheduled_message(CHAT_ID, bad, text="t"),
        lambda: chats.create(whatsapp_phone_id=bad, wa_contact_id="1", template="t", language="l"),
        lambda: chats.create(
            whatsapp_phone_id=PHONE_ID,
            wa_contact_id="1",
            template="t",
            language="l",
            assigned_agent_id=bad,
        ),
    ]


@pytest.mark.parametrize("index", range(12))
@pytest.mark.parametrize(
    "bad",
    [
        "../../admin",
        "3c90c3cc0d444b5088888dd25736052a",
        "{3c90c3cc-0d44-4b50-8888-8dd25736052a}",
        "",
    ],
)
async def test_ids_that_are_not_uuids_never_reach_a_path(
    router: Router, mock_client: wa.WeglyClient, index: int, bad: str
) -> None:
    with pytest.raises(ValueError, match="UUID"):
        await _calls(mock_client.chats, bad)[index]()
    assert router.requests == []


async def test_every_new_route_takes_the_per_call_options(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get("/chats/notifications/unread", json=UNREAD_DOC)
    await mock_client.chats.unread_summary(
        extra_headers={"X-Trace": "t1"}, extra_query={"debug": 1}, timeout=5
    )
    request = only_request(router)
    assert request.headers["X-Trace"] == "t1"
    assert request.params == {"debug": "1"}
    assert request.timeout.total == 5
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        await mock_client.chats.get(CHAT_ID, bogus=1)  # type: ignore[call-arg]
    assert len(router.requests) == 1


async def test_extra_body_is_merged_into_a_new_routes_json(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PATCH", f"/chats/{CHAT_ID}/responsible", json=SUMMARY_DOC)
    await mock_client.chats.set_responsible(CHAT_ID, USER_ID, extra_body={"note": "vacation"})
    assert sent(router)[2]["note"] == "vacation"


async def test_the_raw_twins_give_the_answer_and_parse_it(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    raw_chats = mock_client.chats.with_raw_response
    router.get(f"/chats/{CHAT_ID}", json=CHAT_DOC, headers={"X-Request-Id": "r1"})
    router.get("/chats/notifications/unread", json=UNREAD_DOC)
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC)
    router.add("DELETE", f"/chats/{CHAT_ID}/participants/{USER_ID}", json=SUMMARY_DOC)
    router.post(f"/chats/{CHAT_ID}/messages/location", json=SENT)
    raw = await raw_chats.get(CHAT_ID)
    assert isinstance(raw, wa.RawResponse)
    assert raw.headers["x-request-id"] == "r1"
    assert raw.json() == CHAT_DOC
    assert raw.parse().id == DOC_ID
    assert (await raw_chats.unread_summary()).parse().unread_chats_total == 123
    assert (
        await raw_chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, text="x")
    ).parse().id == DOC_ID
    assert isinstance((await raw_chats.remove_participant(CHAT_ID, USER_ID)).parse(), wa.Chat)
    assert (await raw_chats.send_location(CHAT_ID, latitude=1, longitude=2)).status_code == 200
    names = ["create", "send_buttons", "send_list", "set_responsible"]
    assert all(callable(getattr(raw_chats, name)) for name in names)


async def test_a_raw_twin_still_raises_on_an_error_status(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PATCH", f"/chats/{CHAT_ID}/responsible", 404, json={"message": "user not found"})
    with pytest.raises(wa.NotFoundError, match="user not found"):
        await mock_client.chats.with_raw_response.set_responsible(CHAT_ID, USER_ID)


async def test_the_token_is_not_in_an_error_from_a_new_route(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    from conftest import TOKEN, assert_secret_absent

    router.post(
        f"/chats/{CHAT_ID}/messages/interactive",
        400,
        json={"message": f"bad header Bearer {TOKEN}"},
    )
    with pytest.raises(wa.BadRequestError) as caught:
        await mock_client.chats.send_buttons(CHAT_ID, "t", [wa.Button("a", "A")])
    assert_secret_absent(caught.value, TOKEN)


async def test_a_handler_sees_the_interactive_route_answer_shape(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    def answer(request: wa.TransportRequest) -> MockResponse:
        body = json.loads(request.content or b"")
        return MockResponse(
            201, json={"total": 1, "records": [{"id": DOC_ID, "body_text": body["body"]["text"]}]}
        )

    router.post(f"/chats/{CHAT_ID}/messages/interactive", handler=answer)
    result = await mock_client.chats.send_buttons(CHAT_ID, "Olá", [wa.Button("a", "A")])
    assert result.records[0].body_text == "Olá"


# --- scheduled messages with files -----------------------------------------------------------


def form_parts(request: wa.TransportRequest) -> list[tuple[str, str | None, str | None, bytes]]:
    """Return every part of a rendered multipart body as (name, filename, type, data)."""
    assert request.multipart is not None
    assert request.content is not None
    boundary = request.headers["Content-Type"].split("boundary=")[1].encode()
    chunks = request.content.split(b"--" + boundary)
    assert chunks[0] == b""
    assert chunks[-1] == b"--\r\n"
    parts = []
    for chunk in chunks[1:-1]:
        head, _, data = chunk[2:].partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        disposition = lines[0]
        name = disposition.split('name="')[1].split('"')[0]
        filename = (
            disposition.split('filename="')[1].split('"')[0] if "filename=" in disposition else None
        )
        content_type = lines[1].split(": ")[1] if len(lines) > 1 else None
        parts.append((name, filename, content_type, data.removesuffix(b"\r\n")))
    return parts


async def test_files_go_as_multipart_with_replace_files_and_text_booleans(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC)
    brochure = tmp_path / "Proposta nº 7.pdf"
    brochure.write_bytes(b"%PDF-1.7 proposal")
    await mock_client.chats.update_scheduled_message(
        CHAT_ID,
        SCHEDULED_ID,
        cancel_on_inbound=False,
        template="proposta",
        language="pt_BR",
        fields=[wa.TemplateField("BODY", "TEXT", 1, value="Ana")],
        files=[brochure, b"\x89PNG raw"],
    )
    request = only_request(router)
    assert (request.method, request.path) == ("PATCH", SCHEDULED_PATH)
    parts = form_parts(request)
    assert {name: data for name, filename, _, data in parts if filename is None} == {
        "cancel_on_inbound": b"false",
        "type": b"template",
        "template": b'{"name":"proposta","language":"pt_BR"}',
        "template_fields": b'[{"component":"BODY","type":"TEXT","index":1,"value":"Ana"}]',
        "replace_files": b"true",
    }
    assert [part for part in parts if part[1] is not None] == [
        ("file", "Proposta nº 7.pdf", "application/pdf", b"%PDF-1.7 proposal"),
        ("file", "file", "application/octet-stream", b"\x89PNG raw"),
    ]
    # Text parts come first, then the files in the order given.
    assert [part[0] for part in parts][-2:] == ["file", "file"]


async def test_files_alone_are_a_change_and_an_empty_list_removes_them(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC, repeat=True)
    await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, files=[b"data"])
    assert [part[0] for part in form_parts(router.requests[0])] == ["replace_files", "file"]
    await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, files=[])
    assert json.loads(router.requests[1].content or b"") == {"replace_files": True}
    assert router.requests[1].multipart is None


async def test_a_file_upload_is_retried_when_its_files_can_be_replayed(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PATCH", SCHEDULED_PATH, 503)
    router.add("PATCH", SCHEDULED_PATH, json=SCHEDULED_DOC)
    await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, files=[b"a", b"b"])
    assert len(router.requests) == 2
    assert form_parts(router.requests[0]) == form_parts(router.requests[1])


async def test_a_one_shot_stream_among_the_files_is_not_retried(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    async def stream() -> Any:
        yield b"chunk"

    router.add("PATCH", SCHEDULED_PATH, 503)
    with pytest.raises(wa.InternalServerError, match="one-shot"):
        await mock_client.chats.update_scheduled_message(
            CHAT_ID, SCHEDULED_ID, files=[b"replayable", stream()]
        )
    assert len(router.requests) == 1


@pytest.mark.parametrize(
    ("files", "error", "match"),
    [
        (b"raw bytes", TypeError, "list of files"),
        ("brochure.pdf", TypeError, "list of files"),
        (pathlib.Path("x.pdf"), TypeError, "list of files"),
        (["/no/such/file.pdf"], FileNotFoundError, "no such file"),
        ([42], TypeError, "file must be"),
    ],
)
async def test_bad_files_raise_before_any_request(
    router: Router, mock_client: wa.WeglyClient, files: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        await mock_client.chats.update_scheduled_message(CHAT_ID, SCHEDULED_ID, files=files)
    assert router.requests == []
