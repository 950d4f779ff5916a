"""Per-call options, with_options, raw responses and client.request, through MockTransport."""

from __future__ import annotations

import gc
import io
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from loopback import serve_app

import wegly_async as wa
from wegly_async.testing import MockResponse, MockTransport, instant_retries

TOKEN = "pipeline-token-Qw7"
BASE_URL = "https://api.wegly.test"
CHAT_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
MESSAGE = {
    "id": "m-1",
    "type": "TEXT",
    "body": "hi",
    "from_me": True,
    "status": "SENT",
    "created_at": "2026-01-01T00:00:00Z",
}
SENT = {"total": 1, "records": [MESSAGE]}
PAGE = {
    "total": 1,
    "records": [{"id": "e-1", "event_type": "NOTE", "event_at": "2026-01-01T00:00:00Z"}],
}


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., tuple[wa.WeglyClient, MockTransport]]]:
    clients: list[wa.WeglyClient] = []

    def factory(
        handler: Callable[[wa.TransportRequest], Any] | None = None, **kwargs: Any
    ) -> tuple[wa.WeglyClient, MockTransport]:
        transport = MockTransport(handler or (lambda request: MockResponse(json=SENT)))
        client = wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport, **kwargs)
        clients.append(client)
        return client, transport

    yield factory
    for client in clients:
        await client.close()


# --- per-call options -------------------------------------------------------------------------


async def test_extra_headers_query_and_body_reach_the_request(make: Any) -> None:
    client, transport = make()
    result = await client.chats.send_text(
        CHAT_ID,
        "hi",
        extra_headers={"X-Trace": "abc"},
        extra_query={"dry_run": 1},
        extra_body={"channel": "web", "body": "overridden"},
    )
    assert result.records[0].id == "m-1"
    (request,) = transport.requests
    assert request.headers["X-Trace"] == "abc"
    assert request.params == {"dry_run": "1"}
    assert request.json() == {"type": "text", "body": "overridden", "channel": "web"}
    assert request.path == f"/chats/{CHAT_ID}/messages"


async def test_extra_body_on_an_upload_becomes_text_parts(make: Any) -> None:
    client, transport = make()
    await client.chats.send_document(
        CHAT_ID, b"%PDF-1", filename="a.pdf", extra_body={"note": "x", "count": 2}
    )
    (request,) = transport.requests
    assert request.multipart is not None
    assert dict(request.multipart.fields) == {"type": "document", "note": "x", "count": "2"}
    assert b'name="note"\r\n\r\nx\r\n' in request.content
    assert b"%PDF-1" in request.content


async def test_timeline_options_apply_to_every_page_request(make: Any) -> None:
    pages = [
        {
            "total": 3,
            "records": [
                {"id": f"e-{n}", "event_type": "NOTE", "event_at": "2026-01-01T00:00:00Z"}
                for n in range(2)
            ],
        },
        {
            "total": 3,
            "records": [
                {"id": f"e-{n}", "event_type": "NOTE", "event_at": "2026-01-01T00:00:00Z"}
                for n in range(1, 3)
            ],
        },
    ]

    def handler(request: wa.TransportRequest) -> MockResponse:
        index = 0 if request.params["skip"] == "0" else 1
        return MockResponse(
            json=pages[index] if int(request.params["skip"]) < 3 else {"total": 3, "records": []}
        )

    client, transport = make(handler)
    ids = [
        r["id"]
        async for r in client.chats.timeline(
            CHAT_ID, take=2, prefetch=1, extra_headers={"X-Export": "1"}, timeout=3.0
        ).raw()
    ]
    assert ids == ["e-0", "e-1", "e-2"]
    assert len(transport.requests) >= 2
    for request in transport.requests:
        assert request.headers["X-Export"] == "1"
        assert request.timeout == wa.Timeout(total=3.0)


