"""Retries, timeouts, caps and secrets.

The retry rules run on a MockTransport (``router``); aioresponses (``mock_api``) is kept for
how the aiohttp transport classifies aiohttp's exceptions, rebuilds its forms, refuses
redirects and passes timeouts; loopback servers test the real transport end to end.
"""

from __future__ import annotations

import asyncio
import email.utils
import gc
import io
import logging
import pathlib
import random
import shutil
import socket
import ssl
import struct
import subprocess
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import CallbackResult
from conftest import (
    API,
    BASE_URL,
    CHAT_ID,
    SEND_ROUTE,
    TIMELINE_ROUTE,
    TOKEN,
    Router,
    assert_secret_absent,
    dropped_attempt,
    no_sleeping,
    refused_attempt,
    timed_out_attempt,
)
from loopback import RawHandler, app_in_thread, read_request, serve_app, serve_raw
from yarl import URL

import wegly_async as wa
from wegly_async._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY
from wegly_async.cli._exits import describe_error
from wegly_async.testing import MockResponse, WeglyEmulator, instant_retries

SEND_URL = f"{API}/chats/{CHAT_ID}/messages"
TIMELINE_URL = f"{API}/chats/{CHAT_ID}/timeline?order=asc&skip=0&take=100"
EMPTY_PAGE: dict[str, Any] = {"total": 0, "records": []}
SENT = {"total": 1, "records": [{"id": "6f1c0a52-3b8e-4f45-9d0e-2a7e5b1c9d10"}]}
FILE_BYTES = b"\x89PNG\r\n\x1a\n" + b"pixels" * 1000


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.wegly.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


def dns_failure() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.wegly.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))


def n_requests(mock_api: Any) -> int:
    return sum(len(calls) for calls in mock_api.requests.values())


def post_calls(mock_api: Any) -> list[Any]:
    return list(mock_api.requests.get(("POST", URL(SEND_URL)), []))


def sends(router: Router) -> list[wa.TransportRequest]:
    return router.calls("POST", SEND_ROUTE)


async def read_timeline(client: wa.WeglyClient) -> list[wa.TimelineEvent]:
    return await client.chats.timeline(CHAT_ID).to_list()


async def send(client: wa.WeglyClient) -> wa.SendResult:
    return await client.chats.send_text(CHAT_ID, "hello")


@pytest.fixture
async def make_client(
    mock_api: Any, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., wa.WeglyClient]]:
    """Build clients with custom retry settings; all are closed afterwards."""
    made: list[wa.WeglyClient] = []

    def factory(**kwargs: Any) -> wa.WeglyClient:
        c = no_sleeping(wa.WeglyClient(TOKEN, base_url=BASE_URL, **kwargs), request)
        made.append(c)
        return c

    yield factory
    for c in made:
        await c.close()


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True
    )


# --- GET: what is retried ------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientConnectionError("connection reset"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        TimeoutError(),
        aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
        refused(),
    ],
    ids=type,
)
async def test_get_is_retried_on_connection_failures(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], exc: Exception
) -> None:
    mock_api.get(TIMELINE_URL, exception=exc)
    mock_api.get(TIMELINE_URL, exception=exc)
    mock_api.get(TIMELINE_URL, payload=EMPTY_PAGE)
    assert await read_timeline(client) == []
    assert n_requests(mock_api) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_get_is_retried_on_transient_statuses(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], status: int
) -> None:
    router.get(TIMELINE_ROUTE, status=status, json={"message": "busy"})
    router.get(TIMELINE_ROUTE, status=status, json={"message": "busy"})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    assert await read_timeline(mock_client) == []
    assert len(router.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, wa.RateLimitError),
        (500, wa.InternalServerError),
        (502, wa.InternalServerError),
        (503, wa.InternalServerError),
        (504, wa.InternalServerError),
    ],
)
async def test_get_gives_up_after_max_retries_with_the_typed_error(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], status: int, cls: type
) -> None:
    router.get(TIMELINE_ROUTE, status=status, json={"message": "still busy"}, repeat=True)
    with pytest.raises(cls) as info:
        await read_timeline(mock_client)
    assert info.value.status_code == status
    assert "still busy" in str(info.value)
    assert mock_client.max_retries == 3
    assert len(router.requests) == 4  # the first try and 3 retries
    assert len(sleeps) == 3


