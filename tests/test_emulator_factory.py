"""``WeglyEmulatorFactory`` and its fixture: each option reaches the emulator, and all close."""

from __future__ import annotations

import aiohttp
import pytest
from test_webhooks_servers import serve_aiohttp

import wegly_async as wa
from wegly_async.testing import WeglyEmulator, WeglyEmulatorFactory
from wegly_async.webhooks import WebhookRouter

SECRET = "whsec-factory"


async def test_the_fixture_starts_emulators_with_the_options_given(
    wegly_emulator_factory: WeglyEmulatorFactory,
) -> None:
    capped = await wegly_emulator_factory(max_take=3, latency=0.0, token="tok-capped")
    guarded = await wegly_emulator_factory(allowed_domain="loja.example")
    assert isinstance(capped, WeglyEmulator)
    assert wegly_emulator_factory.emulators == [capped, guarded]
    assert capped.token == "tok-capped"
    assert capped.port != guarded.port
    chat = capped.create_chat(events=10, seed=4)
    async with capped.client() as client:
        page = await anext(client.chats.timeline(chat, take=10).pages())
    assert len(page.records) == 3  # max_take caps the page
    chat = guarded.create_chat(events=1, seed=5)
    async with guarded.client(max_retries=0) as client:
        with pytest.raises(wa.PermissionDeniedError):
            await client.chats.get(chat)
    async with guarded.client(origin="https://loja.example") as client:
        assert (await client.chats.get(chat)).id == chat


async def test_rate_limit_options_reach_the_emulator(
    wegly_emulator_factory: WeglyEmulatorFactory,
) -> None:
    emu = await wegly_emulator_factory(rate_limit=0.1, rate_burst=2, rate_headers=True)
    chat = emu.create_chat(events=1, seed=6)
    url = f"{emu.base_url}/integrations/external/chats/{chat}"
    answers = []
    # Raw requests: the client would read the headers and pace itself below the limit.
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        for _ in range(3):
            async with http.get(url) as resp:
                answers.append((resp.status, resp.headers.get("X-RateLimit-Limit")))
    assert answers == [(200, "2"), (200, "2"), (429, "2")]  # the limit header: rate_burst


async def test_webhooks_are_subscribed_before_the_emulator_serves(
    wegly_emulator_factory: WeglyEmulatorFactory,
) -> None:
    router, seen = WebhookRouter(SECRET), []

    @router.on("chat.message_received")
    async def received(event: wa.WebhookEvent) -> None:
        seen.append(event)

    async with serve_aiohttp(router, "/wegly") as url:
        emu = await wegly_emulator_factory(webhooks={url: SECRET})
        chat = emu.create_chat(events=1, seed=7)
        emu.receive_message(chat, "Chegou pelo webhook")
        await emu.wait_deliveries()
    assert [(d.event_key, d.status) for d in emu.deliveries] == [("chat.message_received", 200)]
    [event] = seen
    assert event.message is not None
    assert event.message.body_text == "Chegou pelo webhook"


async def test_closing_the_factory_closes_every_emulator_it_started() -> None:
    async with WeglyEmulatorFactory() as factory:
        first, second = await factory(), await factory(max_take=5)
        assert "2 started" in repr(factory)
        ports = [first.port, second.port]
    assert len(set(ports)) == 2
    for emulator in (first, second):
        with pytest.raises(RuntimeError, match="not running"):
            _ = emulator.port
        assert "closed" in repr(emulator)
    assert "closed" in repr(factory)
    await factory.close()  # a second close does nothing
    with pytest.raises(RuntimeError, match="factory is closed"):
        await factory()


async def test_a_bad_option_raises_and_starts_nothing() -> None:
    async with WeglyEmulatorFactory() as factory:
        with pytest.raises(TypeError, match="max_tak"):
            await factory(max_tak=3)
        with pytest.raises(ValueError, match="max_take"):
            await factory(max_take=0)
        with pytest.raises(TypeError, match="mapping of URL to secret"):
            await factory(webhooks=[("http://127.0.0.1:9/", SECRET)])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="loopback"):
            await factory(webhooks={"https://example.com/hook": SECRET})
        assert factory.emulators == []
