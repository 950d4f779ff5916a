"""Serve a ``WebhookRouter``: an ``aiohttp.web`` handler and app, and a plain ASGI app.

Both read the body in chunks and stop at ``max_body_bytes`` (answering 413), hand the raw
bytes to ``WebhookRouter.handle`` and write its answer back as JSON.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._answers import NOT_POST, Outcome, answer, encoded, is_post, too_large
from ._events import EVENT_HEADER, SIGNATURE_HEADER

if TYPE_CHECKING:
    from ._router import WebhookRouter

__all__ = ["ASGIApp", "AsgiWebhookApp", "aiohttp_app", "aiohttp_handler"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CHUNK = 65_536


def _declared_length(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


# --- aiohttp ---------------------------------------------------------------------------------


async def aiohttp_handler(router: WebhookRouter, request: web.Request) -> web.Response:
    """Answer one delivery made to an ``aiohttp.web`` app."""
    if request.method != "POST":
        return _response(NOT_POST)
    limit = router.max_body_bytes
    headers = request.headers
    content = request.content
    if content.is_eof():
        # The usual delivery: the whole body came with the head, and waits in the buffer
        # (decoded, if it was chunked or compressed); its size is checked below.
        body = content.read_nowait()
    elif (declared := request.content_length) is not None and declared > limit:
        # Refused unread; aiohttp drains a declared length for a few seconds at most, so
        # that the sender reads the 413 instead of a reset connection.
        return _response(too_large(limit))
    elif declared is not None and not (
        headers.get("Transfer-Encoding") or headers.get("Content-Encoding")
    ):
        # A declared length the limit allows, still arriving: read in one call.
        try:
            body = await content.readexactly(declared)
        except asyncio.IncompleteReadError:
            return _response(answer(400, "the body ended before its Content-Length"))
    else:
        read = await _read_bounded(request, limit)
        if read is None:
            return _response(too_large(limit))
        body = read
    if len(body) > limit:
        return _response(too_large(limit))  # a compressed body, larger decoded
    outcome = await router._decide(body, headers.get(SIGNATURE_HEADER), headers.get(EVENT_HEADER))
    return _response(outcome)


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    """Return a body of no declared length, or None once it is larger than ``limit``."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            # A body with no declared end: stop reading it, and close once answered.
            request.protocol.force_close()
            return None
    return bytes(body)


_ALLOW = {"Allow": "POST"}


def _response(outcome: Outcome) -> web.Response:
    return web.Response(
        body=encoded(outcome),
        status=outcome.status,
        headers=_ALLOW if outcome.status == 405 else None,
        content_type="application/json",
    )


def aiohttp_app(router: WebhookRouter, path: str) -> web.Application:
    """Return an ``aiohttp.web`` app serving ``router`` at ``path``, drained on cleanup."""
    app = web.Application(client_max_size=router.max_body_bytes)

    async def cleanup(app: web.Application) -> None:
        await router.aclose()

    # The partial itself, not a coroutine around it: one coroutine per request, not two.
    app.router.add_route("*", path, functools.partial(aiohttp_handler, router))
    app.on_cleanup.append(cleanup)
    return app


# --- ASGI ------------------------------------------------------------------------------------


class AsgiWebhookApp:
    """A plain ASGI app serving a ``WebhookRouter`` at one path (lifespan drains its queue)."""

    def __init__(self, router: WebhookRouter, path: str) -> None:
        self.router = router
        self.path = path

    def __repr__(self) -> str:
        return f"<AsgiWebhookApp {self.path!r} {self.router!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: an HTTP request, or the lifespan of the server."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.router.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        # Mounted (a Starlette mount, uvicorn --root-path), the path starts with the mount's.
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :] or "/"
        if path != self.path:
            await _respond(send, answer(404, f"webhooks are received at {self.path}"))
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        method = str(scope.get("method", "GET"))
        body: bytes | None = b""
        if method == "POST":
            try:
                body = await self._read(receive, headers)
            except _Disconnected:
                return  # the sender left before the body ended: nothing to answer
        if body is None:
            await _respond(send, too_large(self.router.max_body_bytes))
            return
        if not is_post(method):
            await _respond(send, NOT_POST)
            return
        outcome = await self.router._decide(
            body, headers.get(SIGNATURE_HEADER), headers.get(EVENT_HEADER)
        )
        await _respond(send, outcome)

    async def _read(self, receive: Receive, headers: dict[str, str]) -> bytes | None:
        """Return the request body, or None as soon as it is larger than the router allows."""
        limit = self.router.max_body_bytes
        declared = _declared_length(headers.get("content-length"))
        if declared is not None and declared > limit:
            return None
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            body += message.get("body", b"")
            if len(body) > limit:
                return None
            if not message.get("more_body", False):
                return bytes(body)


class _Disconnected(Exception):
    """Raise when an ASGI client disconnects before its body ended."""


async def _respond(send: Send, answer: Outcome) -> None:
    payload = encoded(answer)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if answer.status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
