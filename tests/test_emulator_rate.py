"""The emulator's rate limit: a token bucket, 429 with Retry-After, and the SDK paced by it."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest
from test_cli import launch_emulator, run_cli, stop

import wegly_async as wa
from wegly_async.testing import WeglyEmulator
from wegly_async.testing._rate_limit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_is_full_at_the_start_and_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [None, None, None]
    assert bucket.take() == pytest.approx(0.5)
    assert bucket.take() == pytest.approx(0.5), "a refused request is not charged"
    clock.now = 0.5
    assert bucket.take() is None
    clock.now = 100.0
    assert [bucket.take() for _ in range(4)][-1] is not None, "never more than the burst"


def test_the_bucket_holds_one_second_of_its_rate_unless_told() -> None:
    assert TokenBucket(50).burst == 50
    assert TokenBucket(0.5).burst == 1
    with pytest.raises(ValueError, match="rate_limit"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="rate_burst"):
        TokenBucket(5, burst=0)


def test_retry_after_is_whole_seconds_rounded_up_and_headers_are_optional() -> None:
    clock = Clock()
    bucket = TokenBucket(0.4, burst=1, headers=True, clock=clock)
    assert bucket.take() is None
    assert bucket.answer_headers(None) == {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "3",
    }
    wait = bucket.take()
    assert wait == pytest.approx(2.5)
    assert bucket.answer_headers(wait)["Retry-After"] == "3"
    assert TokenBucket(1000).answer_headers(0.001) == {"Retry-After": "1"}


@pytest.fixture
async def limited() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator(rate_limit=1, rate_burst=2) as emu:
        yield emu


async def test_requests_past_the_burst_get_a_429_with_a_message_and_retry_after(
    limited: WeglyEmulator,
) -> None:
    chat_id = limited.create_chat(events=3)
    url = f"{limited.base_url}/integrations/external/chats/{chat_id}/timeline"
    headers = {"Authorization": f"Bearer {limited.token}"}
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.get(url, headers=headers) as resp:
                statuses.append(resp.status)
                body = await resp.json()
                retry_after = resp.headers.get("Retry-After")
                limit_header = resp.headers.get("X-RateLimit-Limit")
    assert statuses == [200, 200, 429]
    assert body == {"message": "rate limit exceeded: 1 requests per second"}
    assert retry_after == "1"
    assert limit_header is None, "no X-RateLimit-* headers unless asked"


async def test_the_limit_can_change_mid_run_and_be_lifted(limited: WeglyEmulator) -> None:
    chat_id = limited.create_chat(events=3)
    async with limited.client() as client:
        client = client.with_options(max_retries=0)
        for _ in range(2):
            await client.chats.timeline(chat_id).to_list()
        with pytest.raises(wa.RateLimitError):
            await client.chats.timeline(chat_id).to_list()
        limited.set_rate_limit(None)
        for _ in range(5):
            await client.chats.timeline(chat_id).to_list()
    with pytest.raises(ValueError, match="rate_burst needs rate_limit"):
        limited.set_rate_limit(None, 3)


async def test_the_sdk_paces_itself_to_a_limited_emulator_and_loses_nothing() -> None:
    async with WeglyEmulator(rate_limit=20, rate_burst=5) as emu:
        chats = [emu.create_chat(events=30, seed=n) for n in range(6)]
        async with emu.client() as client:
            pages = await asyncio.gather(
                *(client.chats.timeline(chat, take=10).to_list() for chat in chats)
            )
            state = client.rate_limit_state
        refused = sum(1 for request in emu.requests if request.method == "GET") - 6 * 4
    assert [len(events) for events in pages] == [30] * 6
    # Every 429 the emulator sent was seen by the client's controller, and retried.
    assert state.throttled == refused > 0


def test_the_emulator_command_refuses_a_bad_rate_limit() -> None:
    result = run_cli("emulator", "--port", "0", "--rate-limit", "-3")
    assert result.returncode == 2
    assert "rate_limit" in result.stderr and "Traceback" not in result.stderr


async def test_the_emulator_command_serves_with_a_rate_limit() -> None:
    proc, text = await launch_emulator(
        "--port", "0", "--chats", "1", "--events", "5", "--rate-limit", "1", "--rate-burst", "1"
    )
    try:
        base_url = re.search(r"^export WEGLY_BASE_URL=(\S+)$", text, re.M)
        token = re.search(r"^export WEGLY_TOKEN=(\S+)$", text, re.M)
        chat = re.search(r"^chat (\S+) ", text, re.M)
        assert base_url and token and chat, text
        async with wa.WeglyClient(token.group(1), base_url=base_url.group(1)) as client:
            client = client.with_options(max_retries=0)
            await client.chats.timeline(chat.group(1)).to_list()
            with pytest.raises(wa.RateLimitError) as info:
                await client.chats.timeline(chat.group(1)).to_list()
        assert info.value.retry_after == 1.0
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 5)
    finally:
        await stop(proc)
