"""The pager against busy loopback servers: timelines that move while they are paged.

Each server is an ``aiohttp.web`` app on 127.0.0.1 with seeded randomness: it answers
concurrent requests after random delays (so in any order), caps pages at a fixed or a
varying size, and adds events after each answer, the way a busy chat does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

import wegly_async as wa
from wegly_async.export import export_timelines

CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
TOKEN = "live-token"


def _event(n: int) -> dict[str, Any]:
    return {
        "id": f"ev-{n:06d}",
        "event_type": "MESSAGE",
        "event_at": f"2026-01-01T00:00:{n % 60:02d}Z",
        "message": None,
    }


class LiveTimeline:
    """One chat's timeline, oldest first, that a handler pages and changes while it does."""

    def __init__(
        self,
        initial: int,
        *,
        seed: int,
        cap: Callable[[random.Random], int | None] = lambda rng: None,
        delay: tuple[float, float] = (0.001, 0.010),
        inserts: tuple[int, int] = (0, 3),
        where: str = "end",
        total_bias: int = 0,
    ) -> None:
        self.events = [_event(n) for n in range(initial)]
        self.rng = random.Random(seed)
        self.cap = cap
        self.delay = delay
        self.inserts = inserts
        self.where = where  # "end" (new messages) or "middle" (history sync)
        self.total_bias = total_bias
        self.requests: list[tuple[int, int]] = []
        self.serial = initial
        self.frozen = False  # stop changing (e.g. once a test has what it needs)
        # Called with the request's skip just before it is answered (after its delay).
        self.before_answer: Callable[[LiveTimeline, int], None] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        skip, take = int(request.query["skip"]), int(request.query["take"])
        self.requests.append((skip, take))
        await asyncio.sleep(self.rng.uniform(*self.delay))
        if self.before_answer is not None:
            self.before_answer(self, skip)
        view = self.events if request.query["order"] == "asc" else self.events[::-1]
        cap = self.cap(self.rng)
        served = take if cap is None else min(take, cap)
        body = {"total": len(self.events) + self.total_bias, "records": view[skip : skip + served]}
        if not self.frozen:
            for _ in range(self.rng.randint(*self.inserts)):
                self.add()
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    def add(self) -> None:
        event = _event(self.serial)
        self.serial += 1
        if self.where == "end":
            self.events.append(event)
        else:
            self.events.insert(self.rng.randrange(len(self.events) + 1), event)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[LiveTimeline], Any]]:
    runners: list[web.AppRunner] = []
    clients: list[wa.WeglyClient] = []

    async def start(timeline: LiveTimeline) -> wa.WeglyClient:
        app = web.Application()
        app.router.add_get(f"/integrations/external/chats/{CHAT}/timeline", timeline.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        client = wa.WeglyClient(TOKEN, base_url=f"http://127.0.0.1:{port}", max_retries=0)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
    for runner in runners:
        await runner.cleanup()


def varying(low: int, high: int) -> Callable[[random.Random], int]:
    return lambda rng: rng.randint(low, high)


CAPS: dict[str, Callable[[random.Random], int | None]] = {
    "uncapped": lambda rng: None,
    "fixed-37": lambda rng: 37,
    "varying-20-50": varying(20, 50),
}


def assert_in_order(yielded: list[str], final_view: list[str]) -> None:
    position = {event_id: index for index, event_id in enumerate(final_view)}
    places = [position[event_id] for event_id in yielded]
    assert places == sorted(places), "events came out of order"


@pytest.mark.parametrize("cap", sorted(CAPS))
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("prefetch", range(1, 17))
async def test_a_moving_timeline_yields_every_existing_event_once_and_in_order(
    serve: Callable[[LiveTimeline], Any], prefetch: int, order: str, cap: str
) -> None:
    seed = prefetch * 100 + len(cap) * 7 + (order == "desc")
    timeline = LiveTimeline(400, seed=seed, cap=CAPS[cap])
    existing = [event["id"] for event in timeline.events]
    client = await serve(timeline)
    pager = client.chats.timeline(CHAT, order=order, take=50, prefetch=prefetch)
    yielded = [record["id"] async for record in pager.raw()]
    assert len(yielded) == len(set(yielded)), "an event was yielded twice"
    missing = set(existing) - set(yielded)
    assert not missing, f"{len(missing)} events that existed at the start were lost"
    view = [event["id"] for event in timeline.events]
    assert_in_order(yielded, view if order == "asc" else view[::-1])
    assert timeline.serial > 400  # the timeline really moved while it was paged


@pytest.mark.parametrize("prefetch", [1, 4, 16])
async def test_typed_iteration_of_a_moving_desc_timeline_loses_nothing(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    timeline = LiveTimeline(300, seed=prefetch, cap=varying(15, 40))
    existing = {event["id"] for event in timeline.events}
    client = await serve(timeline)
    events = await client.chats.timeline(CHAT, order="desc", take=40, prefetch=prefetch).to_list()
    ids = [event.id for event in events]
    assert len(ids) == len(set(ids))
    assert existing <= set(ids)


@pytest.mark.parametrize("prefetch", [1, 4, 8, 16])
async def test_history_inserted_mid_timeline_while_paging_asc_loses_nothing(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    # WhatsApp history sync: old messages land anywhere in the timeline, also behind the
    # reader, which shifts every later offset.
    timeline = LiveTimeline(400, seed=prefetch, where="middle", inserts=(0, 3))
    existing = [event["id"] for event in timeline.events]
    client = await serve(timeline)
    yielded = [r["id"] async for r in client.chats.timeline(CHAT, take=50, prefetch=prefetch).raw()]
    assert len(yielded) == len(set(yielded))
    assert set(existing) <= set(yielded)
    assert_in_order(yielded, [event["id"] for event in timeline.events])


@pytest.mark.parametrize("prefetch", [1, 4, 16])
async def test_a_few_deletions_behind_the_reader_are_placed_without_a_gap(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    timeline = LiveTimeline(400, seed=prefetch, inserts=(0, 0), delay=(0.001, 0.003))
    rng = random.Random(prefetch)
    deleted: set[str] = set()

    def delete_behind(live: LiveTimeline, skip: int) -> None:
        # After the first page, delete a few events the reader has already passed.
        if len(live.requests) > 2 and len(deleted) < 12:
            victim = live.events.pop(rng.randrange(0, 40))
            deleted.add(victim["id"])

    timeline.before_answer = delete_behind
    existing = [event["id"] for event in timeline.events]
    client = await serve(timeline)
    yielded = [r["id"] async for r in client.chats.timeline(CHAT, take=50, prefetch=prefetch).raw()]
    assert deleted
    assert len(yielded) == len(set(yielded))
    assert set(existing) - deleted <= set(yielded)


@pytest.mark.parametrize("prefetch", [1, 4, 16])
async def test_a_change_the_pager_cannot_place_raises_timeline_changed(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    timeline = LiveTimeline(600, seed=1, inserts=(0, 0), delay=(0.001, 0.002))
    original = [event["id"] for event in timeline.events]

    def mass_delete(live: LiveTimeline, skip: int) -> None:
        # Just before the first request past offset 100 is answered, the 150 oldest events
        # (the reader's anchor among them) disappear. Keyed on that request, not on how many
        # requests arrived before an answer: with prefetch, a fourth request could arrive
        # before the third was answered, and then nothing was ever deleted.
        if skip > 100 and len(live.events) == 600:
            del live.events[:150]

    timeline.before_answer = mass_delete
    client = await serve(timeline)
    yielded: list[str] = []

    async def read() -> None:
        async for record in client.chats.timeline(CHAT, take=50, prefetch=prefetch).raw():
            yielded.append(record["id"])

    with pytest.raises(wa.TimelineChangedError) as caught:
        await read()
    assert len(timeline.events) == 450  # the change happened
    error = caught.value
    assert isinstance(error, wa.WeglyError)
    assert error.chat_id == CHAT
    assert CHAT in str(error)
    assert f"offset {error.offset}" in str(error)
    # What came before the error is the timeline's start, with no gap and no repeat.
    assert yielded == original[: len(yielded)]
    assert len(timeline.requests) < 20  # it gave up after a few re-reads


@pytest.mark.parametrize("prefetch", [1, 4, 8, 16])
async def test_a_server_repeating_the_same_records_is_given_up_quickly(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    timeline = LiveTimeline(25, seed=1, inserts=(0, 0), delay=(0.0, 0.001))
    records = list(timeline.events)

    async def same_page(request: web.Request) -> web.Response:
        timeline.requests.append((0, 0))
        body = {"total": 10_000_000, "records": records}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    timeline.handle = same_page  # type: ignore[method-assign]
    client = await serve(timeline)
    with pytest.raises(wa.InvalidResponseError, match="added no new event"):
        async for _ in client.chats.timeline(CHAT, take=25, prefetch=prefetch).raw():
            pass
    assert len(timeline.requests) <= 6 + prefetch


@pytest.mark.parametrize("prefetch", [1, 2, 4, 8, 16])
async def test_a_total_that_is_too_high_costs_at_most_one_request_past_the_end(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    # 90 events, a total of 100,000, take 25: sequential paging needs 5 requests.
    timeline = LiveTimeline(
        90, seed=prefetch, inserts=(0, 0), delay=(0.002, 0.002), total_bias=100_000 - 90
    )
    client = await serve(timeline)
    ids = [r["id"] async for r in client.chats.timeline(CHAT, take=25, prefetch=prefetch).raw()]
    assert ids == [event["id"] for event in timeline.events]
    assert len(timeline.requests) <= 5 + (prefetch > 1)


async def _requests_for(
    serve: Callable[[LiveTimeline], Any], prefetch: int, seed: int, low: int, high: int
) -> int:
    timeline = LiveTimeline(4000, seed=seed, cap=varying(low, high), inserts=(0, 0))
    client = await serve(timeline)
    count = 0
    async for _ in client.chats.timeline(CHAT, take=100, prefetch=prefetch).raw():
        count += 1
    assert count == 4000
    return len(timeline.requests)


@pytest.mark.parametrize("prefetch", [4, 8, 16])
async def test_speculation_over_varying_page_sizes_stays_within_1_5x_the_requests(
    serve: Callable[[LiveTimeline], Any], prefetch: int
) -> None:
    for seed in (1, 2):
        sequential = await _requests_for(serve, 1, seed, 40, 100)
        speculative = await _requests_for(serve, prefetch, seed, 40, 100)
        assert speculative <= 1.5 * sequential, (speculative, sequential)


async def test_a_fixed_cap_is_learned_and_costs_no_extra_request(
    serve: Callable[[LiveTimeline], Any],
) -> None:
    sequential = await _requests_for(serve, 1, 3, 60, 60)
    speculative = await _requests_for(serve, 8, 3, 60, 60)
    # The first short page suspends speculation until the next one shows a cap.
    assert speculative <= sequential + 8


async def test_a_desc_export_of_a_moving_chat_holds_every_event_once(
    serve: Callable[[LiveTimeline], Any], tmp_path: Path
) -> None:
    timeline = LiveTimeline(700, seed=5, cap=varying(30, 60))
    existing = {event["id"] for event in timeline.events}
    client = await serve(timeline)
    result = await wa_export(client, tmp_path, "desc")
    assert result.ok
    lines = (tmp_path / f"{CHAT}.jsonl").read_bytes().splitlines()
    ids = [orjson.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids))
    assert existing <= set(ids)


async def wa_export(client: wa.WeglyClient, out: Path, order: str) -> Any:
    return await export_timelines(client, [CHAT], out, order=order, take=50, concurrency=4)


class ManyChats:
    """Several chats behind one server that counts the timeline requests in flight."""

    def __init__(self, chats: dict[str, list[dict[str, Any]]], delay: float = 0.003) -> None:
        self.chats = chats
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.raw_bodies: dict[str, bytes] = {}

    async def handle(self, request: web.Request) -> web.Response:
        chat = request.match_info["chat"]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if chat in self.raw_bodies:
            return web.Response(body=self.raw_bodies[chat], content_type="application/json")
        skip, take = int(request.query["skip"]), int(request.query["take"])
        events = self.chats[chat]
        view = events if request.query["order"] == "asc" else events[::-1]
        body = {"total": len(events), "records": view[skip : skip + take]}
        return web.Response(body=orjson.dumps(body), content_type="application/json")


async def _serve_many(chats: ManyChats) -> tuple[web.AppRunner, wa.WeglyClient]:
    app = web.Application()
    app.router.add_get("/integrations/external/chats/{chat}/timeline", chats.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, wa.WeglyClient(TOKEN, base_url=f"http://127.0.0.1:{port}", max_retries=0)


def _chat_ids(count: int) -> list[str]:
    return [f"3c90c3cc-0d44-4b50-8888-{n:012d}" for n in range(count)]


@pytest.mark.parametrize("concurrency", [1, 2, 4])
async def test_export_concurrency_is_the_whole_budget_of_requests_in_flight(
    tmp_path: Path, concurrency: int
) -> None:
    ids = _chat_ids(6)
    # One long chat and five short ones: the long one may use what the others left.
    chats = ManyChats(
        {chat: [_event(n) for n in range(900 if i == 0 else 120)] for i, chat in enumerate(ids)}
    )
    runner, client = await _serve_many(chats)
    try:
        result = await export_timelines(client, ids, tmp_path, take=50, concurrency=concurrency)
    finally:
        await client.close()
        await runner.cleanup()
    assert result.ok
    assert 1 <= chats.max_in_flight <= concurrency
    if concurrency > 1:
        assert chats.max_in_flight == concurrency  # and the budget is used


async def test_a_record_too_deep_to_write_fails_only_its_chat(tmp_path: Path) -> None:
    ids = _chat_ids(3)
    chats = ManyChats({chat: [_event(n) for n in range(200)] for chat in ids})
    deep = b'{"a":' * 400 + b"1" + b"}" * 400
    chats.raw_bodies[ids[1]] = b'{"total":1,"records":[{"id":"deep-1","x":' + deep + b"}]}"
    runner, client = await _serve_many(chats)
    try:
        result = await export_timelines(client, ids, tmp_path, take=50, concurrency=3)
    finally:
        await client.close()
        await runner.cleanup()
    assert [chat.chat_id for chat in result.failed] == [ids[1]]
    error = result.failed[0].error
    assert isinstance(error, wa.InvalidResponseError)
    assert "deep-1" in str(error)
    for chat in (ids[0], ids[2]):
        lines = (tmp_path / f"{chat}.jsonl").read_bytes().splitlines()
        assert [orjson.loads(line)["id"] for line in lines] == [e["id"] for e in chats.chats[chat]]
