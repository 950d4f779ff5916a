"""A small Wegly bot: hear each message a contact sends (a webhook), answer it through the API.

Run it where Wegly can reach it, with the token and the subscription's secret in the
environment (never on the command line, where every user of the machine can read them):

    export WEGLY_TOKEN=... WEGLY_WEBHOOK_SECRET=...
    python examples/bot.py --host 0.0.0.0 --port 8081

Try it offline against the emulator with ``wegly-async demo``, or see tests/test_example_bot.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

from aiohttp import web

import wegly_async as wa
from wegly_async.webhooks import WebhookRouter


def reply_to(message: wa.Message) -> str:
    """Return the bot's answer to a contact's message."""
    text = (message.body_text or "").strip()
    heard = f' "{text[:80]}"' if text else " sua mensagem"
    return f"Olá! Recebemos{heard} e já vamos te responder 😊"


def build_router(client: wa.WeglyClient, secret: str) -> WebhookRouter:
    """Return a router that answers each ``chat.message_received`` with a text reply."""
    router = WebhookRouter(secret)

    @router.on("chat.message_received")
    async def answer(event: wa.WebhookEvent) -> None:
        message = event.message
        if event.chat_id is None or message is None or message.from_me:
            return  # only a contact's own messages get an answer (never the bot's)
        await client.chats.send_text(event.chat_id, reply_to(message), reply_to=message.wamid)

    return router


async def serve(client: wa.WeglyClient, secret: str, host: str, port: int) -> None:
    """Serve the bot's webhook at ``/`` until cancelled (Ctrl-C)."""
    runner = web.AppRunner(build_router(client, secret).aiohttp_app("/"))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        print(f"bot listening on http://{host}:{port}/ (Ctrl-C stops it)")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def main() -> None:
    """Read the options and the secret, then serve the bot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address (default %(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="port (default %(default)s)")
    args = parser.parse_args()
    secret = os.environ.get("WEGLY_WEBHOOK_SECRET")
    if not secret:
        parser.error("set WEGLY_WEBHOOK_SECRET to the webhook subscription's secret")
    async with wa.WeglyClient() as client:  # the token comes from WEGLY_TOKEN
        await serve(client, secret, args.host, args.port)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
        asyncio.run(main())
