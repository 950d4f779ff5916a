"""Decoding Wegly JSON into models: the documented examples, both schema variants, odd values."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import cattrs
import orjson
import pytest
from aiohttp import web
from conftest import CHAT_ID
from loopback import serve_app

import wegly_async as wa
from wegly_async._codegen import mutable_twin
from wegly_async._convert import configure_converter, converter, encode_json, parse_datetime
from wegly_async._errors import DecodeError
from wegly_async._responses import (
    ResponseContext,
    decode_envelope,
    decode_model,
    decode_object,
    decode_records,
    parse_envelope,
    parse_response,
    structure_records,
)
from wegly_async.testing import WeglyEmulator

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def answer(content: bytes, status: int = 200, method: str = "GET") -> wa.RawResponse[Any]:
    """A success answer as the pipeline returns it."""
    return wa.RawResponse(status, {}, content, method, "u")


def parse(data: Any, cls: type[Any]) -> Any:
    return parse_response(answer(json.dumps(data).encode()), cls)


def test_documented_timeline_example_decodes_every_field() -> None:
    event = converter.structure(load("timeline_response_doc.json")["records"][0], wa.TimelineEvent)
    assert event.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert event.event_type is wa.EventType.MESSAGE
    assert event.event_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    message = event.message
    assert message is not None
    assert message.type == "text" and message.type is wa.MessageType.TEXT
    assert message.origin is wa.MessageOrigin.INBOUND
    assert message.sent_via is wa.SentVia.CONTACT
    assert message.status is wa.MessageStatus.SENT
    assert message.from_me is True
    assert message.body_text == "<string>"
    assert message.history_phase == 123
    assert message.is_media_placeholder is True
    assert message.reactions == [
        wa.Reaction(
            id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
            emoji="<string>",
            actor=wa.ReactionActor.CONTACT,
            reactor_wa_id="<string>",
            reactor_user_id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
            created_at=datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC),
        )
    ]
    assert message.agent is not None and message.agent.user is not None
    assert message.agent.user.name == "<string>"
    assert message.media == wa.Media(
        id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
        mime_type="<string>",
        file_name="<string>",
        is_downloaded=True,
        url="<string>",
    )
    assert message.call is not None
    assert message.call.status is wa.CallStatus.COMPLETED
    assert message.call.direction is wa.CallDirection.INBOUND
    assert message.call.duration_ms == 123
    assert message.call.ended_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert message.crm_marketing_lead_source == [{}]


def test_quoted_message_decodes_and_its_unknown_page_field_is_ignored() -> None:
    record = load("timeline_response_doc.json")["records"][0]
    assert record["message"]["quoted_message"]["page"] == 2  # the docs' own extra field
    event = converter.structure(record, wa.TimelineEvent)
    assert event.message is not None
    quoted = event.message.quoted_message
    assert isinstance(quoted, wa.Message)
    assert quoted.type is wa.MessageType.TEXT
    assert quoted.quoted_message is None
    assert not hasattr(quoted, "page")


def test_documented_send_response_decodes() -> None:
    result = parse(load("send_response_doc.json"), wa.SendResult)
    assert result.total == 123
    assert len(result.records) == 1
    assert result.records[0].meta_timestamp == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)


def test_reduced_message_shape_decodes() -> None:
    reduced = {
        "id": "6f1c2a70-1111-4c5e-9a55-0b7e7d7b8d01",
        "from_me": False,
        "body_text": "Olá! Tudo bem? 😊",
        "content_payload": {"wamid": "wamid.HBgM", "text": {"body": "Olá!"}},
        "reactions": [{"id": "r1", "emoji": "👍", "reactor_wa_id": "5511999990000"}],
        "meta_timestamp": "2024-03-01T12:30:00.123456+00:00",
        "is_history": True,
        "history_phase": 1,
        "history_chunk_order": 4,
        "history_progress": 80,
        "is_media_placeholder": False,
        "agent": None,
        "user": None,
        "crm_marketing_lead_source": [{"source": "ads"}],
    }
    message = converter.structure(reduced, wa.Message)
    assert message.type is None and message.status is None and message.media is None
    assert message.body_text == "Olá! Tudo bem? 😊"
    assert message.content_payload == {"wamid": "wamid.HBgM", "text": {"body": "Olá!"}}
    assert message.reactions[0].actor is None
    assert message.reactions[0].emoji == "👍"
    assert message.meta_timestamp == datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert message.crm_marketing_lead_source == [{"source": "ads"}]


def test_absent_and_null_fields_become_none_and_empty_lists() -> None:
    message = converter.structure(
        {"id": "m1", "reactions": None, "crm_marketing_lead_source": None, "media": None},
        wa.Message,
    )
    assert message.reactions == []
    assert message.crm_marketing_lead_source == []
    assert message.media is None
    assert converter.structure({"id": "m2"}, wa.Message).reactions == []
    event = converter.structure({"id": "e1", "message": None}, wa.TimelineEvent)
    assert event.message is None and event.event_at is None


@pytest.mark.parametrize(
    ("field", "value", "enum"),
    [
        ("type", "sticker", wa.MessageType),
        ("origin", "SYSTEM", wa.MessageOrigin),
        ("sent_via", "AUTOMATION", wa.SentVia),
        ("status", "deleted", wa.MessageStatus),
    ],
)
def test_unknown_enum_values_are_kept(field: str, value: str, enum: type[wa.OpenStrEnum]) -> None:
    message = converter.structure({"id": "m1", field: value}, wa.Message)
    decoded = getattr(message, field)
    assert decoded == value
    assert isinstance(decoded, enum)
    assert not decoded.is_known
    assert str(decoded) == value


def test_unknown_event_call_and_reaction_values_are_kept() -> None:
    record = {
        "id": "e1",
        "event_type": "NOTE",
        "message": {
            "id": "m1",
            "call": {"status": "NO_ANSWER", "direction": "TRANSFERRED"},
            "reactions": [{"actor": "AGENT"}],
        },
    }
    event = converter.structure(record, wa.TimelineEvent)
    assert event.event_type == "NOTE"
    assert event.message is not None and event.message.call is not None
    assert event.message.call.status == "NO_ANSWER"
    assert event.message.call.direction == "TRANSFERRED"
    assert event.message.reactions[0].actor == "AGENT"


def test_unknown_fields_anywhere_are_ignored() -> None:
    record = {"id": "e1", "brand_new": {"x": 1}, "message": {"id": "m1", "edited": True}}
    event = converter.structure(record, wa.TimelineEvent)
    assert event == wa.TimelineEvent(id="e1", message=wa.Message(id="m1"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-11-07T05:31:56Z", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("2023-11-07T05:31:56.5Z", datetime(2023, 11, 7, 5, 31, 56, 500000, tzinfo=UTC)),
        (
            "2023-11-07T02:31:56-03:00",
            datetime(2023, 11, 7, 2, 31, 56, tzinfo=timezone(timedelta(hours=-3))),
        ),
        ("2023-11-07T05:31:56", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("2023-11-07 05:31:56+00:00", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("1699335116", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        (1699335116, datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        (1699335116000, datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_datetimes(raw: object, expected: datetime) -> None:
    parsed = parse_datetime(raw)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_the_same_instant_in_another_offset_compares_equal() -> None:
    assert parse_datetime("2023-11-07T02:31:56-03:00") == parse_datetime("2023-11-07T05:31:56Z")


@pytest.mark.parametrize("raw", ["yesterday", "", True, None, [1]])
def test_bad_timestamps_are_rejected(raw: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        parse_datetime(raw)


@pytest.mark.parametrize(
    "body",
    [
        {"total": 1, "records": [{"id": "m1", "meta_timestamp": "not a date"}]},
        {"total": 1, "records": [{"body_text": "no id"}]},
        {"total": "many", "records": []},
        {"records": []},
        {"total": 1, "records": "nope"},
        {"total": 1, "records": [{"id": "m1", "reactions": {"a": 1}}]},
        [],
    ],
)
def test_wrong_shapes_raise_invalid_response(body: Any) -> None:
    with pytest.raises(wa.InvalidResponseError) as info:
        parse(body, wa.SendResult)
    assert "200 GET u" in str(info.value)
    assert json.dumps(body)[:20] in str(info.value)


def test_non_json_success_body_raises_invalid_response_with_snippet() -> None:
    with pytest.raises(wa.InvalidResponseError) as info:
        parse_response(answer(b"<html>oops</html>", 201, "POST"), wa.SendResult)
    message = str(info.value)
    assert "201 POST u" in message
    assert "not JSON" in message
    assert "<html>oops" in message
    assert info.value.status_code == 201


def test_template_field_encodes_without_none_keys() -> None:
    field = wa.TemplateField("BODY", "TEXT", index=1, value="Maria")
    assert converter.unstructure(field) == {
        "component": "BODY",
        "type": "TEXT",
        "index": 1,
        "value": "Maria",
    }


def test_encode_json_drops_top_level_none_and_encodes_enums() -> None:
    encoded = encode_json({"type": wa.MessageType.TEXT, "body": "oi", "reference_wamid": None})
    assert json.loads(encoded) == {"type": "text", "body": "oi"}


@attrs.frozen
class Button:
    text: str
    url: str | None = None


@attrs.frozen
class Card:
    title: str | None
    buttons: list[Button]
    footer: Button | None = None
    kind: wa.MessageType | None = None


def test_request_objects_leave_out_their_none_fields_at_any_depth() -> None:
    card = Card(
        title=None,
        buttons=[Button("a"), Button("b", url="https://example.com")],
        footer=Button("f"),
        kind=wa.MessageType.TEXT,
    )
    expected = {
        "buttons": [{"text": "a"}, {"text": "b", "url": "https://example.com"}],
        "footer": {"text": "f"},
        "kind": "text",
    }
    assert converter.unstructure(card) == expected
    body = {"card": card, "cards": [Card(None, [])], "skip": None}
    assert json.loads(encode_json(body)) == {"card": expected, "cards": [{"buttons": []}]}


def test_template_fields_in_a_body_leave_out_none_but_keep_zero() -> None:
    fields = [
        wa.TemplateField("BODY", "TEXT", index=0, value="Maria"),
        wa.TemplateField("BUTTON", "TEXT", button_index=1, card_index=None, value="x"),
    ]
    assert json.loads(encode_json({"template_fields": fields})) == {
        "template_fields": [
            {"component": "BODY", "type": "TEXT", "index": 0, "value": "Maria"},
            {"component": "BUTTON", "type": "TEXT", "button_index": 1, "value": "x"},
        ]
    }


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"component": "", "type": "TEXT", "value": "x"}, ValueError),
        ({"component": "BODY", "type": 1, "value": "x"}, TypeError),
        ({"component": "BODY", "type": "TEXT", "value": 3}, TypeError),
        ({"component": "BODY", "type": "TEXT", "index": -1, "value": "x"}, ValueError),
        ({"component": "BODY", "type": "TEXT", "index": True, "value": "x"}, TypeError),
    ],
)
def test_template_field_rejects_bad_values(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        wa.TemplateField(**kwargs)


def _cattrs_generic() -> cattrs.Converter:
    """Return a converter with the same wire rules on cattrs' own generated functions."""
    reference = cattrs.Converter(detailed_validation=False)
    configure_converter(reference, inline_models=False)
    return reference


