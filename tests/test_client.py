"""WeglyClient: configuration from arguments and environment, secrets, headers, lifecycle.

What the client puts in a request is seen on a MockTransport (``router``); aioresponses
(``mock_api``) is kept for the aiohttp session the client uses and for aiohttp's exceptions.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from conftest import (
    API,
    BASE_URL,
    CHAT_ID,
    SEND_ROUTE,
    TIMELINE_ROUTE,
    TOKEN,
    Router,
    dropped_attempt,
    timed_out_attempt,
)
from yarl import URL

import wegly_async as wa
from wegly_async.testing import instant_retries

SEND_URL = f"{API}/chats/{CHAT_ID}/messages"
TIMELINE_PATH = f"/integrations/external/chats/{CHAT_ID}/timeline"
EMPTY_PAGE: dict[str, Any] = {"total": 0, "records": []}
SENT = {"total": 1, "records": [{"id": "6f1c0a52-3b8e-4f45-9d0e-2a7e5b1c9d10"}]}
# Nothing listens here, so a request fails fast with "connection refused" without any faking.
REFUSING_URL = "http://127.0.0.1:1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEGLY_TOKEN", "WEGLY_BASE_URL", "WEGLY_ORIGIN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def session_spy(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Record the session behind every request the SDK makes."""
    used: list[aiohttp.ClientSession] = []
    original = aiohttp.ClientSession.request

    def request(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        used.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "request", request)
    return used


def request_headers(router: Router) -> list[Any]:
    return [call.headers for call in router.requests]


def requested_urls(router: Router) -> list[URL]:
    return [URL(call.url).with_query(call.params) for call in router.requests]


def _exception_texts(exc: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "message", ""))
        current = current.__cause__ or current.__context__
    yield "".join(traceback.format_exception(exc))


def assert_no_token(exc: BaseException, token: str = TOKEN) -> None:
    for text in _exception_texts(exc):
        assert token not in text


# --- token ---------------------------------------------------------------------------------


