"""The shared rate budget on a real Redis: one pace, one pause and one AIMD for many clients.

Clients of one budget stand for the processes of a fleet: each has its own Redis connection
(its own ``SharedRateBudget`` object) and only the key in Redis joins them. Where timing
matters they share a fake clock, which the scripts then use instead of Redis's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import redis.asyncio
from conftest import BASE_URL, TOKEN

import wegly_async as wa
from wegly_async._rate_redis import SharedPacer
from wegly_async.testing import MockResponse, MockTransport
from wegly_async.testing._redis import _free_port, redis_server

ROOT = Path(__file__).resolve().parents[1]
OK = {"total": 0, "records": []}


class FakeClock:
    """A clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class Budgets:
    """Make budgets on the test's Redis, each with its own connection, all on one fake clock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = FakeClock()
        self.made: list[wa.SharedRateBudget] = []

    def __call__(self, name: str = "fleet", **kwargs: Any) -> wa.SharedRateBudget:
        kwargs.setdefault("clock", self.clock)
        budget = wa.SharedRateBudget.from_url(self.url, name=name, **kwargs)
        self.made.append(budget)
        return budget


@pytest.fixture
async def budgets(redis_url: str) -> AsyncIterator[Budgets]:
    """Return a maker of budgets on the test's Redis; they are closed after the test."""
    maker = Budgets(redis_url)
    yield maker
    for budget in maker.made:
        await budget.aclose()


def pacer(
    budget: wa.SharedRateBudget, clock: FakeClock, limit: wa.RateLimit | None = None
) -> SharedPacer:
    rate = budget._pacer(limit)
    rate.sleep = clock.sleep
    return rate


async def let_through(rate: SharedPacer, clock: FakeClock) -> float:
    """Acquire once and return when the request was let through, from t=0."""
    assert not rate.ready()
    await rate.acquire()
    return round(clock.now - 100.0, 6)


def client_on(
    budget: wa.SharedRateBudget,
    clock: FakeClock,
    handler: Callable[[wa.TransportRequest], MockResponse],
    limit: wa.RateLimit | None = None,
    **kwargs: Any,
) -> wa.WeglyClient:
    """Return a client paced by ``budget`` whose waits, retries included, move ``clock``."""
    client = wa.WeglyClient(
        TOKEN,
        base_url=BASE_URL,
        transport=MockTransport(handler),
        rate_limit=limit,
        rate_budget=budget,
        **kwargs,
    )
    client._pipeline.rate.sleep = clock.sleep
    retry = attrs.evolve(client._pipeline.retry, sleep=clock.sleep)
    client._pipeline = attrs.evolve(client._pipeline, retry=retry)
    return client


async def redis_dump(url: str) -> dict[str, Any]:
    async with redis.asyncio.Redis.from_url(url, decode_responses=True) as r:
        return {key: await r.hgetall(key) for key in await r.keys("*")}


# --- one pace -----------------------------------------------------------------------------------


async def test_clients_of_one_budget_share_its_burst_and_pace(budgets: Budgets) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(10, burst=2)
    first, second = (pacer(budgets(), clock, limit) for _ in range(2))
    times = [await let_through(rate, clock) for _ in range(3) for rate in (first, second)]
    # As one client would be: two at once, then 0.1 s apart, whichever of them asks.
    assert times == [0.0, 0.0, 0.1, 0.2, 0.3, 0.4]


async def test_without_a_burst_the_fleet_sends_half_a_second_at_once(budgets: Budgets) -> None:
    clock = budgets.clock
    first, second = (pacer(budgets(), clock, wa.RateLimit(10)) for _ in range(2))
    times = [await let_through(rate, clock) for _ in range(4) for rate in (first, second)]
    # Five at once (not ten): the server's bucket keeps room for the jitter of the fleet.
    assert times == [0.0] * 5 + [0.1, 0.2, 0.3]


async def test_clients_of_different_budgets_do_not_share(budgets: Budgets) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(10, burst=2)
    first, second = pacer(budgets("a"), clock, limit), pacer(budgets("b"), clock, limit)
    times = [await let_through(rate, clock) for _ in range(2) for rate in (first, second)]
    assert times == [0.0, 0.0, 0.0, 0.0]


