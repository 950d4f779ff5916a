"""Every exception the SDK raises on purpose, in one tree.

::

    WeglyError
    ├── APIConnectionError              could not talk to the server
    │   ├── APITimeoutError             the request timed out
    │   └── SendOutcomeUnknownError     a send may or may not have reached the server
    │       └── SendTimeoutError        ... because it timed out (also an APITimeoutError)
    ├── APIStatusError                  the server answered with an error status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── UnprocessableEntityError    422
    │   ├── RateLimitError              429
    │   └── InternalServerError         >= 500
    ├── InvalidResponseError            a 2xx answer we could not understand
    ├── TimelineChangedError            a timeline changed in a way paging cannot follow
    ├── RateBudgetError                 a shared rate budget (Redis) could not be reached
    ├── ExportLockedError               another export is writing the same chat's files
    ├── QueueConnectionError            could not talk to the export job queue's Redis
    └── WebhookError                    a webhook delivery we refuse
        ├── WebhookSignatureError       its signature is missing or wrong (nothing parsed)
        └── WebhookPayloadError         its body is not the event envelope

Caller mistakes are not in this tree: they raise ``ValueError`` or ``TypeError``
before any request is made. Nor is ``DecodeError``, the internal, HTTP-free error of
decoding: it never reaches users, the HTTP layer raises it as ``InvalidResponseError``
and the webhook layer as ``WebhookPayloadError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ExportLockedError",
    "InternalServerError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueConnectionError",
    "RateBudgetError",
    "RateLimitError",
    "SendOutcomeUnknownError",
    "SendTimeoutError",
    "TimelineChangedError",
    "UnprocessableEntityError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WeglyError",
]

_SNIPPET_CHARS = 200
REDACTED = "[REDACTED]"


class WeglyError(Exception):
    """Base class of every error the SDK raises about the API."""


class APIConnectionError(WeglyError):
    """Raise when the server could not be reached or the connection broke."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """Raise when a request did not complete within its timeout."""


class SendOutcomeUnknownError(APIConnectionError):
    """Raise when a send may have reached the server but no answer came back.

    The message may or may not have been delivered: read the chat's timeline
    before sending it again.
    """


class SendTimeoutError(SendOutcomeUnknownError, APITimeoutError):
    """Raise when a send timed out after its request may have been written.

    It is both a ``SendOutcomeUnknownError`` (read the timeline before sending again) and
    an ``APITimeoutError``, so either ``except`` clause catches it.
    """


class RateBudgetError(WeglyError):
    """Raise when a shared rate budget could not be reached: the request was not sent."""


class APIStatusError(WeglyError):
    """Raise when the server answers with a non-success HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.status_code} {self.method} {self.url}: {self.message}"


class BadRequestError(APIStatusError):
    """Raise when the server rejects a request as malformed (400)."""


class AuthenticationError(APIStatusError):
    """Raise when the token is missing, invalid or expired (401)."""


class PermissionDeniedError(APIStatusError):
    """Raise when the key may not do this, e.g. its allowed_domain does not match (403)."""


class NotFoundError(APIStatusError):
    """Raise when the chat or route does not exist (404)."""


class ConflictError(APIStatusError):
    """Raise when the request conflicts with the server's state (409)."""


class UnprocessableEntityError(APIStatusError):
    """Raise when the server cannot process a well-formed request (422)."""


class RateLimitError(APIStatusError):
    """Raise when the server rate-limits the client (429); see ``retry_after``."""


class InternalServerError(APIStatusError):
    """Raise when the server fails (5xx)."""


class InvalidResponseError(WeglyError):
    """Raise when a success answer is not the JSON the SDK expects."""

    def __init__(
        self, reason: str, *, status_code: int, method: str, url: str, body: bytes
    ) -> None:
        snippet = body[:_SNIPPET_CHARS].decode("utf-8", errors="replace")
        more = "…" if len(body) > _SNIPPET_CHARS else ""
        message = f"{status_code} {method} {url}: {reason}; body starts {snippet!r}{more}"
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code
        self.method = method
        self.url = url
        self.body = body


class DecodeError(Exception):
    """Raise when JSON does not decode into what the SDK expects, with no HTTP context.

    Internal: each layer that decodes (the HTTP responses, later webhooks) reports it as
    its own public error. For a record of a list, ``index``, ``record_id`` and ``path``
    (``None`` when it is nested too deeply to search) name where it failed.
    """

    def __init__(
        self,
        reason: str,
        *,
        index: int | None = None,
        record_id: object = None,
        path: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index
        self.record_id = record_id
        self.path = path


class TimelineChangedError(WeglyError):
    """Raise when events were deleted or inserted mid-timeline so that pages no longer join.

    ``offset`` is the offset of the last event yielded when the pager lost its place.
    """

    def __init__(self, message: str, *, chat_id: str | None, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.chat_id = chat_id
        self.offset = offset


class ExportLockedError(WeglyError):
    """Raise when another export, in this process or another, is writing the same chat."""


class QueueConnectionError(WeglyError):
    """Raise when the export job queue's Redis cannot be reached or answers with an error."""


class WebhookError(WeglyError):
    """Raise when a webhook delivery cannot be accepted."""


class WebhookSignatureError(WebhookError):
    """Raise when a webhook body's signature is missing or does not match the secret."""


class WebhookPayloadError(WebhookError):
    """Raise when a verified webhook body is not the event envelope Wegly sends."""


_ERRORS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the exception class for an HTTP error status."""
    if status >= 500:
        return InternalServerError
    return _ERRORS_BY_STATUS.get(status, APIStatusError)


def redact(text: str, secret: str) -> str:
    """Return ``text`` with every copy of ``secret`` (plain or JSON-escaped) replaced."""
    if not secret:
        return text
    for form in _secret_forms(secret):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(data: bytes, secret: str) -> bytes:
    """Return ``data`` with every UTF-8 copy of ``secret`` (plain or JSON-escaped) replaced."""
    if not secret:
        return data
    for form in _secret_forms(secret):
        data = data.replace(form.encode(), REDACTED.encode())
    return data


def _secret_forms(secret: str) -> set[str]:
    return {secret, orjson.dumps(secret).decode()[1:-1]}


def server_message(body: Any, text: str) -> str:
    """Return the server's own words from an error body, as API.md decides."""
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                # Validation frameworks (NestJS, FastAPI) answer a list of messages.
                return "; ".join(str(item) for item in value)
    return text.strip()[:_SNIPPET_CHARS] or "(empty body)"
