"""The one path every call takes: options, then the retry loop around the transport, then errors."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypedDict, TypeVar

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ._config import Timeout
from ._constants import API_PREFIX
from ._convert import decode_json, encode_json, form_text
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
from ._rate import Pacer, RateController
from ._retry import Failure, RetryPolicy, parse_retry_after
from ._transport import (
    AsyncTransport,
    Multipart,
    TransportError,
    TransportRequest,
    TransportResponse,
)
from ._uploads import ONE_SHOT_NOTE
from ._validation import check_int
from ._version import __version__

__all__ = ["APIRequest", "Pipeline", "RawResponse", "RequestOptions", "check_options"]

logger = logging.getLogger("wegly_async")

T = TypeVar("T")

USER_AGENT = f"wegly-async/{__version__} python/{platform.python_version()}"
# Headers the client owns: the token goes only where the client puts it.
_RESERVED_HEADERS = frozenset({"authorization", "content-length", "host"})


class RequestOptions(TypedDict, total=False):
    """Per-call options every endpoint method accepts as keyword arguments.

    ``extra_body`` is merged into the JSON body (text parts for a file upload);
    ``timeout`` replaces the client's for this call (``None`` for no limit).
    """

    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str | int] | None
    extra_body: Mapping[str, object] | None
    timeout: float | Timeout | None
    max_retries: int


_OPTION_NAMES = frozenset(RequestOptions.__annotations__)


def check_options(options: Mapping[str, Any]) -> RequestOptions:
    """Return ``options`` checked, raising TypeError or ValueError before any request."""
    if not options:
        return options  # type: ignore[return-value]
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
    for name in ("extra_headers", "extra_query", "extra_body"):
        value = options.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    for name, value in (options.get("extra_headers") or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("extra_headers must map str names to str values")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"extra_headers must not set {name!r}: the client sets it")
        if any(c in name + value for c in "\r\n\0") or not name.strip():
            raise ValueError(f"extra_headers[{name!r}] holds a line break or is empty")
    for name, value in (options.get("extra_query") or {}).items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError("extra_query must map str names to str or int values")
    if "timeout" in options:
        Timeout.coerce(options["timeout"])
    if "max_retries" in options:
        check_int(options["max_retries"], "max_retries", minimum=0)
    return options  # type: ignore[return-value]


@attrs.frozen
class APIRequest:
    """One call as an endpoint describes it: route, body, options, and whether to repeat it.

    ``idempotent`` is the endpoint's promise that repeating it is harmless (GETs, and the
    PUT/PATCH/DELETE routes retried like them); a POST never makes it.
    """

    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    json: Mapping[str, Any] | None = None
    multipart: Multipart | None = None
    idempotent: bool = False
    options: RequestOptions = attrs.field(factory=lambda: RequestOptions())


def _json(raw: RawResponse[Any]) -> Any:
    return raw.json()


@attrs.frozen
class RawResponse(Generic[T]):
    """A success answer as the server sent it; ``parse()`` returns the endpoint's typed result."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str
    _parser: Callable[[RawResponse[Any]], T] = attrs.field(
        alias="parser", repr=False, eq=False, default=_json
    )
    # The token, so that an error about this body can redact it (a body may quote it).
    _secret: str = attrs.field(alias="_secret", repr=False, eq=False, default="")

    def parse(self) -> T:
        """Return the typed result of the call, decoded from the body already read."""
        return self._parser(self)

    def json(self) -> Any:
        """Return the body as JSON, or None when it is empty."""
        return decode_json(self.content) if self.content.strip() else None


