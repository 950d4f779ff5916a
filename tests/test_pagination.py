"""The paging arithmetic and the pager, against an in-memory fake of the offset API."""

from __future__ import annotations

import asyncio
import collections
import random
from typing import Any

import pytest

import wegly_async as wa
from wegly_async._constants import DEDUPE_WINDOW
from wegly_async._convert import converter
from wegly_async._walker import FetchedPage, SeenIds, join_index, page_size_estimate
from wegly_async.resources.chats.timeline import TimelinePager
from wegly_async.testing import WeglyEmulator


def decode(records: list[dict[str, Any]]) -> list[wa.TimelineEvent]:
    return [converter.structure(record, wa.TimelineEvent) for record in records]


def invalid(reason: str) -> wa.InvalidResponseError:
    return wa.InvalidResponseError(reason, status_code=200, method="GET", url="fake", body=b"")


class FakeTimeline:
    """Serve ``events[skip:skip+take]`` like the API, with knobs for its hazards."""

    def __init__(
        self, count: int, *, max_take: int | None = None, total_bias: int = 0, delay: float = 0.0
    ) -> None:
        self.events: list[dict[str, Any]] = [{"id": f"e{n:05d}"} for n in range(count)]
        self.max_take = max_take
        self.total_bias = total_bias
        self.calls: list[tuple[int, int]] = []
        self.before_fetch: list[int] = []  # insert this many events at the front before a call
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.finished = 0

    async def fetch(self, skip: int, take: int) -> FetchedPage:
        self.calls.append((skip, take))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.finished += 1
        if self.before_fetch:
            for n in range(self.before_fetch.pop(0)):
                self.events.insert(0, {"id": f"new{len(self.calls)}-{n}"})
        served = min(take, self.max_take) if self.max_take else take
        records = self.events[skip : skip + served]
        total = len(self.events) + self.total_bias
        return FetchedPage(total=total, records=records, decode=decode, invalid=invalid)

    def pager(self, *, skip: int = 0, take: int = 10, prefetch: int = 1) -> TimelinePager:
        return TimelinePager(self.fetch, skip=skip, take=take, prefetch=prefetch)


def _records(*ids: str) -> list[dict[str, Any]]:
    return [{"id": record_id} for record_id in ids]


def test_join_index_trusts_the_coordinates_when_the_anchor_is_where_expected() -> None:
    seen = SeenIds(initial=("a", "b"))
    assert join_index(_records("b", "c", "d"), 0, "b", seen) == 0


def test_join_index_finds_a_shifted_anchor_by_its_id() -> None:
    seen = SeenIds(initial=("a", "b"))
    # Two events were inserted before the anchor: it moved two places on.
    assert join_index(_records("x", "y", "b", "c"), 0, "b", seen) == 2


def test_join_index_falls_back_to_the_latest_id_already_yielded() -> None:
    seen = SeenIds(initial=("a", "b", "c"))
    # The anchor "c" was deleted: "b" is the latest yielded event the page still holds.
    assert join_index(_records("a", "b", "d", "e"), 2, "c", seen) == 1


def test_join_index_beside_the_anchor_joins_only_on_the_anchor_itself() -> None:
    seen = SeenIds(initial=("a", "b", "c"))
    # A short page that ends before the anchor holds only events already yielded.
    assert join_index(_records("a", "b"), 2, "c", seen) is None
    assert join_index(_records("b", "c", "d"), 5, "c", seen) == 1


def test_join_index_says_none_when_nothing_joins() -> None:
    seen = SeenIds(initial=("a", "b"))
    assert join_index(_records("d", "e"), 0, "b", seen) is None
    assert join_index([], 0, "b", seen) is None


def test_page_size_estimate_is_take_for_a_server_that_never_caps() -> None:
    assert page_size_estimate(collections.deque([100] * 8), 100) == 100
    assert page_size_estimate(collections.deque(), 100) == 100


def test_page_size_estimate_learns_a_fixed_cap() -> None:
    assert page_size_estimate(collections.deque([50] * 8), 100) == 50


def test_page_size_estimate_for_varying_caps_does_not_shrink_to_the_smallest_page() -> None:
    rng = random.Random(7)
    sizes = collections.deque(rng.randint(40, 100) for _ in range(32))
    # A stride of the smallest page (40) would cost about 1.75x the requests of
    # sequential paging; a long stride costs one gap-filling request now and then.
    assert page_size_estimate(sizes, 100) >= sorted(sizes)[len(sizes) // 2]


async def test_iterates_every_event_in_order() -> None:
    fake = FakeTimeline(25)
    events = await fake.pager(take=10).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]
    # From the second page on, each request starts at the last event yielded: the anchor.
    assert fake.calls == [(0, 10), (9, 10), (18, 10)]


