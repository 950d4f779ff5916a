"""Offset pagination: the paging arithmetic, duplicate suppression, and the pager users iterate."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

from ._constants import DEDUPE_WINDOW
from ._models import TimelineEvent, TimelinePage

__all__ = ["FetchedPage", "OffsetCursor", "RawPage", "SeenIds", "TimelinePager"]


@attrs.define
class OffsetCursor:
    """Track where the next page starts, trusting only what the server actually returned.

    A server may return fewer records than asked (its own cap), so ``skip`` advances by
    the records received, never by ``take``; it stops on an empty page (a ``total`` that
    is too high) or once ``skip`` reaches the latest ``total``.
    """

    skip: int
    take: int
    done: bool = False

    def advance(self, received: int, total: int) -> None:
        """Move past a page of ``received`` records whose answer reported ``total``."""
        if received == 0:
            self.done = True
            return
        self.skip += received
        if self.skip >= total:
            self.done = True


class SeenIds:
    """Remember which record ids were already yielded, all of them or the latest ``window``.

    Events inserted ahead of the cursor while paging push already-yielded records into
    the next page; a window of recent ids catches those repeats in bounded memory as long
    as fewer than ``window`` events are inserted between two page requests.
    """

    def __init__(self, window: int | None = None, initial: tuple[str, ...] = ()) -> None:
        self._window = window
        self._ids: set[str] = set()
        self._order: collections.deque[str] = collections.deque()
        for record_id in initial:
            self.add(record_id)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, record_id: str) -> bool:
        """Record ``record_id`` and return whether it was new."""
        if record_id in self._ids:
            return False
        self._ids.add(record_id)
        if self._window is not None:
            self._order.append(record_id)
            if len(self._order) > self._window:
                self._ids.discard(self._order.popleft())
        return True

    def fresh(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record the ids of ``records`` and return those not seen before, in order."""
        ids = [record["id"] for record in records]
        new = set(ids)
        if len(new) < len(ids) or not self._ids.isdisjoint(new):
            # A repeat: rare (inserts while paging), so take the one-by-one path.
            return [record for record in records if self.add(record["id"])]
        # The usual page, all new: record it with set and deque operations.
        self._ids |= new
        if self._window is not None:
            self._order.extend(ids)
            for _ in range(len(self._order) - self._window):
                self._ids.discard(self._order.popleft())
        return records


@attrs.frozen
class FetchedPage:
    """One raw answer: the server's total, its records as sent, and how to decode them."""

    total: int
    records: list[dict[str, Any]]
    decode: Callable[[list[dict[str, Any]]], list[TimelineEvent]]


# Fetch one page at (skip, take).
FetchPage = Callable[[int, int], Awaitable[FetchedPage]]


@attrs.frozen
class RawPage:
    """One page of records exactly as the server sent them, repeats removed."""

    total: int
    records: list[dict[str, Any]]
    skip: int
    take: int
    next_skip: int  # where the following page starts: skip plus every record received


