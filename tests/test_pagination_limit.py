"""``limit``: an iteration stops after that many records and asks for no more than it needs."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CHAT_ID, Router
from test_pagination import FakeTimeline, decode, invalid

import wegly_async as wa
from wegly_async._walker import FetchedPage
from wegly_async.resources.chats.timeline import TimelinePager
from wegly_async.testing import WeglyEmulator


def limited(
    timeline: FakeTimeline, *, limit: int, take: int = 100, prefetch: int = 1
) -> TimelinePager:
    return TimelinePager(timeline.fetch, skip=0, take=take, prefetch=prefetch, limit=limit)


async def ids(pager: TimelinePager) -> list[str]:
    return [event.id async for event in pager]


async def test_limit_stops_after_that_many_events_and_shrinks_the_last_take() -> None:
    timeline = FakeTimeline(1000)
    got = await ids(limited(timeline, limit=250))
    assert got == [f"e{n:05d}" for n in range(250)]
    # From the anchor: 100 asked (99 new), then only the 51 left plus the anchor.
    assert timeline.calls == [(0, 100), (99, 100), (198, 52)]


async def test_a_limit_below_take_asks_for_the_limit_only() -> None:
    timeline = FakeTimeline(1000)
    assert await ids(limited(timeline, limit=5)) == [f"e{n:05d}" for n in range(5)]
    assert timeline.calls == [(0, 5)]


async def test_a_limit_past_the_end_yields_everything() -> None:
    timeline = FakeTimeline(30)
    assert await ids(limited(timeline, limit=500, take=10)) == [f"e{n:05d}" for n in range(30)]
    assert all(skip + take <= 30 + 10 for skip, take in timeline.calls)


@pytest.mark.parametrize("prefetch", [2, 4, 8])
async def test_prefetch_makes_no_speculative_request_past_the_limit(prefetch: int) -> None:
    timeline = FakeTimeline(2000, delay=0.001)
    got = await ids(limited(timeline, limit=333, take=20, prefetch=prefetch))
    assert got == [f"e{n:05d}" for n in range(333)]
    assert max(skip + take for skip, take in timeline.calls) == 333
    assert timeline.max_in_flight > 1


async def test_pages_with_a_limit_hold_exactly_limit_records() -> None:
    timeline = FakeTimeline(1000)
    pages = [page async for page in limited(timeline, limit=150).pages()]
    assert [len(page.records) for page in pages] == [100, 50]


async def test_a_server_that_ignores_take_is_cut_at_the_limit_and_the_cursor_follows() -> None:
    events = [{"id": f"e{n:03d}"} for n in range(100)]

    async def fetch(skip: int, take: int) -> FetchedPage[Any]:
        return FetchedPage(100, events[skip : skip + 40], decode, invalid)

    pager = TimelinePager(fetch, skip=0, take=10, limit=25)
    pages = [page async for page in pager.raw_pages()]
    assert [record["id"] for page in pages for record in page.records] == [
        f"e{n:03d}" for n in range(25)
    ]
    cursor = pages[-1].cursor
    assert cursor is not None
    assert (cursor.event_id, cursor.skip) == ("e024", 24)
    # Resuming from that cursor continues right after the last record yielded.
    resumed = TimelinePager(fetch, skip=0, take=10, limit=3)
    after = [page async for page in resumed.raw_pages(after=cursor)]
    assert [record["id"] for page in after for record in page.records] == ["e025", "e026", "e027"]


@pytest.mark.parametrize(
    ("limit", "error"), [(0, ValueError), (-3, ValueError), (True, TypeError), ("5", TypeError)]
)
async def test_bad_limits_raise_before_any_request(
    router: Router, mock_client: wa.WeglyClient, limit: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="limit"):
        mock_client.chats.timeline(CHAT_ID, limit=limit)
    assert router.requests == []


async def test_the_newest_n_against_the_emulator_in_desc_order() -> None:
    async with WeglyEmulator() as emu, emu.client(max_retries=0) as client:
        chat_id = emu.create_chat(events=300, seed=7)
        newest = [event["id"] for event in emu.events(chat_id)][::-1][:50]
        emu.requests.clear()
        pager = client.chats.timeline(chat_id, order="desc", take=10, prefetch=4, limit=50)
        assert [event.id async for event in pager] == newest
        asked = [(int(r.query["skip"]), int(r.query["take"])) for r in emu.requests]
        assert max(skip + take for skip, take in asked) == 50