@attrs.frozen
class Pipeline:
    """Send API requests through a transport: headers, retries, logging and error mapping."""

    transport: AsyncTransport
    base_url: str
    token: str = attrs.field(repr=False)
    origin: str | None
    timeout: Timeout
    retry: RetryPolicy
    max_response_bytes: int
    # Shared by every copy ``with_options`` makes: the whole client is paced as one (a
    # RateController, or a shared budget's pacer: see ``_rate_redis``; None: not paced, each
    # request meets its 429 alone).
    rate: Pacer | None = attrs.field(factory=RateController, repr=False, eq=False)
    # The headers every request carries, built once (the token is in them: never shown).
    _headers: Mapping[str, str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.origin is not None:
            headers["Origin"] = self.origin
        object.__setattr__(self, "_headers", headers)

    def _build(self, request: APIRequest) -> TransportRequest:
        options = request.options
        headers = dict(self._headers)
        params = {k: str(v) for k, v in request.params.items()} if request.params else {}
        if options:
            params.update({k: str(v) for k, v in (options.get("extra_query") or {}).items()})
        content: bytes | None = None
        multipart = request.multipart
        extra_body = options.get("extra_body") or {}
        if multipart is not None:
            if extra_body:
                fields = {**multipart.fields, **{k: form_text(v) for k, v in extra_body.items()}}
                multipart = attrs.evolve(multipart, fields=fields)
        elif request.json is not None or extra_body:
            content = encode_json({**(request.json or {}), **extra_body})
            headers["Content-Type"] = "application/json"
        headers.update(options.get("extra_headers") or {})
        timeout = Timeout.coerce(options["timeout"]) if "timeout" in options else self.timeout
        return TransportRequest(
            method=request.method,
            url=f"{self.base_url}{API_PREFIX}{request.path}",
            path=request.path,
            params=params,
            headers=headers,
            content=content,
            multipart=multipart,
            timeout=timeout,
            max_response_bytes=self.max_response_bytes,
        )

    async def send(
        self, request: APIRequest, parser: Callable[[RawResponse[Any]], Any] | None = None
    ) -> RawResponse[Any]:
        """Send ``request``, retrying as the policy allows, and return the success answer.

        ``parser`` becomes the answer's ``parse()`` (by default: the body as JSON).

        Raises:
            APIStatusError: the server answered with an error status (a subclass per status).
            APIConnectionError: the server could not be reached; ``APITimeoutError`` on timeout,
                ``SendOutcomeUnknownError`` when a send may have reached the server.
            InvalidResponseError: the success answer is larger than ``max_response_bytes``.
        """
        attempt_request = self._build(request)
        method, url = attempt_request.method, attempt_request.url
        retry = self.retry
        if "max_retries" in request.options:
            retry = attrs.evolve(retry, max_retries=request.options["max_retries"])
        replayable = request.multipart is None or all(
            upload.replayable for upload in request.multipart.uploads
        )
        attempt = 0
        while True:
            error: APIStatusError | APIConnectionError
            started = time.perf_counter()
            rate = self.rate
            if rate is not None and not rate.ready():
                await rate.acquire()
            try:
                response = await self.transport.send(attempt_request)
            except TransportError as exc:
                if rate is not None:
                    rate.release()
                failure, reason = exc.failure, type(exc).__name__
                error = _connection_error(exc, method, url, request.idempotent, self.token)
                again = retry.retries_failure(failure, idempotent=request.idempotent)
            except BaseException:
                if rate is not None:
                    rate.release()  # cancelled, or a transport that broke its contract
                raise
            else:
                status = response.status_code
                if logger.isEnabledFor(logging.DEBUG):
                    elapsed = time.perf_counter() - started
                    logger.debug("%s %s -> %d in %.3fs", method, url, status, elapsed)
                headers = response.headers
                if type(headers) is not CIMultiDictProxy:
                    headers = _case_insensitive(headers)
                if 200 <= status < 300:
                    if rate is not None:
                        rate.observe(status, headers, None)
                    if response.oversized:
                        raise _too_large(status, method, url, request.idempotent, self)
                    return RawResponse(
                        status,
                        headers,
                        response.content,
                        method,
                        url,
                        parser or _json,
                        _secret=self.token,
                    )
                error = _status_error(response, method, url, self.token)
                if rate is not None:
                    rate.observe(status, headers, error.retry_after)
                again = retry.retries_status(status, idempotent=request.idempotent)
                reason = f"status {status}"
            # Raised here, outside the except block, so that neither __cause__ nor __context__
            # holds the transport's exception.
            delay = _next_delay(retry, attempt, again, replayable, error)
            if delay is None:
                raise error from None
            logger.debug(
                "retrying %s %s in %.3fs (retry %d of %d) after %s",
                method,
                url,
                delay,
                attempt + 1,
                retry.max_retries,
                reason,
            )
            await retry.sleep(delay)
            attempt += 1


def _next_delay(
    retry: RetryPolicy,
    attempt: int,
    again: bool,
    replayable: bool,
    error: APIStatusError | APIConnectionError,
) -> float | None:
    if not again:
        logger.debug("not retrying %s %s: %s", error.method, error.url, type(error).__name__)
        return None
    retry_after = getattr(error, "retry_after", None)
    status = getattr(error, "status_code", None)
    delay = retry.delay(attempt, status=status, retry_after=retry_after)
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


def _too_large(
    status: int, method: str, url: str, idempotent: bool, pipeline: Pipeline
) -> InvalidResponseError:
    limit = pipeline.max_response_bytes
    if idempotent:
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


def _connection_error(
    exc: TransportError, method: str, url: str, idempotent: bool, secret: str
) -> APIConnectionError:
    """Translate a failed attempt into the SDK's errors (the only place that does)."""
    # aiohttp quotes what the server sent (a bad status line, say), and a server may echo.
    detail = redact(exc.detail, secret)
    cls: type[APIConnectionError]
    if exc.failure is Failure.TLS_REFUSED:
        cls = APIConnectionError
        what = (
            "the server's TLS certificate was refused"
            if exc.certificate
            else "the TLS handshake failed"
        )
        message = (
            f"{method} {url}: {what} ({detail}); not retried: check the base URL and the "
            "machine's CA certificates"
        )
    elif not idempotent and exc.failure is Failure.MAYBE_SENT:
        cls = SendTimeoutError if exc.timed_out else SendOutcomeUnknownError
        what = "timed out" if exc.timed_out else "lost the connection"
        message = (
            f"{method} {url} {what} after the request may have reached the server ({detail}); "
            "the message may or may not have been sent: read the chat's timeline before resending"
        )
    elif exc.timed_out:
        cls = APITimeoutError
        message = f"{method} {url} timed out ({detail})"
    else:
        cls = APIConnectionError
        message = f"{method} {url} could not reach the server ({detail})"
    return cls(message, method=method, url=url)


def _case_insensitive(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """Return ``headers`` readable regardless of case (a transport may give a plain dict)."""
    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers))


