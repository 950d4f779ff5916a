"""A chat's timeline: the offset pager over its events."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from ...pagination import OffsetPager
from ...types.timeline import TimelineEvent, TimelinePage

__all__ = ["TimelinePager"]


class TimelinePager(OffsetPager[TimelineEvent]):
    """Iterate a chat's timeline lazily: by event, by page, raw, or all at once.

    ``async for event in pager`` yields events across every page; ``pager.pages()``
    yields each ``TimelinePage``; ``pager.raw()`` yields the events as the server's own
    dicts; ``await pager.to_list()`` collects them. Each iteration starts again from the
    first page. Every event that existed when the iteration started is yielded exactly
    once and in order while new events arrive at the moving end (the end in ``asc``, the
    head in ``desc``); events added meanwhile are yielded at most once; a change the pager
    cannot place raises ``TimelineChangedError``.
    """

    async def pages(self) -> AsyncGenerator[TimelinePage, None]:
        """Yield the timeline page by page: the first always, later ones when they add events."""
        async for page in super().pages():
            yield TimelinePage(page.total, page.records, page.skip, page.take)
