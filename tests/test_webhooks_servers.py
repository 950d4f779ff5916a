"""Webhook endpoints over real loopback sockets: the aiohttp app and handler, ASGI on uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import uvicorn
from aiohttp import web
from loopback import serve_app
from test_webhooks import LEAD, RECEIVED, SECRET, body_of, headers_for

import wegly_async as wa
from wegly_async.webhooks import WebhookRouter

START_TIMEOUT = 10.0

Serve = Callable[[WebhookRouter, str], contextlib.AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def serve_aiohttp(router: WebhookRouter, path: str) -> AsyncIterator[str]:
    """Serve ``router.aiohttp_app(path)`` on 127.0.0.1 and a free port; yield its URL."""
    async with serve_app(router.aiohttp_app(path)) as base_url:
        yield base_url + path


@contextlib.asynccontextmanager
async def serve_asgi(router: WebhookRouter, path: str) -> AsyncIterator[str]:
    """Serve ``router.asgi_app(path)`` with uvicorn on 127.0.0.1 and a free port."""
    config = uvicorn.Config(
        router.asgi_app(path), host="127.0.0.1", port=0, lifespan="on", log_level="warning"
    )
    async with _uvicorn(config) as base_url:
        yield base_url + path


@contextlib.asynccontextmanager
async def _uvicorn(config: uvicorn.Config) -> AsyncIterator[str]:
    """Serve ``config`` (on 127.0.0.1, a free port) and yield its base URL."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(START_TIMEOUT):
            await task


SERVERS = pytest.mark.parametrize("serve", [serve_aiohttp, serve_asgi], ids=["aiohttp", "asgi"])


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str]
) -> tuple[int, dict[str, Any], Any]:
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


def routed() -> tuple[WebhookRouter, list[str]]:
    router, seen = WebhookRouter(SECRET, max_body_bytes=4096), []

    @router.on("chat.*")
    async def chats(event: wa.WebhookEvent) -> None:
        seen.append(str(event.event_key))

    @router.on("lead.lost")
    async def fails(event: wa.WebhookEvent) -> None:
        raise RuntimeError("handler bug")

    return router, seen


@SERVERS
async def test_every_answer_code_over_loopback(serve: Serve, http: aiohttp.ClientSession) -> None:
    router, seen = routed()
    async with serve(router, "/hooks/wegly") as url:
        status, answer, _ = await post(http, url, RECEIVED, headers_for(RECEIVED))
        assert (status, answer["ok"]) == (200, True)
        assert seen == ["chat.message_received"]

        unsigned = {"content-type": "application/json"}
        assert (await post(http, url, RECEIVED, unsigned))[0] == 401
        wrong = headers_for(RECEIVED) | {"x-wegly-signature": "ab" * 32}
        assert (await post(http, url, RECEIVED, wrong))[0] == 401

        bad = b'{"event_key": ["x"]}'
        assert (await post(http, url, bad, headers_for(bad)))[0] == 400

        failing = body_of("lead.lost", {"lead": LEAD})
        status, answer, _ = await post(http, url, failing, headers_for(failing))
        assert (status, answer["ok"]) == (500, False)

        async with http.get(url) as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "POST"
        assert seen == ["chat.message_received"], "no refused delivery ran a handler"