async def test_the_clients_state_shows_the_shared_pace(budgets: Budgets) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(20)
    first, second = pacer(budgets(), clock, limit), pacer(budgets(), clock, limit)
    assert second.state() == wa.RateLimitState(20.0, 20.0, 0.0, 0)
    first.observe(429, {}, 2.0)
    await first.aclose()  # its announcement has reached Redis
    await let_through(second, clock)
    # The second client never saw a 429, yet it waited for the pause and knows the pace.
    assert second.state() == wa.RateLimitState(18.0, 20.0, 0.0, 0)
    assert clock.now == 102.0


async def test_separate_processes_share_one_burst(redis_url: str) -> None:
    # The clock stands still in every process: a budget of burst 6 lets exactly six requests
    # through at once, over all the processes together, and every other one must wait.
    child = """
import asyncio, sys
import wegly_async as wa

class MustWait(Exception):
    pass

async def refuse(seconds):
    raise MustWait

async def main(url):
    budget = wa.SharedRateBudget.from_url(url, name="processes", clock=lambda: 500.0)
    rate = budget._pacer(wa.RateLimit(1, burst=6))
    rate.sleep = refuse
    granted = 0
    for _ in range(6):
        try:
            await rate.acquire()
            granted += 1
        except MustWait:
            pass
    await budget.aclose()
    print(granted)

asyncio.run(main(sys.argv[1]))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", child, redis_url, env=env, stdout=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    granted = [int(out.decode()) for out, _ in outputs]
    assert sum(granted) == 6, granted


# --- one pause ----------------------------------------------------------------------------------


async def test_a_429_seen_by_one_client_pauses_the_others_until_its_deadline(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    sent: list[tuple[str, float]] = []

    def answer(who: str, status: int) -> Callable[[wa.TransportRequest], MockResponse]:
        def handler(request: wa.TransportRequest) -> MockResponse:
            sent.append((who, clock.now - 100.0))
            return MockResponse(status, headers={"Retry-After": "3"}, json=OK)

        return handler

    throttled = client_on(budgets(), clock, answer("throttled", 429), max_retries=0)
    other = client_on(budgets(), clock, answer("other", 200))
    with pytest.raises(wa.RateLimitError):
        await throttled.request("GET", "/chats")
    await throttled.close()  # waits for its announcement to reach Redis
    await other.request("GET", "/chats")
    await other.request("GET", "/chats")
    await other.close()
    assert sent == [("throttled", 0.0), ("other", 3.0), ("other", 3.0)]


async def test_the_latest_deadline_wins(budgets: Budgets) -> None:
    clock = budgets.clock
    first, second = pacer(budgets(), clock), pacer(budgets(), clock)
    first.observe(429, {}, 5.0)
    await first.aclose()
    second.observe(429, {}, 1.0)  # a shorter announcement, later, does not shorten the pause
    await second.aclose()
    assert await let_through(second, clock) == 5.0
    assert await let_through(first, clock) == 5.0


async def test_a_client_waiting_for_its_slot_waits_for_a_pause_announced_meanwhile(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(1, burst=1)
    waiting, announcing = pacer(budgets(), clock, limit), pacer(budgets(), clock, limit)
    assert await let_through(waiting, clock) == 0.0

    async def sleep_while_another_is_throttled(seconds: float) -> None:
        waiting.sleep = clock.sleep
        announcing.observe(429, {}, 10.0)  # from t=0: no request before t=10
        await announcing.aclose()
        await clock.sleep(seconds)

    waiting.sleep = sleep_while_another_is_throttled
    # Its slot was t=1, but the pause announced while it slept says t=10.
    assert await let_through(waiting, clock) == 10.0


async def test_an_exhausted_rate_limit_header_pauses_the_fleet(budgets: Budgets) -> None:
    clock = budgets.clock
    first, second = pacer(budgets(), clock), pacer(budgets(), clock)
    first.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4"}, None)
    await first.aclose()
    assert await let_through(second, clock) == 4.0
    assert second.state().throttled == 0  # a pause, not a 429


# --- one AIMD -----------------------------------------------------------------------------------


async def test_a_429_episode_lowers_the_shared_pace_once_however_many_clients_see_it(
    budgets: Budgets, caplog: pytest.LogCaptureFixture
) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(10)
    fleet = [pacer(budgets(), clock, limit) for _ in range(3)]
    with caplog.at_level(logging.DEBUG, logger="wegly_async"):
        for rate in fleet:  # one episode: every client meets the wall before the pause ends
            rate.observe(429, {}, 2.0)
            await rate.aclose()
    assert await let_through(fleet[0], clock) == 2.0
    assert fleet[0].state().per_second == pytest.approx(9.0)  # 10 x 0.9, not 10 x 0.9^3
    assert caplog.text.count("pace of rate budget 'fleet' lowered to 9.00 requests/s") == 1
    assert caplog.text.count("pace of rate budget 'fleet' is now 9.00 requests/s") == 2
    assert "pausing every request of rate budget 'fleet' for 2.000s (answer 429)" in caplog.text

    fleet[1].observe(429, {}, 1.0)  # after the pause: a new episode
    await fleet[1].aclose()
    await let_through(fleet[2], clock)
    assert fleet[2].state().per_second == pytest.approx(8.1)

    for _ in range(10):  # reported with the next request, each adds 0.02 requests/s
        fleet[0].observe(200, {}, None)
    await let_through(fleet[0], clock)
    await let_through(fleet[1], clock)
    assert fleet[1].state().per_second == pytest.approx(8.3)


async def test_successes_raise_the_pace_no_higher_than_the_limit(budgets: Budgets) -> None:
    clock = budgets.clock
    rate = pacer(budgets(), clock, wa.RateLimit(2))
    rate.observe(429, {}, 1.0)
    await rate.aclose()
    await let_through(rate, clock)
    assert rate.state().per_second == pytest.approx(1.8)
    for _ in range(100):
        rate.observe(200, {}, None)
    await let_through(rate, clock)
    assert rate.state().per_second == 2.0


async def accepted_at_20_per_second(
    first: SharedPacer, second: SharedPacer, clock: FakeClock
) -> None:
    """Let 20 answers each succeed over 2 s, then hand the last ones in to the budget."""
    for _ in range(20):
        for rate in (first, second):
            await let_through(rate, clock)
            rate.observe(200, {}, None)
        clock.now += 0.1
    await let_through(first, clock)
    await let_through(second, clock)


async def test_without_a_limit_the_fleet_learns_the_pace_it_was_accepted_at(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    first, second = pacer(budgets(), clock), pacer(budgets(), clock)
    await accepted_at_20_per_second(first, second, clock)
    assert first.state().per_second is None  # not paced until a 429 teaches it
    second.observe(429, {}, 1.0)
    await second.aclose()
    await let_through(first, clock)
    assert first.state().per_second == pytest.approx(18.0, rel=0.1)


async def test_a_429_lowers_the_pace_to_at_most_what_the_fleet_was_accepted_at(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(100)
    first, second = pacer(budgets(), clock, limit), pacer(budgets(), clock, limit)
    await accepted_at_20_per_second(first, second, clock)
    second.observe(429, {}, 1.0)
    await second.aclose()
    await let_through(first, clock)
    # Not 90 (0.9 x the pace): the server took about 20 a second, so that is where to go.
    assert first.state().per_second == pytest.approx(20.0, rel=0.1)


async def test_below_the_limit_the_fleet_is_spaced_without_a_burst(budgets: Budgets) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(10, burst=10)
    first, second = (pacer(budgets(), clock, limit) for _ in range(2))
    times = [await let_through(rate, clock) for _ in range(5) for rate in (first, second)]
    assert times == [0.0] * 10
    clock.now += 10.0
    first.observe(429, {}, 1.0)  # the pace drops to 9/s, and after the pause no burst
    await first.aclose()
    times = [await let_through(rate, clock) for rate in (second, first, second)]
    assert times == pytest.approx([11.0, 11.0 + 1 / 9, 11.0 + 2 / 9])


async def test_back_at_the_limit_the_fleet_earns_its_burst_by_waiting(budgets: Budgets) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(10, burst=5)
    first, second = (pacer(budgets(), clock, limit) for _ in range(2))
    first.observe(429, {}, 1.0)  # 9/s, no burst, from t=1
    await first.aclose()
    times = [await let_through(rate, clock) for rate in (first, second)]
    assert times == pytest.approx([1.0, 1.0 + 1 / 9])
    for _ in range(60):  # reported with the second's next request: back at 10/s
        second.observe(200, {}, None)
    # Not four extra requests at once: the next slot is where it was, then the new pace.
    times = [await let_through(rate, clock) for rate in (second, first)]
    assert times == pytest.approx([1.0 + 2 / 9, 1.0 + 2 / 9 + 0.1])
    assert first.state().per_second == 10.0
    clock.now += 1.0  # idle: the burst builds up again
    start = clock.now - 100.0
    times = [await let_through(rate, clock) for _ in range(3) for rate in (first, second)]
    assert times == pytest.approx([start] * 5 + [start + 0.1])


async def fleet_run(fleet: list[SharedPacer], clock: FakeClock, seconds: float) -> int:
    """Send in turn as fast as the budget lets the fleet, every answer a success; count them."""
    sent = 0
    end = clock.now + seconds
    while clock.now < end:
        for rate in fleet:
            await let_through(rate, clock)
            rate.observe(200, {}, None)
            sent += 1
    return sent


async def young_fleet_then_429(fleet: list[SharedPacer], clock: FakeClock) -> None:
    """Let an unpaced fleet be accepted 60 times in 0.3 s (120/s), then meet a 429 at t=0.3."""
    for _ in range(30):
        for rate in fleet:
            await let_through(rate, clock)
            rate.observe(200, {}, None)
        clock.now += 0.3 / 30
    await throttled_after_their_next_requests(fleet, clock)


async def throttled_after_their_next_requests(fleet: list[SharedPacer], clock: FakeClock) -> None:
    """Let each client send once more (handing in its successes), the first one's a 429."""
    for rate in fleet:
        await let_through(rate, clock)
    fleet[0].observe(429, {}, 1.0)
    await fleet[0].aclose()