async def test_get_connection_error_after_retries(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, raises=dropped_attempt(), repeat=True)
    with pytest.raises(wa.APIConnectionError) as info:
        await read_timeline(mock_client)
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert not isinstance(info.value, wa.APITimeoutError)
    assert len(router.requests) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "exc", [TimeoutError(), aiohttp.ServerTimeoutError("read timeout")], ids=type
)
async def test_get_timeout_after_retries_is_api_timeout_error(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], exc: Exception
) -> None:
    mock_api.get(TIMELINE_URL, exception=exc, repeat=True)
    with pytest.raises(wa.APITimeoutError) as info:
        await read_timeline(client)
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert isinstance(info.value, wa.APIConnectionError)
    assert n_requests(mock_api) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_get_is_not_retried_on_client_errors(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], status: int
) -> None:
    router.get(TIMELINE_ROUTE, status=status, json={"message": "no"}, repeat=True)
    with pytest.raises(wa.APIStatusError) as info:
        await read_timeline(mock_client)
    assert info.value.status_code == status
    assert len(router.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure",
    [{"status": 503}, {"status": 429}, {"raises": dropped_attempt()}],
    ids=["503", "429", "disconnect"],
)
async def test_max_retries_zero_means_one_request(
    router: Router,
    sleeps: list[float],
    failure: dict[str, Any],
) -> None:
    client = router.client(max_retries=0)
    router.get(TIMELINE_ROUTE, repeat=True, **failure)
    with pytest.raises(wa.WeglyError):
        await read_timeline(client)
    assert len(router.requests) == 1
    assert sleeps == []


async def test_max_retries_one_means_two_requests(router: Router, sleeps: list[float]) -> None:
    client = router.client(max_retries=1)
    router.get(TIMELINE_ROUTE, status=500, repeat=True)
    with pytest.raises(wa.InternalServerError):
        await read_timeline(client)
    assert len(router.requests) == 2
    assert len(sleeps) == 1


# --- Retry-After ---------------------------------------------------------------------------


