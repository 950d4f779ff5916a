"""MockTransport itself: what a handler sees, what it may answer, and how the client reads it.

The SDK's retry and error rules are driven here by ``TransportError`` flags alone, the
way any transport reports a failed attempt; test_transport.py checks which flags the
aiohttp transport raises for aiohttp's own exceptions.
"""

from __future__ import annotations

import asyncio
import io
import pathlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
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
    form_of,
    refused_attempt,
    timed_out_attempt,
)

import wegly_async as wa
from wegly_async._constants import ERROR_BODY_BYTES, MIN_MAX_RESPONSE_BYTES
from wegly_async.testing import MockResponse, MockTransport, instant_retries

SEND_URL = f"{API}{SEND_ROUTE}"
TIMELINE_URL = f"{API}{TIMELINE_ROUTE}"
EMPTY_PAGE: dict[str, Any] = {"total": 0, "records": []}
SENT = {"total": 1, "records": [{"id": "6f1c0a52-3b8e-4f45-9d0e-2a7e5b1c9d10"}]}
FILE_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300


def on(handler: Callable[[wa.TransportRequest], Any], **kwargs: Any) -> wa.WeglyClient:
    """Return a client whose every request ``handler`` answers (close it with async with)."""
    kwargs.setdefault("base_url", BASE_URL)
    return wa.WeglyClient(TOKEN, transport=MockTransport(handler), **kwargs)


async def send(client: wa.WeglyClient) -> wa.SendResult:
    return await client.chats.send_text(CHAT_ID, "hello")


async def read_timeline(client: wa.WeglyClient) -> list[wa.TimelineEvent]:
    return await client.chats.timeline(CHAT_ID).to_list()


# --- handlers: sync and async, and what they see --------------------------------------------


async def test_a_sync_handler_sees_the_request_as_a_transport_does() -> None:
    seen: list[wa.TransportRequest] = []

    def handler(request: wa.TransportRequest) -> MockResponse:
        seen.append(request)
        return MockResponse(200, json=EMPTY_PAGE)

    async with on(handler, origin="https://app.example.com", timeout=12.5) as client:
        assert await client.chats.timeline(CHAT_ID, search="pedido 42").to_list() == []
        recorded = client.transport.requests  # type: ignore[attr-defined]
    (request,) = seen
    assert recorded == [request]
    assert request.method == "GET"
    assert request.url == TIMELINE_URL  # no query: that is in params
    assert request.path == TIMELINE_ROUTE
    assert dict(request.params) == {
        "skip": "0",
        "take": "100",
        "order": "asc",
        "search": "pedido 42",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith(f"wegly-async/{wa.__version__} ")
    assert request.headers["Origin"] == "https://app.example.com"
    assert "Content-Type" not in request.headers
    assert request.content is None
    assert request.multipart is None
    assert request.json() is None
    assert request.timeout == wa.Timeout(total=12.5)
    assert request.max_response_bytes == client.max_response_bytes


async def test_an_async_handler_is_awaited() -> None:
    seen: list[str] = []

    async def handler(request: wa.TransportRequest) -> MockResponse:
        await asyncio.sleep(0)
        seen.append(request.method)
        return MockResponse(201, json=SENT)

    async with on(handler) as client:
        result = await send(client)
    assert result.total == 1
    assert result.records[0].id == SENT["records"][0]["id"]
    assert seen == ["POST"]


async def test_a_json_send_body_is_encoded_with_its_content_type() -> None:
    transport = MockTransport(lambda request: MockResponse(200, json=SENT))
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport) as client:
        await client.chats.send_text(CHAT_ID, "Olá", reply_to="wamid.1")
    (request,) = transport.requests
    assert (request.method, request.url, request.path) == ("POST", SEND_URL, SEND_ROUTE)
    assert dict(request.params) == {}
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"type": "text", "body": "Olá", "reference_wamid": "wamid.1"}
    assert isinstance(request.content, bytes)