async def test_short_pages_fill_the_gap_and_skip_nothing() -> None:
    fake = FakeTimeline(25, max_take=7)
    events = await fake.pager(take=10).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]
    assert [skip for skip, _ in fake.calls] == [0, 6, 12, 18]


async def test_a_total_that_is_too_high_stops_on_the_empty_page() -> None:
    fake = FakeTimeline(12, total_bias=+50)
    events = await fake.pager(take=5).to_list()
    assert len(events) == 12
    # The short page at 8 is confirmed as the end by one request at its last event.
    assert fake.calls == [(0, 5), (4, 5), (8, 5), (11, 5)]


async def test_empty_timeline_yields_one_empty_page_and_no_events() -> None:
    fake = FakeTimeline(0)
    pages = [page async for page in fake.pager().pages()]
    assert pages == [wa.TimelinePage(total=0, records=[], skip=0, take=10)]
    assert await fake.pager().to_list() == []


async def test_pages_report_their_skip_take_and_total() -> None:
    fake = FakeTimeline(15)
    pages = [page async for page in fake.pager(skip=2, take=5).pages()]
    assert [(p.skip, p.take, p.total, len(p.records)) for p in pages] == [
        (2, 5, 15, 5),
        (7, 5, 15, 4),
        (11, 5, 15, 4),
    ]


async def test_records_inserted_while_paging_are_never_yielded_twice() -> None:
    fake = FakeTimeline(30)
    # Three new events land at the front before the second request: offsets shift by three.
    fake.before_fetch = [0, 3]
    events = await fake.pager(take=10).to_list()
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids))
    assert ids[:10] == [f"e{n:05d}" for n in range(10)]
    assert set(ids) >= {f"e{n:05d}" for n in range(30)}


async def test_pages_never_repeat_an_event_either() -> None:
    fake = FakeTimeline(30)
    fake.before_fetch = [0, 4, 4]
    seen: list[str] = []
    async for page in fake.pager(take=10).pages():
        seen.extend(e.id for e in page.records)
    assert len(seen) == len(set(seen))


async def test_a_page_of_only_repeats_is_not_yielded() -> None:
    fake = FakeTimeline(20)
    fake.before_fetch = [0, 10]  # the whole second page is the first page again
    pages = [page async for page in fake.pager(take=10).pages()]
    assert all(page.records for page in pages)
    ids = [e.id for page in pages for e in page.records]
    assert len(ids) == len(set(ids)) == 20


async def test_breaking_early_stops_requesting() -> None:
    fake = FakeTimeline(100)
    async for event in fake.pager(take=10):
        if event.id == "e00012":
            break
    assert len(fake.calls) == 2


async def test_each_iteration_starts_again_from_the_first_page() -> None:
    fake = FakeTimeline(12)
    pager = fake.pager(take=10)
    first = await pager.to_list()
    second = await pager.to_list()
    assert first == second
    assert fake.calls == [(0, 10), (9, 10), (0, 10), (9, 10)]


async def test_fetch_errors_propagate() -> None:
    async def failing(skip: int, take: int) -> FetchedPage:
        raise wa.APIConnectionError("down", method="GET", url="u")

    with pytest.raises(wa.APIConnectionError):
        await TimelinePager(failing, skip=0, take=10).to_list()


async def test_raw_yields_the_servers_dicts_untouched_and_deduplicated() -> None:
    fake = FakeTimeline(12)
    fake.events[3]["future_field"] = {"nested": [1, 2]}
    fake.before_fetch = [0, 2]
    raw = [record async for record in fake.pager(take=5).raw()]
    ids = [record["id"] for record in raw]
    assert len(ids) == len(set(ids))
    assert raw[3] == {"id": "e00003", "future_field": {"nested": [1, 2]}}
    assert raw[3] is fake.events[5]  # the very dict the server sent: nothing copied or decoded


async def test_raw_pages_resume_after_the_cursor_of_an_earlier_iteration() -> None:
    fake = FakeTimeline(10)
    pages = fake.pager(take=3).raw_pages()
    first = await anext(pages)
    await pages.aclose()
    assert first.cursor == wa.TimelineCursor(
        event_id="e00002", skip=2, total=10, recent_ids=("e00000", "e00001")
    )
    fake.calls.clear()
    resumed = [page async for page in fake.pager(take=3).raw_pages(after=first.cursor)]
    assert [r["id"] for page in resumed for r in page.records] == [
        f"e{n:05d}" for n in range(3, 10)
    ]
    assert fake.calls[0] == (2, 3)  # at the anchor, the cursor's own event