async def test_retry_after_seconds_is_slept_exactly(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": "2"})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    assert await read_timeline(mock_client) == []
    assert sleeps == [2.0]


async def test_retry_after_on_503_is_honoured(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=503, headers={"Retry-After": "3"})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    await read_timeline(mock_client)
    assert sleeps == [3.0]


async def test_retry_after_on_send_429_is_slept_exactly(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, status=429, headers={"Retry-After": "2"})
    router.post(SEND_ROUTE, json=SENT)
    result = await send(mock_client)
    assert result.total == 1
    assert sleeps == [2.0]
    assert len(sends(router)) == 2


async def test_retry_after_as_http_date(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": http_date(30)})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    await read_timeline(mock_client)
    assert len(sleeps) == 1
    # HTTP dates have whole seconds, and a little time passes before the header is read.
    assert 27.0 <= sleeps[0] <= 30.0


async def test_retry_after_http_date_in_the_past_waits_the_backoff(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    random.seed(9)
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": http_date(-120)})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    await read_timeline(mock_client)
    assert len(sleeps) == 1
    assert 0.0 < sleeps[0] <= INITIAL_RETRY_DELAY


@pytest.mark.parametrize("retry_after", ["120", "61"])
async def test_retry_after_above_cap_raises_rate_limit_at_once(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], retry_after: str
) -> None:
    router.get(
        TIMELINE_ROUTE,
        status=429,
        json={"message": "quota exceeded"},
        headers={"Retry-After": retry_after},
        repeat=True,
    )
    with pytest.raises(wa.RateLimitError) as info:
        await read_timeline(mock_client)
    assert info.value.retry_after == float(retry_after)
    assert "quota exceeded" in str(info.value)
    assert sleeps == []
    assert len(router.requests) == 1


async def test_retry_after_above_cap_on_send_raises_at_once(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, status=429, headers={"Retry-After": "3600"}, repeat=True)
    with pytest.raises(wa.RateLimitError) as info:
        await send(mock_client)
    assert info.value.retry_after == 3600.0
    assert sleeps == []
    assert len(sends(router)) == 1


async def test_retry_after_date_above_cap_raises_at_once(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": http_date(600)}, repeat=True)
    with pytest.raises(wa.RateLimitError) as info:
        await read_timeline(mock_client)
    assert info.value.retry_after is not None
    assert 590 <= info.value.retry_after <= 600
    assert sleeps == []


async def test_retry_after_above_cap_on_503_raises_at_once(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=503, headers={"Retry-After": "120"}, repeat=True)
    with pytest.raises(wa.InternalServerError) as info:
        await read_timeline(mock_client)
    assert info.value.retry_after == 120.0
    assert sleeps == []
    assert len(router.requests) == 1


async def test_retry_after_at_the_cap_is_slept(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": "60"})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    await read_timeline(mock_client)
    assert sleeps == [60.0]


async def test_retry_after_cap_is_configurable(router: Router, sleeps: list[float]) -> None:
    client = router.client(max_retry_after=300)
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": "120"})
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    await read_timeline(client)
    assert sleeps == [120.0]

    strict = router.client(max_retry_after=1)
    router.get(TIMELINE_ROUTE, status=429, headers={"Retry-After": "2"})
    with pytest.raises(wa.RateLimitError) as info:
        await read_timeline(strict)
    assert info.value.retry_after == 2.0
    assert sleeps == [120.0]


# --- backoff -------------------------------------------------------------------------------


async def test_backoff_is_exponential_with_full_jitter(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    runs: list[list[float]] = []
    for _ in range(30):
        sleeps.clear()
        for _ in range(3):
            router.get(TIMELINE_ROUTE, status=500)
        router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
        await read_timeline(mock_client)
        assert len(sleeps) == 3
        runs.append(list(sleeps))
    for delays in runs:
        for attempt, delay in enumerate(delays):
            ceiling = min(MAX_RETRY_DELAY, INITIAL_RETRY_DELAY * 2**attempt)
            assert 0.0 <= delay <= ceiling, (attempt, delay)
    # Full jitter: delays vary between runs ...
    assert len({delays[0] for delays in runs}) > 1
    # ... and the ceiling grows: the third wait goes beyond what the second may reach.
    assert max(delays[2] for delays in runs) > INITIAL_RETRY_DELAY * 2


# --- POST (send): never duplicated ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_send_is_not_retried_on_5xx(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], status: int
) -> None:
    router.post(SEND_ROUTE, status=status, headers={"Retry-After": "1"}, repeat=True)
    with pytest.raises(wa.InternalServerError) as info:
        await send(mock_client)
    assert info.value.status_code == status
    assert len(sends(router)) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "exc",
    [TimeoutError(), aiohttp.ServerTimeoutError("Timeout on reading data from socket")],
    ids=type,
)
async def test_send_timeout_is_outcome_unknown_and_timeout(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], exc: Exception
) -> None:
    mock_api.post(SEND_URL, exception=exc, repeat=True)
    with pytest.raises(wa.SendOutcomeUnknownError) as info:
        await send(client)
    assert isinstance(info.value, wa.APITimeoutError)
    assert isinstance(info.value, wa.APIConnectionError)
    assert len(post_calls(mock_api)) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("Response payload is not completed"),
    ],
    ids=type,
)
async def test_send_lost_connection_is_outcome_unknown_not_timeout(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], exc: Exception
) -> None:
    mock_api.post(SEND_URL, exception=exc, repeat=True)
    with pytest.raises(wa.SendOutcomeUnknownError) as info:
        await send(client)
    assert not isinstance(info.value, wa.APITimeoutError)
    assert len(post_calls(mock_api)) == 1
    assert sleeps == []


async def test_send_is_retried_on_429(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, status=429, json={"message": "slow down"})
    router.post(SEND_ROUTE, json=SENT)
    result = await send(mock_client)
    assert result.total == 1
    assert len(sends(router)) == 2
    assert len(sleeps) == 1
    first, second = sends(router)
    assert first.content is not None
    assert first.content == second.content


