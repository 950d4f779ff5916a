"""Fault injection, latency and request recording of the emulator, over raw aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from wegly_async.testing import RecordedPart, RecordedRequest, WeglyEmulator

PREFIX = "/integrations/external"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=12, seed=5)


def auth(emu: WeglyEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.token}"}


async def get_timeline(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat_id: str, **kwargs: Any
) -> aiohttp.ClientResponse:
    url = f"{emu.base_url}{PREFIX}/chats/{chat_id}/timeline"
    async with http.get(url, headers=auth(emu), **kwargs) as resp:
        await resp.read()
        return resp


async def send_text(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat_id: str, text: str, **kwargs: Any
) -> aiohttp.ClientResponse:
    url = f"{emu.base_url}{PREFIX}/chats/{chat_id}/messages"
    payload = {"type": "text", "body": text}
    async with http.post(url, json=payload, headers=auth(emu), **kwargs) as resp:
        await resp.read()
        return resp


def bodies(emu: WeglyEmulator, chat_id: str) -> list[Any]:
    return [event["message"].get("body_text") for event in emu.events(chat_id)]


# --- injected statuses -------------------------------------------------------------------


async def test_an_injected_status_answers_without_processing(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(503)
    resp = await send_text(http, emu, chat, "não deve existir")
    assert resp.status == 503
    assert await resp.json() == {"message": "injected 503"}
    assert "não deve existir" not in bodies(emu, chat)
    assert emu.pending_faults == 0
    assert (await send_text(http, emu, chat, "agora sim")).status == 201


async def test_an_injected_status_skips_the_token_check(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(429)
    url = f"{emu.base_url}{PREFIX}/chats/{chat}/timeline"
    async with http.get(url) as resp:
        assert resp.status == 429


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [(2, "2"), (2.0, "2"), (0.5, "0.5"), ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)
async def test_retry_after_is_sent_as_given(
    http: aiohttp.ClientSession,
    emu: WeglyEmulator,
    chat: str,
    retry_after: float | str,
    header: str | None,
) -> None:
    emu.inject(429, retry_after=retry_after)
    resp = await get_timeline(http, emu, chat)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == (header or retry_after)


async def test_no_retry_after_unless_asked(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(429)
    resp = await get_timeline(http, emu, chat)
    assert "Retry-After" not in resp.headers


async def test_a_custom_json_body_is_sent(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(422, body={"error": "Unprocessable", "detail": ["body too long"]})
    emu.inject(500, body=[1, "two"])
    resp = await get_timeline(http, emu, chat)
    assert (resp.status, resp.content_type) == (422, "application/json")
    assert await resp.json() == {"error": "Unprocessable", "detail": ["body too long"]}
    resp = await get_timeline(http, emu, chat)
    assert (resp.status, await resp.json()) == (500, [1, "two"])


async def test_a_text_body_is_sent_verbatim(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(502, body="<html>Bad Gateway</html>")
    resp = await get_timeline(http, emu, chat)
    assert (resp.status, resp.content_type) == (502, "text/plain")
    assert await resp.text() == "<html>Bad Gateway</html>"


async def test_faults_are_used_in_fifo_order_times_over(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(500, times=2)
    emu.inject(429)
    assert emu.pending_faults == 3
    statuses = [(await get_timeline(http, emu, chat)).status for _ in range(4)]
    assert statuses == [500, 500, 429, 200]
    assert emu.pending_faults == 0


async def test_a_method_filter_lets_other_methods_through(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(503, method="post")
    emu.inject(500)
    assert (await get_timeline(http, emu, chat)).status == 500
    assert (await send_text(http, emu, chat, "x")).status == 503
    assert (await get_timeline(http, emu, chat)).status == 200
    assert (await send_text(http, emu, chat, "y")).status == 201


async def test_status_none_processes_normally_but_can_add_retry_after(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(None, retry_after=1)
    resp = await send_text(http, emu, chat, "processada")
    assert (resp.status, resp.headers["Retry-After"]) == (201, "1")
    assert bodies(emu, chat)[-1] == "processada"


# --- delays and dropped connections -----------------------------------------------------


async def test_a_delayed_send_is_stored_even_when_the_client_gives_up(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(None, delay=2.0)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await send_text(http, emu, chat, "chegou?", timeout=aiohttp.ClientTimeout(total=0.2))
    assert time.monotonic() - started < 1.5
    assert bodies(emu, chat)[-1] == "chegou?"


async def test_a_delayed_status_arrives_after_the_delay(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(504, delay=0.2)
    started = time.monotonic()
    resp = await send_text(http, emu, chat, "atrasada")
    assert resp.status == 504
    assert time.monotonic() - started >= 0.2
    assert "atrasada" not in bodies(emu, chat)


async def test_a_dropped_send_was_processed_but_never_answered(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(None, drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await send_text(http, emu, chat, "sem resposta")
    assert bodies(emu, chat)[-1] == "sem resposta"


async def test_a_dropped_status_is_not_processed(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    emu.inject(500, drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await send_text(http, emu, chat, "perdida")
    assert "perdida" not in bodies(emu, chat)


async def test_aiohttp_retries_a_dropped_get_once_by_itself(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    # aiohttp silently resends an idempotent request once when the connection drops,
    # so dropping a GET for good takes two faults.
    emu.inject(None, drop=True, times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get_timeline(http, emu, chat)
    assert [request.method for request in emu.requests] == ["GET", "GET"]


async def test_latency_delays_every_answer(http: aiohttp.ClientSession) -> None:
    async with WeglyEmulator(latency=0.15) as emu:
        started = time.monotonic()
        async with http.get(emu.base_url + "/nowhere") as resp:
            assert resp.status == 404
        assert time.monotonic() - started >= 0.15


# --- recording ------------------------------------------------------------------------------


async def test_requests_are_recorded_in_order_before_auth(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    url = f"{emu.base_url}{PREFIX}/chats/{chat}/timeline"
    async with http.get(url, params={"take": "3", "order": "desc"}, headers={"X-Trace": "a"}):
        pass
    await send_text(http, emu, chat, "Olá 😊")
    first, second = emu.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path) == ("GET", f"{PREFIX}/chats/{chat}/timeline")
    assert first.query == {"take": "3", "order": "desc"}
    assert isinstance(first.headers, CIMultiDictProxy)
    assert first.headers["x-trace"] == "a"
    assert "Authorization" not in first.headers
    assert (first.json, first.parts) == (None, {})
    assert second.method == "POST"
    assert second.json == {"type": "text", "body": "Olá 😊"}
    assert second.headers["Authorization"] == f"Bearer {emu.token}"


async def test_multipart_requests_record_their_parts(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    form = aiohttp.FormData()
    form.add_field("type", "document")
    form.add_field("body", "Proposta")
    form.add_field("file", b"%PDF-1.7 ...", filename="proposta.pdf", content_type="application/pdf")
    url = f"{emu.base_url}{PREFIX}/chats/{chat}/messages"
    async with http.post(url, data=form, headers=auth(emu)) as resp:
        assert resp.status == 201
    [request] = emu.requests
    assert request.json is None
    assert set(request.parts) == {"type", "body", "file"}
    file = request.parts["file"]
    assert file == RecordedPart("file", "proposta.pdf", "application/pdf", b"%PDF-1.7 ...")
    assert request.parts["body"].text == "Proposta"
    assert request.parts["type"].filename is None


async def test_the_recording_can_be_cleared(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    await get_timeline(http, emu, chat)
    emu.requests.clear()
    await get_timeline(http, emu, chat, params={"skip": "1"})
    assert [request.query for request in emu.requests] == [{"skip": "1"}]


# --- argument checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((99,), {}, ValueError),
        ((600,), {}, ValueError),
        (("500",), {}, TypeError),
        ((True,), {}, TypeError),
        ((500,), {"times": 0}, ValueError),
        ((500,), {"times": 1.5}, TypeError),
        ((500,), {"method": "GE T"}, ValueError),
        ((500,), {"method": 1}, TypeError),
        ((429,), {"retry_after": -1}, ValueError),
        ((429,), {"retry_after": float("inf")}, ValueError),
        ((429,), {"retry_after": ""}, ValueError),
        ((500,), {"delay": -0.1}, ValueError),
        ((500,), {"delay": "1"}, TypeError),
        ((500,), {"body": b"bytes"}, TypeError),
        ((500,), {"body": {"x": object()}}, TypeError),
        ((None,), {"body": {"message": "x"}}, ValueError),
        ((500,), {"drop": 1}, TypeError),
    ],
)
def test_inject_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    emu = WeglyEmulator()
    with pytest.raises(error):
        emu.inject(*args, **kwargs)
    assert emu.pending_faults == 0