async def test_token_from_argument_is_sent(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
    (headers,) = request_headers(router)
    assert headers["Authorization"] == f"Bearer {TOKEN}"


async def test_token_from_environment(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", "env-token-123")
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
    (headers,) = request_headers(router)
    assert headers["Authorization"] == "Bearer env-token-123"


async def test_token_argument_wins_over_environment(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", "env-token-123")
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(token=TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
    (headers,) = request_headers(router)
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_missing_token_raises_value_error() -> None:
    with pytest.raises(ValueError, match="token") as info:
        wa.WeglyClient(base_url=BASE_URL)
    assert "WEGLY_TOKEN" in str(info.value)


def test_empty_token_in_environment_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", "")
    with pytest.raises(ValueError, match="token"):
        wa.WeglyClient(base_url=BASE_URL)


@pytest.mark.parametrize("bad", ["secret token-with space", "secret\r\nX-Evil: 1", "sécret-tøken"])
def test_malformed_token_is_rejected_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError, match="token") as info:
        wa.WeglyClient(bad, base_url=BASE_URL)
    assert_no_token(info.value, bad)
    assert "secret" not in str(info.value).lower() and "sécret" not in str(info.value)


def test_malformed_token_from_environment_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", "my real token\n")
    with pytest.raises(ValueError, match="token") as info:
        wa.WeglyClient(base_url=BASE_URL)
    assert "my real token" not in str(info.value)


# --- base_url and origin -------------------------------------------------------------------


async def test_base_url_from_environment(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_BASE_URL", "https://env.wegly.test")
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(TOKEN, transport=router.transport) as client:
        assert client.base_url == "https://env.wegly.test"
        await client.chats.send_text(CHAT_ID, "hi")
    (url,) = requested_urls(router)
    assert url.host == "env.wegly.test"
    assert url.scheme == "https"


def test_base_url_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_BASE_URL", "https://env.wegly.test")
    client = wa.WeglyClient(TOKEN, base_url=BASE_URL)
    assert client.base_url == BASE_URL


def test_default_base_url() -> None:
    client = wa.WeglyClient(TOKEN)
    assert client.base_url == "https://api.wegly.com.br"


async def test_base_url_trailing_slash_does_not_double(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL + "/", transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
    assert requested_urls(router) == [URL(SEND_URL)]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://api.wegly.com.br",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://10.0.0.1",
        "http://[2001:db8::1]",
    ],
)
def test_plain_http_is_rejected_for_non_loopback_hosts(url: str) -> None:
    with pytest.raises(ValueError, match="https"):
        wa.WeglyClient(TOKEN, base_url=url)


def test_plain_http_from_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGLY_BASE_URL", "http://example.com")
    with pytest.raises(ValueError, match="https"):
        wa.WeglyClient(TOKEN)


@pytest.mark.parametrize("url", ["ftp://api.wegly.test", "api.wegly.test", "/relative", ""])
def test_non_http_base_url_is_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        wa.WeglyClient(TOKEN, base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1",
        "http://127.0.0.1:8080",
        "http://127.8.9.10:1234",
        "http://[::1]",
        "http://[::1]:9000",
        "http://localhost",
        "http://localhost:8000",
        "https://api.wegly.test",
    ],
)
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    client = wa.WeglyClient(TOKEN, base_url=url)
    assert client.base_url.rstrip("/") == url


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2pw@api.wegly.test",
        "https://user@api.wegly.test",
        "https://api.wegly.test?token=abc",
        "https://api.wegly.test/?x=1",
        "https://api.wegly.test#frag",
    ],
)
def test_credentials_query_or_fragment_in_base_url_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        wa.WeglyClient(TOKEN, base_url=url)
    assert "hunter2pw" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2pw@api.wegly.test:99999",
        "https://user:hunter2pw@api.wegly.test:port",
        "http://user:hunter2pw@example.com",
        "ftp://user:hunter2pw@api.wegly.test",
        "https://api.wegly.test/?key=hunter2pw",
    ],
)
def test_base_url_errors_never_echo_credentials(url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        wa.WeglyClient(TOKEN, base_url=url)
    for text in _exception_texts(info.value):
        assert "hunter2pw" not in text


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com\x00",
        "https://app.exa\tmple.com",
        "https://app.example.com\x7f",
        "https://app.example.com\x1b[31m",
        "https://bücher.example",
    ],
)
def test_origin_with_control_or_non_ascii_characters_is_rejected_up_front(origin: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, origin=origin)


