"""The only module that touches aiohttp: session lifecycle, requests, retries, error mapping."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from ._config import Timeout
from ._constants import API_PREFIX
from ._convert import decode_json
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    SendOutcomeUnknownError,
    _SendTimeoutError,
    server_message,
    status_error_class,
)
from ._retry import Failure, RetryPolicy, parse_retry_after
from ._uploads import ONE_SHOT_NOTE, Upload
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
    ) -> None:
        self._base_url = base_url
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
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this WeglyClient is closed; create a new one to make requests")
        if self._session is None:
            # Created lazily so it binds to the loop that actually runs the requests.
            self._session = aiohttp.ClientSession()
        return self._session

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
            try:
                response = await self._send_once(method, url, params, json, multipart)
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = _classify(exc)
                error = _connection_error(
                    exc, failure, method=method, url=url, idempotent=idempotent
                )
                retry = self._retry.retries_failure(failure, idempotent=idempotent)
                delay = self._next_delay(attempt, retry, replayable, error)
                if delay is None:
                    raise error from exc
                reason = f"{type(exc).__name__}"
            else:
                if 200 <= response.status < 300:
                    return response
                status_error = _status_error(response)
                retry = self._retry.retries_status(response.status, idempotent=idempotent)
                delay = self._next_delay(attempt, retry, replayable, status_error)
                if delay is None:
                    raise status_error
                reason = f"status {response.status}"
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
    ) -> Response:
        session = self._get_session()
        headers = self._headers
        if json is not None:
            headers = {**headers, "Content-Type": "application/json"}
        started = time.perf_counter()
        if multipart is None:
            response = await self._exchange(session, method, url, params, headers, json)
        else:
            with multipart.upload.open() as source:
                form = _build_form(multipart, source)
                response = await self._exchange(session, method, url, params, headers, form)
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
        ) as resp:
            content = await resp.read()
            return Response(resp.status, resp.headers, content, method, url)


WeglyErrorLike = APIStatusError | APIConnectionError


def _build_form(multipart: Multipart, source: object) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False, charset="utf-8")
    for name, value in multipart.fields.items():
        form.add_field(name, value)
    upload = multipart.upload
    form.add_field("file", source, filename=upload.filename, content_type=upload.content_type)
    return form


def _classify(exc: BaseException) -> Failure:
    """Return whether a failed request provably never left this machine."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Failure.NOT_SENT
    return Failure.MAYBE_SENT


def _connection_error(
    exc: BaseException, failure: Failure, *, method: str, url: str, idempotent: bool
) -> APIConnectionError:
    """Translate an aiohttp or timeout failure into the SDK's errors (the only place that does)."""
    timed_out = isinstance(exc, TimeoutError)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    cls: type[APIConnectionError]
    if not idempotent and failure is Failure.MAYBE_SENT:
        cls = _SendTimeoutError if timed_out else SendOutcomeUnknownError
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


def _status_error(response: Response) -> APIStatusError:
    text = response.content.decode("utf-8", errors="replace")
    try:
        body: Any = decode_json(response.content)
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
