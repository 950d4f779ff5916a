"""Dispatch verified webhook events to handlers, whatever server hands the request over.

``WebhookRouter.handle`` is the whole decision, free of any web framework: the method, the
signature (before anything is parsed), the envelope, the dedupe claim, the handlers, and
the status to answer. The aiohttp and ASGI adapters only read the body, bounded, and write
the answer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from aiohttp import web

from .._errors import WebhookPayloadError, WebhookSignatureError
from .._validation import check_int
from ..types.webhooks import WebhookEvent
from . import _servers
from ._answers import (
    DUPLICATE,
    HANDLED,
    NOT_POST,
    QUEUED,
    Outcome,
    PreparedAnswer,
    WebhookAnswer,
    answer,
    is_post,
    too_large,
)
from ._dedupe import DedupeStore, MemoryDedupeStore
from ._events import EVENT_HEADER, SIGNATURE_HEADER, decode_event, header
from ._patterns import check_pattern, matches
from ._signature import Secrets, check_secrets, keyed, verify_with_macs

__all__ = ["Handler", "WebhookRouter"]

logger = logging.getLogger("wegly_async.webhooks")

Handler = Callable[[WebhookEvent], Awaitable[None]]
Ack = Literal["after", "before"]

DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_QUEUE_SIZE = 1_000
_MATCHED_KEYS = 1_024


class WebhookRouter:
    """Verify, deduplicate and dispatch Wegly's webhook deliveries to ``async`` handlers.

    ``ack="after"`` answers once the handlers ran (a failure answers 500, so Wegly
    delivers again); ``ack="before"`` answers 202 at once and runs them from a bounded
    queue, which ``aclose()`` drains: faster to acknowledge, but a crash loses what waits.
    """

    def __init__(
        self,
        secret: Secrets,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        ack: Ack = "after",
        store: DedupeStore | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._macs = keyed(check_secrets(secret))
        self.max_body_bytes: int = check_int(max_body_bytes, "max_body_bytes", minimum=1)
        if ack not in ("after", "before"):
            raise ValueError(f"ack must be 'after' or 'before', got {ack!r}")
        self._ack: Ack = ack
        if store is not None and not isinstance(store, DedupeStore):
            raise TypeError(f"store must have async claim() and release(), got {store!r}")
        self._store: DedupeStore = store if store is not None else MemoryDedupeStore()
        # The built-in store claims without a coroutine; a subclass may override claim().
        self._claim_now = self._store.claim_now if type(self._store) is MemoryDedupeStore else None
        self._queue_size = check_int(queue_size, "queue_size", minimum=1)
        self._routes: list[tuple[str, Handler]] = []
        self._unknown: list[Handler] = []
        # The handlers of each event key met, so that a delivery matches no pattern again;
        # emptied when a handler is registered.
        self._matched: dict[str, tuple[Handler, ...]] = {}
        self._queue: asyncio.Queue[tuple[WebhookEvent, str]] | None = None
        self._worker: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<WebhookRouter {len(self._routes)} handlers ack={self._ack}>"

    # -- registering ----------------------------------------------------------------------

    def on(self, pattern: str) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``pattern``: a key, ``"lead.*"``, or ``"*"``."""
        pattern = check_pattern(pattern)

        def register(handler: Handler) -> Handler:
            self._routes.append((pattern, _check_handler(handler)))
            self._matched.clear()
            return handler

        return register

    def on_unknown(self, handler: Handler) -> Handler:
        """Register the decorated handler for events that no ``on`` pattern claims."""
        self._unknown.append(_check_handler(handler))
        self._matched.clear()
        return handler

    def handlers_for(self, event_key: str) -> list[Handler]:
        """Return the handlers an event with ``event_key`` runs, in registration order."""
        matched = [handler for pattern, handler in self._routes if matches(pattern, event_key)]
        return matched or list(self._unknown)

    # -- serving --------------------------------------------------------------------------

    @property
    def aiohttp_handler(self) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Return a handler to mount at any path of an ``aiohttp.web`` app (POST only)."""
        return functools.partial(_servers.aiohttp_handler, self)

    def aiohttp_app(self, path: str = "/") -> web.Application:
        """Return an ``aiohttp.web`` app that serves this router at ``path``."""
        return _servers.aiohttp_app(self, _check_path(path))

    def asgi_app(self, path: str = "/") -> _servers.AsgiWebhookApp:
        """Return a plain ASGI app (FastAPI, Starlette, uvicorn) serving this router at ``path``."""
        return _servers.AsgiWebhookApp(self, _check_path(path))

    # -- handling -------------------------------------------------------------------------

    async def handle(self, method: str, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Decide the answer to one delivery, running its handlers unless it was seen before."""
        if not is_post(method):
            return NOT_POST.answer()
        if len(body) > self.max_body_bytes:
            return too_large(self.max_body_bytes)
        # headers.get first: the mapping aiohttp hands over ignores case already.
        signature = headers.get(SIGNATURE_HEADER) or header(headers, SIGNATURE_HEADER)
        announced = headers.get(EVENT_HEADER) or header(headers, EVENT_HEADER)
        outcome = await self._decide(body, signature, announced)
        return outcome.answer() if isinstance(outcome, PreparedAnswer) else outcome

    async def _decide(self, body: bytes, signature: str | None, announced: str | None) -> Outcome:
        """Do what ``handle`` does for a POST of ``body`` within the limit, given its headers.

        The servers call this: most deliveries come to an answer prepared once.
        """
        try:
            body_mac = verify_with_macs(body, signature, self._macs)
        except WebhookSignatureError as exc:
            logger.warning("webhook refused: %s", exc)
            return answer(401, str(exc))
        try:
            event = decode_event(body, announced)
        except WebhookPayloadError as exc:
            logger.warning("webhook refused: %s", exc)
            return answer(400, str(exc))
        # Redeliveries carry the same body (API.md): identical bodies are the same event, and
        # the body's HMAC under the first secret, just computed, names it (no second hash).
        key = body_mac.hex()
        claim_now = self._claim_now
        if not (claim_now(key) if claim_now is not None else await self._store.claim(key)):
            logger.debug(
                "webhook %s (%s) already handled: not run again", key[:12], event.event_key
            )
            return DUPLICATE
        if self._ack == "before":
            return await self._enqueue(event, key)
        try:
            # _run() and dispatch(), inlined: two coroutines less per delivery.
            for handler in self._handlers(event.event_key):
                await handler(event)
        except BaseException as exc:
            return await self._refused(exc, event, key)
        return HANDLED

    async def dispatch(self, event: WebhookEvent) -> None:
        """Run the handlers of a verified ``event`` (no dedupe), raising what they raise."""
        for handler in self._handlers(event.event_key):
            await handler(event)

    def _handlers(self, event_key: str) -> tuple[Handler, ...]:
        handlers = self._matched.get(event_key)
        if handlers is None:
            if len(self._matched) >= _MATCHED_KEYS:
                self._matched.clear()  # keys are open-ended: the memo stays bounded
            handlers = self._matched[event_key] = tuple(self.handlers_for(event_key))
        return handlers

    async def _run(self, event: WebhookEvent, key: str) -> WebhookAnswer | None:
        """Run the handlers of ``event``: None when they succeeded, else the answer to give."""
        try:
            await self.dispatch(event)
        except BaseException as exc:
            return await self._refused(exc, event, key)
        return None

    async def _refused(self, exc: BaseException, event: WebhookEvent, key: str) -> WebhookAnswer:
        """Release the claim of a delivery whose handler raised ``exc``; return the answer."""
        # Released, so that Wegly's redelivery of this body runs the handlers again.
        await self._store.release(key)
        if isinstance(exc, WebhookPayloadError):
            # A typed part a handler read does not decode: the body is at fault, as with a
            # bad envelope (the handlers before that one ran).
            logger.warning("webhook refused: %s", exc)
            return answer(400, str(exc))
        if isinstance(exc, Exception):
            logger.error("webhook handler for %s failed", event.event_key, exc_info=exc)
            return answer(500, "a handler failed; deliver again")
        # Cancelled mid-handler (a server stopping): not handled, so released as well.
        raise exc

    async def _enqueue(self, event: WebhookEvent, key: str) -> Outcome:
        queue = self._start()
        try:
            queue.put_nowait((event, key))
        except asyncio.QueueFull:
            await self._store.release(key)
            return answer(503, "too many events waiting; deliver again later")
        return QUEUED

    def _start(self) -> asyncio.Queue[tuple[WebhookEvent, str]]:
        if self._queue is None:
            self._queue = asyncio.Queue(self._queue_size)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain(self._queue))
        return self._queue

    async def _drain(self, queue: asyncio.Queue[tuple[WebhookEvent, str]]) -> None:
        while True:
            event, key = await queue.get()
            try:
                await self._run(event, key)
            finally:
                queue.task_done()

    async def aclose(self) -> None:
        """Run the events still queued (``ack="before"``), then stop the worker."""
        queue, worker = self._queue, self._worker
        if queue is not None and worker is not None and not worker.done():
            await queue.join()
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._queue = self._worker = None


def _check_handler(handler: object) -> Handler:
    if not callable(handler):
        raise TypeError(f"a webhook handler must be an async function, got {handler!r}")
    call = getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
    if not inspect.iscoroutinefunction(handler) and not inspect.iscoroutinefunction(call):
        raise TypeError(f"a webhook handler must be an async def function, got {handler!r}")
    return handler


def _check_path(path: object) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    return path
