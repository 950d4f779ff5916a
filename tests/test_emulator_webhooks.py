"""The emulator calls your bot: signed webhook deliveries to loopback servers, retried, recorded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict
from test_webhooks_servers import serve_aiohttp

import wegly_async as wa
from wegly_async.testing import WebhookDelivery, WeglyEmulator
from wegly_async.webhooks import WebhookRouter, verify_signature

SECRET = "whsec-emulator-7"
GATE_TIMEOUT = 10.0

Answer = Callable[[int], Awaitable[web.StreamResponse]]


class Capture:
    """What a bare loopback server received: each request's headers and exact body."""

    def __init__(self) -> None:
        self.headers: list[CIMultiDict[str]] = []
        self.bodies: list[bytes] = []


@contextlib.asynccontextmanager
async def serve_raw(answer: Answer) -> AsyncIterator[tuple[str, Capture]]:
    """Serve ``answer(n)`` for the n-th POST (from 1) on 127.0.0.1; yield its URL and capture."""
    capture = Capture()

    async def handle(request: web.Request) -> web.StreamResponse:
        capture.bodies.append(await request.read())
        capture.headers.append(CIMultiDict(request.headers))
        return await answer(len(capture.bodies))

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", capture
    finally:
        await runner.cleanup()


def status(code: int) -> Answer:
    async def answer(number: int) -> web.StreamResponse:
        return web.Response(status=code)

    return answer


def statuses(*codes: int) -> Answer:
    async def answer(number: int) -> web.StreamResponse:
        return web.Response(status=codes[min(number, len(codes)) - 1])

    return answer


def outcome(deliveries: list[WebhookDelivery]) -> list[tuple[str, int, int | None]]:
    return [(d.event_key, d.attempt, d.status) for d in deliveries]


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


# --- what is delivered ------------------------------------------------------------------------


async def test_a_received_message_is_posted_signed_with_the_timeline_message(
    emu: WeglyEmulator,
) -> None:
    chat_id = emu.create_chat(events=3, seed=1)
    async with serve_raw(status(204)) as (url, capture):
        emu.add_webhook(url, SECRET)
        event = emu.receive_message(chat_id, text="Oi, vocês abrem sábado?")
        await emu.wait_deliveries()
    assert outcome(emu.deliveries) == [("chat.message_received", 1, 204)]
    [body], [headers] = capture.bodies, capture.headers
    assert emu.deliveries[0].body == body
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "wegly-webhooks/1.0"
    assert headers["X-Wegly-Event"] == "chat.message_received"
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Wegly-Signature"] == expected  # lowercase hex of the exact bytes
    verify_signature(body, headers["X-Wegly-Signature"], SECRET)
    timeline_message = emu.events(chat_id)[-1]["message"]
    assert orjson.loads(body) == {
        "event_key": "chat.message_received",
        "payload": {"chat_id": chat_id, "message": timeline_message},
    }
    assert timeline_message == event["message"]
    assert timeline_message["body_text"] == "Oi, vocês abrem sábado?"
    assert timeline_message["from_me"] is False
    assert timeline_message["origin"] == "INBOUND"


async def test_the_router_verifies_and_decodes_a_received_message(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=2, seed=2, unread=1)
    router, seen = WebhookRouter(SECRET), []

    @router.on("chat.message_received")
    async def received(event: wa.WebhookEvent) -> None:
        seen.append(event)

    async with serve_aiohttp(router, "/wegly") as url:
        emu.add_webhook(url, SECRET)
        emu.receive_message(chat_id, "Quero um orçamento")
        await emu.wait_deliveries()
        async with emu.client() as client:
            chat = await client.chats.get(chat_id)
    assert outcome(emu.deliveries) == [("chat.message_received", 1, 200)]
    [event] = seen
    assert event.chat_id == chat_id
    assert event.message is not None
    assert (event.message.body_text, event.message.from_me) == ("Quero um orçamento", False)
    assert chat.unread_count == 2  # the seeded unread message and this one


async def test_a_send_through_the_api_fires_message_sent(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=2, seed=3)
    router, seen = WebhookRouter(SECRET), []

    @router.on("chat.*")
    async def chats(event: wa.WebhookEvent) -> None:
        seen.append(event)

    async with serve_aiohttp(router, "/") as url:
        emu.add_webhook(url, SECRET)
        async with emu.client() as client:
            sent = await client.chats.send_text(chat_id, "Abrimos sim, das 9h às 13h")
            pin = await client.chats.send_location(chat_id, latitude=-23.5, longitude=-46.6)
        await emu.wait_deliveries()
    assert [e.event_key for e in seen] == ["chat.message_sent", "chat.message_sent"]
    assert [e.message.id for e in seen if e.message] == [sent.records[0].id, pin.records[0].id]
    assert seen[0].message is not None and seen[0].message.from_me is True
    assert seen[0].payload["message"] == emu.events(chat_id)[-2]["message"]