# --- responses: JSON, bytes, headers ------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "content", "content_type"),
    [
        (
            MockResponse(200, json={"a": [1, "é"]}),
            orjson.dumps({"a": [1, "é"]}),
            "application/json",
        ),
        (MockResponse(200, content=b'{"a": 1}'), b'{"a": 1}', None),
        (MockResponse(200, content=b"\x00\xffraw"), b"\x00\xffraw", None),
        (MockResponse(204), b"", None),
        (
            MockResponse(200, json=[1], headers={"Content-Type": "application/problem+json"}),
            b"[1]",
            "application/problem+json",
        ),
    ],
    ids=["json", "json-bytes", "binary", "empty", "own-content-type"],
)
async def test_json_and_bytes_answers_reach_the_raw_response(
    answer: MockResponse, content: bytes, content_type: str | None
) -> None:
    async with on(lambda request: answer) as client:
        raw = await client.request("GET", "/anything")
    assert raw.status_code == answer.status_code
    assert raw.content == content
    assert raw.headers.get("Content-Type") == content_type
    assert raw.url == f"{API}/anything"


async def test_answer_headers_reach_results_and_errors_case_insensitively() -> None:
    answers = [
        MockResponse(200, json=SENT, headers={"X-Request-Id": "ok-1"}),
        MockResponse(429, json={"message": "slow"}, headers={"retry-after": "7", "X-Id": "e-2"}),
    ]

    async with on(lambda request: answers.pop(0), max_retries=0) as client:
        raw = await client.request("GET", "/anything")
        with pytest.raises(wa.RateLimitError) as info:
            await client.request("GET", "/anything")
    assert raw.headers["x-request-id"] == "ok-1"
    assert info.value.headers["x-id"] == "e-2"
    assert info.value.headers["Retry-After"] == "7"
    assert info.value.retry_after == 7.0


# --- multipart rendering --------------------------------------------------------------------


async def _chunks() -> AsyncIterator[bytes]:
    yield FILE_BYTES[:1000]
    yield FILE_BYTES[1000:]


def _path(tmp: pathlib.Path) -> pathlib.Path:
    path = tmp / "upload.bin"
    path.write_bytes(FILE_BYTES)
    return path


SOURCES: dict[str, Callable[[pathlib.Path], Any]] = {
    "bytes": lambda tmp: FILE_BYTES,
    "path": _path,
    "bytesio": lambda tmp: io.BytesIO(FILE_BYTES),
    "async-iterable": lambda tmp: _chunks(),
}


@pytest.mark.parametrize("source", list(SOURCES))
async def test_a_multipart_send_is_rendered_with_fields_filename_type_and_file(
    tmp_path: pathlib.Path, source: str
) -> None:
    transport = MockTransport(lambda request: MockResponse(200, json=SENT))
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport) as client:
        await client.chats.send_image(
            CHAT_ID,
            SOURCES[source](tmp_path),
            filename='Q3 "final".png',
            caption="Veja só",
            reply_to="wamid.R1",
        )
    (request,) = transport.requests
    # What the transport was given ...
    assert request.multipart is not None
    assert dict(request.multipart.fields) == {
        "type": "image",
        "body": "Veja só",
        "reference_wamid": "wamid.R1",
    }
    assert request.multipart.upload.filename == 'Q3 "final".png'
    assert request.multipart.upload.content_type == "image/png"
    # ... and the bytes MockTransport rendered from it.
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.json() is None
    form = form_of(request)
    assert set(form.parts) == {"type", "body", "reference_wamid", "file"}
    assert form.parts["type"].data == b"image"
    assert form.parts["body"].data == "Veja só".encode()
    assert form.parts["reference_wamid"].data == b"wamid.R1"
    for name in ("type", "body", "reference_wamid"):
        assert form.parts[name].filename is None
    assert form.parts["file"].filename == "Q3 %22final%22.png"  # as browsers and aiohttp send it
    assert form.parts["file"].content_type == "image/png"
    assert form.parts["file"].data == FILE_BYTES


async def test_extra_body_becomes_multipart_text_fields() -> None:
    transport = MockTransport(lambda request: MockResponse(200, json=SENT))
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport) as client:
        await client.chats.send_document(
            CHAT_ID, b"%PDF", filename="a.pdf", extra_body={"priority": 2, "tag": "x"}
        )
    (request,) = transport.requests
    assert request.multipart is not None
    assert dict(request.multipart.fields) == {"type": "document", "priority": "2", "tag": "x"}
    form = form_of(request)
    assert form.parts["priority"].data == b"2"
    assert form.parts["tag"].data == b"x"
    assert form.parts["file"].data == b"%PDF"


# --- TransportError -> the SDK's errors ---------------------------------------------------


async def test_a_never_sent_post_is_retried(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=refused_attempt())
    router.post(SEND_ROUTE, json=SENT)
    assert (await send(mock_client)).total == 1
    assert len(router.requests) == 2
    assert len(sleeps) == 1


