"""The generic offset pager: iterate any list route lazily, by record, by page, raw, or whole.

Its pages and cursor are models, in ``wegly_async.types.pages``.

The paging engine, which keeps offset pages joined while the list moves, is ``_walker.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from ._enums import Order
from ._walker import FetchedPage, FetchPage, Records, Walker
from .types.pages import OffsetPage, RawPage, TimelineCursor

__all__ = ["OffsetPager"]

T = TypeVar("T")


class OffsetPager(Generic[T]):
    """Iterate a list route lazily: by record, by page, raw, or all at once.

    ``async for item in pager`` yields records across every page; ``pager.pages()``
    yields each page; ``pager.raw()`` yields the records as the server's own dicts;
    ``await pager.to_list()`` collects them. Each iteration starts again from the first
    page. Every record that existed when the iteration started is yielded exactly once and
    in order while new ones arrive at the moving end (the end in ``asc``, the head in
    ``desc``); records added meanwhile are yielded at most once (by ``key``, their id); a
    change the pager cannot place raises ``TimelineChangedError``. With ``limit`` an
    iteration stops after that many records, and no request asks for more than it needs.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        skip: int,
        take: int,
        prefetch: int = 1,
        order: Order = Order.ASC,
        chat_id: str | None = None,
        key: str = "id",
        limit: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._limit = limit
        self._skip = skip
        self._take = take
        self._prefetch = prefetch
        self._order = order
        self._chat_id = chat_id
        self._key = key

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} order={self._order.value} skip={self._skip} "
            f"take={self._take} prefetch={self._prefetch} limit={self._limit}>"
        )

    def __aiter__(self) -> AsyncIterator[T]:
        return self._records()

    async def _records(self) -> AsyncIterator[T]:
        async for page, decode in self._walk(None, None):
            if page.records:
                for record in decode(page.records):
                    yield record

    async def pages(self) -> AsyncGenerator[OffsetPage[T], None]:
        """Yield the list page by page: the first always, later ones when they add records."""
        async for page, decode in self._walk(None, None):
            records = decode(page.records) if page.records else []
            yield OffsetPage(total=page.total, records=records, skip=page.skip, take=page.take)

    async def raw(self) -> AsyncGenerator[dict[str, Any], None]:
        """Yield every record as the server sent it (unknown fields kept), without decoding."""
        async for page in self.raw_pages():
            for record in page.records:
                yield record

    async def raw_pages(
        self,
        *,
        after: TimelineCursor | None = None,
        limiter: asyncio.Semaphore | None = None,
    ) -> AsyncGenerator[RawPage, None]:
        """Yield pages of raw records, resuming ``after`` a cursor an earlier iteration reported.

        ``limiter`` is held by every request of this iteration, so several pagers can share
        one budget of requests in flight.
        """
        async for page, _ in self._walk(after, limiter):
            yield page

    async def to_list(self) -> list[T]:
        """Return every record of the list in one list."""
        return [record async for record in self]

    async def _walk(
        self, after: TimelineCursor | None, limiter: asyncio.Semaphore | None
    ) -> AsyncIterator[tuple[RawPage, Callable[[Records], list[T]]]]:
        fetch = self._fetch
        if limiter is not None:
            gate = limiter

            async def fetch_within(skip: int, take: int) -> FetchedPage[Any]:
                async with gate:
                    return await self._fetch(skip, take)

            fetch = fetch_within
        walker = Walker(
            fetch,
            desc=self._order is Order.DESC,
            start=self._skip,
            take=self._take,
            width=self._prefetch,
            after=after,
            chat_id=self._chat_id,
            key=self._key,
            limit=self._limit,
        )
        left = self._limit
        try:
            first = True
            while (step := await walker.next_page()) is not None:
                answer, start = step
                fresh = walker.seen.fresh(answer.page.records[start:])
                if left is not None:
                    fresh = _within_limit(walker, answer, start, fresh, left)
                    left -= len(fresh)
                    walker.consumed(len(fresh))
                if fresh or first:
                    page = RawPage(
                        total=answer.page.total,
                        records=fresh,
                        skip=answer.skip + start,
                        take=self._take,
                        cursor=walker.cursor(),
                    )
                    yield page, answer.page.decode
                first = False
        finally:
            await walker.aclose()


def _within_limit(walker: Walker, answer: Any, start: int, fresh: Records, left: int) -> Records:
    """Return the first ``left`` of ``fresh``, moving the walker back to the last one kept."""
    if len(fresh) <= left:
        return fresh
    kept = fresh[:left]
    last = kept[-1]
    stop = next(i for i in range(start, len(answer.page.records)) if answer.page.records[i] is last)
    walker.truncate(answer, stop + 1)
    return kept