# --- retries ----------------------------------------------------------------------------------


async def test_a_500_is_delivered_again_with_the_identical_body(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=4)
    async with serve_raw(statuses(500, 502, 200)) as (url, capture):
        emu.add_webhook(url, SECRET)
        emu.receive_message(chat_id, "Olá")
        await emu.wait_deliveries()
    assert outcome(emu.deliveries) == [
        ("chat.message_received", 1, 500),
        ("chat.message_received", 2, 502),
        ("chat.message_received", 3, 200),
    ]
    assert len(capture.bodies) == 3
    assert len(set(capture.bodies)) == 1
    assert len({h["X-Wegly-Signature"] for h in capture.headers}) == 1


async def test_attempts_bound_the_deliveries(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=5)
    async with serve_raw(status(503)) as (url, capture):
        emu.add_webhook(url, SECRET, attempts=2)
        emu.add_webhook(url, SECRET, attempts=1)
        emu.receive_message(chat_id, "Olá")
        await emu.wait_deliveries()
    assert len(capture.bodies) == 3
    assert sorted(d.attempt for d in emu.deliveries) == [1, 1, 2]
    assert not any(d.ok for d in emu.deliveries)


async def test_a_failing_handler_gets_the_redelivery(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=6)
    router, runs = WebhookRouter(SECRET), []

    @router.on("chat.message_received")
    async def flaky(event: wa.WebhookEvent) -> None:
        runs.append(event.event_key)
        if len(runs) == 1:
            raise RuntimeError("the database is down")

    async with serve_aiohttp(router, "/") as url:
        emu.add_webhook(url, SECRET)
        emu.receive_message(chat_id, "Olá")
        await emu.wait_deliveries()
    assert [d.status for d in emu.deliveries] == [500, 200]
    assert len(runs) == 2


async def test_a_timeout_fails_the_attempt_and_the_router_dedupes_the_redelivery(
    emu: WeglyEmulator,
) -> None:
    chat_id = emu.create_chat(events=1, seed=7)
    router, runs = WebhookRouter(SECRET), []
    gate, finished = asyncio.Event(), asyncio.Event()

    @router.on("chat.message_received")
    async def slow(event: wa.WebhookEvent) -> None:
        runs.append(event.event_key)
        if len(runs) == 1:
            await asyncio.wait_for(gate.wait(), GATE_TIMEOUT)
            finished.set()

    async with serve_aiohttp(router, "/") as url:
        emu.add_webhook(url, SECRET, attempts=2, timeout=0.5)
        emu.receive_message(chat_id, "Olá")
        await emu.wait_deliveries()
        gate.set()
        await asyncio.wait_for(finished.wait(), GATE_TIMEOUT)
    first, second = emu.deliveries
    assert (first.attempt, first.status, second.attempt, second.status) == (1, None, 2, 200)
    assert first.error is not None and "no answer" in first.error
    assert runs == ["chat.message_received"]  # the redelivery was seen as the same event


async def test_a_refused_connection_counts_as_a_failed_attempt(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=8)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    emu.add_webhook(f"http://127.0.0.1:{port}/", SECRET, attempts=2)
    emu.receive_message(chat_id, "Olá")
    await emu.wait_deliveries()
    assert [(d.attempt, d.status) for d in emu.deliveries] == [(1, None), (2, None)]
    assert all(d.error and "Connect" in d.error for d in emu.deliveries)


async def test_a_redirect_is_not_followed(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=9)
    async with serve_raw(status(204)) as (elsewhere, other):

        async def redirect(number: int) -> web.StreamResponse:
            return web.Response(status=307, headers={"Location": elsewhere})

        async with serve_raw(redirect) as (url, capture):
            emu.add_webhook(url, SECRET, attempts=2)
            emu.receive_message(chat_id, "Olá")
            await emu.wait_deliveries()
    assert [d.status for d in emu.deliveries] == [307, 307]
    assert len(capture.bodies) == 2
    assert other.bodies == []


# --- subscriptions ----------------------------------------------------------------------------


async def test_events_filter_what_each_subscription_gets(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=10)
    async with serve_raw(status(200)) as (url, _):
        everything = emu.add_webhook(url, SECRET)
        sent_only = emu.add_webhook(url, SECRET, events=["chat.message_sent"])
        chats = emu.add_webhook(url, SECRET, events=["chat.*"])
        leads = emu.add_webhook(url, SECRET, events=["lead.*", "deal.won"])
        emu.receive_message(chat_id, "Olá")
        async with emu.client() as client:
            await client.chats.send_text(chat_id, "Oi!")
        await emu.wait_deliveries()
    got: dict[str, list[str]] = {}
    for delivery in emu.deliveries:
        got.setdefault(delivery.webhook_id, []).append(delivery.event_key)
    both = ["chat.message_received", "chat.message_sent"]
    assert sorted(got[everything]) == both
    assert sorted(got[chats]) == both
    assert got[sent_only] == ["chat.message_sent"]
    assert leads not in got


