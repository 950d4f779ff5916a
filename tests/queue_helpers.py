"""Helpers shared by the queue tests: bounded waits on job states, and every byte Redis holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from wegly_async.queue import ChatJobStatus, export_status

pytest.importorskip("saq", reason="the queue tests need the 'queue' extra")
redis = pytest.importorskip("redis")


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float, what: str, poll: float = 0.05
) -> None:
    """Return once ``condition()`` holds; fail (saying ``what``) if it has not within the time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached within {within}s")
        await asyncio.sleep(poll)


async def status_of(url: str, chat_id: str) -> ChatJobStatus | None:
    """Return the one job status for ``chat_id``, or None if the queue has none."""
    found = [status for status in await export_status(url) if status.chat_id == chat_id]
    assert len(found) <= 1, found
    return found[0] if found else None


async def wait_for_state(
    url: str,
    chat_id: str,
    test: Callable[[ChatJobStatus], bool],
    *,
    within: float,
    what: str,
) -> ChatJobStatus:
    """Wait (bounded) until the chat's job status passes ``test``; return that status."""
    seen: list[ChatJobStatus] = []

    async def reached() -> bool:
        status = await status_of(url, chat_id)
        if status is not None:
            seen[:] = [status]
        return status is not None and test(status)

    try:
        await wait_until(reached, within=within, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen}") from None
    return seen[0]


def redis_contents(url: str) -> bytes:
    """Return every key and every value the Redis at ``url`` holds, whatever their type."""
    client = redis.Redis.from_url(url)
    try:
        blobs: list[bytes] = []
        for key in client.scan_iter(count=1000):
            blobs.append(key)
            kind = client.type(key)
            if kind == b"string":
                blobs.append(client.get(key))
            elif kind == b"list":
                blobs += client.lrange(key, 0, -1)
            elif kind == b"zset":
                blobs += client.zrange(key, 0, -1)
            elif kind == b"set":
                blobs += client.smembers(key)
            elif kind == b"hash":
                for field, value in client.hgetall(key).items():
                    blobs += [field, value]
            else:
                raise AssertionError(f"a Redis key of a type this scan does not read: {kind!r}")
        return b"\n".join(blobs)
    finally:
        client.close()