def test_the_fast_decoder_builds_the_same_objects_as_cattrs_generic_one() -> None:
    reference = _cattrs_generic()
    emulator = WeglyEmulator()
    chat_id = emulator.create_chat(events=3000, seed=11)
    records = emulator.events(chat_id)
    fast = [converter.structure(record, wa.TimelineEvent) for record in records]
    slow = [reference.structure(record, wa.TimelineEvent) for record in records]
    assert fast == slow
    # The history covers what the fast path special-cases.
    messages = [event.message for event in fast if event.message is not None]
    assert any(m.quoted_message is not None for m in messages)
    assert any(m.reactions for m in messages)
    assert any(m.type is None for m in messages)  # the reduced shape
    assert any(m.type is not None and not m.type.is_known for m in messages)


class Stage(wa.OpenStrEnum):
    OPEN = "open"
    LOST = "lost"


@attrs.frozen(kw_only=True, weakref_slot=False)
class Contact:
    id: str
    seen_at: datetime | None = None
    stage: Stage | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Deal:
    id: str
    closed_at: datetime | None = None
    stage: Stage | None = None
    owner: Contact | None = None
    contacts: list[Contact] = attrs.Factory(list)
    history: list[Stage] = attrs.Factory(list)


def test_a_model_the_package_never_saw_is_decoded_on_the_fast_path() -> None:
    # Defined after the converter, with string annotations nothing has resolved yet.
    assert attrs.fields(Deal).closed_at.type == "datetime | None"
    record = {
        "id": "d1",
        "closed_at": "2024-05-01T12:00:00-03:00",
        "stage": "won",
        "owner": {"id": "c0", "seen_at": 1714575600, "stage": "open"},
        "contacts": [{"id": "c1", "seen_at": "2024-05-01T12:00:00Z"}, {"id": "c2"}],
        "history": ["open", "lost", "reopened"],
        "unknown": True,
    }
    fast = converter.structure(record, Deal)
    assert converter.get_structure_hook(Deal).__name__ == "structure_Deal"
    assert converter.get_structure_hook(Contact).__name__ == "structure_Contact"
    assert fast == _cattrs_generic().structure(record, Deal)
    assert fast.closed_at == datetime(2024, 5, 1, 15, tzinfo=UTC)
    assert fast.owner is not None and fast.owner.seen_at == datetime(2024, 5, 1, 15, tzinfo=UTC)
    assert [contact.id for contact in fast.contacts] == ["c1", "c2"]
    # An open enum equals its string either way: the type shows it was decoded.
    assert type(fast.stage) is Stage and not fast.stage.is_known
    assert [type(stage) for stage in fast.history] == [Stage, Stage, Stage]
    assert fast.history[:2] == [Stage.OPEN, Stage.LOST]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Team:
    id: str
    lead: Person | None = None
    members: list[Person] = attrs.Factory(list)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Person:
    id: str
    team: Team | None = None
    since: datetime | None = None


