"""Offset pagination: the paging arithmetic and the pager users iterate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import attrs

from ._models import TimelineEvent, TimelinePage

__all__ = ["OffsetCursor", "TimelinePager"]


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


# Fetch one page: (skip, take) -> the server's total and the records it returned.
FetchPage = Callable[[int, int], Awaitable[tuple[int, list[TimelineEvent]]]]


class TimelinePager:
    """Iterate a chat's timeline lazily: by event, by page, or all at once.

    ``async for event in pager`` yields events across every page;
    ``pager.pages()`` yields each ``TimelinePage``; ``await pager.to_list()`` collects
    them. Each iteration starts again from the first page. No event id is yielded twice,
    even when events are inserted while paging shifts the offsets.
    """

    def __init__(self, fetch: FetchPage, *, skip: int, take: int) -> None:
        self._fetch = fetch
        self._skip = skip
        self._take = take

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
        cursor = OffsetCursor(skip=self._skip, take=self._take)
        seen: set[str] = set()
        first = True
        while not cursor.done:
            skip = cursor.skip
            total, records = await self._fetch(skip, cursor.take)
            cursor.advance(len(records), total)
            fresh = []
            for record in records:
                if record.id not in seen:
                    seen.add(record.id)
                    fresh.append(record)
            if fresh or first:
                yield TimelinePage(total=total, records=fresh, skip=skip, take=cursor.take)
            first = False

    async def to_list(self) -> list[TimelineEvent]:
        """Return every event of the timeline in one list."""
        return [event async for event in self]