def test_seen_ids_window_forgets_the_oldest() -> None:
    seen = SeenIds(window=3)
    assert [seen.add(i) for i in ["a", "b", "c", "a"]] == [True, True, True, False]
    assert seen.add("d")
    assert len(seen) == 3
    assert seen.add("a")  # forgotten: outside the window
    assert not seen.add("d")


def test_seen_ids_without_window_remembers_everything() -> None:
    seen = SeenIds()
    for n in range(1000):
        seen.add(str(n))
    assert not seen.add("0")
    assert len(seen) == 1000


@pytest.mark.parametrize("prefetch", [2, 4, 8])
async def test_prefetch_yields_every_event_in_order(prefetch: int) -> None:
    fake = FakeTimeline(95, delay=0.001)
    events = await fake.pager(take=10, prefetch=prefetch).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]


async def test_prefetch_keeps_several_requests_in_flight_but_never_more_than_asked() -> None:
    fake = FakeTimeline(200, delay=0.005)
    await fake.pager(take=10, prefetch=4).to_list()
    assert fake.max_in_flight == 4
    assert len(fake.calls) == 23  # 1 + 199 / 9 pages: none beyond the total


async def test_prefetch_refills_without_waiting_for_the_reader() -> None:
    fake = FakeTimeline(100, delay=0.001)
    pages = fake.pager(take=10, prefetch=3).pages()
    await anext(pages)
    await anext(pages)  # asking for a second page starts the speculation
    await asyncio.sleep(0.05)  # the reader dawdles; answers arrive meanwhile
    # Two pages read, then 3 in flight that completed and 3 more, at most, waiting.
    assert 2 + 3 <= len(fake.calls) <= 2 + 3 + 3
    await pages.aclose()


async def test_prefetch_fills_the_gaps_of_short_pages() -> None:
    fake = FakeTimeline(103, max_take=7, delay=0.001)
    events = await fake.pager(take=10, prefetch=4).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]


async def test_prefetch_with_inserts_never_repeats_an_event() -> None:
    fake = FakeTimeline(60, delay=0.001)
    fake.before_fetch = [0, 3, 0, 5]
    originals = {e["id"] for e in fake.events}
    ids = [e.id for e in await fake.pager(take=10, prefetch=4).to_list()]
    assert len(ids) == len(set(ids))
    assert originals <= set(ids)  # inserts shift offsets forward: nothing old is skipped


async def test_prefetch_stops_on_a_total_that_is_too_high() -> None:
    fake = FakeTimeline(30, total_bias=+25, delay=0.001)
    events = await fake.pager(take=10, prefetch=4).to_list()
    assert len(events) == 30


async def test_leaving_a_prefetching_loop_cancels_requests_in_flight() -> None:
    fake = FakeTimeline(1000, delay=0.01)
    pages = fake.pager(take=10, prefetch=8).pages()
    await anext(pages)
    await anext(pages)  # speculation runs from the second page on
    await pages.aclose()
    await asyncio.sleep(0.03)
    assert fake.in_flight == 0
    assert fake.finished < len(fake.calls)  # the cancelled ones never finished


async def test_prefetch_errors_surface_in_order() -> None:
    fake = FakeTimeline(100, delay=0.001)
    real_fetch = fake.fetch

    async def flaky(skip: int, take: int) -> FetchedPage:
        if skip == 27:
            raise wa.APIConnectionError("boom", method="GET", url="u")
        return await real_fetch(skip, take)

    seen: list[str] = []

    async def read_all() -> None:
        async for event in TimelinePager(flaky, skip=0, take=10, prefetch=4):
            seen.append(event.id)

    with pytest.raises(wa.APIConnectionError):
        await read_all()
    assert seen == [f"e{n:05d}" for n in range(28)]


async def test_prefetch_makes_no_extra_request_when_the_reader_stops_after_one_page() -> None:
    fake = FakeTimeline(500, delay=0.001)
    pages = fake.pager(take=10, prefetch=8).pages()
    await anext(pages)
    await asyncio.sleep(0.02)
    await pages.aclose()
    assert fake.calls == [(0, 10)]


async def test_prefetch_against_a_capped_server_realigns_and_wastes_little() -> None:
    fake = FakeTimeline(140, max_take=7, delay=0.001)
    events = await fake.pager(take=50, prefetch=4).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]
    skips = [skip for skip, _ in fake.calls]
    assert all(skip % 6 == 0 for skip in skips)  # every request starts at a page's anchor
    # Sequential paging needs 1 + 133 / 6 = 24 requests; the first short page costs a few.
    assert len(skips) <= 24 + 4