def test_models_that_refer_to_each_other_decode_on_the_fast_path() -> None:
    team = {"id": "t2", "members": [{"id": "p3"}]}
    record = {
        "id": "t1",
        "lead": {"id": "p1", "team": {"id": "t0"}},
        "members": [{"id": "p2", "since": 1704067200, "team": team}],
    }
    fast = converter.structure(record, Team)
    assert converter.get_structure_hook(Team).__name__ == "structure_Team"
    assert converter.get_structure_hook(Person).__name__ == "structure_Person"
    assert fast == _cattrs_generic().structure(record, Team)
    member = fast.members[0]
    assert member.since == datetime(2024, 1, 1, tzinfo=UTC)
    assert member.team is not None and member.team.members == [Person(id="p3")]


@pytest.mark.parametrize(
    "record",
    [
        {"id": 1},
        {"id": "m", "from_me": "false"},
        {"id": "m", "history_phase": "2"},
        {"id": "m", "history_phase": 2.5},
        {"id": "m", "reactions": {}},
        {"id": "m", "agent": [1]},
        {"id": "m", "quoted_message": "m0"},
        {"id": "m", "content_payload": []},
        {"id": "m", "type": ["text"]},
        {"id": "m", "reactions": [1]},
        {"id": "m", "reactions": [{"id": 1}]},
        {"id": "m", "crm_marketing_lead_source": [1]},
        {"id": "m", "crm_marketing_lead_source": "utm"},
        {"id": "m", "meta_timestamp": ["2024-01-01T00:00:00Z"]},
        {"id": "m", "meta_timestamp": "yesterday"},
        {"id": "m", "content_payload": "wamid"},
    ],
)
def test_the_fast_decoder_rejects_what_the_reference_rejects(record: dict[str, Any]) -> None:
    reference = _cattrs_generic()
    with pytest.raises((TypeError, ValueError)):
        converter.structure(record, wa.Message)
    with pytest.raises((TypeError, ValueError)):
        reference.structure(record, wa.Message)


