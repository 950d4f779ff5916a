"""``examples/bot.py`` on the emulator: a contact writes, the webhook arrives, the bot answers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from test_webhooks_servers import serve_aiohttp

from wegly_async.testing import WeglyEmulator

BOT_PATH = Path(__file__).parent.parent / "examples" / "bot.py"
SECRET = "whsec-example-bot"


def load_bot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_bot", BOT_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("example_bot", module)
    spec.loader.exec_module(module)
    return module


async def test_the_bot_answers_a_contact_and_the_timeline_shows_both() -> None:
    bot = load_bot()
    async with WeglyEmulator() as emu, emu.client() as client:
        chat_id = emu.create_chat(events=5, seed=21)
        async with serve_aiohttp(bot.build_router(client, SECRET), "/") as url:
            emu.add_webhook(url, SECRET)
            heard = emu.receive_message(chat_id, "Vocês entregam em Campinas?")
            await emu.wait_deliveries()  # the bot's own reply is delivered too, and ignored
        events = emu.events(chat_id)
    contact, answer = events[-2]["message"], events[-1]["message"]
    assert contact == heard["message"]
    assert (contact["from_me"], contact["body_text"]) == (False, "Vocês entregam em Campinas?")
    assert answer["from_me"] is True
    assert (
        answer["body_text"]
        == 'Olá! Recebemos "Vocês entregam em Campinas?" e já vamos te responder 😊'
    )
    quoted = answer["quoted_message"]
    assert quoted is not None and quoted["id"] == contact["id"]  # a reply to that message
    assert len(events) == 7  # the bot answered once: not its own message_sent
    keys = sorted((d.event_key, d.status) for d in emu.deliveries)
    assert keys == [("chat.message_received", 200), ("chat.message_sent", 200)]


async def test_the_bot_does_not_answer_its_own_messages() -> None:
    bot = load_bot()
    async with WeglyEmulator() as emu, emu.client() as client:
        chat_id = emu.create_chat(events=2, seed=22)
        async with serve_aiohttp(bot.build_router(client, SECRET), "/") as url:
            emu.add_webhook(url, SECRET)
            await client.chats.send_text(chat_id, "Promoção de hoje: frete grátis")
            await emu.wait_deliveries()
        events = emu.events(chat_id)
    assert len(events) == 3
    assert [d.event_key for d in emu.deliveries] == ["chat.message_sent"]


async def test_the_bot_refuses_a_delivery_signed_with_another_secret() -> None:
    bot = load_bot()
    async with WeglyEmulator() as emu, emu.client() as client:
        chat_id = emu.create_chat(events=2, seed=23)
        async with serve_aiohttp(bot.build_router(client, SECRET), "/") as url:
            emu.add_webhook(url, "not-the-bot-secret", attempts=2)
            emu.receive_message(chat_id, "Olá")
            await emu.wait_deliveries()
        events = emu.events(chat_id)
    assert [d.status for d in emu.deliveries] == [401, 401]
    assert len(events) == 3  # the contact's message, and no answer
