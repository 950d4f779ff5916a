"""The paging arithmetic and the pager, against an in-memory fake of the offset API."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

import wegly_async as wa
from wegly_async import _pagination
from wegly_async._convert import converter
from wegly_async._pagination import FetchedPage, OffsetCursor, SeenIds, TimelinePager


def decode(records: list[dict[str, Any]]) -> list[wa.TimelineEvent]:
    return [converter.structure(record, wa.TimelineEvent) for record in records]


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
        return FetchedPage(total=len(self.events) + self.total_bias, records=records, decode=decode)

    def pager(self, *, skip: int = 0, take: int = 10, prefetch: int = 1) -> TimelinePager:
        return TimelinePager(self.fetch, skip=skip, take=take, prefetch=prefetch)


def test_cursor_advances_by_records_received_not_by_take() -> None:
    cursor = OffsetCursor(skip=0, take=100)
    cursor.advance(received=30, total=95)
    assert (cursor.skip, cursor.done) == (30, False)
    cursor.advance(received=30, total=95)
    cursor.advance(received=30, total=95)
    assert (cursor.skip, cursor.done) == (90, False)
    cursor.advance(received=5, total=95)
    assert (cursor.skip, cursor.done) == (95, True)


def test_cursor_stops_on_an_empty_page_whatever_total_says() -> None:
    cursor = OffsetCursor(skip=40, take=10)
    cursor.advance(received=0, total=1000)
    assert cursor.done
    assert cursor.skip == 40


def test_cursor_follows_a_growing_total() -> None:
    cursor = OffsetCursor(skip=0, take=10)
    cursor.advance(received=10, total=10)
    assert cursor.done
    cursor = OffsetCursor(skip=0, take=10)
    cursor.advance(received=10, total=12)
    assert not cursor.done


async def test_iterates_every_event_in_order() -> None:
    fake = FakeTimeline(25)
    events = await fake.pager(take=10).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]
    assert fake.calls == [(0, 10), (10, 10), (20, 10)]


async def test_short_pages_fill_the_gap_and_skip_nothing() -> None:
    fake = FakeTimeline(25, max_take=7)
    events = await fake.pager(take=10).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]
    assert [skip for skip, _ in fake.calls] == [0, 7, 14, 21]


async def test_a_total_that_is_too_high_stops_on_the_empty_page() -> None:
    fake = FakeTimeline(12, total_bias=+50)
    events = await fake.pager(take=5).to_list()
    assert len(events) == 12
    assert fake.calls[-1] == (12, 5)


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
        (7, 5, 15, 5),
        (12, 5, 15, 3),
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
    assert fake.calls == [(0, 10), (10, 10), (0, 10), (10, 10)]


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


async def test_raw_pages_resume_at_a_skip_with_ids_already_seen() -> None:
    fake = FakeTimeline(10)
    seen = SeenIds(initial=("e00004",))
    pages = [page async for page in fake.pager(take=3).raw_pages(skip=4, seen=seen)]
    assert [r["id"] for page in pages for r in page.records] == [f"e{n:05d}" for n in range(5, 10)]
    assert fake.calls[0] == (4, 3)
    assert [page.next_skip for page in pages] == [7, 10]


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


async def test_raw_pages_use_the_given_empty_window_not_a_new_unbounded_one() -> None:
    fake = FakeTimeline(50)
    seen = SeenIds(window=5)
    ids = [r["id"] async for page in fake.pager(take=10).raw_pages(seen=seen) for r in page.records]
    assert len(ids) == 50
    assert len(seen) == 5  # the caller's window did the remembering, and stayed bounded


@pytest.mark.parametrize("prefetch", [2, 4, 8])
async def test_prefetch_yields_every_event_in_order(prefetch: int) -> None:
    fake = FakeTimeline(95, delay=0.001)
    events = await fake.pager(take=10, prefetch=prefetch).to_list()
    assert [e.id for e in events] == [e["id"] for e in fake.events]


async def test_prefetch_keeps_several_requests_in_flight_but_never_more_than_asked() -> None:
    fake = FakeTimeline(200, delay=0.005)
    await fake.pager(take=10, prefetch=4).to_list()
    assert fake.max_in_flight == 4
    assert len(fake.calls) == 20  # no request beyond the total


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
        if skip == 30:
            raise wa.APIConnectionError("boom", method="GET", url="u")
        return await real_fetch(skip, take)

    seen: list[str] = []

    async def read_all() -> None:
        async for event in TimelinePager(flaky, skip=0, take=10, prefetch=4):
            seen.append(event.id)

    with pytest.raises(wa.APIConnectionError):
        await read_all()
    assert seen == [f"e{n:05d}" for n in range(30)]


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
    assert all(skip % 7 == 0 for skip in skips)  # every request starts where a page will
    assert len(skips) <= 140 // 7 + 4


@pytest.mark.parametrize("window", [None, 1, 3, 7, 50])
def test_seen_ids_fresh_agrees_with_adding_one_by_one(window: int | None) -> None:
    rng = random.Random(window or 0)
    bulk, single = SeenIds(window), SeenIds(window)
    for _ in range(300):
        # Pages of new ids, with now and then an id repeated from earlier or within the page.
        page = [{"id": f"e{rng.randrange(400)}"} for _ in range(rng.randrange(0, 12))]
        expected = [record for record in page if single.add(record["id"])]
        assert bulk.fresh(page) == expected
        assert len(bulk) == len(single)
    assert bulk._ids == single._ids
    assert list(bulk._order) == list(single._order)


def test_seen_ids_fresh_hands_back_an_all_new_page_as_is() -> None:
    seen = SeenIds(window=4)
    page = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert seen.fresh(page) is page
    assert seen.fresh([{"id": "c"}, {"id": "d"}, {"id": "e"}]) == [{"id": "d"}, {"id": "e"}]
    assert len(seen) == 4  # b, c, d, e: a fell out of the window
    assert seen.fresh([{"id": "a"}]) == [{"id": "a"}]


async def test_the_pager_remembers_a_bounded_window_of_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []

    class Recording(SeenIds):
        def fresh(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            kept = super().fresh(records)
            sizes.append(len(self))
            return kept

    monkeypatch.setattr(_pagination, "SeenIds", Recording)
    monkeypatch.setattr(_pagination, "DEDUPE_WINDOW", 25)
    fake = FakeTimeline(200)
    fake.before_fetch = [0, 0, 0, 7]  # 7 events shift the offsets before the 4th request
    original = [f"e{n:05d}" for n in range(200)]
    events = await fake.pager(take=10).to_list()
    assert [event.id for event in events] == original  # the 7 repeats were dropped
    assert max(sizes) == 25  # flat, not one id per event read
    fake = FakeTimeline(200)
    fake.before_fetch = [0, 0, 0, 5]
    raw = [r["id"] async for r in fake.pager(take=10).raw()]
    assert raw == original