def test_an_integral_float_is_read_as_an_int() -> None:
    assert converter.structure({"id": "m", "history_phase": 2.0}, wa.Message).history_phase == 2


def test_lists_decode_the_same_whether_empty_absent_null_or_full() -> None:
    reference = _cattrs_generic()
    sources = [{"source": "ads", "campaign": "natal"}]
    reaction = {"id": "r1", "emoji": "👍", "created_at": "2024-01-01T00:00:00Z"}
    for record in (
        {"id": "m"},
        {"id": "m", "reactions": None, "crm_marketing_lead_source": None},
        {"id": "m", "reactions": [], "crm_marketing_lead_source": []},
        {"id": "m", "reactions": [reaction], "crm_marketing_lead_source": sources},
    ):
        fast = converter.structure(record, wa.Message)
        assert fast == reference.structure(record, wa.Message)
        assert isinstance(fast.reactions, list)
        assert isinstance(fast.crm_marketing_lead_source, list)
    assert fast.crm_marketing_lead_source == sources
    assert fast.reactions[0].emoji == "👍"


RESPONSE_MODELS = [
    wa.User,
    wa.Agent,
    wa.Media,
    wa.Call,
    wa.Reaction,
    wa.Message,
    wa.TimelineEvent,
    wa.SendResult,
]


