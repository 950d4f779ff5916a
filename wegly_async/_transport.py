"""The only module that touches aiohttp: session lifecycle, requests, retries, error mapping."""

from __future__ import annotations

import asyncio
import logging
import platform
import ssl
import time
import types
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from ._config import Timeout
from ._constants import API_PREFIX, DEFAULT_MAX_RESPONSE_BYTES, ERROR_BODY_BYTES
from ._convert import decode_json
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    SendOutcomeUnknownError,
    SendTimeoutError,
    redact,
    server_message,
    status_error_class,
)
from ._retry import Failure, RetryPolicy, parse_retry_after
from ._uploads import ONE_SHOT_NOTE, Upload, part_filename
from ._version import __version__

__all__ = ["Multipart", "Response", "Transport"]

logger = logging.getLogger("wegly_async")

USER_AGENT = (
    f"wegly-async/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)

# Tests replace this to record delays instead of waiting them out.
_sleep = asyncio.sleep

# Methods a repeat cannot make worse; every other method is treated as a send.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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


@attrs.frozen
class Multipart:
    """A multipart/form-data body: text fields plus one file part named ``file``."""

    fields: Mapping[str, str]
    upload: Upload


@attrs.frozen
class Response:
    """A complete success answer: status, headers and the whole body."""

    status: int
    headers: CIMultiDictProxy[str]
    content: bytes
    method: str
    url: str


class Transport:
    """Send requests to one Wegly base URL through one aiohttp session."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        origin: str | None,
        timeout: Timeout,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._base_url = base_url
        self._token = token
        self._max_response_bytes = max_response_bytes
        self._retry = retry
        self._client_timeout = aiohttp.ClientTimeout(
            total=timeout.total, connect=timeout.connect, sock_read=timeout.read
        )
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if origin is not None:
            self._headers["Origin"] = origin
        self._session = session
        self._owns_session = session is None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<Transport base_url={self._base_url!r}>"

    @property
    def closed(self) -> bool:
        """Return whether ``close()`` was called."""
        return self._closed

    async def close(self) -> None:
        """Close the session if this transport created it; safe to call more than once."""
        self._closed = True
        session, self._session = self._session, None
        guard, self._guard = self._guard, None
        same_loop = self._session_loop is asyncio.get_running_loop()
        if session is not None and self._owns_session and not session.closed and same_loop:
            await session.close()
        if guard is not None and same_loop:
            await guard.aclose()

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

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: bytes | None = None,
        multipart: Multipart | None = None,
    ) -> Response:
        """Send one API request, retrying as the policy allows, and return the success answer.

        Raises:
            APIStatusError: the server answered with an error status (a subclass per status).
            APIConnectionError: the server could not be reached; ``APITimeoutError`` on timeout,
                ``SendOutcomeUnknownError`` when a send may have reached the server.
        """
        url = f"{self._base_url}{API_PREFIX}{path}"
        idempotent = method in _IDEMPOTENT_METHODS
        replayable = multipart is None or multipart.upload.replayable
        attempt = 0
        while True:
            progress = _Progress()
            error: WeglyErrorLike
            try:
                response = await self._send_once(method, url, params, json, multipart, progress)
            except _FAILURES as exc:
                failure = _classify(exc, progress)
                error = _connection_error(
                    exc,
                    failure,
                    method=method,
                    url=url,
                    idempotent=idempotent,
                    secret=self._token,
                )
                retry = self._retry.retries_failure(failure, idempotent=idempotent)
                reason = f"{type(exc).__name__}"
            else:
                if 200 <= response.status < 300:
                    return response
                error = _status_error(response, secret=self._token)
                retry = self._retry.retries_status(response.status, idempotent=idempotent)
                reason = f"status {response.status}"
            # Raised here, outside the except block, so that neither __cause__ nor __context__
            # holds aiohttp's exception (its request_info keeps the Authorization header).
            delay = self._next_delay(attempt, retry, replayable, error)
            if delay is None:
                raise error from None
            logger.debug(
                "retrying %s %s in %.3fs (retry %d of %d) after %s",
                method,
                url,
                delay,
                attempt + 1,
                self._retry.max_retries,
                reason,
            )
            await _sleep(delay)
            attempt += 1

    def _next_delay(
        self, attempt: int, retry: bool, replayable: bool, error: WeglyErrorLike
    ) -> float | None:
        if not retry:
            logger.debug("not retrying %s %s: %s", error.method, error.url, type(error).__name__)
            return None
        retry_after = getattr(error, "retry_after", None)
        status = getattr(error, "status_code", None)
        delay = self._retry.delay(attempt, status=status, retry_after=retry_after)
        if delay is None:
            logger.debug(
                "giving up on %s %s after %d retries (retry_after=%s)",
                error.method,
                error.url,
                attempt,
                retry_after,
            )
            return None
        if not replayable:
            _add_note(error, ONE_SHOT_NOTE)
            logger.debug("not retrying %s %s: %s", error.method, error.url, ONE_SHOT_NOTE)
            return None
        return delay

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        json: bytes | None,
        multipart: Multipart | None,
        progress: _Progress,
    ) -> Response:
        session = await self._get_session()
        headers = self._headers
        if json is not None:
            headers = {**headers, "Content-Type": "application/json"}
        started = time.perf_counter()
        if multipart is None:
            response = await self._exchange(session, method, url, params, headers, json, progress)
        else:
            with multipart.upload.open() as source:
                form = _build_form(multipart, source)
                response = await self._exchange(
                    session, method, url, params, headers, form, progress
                )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.3fs",
                method,
                url,
                response.status,
                time.perf_counter() - started,
            )
        return response

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str],
        data: Any,
        progress: _Progress,
    ) -> Response:
        async with session.request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            timeout=self._client_timeout,
            # An API has no reason to redirect, and following one could carry the token elsewhere.
            allow_redirects=False,
            # A session made with raise_for_status=True would turn statuses into aiohttp errors.
            raise_for_status=False,
            trace_request_ctx=progress,
        ) as resp:
            if 200 <= resp.status < 300:
                try:
                    content = await _read_capped(resp.content, self._max_response_bytes)
                except aiohttp.ClientPayloadError as exc:
                    if not isinstance(exc.__cause__, _INFLATE_LIMIT_ERRORS):
                        raise
                    content = None
                if content is None:
                    raise _too_large(resp.status, method, url, self._max_response_bytes)
            else:
                # Only the start of an error body is kept: enough for the server's message.
                content = await _read_capped(resp.content, ERROR_BODY_BYTES, truncate=True)
            return Response(resp.status, resp.headers, content or b"", method, url)


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


def _too_large(status: int, method: str, url: str, limit: int) -> InvalidResponseError:
    if method in _IDEMPOTENT_METHODS:
        reason = (
            f"the answer is larger than max_response_bytes={limit} (after decompression); "
            "ask for smaller pages or raise max_response_bytes"
        )
    else:
        reason = (
            f"the server accepted the request ({status}), so it was carried out, but its "
            f"answer is larger than max_response_bytes={limit}: do not send it again"
        )
    return InvalidResponseError(reason, status_code=status, method=method, url=url, body=b"")


WeglyErrorLike = APIStatusError | APIConnectionError


def _build_form(multipart: Multipart, source: object) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False, charset="utf-8")
    for name, value in multipart.fields.items():
        form.add_field(name, value)
    upload = multipart.upload
    form.add_field(
        "file", source, filename=part_filename(upload.filename), content_type=upload.content_type
    )
    return form


def _classify(exc: BaseException, progress: _Progress) -> Failure:
    """Return how far a failed request got: refused TLS, provably never left, or maybe sent."""
    if isinstance(exc, _TLS_FAILURES):
        return Failure.TLS_REFUSED
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Failure.NOT_SENT
    # A timeout while still queued for a pooled connection, or while connecting, when only
    # the total timeout is set: aiohttp raises a plain TimeoutError, tracing tells the truth.
    if progress.never_left():
        return Failure.NOT_SENT
    return Failure.MAYBE_SENT


def _connection_error(
    exc: BaseException,
    failure: Failure,
    *,
    method: str,
    url: str,
    idempotent: bool,
    secret: str,
) -> APIConnectionError:
    """Translate an aiohttp or timeout failure into the SDK's errors (the only place that does).

    Only a redacted description of ``exc`` is kept: the caller raises the result ``from None``
    because aiohttp's exceptions may hold the request's headers, token included.
    """
    timed_out = isinstance(exc, TimeoutError)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    # aiohttp quotes what the server sent (a bad status line, say), and a server may echo.
    detail = redact(detail, secret)
    cls: type[APIConnectionError]
    if failure is Failure.TLS_REFUSED:
        cls = APIConnectionError
        what = (
            "the server's TLS certificate was refused"
            if isinstance(exc, _CERTIFICATE_FAILURES)
            else "the TLS handshake failed"
        )
        message = (
            f"{method} {url}: {what} ({detail}); not retried: check the base URL and the "
            "machine's CA certificates"
        )
    elif not idempotent and failure is Failure.MAYBE_SENT:
        cls = SendTimeoutError if timed_out else SendOutcomeUnknownError
        what = "timed out" if timed_out else "lost the connection"
        message = (
            f"{method} {url} {what} after the request may have reached the server ({detail}); "
            "the message may or may not have been sent: read the chat's timeline before resending"
        )
    elif timed_out:
        cls = APITimeoutError
        message = f"{method} {url} timed out ({detail})"
    else:
        cls = APIConnectionError
        message = f"{method} {url} could not reach the server ({detail})"
    return cls(message, method=method, url=url)


def _status_error(response: Response, *, secret: str) -> APIStatusError:
    # A server may echo the Authorization header in its error text: it is redacted before
    # the body is parsed, so neither the message nor ``body`` carries the token.
    text = redact(response.content.decode("utf-8", errors="replace"), secret)
    try:
        body: Any = decode_json(text.encode())
    except ValueError:
        body = text
    cls = status_error_class(response.status)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    message = server_message(body, text)
    return cls(
        message,
        status_code=response.status,
        method=response.method,
        url=response.url,
        body=body,
        headers=response.headers,
        retry_after=retry_after,
    )


def _add_note(error: APIStatusError | APIConnectionError, note: str) -> None:
    error.message = f"{error.message} ({note})"
    error.args = (error.message,)
