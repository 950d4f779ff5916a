"""The rate controller on a fake clock: pauses, the pace, AIMD, rate-limit headers, the client."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import attrs
import pytest
from conftest import BASE_URL, TOKEN

import wegly_async as wa
from wegly_async._rate import RateController
from wegly_async.testing import MockResponse, MockTransport, WeglyEmulator

CHAT_ID = "0b7e4f7c-4b8f-4b0e-9f5e-2f6c1d9a8b7c"
SENT = {"total": 1, "records": [{"id": "m1", "type": "text", "status": "processing"}]}


class FakeClock:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def controller(limit: wa.RateLimit | None = None) -> tuple[RateController, FakeClock]:
    clock = FakeClock()
    rate = RateController(limit, clock=clock)
    rate.sleep = clock.sleep
    return rate, clock


async def times_of(rate: RateController, clock: FakeClock, count: int) -> list[float]:
    """Acquire ``count`` times in a row and return when each was let through."""
    out = []
    for _ in range(count):
        if not rate.ready():
            await rate.acquire()
        out.append(round(clock.now - 100.0, 6))
    return out


# --- RateLimit ----------------------------------------------------------------------------------


def test_rate_limit_checks_its_values() -> None:
    assert wa.RateLimit(50).allowance == 25  # half a second's worth
    assert wa.RateLimit(7).allowance == 4
    assert wa.RateLimit(0.5).allowance == 1
    assert wa.RateLimit(10, burst=3).allowance == 3
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="per_second"):
            wa.RateLimit(bad)
    with pytest.raises(TypeError, match="per_second"):
        wa.RateLimit("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="per_second"):
        wa.RateLimit(True)
    with pytest.raises(ValueError, match="burst"):
        wa.RateLimit(10, burst=0)
    with pytest.raises(TypeError, match="rate_limit"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, rate_limit=10)  # type: ignore[arg-type]


# --- pace ---------------------------------------------------------------------------------------


async def test_without_a_limit_or_a_429_nothing_waits() -> None:
    rate, clock = controller()
    assert await times_of(rate, clock, 100) == [0.0] * 100
    assert rate.state() == wa.RateLimitState(None, None, 0.0, 0)


async def test_a_configured_pace_spaces_requests_after_the_burst() -> None:
    rate, clock = controller(wa.RateLimit(10, burst=3))
    assert await times_of(rate, clock, 6) == [0.0, 0.0, 0.0, 0.1, 0.2, 0.3]


async def test_concurrent_waiters_take_successive_slots_not_one_stampede() -> None:
    # The clock stands still here: each waiter's sleep records when it would wake.
    now = 100.0
    wakes: list[float] = []
    rate = RateController(wa.RateLimit(4, burst=1), clock=lambda: now)

    async def note(seconds: float) -> None:
        wakes.append(now + seconds - 100.0)

    rate.sleep = note

    async def one() -> None:
        if not rate.ready():
            await rate.acquire()

    await asyncio.gather(*(one() for _ in range(5)))
    # One goes at once; each other reserved a slot of its own, a quarter second apart.
    assert wakes == pytest.approx([0.25, 0.5, 0.75, 1.0])


# --- pauses -------------------------------------------------------------------------------------


async def test_a_429_pauses_every_request_until_its_deadline() -> None:
    rate, clock = controller()
    rate.observe(429, {}, 2.0)
    assert not rate.ready()
    assert rate.state().paused_for == 2.0
    assert await times_of(rate, clock, 3) == [2.0, 2.0, 2.0]
    assert rate.state().throttled == 1


async def test_the_latest_deadline_wins_and_a_success_does_not_end_the_pause() -> None:
    rate, clock = controller()
    rate.observe(429, {}, 5.0)
    rate.observe(429, {}, 1.0)  # a shorter announcement does not shorten the pause
    rate.observe(200, {}, None)  # nor does a request that finished meanwhile
    assert rate.state().paused_for == 5.0
    waiter = asyncio.ensure_future(rate.acquire())
    await asyncio.sleep(0)
    rate.observe(429, {}, 3.0 + 5.0)  # announced while waiting: 8 s from t=0
    await waiter
    assert clock.now - 100.0 >= 8.0


async def test_a_request_waiting_for_its_slot_waits_for_a_pause_announced_meanwhile() -> None:
    rate, clock = controller(wa.RateLimit(1, burst=1))
    assert rate.ready()  # the first slot, t=0

    async def announce() -> None:
        rate.observe(429, {}, 10.0)  # runs while the acquire below sleeps

    announcer = asyncio.ensure_future(announce())
    await rate.acquire()  # its slot was t=1, but the pause (from t=1) says t=11
    await announcer
    assert clock.now - 100.0 == pytest.approx(11.0)


@pytest.mark.parametrize(
    ("status", "retry_after", "paused"),
    [(429, None, 1.0), (429, 0.0, 1.0), (503, 4.0, 4.0), (503, None, 0.0), (500, 4.0, 0.0)],
)
def test_which_answers_pause(status: int, retry_after: float | None, paused: float) -> None:
    rate, _ = controller()
    rate.observe(status, {}, retry_after)
    assert rate.state().paused_for == paused


@pytest.mark.parametrize(
    ("headers", "paused"),
    [
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"}, 3.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2.5"}, 2.5),
        ({"X-RateLimit-Remaining": "4", "X-RateLimit-Reset": "3"}, 0.0),
        ({"X-RateLimit-Remaining": "0"}, 0.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, 0.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "-5"}, 0.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "nan"}, 0.0),
        ({"X-RateLimit-Limit": "10", "X-RateLimit-Reset": "3"}, 0.0),
    ],
)
def test_an_exhausted_rate_limit_header_pauses_until_its_reset(
    headers: dict[str, str], paused: float
) -> None:
    rate, _ = controller()
    rate.observe(200, headers, None)
    assert rate.state().paused_for == pytest.approx(paused)


def test_a_reset_given_as_a_unix_time_is_read_as_one() -> None:
    rate, _ = controller()
    rate.observe(
        200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 30)}, None
    )
    assert 29.0 <= rate.state().paused_for <= 30.0


# --- what the server says is left -------------------------------------------------------------


def remaining(n: str) -> dict[str, str]:
    return {"X-RateLimit-Remaining": n, "X-RateLimit-Reset": "1"}


async def test_no_more_go_than_the_server_says_remain_counting_those_out() -> None:
    rate, _ = controller()
    assert all(rate.ready() for _ in range(4))  # nothing said yet: four out
    rate.observe(200, remaining("5"), None)  # five left, three of them already out
    assert [rate.ready() for _ in range(3)] == [True, True, False]
    waiter = asyncio.ensure_future(rate.acquire())
    await asyncio.sleep(0)
    assert not waiter.done(), "the allowance is spent: it waits for an answer"
    rate.observe(200, remaining("4"), None)  # four left, four out: still none
    await asyncio.sleep(0)
    assert not waiter.done()
    rate.observe(200, remaining("6"), None)  # six left, three out: it goes
    await asyncio.wait_for(waiter, 1)
    assert rate.state().paused_for == 0.0 and rate.state().throttled == 0


async def test_a_request_that_ends_without_an_answer_frees_its_place() -> None:
    rate, _ = controller()
    assert rate.ready() and rate.ready()
    rate.observe(200, remaining("1"), None)  # one left, one out
    waiter = asyncio.ensure_future(rate.acquire())
    await asyncio.sleep(0)
    assert not waiter.done()
    rate.release()  # the one out failed: nothing out will answer, so it goes
    await asyncio.wait_for(waiter, 1)


@pytest.mark.parametrize("said", ["-1", "lots", "", "12345678901", "²"])
def test_a_remaining_count_that_is_not_a_count_is_not_obeyed(said: str) -> None:
    rate, _ = controller()
    assert rate.ready() and rate.ready()
    rate.observe(200, {"X-RateLimit-Remaining": said}, None)
    assert rate.ready()


def test_an_answer_without_the_header_ends_the_allowance() -> None:
    rate, _ = controller()
    assert rate.ready() and rate.ready()
    rate.observe(200, remaining("1"), None)
    assert not rate.ready()
    rate.observe(200, {}, None)
    assert rate.ready()


async def test_a_spent_budget_said_in_headers_is_an_episode_without_a_429() -> None:
    rate, clock = controller(wa.RateLimit(50))
    rate.observe(200, remaining("0"), None)
    state = rate.state()
    assert state.paused_for == 1.0 and state.per_second == pytest.approx(45.0)
    assert state.throttled == 0
    rate.observe(200, remaining("0"), None)  # the same episode: lowered once
    assert rate.state().per_second == pytest.approx(45.0)
    assert await times_of(rate, clock, 1) == [1.0]
    rate.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, None)
    assert rate.state().per_second == pytest.approx(45.02), "a reset now: no episode"


def test_a_429_pauses_until_the_later_of_retry_after_and_the_reset() -> None:
    rate, _ = controller()
    rate.observe(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"}, 2.0)
    assert rate.state().paused_for == 7.0
    rate, _ = controller()
    rate.observe(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, 2.0)
    assert rate.state().paused_for == 2.0


async def test_a_client_that_heeds_the_headers_meets_no_429_from_a_busy_server() -> None:
    # The emulator's bucket: 5 at once, 50 a second; every answer says what is left.
    async with WeglyEmulator(rate_limit=50, rate_burst=5, rate_headers=True) as emu:
        chat = emu.create_chat(events=1)
        async with wa.WeglyClient(emu.token, base_url=emu.base_url, max_retries=0) as client:
            await client.chats.send_text(chat, "first")  # the first answer tells what is left
            # Twelve at once against five left: without max_retries a 429 would raise here.
            await asyncio.gather(*(client.chats.send_text(chat, f"m{n}") for n in range(12)))
            assert client.rate_limit_state.throttled == 0


async def test_a_cancelled_request_frees_its_place() -> None:
    started = asyncio.Event()

    async def handler(request: wa.TransportRequest) -> MockResponse:
        if request.json()["body"] == "slow":
            started.set()
            await asyncio.sleep(3600)
        return MockResponse(201, json=SENT, headers={"X-RateLimit-Remaining": "1"})

    transport = MockTransport(handler)
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL, transport=transport) as client:
        await client.chats.send_text(CHAT_ID, "first")  # one left
        slow = asyncio.ensure_future(client.chats.send_text(CHAT_ID, "slow"))
        await started.wait()
        waiting = asyncio.ensure_future(client.chats.send_text(CHAT_ID, "after"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert [r.json()["body"] for r in transport.requests] == ["first", "slow"]
        slow.cancel()
        await asyncio.wait_for(waiting, 5)
        assert [r.json()["body"] for r in transport.requests] == ["first", "slow", "after"]


# --- AIMD ---------------------------------------------------------------------------------------


async def test_a_429_episode_lowers_the_pace_once_and_successes_raise_it_back() -> None:
    rate, clock = controller(wa.RateLimit(50))
    rate.observe(429, {}, 1.0)
    assert rate.state().per_second == pytest.approx(45.0)
    rate.observe(429, {}, 1.0)  # the same episode (before its pause ended): not again
    assert rate.state().per_second == pytest.approx(45.0)
    clock.now += 1.5
    rate.observe(429, {}, 1.0)  # a new episode
    assert rate.state().per_second == pytest.approx(40.5)
    for _ in range(100):
        rate.observe(200, {}, None)
    assert rate.state().per_second == pytest.approx(42.5)
    for _ in range(10_000):
        rate.observe(200, {}, None)
    assert rate.state().per_second == 50.0, "never above the configured limit"


async def test_below_the_configured_pace_requests_are_spaced_without_a_burst() -> None:
    rate, clock = controller(wa.RateLimit(10, burst=10))
    assert await times_of(rate, clock, 10) == [0.0] * 10
    clock.now += 10.0
    rate.observe(429, {}, 1.0)  # the pace drops to 9/s, and after the pause no burst
    assert await times_of(rate, clock, 3) == pytest.approx([11.0, 11.0 + 1 / 9, 11.0 + 2 / 9])


async def test_back_at_the_configured_pace_the_burst_is_earned_by_waiting() -> None:
    rate, clock = controller(wa.RateLimit(10, burst=5))
    rate.observe(429, {}, 1.0)  # 9/s, no burst, from t=1
    assert await times_of(rate, clock, 2) == pytest.approx([1.0, 1.0 + 1 / 9])
    for _ in range(60):
        rate.observe(200, {}, None)
    assert rate.state().per_second == 10.0
    # Not four extra requests at once: the next slot is where it was, then the new pace.
    assert await times_of(rate, clock, 2) == pytest.approx([1.0 + 2 / 9, 1.0 + 2 / 9 + 0.1])
    clock.now += 1.0  # idle: the burst builds up again
    start = clock.now - 100.0
    assert await times_of(rate, clock, 6) == pytest.approx([start] * 5 + [start + 0.1])


async def paced_run(rate: RateController, clock: FakeClock, seconds: float) -> int:
    """Send as fast as the controller lets one client, every answer a success; return how many."""
    sent = 0
    end = clock.now + seconds
    while clock.now < end:
        if not rate.ready():
            await rate.acquire()
        rate.observe(200, {}, None)
        sent += 1
    return sent


async def test_between_two_episodes_the_count_accepted_is_the_servers_rate() -> None:
    rate, clock = controller()
    for _ in range(60):  # a young client: 60 answers in 0.3 s, taken as 120/s
        rate.observe(200, {}, None)
        clock.now += 0.3 / 60
    rate.observe(429, {}, 1.0)
    assert rate.state().per_second == pytest.approx(0.9 * 120, rel=0.03)
    clock.now += 1.0  # the pause
    sent = await paced_run(rate, clock, 0.9)  # the server's budget lasts 0.9 s more
    rate.observe(429, {}, 1.0)
    # Over the 1.9 s from one episode to the next: the pause counted, not only the answers.
    assert rate.state().per_second == pytest.approx(sent / 1.9, rel=0.02)
    assert sent / 1.9 < 0.9 * 0.9 * 120 - 10, "the measure decided, not the 0.9 cut"


async def test_a_client_that_idled_between_episodes_is_not_measured_over_its_idle_time() -> None:
    rate, clock = controller()
    for _ in range(60):
        rate.observe(200, {}, None)
        clock.now += 0.3 / 60
    rate.observe(429, {}, 1.0)
    clock.now += 1.0
    await paced_run(rate, clock, 0.1)
    clock.now += 5.0  # nothing to send: the server's budget may have overflowed meanwhile
    sent = await paced_run(rate, clock, 0.1)
    rate.observe(429, {}, 1.0)
    # The answers of the last 2 s, over the half second a young window spans at least;
    # over the whole 6.2 s from the last episode it would be a third of that.
    assert rate.state().per_second == pytest.approx(sent / 0.5, rel=0.02)


async def test_without_a_limit_a_busy_client_learns_the_pace_the_server_accepted() -> None:
    rate, clock = controller()
    for _ in range(90):  # 30 answers a second for 3 s: the last 2 s count
        rate.observe(200, {}, None)
        clock.now += 1 / 30
    rate.observe(429, {}, 1.0)
    assert rate.state().per_second == pytest.approx(0.9 * 30, rel=0.03)


async def test_a_young_client_measures_over_the_time_it_has_run() -> None:
    # 40 answers in its first half second: 80 a second, not 40 / 2 s.
    rate, clock = controller()
    for _ in range(40):
        rate.observe(200, {}, None)
        clock.now += 0.5 / 40
    rate.observe(429, {}, 1.0)
    assert rate.state().per_second == pytest.approx(0.9 * 80, rel=0.03)


async def test_without_a_limit_a_quiet_client_is_only_paused() -> None:
    rate, _ = controller()
    for _ in range(4):
        rate.observe(200, {}, None)
    rate.observe(429, {}, 1.0)
    assert rate.state().per_second is None
    assert rate.state().paused_for == 1.0


def test_pauses_and_pace_changes_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    rate, _ = controller(wa.RateLimit(20))
    with caplog.at_level(logging.DEBUG, logger="wegly_async"):
        rate.observe(429, {}, 2.0)
    assert "pausing every request for 2.000s (answer 429)" in caplog.text
    assert "pace lowered to 18.00 requests/s" in caplog.text


# --- the client -------------------------------------------------------------------------------


async def test_the_configured_limit_shows_in_the_clients_state() -> None:
    transport = MockTransport(lambda request: MockResponse(201, json=SENT))
    async with wa.WeglyClient(
        TOKEN, base_url=BASE_URL, transport=transport, rate_limit=wa.RateLimit(25, burst=5)
    ) as client:
        assert client.rate_limit_state == wa.RateLimitState(25.0, 25.0, 0.0, 0)
        copy: Any = client.with_options(timeout=5)
        assert copy._pipeline.rate is client._pipeline.rate


@pytest.mark.parametrize(("pacing", "others_at"), [(True, 3.0), (False, 0.0)])
async def test_a_429_holds_back_every_request_of_the_client_unless_pacing_is_off(
    pacing: bool, others_at: float
) -> None:
    clock = FakeClock()  # only the controller's pauses move it
    arrivals: list[tuple[float, str]] = []
    retry_delays: list[float] = []

    async def record(seconds: float) -> None:
        retry_delays.append(seconds)
        await asyncio.sleep(0)

    def handler(request: wa.TransportRequest) -> MockResponse:
        text = request.json()["body"]
        arrivals.append((clock.now - 100.0, text))
        if text == "first" and sum(t == "first" for _, t in arrivals) == 1:
            return MockResponse(429, headers={"Retry-After": "3"}, json={"message": "slow down"})
        return MockResponse(201, json=SENT)

    transport = MockTransport(handler)
    async with wa.WeglyClient(
        TOKEN, base_url=BASE_URL, transport=transport, pacing=pacing
    ) as client:
        pipeline = client._pipeline
        rate = RateController(clock=clock) if pacing else None
        if rate is not None:
            rate.sleep = clock.sleep
        client._pipeline = attrs.evolve(
            pipeline, rate=rate, retry=attrs.evolve(pipeline.retry, sleep=record)
        )
        texts = ("first", "m0", "m1", "m2")
        await asyncio.gather(*(client.chats.send_text(CHAT_ID, text) for text in texts))
        state = client.rate_limit_state
        derived = client.with_options(max_retries=0)
        assert derived.rate_limit_state == state, "with_options copies share the controller"
    assert sorted(at for at, text in arrivals if text != "first") == [others_at] * 3
    # The 429'd send was retried once, after its Retry-After, and never duplicated.
    assert [text for _, text in arrivals].count("first") == 2
    assert retry_delays == [3.0]
    assert state.throttled == (1 if pacing else 0)


def test_pacing_is_a_bool_and_excludes_a_rate_limit() -> None:
    client = wa.WeglyClient(TOKEN, base_url=BASE_URL, pacing=False)
    assert client.rate_limit_state == wa.RateLimitState(None, None, 0.0, 0)
    with pytest.raises(TypeError, match="pacing must be a bool"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, pacing="off")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate_limit and rate_budget need pacing=True"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, pacing=False, rate_limit=wa.RateLimit(5))
