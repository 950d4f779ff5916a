"""Offset pagination: the paging arithmetic, duplicate suppression, and the pager users iterate."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

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
    the offsets.
    """

    def __init__(
        self, fetch: FetchPage, *, skip: int, take: int, dedupe_window: int | None = None
    ) -> None:
        self._fetch = fetch
        self._skip = skip
        self._take = take
        self._dedupe_window = dedupe_window

    def __repr__(self) -> str:
        return f"<TimelinePager skip={self._skip} take={self._take}>"

    def __aiter__(self) -> AsyncIterator[TimelineEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TimelineEvent]:
        async for page in self.pages():
            for event in page.records:
                yield event

    async def pages(self) -> AsyncIterator[TimelinePage]:
        """Yield the timeline page by page: the first always, later ones when they add events."""
        async for page, decode in self._fetch_pages(self._skip, SeenIds(self._dedupe_window)):
            records = decode(page.records) if page.records else []
            yield TimelinePage(total=page.total, records=records, skip=page.skip, take=page.take)

    async def raw(self) -> AsyncIterator[dict[str, Any]]:
        """Yield every event as the server sent it (unknown fields kept), without decoding."""
        async for page in self.raw_pages():
            for record in page.records:
                yield record

    async def raw_pages(
        self, *, skip: int | None = None, seen: SeenIds | None = None
    ) -> AsyncIterator[RawPage]:
        """Yield pages of raw records, optionally resuming at ``skip`` with ids already ``seen``."""
        start = self._skip if skip is None else skip
        # Not ``seen or ...``: an empty SeenIds is falsy, and must still be the one used.
        if seen is None:
            seen = SeenIds(self._dedupe_window)
        async for page, _ in self._fetch_pages(start, seen):
            yield page

    async def to_list(self) -> list[TimelineEvent]:
        """Return every event of the timeline in one list."""
        return [event async for event in self]

    async def _fetch_pages(
        self, skip: int, seen: SeenIds
    ) -> AsyncIterator[tuple[RawPage, Callable[[list[dict[str, Any]]], list[TimelineEvent]]]]:
        cursor = OffsetCursor(skip=skip, take=self._take)
        first = True
        while not cursor.done:
            page_skip = cursor.skip
            fetched = await self._fetch(page_skip, cursor.take)
            cursor.advance(len(fetched.records), fetched.total)
            fresh = [record for record in fetched.records if seen.add(record["id"])]
            if fresh or first:
                page = RawPage(
                    total=fetched.total,
                    records=fresh,
                    skip=page_skip,
                    take=cursor.take,
                    next_skip=cursor.skip,
                )
                yield page, fetched.decode
            first = False