@pytest.mark.parametrize(
    "exc",
    [refused(), dns_failure(), aiohttp.ConnectionTimeoutError("connect timeout")],
    ids=type,
)
async def test_send_is_retried_when_the_request_never_left(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], exc: Exception
) -> None:
    mock_api.post(SEND_URL, exception=exc)
    mock_api.post(SEND_URL, payload=SENT)
    result = await send(client)
    assert result.total == 1
    assert len(post_calls(mock_api)) == 2
    assert len(sleeps) == 1


async def test_send_refused_every_time_is_not_outcome_unknown(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=refused_attempt(), repeat=True)
    with pytest.raises(wa.APIConnectionError) as info:
        await send(mock_client)
    # The request never left: the message was certainly not sent.
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert len(sends(router)) == 4
    assert len(sleeps) == 3


async def test_send_connect_timeout_every_time_is_a_plain_timeout(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=timed_out_attempt(never_sent=True), repeat=True)
    with pytest.raises(wa.APITimeoutError) as info:
        await send(mock_client)
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert len(sends(router)) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_send_is_not_retried_on_client_errors(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], status: int
) -> None:
    router.post(SEND_ROUTE, status=status, repeat=True)
    with pytest.raises(wa.APIStatusError):
        await send(mock_client)
    assert len(sends(router)) == 1
    assert sleeps == []


# --- multipart retries ---------------------------------------------------------------------


def capture_file_parts(mock_api: Any, statuses: list[int]) -> list[bytes]:
    """Answer sends with ``statuses`` in turn, recording each attempt's rendered body."""
    bodies: list[bytes] = []

    async def callback(url: URL, **kwargs: Any) -> CallbackResult:
        data = kwargs["data"]
        assert isinstance(data, aiohttp.FormData)
        bodies.append(await data().as_bytes())
        status = statuses.pop(0)
        if status == 200:
            return CallbackResult(status=200, payload=SENT)
        return CallbackResult(status=status, payload={"message": "rate limited"})

    mock_api.post(SEND_URL, callback=callback, repeat=True)
    return bodies


def capture_sent_files(router: Router, statuses: list[int]) -> list[bytes]:
    """Answer sends with ``statuses`` in turn, recording the body rendered for each attempt."""
    bodies: list[bytes] = []

    def answer(request: wa.TransportRequest) -> MockResponse:
        assert request.multipart is not None
        assert request.content is not None
        bodies.append(request.content)
        status = statuses.pop(0)
        if status == 200:
            return MockResponse(200, json=SENT)
        return MockResponse(status, json={"message": "rate limited"})

    router.post(SEND_ROUTE, handler=answer, repeat=True)
    return bodies


FileFactory = Callable[[pathlib.Path], Any]

REPLAYABLE_FILES: dict[str, FileFactory] = {
    "bytes": lambda tmp: FILE_BYTES,
    "str-path": lambda tmp: str(_write(tmp)),
    "pathlib-path": lambda tmp: _write(tmp),
    "bytesio": lambda tmp: io.BytesIO(FILE_BYTES),
    "open-file": lambda tmp: _write(tmp).open("rb"),
}


def _write(tmp: pathlib.Path) -> pathlib.Path:
    path = tmp / "photo.png"
    path.write_bytes(FILE_BYTES)
    return path


@pytest.mark.parametrize("kind", list(REPLAYABLE_FILES))
async def test_multipart_send_retried_on_429_rebuilds_its_form(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], tmp_path: pathlib.Path, kind: str
) -> None:
    bodies = capture_file_parts(mock_api, [429, 200])
    file = REPLAYABLE_FILES[kind](tmp_path)
    try:
        result = await client.chats.send_image(CHAT_ID, file, filename="photo.png")
    finally:
        if hasattr(file, "close") and not isinstance(file, io.BytesIO):
            file.close()
    assert result.total == 1
    assert len(sleeps) == 1
    calls = post_calls(mock_api)
    assert len(calls) == 2
    assert calls[0].kwargs["data"] is not calls[1].kwargs["data"]
    assert len(bodies) == 2
    for body in bodies:
        assert FILE_BYTES in body, "every attempt must carry the whole file"
        assert b'name="file"' in body
        assert b'filename="photo.png"' in body