def _redacted_headers(headers: Mapping[str, str], secret: str) -> CIMultiDictProxy[str]:
    """Return an error's headers, any that quote the token redacted (a server may echo it)."""
    readable = _case_insensitive(headers)
    if not secret or not any(secret in f"{name}{value}" for name, value in readable.items()):
        return readable
    redacted = CIMultiDict(
        (redact(name, secret), redact(value, secret)) for name, value in readable.items()
    )
    return CIMultiDictProxy(redacted)


def _status_error(
    response: TransportResponse, method: str, url: str, secret: str
) -> APIStatusError:
    # A server may echo the Authorization header in its error text: it is redacted before
    # the body is parsed, so neither the message nor ``body`` carries the token.
    text = redact(response.content.decode("utf-8", errors="replace"), secret)
    status, headers = response.status_code, _redacted_headers(response.headers, secret)
    try:
        body: Any = decode_json(text.encode())
    except ValueError:
        body = text
    cls = status_error_class(status)
    return cls(
        server_message(body, text),
        status_code=status,
        method=method,
        url=url,
        body=body,
        headers=headers,
        retry_after=parse_retry_after(headers.get("Retry-After")),
    )


def _add_note(error: APIStatusError | APIConnectionError, note: str) -> None:
    error.message = f"{error.message} ({note})"
    error.args = (error.message,)
