"""Shared fixtures: a router of canned answers on a MockTransport, and aioresponses.

Tests of the SDK's own logic (request building, parsing, retries, error mapping) answer
through ``router`` and ``mock_client``, which run on every aiohttp. aioresponses
(``mock_api``, marker ``mocked``) is kept for tests of the aiohttp transport itself.
"""

from __future__ import annotations

import inspect
import os
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import attrs
import pytest

import wegly_async as wa
from wegly_async.testing import MockResponse, MockTransport, instant_retries
from wegly_async.testing._redis import RedisUnavailableError, flush_redis, redis_server

TOKEN = "test-token-Zx9"
BASE_URL = "https://api.wegly.test"
CHAT_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
API = f"{BASE_URL}/integrations/external"
# Routes as a transport sees them (``TransportRequest.path``): relative to API.
SEND_ROUTE = f"/chats/{CHAT_ID}/messages"
TIMELINE_ROUTE = f"/chats/{CHAT_ID}/timeline"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that fake HTTP need an aiohttp that aioresponses supports; see noxfile.py.
    for item in items:
        if "mock_api" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mocked)


@pytest.fixture
def mock_api() -> Iterator[Any]:
    """Fake every aiohttp request with aioresponses (for tests of the aiohttp transport)."""
    from aioresponses import aioresponses

    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
def sleeps() -> list[float]:
    """Collect the retry delays of the clients a test's fixtures make, which then never sleep."""
    return []


def no_sleeping(client: wa.WeglyClient, request: pytest.FixtureRequest) -> wa.WeglyClient:
    """Make ``client`` record its retry delays in ``sleeps`` when the test asks for them."""
    if "sleeps" in request.fixturenames:
        instant_retries(client, request.getfixturevalue("sleeps"))
    return client


@pytest.fixture
async def client(mock_api: Any, request: pytest.FixtureRequest) -> AsyncIterator[wa.WeglyClient]:
    """Return a client on the aiohttp transport against the aioresponses-faked API."""
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL) as c:
        yield no_sleeping(c, request)


# --- MockTransport: a router of queued answers --------------------------------------------

Handler = Callable[[wa.TransportRequest], "MockResponse | Awaitable[MockResponse]"]
Answer = MockResponse | wa.TransportError | Handler


class Router:
    """Answer a ``MockTransport``'s requests from queues of answers by (method, path).

    Answers to a route are given in the order added, each once; one added with
    ``repeat=True`` answers every later request to its route. A request with no answer
    left fails the test (an ``AssertionError`` no SDK code catches). ``requests`` holds
    every request the transport saw, in order.
    """

    def __init__(self, prepare: Callable[[wa.WeglyClient], wa.WeglyClient] = lambda c: c) -> None:
        self.transport = MockTransport(self._answer)
        self._routes: dict[tuple[str, str], list[tuple[Answer, bool]]] = {}
        self._prepare = prepare
        self._clients: list[wa.WeglyClient] = []

    @property
    def requests(self) -> list[wa.TransportRequest]:
        return self.transport.requests

    def calls(self, method: str, path: str) -> list[wa.TransportRequest]:
        """Return the requests made to one route, in order."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        raises: wa.TransportError | None = None,
        handler: Handler | None = None,
        repeat: bool = False,
    ) -> None:
        """Queue an answer to ``method path``: a response, a failed attempt, or a handler."""
        answer: Answer
        if raises is not None:
            answer = raises
        elif handler is not None:
            answer = handler
        else:
            body = content.encode() if isinstance(content, str) else content
            answer = MockResponse(status, headers=headers, json=json, content=body)
        self._routes.setdefault((method, path), []).append((answer, repeat))

    def get(self, path: str, status: int = 200, **kwargs: Any) -> None:
        self.add("GET", path, status, **kwargs)

    def post(self, path: str, status: int = 200, **kwargs: Any) -> None:
        self.add("POST", path, status, **kwargs)

    async def _answer(self, request: wa.TransportRequest) -> MockResponse:
        queue = self._routes.get((request.method, request.path))
        if not queue:
            raise AssertionError(f"no answer left for {request.method} {request.path}")
        answer, repeat = queue[0]
        if not repeat:
            queue.pop(0)
        if isinstance(answer, wa.TransportError):
            raise answer
        if isinstance(answer, MockResponse):
            return answer
        result = answer(request)
        return await result if inspect.isawaitable(result) else result

    def client(self, **kwargs: Any) -> wa.WeglyClient:
        """Return a client on this router's transport (``TOKEN``, ``BASE_URL`` unless given)."""
        kwargs.setdefault("base_url", BASE_URL)
        client = wa.WeglyClient(kwargs.pop("token", TOKEN), transport=self.transport, **kwargs)
        self._clients.append(client)
        return self._prepare(client)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()