async def test_between_two_episodes_the_count_the_fleet_got_accepted_is_the_servers_rate(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    fleet = [pacer(budgets(), clock) for _ in range(2)]
    await young_fleet_then_429(fleet, clock)
    assert fleet[0].state().per_second == pytest.approx(0.9 * 120, rel=0.03)
    emptied = clock.now
    sent = await fleet_run(fleet, clock, 1.9)  # the pause, then the server's budget 0.9 s more
    await throttled_after_their_next_requests(fleet, clock)
    # Over the time from one episode to the next: the pause counted, not only the answers.
    assert fleet[0].state().per_second == pytest.approx(sent / (clock.now - emptied))
    assert sent / (clock.now - emptied) < 0.9 * 0.9 * 120 - 10, "the measure decided"


async def test_a_fleet_that_idled_between_episodes_is_not_measured_over_its_idle_time(
    budgets: Budgets,
) -> None:
    clock = budgets.clock
    fleet = [pacer(budgets(), clock) for _ in range(2)]
    await young_fleet_then_429(fleet, clock)
    emptied = clock.now
    earlier = await fleet_run(fleet, clock, 1.1)  # the pause, then 0.1 s
    clock.now += 5.0  # nothing to send: the server's budget may have overflowed meanwhile
    sent = await fleet_run(fleet, clock, 0.1)
    await throttled_after_their_next_requests(fleet, clock)
    # The answers handed in over the last 2 s (the last of the earlier run with the first
    # requests of this one), over those 2 s; not all of them over the whole 6.2 s from the
    # last episode, which is lower and so would have decided.
    in_window = sent + len(fleet)
    assert fleet[0].state().per_second == pytest.approx(in_window / 2.0)
    assert (earlier + sent) / (clock.now - emptied) < in_window / 2.0


# --- Redis: keys, expiry, secrets, trouble ----------------------------------------------------


async def test_the_budget_expires_after_its_ttl_or_its_pause(
    budgets: Budgets, redis_url: str
) -> None:
    clock = budgets.clock
    limit = wa.RateLimit(1, burst=1)
    kept, brief = (
        pacer(budgets("kept"), clock, limit),
        pacer(budgets("brief", ttl=0.2), clock, limit),
    )
    async with redis.asyncio.Redis.from_url(redis_url) as r:
        await let_through(kept, clock)
        assert 500_000 < await r.pttl("wegly-async:rate:kept") <= 600_000  # the default ttl
        await let_through(brief, clock)
        await asyncio.sleep(0.3)  # Redis drops a key whose time has passed when it is read
        assert not await r.exists("wegly-async:rate:brief")
        # Forgotten: its one slot is free again at once, while the kept budget's next is 1 s away.
        assert await let_through(brief, clock) == 0.0
        assert await let_through(kept, clock) == 1.0
        brief.observe(429, {}, 30.0)
        await brief.aclose()
        assert 29_000 < await r.pttl("wegly-async:rate:brief") <= 30_200  # kept past its pause


async def test_the_token_never_reaches_redis_or_the_logs(
    budgets: Budgets, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = budgets.clock
    answers = iter([429, 429, 200, 200])

    def handler(request: wa.TransportRequest) -> MockResponse:
        return MockResponse(next(answers), headers={"Retry-After": "1"}, json=OK)

    with caplog.at_level(logging.DEBUG, logger="wegly_async"):
        async with client_on(budgets(), clock, handler, wa.RateLimit(5)) as client:
            await client.request("GET", "/chats")
            await client.request("GET", "/chats")
    stored = await redis_dump(redis_url)
    assert list(stored) == ["wegly-async:rate:fleet"]
    assert TOKEN not in json.dumps(stored)
    assert "rate budget 'fleet'" in caplog.text
    assert TOKEN not in caplog.text


async def test_redis_out_of_reach_fails_the_request_before_it_is_sent() -> None:
    url = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"  # nothing listens there
    sent: list[wa.TransportRequest] = []

    def handler(request: wa.TransportRequest) -> MockResponse:
        sent.append(request)
        return MockResponse(200, json=OK)

    async with wa.SharedRateBudget.from_url(url, name="fleet") as budget:
        assert "hunter2" not in repr(budget)
        client = client_on(budget, FakeClock(), handler)
        with pytest.raises(wa.RateBudgetError) as caught:
            await client.request("GET", "/chats")
        await client.close()
    assert sent == []
    message = str(caught.value)
    assert "'fleet'" in message
    assert "not sent" in message
    assert "hunter2" not in message
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


async def test_redis_lost_mid_run_warns_of_the_lost_pause_and_fails_the_next_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    server = redis_server()
    url = server.__enter__()
    sent: list[str] = []

    def handler(request: wa.TransportRequest) -> MockResponse:
        sent.append(request.path)
        if len(sent) == 1:
            return MockResponse(200, json=OK)
        server.__exit__(None, None, None)  # Redis goes away while the server says 429
        return MockResponse(429, headers={"Retry-After": "1"}, json=OK)

    budget = wa.SharedRateBudget.from_url(url, name="fleet", clock=clock)
    client = client_on(budget, clock, handler, max_retries=0)
    await client.request("GET", "/chats")
    with caplog.at_level(logging.WARNING, logger="wegly_async"):
        with pytest.raises(wa.RateLimitError):
            await client.request("GET", "/chats")
        # The pause could not be told to the fleet: said at once, and the next request fails
        # before it is sent.
        with pytest.raises(wa.RateBudgetError, match="could not be reached"):
            await client.request("GET", "/chats")
        await client.close()
    await budget.aclose()
    assert sent == ["/chats", "/chats"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "rate budget 'fleet'" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"url": "http://127.0.0.1:6379"}, ValueError, "redis://"),
        ({"url": "127.0.0.1:6379"}, ValueError, "redis://"),
        ({"url": "redis://127.0.0.1:99999/0"}, ValueError, "port"),
        ({"url": 6379}, TypeError, "url"),
        ({"name": ""}, ValueError, "name"),
        ({"name": "x" * 201}, ValueError, "name"),
        ({"name": "a\nb"}, ValueError, "name"),
        ({"name": 7}, TypeError, "name"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"ttl": float("nan")}, ValueError, "ttl"),
        ({"ttl": "60"}, TypeError, "ttl"),
        ({"clock": 5}, TypeError, "clock"),
    ],
)
def test_bad_budget_arguments_raise_before_any_connection(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    arguments = {"url": "redis://127.0.0.1:1/0", "name": "fleet", **kwargs}
    with pytest.raises(error, match=match):
        wa.SharedRateBudget.from_url(arguments.pop("url"), **arguments)


async def test_bad_client_arguments_raise_type_errors(budgets: Budgets) -> None:
    with pytest.raises(TypeError, match="rate_budget"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, rate_budget="redis://127.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rate_limit"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, rate_limit=10, rate_budget=budgets())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        wa.SharedRateBudget("redis://127.0.0.1", name="fleet")  # type: ignore[arg-type]


async def test_a_budget_needs_pacing(budgets: Budgets) -> None:
    with pytest.raises(ValueError, match="rate_limit and rate_budget need pacing=True"):
        wa.WeglyClient(TOKEN, base_url=BASE_URL, pacing=False, rate_budget=budgets())


def test_without_redis_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ModuleNotFoundError, match=r"wegly-async\[queue\]"):
        wa.SharedRateBudget.from_url("redis://127.0.0.1:6379/0", name="fleet")