async def test_a_post_never_sent_every_time_is_a_plain_connection_error(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=refused_attempt(), repeat=True)
    with pytest.raises(wa.APIConnectionError) as info:
        await send(mock_client)
    assert type(info.value) is wa.APIConnectionError
    assert "could not reach the server" in str(info.value)
    assert "Connection refused" in str(info.value)  # the transport's detail is kept
    assert "may or may not" not in str(info.value)
    assert len(router.requests) == 4
    assert len(sleeps) == 3


async def test_a_maybe_sent_post_is_outcome_unknown_and_never_retried(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=dropped_attempt(), repeat=True)
    with pytest.raises(wa.SendOutcomeUnknownError) as info:
        await send(mock_client)
    assert not isinstance(info.value, wa.APITimeoutError)
    assert "may or may not have been sent" in str(info.value)
    assert "ServerDisconnectedError" in str(info.value)
    assert (info.value.method, info.value.url) == ("POST", SEND_URL)
    assert len(router.requests) == 1
    assert sleeps == []


async def test_a_timed_out_post_is_outcome_unknown_and_a_timeout(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, raises=timed_out_attempt(), repeat=True)
    with pytest.raises(wa.SendOutcomeUnknownError) as info:
        await send(mock_client)
    assert isinstance(info.value, wa.APITimeoutError)
    assert "timed out" in str(info.value)
    assert len(router.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("failure", "cls"),
    [
        (refused_attempt, wa.APIConnectionError),
        (dropped_attempt, wa.APIConnectionError),
        (timed_out_attempt, wa.APITimeoutError),
    ],
    ids=["never-sent", "maybe-sent", "timed-out"],
)
async def test_a_read_is_retried_after_any_failed_attempt(
    router: Router,
    mock_client: wa.WeglyClient,
    sleeps: list[float],
    failure: Callable[[], wa.TransportError],
    cls: type[wa.APIConnectionError],
) -> None:
    router.get(TIMELINE_ROUTE, raises=failure())
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    assert await read_timeline(mock_client) == []
    assert len(sleeps) == 1

    router.get(TIMELINE_ROUTE, raises=failure(), repeat=True)
    with pytest.raises(cls) as info:
        await read_timeline(mock_client)
    assert type(info.value) is cls  # a read is never "outcome unknown"
    assert len(router.requests) == 2 + 4
    assert len(sleeps) == 1 + 3