@pytest.mark.parametrize("cls", RESPONSE_MODELS)
def test_every_response_model_takes_the_fast_build(cls: type) -> None:
    # Adding a __weakref__ slot (attrs' default) would silently lose it: before 3.13,
    # Python refuses the change of class between layouts with one.
    assert mutable_twin(cls) is not None


def test_a_fast_built_model_is_the_model_itself() -> None:
    record = load("timeline_response_doc.json")["records"][0]
    event = converter.structure(record, wa.TimelineEvent)
    assert type(event) is wa.TimelineEvent
    assert type(event.message) is wa.Message
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.id = "other"  # type: ignore[misc]
    assert attrs.evolve(event, id="other").message == event.message
    assert pickle.loads(pickle.dumps(event)) == event
    assert event == wa.TimelineEvent(
        **{f.name: getattr(event, f.name) for f in attrs.fields(wa.TimelineEvent)}
    )


@attrs.frozen(kw_only=True)
class Base:
    id: str


@attrs.frozen(kw_only=True)
class Note(Base):
    text: str | None = None
    at: datetime | None = None


@attrs.frozen(kw_only=True)
class Tagged:
    id: str
    tags: list[str] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "tags", sorted(self.tags))


@attrs.frozen(kw_only=True, cache_hash=True)
class Hashed:
    id: str


def test_a_model_without_a_twin_is_built_the_slow_way_with_the_same_result() -> None:
    assert mutable_twin(Note) is None
    assert converter.get_structure_hook(Note).__name__ == "structure_Note"
    note = converter.structure({"id": "n1", "text": "oi", "at": "2024-01-01T00:00:00Z"}, Note)
    assert note == Note(id="n1", text="oi", at=datetime(2024, 1, 1, tzinfo=UTC))
    assert type(note) is Note


def test_a_model_with_an_init_hook_keeps_attrs_own_init() -> None:
    assert converter.structure({"id": "t", "tags": ["b", "a"]}, Tagged).tags == ["a", "b"]


def test_a_model_with_a_hidden_slot_keeps_attrs_own_init() -> None:
    # cache_hash keeps the hash in a slot that only attrs' __init__ fills.
    hashed = converter.structure({"id": "h"}, Hashed)
    assert hash(hashed) == hash(Hashed(id="h"))


# --- records that do not fit: which one, and where ------------------------------------------


def _event(number: int, **message: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{number}",
        "event_type": "message",
        "event_at": "2024-05-01T12:00:00Z",
        "message": {"id": f"m-{number}", "body_text": "hi", **message},
    }


