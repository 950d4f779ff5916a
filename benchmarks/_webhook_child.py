"""Serve both webhook contenders in one process, one port each, until stdin closes.

``router``: ``WebhookRouter.aiohttp_app()`` (verify, parse, dedupe, dispatch to a handler);
``bare``: an ``aiohttp.web`` handler that only runs ``orjson.loads`` on the body and answers a
fixed JSON body. Both share this process's loop, so the load generator in the parent measures
them under equal terms.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import orjson
from aiohttp import web

from wegly_async.types.webhooks import WebhookEvent
from wegly_async.webhooks import WebhookRouter

SECRET_ENV = "WEGLY_BENCH_WEBHOOK_SECRET"


def router_app(secret: str) -> web.Application:
    """Return the router's own app, with one handler for the benchmarked event."""
    router = WebhookRouter(secret)

    @router.on("chat.message_received")
    async def on_message(event: WebhookEvent) -> None:
        assert event.message is not None  # the typed part was decoded

    return router.aiohttp_app("/")


OK_BODY = b'{"ok":true}'


def bare_app() -> web.Application:
    """Return the floor: read the body, ``orjson.loads`` it, answer 200 with a fixed JSON body."""

    async def handle(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        # A body prepared once: web.json_response would serialize it with the standard
        # library's json on every request, work the floor has no need of (5% of its cost).
        return web.Response(body=OK_BODY, content_type="application/json")

    app = web.Application()
    app.router.add_post("/", handle)
    return app


async def serve(apps: dict[str, web.Application]) -> None:
    """Serve each app on 127.0.0.1, print their ports by name as JSON, serve until stdin closes."""
    runners = {name: web.AppRunner(app, access_log=None) for name, app in apps.items()}
    ports = {}
    for name, runner in runners.items():
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ports[name] = runner.addresses[0][1]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closes stdin to stop us
    for runner in runners.values():
        await runner.cleanup()


async def main() -> None:
    """Serve both contenders, the router and the bare floor, one port each."""
    await serve({"router": router_app(os.environ[SECRET_ENV]), "bare": bare_app()})


if __name__ == "__main__":
    asyncio.run(main())
