"""The emulator's lifecycle, arguments, pytest fixture and generated history."""

from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import wegly_async
import wegly_async.testing
from wegly_async.testing import WeglyEmulator

PREFIX = "/integrations/external"
FULL_KEYS = {
    "id",
    "type",
    "origin",
    "from_me",
    "sent_via",
    "status",
    "body_text",
    "content_payload",
    "reactions",
    "meta_timestamp",
    "created_at",
    "is_history",
    "history_phase",
    "history_chunk_order",
    "history_progress",
    "is_media_placeholder",
    "agent",
    "user",
    "media",
    "call",
    "quoted_message",
    "crm_marketing_lead_source",
}
REDUCED_KEYS = {
    "id",
    "from_me",
    "body_text",
    "content_payload",
    "reactions",
    "meta_timestamp",
    "is_history",
    "history_phase",
    "history_chunk_order",
    "history_progress",
    "is_media_placeholder",
    "agent",
    "user",
    "crm_marketing_lead_source",
}


def test_the_public_names_are_exported_sorted() -> None:
    assert wegly_async.testing.__all__ == [
        "MockResponse",
        "MockTransport",
        "RecordedPart",
        "RecordedRequest",
        "WebhookDelivery",
        "WeglyEmulator",
        "WeglyEmulatorFactory",
        "instant_retries",
    ]
    for name in wegly_async.testing.__all__:
        assert getattr(wegly_async.testing, name).__name__ == name
    assert set(wegly_async.testing.__all__) <= set(dir(wegly_async.testing))
    with pytest.raises(AttributeError):
        _ = wegly_async.testing.Nothing


# The pytest plugin itself: tests/test_pytest_plugin.py.


# --- lifecycle ------------------------------------------------------------------------------


async def test_the_pytest_fixture_yields_a_running_emulator(
    wegly_emulator: WeglyEmulator,
) -> None:
    assert isinstance(wegly_emulator, WeglyEmulator)
    assert wegly_emulator.base_url == f"http://127.0.0.1:{wegly_emulator.port}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(wegly_emulator.base_url + "/nowhere") as resp,
    ):
        assert resp.status == 404


async def test_start_binds_a_free_loopback_port_and_close_frees_it() -> None:
    emu = WeglyEmulator()
    with pytest.raises(RuntimeError, match="start"):
        _ = emu.base_url
    assert repr(emu) == "<WeglyEmulator not started chats=0>"
    await emu.start()
    await emu.start()  # a second start is a no-op
    port = emu.port
    assert repr(emu) == f"<WeglyEmulator http://127.0.0.1:{port} chats=0>"
    assert port > 0
    assert emu.base_url == f"http://127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    await emu.close()
    await emu.close()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass
    assert repr(emu) == "<WeglyEmulator closed chats=0>"
    with pytest.raises(RuntimeError, match="closed"):
        await emu.start()
    with pytest.raises(RuntimeError):
        _ = emu.port


async def test_close_is_quick_with_a_request_stuck_in_a_delay() -> None:
    emu = WeglyEmulator()
    await emu.start()
    chat_id = emu.create_chat(events=1, seed=1)
    emu.inject(None, delay=30, times=2)
    url = f"{emu.base_url}{PREFIX}/chats/{chat_id}/timeline"
    headers = {"Authorization": f"Bearer {emu.token}"}
    loop_time = asyncio.get_running_loop().time
    async with aiohttp.ClientSession() as http:
        request = asyncio.ensure_future(http.get(url, headers=headers))
        for _ in range(500):
            if emu.requests:
                break
            await asyncio.sleep(0.01)
        started = loop_time()
        await emu.close()
        assert loop_time() - started < 2
        with pytest.raises(aiohttp.ClientError):
            await request


async def test_a_fixed_port_and_localhost_are_honoured() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    async with WeglyEmulator(host="localhost", port=free_port) as emu:
        assert emu.base_url == f"http://127.0.0.1:{free_port}"


async def test_ipv6_loopback_is_bracketed_in_the_url() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    async with WeglyEmulator(host="::1") as emu, aiohttp.ClientSession() as http:
        assert emu.base_url == f"http://[::1]:{emu.port}"
        async with http.get(emu.base_url + "/nowhere") as resp:
            assert resp.status == 404


async def test_the_app_also_runs_under_aiohttp_test_utilities() -> None:
    emu = WeglyEmulator(token="tok")
    chat_id = emu.create_chat(events=4, seed=8)
    assert isinstance(emu.app, web.Application)
    async with TestClient(TestServer(emu.app)) as client:
        resp = await client.get(
            f"{PREFIX}/chats/{chat_id}/timeline", headers={"Authorization": "Bearer tok"}
        )
        assert resp.status == 200
        assert (await resp.json())["total"] == 4
    await emu.close()