def _page(bad_index: int, **bad: Any) -> list[dict[str, Any]]:
    records = [_event(n) for n in range(6)]
    for key, value in bad.items():
        if key == "event_at":
            records[bad_index][key] = value
        else:
            records[bad_index]["message"][key] = value
    return records


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ({"from_me": 0}, "records[3].message.from_me"),
        ({"reactions": {}}, "records[3].message.reactions"),
        ({"reactions": [{"emoji": "x"}, {"emoji": 5}]}, "records[3].message.reactions[1].emoji"),
        ({"event_at": ""}, "records[3].event_at"),
        (
            {"quoted_message": {"id": "q", "from_me": "no"}},
            "records[3].message.quoted_message.from_me",
        ),
        ({"agent": {"user": {"name": 7}}}, "records[3].message.agent.user.name"),
    ],
)
def test_an_off_type_field_is_named_with_its_event_id_and_path(
    bad: dict[str, Any], path: str
) -> None:
    records = _page(3, **bad)
    ctx = ResponseContext(200, "GET", "u", json.dumps(records).encode())
    with pytest.raises(wa.InvalidResponseError) as info:
        structure_records(records, wa.TimelineEvent, ctx)
    assert path in str(info.value)
    assert "'ev-3'" in str(info.value)


def _nested(depth: int) -> dict[str, Any]:
    message: dict[str, Any] = {"id": "m-0"}
    for level in range(depth):
        message = {"id": f"m-{level + 1}", "quoted_message": message}
    return {"id": "ev-deep", "event_type": "message", "message": message}


def test_a_record_255_levels_deep_still_decodes() -> None:
    ctx = ResponseContext(200, "GET", "u", b"{}")
    decoded = structure_records([_event(0), _nested(255)], wa.TimelineEvent, ctx)
    assert decoded[1].id == "ev-deep"


@pytest.mark.parametrize("depth", [1023, 3000])
def test_a_deeply_nested_record_is_an_invalid_response_not_a_recursion_error(depth: int) -> None:
    ctx = ResponseContext(200, "GET", "u", b"{}")
    with pytest.raises(wa.InvalidResponseError, match=r"ev-deep.*nested too deeply"):
        structure_records([_event(0), _nested(depth)], wa.TimelineEvent, ctx)


@pytest.mark.parametrize("depth", [1100, 5000])
def test_an_envelope_nested_past_the_parser_limit_is_an_invalid_response(depth: int) -> None:
    body = b'{"total": 1, "records": [{"id": "e", "x": ' + b"[" * depth + b"]" * depth + b"}]}"
    with pytest.raises(wa.InvalidResponseError, match="not JSON"):
        parse_envelope(ResponseContext(200, "GET", "u", body))