@pytest.mark.parametrize("certificate", [True, False], ids=["certificate", "handshake"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_refused_tls_is_never_retried(
    router: Router, mock_client: wa.WeglyClient, sleeps: list[float], certificate: bool, method: str
) -> None:
    failure = wa.TransportError("SSLError: nope", tls_refused=True, certificate=certificate)
    router.add(
        method, TIMELINE_ROUTE if method == "GET" else SEND_ROUTE, raises=failure, repeat=True
    )
    with pytest.raises(wa.APIConnectionError) as info:
        await (read_timeline(mock_client) if method == "GET" else send(mock_client))
    assert type(info.value) is wa.APIConnectionError
    what = "certificate was refused" if certificate else "TLS handshake failed"
    assert what in str(info.value)
    assert len(router.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_async_handler_slower_than_the_timeout_times_out(
    sleeps: list[float], method: str
) -> None:
    async def handler(request: wa.TransportRequest) -> MockResponse:
        await asyncio.sleep(10)
        return MockResponse(200, json=SENT)

    started = time.monotonic()
    async with on(handler, timeout=0.05, max_retries=1) as client:
        instant_retries(client, sleeps)
        with pytest.raises(wa.APITimeoutError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
        requests = len(client.transport.requests)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5
    if method == "GET":
        assert not isinstance(info.value, wa.SendOutcomeUnknownError)
        assert (requests, len(sleeps)) == (2, 1)
    else:
        assert isinstance(info.value, wa.SendOutcomeUnknownError)
        assert (requests, sleeps) == (1, [])


async def test_a_per_call_timeout_reaches_the_handler() -> None:
    transport = MockTransport(lambda request: MockResponse(200, json=SENT))
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport, timeout=7.5) as c:
        await c.chats.timeline(CHAT_ID).to_list()
        await c.chats.send_text(CHAT_ID, "x", timeout=wa.Timeout(total=3, connect=1))
    assert [r.timeout for r in transport.requests] == [
        wa.Timeout(total=7.5),
        wa.Timeout(total=3, connect=1),
    ]


# --- size caps ------------------------------------------------------------------------------


async def test_a_success_answer_over_max_response_bytes_is_an_invalid_response() -> None:
    cap = MIN_MAX_RESPONSE_BYTES
    answers = [
        MockResponse(200, content=b" " * cap + b"[]"),
        MockResponse(200, content=b"[" + b" " * (cap - 2) + b"]"),
    ]

    async with on(lambda request: answers.pop(0), max_response_bytes=cap) as client:
        with pytest.raises(wa.InvalidResponseError, match="max_response_bytes") as info:
            await client.request("GET", "/anything")
        assert "accepted" not in str(info.value)
        assert info.value.body == b""  # the oversized body is not kept
        assert (await client.request("GET", "/anything")).json() == []  # exactly the cap: read


async def test_an_oversized_send_answer_says_it_was_accepted_and_is_not_retried(
    router: Router, sleeps: list[float]
) -> None:
    router.post(SEND_ROUTE, json={"total": 1, "records": [], "pad": "x" * 2048}, repeat=True)
    client = router.client(max_response_bytes=MIN_MAX_RESPONSE_BYTES)
    with pytest.raises(wa.InvalidResponseError, match="accepted") as info:
        await send(client)
    assert "do not send it again" in str(info.value)
    assert not isinstance(info.value, wa.SendOutcomeUnknownError)
    assert len(router.requests) == 1
    assert sleeps == []


async def test_an_error_body_is_capped_not_refused() -> None:
    huge = orjson.dumps({"message": "x" * (2 * ERROR_BODY_BYTES)})
    answers = [MockResponse(500, content=huge), MockResponse(500, json={"message": "short"})]

    async with on(lambda request: answers.pop(0), max_retries=0, max_response_bytes=1024) as c:
        with pytest.raises(wa.InternalServerError) as cut:
            await c.request("GET", "/anything")
        with pytest.raises(wa.InternalServerError) as whole:
            await c.request("GET", "/anything")
    assert isinstance(cut.value.body, str)  # cut short, so no longer JSON
    assert len(cut.value.body) == ERROR_BODY_BYTES
    assert cut.value.body == huge[:ERROR_BODY_BYTES].decode()
    assert len(str(cut.value)) < 1024
    assert whole.value.body == {"message": "short"}


# --- mistakes in a test's own fakes -------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [None, {"status": 200}, 200, b"{}", "ok"],
    ids=["none", "dict", "int", "bytes", "str"],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_handler_answering_anything_but_a_mock_response_is_a_type_error(
    answer: Any, kind: str
) -> None:
    def sync_handler(request: wa.TransportRequest) -> Any:
        return answer

    async def async_handler(request: wa.TransportRequest) -> Any:
        return answer

    handler: Callable[[wa.TransportRequest], Any] = (
        sync_handler if kind == "sync" else async_handler
    )
    async with on(handler) as client:
        with pytest.raises(TypeError, match="must return a MockResponse") as info:
            await client.request("GET", "/anything")
        assert len(client.transport.requests) == 1  # type: ignore[attr-defined]
    assert_secret_absent(info.value, TOKEN)


@pytest.mark.parametrize("handler", [None, "handler", MockResponse(200)], ids=repr)
def test_mock_transport_needs_a_callable(handler: Any) -> None:
    with pytest.raises(TypeError, match="callable"):
        MockTransport(handler)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"status_code": True}, TypeError),
        ({"status_code": "200"}, TypeError),
        ({"status_code": 99}, ValueError),
        ({"status_code": 600}, ValueError),
        ({"status_code": 200, "content": b"x", "json": {}}, TypeError),
    ],
)
def test_mock_response_checks_its_arguments(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        MockResponse(**kwargs)


def test_mock_response_refuses_text_content() -> None:
    with pytest.raises(TypeError, match=r"content must be bytes, got str \(encode text first"):
        MockResponse(200, content="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content must be bytes, got dict"):
        MockResponse(200, content={"a": 1})  # type: ignore[arg-type]
    assert MockResponse(200, content=bytearray(b"ok")).content == b"ok"


def test_instant_retries_checks_its_arguments() -> None:
    client = on(lambda request: MockResponse(200))
    with pytest.raises(TypeError, match="WeglyClient"):
        instant_retries(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list"):
        instant_retries(client, ())  # type: ignore[arg-type]
    delays: list[float] = []
    assert instant_retries(client, delays) is delays


# --- the token ------------------------------------------------------------------------------


async def test_the_token_is_in_the_headers_but_never_in_a_repr() -> None:
    transport = MockTransport(lambda request: MockResponse(200, json=SENT))
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
        await client.chats.send_image(CHAT_ID, b"png", filename="a.png")
    assert len(transport.requests) == 2
    for request in transport.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in repr(request)
        assert TOKEN not in str(request)
    assert TOKEN not in repr(transport.requests)
    assert TOKEN not in repr(transport)


def _failures() -> dict[str, Callable[[str], wa.TransportError]]:
    return {
        "never-sent": lambda secret: wa.TransportError(f"refused {secret}", never_sent=True),
        "maybe-sent": lambda secret: wa.TransportError(f"reset by {secret}"),
        "timed-out": lambda secret: wa.TransportError(f"late {secret}", timed_out=True),
        "tls": lambda secret: wa.TransportError(f"bad cert {secret}", tls_refused=True),
    }


@pytest.mark.parametrize("failure", list(_failures()))
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_transport_error_quoting_the_token_is_redacted_from_the_chain(
    failure: str, method: str
) -> None:
    def handler(request: wa.TransportRequest) -> MockResponse:
        raise _failures()[failure](request.headers["Authorization"])

    async with on(handler, max_retries=1) as client:
        instant_retries(client)
        with pytest.raises(wa.APIConnectionError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
    assert "[REDACTED]" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert_secret_absent(info.value, TOKEN)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_error_answer_quoting_the_token_is_redacted_from_the_chain(method: str) -> None:
    def handler(request: wa.TransportRequest) -> MockResponse:
        auth = request.headers["Authorization"]
        return MockResponse(401, json={"message": f"token {auth} is not valid", "echo": [TOKEN]})

    async with on(handler) as client:
        with pytest.raises(wa.AuthenticationError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
    assert info.value.body == {
        "message": "token Bearer [REDACTED] is not valid",
        "echo": ["[REDACTED]"],
    }
    assert_secret_absent(info.value, TOKEN)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_error_headers_quoting_the_token_are_redacted(method: str) -> None:
    # A debugging proxy, say, echoed the request's Authorization in its answer's headers.
    def handler(request: wa.TransportRequest) -> MockResponse:
        auth = request.headers["Authorization"]
        headers = {"X-Echo-Authorization": auth, f"X-{TOKEN}": "1", "X-Request-Id": "r-1"}
        return MockResponse(403, json={"message": "no"}, headers=headers)

    async with on(handler) as client:
        with pytest.raises(wa.PermissionDeniedError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
    headers = info.value.headers
    assert headers["x-echo-authorization"] == "Bearer [REDACTED]"
    assert headers["X-[REDACTED]"] == "1"
    assert headers["X-Request-Id"] == "r-1"
    assert_secret_absent(info.value, TOKEN)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_success_answer_quoting_the_token_is_redacted_from_the_chain(method: str) -> None:
    # A proxy's debug page, say, answered with 200 and the request's headers in it.
    def handler(request: wa.TransportRequest) -> MockResponse:
        return MockResponse(200, content=f"<pre>{request.headers['Authorization']}</pre>".encode())

    async with on(handler) as client:
        with pytest.raises(wa.InvalidResponseError) as info:
            await (read_timeline(client) if method == "GET" else send(client))
    assert info.value.body == b"<pre>Bearer [REDACTED]</pre>"
    assert "[REDACTED]" in str(info.value)
    # The parser's error keeps the whole body: it is left out of the chain.
    assert info.value.__cause__ is None
    assert_secret_absent(info.value, TOKEN)


async def test_a_record_quoting_the_token_in_an_off_type_field_is_redacted_from_the_chain() -> None:
    record = {"id": "e1", "event_type": "MESSAGE", "event_at": "2026-01-01T00:00:00Z"}
    record["message"] = {"id": "m1", "from_me": TOKEN, "text": f"Bearer {TOKEN}"}

    answer = MockResponse(200, json={"total": 1, "records": [record]})
    async with on(lambda request: answer) as client:
        with pytest.raises(wa.InvalidResponseError, match=r"records\[0\]\.message\.from_me") as e:
            await read_timeline(client)
    assert b"[REDACTED]" in e.value.body
    assert_secret_absent(e.value, TOKEN)


async def test_a_body_without_the_token_keeps_the_parsers_error_as_the_cause() -> None:
    async with on(lambda request: MockResponse(200, content=b"<html>busy</html>")) as client:
        with pytest.raises(wa.InvalidResponseError) as info:
            await read_timeline(client)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.body == b"<html>busy</html>"
