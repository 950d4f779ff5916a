"""The transport seam: one attempt at one request, a request object in and a response out.

Retries, error mapping and logging sit above it, in ``_pipeline.py``; the aiohttp
implementation is in ``_aiohttp.py`` and ``testing.MockTransport`` fakes it for tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs
import orjson

from ._config import Timeout
from ._constants import DEFAULT_MAX_RESPONSE_BYTES
from ._retry import Failure
from ._uploads import Upload

__all__ = ["AsyncTransport", "Multipart", "TransportError", "TransportRequest", "TransportResponse"]


@attrs.frozen
class Multipart:
    """A multipart/form-data body: text fields plus file parts, each named ``file``."""

    fields: Mapping[str, str]
    upload: Upload
    # Further files, each in a part of its own after ``upload`` (one scheduled message
    # may carry several).
    more_uploads: tuple[Upload, ...] = ()

    @property
    def uploads(self) -> tuple[Upload, ...]:
        """Every file of the body, in order."""
        return (self.upload, *self.more_uploads)


@attrs.frozen
class TransportRequest:
    """One attempt as a transport receives it: where, what, and within which limits.

    ``path`` is relative to ``/integrations/external``; ``content`` is the encoded body
    (``None`` without one; a ``MockTransport`` also renders ``multipart`` into it).
    """

    method: str
    url: str
    path: str
    params: Mapping[str, str]
    # The Authorization header is in here: it is never shown in a repr.
    headers: Mapping[str, str] = attrs.field(repr=False)
    content: bytes | None = None
    multipart: Multipart | None = None
    timeout: Timeout = attrs.field(factory=Timeout)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def json(self) -> object:
        """Return the JSON body decoded, or None when the request has no JSON body."""
        return None if self.content is None or self.multipart else orjson.loads(self.content)


@attrs.frozen
class TransportResponse:
    """A whole answer: status, headers and body (an error body only up to its cap).

    ``oversized`` says the success body was longer than the request's
    ``max_response_bytes`` and was not kept.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    oversized: bool = False


class TransportError(Exception):
    """Raise when one attempt fails before a whole answer came back.

    ``never_sent`` means the request provably never left this machine (refused, still
    waiting for a connection); ``tls_refused`` that the server's TLS was refused, which no
    retry fixes. The client turns this into its own ``APIConnectionError`` family.
    """

    def __init__(
        self,
        detail: str,
        *,
        never_sent: bool = False,
        timed_out: bool = False,
        tls_refused: bool = False,
        certificate: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.never_sent = never_sent
        self.timed_out = timed_out
        self.tls_refused = tls_refused
        self.certificate = certificate

    @property
    def failure(self) -> Failure:
        """Return how far the attempt got, which decides whether repeating it is safe."""
        if self.tls_refused:
            return Failure.TLS_REFUSED
        return Failure.NOT_SENT if self.never_sent else Failure.MAYBE_SENT


@runtime_checkable
class AsyncTransport(Protocol):
    """Make exactly one attempt at a request: no retries, no error statuses raised."""

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Send ``request`` once and return the answer, or raise ``TransportError``."""
        ...

    async def aclose(self) -> None:
        """Release what the transport holds; safe to call more than once."""
        ...
