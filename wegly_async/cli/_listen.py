"""``wegly-async webhook listen``: serve a ``WebhookRouter`` and print each verified event."""

from __future__ import annotations

import sys

from aiohttp import web

from ..types.webhooks import WebhookEvent
from ..webhooks import WebhookRouter
from ._commands import stop_on_signals
from ._exits import EXIT_OK, UsageError, usage_errors
from ._render import json_line

__all__ = ["listen"]


async def listen(secret: str, host: str, port: int) -> int:
    """Serve webhooks at ``/`` until interrupted, printing each new event as a JSON line."""
    with usage_errors():
        router = WebhookRouter(secret)

    @router.on("*")
    async def show(event: WebhookEvent) -> None:
        envelope = {"event_key": event.event_key.value, "payload": event.payload}
        print(json_line(envelope), flush=True)

    # Handlers first: a Ctrl-C right after the banner must still stop the server cleanly.
    stop = stop_on_signals()
    runner = web.AppRunner(router.aiohttp_app("/"), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        bound = runner.addresses[0][1]
        where = f"[{host}]" if ":" in host else host
        print(
            f"listening for webhooks at http://{where}:{bound}/ (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK
