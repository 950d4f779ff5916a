"""``MockTransport``: answer a client's requests from a function, without a network or a server."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import IO, Any

import attrs
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from .._client import WeglyClient
from .._constants import ERROR_BODY_BYTES
from .._transport import Multipart, TransportError, TransportRequest, TransportResponse
from .._uploads import part_filename

__all__ = ["MockResponse", "MockTransport", "instant_retries"]


class MockResponse:
    """An answer for ``MockTransport`` to give: a status, headers, and bytes or JSON."""

    def __init__(
        self,
        status_code: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: Any = None,
    ) -> None:
        if content is not None and json is not None:
            raise TypeError("pass content= or json=, not both")
        if content is not None and not isinstance(content, bytes | bytearray | memoryview):
            hint = " (encode text first: content=text.encode())" if isinstance(content, str) else ""
            raise TypeError(f"content must be bytes, got {type(content).__name__}{hint}")
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError(f"status_code must be an int, got {type(status_code).__name__}")
        if not 100 <= status_code <= 599:
            raise ValueError(f"status_code must be an HTTP status (100-599), got {status_code}")
        self.status_code: int = status_code
        self.headers: CIMultiDict[str] = CIMultiDict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            self.headers.setdefault("Content-Type", "application/json")
        self.content: bytes = bytes(content) if content is not None else b""

    def __repr__(self) -> str:
        return f"<MockResponse {self.status_code} {len(self.content)} bytes>"


Handler = Callable[[TransportRequest], "MockResponse | Awaitable[MockResponse]"]


class MockTransport:
    """Answer every request with ``handler(request)`` (a function or a coroutine function).

    The handler sees the request as a transport does (``method``, ``url``, ``path``
    relative to ``/integrations/external``, ``params``, ``headers``, ``content``, file
    uploads rendered as multipart bytes) and returns a ``MockResponse``; raising
    ``TransportError`` stands for a network failure. ``requests`` keeps every request seen.
    The request's ``timeout.total`` applies to an async handler.
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        self._handler = handler
        self.requests: list[TransportRequest] = []

    def __repr__(self) -> str:
        return f"<MockTransport {len(self.requests)} requests>"

    async def send(self, request: TransportRequest) -> TransportResponse:
        """Return the handler's answer to ``request``, capped as the aiohttp transport caps it."""
        if request.multipart is not None:
            request = await _rendered(request, request.multipart)
        self.requests.append(request)
        try:
            async with asyncio.timeout(request.timeout.total):
                answer = self._handler(request)
                if inspect.isawaitable(answer):
                    answer = await answer
        except TimeoutError:
            raise TransportError(
                "TimeoutError: the handler took too long", timed_out=True
            ) from None
        if not isinstance(answer, MockResponse):
            raise TypeError(f"the handler must return a MockResponse, got {type(answer).__name__}")
        headers = CIMultiDictProxy(CIMultiDict(answer.headers))
        if 200 <= answer.status_code < 300:
            if len(answer.content) > request.max_response_bytes:
                return TransportResponse(answer.status_code, headers, b"", oversized=True)
            return TransportResponse(answer.status_code, headers, answer.content)
        return TransportResponse(answer.status_code, headers, answer.content[:ERROR_BODY_BYTES])

    async def aclose(self) -> None:
        """Do nothing: a mock holds no connections."""


async def _rendered(request: TransportRequest, multipart: Multipart) -> TransportRequest:
    """Return ``request`` with its multipart body encoded into ``content``."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in multipart.fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for upload in multipart.uploads:
        with upload.open() as source:
            data = await _read_all(source)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{part_filename(upload.filename)}"\r\n'
            f"Content-Type: {upload.content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    content = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers = {**request.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return attrs.evolve(request, headers=headers, content=content)


async def _read_all(source: bytes | IO[bytes] | AsyncIterable[bytes]) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, AsyncIterable):
        return b"".join([chunk async for chunk in source])
    return source.read()


def instant_retries(client: WeglyClient, delays: list[float] | None = None) -> list[float]:
    """Make ``client`` record each retry delay in a list (``delays``, or a new one) and return it.

    Retries then happen at once. Copies made afterwards by ``client.with_options`` record
    into the same list.
    """
    if not isinstance(client, WeglyClient):
        raise TypeError(f"client must be a WeglyClient, got {type(client).__name__}")
    if delays is None:
        delays = []
    elif not isinstance(delays, list):
        raise TypeError(f"delays must be a list, got {type(delays).__name__}")

    async def record(delay: float) -> None:
        delays.append(delay)

    pipeline = client._pipeline
    client._pipeline = attrs.evolve(pipeline, retry=attrs.evolve(pipeline.retry, sleep=record))
    # The pauses a 429 announces to the whole client are skipped too (and not recorded).
    if pipeline.rate is not None:
        pipeline.rate.sleep = _no_wait
    return delays


async def _no_wait(seconds: float) -> None:
    """Wait for nothing (the pacing of a client under ``instant_retries``)."""