async def test_a_per_call_timeout_and_max_retries_replace_the_clients(make: Any) -> None:
    calls = 0

    def handler(request: wa.TransportRequest) -> MockResponse:
        nonlocal calls
        calls += 1
        return MockResponse(503, json={"message": "busy"})

    client, transport = make(handler, max_retries=3)
    delays = instant_retries(client)
    with pytest.raises(wa.InternalServerError, match="busy"):
        await client.chats.timeline(
            CHAT_ID, max_retries=1, timeout=wa.Timeout(total=2.0, connect=1.0)
        ).to_list()
    assert calls == 2
    assert len(delays) == 1
    assert transport.requests[0].timeout == wa.Timeout(total=2.0, connect=1.0)
    calls = 0
    with pytest.raises(wa.InternalServerError):
        await client.chats.timeline(CHAT_ID).to_list()
    assert calls == 4


async def test_timeout_none_per_call_means_no_limit(make: Any) -> None:
    client, transport = make(timeout=5.0)
    await client.chats.send_text(CHAT_ID, "hi", timeout=None)
    assert transport.requests[0].timeout == wa.Timeout(total=None)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"extra_headers": {"Authorization": "Bearer x"}}, ValueError, "must not set"),
        ({"extra_headers": {"X-A": "b\r\nX-Evil: 1"}}, ValueError, "line break"),
        ({"extra_headers": {"X-A": 1}}, TypeError, "str values"),
        ({"extra_headers": ["X-A"]}, TypeError, "mapping"),
        ({"extra_query": {"a": True}}, TypeError, "str or int"),
        ({"extra_body": "x"}, TypeError, "mapping"),
        ({"timeout": "5"}, TypeError, "seconds"),
        ({"timeout": -1}, ValueError, "> 0"),
        ({"max_retries": -1}, ValueError, ">= 0"),
        ({"retries": 2}, TypeError, "unexpected keyword argument 'retries'"),
    ],
)
async def test_bad_options_raise_before_any_request(
    make: Any, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    client, transport = make()
    with pytest.raises(error, match=match):
        await client.chats.send_text(CHAT_ID, "hi", **options)
    with pytest.raises(error, match=match):
        client.chats.timeline(CHAT_ID, **options)
    with pytest.raises(error, match=match):
        await client.request("GET", "/chats/unread", **options)
    assert transport.requests == []


# --- with_options -----------------------------------------------------------------------------


async def test_with_options_changes_settings_and_shares_the_transport(make: Any) -> None:
    client, transport = make(timeout=30.0, max_retries=3)
    fast = client.with_options(timeout=2.0, max_retries=0, origin="https://app.example.com")
    assert fast.transport is client.transport
    assert (fast.timeout, fast.max_retries, fast.origin) == (
        wa.Timeout(total=2.0),
        0,
        "https://app.example.com",
    )
    assert (client.timeout, client.max_retries, client.origin) == (wa.Timeout(total=30.0), 3, None)
    assert fast.with_options().timeout == wa.Timeout(total=2.0)
    assert client.with_options(timeout=None).timeout == wa.Timeout(total=None)
    assert client.with_options(max_retry_after=5.0).max_retry_after == 5.0
    await fast.chats.send_text(CHAT_ID, "hi")
    (request,) = transport.requests
    assert request.headers["Origin"] == "https://app.example.com"
    assert request.timeout == wa.Timeout(total=2.0)


async def test_with_options_checks_its_arguments(make: Any) -> None:
    client, _ = make()
    with pytest.raises(ValueError, match="max_retries"):
        client.with_options(max_retries=-1)
    with pytest.raises(TypeError, match="timeout"):
        client.with_options(timeout="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="origin"):
        client.with_options(origin="not a url")


async def test_closing_a_derived_client_leaves_the_shared_session_open() -> None:
    async def timeline(request: web.Request) -> web.Response:
        return web.json_response(PAGE)

    app = web.Application()
    app.router.add_get(f"/integrations/external/chats/{CHAT_ID}/timeline", timeline)
    async with serve_app(app) as base_url:
        client = wa.WeglyClient(TOKEN, base_url=base_url)
        await client.chats.timeline(CHAT_ID).to_list()
        transport = client.transport
        assert isinstance(transport, wa.AiohttpTransport)
        session = transport.session
        assert session is not None
        derived = client.with_options(timeout=5.0)
        await derived.chats.timeline(CHAT_ID).to_list()
        assert derived.transport is transport
        assert transport.session is session  # one session, one connector, one pool
        await derived.close()
        assert derived.closed
        assert not session.closed
        with pytest.raises(RuntimeError, match="closed"):
            await derived.chats.timeline(CHAT_ID).to_list()
        assert len(await client.chats.timeline(CHAT_ID).to_list()) == 1
        await client.close()
        assert session.closed


async def test_ten_thousand_with_options_open_no_connection_and_keep_memory_flat() -> None:
    peers: list[object] = []

    async def timeline(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response(PAGE)

    app = web.Application()
    app.router.add_get(f"/integrations/external/chats/{CHAT_ID}/timeline", timeline)
    async with serve_app(app) as base_url, wa.WeglyClient(TOKEN, base_url=base_url) as client:
        await client.chats.timeline(CHAT_ID).to_list()
        transport = client.transport
        assert isinstance(transport, wa.AiohttpTransport)
        session = transport.session
        assert session is not None
        connector = session.connector
        for _ in range(200):
            client.with_options(timeout=1.0)
        gc.collect()
        tracemalloc.start()
        start, _ = tracemalloc.get_traced_memory()
        for n in range(10_000):
            derived = client.with_options(timeout=1.0 + n % 7, max_retries=n % 3)
            assert derived.transport is transport
        del derived
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # 10,000 clients kept would hold megabytes; what stays is allocator noise.
        assert end - start < 64 * 1024, end - start
        for n in range(3):
            await client.with_options(max_retries=n).chats.timeline(CHAT_ID).to_list()
        assert transport.session is session
        assert session.connector is connector
    # Every request, the derived clients' included, went over the first connection.
    assert len(peers) == 4
    assert len(set(peers)) == 1


# --- raw responses ----------------------------------------------------------------------------


async def test_every_chat_method_has_a_raw_response_twin(make: Any) -> None:
    client, transport = make(
        lambda request: MockResponse(200, headers={"X-Request-Id": "r-9"}, json=SENT)
    )
    raw_chats = client.chats.with_raw_response
    calls = [
        raw_chats.send_text(CHAT_ID, "hi"),
        raw_chats.send_reaction(CHAT_ID, "👍", reference_wamid="wamid.1"),
        raw_chats.send_template(CHAT_ID, name="welcome", language="pt_BR"),
        raw_chats.send_image(CHAT_ID, b"\x89PNG", filename="a.png"),
        raw_chats.send_video(CHAT_ID, b"v", filename="a.mp4"),
        raw_chats.send_audio(CHAT_ID, b"a", filename="a.ogg"),
        raw_chats.send_document(CHAT_ID, io.BytesIO(b"%PDF"), filename="a.pdf"),
    ]
    public = {name for name in dir(client.chats) if name.startswith("send_")}
    assert public == {name for name in vars(raw_chats) if name.startswith("send_")}
    for call in calls:
        raw = await call
        assert isinstance(raw, wa.RawResponse)
        assert raw.status_code == 200
        assert raw.headers["x-request-id"] == "r-9"
        assert orjson.loads(raw.content) == SENT
        parsed = raw.parse()
        assert isinstance(parsed, wa.SendResult)
        assert parsed.records[0].id == "m-1"
    assert len(transport.requests) == 7
    # Outside the raw twin, the same client parses as usual.
    assert isinstance(await client.chats.send_text(CHAT_ID, "hi"), wa.SendResult)


async def test_a_raw_response_that_does_not_parse_raises_on_parse_only(make: Any) -> None:
    client, _ = make(lambda request: MockResponse(content=b"not json"))
    raw = await client.chats.with_raw_response.send_text(CHAT_ID, "hi")
    assert raw.content == b"not json"
    with pytest.raises(wa.InvalidResponseError, match="not JSON"):
        raw.parse()


async def test_a_raw_response_still_raises_typed_errors_for_error_statuses(make: Any) -> None:
    client, _ = make(lambda request: MockResponse(404, json={"message": "no such chat"}))
    with pytest.raises(wa.NotFoundError, match="no such chat"):
        await client.chats.with_raw_response.send_text(CHAT_ID, "hi")


# --- client.request ---------------------------------------------------------------------------


async def test_request_reaches_an_unknown_route_with_auth(make: Any) -> None:
    client, transport = make(lambda request: MockResponse(json={"unread_messages_total": 3}))
    raw = await client.request(
        "GET", "/chats/unread-summary", params={"a": 1}, extra_headers={"X-B": "c"}
    )
    assert raw.parse() == {"unread_messages_total": 3}
    assert raw.json() == {"unread_messages_total": 3}
    (request,) = transport.requests
    assert request.url == f"{BASE_URL}/integrations/external/chats/unread-summary"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.params == {"a": "1"}
    assert request.headers["X-B"] == "c"


async def test_request_retries_a_get_but_never_duplicates_a_post(make: Any) -> None:
    def handler(request: wa.TransportRequest) -> MockResponse:
        raise wa.TransportError("ServerDisconnectedError: gone")

    client, transport = make(handler, max_retries=2)
    instant_retries(client)
    with pytest.raises(wa.APIConnectionError):
        await client.request("GET", "/chats/unread-summary")
    assert len(transport.requests) == 3
    transport.requests.clear()
    with pytest.raises(wa.SendOutcomeUnknownError):
        await client.request("post", "/chats", json={"template": "x"})
    assert len(transport.requests) == 1
    assert transport.requests[0].method == "POST"
    assert transport.requests[0].json() == {"template": "x"}


async def test_request_raises_the_typed_error_of_a_status(make: Any) -> None:
    client, _ = make(lambda request: MockResponse(422, json={"message": ["title is required"]}))
    with pytest.raises(wa.UnprocessableEntityError, match="title is required") as info:
        await client.request("POST", "/leads", json={})
    assert info.value.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "chats", ValueError),
        ("GET", "/chats?x=1", ValueError),
        ("GET", "/chats/../admin", ValueError),
        ("GET", "//evil.example/x", ValueError),
        ("GET", "/chats/a b", ValueError),
        ("GET", "/chats/\r\nX: 1", ValueError),
        ("TRACE", "/chats", ValueError),
        (1, "/chats", TypeError),
        ("GET", b"/chats", TypeError),
    ],
)
async def test_request_refuses_bad_methods_and_paths_before_any_request(
    make: Any, method: Any, path: Any, error: type[Exception]
) -> None:
    client, transport = make()
    with pytest.raises(error):
        await client.request(method, path)
    assert transport.requests == []


# --- the transport argument -------------------------------------------------------------------


async def test_transport_and_session_are_checked() -> None:
    with pytest.raises(TypeError, match="AsyncTransport"):
        wa.WeglyClient(TOKEN, transport=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        wa.WeglyClient(TOKEN, transport=MockTransport(lambda r: MockResponse()), session=object())  # type: ignore[arg-type]


async def test_closing_a_client_with_a_given_transport_closes_that_transport() -> None:
    closed: list[bool] = []

    class Recording(MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    transport = Recording(lambda r: MockResponse(json=SENT))
    client = wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport)
    derived = client.with_options(max_retries=0)
    await derived.close()
    assert closed == []
    await client.close()
    await client.close()
    assert closed == [True]
    with pytest.raises(RuntimeError, match="closed"):
        await client.chats.send_text(CHAT_ID, "hi")


async def test_the_token_never_shows_in_a_transport_request_repr(make: Any) -> None:
    client, transport = make()
    await client.chats.send_text(CHAT_ID, "hi")
    (request,) = transport.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(request)
    assert TOKEN not in repr(client.transport)
    assert TOKEN not in repr(vars(client))