@pytest.mark.parametrize("kind", list(REPLAYABLE_FILES))
async def test_multipart_send_retried_on_429_resends_the_whole_file(
    router: Router,
    mock_client: wa.WeglyClient,
    sleeps: list[float],
    tmp_path: pathlib.Path,
    kind: str,
) -> None:
    # The upload reopened for each attempt, whatever the transport; the test above checks
    # that the aiohttp transport also builds a new FormData for each.
    bodies = capture_sent_files(router, [429, 200])
    file = REPLAYABLE_FILES[kind](tmp_path)
    try:
        result = await mock_client.chats.send_image(CHAT_ID, file, filename="photo.png")
    finally:
        if hasattr(file, "close") and not isinstance(file, io.BytesIO):
            file.close()
    assert result.total == 1
    assert len(sleeps) == 1
    assert len(sends(router)) == 2
    assert len(bodies) == 2
    for body in bodies:
        assert FILE_BYTES in body, "every attempt must carry the whole file"
        assert b'name="file"' in body
        assert b'filename="photo.png"' in body


async def test_multipart_send_from_bytes_retried_after_refused_connection(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=refused_attempt())
    bodies = capture_sent_files(router, [200])
    await mock_client.chats.send_document(CHAT_ID, FILE_BYTES, filename="a.pdf")
    assert len(sends(router)) == 2
    assert len(bodies) == 1
    assert FILE_BYTES in bodies[0]


async def _one_shot() -> AsyncIterator[bytes]:
    yield FILE_BYTES[:100]
    yield FILE_BYTES[100:]