class TimelinePager:
    """Iterate a chat's timeline lazily: by event, by page, raw, or all at once.

    ``async for event in pager`` yields events across every page; ``pager.pages()``
    yields each ``TimelinePage``; ``pager.raw()`` yields the events as the server's own
    dicts; ``await pager.to_list()`` collects them. Each iteration starts again from the
    first page. No event id is yielded twice, even when events inserted while paging shift
    the offsets: the pager remembers the latest 10,000 ids, which covers that many inserts
    between two page requests in memory that stays flat however long the timeline.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        skip: int,
        take: int,
        prefetch: int = 1,
    ) -> None:
        self._fetch = fetch
        self._skip = skip
        self._take = take
        self._prefetch = prefetch

    def __repr__(self) -> str:
        return f"<TimelinePager skip={self._skip} take={self._take} prefetch={self._prefetch}>"

    def __aiter__(self) -> AsyncIterator[TimelineEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TimelineEvent]:
        async for page in self.pages():
            for event in page.records:
                yield event

    async def pages(self) -> AsyncGenerator[TimelinePage, None]:
        """Yield the timeline page by page: the first always, later ones when they add events."""
        async for page, decode in self._fetch_pages(self._skip, SeenIds(DEDUPE_WINDOW)):
            records = decode(page.records) if page.records else []
            yield TimelinePage(total=page.total, records=records, skip=page.skip, take=page.take)

    async def raw(self) -> AsyncGenerator[dict[str, Any], None]:
        """Yield every event as the server sent it (unknown fields kept), without decoding."""
        async for page in self.raw_pages():
            for record in page.records:
                yield record

    async def raw_pages(
        self, *, skip: int | None = None, seen: SeenIds | None = None
    ) -> AsyncGenerator[RawPage, None]:
        """Yield pages of raw records, optionally resuming at ``skip`` with ids already ``seen``."""
        start = self._skip if skip is None else skip
        # Not ``seen or ...``: an empty SeenIds is falsy, and must still be the one used.
        if seen is None:
            seen = SeenIds(DEDUPE_WINDOW)
        async for page, _ in self._fetch_pages(start, seen):
            yield page

    async def to_list(self) -> list[TimelineEvent]:
        """Return every event of the timeline in one list."""
        return [event async for event in self]

    async def _fetch_pages(
        self, skip: int, seen: SeenIds
    ) -> AsyncIterator[tuple[RawPage, Callable[[list[dict[str, Any]]], list[TimelineEvent]]]]:
        cursor = OffsetCursor(skip=skip, take=self._take)
        prefetcher = _Prefetcher(self._fetch, skip, self._take, self._prefetch)
        try:
            first = True
            while not cursor.done:
                page_skip = cursor.skip
                asked, fetched = await prefetcher.page_at(page_skip)
                cursor.advance(len(fetched.records), fetched.total)
                fresh = seen.fresh(fetched.records)
                if fresh or first:
                    page = RawPage(
                        total=fetched.total,
                        records=fresh,
                        skip=page_skip,
                        take=asked,
                        next_skip=cursor.skip,
                    )
                    yield page, fetched.decode
                first = False
        finally:
            await prefetcher.aclose()


class _Prefetcher:
    """Keep up to ``width`` page requests in flight ahead of the reader, handing pages out in order.

    Requests go out at speculative offsets ``take`` apart and are refilled as soon as any
    answer arrives; a short answer (a server capping ``take``) gets its gap requested at
    once and narrows the stride to what the server really returns. At most ``width``
    requests are in flight and at most ``width`` answers wait for the reader. Speculation
    starts when the reader asks for a second page, so a loop that stops after the first
    page (a bot reading the newest messages) costs no extra request.
    """

    def __init__(self, fetch: FetchPage, start: int, take: int, width: int) -> None:
        self._fetch = fetch
        self._take = take
        self._width = width
        self._stride = take
        self._next = start
        self._limit: int | None = None  # the latest total: no speculation past it
        self._pages: dict[int, tuple[int, asyncio.Task[FetchedPage]]] = {}
        self._reads = 0
        self._reader_at = start
        self._closed = False

    async def page_at(self, offset: int) -> tuple[int, FetchedPage]:
        """Return the page starting at ``offset`` and the take it was asked with."""
        if self._width <= 1:
            # One page at a time: no task, no speculation (_spawn and _fill never run).
            return self._take, await self._fetch(offset, self._take)
        self._reads += 1
        self._reader_at = offset
        for start in [start for start in self._pages if start < offset]:
            # Behind the reader (a server that returned more than asked): never needed.
            self._pages.pop(start)[1].cancel()
        entry = self._pages.get(offset) or self._spawn(offset, self._gap_at(offset))
        self._fill()
        take, task = entry
        try:
            page = await task
        finally:
            # Counted as in flight, then as waiting, until the reader has it.
            self._pages.pop(offset, None)
        self._fill()
        return take, page

    async def aclose(self) -> None:
        """Cancel every request still in flight and wait for them to end."""
        self._closed = True
        tasks = [task for _, task in self._pages.values()]
        self._pages.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _gap_at(self, offset: int) -> int:
        later = [start for start in self._pages if start > offset]
        return min(self._take, min(later) - offset) if later else self._take

    def _spawn(self, offset: int, take: int) -> tuple[int, asyncio.Task[FetchedPage]]:
        task = asyncio.ensure_future(self._fetch(offset, take))
        entry = (take, task)
        task.add_done_callback(lambda done: self._on_done(offset, take, done))
        self._pages[offset] = entry
        # A capped server answers ``stride`` records whatever ``take`` asks.
        self._next = max(self._next, offset + min(take, self._stride))
        return entry

    def _on_done(self, offset: int, take: int, task: asyncio.Task[FetchedPage]) -> None:
        if self._closed or task.cancelled() or task.exception() is not None:
            return
        page = task.result()
        self._limit = page.total
        received = len(page.records)
        if 0 < received < take:
            # The server capped the page: learn its real page size.
            self._stride = min(self._stride, received)
            if offset == self._reader_at:
                self._realign(offset + received)
        self._fill()

    def _realign(self, frontier: int) -> None:
        """Drop speculation laid out with an old stride and go on from ``frontier``."""
        stride = self._stride
        for start in [s for s in self._pages if s > frontier and (s - frontier) % stride]:
            self._pages.pop(start)[1].cancel()
        self._next = frontier

    def _fill(self) -> None:
        if self._limit is None or self._closed or self._reads < 2:
            return
        tasks = [task for _, task in self._pages.values()]
        in_flight = sum(not task.done() for task in tasks)
        waiting = len(tasks) - in_flight
        while in_flight < self._width and waiting < self._width and self._next < self._limit:
            if self._next in self._pages:
                self._next += min(self._pages[self._next][0], self._stride)
                continue
            self._spawn(self._next, self._take)
            in_flight += 1