@pytest.mark.parametrize("window", [None, 1, 3, 7, 50])
def test_seen_ids_fresh_agrees_with_adding_one_by_one(window: int | None) -> None:
    rng = random.Random(window or 0)
    bulk, single = SeenIds(window), SeenIds(window)
    universe = [f"e{n}" for n in range(400)]
    for _ in range(300):
        # Pages of new ids, with now and then an id repeated from earlier or within the page.
        page = [{"id": f"e{rng.randrange(400)}"} for _ in range(rng.randrange(0, 12))]
        expected = [record for record in page if single.add(record["id"])]
        assert bulk.fresh(page) == expected
        assert len(bulk) == len(single)
        # The same ids remembered after every page, so the same ones fall out of the window.
        assert [i for i in universe if i in bulk] == [i for i in universe if i in single]


def test_seen_ids_fresh_hands_back_an_all_new_page_as_is() -> None:
    seen = SeenIds(window=4)
    page = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert seen.fresh(page) is page
    assert seen.fresh([{"id": "c"}, {"id": "d"}, {"id": "e"}]) == [{"id": "d"}, {"id": "e"}]
    assert len(seen) == 4  # b, c, d, e: a fell out of the window
    assert seen.fresh([{"id": "a"}]) == [{"id": "a"}]


async def test_the_pager_drops_repeats_when_offsets_shift() -> None:
    fake = FakeTimeline(200)
    fake.before_fetch = [0, 0, 0, 7]  # 7 events shift the offsets before the 4th request
    original = [f"e{n:05d}" for n in range(200)]
    events = await fake.pager(take=10).to_list()
    assert [event.id for event in events] == original  # the 7 repeats were dropped
    fake = FakeTimeline(200)
    fake.before_fetch = [0, 0, 0, 5]
    raw = [r["id"] async for r in fake.pager(take=10).raw()]
    assert raw == original


async def _requests_on_a_total_too_high(seed: int, prefetch: int) -> list[int]:
    records = [
        {"id": f"e{n}", "event_type": "NOTE", "event_at": "2026-01-01T00:00:00Z"} for n in range(90)
    ]
    rng = random.Random(seed)
    asked: list[int] = []

    async def fetch(skip: int, take: int) -> FetchedPage[wa.TimelineEvent]:
        asked.append(skip)
        await asyncio.sleep(rng.uniform(0.0, 0.003))
        page = records[skip : skip + take]
        return FetchedPage(total=100_000, records=page, decode=decode, invalid=invalid)

    pager = TimelinePager(fetch, skip=0, take=25, prefetch=prefetch)
    ids = [record["id"] async for record in pager.raw()]
    assert ids == [record["id"] for record in records]
    return asked


@pytest.mark.parametrize("prefetch", [2, 8])
async def test_a_short_page_answered_before_its_callback_ran_still_stops_speculation(
    prefetch: int,
) -> None:
    # 90 events, a total of 100,000, take 25: sequential paging needs 5 requests and
    # speculation may add one. Random delays make answers land in every order, including
    # a short page whose task is done while its done-callback has not run yet.
    for seed in range(40):
        asked = await _requests_on_a_total_too_high(seed, prefetch)
        assert len(asked) <= 6, (seed, asked)


async def test_the_pager_remembers_the_latest_ids_only() -> None:
    # Memory stays flat however long the timeline: an id repeated within the latest
    # DEDUPE_WINDOW ids is dropped, one yielded longer ago is no longer known.
    fake = FakeTimeline(DEDUPE_WINDOW + 50)
    original = [event["id"] for event in fake.events]
    oldest, recent = original[0], original[-10]
    fake.events += [{"id": oldest}, {"id": recent}, {"id": "tail"}]
    raw = [r["id"] async for r in fake.pager(take=100).raw()]
    assert raw == [*original, oldest, "tail"]