def refused_attempt() -> wa.TransportError:
    """Return the failure of an attempt that provably never left (connection refused)."""
    return wa.TransportError(
        "ClientConnectorError: Cannot connect to host api.wegly.test:443 ssl:default "
        "[Connection refused]",
        never_sent=True,
    )


def dropped_attempt() -> wa.TransportError:
    """Return the failure of an attempt whose connection broke after it may have been sent."""
    return wa.TransportError("ServerDisconnectedError: Server disconnected")


def timed_out_attempt(*, never_sent: bool = False) -> wa.TransportError:
    """Return a timed-out attempt: while connecting (``never_sent``) or after it may have left."""
    if never_sent:
        return wa.TransportError(
            "ConnectionTimeoutError: Connection timeout to host", never_sent=True, timed_out=True
        )
    return wa.TransportError("TimeoutError", timed_out=True)


@pytest.fixture
async def router(request: pytest.FixtureRequest) -> AsyncIterator[Router]:
    """Return a router of canned answers; its clients record retry delays in ``sleeps``."""
    r = Router(lambda c: no_sleeping(c, request))
    yield r
    await r.aclose()


@pytest.fixture
def mock_client(router: Router) -> wa.WeglyClient:
    """Return a client (``TOKEN``, ``BASE_URL``, default settings) answered by ``router``."""
    return router.client()


# --- multipart bodies ---------------------------------------------------------------------


@attrs.frozen
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@attrs.frozen
class Form:
    content_type: str
    parts: dict[str, Part]


def parse_multipart(content_type: str, body: bytes) -> Form:
    """Return the parts of a multipart/form-data body, checking its framing on the way."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    assert match, content_type
    delimiter = b"--" + match.group(1).encode()
    chunks = body.split(b"\r\n" + delimiter)
    assert chunks[0].startswith(delimiter + b"\r\n")
    chunks[0] = chunks[0][len(delimiter) :]
    assert chunks[-1].startswith(b"--"), "the form must end with the closing boundary"
    parts: dict[str, Part] = {}
    for chunk in chunks[:-1]:
        assert chunk.startswith(b"\r\n")
        raw_headers, _, data = chunk[2:].partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw_headers.decode().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers["content-disposition"]
        assert disposition.startswith("form-data")
        name = re.search(r';\s*name="([^"]*)"', disposition)
        filename = re.search(r';\s*filename="((?:[^"\\]|\\.)*)"', disposition)
        assert name, disposition
        assert name.group(1) not in parts, f"duplicate part {name.group(1)!r}"
        parts[name.group(1)] = Part(
            name=name.group(1),
            filename=filename.group(1) if filename else None,
            content_type=headers.get("content-type"),
            data=data,
        )
    return Form(content_type=content_type, parts=parts)


def form_of(request: wa.TransportRequest) -> Form:
    """Return the multipart form a MockTransport rendered for ``request``."""
    assert request.multipart is not None, "not a multipart request"
    assert request.content is not None
    return parse_multipart(request.headers["Content-Type"], request.content)


# --- secrets in errors --------------------------------------------------------------------


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc`` and every exception reachable through __cause__ and __context__."""
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += [e for e in getattr(current, "exceptions", ()) if isinstance(e, BaseException)]


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Yield every way ``exc`` and its chain can be shown: str, repr, args, attributes."""
    for link in exception_chain(exc):
        yield str(link)
        yield repr(link)
        yield repr(link.args)
        yield "".join(traceback.format_exception_only(link))
        for name, value in vars(link).items():
            yield f"{name}={value!r}"


def assert_secret_absent(exc: BaseException, secret: str) -> None:
    """Fail when ``secret`` shows in any text of ``exc`` or of an exception in its chain."""
    for text in exception_texts(exc):
        assert secret not in text, text


@pytest.fixture(scope="session")
def redis_session_url() -> Iterator[str]:
    """Run one throwaway redis-server for the session (CI sets WEGLY_REQUIRE_REDIS=1: no skip)."""
    try:
        server = redis_server()
        url = server.__enter__()
    except RedisUnavailableError as exc:
        if os.environ.get("WEGLY_REQUIRE_REDIS"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def redis_url(redis_session_url: str) -> str:
    """Give a test the session's redis-server with no keys left by an earlier test."""
    flush_redis(redis_session_url)
    return redis_session_url