async def test_client_passes_the_url_and_token() -> None:
    async with WeglyEmulator(token="tok_1") as emu:
        chat_id = emu.create_chat(events=3, seed=1)
        async with emu.client(max_retries=0) as client:
            assert isinstance(client, wegly_async.WeglyClient)
            assert client.base_url == emu.base_url
            assert client.max_retries == 0  # the keyword arguments reach the client
            assert len(await client.chats.timeline(chat_id).to_list()) == 3
    [request] = emu.requests
    assert request.headers["Authorization"] == "Bearer tok_1"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"host": "0.0.0.0"}, ValueError),
        ({"host": "example.com"}, ValueError),
        ({"host": "10.0.0.1"}, ValueError),
        ({"host": 127}, TypeError),
        ({"port": -1}, ValueError),
        ({"port": 70_000}, ValueError),
        ({"port": "80"}, TypeError),
        ({"latency": -1}, ValueError),
        ({"latency": float("nan")}, ValueError),
        ({"latency": True}, TypeError),
        ({"max_take": 0}, ValueError),
        ({"max_take": 2.5}, TypeError),
        ({"token": ""}, ValueError),
        ({"token": "with space"}, ValueError),
        ({"token": "tøken"}, ValueError),
        ({"allowed_domain": "https://app.example.com"}, ValueError),
        ({"allowed_domain": ""}, ValueError),
    ],
)
def test_the_constructor_rejects_bad_arguments(kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        WeglyEmulator(**kwargs)


def test_defaults_make_a_random_token() -> None:
    first, second = WeglyEmulator(), WeglyEmulator()
    assert first.token.startswith("emu_")
    assert first.token != second.token
    assert WeglyEmulator(token="abc").token == "abc"


# --- store helpers ----------------------------------------------------------------------------


def test_create_chat_and_add_message_check_their_arguments() -> None:
    emu = WeglyEmulator()
    with pytest.raises(ValueError, match="events"):
        emu.create_chat(events=-1)
    with pytest.raises(TypeError):
        emu.create_chat(seed="1")  # type: ignore[arg-type]
    chat_id = emu.create_chat(seed=1)
    with pytest.raises(ValueError, match="already exists"):
        emu.create_chat(seed=1)
    with pytest.raises(ValueError, match="unknown chat"):
        emu.add_message(str(uuid.uuid4()), "oi")
    with pytest.raises(ValueError, match="timezone"):
        emu.add_message(chat_id, "oi", event_at=datetime(2024, 1, 1))
    with pytest.raises(TypeError):
        emu.add_message(chat_id, "oi", event_at="2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown chat"):
        emu.events("nope")


def test_chats_start_empty_and_are_listed() -> None:
    emu = WeglyEmulator()
    first, second = emu.create_chat(), emu.create_chat(events=3)
    assert emu.chat_ids == [first, second]
    assert emu.events(first) == []
    assert len(emu.events(second)) == 3
    assert first != second


def test_events_returns_copies() -> None:
    emu = WeglyEmulator()
    chat_id = emu.create_chat(events=2, seed=4)
    emu.events(chat_id)[0]["message"]["body_text"] = "mudado"
    assert emu.events(chat_id)[0]["message"]["body_text"] != "mudado"


def test_add_message_keeps_timestamp_order_and_offsets() -> None:
    emu = WeglyEmulator()
    chat_id = emu.create_chat()
    base = datetime.fromisoformat("2024-05-01T12:00:00+00:00")
    emu.add_message(chat_id, "c", event_at=base + timedelta(minutes=2))
    emu.add_message(chat_id, "a", event_at=base)
    sao_paulo = datetime.fromisoformat("2024-05-01T09:01:00.250000-03:00")
    event = emu.add_message(chat_id, "b", from_me=True, event_at=sao_paulo)
    assert event["event_at"] == "2024-05-01T12:01:00.250Z"
    assert (event["message"]["origin"], event["message"]["from_me"]) == ("OUTBOUND", True)
    assert [e["message"]["body_text"] for e in emu.events(chat_id)] == ["a", "b", "c"]
    latest = emu.add_message(chat_id, "d")
    assert emu.events(chat_id)[-1] == latest


# --- generated history ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history() -> list[dict[str, Any]]:
    emu = WeglyEmulator()
    return emu.events(emu.create_chat(events=3_000, seed=11))


def test_the_same_seed_gives_the_same_chat() -> None:
    one, two = WeglyEmulator(), WeglyEmulator()
    assert one.create_chat(events=400, seed=42) == two.create_chat(events=400, seed=42)
    [chat_id] = one.chat_ids
    assert one.events(chat_id) == two.events(chat_id)
    other = one.create_chat(events=400, seed=43)
    assert other != chat_id
    assert one.events(other) != one.events(chat_id)


def test_without_a_seed_chats_differ() -> None:
    emu = WeglyEmulator()
    first, second = emu.create_chat(events=5), emu.create_chat(events=5)
    assert first != second
    assert {e["id"] for e in emu.events(first)}.isdisjoint(e["id"] for e in emu.events(second))


def test_ids_are_uuids_and_unique(history: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in history] + [e["message"]["id"] for e in history]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    wamids = [e["message"]["content_payload"]["wamid"] for e in history]
    assert len(set(wamids)) == len(wamids)
    assert all(w.startswith("wamid.") for w in wamids)


def test_timestamps_increase_and_match_meta_timestamp(history: list[dict[str, Any]]) -> None:
    stamps = [datetime.fromisoformat(e["event_at"]) for e in history]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 1
    assert max(gaps) >= 3_600
    assert all(e["event_at"].endswith("Z") for e in history)
    assert any("." in e["event_at"] for e in history)
    for event, stamp in zip(history, stamps, strict=True):
        assert datetime.fromisoformat(event["message"]["meta_timestamp"]) == stamp


def test_both_message_shapes_appear(history: list[dict[str, Any]]) -> None:
    messages = [e["message"] for e in history]
    reduced = [m for m in messages if "type" not in m]
    full = [m for m in messages if "type" in m]
    assert 0.10 < len(reduced) / len(messages) < 0.20
    assert all(set(m) == REDUCED_KEYS for m in reduced)
    assert all(m["meta_timestamp"].endswith("+00:00") for m in reduced)
    assert all(len(m["meta_timestamp"]) == len("2024-01-01T00:00:00.000000+00:00") for m in reduced)
    assert all(set(m) - {"edited"} == FULL_KEYS for m in full if None in m.values())
    # Some full messages leave their null fields out entirely.
    assert any(set(m) < FULL_KEYS for m in full)
    reactions = [r for m in reduced for r in m["reactions"]]
    assert reactions
    assert all("actor" not in r for r in reactions)


def test_the_history_is_varied(history: list[dict[str, Any]]) -> None:
    messages = [e["message"] for e in history]
    types = Counter(m.get("type") for m in messages)
    assert {"text", "image", "audio", "document", "video", "call", "template"} <= set(types)
    assert Counter(m.get("origin") for m in messages).keys() >= {"INBOUND", "OUTBOUND"}
    assert {m.get("status") for m in messages} >= {"sent", "delivered", "read"}
    assert {m.get("sent_via") for m in messages} >= {"CONTACT", "AGENT"}
    texts = " ".join(m.get("body_text") or "" for m in messages)
    assert "ç" in texts
    assert "😊" in texts
    assert any(m.get("agent") and m["agent"]["user"]["name"] for m in messages)
    assert any(m.get("edited") is False for m in messages)


def test_calls_carry_their_data(history: list[dict[str, Any]]) -> None:
    calls = [e for e in history if e["event_type"] == "CALL"]
    assert calls
    assert all(e["message"]["type"] == "call" for e in calls)
    statuses = {e["message"]["call"]["status"] for e in calls}
    assert statuses == {"COMPLETED", "MISSED"}
    for event in calls:
        call = event["message"]["call"]
        started = datetime.fromisoformat(call["started_at"])
        ended = datetime.fromisoformat(call["ended_at"])
        assert (ended - started) == timedelta(milliseconds=call["duration_ms"])
        assert call["direction"] in {"INBOUND", "OUTBOUND"}
        assert isinstance(call["has_recording"], bool)


def test_replies_quote_an_earlier_message(history: list[dict[str, Any]]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    replies = 0
    for event in history:
        message = event["message"]
        quoted = message.get("quoted_message")
        if quoted:
            replies += 1
            assert quoted["id"] in seen
            assert "quoted_message" not in quoted
            context = message["content_payload"]["context"]
            assert context["message_id"] == quoted["content_payload"]["wamid"]
        seen[message["id"]] = message
    assert replies > 50
    assert any(
        e["message"].get("quoted_message", {}) and "page" in e["message"]["quoted_message"]
        for e in history
    )


def test_reactions_media_and_history_flags(history: list[dict[str, Any]]) -> None:
    messages = [e["message"] for e in history]
    reactions = [r for m in messages if "type" in m for r in m["reactions"]]
    assert {r["actor"] for r in reactions} == {"CONTACT", "AGENT"}
    assert all(r["reactor_wa_id"] for r in reactions if r["actor"] == "CONTACT")
    assert all(uuid.UUID(r["reactor_user_id"]) for r in reactions if r["actor"] == "AGENT")
    media = [m["media"] for m in messages if m.get("media")]
    assert {m["mime_type"].split("/")[0] for m in media} >= {"image", "audio", "video"}
    assert any(not m["is_downloaded"] and m["url"] is None for m in media)
    flags = [m["is_history"] for m in messages]
    assert flags[0] is True
    assert flags[-1] is False
    assert flags == sorted(flags, reverse=True)  # the oldest part only
    progress = [m["history_progress"] for m in messages if m["is_history"]]
    assert progress == sorted(progress)
    assert progress[-1] == 100