async def test_one_shot_stream_is_not_retried_on_429(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    capture_sent_files(router, [429, 200])
    with pytest.raises(wa.RateLimitError) as info:
        await mock_client.chats.send_image(CHAT_ID, _one_shot(), filename="photo.png")
    message = str(info.value).lower()
    assert "not retried" in message
    assert "stream" in message
    assert "replay" in message
    assert "rate limited" in message  # the server's message is kept
    assert len(sends(router)) == 1
    assert sleeps == []


async def test_one_shot_stream_is_not_retried_after_connection_refused(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=refused_attempt())
    router.post(SEND_ROUTE, json=SENT)
    with pytest.raises(wa.APIConnectionError) as info:
        await mock_client.chats.send_image(CHAT_ID, _one_shot(), filename="photo.png")
    assert "not retried" in str(info.value).lower()
    assert len(sends(router)) == 1
    assert sleeps == []


class _Pipe(io.RawIOBase):
    """A binary stream that can be read once and not rewound, like a pipe or socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


async def test_non_seekable_file_is_never_resent_truncated(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    bodies = capture_sent_files(router, [429, 200])
    pipe = _Pipe(FILE_BYTES)
    error: wa.RateLimitError | None = None
    try:
        await mock_client.chats.send_image(CHAT_ID, pipe, filename="photo.png")
    except wa.RateLimitError as exc:
        error = exc
    if error is None:
        assert len(bodies) == 2  # retried: then the whole file went again (checked below)
    else:
        assert "not retried" in str(error).lower()
        assert len(bodies) == 1
    for body in bodies:
        assert FILE_BYTES in body, "a retry must never send a partial or empty file"


# --- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_not_followed_on_read(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float], status: int
) -> None:
    mock_api.get(TIMELINE_URL, status=status, headers={"Location": "https://evil.example/steal"})
    mock_api.get("https://evil.example/steal", payload=EMPTY_PAGE, repeat=True)
    with pytest.raises(wa.APIStatusError) as info:
        await read_timeline(client)
    assert info.value.status_code == status
    assert list(mock_api.requests) == [("GET", URL(TIMELINE_URL))]
    assert n_requests(mock_api) == 1
    (call,) = mock_api.requests[("GET", URL(TIMELINE_URL))]
    assert call.kwargs["allow_redirects"] is False


async def test_redirect_is_not_followed_on_send(
    mock_api: Any, client: wa.WeglyClient, sleeps: list[float]
) -> None:
    mock_api.post(SEND_URL, status=302, headers={"Location": "https://evil.example/steal"})
    mock_api.get("https://evil.example/steal", payload=SENT, repeat=True)
    with pytest.raises(wa.APIStatusError) as info:
        await send(client)
    assert info.value.status_code == 302
    assert n_requests(mock_api) == 1


# --- per-request timeout -------------------------------------------------------------------


async def test_timeout_is_applied_per_request(
    mock_api: Any, make_client: Callable[..., wa.WeglyClient], sleeps: list[float]
) -> None:
    client = make_client(timeout=7.5)
    mock_api.get(TIMELINE_URL, payload=EMPTY_PAGE)
    mock_api.post(SEND_URL, payload=SENT)
    await read_timeline(client)
    await send(client)
    for calls in mock_api.requests.values():
        for call in calls:
            timeout = call.kwargs["timeout"]
            assert isinstance(timeout, aiohttp.ClientTimeout)
            assert timeout.total == 7.5


_SENDS: dict[str, Callable[[wa.WeglyClient], Awaitable[Any]]] = {
    "text": lambda c: c.chats.send_text(CHAT_ID, "x"),
    "reaction": lambda c: c.chats.send_reaction(CHAT_ID, "👍", reference_wamid="w"),
    "template": lambda c: c.chats.send_template(CHAT_ID, name="t", language="en"),
    "image": lambda c: c.chats.send_image(CHAT_ID, b"png", filename="a.png"),
}


@pytest.mark.parametrize("which", list(_SENDS))
async def test_every_send_kind_is_not_retried_on_500(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], which: str
) -> None:
    router.post(SEND_ROUTE, status=500, repeat=True)
    with pytest.raises(wa.InternalServerError):
        await _SENDS[which](mock_client)
    assert len(sends(router)) == 1
    assert sleeps == []


# --- the real transport against loopback servers ---------------------------------------------

SECRET = "s3cret-Tok3n-Q7"
TIMELINE_PATH = f"/integrations/external/chats/{CHAT_ID}/timeline"
SEND_PATH = f"/integrations/external/chats/{CHAT_ID}/messages"
SENT_BODY = orjson.dumps(SENT)


def _app(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def _gzip(size: int) -> bytes:
    """Return a gzip stream that inflates to ``size`` bytes of JSON white space."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


@pytest.mark.parametrize("bad", [True, 1.5, "32MiB", None])
def test_max_response_bytes_must_be_an_int(bad: Any) -> None:
    with pytest.raises(TypeError, match="max_response_bytes"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, max_response_bytes=bad)


@pytest.mark.parametrize("bad", [-1, 0, 100])
def test_max_response_bytes_has_a_minimum(bad: int) -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, max_response_bytes=bad)


def test_max_response_bytes_defaults_to_the_named_constant() -> None:
    assert wa.WeglyClient(TOKEN, base_url=BASE_URL).max_response_bytes == 32 * 1024 * 1024


async def test_an_answer_over_max_response_bytes_is_an_invalid_response() -> None:
    body = b'{"total": 0, "records": []' + b" " * (3 << 20) + b"}"

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(TOKEN, base_url=base_url, max_response_bytes=1 << 20) as client,
    ):
        with pytest.raises(wa.InvalidResponseError, match="max_response_bytes") as info:
            await read_timeline(client)
        assert "accepted" not in str(info.value)
        bigger = wa.WeglyClient(TOKEN, base_url=base_url, max_response_bytes=4 << 20)
        async with bigger:
            assert await read_timeline(bigger) == []


async def test_a_send_answer_over_max_response_bytes_says_the_server_accepted_it() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.Response(body=b"[" + b" " * (2 << 20) + b"]", content_type="application/json")

    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(TOKEN, base_url=base_url, max_response_bytes=1 << 20) as client,
    ):
        with pytest.raises(wa.InvalidResponseError, match="accepted") as info:
            await send(client)
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert seen == ["POST"]