async def test_a_removed_webhook_gets_nothing_more(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=11)
    async with serve_raw(status(200)) as (url, capture):
        webhook_id = emu.add_webhook(url, SECRET)
        emu.receive_message(chat_id, "primeira")
        await emu.wait_deliveries()
        emu.remove_webhook(webhook_id)
        emu.receive_message(chat_id, "segunda")
        await emu.wait_deliveries()
    assert len(capture.bodies) == 1
    with pytest.raises(ValueError, match="unknown webhook id"):
        emu.remove_webhook(webhook_id)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"url": "http://example.com/hook"}, ValueError, "loopback"),
        ({"url": "http://10.0.0.1/hook"}, ValueError, "loopback"),
        ({"url": "ftp://user:pw@127.0.0.1/"}, ValueError, "http"),
        ({"url": "http://user:pw@127.0.0.1/"}, ValueError, "credentials"),
        ({"url": b"http://127.0.0.1/"}, TypeError, "url"),
        ({"secret": ""}, ValueError, "empty"),
        ({"secret": 7}, TypeError, "secret"),
        ({"events": "chat.*"}, TypeError, "list"),
        ({"events": b"chat.*"}, TypeError, "list"),
        ({"events": []}, ValueError, "at least one"),
        ({"events": ["ch*t"]}, ValueError, "only end"),
        ({"attempts": 0}, ValueError, "attempts"),
        ({"attempts": True}, TypeError, "attempts"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"backoff": -1}, ValueError, "backoff"),
    ],
)
async def test_add_webhook_refuses_bad_arguments(
    emu: WeglyEmulator, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    arguments: dict[str, Any] = {"url": "http://127.0.0.1:9/hook", "secret": SECRET, **kwargs}
    with pytest.raises(error, match=match) as caught:
        emu.add_webhook(**arguments)
    assert "pw" not in str(caught.value)
    chat_id = emu.create_chat(events=1, seed=12)
    emu.receive_message(chat_id, "Olá")
    assert emu.deliveries == []
    await emu.wait_deliveries()  # nothing was subscribed, so nothing runs
    assert emu.deliveries == []


async def test_receive_message_checks_its_arguments(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=13)
    with pytest.raises(ValueError, match="unknown chat id"):
        emu.receive_message("3c90c3cc-0d44-4b50-8888-8dd25736052a", "Olá")
    with pytest.raises(ValueError, match="blank"):
        emu.receive_message(chat_id, "  ")
    with pytest.raises(TypeError):
        emu.receive_message(chat_id, b"Ol\xc3\xa1")  # type: ignore[arg-type]
    assert len(emu.events(chat_id)) == 1
    unstarted = WeglyEmulator()
    with pytest.raises(RuntimeError, match="not running"):
        unstarted.receive_message(unstarted.create_chat(events=1, seed=1), "Olá")
    with pytest.raises(ValueError, match="max_wait"):
        await emu.wait_deliveries(0)


async def test_the_secret_stays_out_of_reprs(emu: WeglyEmulator) -> None:
    chat_id = emu.create_chat(events=1, seed=14)
    async with serve_raw(status(200)) as (url, _):
        emu.add_webhook(url, SECRET)
        assert SECRET not in repr(emu)
        emu.receive_message(chat_id, "Olá")
        await emu.wait_deliveries()
    assert emu.deliveries
    assert all(SECRET not in repr(d) and "body" not in repr(d) for d in emu.deliveries)


# --- waiting and closing ----------------------------------------------------------------------


async def test_wait_deliveries_is_bounded_and_close_cancels_what_runs() -> None:
    gate, arrived = asyncio.Event(), asyncio.Event()

    async def hang(number: int) -> web.StreamResponse:
        arrived.set()
        await asyncio.wait_for(gate.wait(), GATE_TIMEOUT)
        return web.Response(status=200)

    async with serve_raw(hang) as (url, capture):
        emu = WeglyEmulator()
        await emu.start()
        try:
            chat_id = emu.create_chat(events=1, seed=15)
            emu.add_webhook(url, SECRET, timeout=GATE_TIMEOUT)
            emu.receive_message(chat_id, "Olá")
            await asyncio.wait_for(arrived.wait(), GATE_TIMEOUT)
            with pytest.raises(TimeoutError, match="1 webhook deliveries still running"):
                await emu.wait_deliveries(0.05)
        finally:
            await emu.close()
        gate.set()
        assert emu.deliveries == []  # cancelled, not recorded as an answer
        assert len(capture.bodies) == 1
    with pytest.raises(RuntimeError, match="is closed"):
        emu.receive_message(chat_id, "depois")