async def test_origin_argument_is_sent_as_header(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(
        TOKEN, base_url=BASE_URL, origin="https://app.example.com", transport=router.transport
    ) as c:
        assert c.origin == "https://app.example.com"
        await c.chats.send_text(CHAT_ID, "hi")
    (headers,) = request_headers(router)
    assert headers["Origin"] == "https://app.example.com"


async def test_origin_from_environment_is_sent_as_header(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEGLY_ORIGIN", "https://crm.example.com")
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.timeline(CHAT_ID).to_list()
    (headers,) = request_headers(router)
    assert headers["Origin"] == "https://crm.example.com"


async def test_no_origin_header_without_origin(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        assert client.origin is None
        await client.chats.send_text(CHAT_ID, "hi")
    (headers,) = request_headers(router)
    assert "Origin" not in headers


# --- headers -------------------------------------------------------------------------------


async def test_standard_headers_on_every_request(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT)
    router.get(TIMELINE_ROUTE, json=EMPTY_PAGE)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
        await client.chats.timeline(CHAT_ID).to_list()
    all_headers = request_headers(router)
    assert len(all_headers) == 2
    for headers in all_headers:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["Accept"] == "application/json"
        user_agent = headers["User-Agent"]
        assert user_agent.startswith("wegly-async/")
        assert wa.__version__ in user_agent
        assert TOKEN not in user_agent


# --- the token stays secret ----------------------------------------------------------------


async def test_token_not_in_repr_or_str() -> None:
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, origin="https://app.example.com") as client:
        texts = [
            repr(client),
            str(client),
            repr(client.chats),
            str(client.chats),
            repr(client.chats.timeline(CHAT_ID)),
            repr(client.timeout),
            f"{client!r} {client!s}",
            # What a debugger or a structured logger shows for the object's attributes.
            repr(vars(client)),
        ]
        for text in texts:
            assert TOKEN not in text
        assert "api.wegly.test" in repr(client)


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 401, "json": {"message": "invalid token"}},
        {"status": 403, "json": {"message": "domain not allowed"}},
        {"status": 500, "content": "upstream failure"},
        {"status": 200, "content": "not json"},
    ],
    ids=["401", "403", "500", "invalid-200"],
)
async def test_token_not_in_any_status_error(router: Router, failure: dict[str, Any]) -> None:
    router.post(SEND_ROUTE, repeat=True, **failure)
    router.get(TIMELINE_ROUTE, repeat=True, **failure)
    async with router.client(max_retries=0) as client:
        with pytest.raises(wa.WeglyError) as send_info:
            await client.chats.send_text(CHAT_ID, "hi")
        with pytest.raises(wa.WeglyError) as read_info:
            await client.chats.timeline(CHAT_ID).to_list()
    assert_no_token(send_info.value)
    assert_no_token(read_info.value)


# aiohttp's own exceptions can hold the request, headers and all: the aiohttp transport
# must keep them out of the chain (MockTransport's TransportErrors: test_mock_transport.py).
@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": TimeoutError()},
        {"exception": aiohttp.ClientConnectionError("Connection refused")},
    ],
    ids=["disconnect", "timeout", "refused"],
)
async def test_token_not_in_any_connection_error(mock_api: Any, failure: dict[str, Any]) -> None:
    mock_api.post(SEND_URL, repeat=True, **failure)
    mock_api.get(
        f"{API}/chats/{CHAT_ID}/timeline?order=asc&skip=0&take=100", repeat=True, **failure
    )
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, max_retries=0) as client:
        with pytest.raises(wa.WeglyError) as send_info:
            await client.chats.send_text(CHAT_ID, "hi")
        with pytest.raises(wa.WeglyError) as read_info:
            await client.chats.timeline(CHAT_ID).to_list()
    assert_no_token(send_info.value)
    assert_no_token(read_info.value)


async def test_token_not_in_any_log_record(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get(TIMELINE_ROUTE, 503, json={"message": "busy"})
    router.get(TIMELINE_ROUTE, raises=dropped_attempt())
    router.get(TIMELINE_ROUTE, raises=timed_out_attempt())
    router.get(TIMELINE_ROUTE, 500, json={"message": "still failing"})
    router.post(SEND_ROUTE, raises=timed_out_attempt())
    async with router.client(origin="https://a.example") as client:
        instant_retries(client)
        with pytest.raises(wa.InternalServerError):
            await client.chats.timeline(CHAT_ID).to_list()
        with pytest.raises(wa.SendOutcomeUnknownError):
            await client.chats.send_text(CHAT_ID, "hi")
    # The retries above are logged; make sure the check below has something to look at.
    assert any(r.name.startswith("wegly_async") for r in caplog.records), "no SDK log records"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)
        assert TOKEN not in repr(record.__dict__)
    assert TOKEN not in caplog.text


# --- session ownership and lifecycle -------------------------------------------------------


async def test_caller_session_is_used_and_never_closed(
    mock_api: Any, session_spy: list[aiohttp.ClientSession]
) -> None:
    mock_api.post(SEND_URL, payload=SENT, repeat=True)
    async with aiohttp.ClientSession() as session:
        async with wa.WeglyClient(TOKEN, base_url=BASE_URL, session=session) as client:
            await client.chats.send_text(CHAT_ID, "one")
            await client.chats.send_text(CHAT_ID, "two")
        assert not session.closed
        await client.close()
        assert client.closed
        assert not session.closed
        assert session_spy == [session, session]
        # The caller can keep using its own session afterwards.
        async with session.post(SEND_URL, data=b"{}") as response:
            assert response.status == 200