# --- the neutral decoder: DecodeError, with no HTTP in it --------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<html>oops</html>", "the body is not JSON"),
        (b"[]", "expected a JSON object, got list"),
        (b'{"records": []}', "expected an integer 'total', got NoneType"),
        (b'{"total": 1, "records": {}}', "expected a list of 'records', got dict"),
        (b'{"total": 1, "records": [{"id": 1}]}', "every record must be a JSON object"),
    ],
)
def test_an_envelope_that_does_not_fit_is_a_decode_error(content: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_envelope(content)
    assert info.value.reason.startswith(reason)
    assert str(info.value) == info.value.reason
    assert not isinstance(info.value, wa.WeglyError)
    assert not hasattr(info.value, "status_code") and not hasattr(info.value, "url")


def test_decode_object_and_decode_model_raise_decode_errors() -> None:
    with pytest.raises(DecodeError, match="not JSON"):
        decode_object(b"{")
    with pytest.raises(DecodeError, match=r"unexpected shape for SendResult \(KeyError"):
        decode_model(b'{"records": []}', wa.SendResult)
    data = load("send_response_doc.json")
    from_bytes = decode_model(json.dumps(data).encode(), wa.SendResult)
    assert from_bytes == decode_model(data, wa.SendResult)


def test_a_record_that_does_not_fit_is_a_decode_error_with_its_index_id_and_path() -> None:
    with pytest.raises(DecodeError) as info:
        decode_records(_page(3, from_me=0), wa.TimelineEvent)
    error = info.value
    assert (error.index, error.record_id, error.path) == (3, "ev-3", "records[3].message.from_me")
    assert error.reason.startswith(
        "record 3 (id 'ev-3') does not fit TimelineEvent at records[3].message.from_me (TypeError"
    )


def test_a_deep_record_is_a_decode_error_that_keeps_no_recursion_traceback() -> None:
    with pytest.raises(DecodeError, match="nested too deeply") as info:
        decode_records([_event(0), _nested(3000)], wa.TimelineEvent)
    assert (info.value.index, info.value.record_id, info.value.path) == (1, "ev-deep", None)
    assert info.value.__cause__ is None and info.value.__context__ is None


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is not None and current not in found:
            found.append(current)
            todo += [current.__cause__, current.__context__]
    return found


def test_an_invalid_response_is_caused_by_what_failed_not_by_the_decode_error() -> None:
    with pytest.raises(wa.InvalidResponseError) as info:
        parse({"total": 1, "records": [{"id": "m1", "from_me": "yes"}]}, wa.SendResult)
    assert isinstance(info.value.__cause__, TypeError)
    assert info.value.__suppress_context__  # the DecodeError is not shown
    with pytest.raises(wa.InvalidResponseError) as info:
        parse_response(answer(b"{"), wa.SendResult)
    assert isinstance(info.value.__cause__, orjson.JSONDecodeError)


def test_a_deep_answer_keeps_no_recursion_error_in_its_chain() -> None:
    message = '{"id": "m-0"}'
    for level in range(1000):
        message = f'{{"id": "m-{level + 1}", "quoted_message": {message}}}'
    body = f'{{"total": 1, "records": [{message}]}}'.encode()
    with pytest.raises(wa.InvalidResponseError, match="RecursionError") as info:
        parse_response(answer(body), wa.SendResult)
    assert not any(isinstance(exc, RecursionError) for exc in _chain(info.value))
    ctx = ResponseContext(200, "GET", "u", b"{}")
    with pytest.raises(wa.InvalidResponseError) as info:
        structure_records([_event(0), _nested(3000)], wa.TimelineEvent, ctx)
    assert not any(isinstance(exc, RecursionError) for exc in _chain(info.value))


def _page_app(body: bytes) -> web.Application:
    async def timeline(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/integrations/external/chats/{chat}/timeline", timeline)
    return app


def _deep_body(depth: int) -> bytes:
    message = '{"id": "m-0"}'
    for level in range(depth):
        message = f'{{"id": "m-{level + 1}", "quoted_message": {message}}}'
    first = json.dumps(_event(0))
    deep = f'{{"id": "ev-deep", "event_type": "message", "message": {message}}}'
    return f'{{"total": 2, "records": [{first}, {deep}]}}'.encode()


async def test_typed_iteration_names_the_field_that_failed_its_page() -> None:
    body = json.dumps({"total": 6, "records": _page(4, from_me=0)}).encode()
    async with (
        serve_app(_page_app(body)) as base_url,
        wa.WeglyClient("t0ken-x", base_url=base_url) as client,
    ):
        with pytest.raises(wa.InvalidResponseError) as info:
            await client.chats.timeline(CHAT_ID).to_list()
        # The raw records of the same page still come through.
        raw = [record async for record in client.chats.timeline(CHAT_ID).raw()]
    assert "records[4].message.from_me" in str(info.value)
    assert "'ev-4'" in str(info.value)
    assert len(raw) == 6


async def test_typed_iteration_of_a_deep_record_is_an_invalid_response() -> None:
    async with (
        serve_app(_page_app(_deep_body(1000))) as base_url,
        wa.WeglyClient("t0ken-x", base_url=base_url) as client,
    ):
        with pytest.raises(wa.InvalidResponseError) as info:
            await client.chats.timeline(CHAT_ID).to_list()
    assert "ev-deep" in str(info.value)