@pytest.mark.parametrize("prefetch", [2, 4, 8])
async def test_a_page_taken_in_the_turn_it_arrived_is_not_asked_for_again(prefetch: int) -> None:
    # The server answers in batches, and the consumer (an export writing in a thread) is
    # woken in the same turn of the loop as an answer, right after it: the reader then takes
    # a page whose task is done while its done-callback has not run yet. It must not ask
    # for that page again (a wasted request the server sees, and a page fetched twice).
    records = [{"id": f"e{n}"} for n in range(400)]
    asked: list[int] = []
    answers, consumer = asyncio.Event(), asyncio.Event()

    async def fetch(skip: int, take: int) -> FetchedPage[wa.TimelineEvent]:
        asked.append(skip)
        await answers.wait()
        page = records[skip : skip + take]
        return FetchedPage(total=len(records), records=page, decode=decode, invalid=invalid)

    async def every_millisecond() -> None:
        nonlocal answers, consumer
        while True:
            await asyncio.sleep(0.001)
            # One turn: the answers land, then the consumer's write finishes.
            answers.set()
            consumer.set()
            answers, consumer = asyncio.Event(), asyncio.Event()

    clock = asyncio.create_task(every_millisecond())
    ids: list[str] = []
    try:
        pager = TimelinePager(fetch, skip=0, take=50, prefetch=prefetch)
        async for page in pager.raw_pages():
            ids += [record["id"] for record in page.records]
            await consumer.wait()
    finally:
        clock.cancel()
    assert ids == [record["id"] for record in records]
    assert sorted(asked) == [0, 49, 98, 147, 196, 245, 294, 343, 392], asked


def _anchored_requests(events: int, take: int) -> int:
    # The first page brings ``take`` events, every later one ``take - 1``: it starts at the
    # anchor, the last event already yielded.
    return 1 + -(-(events - take) // (take - 1))


@pytest.mark.parametrize("prefetch", [1, 4])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("take", [10, 100])
async def test_a_quiet_timeline_costs_one_request_per_take_minus_one_events(
    take: int, order: str, prefetch: int
) -> None:
    # 2,000 events at take 10: 223 requests, the overlap of one event a page and nothing
    # else (no final empty page, no page asked twice, no speculation past the end).
    async with WeglyEmulator() as emu, emu.client(max_retries=0) as client:
        chat_id = emu.create_chat(events=2000, seed=3)
        expected = [event["id"] for event in emu.events(chat_id)]
        emu.requests.clear()
        pager = client.chats.timeline(chat_id, order=order, take=take, prefetch=prefetch)
        ids = [record["id"] async for record in pager.raw()]
        asked = sorted(int(request.query["skip"]) for request in emu.requests)
    assert ids == (expected if order == "asc" else expected[::-1])
    assert len(asked) == _anchored_requests(2000, take) == (223 if take == 10 else 21)
    assert asked == [0, *range(take - 1, 2000 - 1, take - 1)]


async def test_the_anchor_catches_a_deletion_that_leaves_the_total_unchanged() -> None:
    # Why every page overlaps the one before: between two requests an event the reader
    # passed is deleted and a new one arrives, so the total says nothing changed. A page
    # asked at the next offset would silently miss the event that moved behind it.
    events = [{"id": f"e{n:03d}"} for n in range(30)]
    asked: list[int] = []

    async def fetch(skip: int, take: int) -> FetchedPage[wa.TimelineEvent]:
        asked.append(skip)
        if len(asked) == 2:
            del events[3]
            events.append({"id": "new"})
        page = events[skip : skip + take]
        return FetchedPage(total=len(events), records=page, decode=decode, invalid=invalid)

    pager = TimelinePager(fetch, skip=0, take=10, prefetch=1)
    ids = [record["id"] async for record in pager.raw()]
    assert ids == [f"e{n:03d}" for n in range(30)] + ["new"]  # e003 came with the first page
    # The page at the anchor (9) did not hold it; a re-read around it (4) joined at e009.
    assert asked[:3] == [0, 9, 4]


@pytest.mark.parametrize("prefetch", [1, 2, 4, 16])
async def test_a_page_that_does_not_join_stops_speculation_until_a_re_read_joins(
    prefetch: int,
) -> None:
    # The 150 oldest events, the anchor among them, vanish before the first page past
    # offset 100 is answered: no page can join again. Only the re-reads go out then, not
    # a page of speculation ahead of each (whatever its coordinates say is wrong).
    events = [{"id": f"e{n:03d}"} for n in range(600)]
    asked: list[int] = []

    async def fetch(skip: int, take: int) -> FetchedPage[wa.TimelineEvent]:
        asked.append(skip)
        if skip > 100 and len(events) == 600:
            del events[:150]
        page = events[skip : skip + take]
        return FetchedPage(total=len(events), records=page, decode=decode, invalid=invalid)

    with pytest.raises(wa.TimelineChangedError):
        async for _ in TimelinePager(fetch, skip=0, take=50, prefetch=prefetch).raw():
            pass
    ahead = [196] if prefetch > 1 else []  # in flight when the first page did not join
    assert asked == [0, 49, 98, 147, *ahead, 122, 122, 122]
