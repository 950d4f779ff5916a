"""The only module that uses aiohttp's client: one attempt per call, on a lazily made session."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import types
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import attrs

from ._constants import ERROR_BODY_BYTES
from ._transport import Multipart, TransportError, TransportRequest, TransportResponse
from ._uploads import part_filename

__all__ = ["AiohttpTransport"]

# Failures caught per attempt: aiohttp's own, timeouts, and TLS errors that escape unwrapped.
_FAILURES = (aiohttp.ClientError, ssl.SSLError, TimeoutError)
_TLS_FAILURES = (aiohttp.ClientSSLError, ssl.SSLError)
_CERTIFICATE_FAILURES = (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)
# aiohttp 3.13 stops inflating at a limit of its own and gives this as the payload error's cause.
_INFLATE_LIMIT_ERRORS: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in [getattr(aiohttp.http_exceptions, "DecompressSizeError", None)]
    if isinstance(cls, type)
)
AIOHTTP_AGENT = f"aiohttp/{aiohttp.__version__}"


@attrs.define
class _Progress:
    """How far one attempt got, as aiohttp's tracing reports it."""

    started: bool = False  # aiohttp began the request: tracing is in effect
    connected: bool = False  # a connection was opened or reused: bytes may have left

    def never_left(self) -> bool:
        """Return whether the attempt provably failed before it had a connection to write to."""
        return self.started and not self.connected


async def _on_request_start(_: object, ctx: types.SimpleNamespace, __: object) -> None:
    if isinstance(ctx.trace_request_ctx, _Progress):
        ctx.trace_request_ctx.started = True


async def _on_connected(_: object, ctx: types.SimpleNamespace, __: object) -> None:
    if isinstance(ctx.trace_request_ctx, _Progress):
        ctx.trace_request_ctx.connected = True


def _make_trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_on_request_start)
    config.on_connection_create_end.append(_on_connected)
    config.on_connection_reuseconn.append(_on_connected)
    config.freeze()
    return config


# One frozen config serves every session; it acts only on requests that carry a _Progress.
_TRACE_CONFIG = _make_trace_config()


class AiohttpTransport:
    """Send each request once through one aiohttp session, made lazily unless one is given.

    A session you pass stays yours: ``aclose()`` never closes it.
    """

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        self._session = session
        self._owns_session = session is None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<AiohttpTransport own_session={self._owns_session} closed={self._closed}>"

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """Return the aiohttp session in use, or None before the first request."""
        return self._session

    async def aclose(self) -> None:
        """Close the session if this transport created it; safe to call more than once."""
        self._closed = True
        session, self._session = self._session, None
        guard, self._guard = self._guard, None
        same_loop = self._session_loop is asyncio.get_running_loop()
        if session is not None and self._owns_session and not session.closed and same_loop:
            await session.close()
        if guard is not None and same_loop:
            await guard.aclose()

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send ``request`` once and return the whole answer, or raise ``TransportError``."""
        progress = _Progress()
        try:
            session = await self._get_session()
            headers = dict(request.headers)
            agent = headers.get("User-Agent")
            if agent is not None and AIOHTTP_AGENT not in agent:
                headers["User-Agent"] = f"{agent} {AIOHTTP_AGENT}"
            if request.multipart is None:
                return await self._exchange(session, request, headers, request.content, progress)
            with contextlib.ExitStack() as stack:
                uploads = request.multipart.uploads
                sources = [stack.enter_context(upload.open()) for upload in uploads]
                form = _build_form(request.multipart, sources)
                return await self._exchange(session, request, headers, form, progress)
        except _FAILURES as exc:
            error = _transport_error(exc, progress)
        # Raised outside the except block, so that neither __cause__ nor __context__ holds
        # aiohttp's exception: its request_info keeps the Authorization header.
        raise error from None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this WeglyClient is closed; create a new one to make requests")
        loop = asyncio.get_running_loop()
        if self._session_loop is not loop:
            self._bind_loop(loop)
        if self._session is None:
            # Created lazily so it binds to the loop that actually runs the requests.
            session = self._session = aiohttp.ClientSession(trace_configs=[_TRACE_CONFIG])
            self._guard = _close_with_loop(session)
            await anext(self._guard)
            return session
        return self._session

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take the running loop as the session's, replacing an own session left by a dead loop."""
        session = self._session
        if session is not None and not self._owns_session:
            # aiohttp keeps the loop a session was made in; only that loop can drive it.
            session_loop = getattr(session, "_loop", loop)
            if session_loop is not loop:
                raise RuntimeError(
                    "the aiohttp session passed as session= belongs to another event loop: "
                    "create the session, and the WeglyClient using it, inside the event loop "
                    "(the asyncio.run) that makes the requests"
                )
            trace_configs = getattr(session, "trace_configs", None)
            if isinstance(trace_configs, list) and _TRACE_CONFIG not in trace_configs:
                trace_configs.append(_TRACE_CONFIG)
        elif session is not None and self._session_loop is not None:
            if not self._session_loop.is_closed():
                raise RuntimeError(
                    "this WeglyClient is in use by another event loop that is still running: "
                    "create one WeglyClient per event loop (per thread)"
                )
            # The old loop (an earlier asyncio.run) is closed; its end closed the session
            # (see _close_with_loop) unless the loop was closed without asyncio.run's
            # shutdown, and then the session cannot be closed any more, only dropped.
            if not session.closed:
                session.detach()
            self._session = self._guard = None
        self._session_loop = loop

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        request: TransportRequest,
        headers: Mapping[str, str],
        data: Any,
        progress: _Progress,
    ) -> TransportResponse:
        timeout = request.timeout
        async with session.request(
            request.method,
            request.url,
            params=request.params,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(
                total=timeout.total, connect=timeout.connect, sock_read=timeout.read
            ),
            # An API has no reason to redirect, and following one could carry the token elsewhere.
            allow_redirects=False,
            # A session made with raise_for_status=True would turn statuses into aiohttp errors.
            raise_for_status=False,
            trace_request_ctx=progress,
        ) as resp:
            if 200 <= resp.status < 300:
                try:
                    content = await _read_capped(resp.content, request.max_response_bytes)
                except aiohttp.ClientPayloadError as exc:
                    if not isinstance(exc.__cause__, _INFLATE_LIMIT_ERRORS):
                        raise
                    content = None
                if content is None:
                    return TransportResponse(resp.status, resp.headers, b"", oversized=True)
            else:
                # Only the start of an error body is kept: enough for the server's message.
                content = await _read_capped(resp.content, ERROR_BODY_BYTES, truncate=True)
            return TransportResponse(resp.status, resp.headers, content or b"")


