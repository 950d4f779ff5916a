"""End to end: our ``WeglyClient`` against the built-in emulator over real loopback sockets.

No aioresponses here: these tests run on the newest aiohttp. Every request crosses a real
TCP connection to a ``WeglyEmulator`` the test starts on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import logging
import random
import re
import socket
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

import wegly_async as wa
from wegly_async._constants import INITIAL_RETRY_DELAY
from wegly_async.testing import RecordedRequest, WeglyEmulator, instant_retries

PREFIX = "/integrations/external"
UNKNOWN_CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
ALLOWED_DOMAIN = "app.example.com"
# No single read may take longer than this: a pager that never stops fails instead of hanging.
READ_TIMEOUT = 10.0

T = TypeVar("T")


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_wegly_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own WEGLY_* variables must not change what these tests send.
    for name in ("WEGLY_TOKEN", "WEGLY_BASE_URL", "WEGLY_ORIGIN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    """Use the fixture our pytest plugin gives every user."""
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=60, seed=21)


@pytest.fixture
async def sdk(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    """A client with the default retry policy and a generous but bounded timeout."""
    async with emu.client(timeout=10.0) as client:
        yield client


def of_method(emu: WeglyEmulator, method: str) -> list[RecordedRequest]:
    return [request for request in emu.requests if request.method == method]


def bodies(emu: WeglyEmulator, chat_id: str) -> list[Any]:
    return [(event["message"] or {}).get("body_text") for event in emu.events(chat_id)]


def ids(events: list[wa.TimelineEvent]) -> list[str]:
    return [event.id for event in events]


def raw_ids(emu: WeglyEmulator, chat_id: str) -> list[str]:
    return [event["id"] for event in emu.events(chat_id)]


def full_text_message(emu: WeglyEmulator, chat_id: str) -> dict[str, Any]:
    """Return the newest full-shape text message of the chat that quotes nothing."""
    for event in reversed(emu.events(chat_id)):
        message = event["message"] or {}
        if message.get("type") == "text" and not message.get("quoted_message"):
            return {"event_id": event["id"], **message}
    raise AssertionError("the seeded chat has no plain text message")


async def newest(client: wa.WeglyClient, chat_id: str) -> wa.TimelineEvent:
    """Read the first event of the descending timeline, like a bot checking what it sent."""
    async for event in client.chats.timeline(chat_id, order="desc", take=1):
        return event
    raise AssertionError("the timeline is empty")


async def collect(pager: wa.TimelinePager) -> list[wa.TimelineEvent]:
    """``pager.to_list()``, bounded in time."""
    return await asyncio.wait_for(pager.to_list(), READ_TIMEOUT)


async def bounded(items: AsyncIterable[T], limit: int = 10_000) -> list[T]:
    """Collect an async iterable, failing if it yields too much or takes too long."""

    async def drain() -> list[T]:
        out: list[T] = []
        async for item in items:
            out.append(item)
            assert len(out) <= limit, "the pager does not stop"
        return out

    return await asyncio.wait_for(drain(), READ_TIMEOUT)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def assert_aware(moment: datetime | None) -> None:
    assert isinstance(moment, datetime)
    assert moment.tzinfo is not None
    assert moment.utcoffset() is not None


async def call(client: wa.WeglyClient, method: str, chat_id: str, text: str = "oi") -> None:
    """Make one GET (read the whole timeline) or one POST (send a text)."""
    if method == "GET":
        await collect(client.chats.timeline(chat_id))
    else:
        await client.chats.send_text(chat_id, text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- sending: text, reply, reaction, template -----------------------------------------------


async def test_send_text_is_stored_and_read_back_first_in_desc(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    body = "Olá, Maria! Seu pedido nº 42 já saiu 🚚"
    result = await sdk.chats.send_text(chat, body)

    assert isinstance(result, wa.SendResult)
    assert result.total == 1
    [message] = result.records
    assert isinstance(message, wa.Message)
    assert message.type == wa.MessageType.TEXT
    assert message.body_text == body
    assert message.from_me is True
    assert message.status == "processing"
    assert message.quoted_message is None
    assert_aware(message.meta_timestamp)

    request = emu.requests[-1]
    assert request.method == "POST"
    assert request.path == f"{PREFIX}/chats/{chat}/messages"
    # Keys whose value is None (reference_wamid) are never sent.
    assert request.json == {"type": "text", "body": body}
    assert request.headers["Authorization"] == f"Bearer {emu.token}"
    assert request.headers["Content-Type"].startswith("application/json")

    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.id == message.id
    assert first.message.body_text == body
    assert emu.events(chat)[-1]["message"]["id"] == message.id


async def test_send_text_reply_quotes_the_target(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    target = full_text_message(emu, chat)
    wamid = target["content_payload"]["wamid"]

    result = await sdk.chats.send_text(chat, "Respondendo à sua pergunta", reply_to=wamid)

    assert emu.requests[-1].json == {
        "type": "text",
        "body": "Respondendo à sua pergunta",
        "reference_wamid": wamid,
    }
    [message] = result.records
    assert message.quoted_message is not None
    assert message.quoted_message.id == target["id"]
    assert message.quoted_message.body_text == target["body_text"]
    assert message.quoted_message.content_payload is not None
    assert message.quoted_message.content_payload["wamid"] == wamid

    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.id == message.id
    assert first.message.quoted_message is not None
    assert first.message.quoted_message.id == target["id"]


async def test_send_reaction_appears_in_the_targets_reactions(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    target = full_text_message(emu, chat)
    wamid = target["content_payload"]["wamid"]

    result = await sdk.chats.send_reaction(chat, "🎉", reference_wamid=wamid)

    assert emu.requests[-1].json == {"type": "reaction", "body": "🎉", "reference_wamid": wamid}
    [message] = result.records
    assert message.type == wa.MessageType.REACTION
    assert message.body_text == "🎉"

    events = await collect(sdk.chats.timeline(chat, take=25))
    [target_event] = [event for event in events if event.id == target["event_id"]]
    assert target_event.message is not None
    emojis = [reaction.emoji for reaction in target_event.message.reactions]
    assert "🎉" in emojis
    [ours] = [r for r in target_event.message.reactions if r.emoji == "🎉"]
    assert ours.actor == "API"  # an actor the docs do not list is kept
    assert_aware(ours.created_at)

    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.id == message.id


async def test_send_template_with_fields(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    fields = [
        wa.TemplateField("BODY", "TEXT", index=1, value="Maria"),
        wa.TemplateField("BODY", "TEXT", index=2, value="R$ 1.234,56"),
        wa.TemplateField("BUTTON", "URL", button_index=0, card_index=2, value="pedido/42"),
    ]
    result = await sdk.chats.send_template(
        chat, name="lembrete_pagamento", language="pt_BR", fields=fields
    )

    expected_fields = [
        {"component": "BODY", "type": "TEXT", "index": 1, "value": "Maria"},
        {"component": "BODY", "type": "TEXT", "index": 2, "value": "R$ 1.234,56"},
        {
            "component": "BUTTON",
            "type": "URL",
            "button_index": 0,
            "card_index": 2,
            "value": "pedido/42",
        },
    ]
    assert emu.requests[-1].json == {
        "type": "template",
        "template": {"name": "lembrete_pagamento", "language": "pt_BR"},
        "template_fields": expected_fields,
    }
    [message] = result.records
    assert message.type == wa.MessageType.TEMPLATE
    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.id == message.id
    assert first.message.content_payload is not None
    assert first.message.content_payload["template"] == {
        "name": "lembrete_pagamento",
        "language": "pt_BR",
    }
    assert first.message.content_payload["template_fields"] == expected_fields


async def test_send_template_without_fields_sends_no_fields_key(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    await sdk.chats.send_template(chat, name="saudacao_inicial", language="pt_BR")
    assert emu.requests[-1].json == {
        "type": "template",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
    }


# --- sending: media uploads ---------------------------------------------------------------

MEDIA = {
    # kind: (file name, content type its name implies, caption)
    "image": ("foto da loja.jpg", "image/jpeg", "Nossa loja 😍"),
    "video": ("VID-20240101-WA0001.mp4", "video/mp4", "Olha como ficou!"),
    "audio": ("nota de voz.mp3", "audio/mpeg", None),
    "document": ("Proposta Comercial nº 7.pdf", "application/pdf", "Segue o orçamento"),
}
SOURCES = ("path", "bytes", "bytesio", "open_file", "async_iterable")


async def chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", list(MEDIA))
async def test_send_media_from_every_source(
    emu: WeglyEmulator,
    sdk: wa.WeglyClient,
    chat: str,
    tmp_path: Path,
    kind: str,
    source: str,
    request: pytest.FixtureRequest,
) -> None:
    filename, content_type, caption = MEDIA[kind]
    # Larger than the SDK's 64 KiB read chunks, so streaming really spans several chunks.
    data = random.Random(f"{kind}/{source}").randbytes(150_000)
    send = getattr(sdk.chats, f"send_{kind}")

    file: Any
    kwargs: dict[str, Any] = {"caption": caption}
    if source == "path":
        path = tmp_path / filename
        path.write_bytes(data)
        file = path  # the name and the content type come from the path
    elif source == "bytes":
        file = data
        kwargs["filename"] = filename  # the content type is guessed from it
    elif source == "bytesio":
        file = io.BytesIO(data)
        kwargs.update(filename=filename, mime_type=content_type)
    elif source == "open_file":
        path = tmp_path / filename
        path.write_bytes(data)
        file = path.open("rb")  # its own name gives the filename and the content type
        request.addfinalizer(file.close)
    else:
        file = chunks(data)
        kwargs.update(filename=filename, mime_type=content_type)

    emu.requests.clear()
    result = await send(chat, file, **kwargs)

    [sent] = emu.requests
    assert sent.method == "POST"
    assert sent.path == f"{PREFIX}/chats/{chat}/messages"
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert sent.json is None
    expected_parts = {"type", "file"} | ({"body"} if caption else set())
    assert set(sent.parts) == expected_parts
    assert sent.parts["type"].text == kind
    if caption:
        assert sent.parts["body"].text == caption
    part = sent.parts["file"]
    assert part.filename == filename
    assert part.content_type == content_type
    assert part.data == data

    assert result.total == 1
    [message] = result.records
    assert message.type == kind
    assert message.body_text == caption
    assert message.media is not None
    assert message.media.file_name == filename
    assert message.media.mime_type == content_type
    assert message.media.url

    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.id == message.id
    assert first.message.media == message.media

    if source in ("bytesio", "open_file"):
        assert not file.closed  # the caller's file object stays theirs


async def test_uploaded_bytes_are_served_back_by_the_media_url(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, tmp_path: Path
) -> None:
    data = random.Random(5).randbytes(70_000)
    path = tmp_path / "cardapio.png"
    path.write_bytes(data)
    result = await sdk.chats.send_image(chat, str(path), caption="Nosso cardápio")
    media = result.records[0].media
    assert media is not None
    assert media.url is not None
    assert media.mime_type == "image/png"
    async with (
        aiohttp.ClientSession() as http,
        http.get(media.url, headers={"Authorization": f"Bearer {emu.token}"}) as resp,
    ):
        assert resp.status == 200
        assert await resp.read() == data


async def test_bytes_without_a_name_go_as_octet_stream_named_file(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    await sdk.chats.send_document(chat, b"%PDF-1.4 conteudo")
    part = emu.requests[-1].parts["file"]
    assert part.filename == "file"
    assert part.content_type == "application/octet-stream"
    assert part.data == b"%PDF-1.4 conteudo"
    assert set(emu.requests[-1].parts) == {"type", "file"}


@pytest.mark.parametrize(
    "filename",
    ['relatório "final".pdf', "a;b=c.pdf", "back\\slash.pdf", "percent%20kept.pdf", "日本語.pdf"],
)
async def test_awkward_file_names_arrive_intact(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, filename: str
) -> None:
    result = await sdk.chats.send_document(chat, b"%PDF", filename=filename, caption='diz "oi"')
    parts = emu.requests[-1].parts
    assert parts["file"].filename == filename
    assert parts["file"].content_type == "application/pdf"
    assert parts["body"].text == 'diz "oi"'
    assert result.records[0].media is not None
    assert result.records[0].media.file_name == filename


async def test_media_reply_to_sends_reference_wamid(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    target = full_text_message(emu, chat)
    wamid = target["content_payload"]["wamid"]
    result = await sdk.chats.send_image(chat, b"\x89PNG fake", filename="a.png", reply_to=wamid)
    assert emu.requests[-1].parts["reference_wamid"].text == wamid
    quoted = result.records[0].quoted_message
    assert quoted is not None
    assert quoted.id == target["id"]


async def test_a_retried_upload_sends_the_whole_file_again(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, tmp_path: Path
) -> None:
    data = random.Random(9).randbytes(100_000)
    path = tmp_path / "planilha.pdf"
    path.write_bytes(data)
    emu.inject(429, method="POST", retry_after=0.05)
    emu.requests.clear()

    await sdk.chats.send_document(chat, path, caption="de novo")

    assert len(emu.requests) == 2
    for request in emu.requests:
        assert request.parts["file"].data == data
        assert request.parts["body"].text == "de novo"
    assert bodies(emu, chat).count("de novo") == 1


async def test_a_one_shot_stream_is_not_retried_and_says_so(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    emu.inject(429, method="POST", retry_after=0.05)
    emu.requests.clear()
    with pytest.raises(wa.RateLimitError) as info:
        await sdk.chats.send_video(chat, chunks(b"x" * 1000), filename="v.mp4")
    assert len(emu.requests) == 1
    assert "one-shot" in str(info.value)


async def test_a_missing_file_never_reaches_the_network(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, tmp_path: Path
) -> None:
    emu.requests.clear()
    with pytest.raises(FileNotFoundError, match=re.escape("no-such.jpg")):
        await sdk.chats.send_image(chat, tmp_path / "no-such.jpg")
    assert emu.requests == []


# --- pagination ---------------------------------------------------------------------------


@pytest.fixture
def big_chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=400, seed=11)


async def test_both_orders_are_each_others_reverse_and_match_the_emulator(
    emu: WeglyEmulator, sdk: wa.WeglyClient, big_chat: str
) -> None:
    expected = raw_ids(emu, big_chat)
    assert len(expected) == 400

    asc = await collect(sdk.chats.timeline(big_chat, order="asc", take=50))
    desc = await collect(sdk.chats.timeline(big_chat, order=wa.Order.DESC, take=50))

    assert ids(asc) == expected
    assert ids(desc) == expected[::-1]
    assert ids(asc) == ids(desc)[::-1]
    assert len(set(ids(asc))) == 400
    timelines = [r for r in of_method(emu, "GET") if r.path.endswith("/timeline")]
    assert {r.query["order"] for r in timelines} == {"asc", "desc"}
    assert all(r.query["take"] == "50" for r in timelines)


async def test_every_field_decodes_like_the_wire_says(
    emu: WeglyEmulator, sdk: wa.WeglyClient, big_chat: str
) -> None:
    raw = emu.events(big_chat)
    events = await collect(sdk.chats.timeline(big_chat, take=100))
    assert len(events) == len(raw)

    for event, wire in zip(events, raw, strict=True):
        assert isinstance(event, wa.TimelineEvent)
        assert event.id == wire["id"]
        assert event.event_type == wire["event_type"]
        assert_aware(event.event_at)
        assert event.event_at == parse(wire["event_at"])
        message, wire_message = event.message, wire["message"]
        assert message is not None
        assert message.id == wire_message["id"]
        assert message.type == wire_message.get("type")
        assert message.from_me == wire_message.get("from_me")
        assert message.body_text == wire_message.get("body_text")
        assert message.content_payload == wire_message.get("content_payload")
        assert message.meta_timestamp == parse(wire_message["meta_timestamp"])
        assert_aware(message.meta_timestamp)
        if wire_message.get("created_at"):
            assert message.created_at == parse(wire_message["created_at"])
            assert_aware(message.created_at)
        assert len(message.reactions) == len(wire_message.get("reactions") or [])
        for reaction, wire_reaction in zip(
            message.reactions, wire_message["reactions"], strict=True
        ):
            assert reaction.emoji == wire_reaction["emoji"]
            assert reaction.actor == wire_reaction.get("actor")
            assert reaction.created_at == parse(wire_reaction["created_at"])
            assert_aware(reaction.created_at)
        if wire_message.get("media"):
            assert message.media is not None
            assert message.media.file_name == wire_message["media"]["file_name"]
            assert message.media.mime_type == wire_message["media"]["mime_type"]
        if wire_message.get("call"):
            call, wire_call = message.call, wire_message["call"]
            assert call is not None
            assert call.status == wire_call["status"]
            assert call.direction == wire_call["direction"]
            assert call.duration_ms == wire_call["duration_ms"]
            assert call.started_at == parse(wire_call["started_at"])
            assert_aware(call.ended_at)
        if wire_message.get("quoted_message"):
            assert message.quoted_message is not None
            assert message.quoted_message.id == wire_message["quoted_message"]["id"]
        if wire_message.get("agent"):
            assert message.agent is not None
            assert message.agent.user is not None
            assert message.agent.user.name == wire_message["agent"]["user"]["name"]
        assert message.crm_marketing_lead_source == (
            wire_message.get("crm_marketing_lead_source") or []
        )


async def test_open_enums_keep_unknown_values_and_both_schema_variants_decode(
    emu: WeglyEmulator, sdk: wa.WeglyClient, big_chat: str
) -> None:
    events = await collect(sdk.chats.timeline(big_chat, take=100))
    by_id = {event["id"]: event for event in emu.events(big_chat)}
    messages = [event.message for event in events if event.message is not None]

    stickers = [m for m in messages if m.type == "sticker"]
    assert stickers, "seed 11 has stickers"
    for sticker in stickers:
        assert isinstance(sticker.type, wa.MessageType)
        assert sticker.type.is_known is False
        assert sticker.media is not None

    calls = [event for event in events if event.event_type == wa.EventType.CALL]
    assert calls
    statuses = {
        event.message.call.status for event in calls if event.message and event.message.call
    }
    assert "MISSED" in statuses  # undocumented, kept
    for status in statuses:
        assert isinstance(status, wa.CallStatus)

    via = {m.sent_via for m in messages if m.sent_via is not None}
    assert {"CONTACT", "AGENT"} <= via
    assert all(isinstance(value, wa.SentVia) for value in via)

    # The reduced shape: no type/origin/status, meta_timestamp with an offset, no actor.
    reduced = [e for e in events if "type" not in by_id[e.id]["message"]]
    full = [e for e in events if "type" in by_id[e.id]["message"]]
    assert reduced
    assert full
    for event in reduced:
        message = event.message
        assert message is not None
        assert message.type is None
        assert message.origin is None
        assert message.status is None
        assert by_id[event.id]["message"]["meta_timestamp"].endswith("+00:00")
        assert_aware(message.meta_timestamp)
        assert all(reaction.actor is None for reaction in message.reactions)
    for event in full:
        assert event.message is not None
        assert isinstance(event.message.type, wa.MessageType)
        assert isinstance(event.message.origin, wa.MessageOrigin)


async def test_search_finds_only_matching_messages_across_pages(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    wanted = [
        emu.add_message(chat, "Quero o AÇAÍ-7731 grande")["id"],
        emu.add_message(chat, "açaí-7731 sem granola", from_me=True)["id"],
        emu.add_message(chat, "e o Acai-7731 de ontem?")["id"],
    ]
    emu.add_message(chat, "acai 7731 (sem hífen, não casa)")
    emu.requests.clear()

    found = await collect(sdk.chats.timeline(chat, search="acai-7731", take=2))

    assert ids(found) == wanted
    assert len(emu.requests) == 2
    assert all(r.query["search"] == "acai-7731" for r in emu.requests)
    assert [r.query["skip"] for r in emu.requests] == ["0", "1"]  # from the anchor
    assert await collect(sdk.chats.timeline(chat, search="nada-disso-existe-9")) == []


async def test_no_search_key_when_not_searching(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    emu.requests.clear()
    await collect(sdk.chats.timeline(chat, take=100))
    [request] = emu.requests
    assert request.query == {"order": "asc", "skip": "0", "take": "100"}


@pytest.mark.parametrize(("order", "skip"), [("asc", 0), ("asc", 17), ("desc", 10), ("asc", 60)])
async def test_skip_starts_later(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, order: str, skip: int
) -> None:
    expected = raw_ids(emu, chat)
    if order == "desc":
        expected = expected[::-1]
    got = await collect(sdk.chats.timeline(chat, order=order, skip=skip, take=20))
    assert ids(got) == expected[skip:]
    assert emu.requests[0].query["skip"] == str(skip)


async def test_short_pages_from_a_capped_server_skip_nothing() -> None:
    async with WeglyEmulator(max_take=7) as emu:
        chat = emu.create_chat(events=60, seed=4)
        async with emu.client(timeout=10.0) as client:
            got = await collect(client.chats.timeline(chat, take=50))
            assert ids(got) == raw_ids(emu, chat)
            skips = [int(r.query["skip"]) for r in emu.requests]
            assert skips[0] == 0
            assert emu.requests[0].query["take"] == "50"
            # Each page starts at the last record actually received (its anchor): 6 further
            # on, never 49 (a pager may also ask ahead, so extra offsets are allowed).
            assert set(range(0, 60, 6)) <= set(skips)
            assert len(skips) < 30

            emu.requests.clear()
            desc = await collect(client.chats.timeline(chat, order="desc", take=50))
            assert ids(desc) == raw_ids(emu, chat)[::-1]

            emu.requests.clear()
            pages = await bounded(client.chats.timeline(chat, take=50).pages())
            # 7 records an answer: 7 new on the first page, then 6 past each anchor.
            assert [len(page.records) for page in pages] == [7] + [6] * 8 + [5]
            assert [page.skip for page in pages] == [0, *range(7, 60, 6)]
            assert all(page.total == 60 for page in pages)


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_events_inserted_while_iterating_are_never_yielded_twice(
    emu: WeglyEmulator, sdk: wa.WeglyClient, order: str
) -> None:
    chat = emu.create_chat(events=150, seed=3)
    original = raw_ids(emu, chat)
    oldest = parse(emu.events(chat)[0]["event_at"])
    inserted: list[str] = []
    seen: list[str] = []

    async def read() -> None:
        async for event in sdk.chats.timeline(chat, order=order, take=20):
            seen.append(event.id)
            assert len(seen) < 1_000, "the pager does not stop"
            if len(seen) % 7 == 0 and len(inserted) < 40:
                # Inserting "behind" the cursor shifts every later offset by one: asc reads
                # oldest first, so an old event does it; desc reads newest first, a new one.
                when = oldest - timedelta(minutes=len(seen)) if order == "asc" else None
                added = emu.add_message(chat, f"inserida {len(seen)}", event_at=when)
                inserted.append(added["id"])

    await asyncio.wait_for(read(), READ_TIMEOUT)

    assert len(inserted) >= 15
    assert len(seen) == len(set(seen)), "an event id was yielded twice"
    assert set(original) <= set(seen), "an event was skipped"


async def test_pages_never_repeat_an_id_when_events_are_inserted(
    emu: WeglyEmulator, sdk: wa.WeglyClient
) -> None:
    chat = emu.create_chat(events=100, seed=8)
    original = raw_ids(emu, chat)
    oldest = parse(emu.events(chat)[0]["event_at"])
    seen: list[str] = []
    pages = 0

    async def read() -> None:
        nonlocal pages
        async for page in sdk.chats.timeline(chat, take=10).pages():
            pages += 1
            seen.extend(ids(page.records))
            assert len(seen) < 1_000, "the pager does not stop"
            for n in range(3):
                when = oldest - timedelta(days=1, minutes=pages * 3 + n)
                emu.add_message(chat, f"antiga {pages}/{n}", event_at=when)

    await asyncio.wait_for(read(), READ_TIMEOUT)
    assert pages >= 10
    assert len(seen) == len(set(seen))
    assert set(original) <= set(seen)


async def test_pages_report_totals_skips_and_takes(emu: WeglyEmulator, sdk: wa.WeglyClient) -> None:
    chat = emu.create_chat(events=95, seed=6)
    pages = await bounded(sdk.chats.timeline(chat, take=20).pages())
    assert all(isinstance(page, wa.TimelinePage) for page in pages)
    assert [page.total for page in pages] == [95] * 5
    # From the second page on, each request starts at the last event yielded (the anchor
    # that proves the pages join), so it brings take - 1 new events.
    assert [page.skip for page in pages] == [0, 20, 39, 58, 77]
    assert [page.take for page in pages] == [20] * 5
    assert [len(page.records) for page in pages] == [20, 19, 19, 19, 18]
    assert [e.id for page in pages for e in page.records] == raw_ids(emu, chat)
    assert len(emu.requests) == 5


async def test_an_empty_chat_yields_one_empty_page(emu: WeglyEmulator, sdk: wa.WeglyClient) -> None:
    chat = emu.create_chat(events=0, seed=2)
    pages = await bounded(sdk.chats.timeline(chat).pages())
    assert len(pages) == 1
    assert pages[0].total == 0
    assert pages[0].records == []
    assert await collect(sdk.chats.timeline(chat)) == []


async def test_raw_yields_the_servers_dicts_with_unknown_fields(
    emu: WeglyEmulator, sdk: wa.WeglyClient, big_chat: str
) -> None:
    expected = emu.events(big_chat)
    assert any("edited" in event["message"] for event in expected), "seed 11 has unknown fields"
    assert any("page" in (event["message"].get("quoted_message") or {}) for event in expected)

    raw = await bounded(sdk.chats.timeline(big_chat, take=64).raw())

    assert raw == expected
    raw_desc = await bounded(sdk.chats.timeline(big_chat, order="desc", take=64).raw())
    assert raw_desc == expected[::-1]


async def test_leaving_the_loop_early_makes_no_more_requests_and_holds_nothing(
    emu: WeglyEmulator, chat: str
) -> None:
    # One connection in the pool: if the early exit kept it, the next request would hang.
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = wa.WeglyClient(emu.token, base_url=emu.base_url, timeout=5.0, session=session)
        emu.requests.clear()
        got: list[str] = []
        async for event in client.chats.timeline(chat, take=10):
            got.append(event.id)
            if len(got) == 3:
                break
        assert got == raw_ids(emu, chat)[:3]
        assert len(emu.requests) == 1
        await asyncio.sleep(0.05)
        assert len(emu.requests) == 1

        # Leaving in the middle of the third page: whatever was in flight lands, and then
        # nothing keeps requesting in the background.
        got.clear()
        async for event in client.chats.timeline(chat, take=10):
            got.append(event.id)
            if len(got) == 25:
                break
        assert got == raw_ids(emu, chat)[:25]
        await asyncio.sleep(0.2)
        settled = len(emu.requests)
        assert settled >= 4
        await asyncio.sleep(0.3)
        assert len(emu.requests) == settled

        emu.requests.clear()
        first = await asyncio.wait_for(newest(client, chat), 3)
        assert first.id == raw_ids(emu, chat)[-1]
        await client.close()
        assert client.closed
        assert not session.closed  # the caller's session stays theirs
    assert len(emu.requests) == 1


async def test_a_cancelled_read_stops_requesting() -> None:
    slow = WeglyEmulator(latency=0.03)
    async with slow:
        chat = slow.create_chat(events=300, seed=12)
        async with slow.client(timeout=5.0) as client:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.chats.timeline(chat, take=10).to_list(), 0.25)
            await asyncio.sleep(0.1)
            settled = len(slow.requests)
            assert 2 <= settled < 30
            await asyncio.sleep(0.3)
            assert len(slow.requests) == settled, "requests went on after the reader was cancelled"
            # The client is still perfectly usable.
            first = await asyncio.wait_for(newest(client, chat), 3)
            assert first.id == raw_ids(slow, chat)[-1]


async def test_a_total_that_lies_stops_on_an_empty_page(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    events = emu.events(chat)
    # The first answer claims 999 events; every later one is empty (and still claims 999).
    emu.inject(200, method="GET", body={"total": 999, "records": events[:10]})
    emu.inject(200, method="GET", times=20, body={"total": 999, "records": []})
    emu.requests.clear()
    got = await collect(sdk.chats.timeline(chat, take=10))
    assert ids(got) == [event["id"] for event in events[:10]]
    skips = [r.query["skip"] for r in emu.requests]
    # The empty answer at the anchor (offset 9) is read again wider once, then taken as the end.
    assert skips[:2] == ["0", "9"]
    assert "4" in skips
    assert len(skips) <= 6, "kept paging past an empty page"
    await asyncio.sleep(0.1)
    assert len(emu.requests) == len(skips)


async def test_a_pager_can_be_iterated_again(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    pager = sdk.chats.timeline(chat, order="desc", take=25)
    first = await collect(pager)
    emu.add_message(chat, "nova entre as duas leituras")
    second = await bounded(pager)
    assert ids(first) == raw_ids(emu, chat)[-2::-1]
    assert ids(second) == raw_ids(emu, chat)[::-1]


async def test_search_text_is_url_encoded_exactly(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    needle = "R$ 1.234,56 & 50% + ção?#x=1"
    event = emu.add_message(chat, f"Total: {needle} à vista")
    emu.requests.clear()
    found = await collect(sdk.chats.timeline(chat, search=needle))
    assert ids(found) == [event["id"]]
    assert emu.requests[0].query["search"] == needle
    assert set(emu.requests[0].query) == {"order", "skip", "take", "search"}


# --- retries ------------------------------------------------------------------------------


async def test_get_is_retried_after_429_with_retry_after(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    emu.inject(429, times=2, retry_after=0.05)
    emu.requests.clear()
    started = time.monotonic()
    got = await collect(sdk.chats.timeline(chat, take=100))
    assert ids(got) == raw_ids(emu, chat)
    assert len(of_method(emu, "GET")) == 3
    assert time.monotonic() - started >= 0.09  # both Retry-Afters were honoured
    assert emu.pending_faults == 0


@pytest.mark.parametrize("retry_after", [0.05, None])
async def test_get_is_retried_after_503(
    emu: WeglyEmulator, chat: str, retry_after: float | None
) -> None:
    emu.inject(503, retry_after=retry_after)
    emu.requests.clear()
    async with emu.client(timeout=10.0, max_retries=1) as client:
        got = await collect(client.chats.timeline(chat, take=100))
    assert ids(got) == raw_ids(emu, chat)
    assert len(of_method(emu, "GET")) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_get_is_retried_after_other_server_errors(
    emu: WeglyEmulator, chat: str, status: int
) -> None:
    emu.inject(status)
    emu.requests.clear()
    async with emu.client(timeout=10.0, max_retries=1) as client:
        assert len(await collect(client.chats.timeline(chat, take=100))) == 60
    assert len(emu.requests) == 2


async def test_get_gives_up_after_max_retries(emu: WeglyEmulator, chat: str) -> None:
    emu.inject(503, times=10, retry_after=0.01)
    emu.requests.clear()
    async with emu.client(timeout=10.0, max_retries=2) as client:
        with pytest.raises(wa.InternalServerError) as info:
            await collect(client.chats.timeline(chat))
    assert info.value.status_code == 503
    assert "injected 503" in str(info.value)
    assert len(emu.requests) == 3


async def test_post_is_retried_after_429_and_creates_exactly_one_message(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    emu.inject(429, method="POST", retry_after=0.05)
    emu.requests.clear()
    result = await sdk.chats.send_text(chat, "mensagem única após 429")
    assert len(of_method(emu, "POST")) == 2
    assert bodies(emu, chat).count("mensagem única após 429") == 1
    assert emu.events(chat)[-1]["message"]["id"] == result.records[0].id


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, None), (503, 0.05)])
async def test_post_is_never_retried_after_a_server_error(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, status: int, retry_after: float | None
) -> None:
    emu.inject(status, method="POST", retry_after=retry_after)
    emu.requests.clear()
    before = len(emu.events(chat))
    with pytest.raises(wa.InternalServerError) as info:
        await sdk.chats.send_text(chat, "não duplicar")
    assert info.value.status_code == status
    assert len(of_method(emu, "POST")) == 1
    assert len(emu.events(chat)) == before
    assert "não duplicar" not in bodies(emu, chat)
    await asyncio.sleep(0.1)
    assert len(emu.requests) == 1  # nothing retried in the background either


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_retry_after_above_the_cap_raises_at_once(
    emu: WeglyEmulator, chat: str, method: str
) -> None:
    emu.inject(429, method=method, retry_after=30)
    emu.requests.clear()
    async with emu.client(timeout=10.0, max_retry_after=1.0) as client:
        # Sleeping the 30 s would hit the 5 s wait_for (TimeoutError), not RateLimitError.
        with pytest.raises(wa.RateLimitError) as info:
            await asyncio.wait_for(call(client, method, chat, "cedo demais"), 5)
    assert info.value.status_code == 429
    assert info.value.retry_after == 30.0
    assert len(emu.requests) == 1


async def test_a_long_retry_after_on_503_raises_with_retry_after(
    emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(503, method="GET", retry_after=120)
    async with emu.client(timeout=10.0) as client:
        with pytest.raises(wa.InternalServerError) as info:
            await collect(client.chats.timeline(chat))
    assert info.value.retry_after == 120.0
    assert len(emu.requests) == 1


async def test_retry_after_as_an_http_date(
    emu: WeglyEmulator, chat: str, sleeps: list[float]
) -> None:
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    future = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    async with emu.client(timeout=5.0, max_retry_after=60.0) as client:
        instant_retries(client, sleeps)
        emu.inject(429, method="GET", retry_after=past)
        random.seed(5)
        assert len(await collect(client.chats.timeline(chat, take=100))) == 60
        # A date in the past means "now", which never waits less than the backoff.
        assert len(sleeps) == 1
        assert 0.0 < sleeps[0] <= INITIAL_RETRY_DELAY
        assert len(emu.requests) == 2

        emu.inject(429, method="GET", retry_after=future)
        with pytest.raises(wa.RateLimitError) as info:
            await collect(client.chats.timeline(chat))
    assert info.value.retry_after is not None
    assert 3_500 < info.value.retry_after <= 3_600
    assert len(emu.requests) == 3


@pytest.mark.parametrize(
    ("status", "error"), [(503, wa.InternalServerError), (429, wa.RateLimitError)]
)
async def test_max_retries_zero_turns_retries_off(
    emu: WeglyEmulator, chat: str, status: int, error: type[wa.APIStatusError]
) -> None:
    emu.inject(status, retry_after=0.01)
    emu.requests.clear()
    async with emu.client(timeout=10.0, max_retries=0) as client:
        with pytest.raises(error):
            await collect(client.chats.timeline(chat))
        assert len(emu.requests) == 1
        assert client.max_retries == 0
        # The fault is used up; the same client works again.
        assert len(await collect(client.chats.timeline(chat, take=100))) == 60


# --- timeouts and connection failures ------------------------------------------------------


async def test_a_get_that_times_out_is_an_api_timeout_error(emu: WeglyEmulator, chat: str) -> None:
    emu.inject(None, delay=1.0, method="GET")
    async with emu.client(timeout=0.2, max_retries=0) as client:
        # Without the timeout the answer would simply arrive after 1 s: no error at all.
        with pytest.raises(wa.APITimeoutError) as info:
            await collect(client.chats.timeline(chat))
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert isinstance(info.value, wa.APIConnectionError)
    assert len(emu.requests) == 1


async def test_a_get_that_timed_out_is_retried(emu: WeglyEmulator, chat: str) -> None:
    emu.inject(None, delay=1.0, method="GET")
    async with emu.client(timeout=0.3, max_retries=1) as client:
        got = await collect(client.chats.timeline(chat, take=100))
    assert ids(got) == raw_ids(emu, chat)
    assert len(of_method(emu, "GET")) == 2


async def test_a_send_that_times_out_is_outcome_unknown_and_was_stored(
    emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(None, delay=1.0, method="POST")
    async with emu.client(timeout=0.2) as client:  # default retries: still never resent
        with pytest.raises(wa.SendOutcomeUnknownError) as info:
            await client.chats.send_text(chat, "chegou ou não?")
        error = info.value
        assert type(error) is wa.SendTimeoutError
        assert isinstance(error, wa.APITimeoutError)
        assert isinstance(error, wa.APIConnectionError)
        assert len(of_method(emu, "POST")) == 1
        assert "timeline" in str(error)
        # The bot reads the timeline before resending: the message did go out.
        first = await newest(client, chat)
    assert first.message is not None
    assert first.message.body_text == "chegou ou não?"
    assert bodies(emu, chat).count("chegou ou não?") == 1
    assert len(of_method(emu, "POST")) == 1


@pytest.mark.parametrize("warm", [False, True])
async def test_a_dropped_send_is_outcome_unknown(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, warm: bool
) -> None:
    if warm:
        await newest(sdk, chat)  # the send then goes over a reused keep-alive connection
    emu.inject(None, drop=True, method="POST")
    emu.requests.clear()
    with pytest.raises(wa.SendOutcomeUnknownError) as info:
        await sdk.chats.send_text(chat, "conexão caiu")
    assert not isinstance(info.value, wa.APITimeoutError)
    assert len(of_method(emu, "POST")) == 1
    assert bodies(emu, chat).count("conexão caiu") == 1  # processed, then the line dropped
    first = await newest(sdk, chat)
    assert first.message is not None
    assert first.message.body_text == "conexão caiu"


async def test_a_dropped_get_is_a_connection_error_not_outcome_unknown(
    emu: WeglyEmulator, chat: str
) -> None:
    async with emu.client(timeout=5.0, max_retries=0) as client:
        await newest(client, chat)  # warm the pool, so aiohttp's own resend kicks in
        emu.requests.clear()
        emu.inject(None, drop=True, times=2, method="GET")
        with pytest.raises(wa.APIConnectionError) as info:
            await collect(client.chats.timeline(chat))
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert len(emu.requests) == 2
    assert emu.pending_faults == 0


async def test_a_dropped_get_is_retried(emu: WeglyEmulator, chat: str) -> None:
    async with emu.client(timeout=5.0, max_retries=1) as client:
        await newest(client, chat)
        emu.inject(None, drop=True, times=2, method="GET")
        got = await collect(client.chats.timeline(chat, take=100))
    assert ids(got) == raw_ids(emu, chat)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connection_refused_is_an_api_connection_error(method: str) -> None:
    port = free_port()
    client = wa.WeglyClient("tok-refused", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    async with client:
        with pytest.raises(wa.APIConnectionError) as info:
            await call(client, method, UNKNOWN_CHAT, "ninguém ouve")
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert not isinstance(info.value, wa.APITimeoutError)
    assert str(port) in str(info.value)


async def test_a_refused_send_is_retried_because_it_never_left() -> None:
    # Nothing listens on the port, then the emulator starts there: the retry must reach it.
    port = free_port()
    emu = WeglyEmulator(port=port)
    chat = emu.create_chat(events=1, seed=1)
    client = wa.WeglyClient(emu.token, base_url=f"http://127.0.0.1:{port}", max_retries=3)
    async with client:
        send = asyncio.ensure_future(client.chats.send_text(chat, "depois da recusa"))
        await asyncio.sleep(0.02)
        async with emu:
            result = await asyncio.wait_for(send, 10)
            assert bodies(emu, chat).count("depois da recusa") == 1
            assert len(of_method(emu, "POST")) == 1
    assert result.records[0].body_text == "depois da recusa"


# --- status mapping and secrecy ------------------------------------------------------------


def secrets_absent(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), str(error.args)]
    for name in ("message", "url", "body", "headers"):
        value = getattr(error, name, None)
        if value is not None:
            texts.append(str(value))
    return texts


async def test_a_wrong_token_is_an_authentication_error(
    emu: WeglyEmulator, chat: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-Q7zR2"
    client = wa.WeglyClient(wrong, base_url=emu.base_url, timeout=5.0)
    async with client:
        with pytest.raises(wa.AuthenticationError) as get_info:
            await collect(client.chats.timeline(chat))
        with pytest.raises(wa.AuthenticationError) as post_info:
            await client.chats.send_text(chat, "sem permissão")
    for info in (get_info, post_info):
        error = info.value
        assert isinstance(error, wa.APIStatusError)
        assert error.status_code == 401
        assert error.message == "invalid or expired integration token"
        assert "invalid or expired integration token" in str(error)
        secrets_absent([wrong, emu.token], *error_texts(error))
    assert len(emu.requests) == 2  # a 401 is never retried
    assert emu.requests[0].headers["Authorization"] == f"Bearer {wrong}"
    assert caplog.records, "the SDK logs its requests at DEBUG"
    secrets_absent([wrong, emu.token], caplog.text, repr(client))
    for record in caplog.records:
        secrets_absent([wrong], record.getMessage(), str(record.args))


async def test_allowed_domain_needs_a_matching_origin(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with WeglyEmulator(allowed_domain=ALLOWED_DOMAIN) as emu:
        chat = emu.create_chat(events=5, seed=2)
        errors: list[BaseException] = []
        for origin in (None, "https://evil.example.org", "https://app.example.com.evil.io"):
            async with emu.client(origin=origin, timeout=5.0) as client:
                with pytest.raises(wa.PermissionDeniedError) as info:
                    await collect(client.chats.timeline(chat))
                with pytest.raises(wa.PermissionDeniedError):
                    await client.chats.send_text(chat, "origem errada")
            assert info.value.status_code == 403
            assert f"only accepts requests from {ALLOWED_DOMAIN}" in str(info.value)
            errors.append(info.value)
        assert "origem errada" not in bodies(emu, chat)
        assert len(emu.requests) == 6  # a 403 is never retried

        async with emu.client(origin="https://app.example.com", timeout=5.0) as client:
            assert len(await collect(client.chats.timeline(chat))) == 5
            await client.chats.send_text(chat, "origem certa")
            assert emu.requests[-1].headers["Origin"] == "https://app.example.com"
        assert bodies(emu, chat)[-1] == "origem certa"
        for error in errors:
            secrets_absent([emu.token], *error_texts(error))
        assert caplog.records
        secrets_absent([emu.token], caplog.text)


async def test_origin_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_ORIGIN", "https://app.example.com")
    async with WeglyEmulator(allowed_domain=ALLOWED_DOMAIN) as emu:
        chat = emu.create_chat(events=3, seed=2)
        async with emu.client(timeout=5.0) as client:
            assert client.origin == "https://app.example.com"
            assert len(await collect(client.chats.timeline(chat))) == 3
        assert emu.requests[-1].headers["Origin"] == "https://app.example.com"


async def test_token_and_base_url_from_the_environment(
    emu: WeglyEmulator, chat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", emu.token)
    monkeypatch.setenv("WEGLY_BASE_URL", emu.base_url)
    async with wa.WeglyClient(timeout=5.0) as client:
        assert client.base_url == emu.base_url
        assert len(await collect(client.chats.timeline(chat, take=100))) == 60


async def test_an_unknown_chat_is_not_found(
    emu: WeglyEmulator, sdk: wa.WeglyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    missing = str(uuid.uuid4())
    with pytest.raises(wa.NotFoundError) as get_info:
        await collect(sdk.chats.timeline(missing))
    with pytest.raises(wa.NotFoundError) as post_info:
        await sdk.chats.send_text(missing, "para ninguém")
    for info in (get_info, post_info):
        assert info.value.status_code == 404
        assert f"chat {missing} not found" in str(info.value)
        secrets_absent([emu.token], *error_texts(info.value))
    assert len(emu.requests) == 2
    secrets_absent([emu.token], caplog.text, repr(sdk))


async def test_no_token_in_errors_or_logs_of_failures_and_retries(
    emu: WeglyEmulator, chat: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caught: list[BaseException] = []
    async with emu.client(timeout=0.2, max_retries=1) as client:
        emu.inject(429, retry_after=0.01)
        await collect(client.chats.timeline(chat))
        emu.inject(None, delay=1.0, method="POST")
        with pytest.raises(wa.SendOutcomeUnknownError) as timeout_info:
            await client.chats.send_text(chat, "lento")
        caught.append(timeout_info.value)
        emu.inject(500, method="POST", body={"message": "falhou", "token": "n/a"})
        with pytest.raises(wa.InternalServerError) as server_info:
            await client.chats.send_text(chat, "quebrado")
        caught.append(server_info.value)
        assert "falhou" in str(server_info.value)
        secrets_absent([emu.token], repr(client), str(client.chats))
    assert any("retrying" in record.getMessage() for record in caplog.records)
    for error in caught:
        secrets_absent([emu.token], *error_texts(error))
    secrets_absent([emu.token], caplog.text)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, {"error": "campo inválido"}, wa.BadRequestError, "campo inválido"),
        (409, {"detail": "conflito"}, wa.ConflictError, "conflito"),
        (
            422,
            {"message": ["body vazio", "type inválido"]},
            wa.UnprocessableEntityError,
            "body vazio; type inválido",
        ),
        (418, {"message": "sou um bule"}, wa.APIStatusError, "sou um bule"),
        (502, "Bad Gateway (nginx)", wa.InternalServerError, "Bad Gateway (nginx)"),
    ],
)
async def test_error_statuses_and_server_messages(
    emu: WeglyEmulator,
    sdk: wa.WeglyClient,
    chat: str,
    status: int,
    body: Any,
    error: type[wa.APIStatusError],
    message: str,
) -> None:
    emu.inject(status, method="POST", body=body)
    with pytest.raises(error) as info:
        await sdk.chats.send_text(chat, "recusada")
    assert type(info.value) is error
    assert info.value.status_code == status
    assert info.value.message == message
    assert message in str(info.value)
    assert info.value.body == body
    assert len(emu.requests) == 1
    assert "recusada" not in bodies(emu, chat)


async def test_the_servers_own_validation_error_is_a_bad_request(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    with pytest.raises(wa.BadRequestError) as info:
        await sdk.chats.send_reaction(chat, "👍", reference_wamid="wamid.nao-existe")
    assert info.value.status_code == 400
    assert "matches no message of this chat" in str(info.value)
    assert len(emu.requests) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "body", ["<html>tudo certo</html>", {"ok": True}, ["não", "é", "envelope"]]
)
async def test_a_2xx_body_that_is_not_the_expected_json_is_invalid_response(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str, method: str, body: Any
) -> None:
    emu.inject(201 if method == "POST" else 200, method=method, body=body)
    with pytest.raises(wa.InvalidResponseError) as info:
        await call(sdk, method, chat, "resposta estranha")
    error = info.value
    assert not isinstance(error, wa.APIConnectionError | wa.APIStatusError)
    assert error.status_code == (201 if method == "POST" else 200)
    assert str(error.status_code) in str(error)
    snippet = body if isinstance(body, str) else "ok" if isinstance(body, dict) else "envelope"
    assert snippet in str(error)
    assert len(emu.requests) == 1
    secrets_absent([emu.token], *error_texts(error))


# --- concurrency and the fixture -----------------------------------------------------------


async def test_one_client_handles_200_concurrent_sends(
    emu: WeglyEmulator, sdk: wa.WeglyClient, chat: str
) -> None:
    emu.requests.clear()
    texts = [f"mensagem {n:03d} ✅" for n in range(200)]
    results = await asyncio.wait_for(
        asyncio.gather(*(sdk.chats.send_text(chat, text) for text in texts)), 30
    )
    assert len(results) == 200
    assert [result.records[0].body_text for result in results] == texts
    assert len({result.records[0].id for result in results}) == 200
    posts = of_method(emu, "POST")
    assert len(posts) == 200
    assert len(emu.requests) == 200
    assert sorted(request.json["body"] for request in posts) == texts
    stored = bodies(emu, chat)
    assert len(stored) == 260
    assert sorted(stored[60:]) == texts


async def test_the_wegly_emulator_fixture_works(wegly_emulator: WeglyEmulator) -> None:
    assert isinstance(wegly_emulator, WeglyEmulator)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", wegly_emulator.base_url)
    chat = wegly_emulator.create_chat(events=12, seed=7)
    async with wegly_emulator.client() as client:
        assert isinstance(client, wa.WeglyClient)
        got = await collect(client.chats.timeline(chat, take=5))
        await client.chats.send_text(chat, "pelo fixture")
    assert ids(got) == raw_ids(wegly_emulator, chat)[:12]
    assert bodies(wegly_emulator, chat)[-1] == "pelo fixture"