async def test_a_gzip_bomb_costs_about_the_cap_in_memory() -> None:
    bomb = _gzip(128 << 20)
    assert len(bomb) < 1 << 20

    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=bomb, headers=headers)

    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(TOKEN, base_url=base_url, max_response_bytes=1 << 20) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(wa.InvalidResponseError, match="max_response_bytes"):
                await read_timeline(client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # 128 MiB inflated on the old path; a few chunks past the 1 MiB cap now. aiohttp
    # before 3.14 inflates a whole network chunk at once, up to its own 32 MiB limit.
    old_aiohttp = tuple(int(part) for part in aiohttp.__version__.split(".")[:2]) < (3, 14)
    assert peak < (96 << 20 if old_aiohttp else 16 << 20)


async def test_an_error_body_is_capped_and_read_once() -> None:
    huge = orjson.dumps({"message": "x" * (4 << 20)})

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, body=huge, content_type="application/json")

    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(TOKEN, base_url=base_url, max_retries=0) as client,
    ):
        with pytest.raises(wa.InternalServerError) as info:
            await read_timeline(client)
    assert isinstance(info.value.body, str)  # cut short, so no longer JSON
    assert len(info.value.body) <= 64 * 1024
    assert len(str(info.value)) < 1024


# --- the token never leaks ---------------------------------------------------------------


def assert_no_secret(exc: BaseException) -> None:
    assert_secret_absent(exc, SECRET)


async def _echo_status_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await read_request(reader)
    auth = next(line for line in request.split(b"\r\n") if line.lower().startswith(b"authoriz"))
    writer.write(b"HTTP/1.1 2OO " + auth + b"\r\n\r\n")
    await writer.drain()


async def _bad_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope " + SECRET.encode() + b"\r\n\r\n{}")
    await writer.drain()


async def _truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"total": 1')
    await writer.drain()


async def _bad_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n")
    await writer.drain()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"\x00\xffnot http at all " + SECRET.encode() + b"\r\n\r\n")
    await writer.drain()