@SERVERS
async def test_a_body_declared_over_the_limit_is_refused_unread(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    router, seen = routed()
    big = body_of("chat.message_sent", {"chat_id": None, "note": "x" * 10_000})
    async with serve(router, "/") as url:
        status, answer, _ = await post(http, url, big, headers_for(big))
        assert status == 413 and "4096" in answer["message"]
        # The endpoint still works afterwards.
        assert (await post(http, url, RECEIVED, headers_for(RECEIVED)))[0] == 200
    assert seen == ["chat.message_received"]


@SERVERS
async def test_concurrent_redeliveries_over_http_run_the_handler_once(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    router, runs = WebhookRouter(SECRET), []

    @router.on("*")
    async def slow(event: wa.WebhookEvent) -> None:
        runs.append(event.chat_id)
        await asyncio.sleep(0.02)

    async with serve(router, "/") as url:
        results = await asyncio.gather(
            *(post(http, url, RECEIVED, headers_for(RECEIVED)) for _ in range(10))
        )
    assert [status for status, _, _ in results] == [200] * 10
    assert sum(bool(answer.get("duplicate")) for _, answer, _ in results) == 9
    assert len(runs) == 1


@SERVERS
async def test_ack_before_answers_202_and_the_server_drains_the_queue_on_shutdown(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    router, done = WebhookRouter(SECRET, ack="before"), []

    @router.on("*")
    async def slow(event: wa.WebhookEvent) -> None:
        await asyncio.sleep(0.02)
        done.append(event.lead.title if event.lead else None)

    bodies = [body_of("lead.created", {"lead": {**LEAD, "title": f"t{n}"}}) for n in range(4)]
    async with serve(router, "/") as url:
        statuses = [(await post(http, url, body, headers_for(body)))[0] for body in bodies]
        assert statuses == [202] * 4
    # Stopping the server (aiohttp cleanup, ASGI lifespan shutdown) ran what was queued.
    assert sorted(done) == ["t0", "t1", "t2", "t3"]


async def test_the_aiohttp_handler_mounts_at_any_path_of_a_users_app(
    http: aiohttp.ClientSession,
) -> None:
    router, seen = routed()
    app = web.Application()
    app.router.add_post("/integrations/wegly", router.aiohttp_handler)
    try:
        async with serve_app(app) as base_url:
            url = base_url + "/integrations/wegly"
            assert (await post(http, url, RECEIVED, headers_for(RECEIVED)))[0] == 200
    finally:
        await router.aclose()
    assert seen == ["chat.message_received"]


async def test_the_asgi_app_answers_404_beside_its_path(http: aiohttp.ClientSession) -> None:
    router, seen = routed()
    async with serve_asgi(router, "/hooks") as url:
        status, answer, _ = await post(http, url + "/other", RECEIVED, headers_for(RECEIVED))
    assert status == 404 and "/hooks" in answer["message"]
    assert seen == []


async def test_the_asgi_app_serves_its_path_below_a_mount(http: aiohttp.ClientSession) -> None:
    fastapi = pytest.importorskip("fastapi")
    router, seen = routed()
    app = fastapi.FastAPI()
    app.mount("/integrations", router.asgi_app("/wegly"))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    async with _uvicorn(config) as base_url:
        url = base_url + "/integrations/wegly"
        assert (await post(http, url, RECEIVED, headers_for(RECEIVED)))[0] == 200
        status, _, _ = await post(
            http, base_url + "/integrationswegly", RECEIVED, headers_for(RECEIVED)
        )
        assert status == 404
    assert seen == ["chat.message_received"]


async def test_the_asgi_app_behind_a_proxy_root_path(http: aiohttp.ClientSession) -> None:
    # uvicorn --root-path: the proxy strips /proxy, uvicorn puts it back in scope["path"].
    router, seen = routed()
    config = uvicorn.Config(
        router.asgi_app("/hooks"), host="127.0.0.1", port=0, root_path="/proxy", log_level="warning"
    )
    async with _uvicorn(config) as base_url:
        assert (await post(http, base_url + "/hooks", RECEIVED, headers_for(RECEIVED)))[0] == 200
    assert seen == ["chat.message_received"]


@SERVERS
async def test_an_endless_body_is_not_read_to_its_end(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    # Up to 200 MiB offered in 1 KiB chunks, no Content-Length: the endpoint answers 413
    # once past its limit and stops reading, long before the sender runs out.
    router, seen = routed()
    offered = 200 * 1024
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(offered):
            sent += 1
            yield b"x" * 1024

    async with serve(router, "/") as url:
        # The endpoint answers 413 and closes while we are still sending: whether the
        # answer is read before the reset is a race of the sockets, so either is taken.
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(url, data=endless(), headers=headers_for(RECEIVED)) as resp:
                assert resp.status == 413
        assert (await post(http, url, RECEIVED, headers_for(RECEIVED)))[0] == 200
    # What proves it stopped reading: the sender was not let through to its end.
    assert sent < offered // 10, f"the endpoint read {sent} KiB of an endless body"
    assert seen == ["chat.message_received"]


@SERVERS
async def test_a_chunked_body_under_the_limit_is_handled(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    router, seen = routed()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(RECEIVED), 100):
            yield RECEIVED[start : start + 100]

    async with serve(router, "/") as url:
        status, _, _ = await post(http, url, chunks(), headers_for(RECEIVED))
    assert status == 200
    assert seen == ["chat.message_received"]


async def post_raw(url: str, length: int, pieces: list[bytes]) -> bytes:
    """POST a signed head declaring ``length`` bytes, then each piece in turn; return the answer."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
        f"x-wegly-signature: {headers_for(RECEIVED)['x-wegly-signature']}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode())
    for piece in pieces:
        await writer.drain()
        await asyncio.sleep(0.05)  # each piece in a segment of its own
        writer.write(piece)
    writer.write_eof()
    try:
        return await asyncio.wait_for(reader.read(), START_TIMEOUT)
    finally:
        writer.close()
        await writer.wait_closed()


@SERVERS
async def test_a_body_cut_short_of_its_content_length_runs_no_handler(serve: Serve) -> None:
    router, seen = routed()
    async with serve(router, "/") as url:
        answer = await post_raw(url, len(RECEIVED) + 10, [RECEIVED])
    assert not answer.startswith(b"HTTP/1.1 200")
    assert seen == []


async def test_a_body_sent_after_its_head_is_waited_for_and_handled() -> None:
    # Most deliveries arrive whole, head and body at once; this one's body comes later.
    router, seen = routed()
    async with serve_aiohttp(router, "/") as url:
        answer = await post_raw(url, len(RECEIVED), [RECEIVED[:100], RECEIVED[100:]])
    assert answer.startswith(b"HTTP/1.1 200")
    assert seen == ["chat.message_received"]
