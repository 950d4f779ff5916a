"""The emulator's HTTP behaviour against API.md, checked with raw aiohttp (never the SDK)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from wegly_async.testing import WeglyEmulator

PREFIX = "/integrations/external"
UNKNOWN_CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
Z_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z")


class Api:
    """Raw HTTP calls against one emulator, returning ``(status, parsed JSON)``."""

    def __init__(self, emu: WeglyEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session
        self.auth = {"Authorization": f"Bearer {emu.token}"}

    async def timeline(
        self, chat_id: str, headers: dict[str, str] | None = None, **params: Any
    ) -> tuple[int, Any]:
        url = f"{self.emu.base_url}{PREFIX}/chats/{chat_id}/timeline"
        query = {key: str(value) for key, value in params.items()}
        headers = self.auth if headers is None else headers
        async with self.session.get(url, params=query, headers=headers) as resp:
            return resp.status, await resp.json()

    async def send(
        self, chat_id: str, json: Any = None, *, data: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        url = f"{self.emu.base_url}{PREFIX}/chats/{chat_id}/messages"
        headers = kwargs.pop("headers", self.auth)
        async with self.session.post(url, json=json, data=data, headers=headers, **kwargs) as r:
            return r.status, await r.json()

    async def all_ids(self, chat_id: str, order: str, take: int) -> list[str]:
        ids: list[str] = []
        while True:
            status, page = await self.timeline(chat_id, skip=len(ids), take=take, order=order)
            assert status == 200
            if not page["records"]:
                return ids
            ids += [record["id"] for record in page["records"]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(wegly_emulator: WeglyEmulator, http: aiohttp.ClientSession) -> Api:
    return Api(wegly_emulator, http)


@pytest.fixture
def chat(wegly_emulator: WeglyEmulator) -> str:
    return wegly_emulator.create_chat(events=57, seed=3)


def message_with_wamid(emu: WeglyEmulator, chat_id: str) -> dict[str, Any]:
    """Return the newest full-shape text message of a chat."""
    for event in reversed(emu.events(chat_id)):
        message = event["message"]
        if message.get("type") == "text" and not message.get("quoted_message"):
            return dict(message)
    raise AssertionError("no text message in the generated chat")


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# --- routing, auth and access --------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
async def test_missing_or_wrong_token_is_401_with_a_message(
    api: Api, chat: str, headers: dict[str, str]
) -> None:
    status, body = await api.timeline(chat, headers=headers)
    assert status == 401
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.parametrize("scheme", ["Basic", "Token", ""])
async def test_the_right_token_needs_the_bearer_scheme(api: Api, chat: str, scheme: str) -> None:
    status, _ = await api.timeline(chat, headers={"Authorization": f"{scheme} {api.emu.token}"})
    assert status == 401


async def test_bearer_scheme_is_case_insensitive(api: Api, chat: str) -> None:
    status, body = await api.timeline(chat, headers={"Authorization": f"bearer {api.emu.token}"})
    assert status == 200
    assert body["total"] == 57


async def test_token_is_checked_before_the_chat_id(api: Api) -> None:
    status, _ = await api.timeline("not-a-uuid", headers={})
    assert status == 401


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 403),
        ({"Origin": "https://app.example.com"}, 200),
        ({"Origin": "https://APP.example.com:8443"}, 200),
        ({"Origin": "https://evil.example.com"}, 403),
        ({"Origin": "null"}, 403),
        ({"Referer": "https://app.example.com/crm/page?x=1"}, 200),
        ({"Referer": "https://other.example.com/"}, 403),
        # Origin wins over Referer when both are sent.
        ({"Origin": "https://evil.example.com", "Referer": "https://app.example.com/"}, 403),
    ],
)
async def test_allowed_domain_checks_origin_then_referer(
    http: aiohttp.ClientSession, headers: dict[str, str], expected: int
) -> None:
    async with WeglyEmulator(allowed_domain="app.example.com") as emu:
        chat_id = emu.create_chat(events=2, seed=1)
        api = Api(emu, http)
        status, body = await api.timeline(chat_id, headers={**api.auth, **headers})
    assert status == expected
    if expected == 403:
        assert "app.example.com" in body["message"]


async def test_allowed_domain_comes_after_the_token_check(http: aiohttp.ClientSession) -> None:
    async with WeglyEmulator(allowed_domain="app.example.com") as emu:
        chat_id = emu.create_chat(events=1, seed=1)
        headers = {"Authorization": "Bearer nope", "Origin": "https://evil.example.com"}
        status, _ = await Api(emu, http).timeline(chat_id, headers=headers)
    assert status == 401


@pytest.mark.parametrize("chat_id", ["not-a-uuid", "3c90c3cc0d444b5088888dd25736052a", "123"])
async def test_a_chat_id_that_is_not_a_uuid_is_400(api: Api, chat_id: str) -> None:
    status, body = await api.timeline(chat_id)
    assert status == 400
    assert "UUID" in body["message"]
    status, body = await api.send(chat_id, {"type": "text", "body": "oi"})
    assert status == 400


async def test_an_unknown_chat_is_404(api: Api) -> None:
    status, body = await api.timeline(UNKNOWN_CHAT)
    assert (status, UNKNOWN_CHAT in body["message"]) == (404, True)
    status, body = await api.send(UNKNOWN_CHAT, {"type": "text", "body": "oi"})
    assert status == 404


async def test_chat_ids_match_case_insensitively(api: Api, chat: str) -> None:
    status, body = await api.timeline(chat.upper())
    assert (status, body["total"]) == (200, 57)


async def test_an_unknown_path_is_a_json_404(api: Api) -> None:
    async with api.session.get(api.emu.base_url + PREFIX + "/nowhere", headers=api.auth) as resp:
        assert resp.status == 404
        assert "message" in await resp.json()


async def test_a_wrong_method_is_a_json_405(api: Api, chat: str) -> None:
    url = f"{api.emu.base_url}{PREFIX}/chats/{chat}/messages"
    async with api.session.get(url, headers=api.auth) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
        assert "message" in await resp.json()


# --- timeline --------------------------------------------------------------------------


async def test_timeline_defaults_to_ten_records_in_ascending_order(api: Api, chat: str) -> None:
    status, body = await api.timeline(chat)
    assert status == 200
    assert body["total"] == 57
    expected = [event["id"] for event in api.emu.events(chat)[:10]]
    assert [record["id"] for record in body["records"]] == expected


async def test_skip_and_take_cut_the_ascending_timeline(api: Api, chat: str) -> None:
    events = api.emu.events(chat)
    status, body = await api.timeline(chat, skip=20, take=7, order="asc")
    assert status == 200
    assert body["records"] == events[20:27]


async def test_descending_order_is_the_exact_reverse(api: Api, chat: str) -> None:
    ascending = await api.all_ids(chat, "asc", take=8)
    descending = await api.all_ids(chat, "desc", take=8)
    assert len(ascending) == 57
    assert descending == ascending[::-1]
    _, body = await api.timeline(chat, skip=55, take=10, order="desc")
    assert [r["id"] for r in body["records"]] == ascending[1::-1]


async def test_pages_past_the_end_are_empty_but_keep_the_total(api: Api, chat: str) -> None:
    for order in ("asc", "desc"):
        status, body = await api.timeline(chat, skip=57, take=5, order=order)
        assert (status, body) == (200, {"total": 57, "records": []})
        status, body = await api.timeline(chat, skip=10**12, order=order)
        assert (status, body) == (200, {"total": 57, "records": []})


async def test_the_timeline_is_sorted_by_event_time_then_id(api: Api, chat: str) -> None:
    ids = await api.all_ids(chat, "asc", take=100)
    events = {event["id"]: event for event in api.emu.events(chat)}
    keys = [(parse(events[i]["event_at"]), i) for i in ids]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("skip", "-1"),
        ("skip", "abc"),
        ("skip", "1.5"),
        ("skip", ""),
        ("take", "0"),
        ("take", "-3"),
        ("take", "ten"),
        ("order", "up"),
        ("order", "ASC"),
    ],
)
async def test_bad_query_values_are_400_naming_the_parameter(
    api: Api, chat: str, param: str, value: str
) -> None:
    query: dict[str, Any] = {param: value}
    status, body = await api.timeline(chat, **query)
    assert status == 400
    assert param in body["message"]


async def test_max_take_caps_pages_silently(http: aiohttp.ClientSession) -> None:
    async with WeglyEmulator(max_take=7) as emu:
        chat_id = emu.create_chat(events=30, seed=2)
        api = Api(emu, http)
        status, body = await api.timeline(chat_id, take=50)
        assert (status, body["total"], len(body["records"])) == (200, 30, 7)
        status, body = await api.timeline(chat_id, take=3)
        assert len(body["records"]) == 3
        assert len(await api.all_ids(chat_id, "desc", take=100)) == 30


async def test_search_is_case_and_accent_insensitive(api: Api) -> None:
    chat_id = api.emu.create_chat()
    for text in ("Pode me enviar o orçamento?", "ORCAMENTO aprovado", "Obrigado!", "sem nada"):
        api.emu.add_message(chat_id, text)
    for needle in ("orçamento", "ORÇAMENTO", "orcamento", "Orcam"):
        status, body = await api.timeline(chat_id, search=needle)
        texts = [record["message"]["body_text"] for record in body["records"]]
        assert (status, body["total"]) == (200, 2)
        assert texts == ["Pode me enviar o orçamento?", "ORCAMENTO aprovado"]


async def test_search_counts_and_pages_only_the_matches(api: Api, chat: str) -> None:
    events = api.emu.events(chat)

    def searched(message: dict[str, Any]) -> str:
        media = message.get("media") or {}
        return f"{message.get('body_text') or ''}\n{media.get('file_name') or ''}".lower()

    matching = [e["id"] for e in events if "e" in searched(e["message"])]
    assert 5 < len(matching) < len(events)
    status, body = await api.timeline(chat, search="E", take=3, skip=2, order="desc")
    assert (status, body["total"]) == (200, len(matching))
    assert [r["id"] for r in body["records"]] == matching[::-1][2:5]


async def test_a_blank_search_does_not_filter(api: Api, chat: str) -> None:
    status, body = await api.timeline(chat, search="  ")
    assert (status, body["total"]) == (200, 57)


async def test_search_sees_messages_added_later(api: Api, chat: str) -> None:
    _, before = await api.timeline(chat, search="abacaxi")
    api.emu.add_message(chat, "Quero um abacaxi")
    _, after = await api.timeline(chat, search="abacaxi")
    assert (before["total"], after["total"]) == (0, 1)


async def test_an_old_message_lands_in_the_middle_of_the_timeline(api: Api, chat: str) -> None:
    events = api.emu.events(chat)
    middle = parse(events[30]["event_at"]) + timedelta(milliseconds=1)
    event = api.emu.add_message(chat, "atrasada", event_at=middle)
    status, body = await api.timeline(chat, skip=31, take=1)
    assert (status, body["total"]) == (200, 58)
    assert body["records"] == [event]
    assert event["message"]["body_text"] == "atrasada"
    assert event["message"]["origin"] == "INBOUND"
    assert parse(event["event_at"]) == middle


# --- sending ---------------------------------------------------------------------------


async def test_sending_text_returns_201_with_the_full_message(api: Api, chat: str) -> None:
    last_event_at = parse(api.emu.events(chat)[-1]["event_at"])
    status, body = await api.send(chat, {"type": "text", "body": "Olá, João! 😊"})
    assert status == 201
    assert body["total"] == 1
    [message] = body["records"]
    uuid.UUID(message["id"])
    assert message["type"] == "text"
    assert message["origin"] == "OUTBOUND"
    assert message["from_me"] is True
    assert message["sent_via"] == "API"
    assert message["status"] == "processing"
    assert message["body_text"] == "Olá, João! 😊"
    assert message["content_payload"]["wamid"].startswith("wamid.")
    assert message["quoted_message"] is None
    assert message["reactions"] == []
    assert Z_STAMP.fullmatch(message["meta_timestamp"])
    assert message["created_at"] == message["meta_timestamp"]
    assert parse(message["meta_timestamp"]) > last_event_at


async def test_a_sent_message_is_the_newest_timeline_event(api: Api, chat: str) -> None:
    _, sent = await api.send(chat, {"type": "text", "body": "lida de volta"})
    status, body = await api.timeline(chat, take=1, order="desc")
    assert (status, body["total"]) == (200, 58)
    [event] = body["records"]
    assert event["event_type"] == "MESSAGE"
    assert event["message"] == sent["records"][0]
    assert event["event_at"] == sent["records"][0]["meta_timestamp"]


async def test_sends_land_after_an_event_dated_in_the_future(api: Api, chat: str) -> None:
    future = datetime.now(UTC) + timedelta(days=3)
    api.emu.add_message(chat, "do futuro", event_at=future)
    _, body = await api.send(chat, {"type": "text", "body": "agora"})
    assert parse(body["records"][0]["meta_timestamp"]) > future
    _, page = await api.timeline(chat, take=1, order="desc")
    assert page["records"][0]["message"]["body_text"] == "agora"


async def test_a_reply_quotes_the_referenced_message(api: Api, chat: str) -> None:
    target = message_with_wamid(api.emu, chat)
    wamid = target["content_payload"]["wamid"]
    payload = {"type": "text", "body": "respondendo", "reference_wamid": wamid}
    status, body = await api.send(chat, payload)
    assert status == 201
    quoted = body["records"][0]["quoted_message"]
    assert quoted == {key: value for key, value in target.items() if key != "quoted_message"}
    assert body["records"][0]["content_payload"]["context"] == {"message_id": wamid}


async def test_a_reply_to_a_reply_does_not_nest_quotes(api: Api, chat: str) -> None:
    wamid = message_with_wamid(api.emu, chat)["content_payload"]["wamid"]
    _, first = await api.send(chat, {"type": "text", "body": "1", "reference_wamid": wamid})
    reply_wamid = first["records"][0]["content_payload"]["wamid"]
    _, second = await api.send(chat, {"type": "text", "body": "2", "reference_wamid": reply_wamid})
    quoted = second["records"][0]["quoted_message"]
    assert quoted["body_text"] == "1"
    assert "quoted_message" not in quoted


async def test_a_reaction_is_sent_and_added_to_its_target(api: Api, chat: str) -> None:
    target = message_with_wamid(api.emu, chat)
    wamid = target["content_payload"]["wamid"]
    payload = {"type": "reaction", "body": "👍", "reference_wamid": wamid}
    status, body = await api.send(chat, payload)
    assert status == 201
    sent = body["records"][0]
    assert (sent["type"], sent["body_text"]) == ("reaction", "👍")
    assert sent["quoted_message"]["id"] == target["id"]
    stored = next(e for e in api.emu.events(chat) if e["message"]["id"] == target["id"])
    reactions = stored["message"]["reactions"]
    assert reactions[:-1] == target["reactions"]
    assert reactions[-1]["emoji"] == "👍"
    assert reactions[-1]["actor"] == "API"
    # The timeline serves the updated target, not a stale cached copy.
    ids = await api.all_ids(chat, "asc", take=100)
    _, page = await api.timeline(chat, skip=ids.index(stored["id"]), take=1)
    assert page["records"][0]["message"]["reactions"] == reactions


async def test_a_new_reaction_replaces_the_previous_one(api: Api, chat: str) -> None:
    target = message_with_wamid(api.emu, chat)
    wamid = target["content_payload"]["wamid"]
    for emoji in ("👍", "❤️"):
        payload = {"type": "reaction", "body": emoji, "reference_wamid": wamid}
        assert (await api.send(chat, payload))[0] == 201
    stored = next(e for e in api.emu.events(chat) if e["message"]["id"] == target["id"])
    api_reactions = [r for r in stored["message"]["reactions"] if r["actor"] == "API"]
    assert [r["emoji"] for r in api_reactions] == ["❤️"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"type": "reaction", "body": "👍"}, "reference_wamid is required"),
        ({"type": "reaction", "body": "👍", "reference_wamid": "wamid.nope"}, "wamid.nope"),
        ({"type": "reaction", "reference_wamid": "x"}, "body is required"),
    ],
)
async def test_bad_reactions_are_400(
    api: Api, chat: str, payload: dict[str, Any], fragment: str
) -> None:
    status, body = await api.send(chat, payload)
    assert status == 400
    assert fragment in body["message"]


async def test_a_reaction_must_target_a_message_of_the_same_chat(api: Api, chat: str) -> None:
    other = api.emu.create_chat(events=5, seed=99)
    wamid = message_with_wamid(api.emu, other)["content_payload"]["wamid"]
    payload = {"type": "reaction", "body": "👍", "reference_wamid": wamid}
    status, body = await api.send(chat, payload)
    assert status == 400
    assert "no message of this chat" in body["message"]


async def test_a_template_is_rendered_in_body_text(api: Api, chat: str) -> None:
    fields = [{"component": "BODY", "type": "TEXT", "index": 1, "value": "Maria"}]
    payload = {
        "type": "template",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
        "template_fields": fields,
    }
    status, body = await api.send(chat, payload)
    assert status == 201
    message = body["records"][0]
    assert message["type"] == "template"
    assert message["body_text"] == "[template saudacao_inicial/pt_BR]"
    assert message["content_payload"]["template"] == payload["template"]
    assert message["content_payload"]["template_fields"] == fields


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"type": "template"}, "template is required"),
        ({"type": "template", "template": {"language": "pt_BR"}}, "template.name"),
        ({"type": "template", "template": {"name": "x"}}, "template.language"),
        ({"type": "template", "template": {"name": "x", "language": ""}}, "template.language"),
        (
            {"type": "template", "template": {"name": "x", "language": "pt"}, "template_fields": 3},
            "template_fields",
        ),
    ],
)
async def test_bad_templates_are_400(
    api: Api, chat: str, payload: dict[str, Any], fragment: str
) -> None:
    status, body = await api.send(chat, payload)
    assert status == 400
    assert fragment in body["message"]


def upload(kind: str, data: bytes, filename: str, content_type: str, caption: str | None) -> Any:
    # Unquoted, so a non-ASCII filename travels as UTF-8 the way browsers send it; the
    # emulator, like most servers, does not percent-decode filenames.
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("type", kind)
    if caption is not None:
        form.add_field("body", caption)
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


@pytest.mark.parametrize(
    ("kind", "filename", "content_type"),
    [
        ("image", "foto.jpg", "image/jpeg"),
        ("video", "video.mp4", "video/mp4"),
        ("audio", "áudio.ogg", "audio/ogg"),
        ("document", "Proposta nº 7.pdf", "application/pdf"),
    ],
)
async def test_an_upload_is_stored_and_served(
    api: Api, chat: str, kind: str, filename: str, content_type: str
) -> None:
    data = bytes(range(256)) * 40
    form = upload(kind, data, filename, content_type, caption="Segue o arquivo")
    status, body = await api.send(chat, data=form)
    assert status == 201
    message = body["records"][0]
    assert (message["type"], message["body_text"]) == (kind, "Segue o arquivo")
    media = message["media"]
    assert media["mime_type"] == content_type
    assert media["file_name"] == filename
    assert media["is_downloaded"] is True
    assert media["url"] == f"{api.emu.base_url}/media/{media['id']}"
    async with api.session.get(media["url"], headers=api.auth) as resp:
        assert resp.status == 200
        assert resp.content_type == content_type
        assert await resp.read() == data
    assert api.emu.events(chat)[-1]["message"]["media"] == media


async def test_an_upload_without_caption_has_no_body_text(api: Api, chat: str) -> None:
    form = upload("image", b"\x89PNG", "a.png", "image/png", caption=None)
    status, body = await api.send(chat, data=form)
    assert (status, body["records"][0]["body_text"]) == (201, None)


async def test_media_needs_the_token_and_a_known_id(api: Api, chat: str) -> None:
    _, body = await api.send(chat, data=upload("image", b"img", "a.png", "image/png", None))
    url = body["records"][0]["media"]["url"]
    async with api.session.get(url) as resp:
        assert resp.status == 401
    async with api.session.get(f"{api.emu.base_url}/media/{uuid.uuid4()}", headers=api.auth) as r:
        assert r.status == 404
        assert "message" in await r.json()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({}, "type is required"),
        ({"body": "oi"}, "type is required"),
        ({"type": 3, "body": "oi"}, "type must be a string"),
        ({"type": "sticker", "body": "oi"}, "unknown type 'sticker'"),
        ({"type": "interactive", "body": "oi"}, "/messages/interactive"),
        ({"type": "location"}, "/messages/location"),
        ({"type": "text"}, "body is required for type=text"),
        ({"type": "text", "body": ""}, "body is required"),
        ({"type": "text", "body": "   "}, "body is required"),
        ({"type": "text", "body": 5}, "body must be a string"),
        ({"type": "text", "body": "oi", "reference_wamid": 5}, "reference_wamid must be"),
        ({"type": "image", "body": "foto"}, "part named 'file'"),
        ({"type": "document"}, "part named 'file'"),
    ],
)
async def test_invalid_json_sends_are_400_naming_the_problem(
    api: Api, chat: str, payload: dict[str, Any], fragment: str
) -> None:
    status, body = await api.send(chat, payload)
    assert status == 400
    assert fragment in body["message"]
    assert len(api.emu.events(chat)) == 57


@pytest.mark.parametrize(
    ("data", "content_type", "fragment"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b"", "application/json", "empty"),
        (b"type=text&body=oi", "application/x-www-form-urlencoded", "multipart/form-data"),
    ],
)
async def test_unreadable_bodies_are_400(
    api: Api, chat: str, data: bytes, content_type: str, fragment: str
) -> None:
    headers = {**api.auth, "Content-Type": content_type}
    status, body = await api.send(chat, data=data, headers=headers)
    assert status == 400
    assert fragment in body["message"]


async def test_multipart_sends_validate_like_json(api: Api, chat: str) -> None:
    form = upload("text", b"x", "a.txt", "text/plain", caption="oi")
    status, body = await api.send(chat, data=form)
    assert (status, "only accepted for" in body["message"]) == (400, True)
    form = upload("image", b"", "a.png", "image/png", caption=None)
    status, body = await api.send(chat, data=form)
    assert (status, "empty" in body["message"]) == (400, True)
    fields = {"type": "text", "body": "sem arquivo"}
    text_only = aiohttp.FormData(fields, default_to_multipart=True)
    status, body = await api.send(chat, data=text_only)
    assert (status, body["records"][0]["body_text"]) == (201, "sem arquivo")