@pytest.mark.parametrize(
    "server", [_echo_status_line, _bad_header, _truncated, _bad_chunks, _reset, _garbage]
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_no_error_reaches_the_token(server: RawHandler, method: str) -> None:
    async with (
        serve_raw(server) as base_url,
        wa.WeglyClient(SECRET, base_url=base_url, max_retries=1) as client,
    ):
        with pytest.raises(wa.WeglyError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
    assert_no_secret(info.value)


async def test_a_server_echoing_the_token_is_redacted_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        auth = request.headers["Authorization"]
        body = {"message": f"token {auth} is not valid", "echo": [SECRET]}
        return web.json_response(body, status=401)

    caplog.set_level(logging.DEBUG, logger="wegly_async")
    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(SECRET, base_url=base_url) as client,
    ):
        with pytest.raises(wa.AuthenticationError) as info:
            await send(client)
    error = info.value
    assert "[REDACTED]" in error.message
    assert error.body == {"message": "token Bearer [REDACTED] is not valid", "echo": ["[REDACTED]"]}
    assert_no_secret(error)
    assert SECRET not in describe_error(error)  # what the CLI prints on stderr
    assert SECRET not in caplog.text


# --- a session the caller made -------------------------------------------------------------


async def test_a_raise_for_status_session_still_gets_the_sdk_errors() -> None:
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.method)
        if request.method == "GET":
            return web.json_response({"message": "no such chat"}, status=404)
        return web.json_response({"message": "slow down"}, status=429)

    async with (
        serve_app(_app(handler)) as base_url,
        aiohttp.ClientSession(raise_for_status=True) as session,
        wa.WeglyClient(TOKEN, base_url=base_url, session=session, max_retries=0) as client,
    ):
        with pytest.raises(wa.NotFoundError, match="no such chat"):
            await read_timeline(client)
        with pytest.raises(wa.RateLimitError, match="slow down"):
            await send(client)
    assert calls == ["GET", "POST"]


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """Return a server TLS context with a certificate no CA vouches for (made by openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_refused_certificate_is_never_retried(
    self_signed: ssl.SSLContext, sleeps: list[float], method: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(EMPTY_PAGE)

    runner = web.AppRunner(_app(handler))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed)
    await site.start()
    base_url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with wa.WeglyClient(TOKEN, base_url=base_url) as client:
            instant_retries(client, sleeps)
            with pytest.raises(wa.APIConnectionError, match="certificate was refused") as info:
                await (read_timeline(client) if method == "GET" else send(client))
    finally:
        await runner.cleanup()
    assert sleeps == []
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)


# --- multipart filenames -------------------------------------------------------------------


async def test_a_filename_with_a_quote_and_semicolon_is_percent_encoded_like_browsers() -> None:
    bodies: list[bytes] = []

    async def handler(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.json_response(SENT)

    async with (
        serve_app(_app(handler)) as base_url,
        wa.WeglyClient(TOKEN, base_url=base_url) as client,
    ):
        await client.chats.send_document(CHAT_ID, b"%PDF", filename='a"b;c.pdf')
    (body,) = bodies
    assert b'filename="a%22b;c.pdf"' in body
    assert b"\\" not in body.split(b"\r\n\r\n")[0]


async def test_the_emulator_round_trips_a_filename_with_a_quote(
    wegly_emulator: WeglyEmulator,
) -> None:
    chat = wegly_emulator.create_chat(events=1, seed=3)
    async with wegly_emulator.client() as client:
        await client.chats.send_document(chat, b"%PDF", filename='Q3 "final"; v2.pdf')
    (part,) = [r.parts["file"] for r in wegly_emulator.requests if "file" in r.parts]
    assert part.filename == 'Q3 "final"; v2.pdf'
    assert part.data == b"%PDF"


# --- a send that never left ----------------------------------------------------------------


async def test_sends_still_queued_for_a_connection_are_not_outcome_unknown() -> None:
    received: list[bytes] = []
    release = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        await release.wait()

    async with serve_raw(stall) as base_url:
        connector = aiohttp.TCPConnector(limit=2)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            wa.WeglyClient(
                TOKEN, base_url=base_url, session=session, timeout=0.5, max_retries=0
            ) as client,
        ):
            results = await asyncio.gather(
                *(send(client) for _ in range(8)), return_exceptions=True
            )
        release.set()
    unknown = [r for r in results if isinstance(r, wa.SendOutcomeUnknownError)]
    plain = [r for r in results if type(r) is wa.APITimeoutError]
    # Two connections at a time: a slot freed by a timed-out send may let one more through.
    assert 2 <= len(received) < 8
    assert len(unknown) <= len(received)
    assert len(unknown) + len(plain) == 8
    assert all("may or may not" not in str(r) for r in plain)


async def test_the_own_session_also_knows_a_send_never_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[bytes] = []
    release = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        await release.wait()

    original = aiohttp.ClientSession.__init__

    def small_pool(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("connector", aiohttp.TCPConnector(limit=3))
        original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", small_pool)
    async with serve_raw(stall) as base_url:
        async with wa.WeglyClient(TOKEN, base_url=base_url, timeout=0.5, max_retries=0) as client:
            results = await asyncio.gather(
                *(send(client) for _ in range(9)), return_exceptions=True
            )
        release.set()
    unknown = [r for r in results if isinstance(r, wa.SendOutcomeUnknownError)]
    assert 3 <= len(received) < 9
    assert len(unknown) <= len(received)
    assert all(isinstance(r, wa.APITimeoutError) for r in results)


# --- event loops ---------------------------------------------------------------------------


def _sent_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(SENT)

    return _app(handler)


def test_one_client_works_across_two_asyncio_runs() -> None:
    with app_in_thread(_sent_app()) as base_url:
        client = wa.WeglyClient(TOKEN, base_url=base_url)
        assert asyncio.run(send(client)).total == 1
        assert asyncio.run(send(client)).total == 1
        asyncio.run(client.close())
        gc.collect()


def test_a_session_from_a_closed_loop_raises_a_clear_runtime_error() -> None:
    with app_in_thread(_sent_app()) as base_url:

        async def first() -> tuple[wa.WeglyClient, aiohttp.ClientSession]:
            # No keep-alive: nothing is left open when this loop ends with the session.
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
            client = wa.WeglyClient(TOKEN, base_url=base_url, session=session)
            await send(client)
            return client, session

        client, session = asyncio.run(first())
        with pytest.raises(RuntimeError, match="another event loop"):
            asyncio.run(send(client))
        session.detach()