async def test_own_session_is_closed(
    mock_api: Any, session_spy: list[aiohttp.ClientSession]
) -> None:
    mock_api.post(SEND_URL, payload=SENT, repeat=True)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL) as client:
        await client.chats.send_text(CHAT_ID, "one")
        await client.chats.send_text(CHAT_ID, "two")
        assert len(session_spy) == 2
        assert session_spy[0] is session_spy[1], "one session is reused for every request"
        assert not session_spy[0].closed
    assert session_spy[0].closed


async def test_close_without_async_with_is_idempotent(
    session_spy: list[aiohttp.ClientSession],
) -> None:
    client = wa.WeglyClient(TOKEN, base_url=REFUSING_URL, max_retries=0)
    with pytest.raises(wa.APIConnectionError):
        await client.chats.timeline(CHAT_ID).to_list()
    assert len(session_spy) == 1
    own = session_spy[0]
    assert not own.closed
    assert not client.closed
    await client.close()
    assert client.closed
    assert own.closed
    await client.close()  # again: no error
    assert client.closed


async def test_close_without_async_with_keeps_caller_session_open(
    session_spy: list[aiohttp.ClientSession],
) -> None:
    async with aiohttp.ClientSession() as session:
        client = wa.WeglyClient(TOKEN, base_url=REFUSING_URL, max_retries=0, session=session)
        with pytest.raises(wa.APIConnectionError):
            await client.chats.timeline(CHAT_ID).to_list()
        assert session_spy == [session]
        await client.close()
        await client.close()
        assert not session.closed


async def test_close_before_any_request() -> None:
    client = wa.WeglyClient(TOKEN, base_url=BASE_URL)
    await client.close()
    await client.close()
    assert client.closed


async def test_closed_client_raises_runtime_error() -> None:
    client = wa.WeglyClient(TOKEN, base_url=REFUSING_URL, max_retries=0)
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.chats.send_text(CHAT_ID, "hi")
    with pytest.raises(RuntimeError, match="closed"):
        await client.chats.send_image(CHAT_ID, b"png", filename="a.png")
    with pytest.raises(RuntimeError, match="closed"):
        await client.chats.timeline(CHAT_ID).to_list()


async def test_client_is_closed_after_async_with(router: Router) -> None:
    router.post(SEND_ROUTE, json=SENT, repeat=True)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=router.transport) as client:
        await client.chats.send_text(CHAT_ID, "hi")
    assert client.closed
    with pytest.raises(RuntimeError):
        await client.chats.send_text(CHAT_ID, "again")
    assert len(requested_urls(router)) == 1


async def test_closed_client_with_caller_session_raises_runtime_error() -> None:
    async with aiohttp.ClientSession() as session:
        client = wa.WeglyClient(TOKEN, base_url=REFUSING_URL, session=session)
        await client.close()
        with pytest.raises(RuntimeError):
            await client.chats.send_text(CHAT_ID, "hi")
        assert not session.closed


@pytest.mark.parametrize("bad", [object(), "session", 1])
def test_session_must_be_a_client_session(bad: Any) -> None:
    with pytest.raises(TypeError, match="session"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, session=bad)


def test_client_exposes_its_settings() -> None:
    client = wa.WeglyClient(TOKEN, base_url=BASE_URL, max_retries=5, timeout=12)
    assert client.max_retries == 5
    assert client.timeout.total == 12
    assert not client.closed


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"max_retries": -1}, ValueError),
        ({"max_retries": 1.5}, TypeError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "30"}, TypeError),
    ],
)
def test_bad_settings_raise(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, **kwargs)