async def _close_with_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Close ``session`` when its event loop shuts down, as ``asyncio.run`` does at its end.

    The loop finalizes every suspended async generator before it closes, so the client's
    own session never outlives its loop, and a later ``asyncio.run`` starts a fresh one.
    """
    try:
        yield
    finally:
        await session.close()


async def _read_capped(
    stream: aiohttp.StreamReader, limit: int, *, truncate: bool = False
) -> bytes | None:
    """Return the (decompressed) body read chunk by chunk, or None once it grows past ``limit``.

    With ``truncate`` the first ``limit`` bytes are returned instead of None. Reading stops
    there either way: the rest of an oversized answer is never held in memory.
    """
    body = bytearray()
    async for chunk in stream.iter_any():
        if len(body) + len(chunk) > limit:
            if not truncate:
                return None
            body += chunk[: limit - len(body)]
            break
        body += chunk
    return bytes(body)


def _build_form(multipart: Multipart, sources: list[Any]) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False, charset="utf-8")
    for name, value in multipart.fields.items():
        form.add_field(name, value)
    for upload, source in zip(multipart.uploads, sources, strict=True):
        filename = part_filename(upload.filename)
        form.add_field("file", source, filename=filename, content_type=upload.content_type)
    return form


def _transport_error(exc: BaseException, progress: _Progress) -> TransportError:
    """Translate an aiohttp or timeout failure into a TransportError (the only place that does).

    Only a description of ``exc`` is kept: aiohttp's exceptions may hold the request's
    headers, token included; the pipeline redacts the description too.
    """
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    timed_out = isinstance(exc, TimeoutError)
    if isinstance(exc, _TLS_FAILURES):
        return TransportError(
            detail, tls_refused=True, certificate=isinstance(exc, _CERTIFICATE_FAILURES)
        )
    # Refused, unresolvable, or timed out while connecting: nothing was written. A timeout
    # while still queued for a pooled connection, or while connecting, when only the total
    # timeout is set, is a plain TimeoutError: tracing tells the truth.
    never_sent = (
        isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
        or progress.never_left()
    )
    return TransportError(detail, never_sent=never_sent, timed_out=timed_out)
