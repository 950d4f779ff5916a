"""Offset pagination over a timeline that keeps moving: anchored pages, speculation, the pager.

Offsets shift whenever events are inserted or deleted before them, so no offset alone
says where a page joins the one before it. Two things do:

- **Coordinates that do not move.** In ``asc`` order new events arrive at the end, so an
  event's offset is stable; in ``desc`` they arrive at the head, so ``offset - total``
  (counted from the oldest event) is. Each answer's own ``total`` places its records in
  these coordinates, whatever was inserted at the moving end in between.
- **An anchor.** Every page after the first is asked to start one record early, at the
  last event already yielded. A page joins when it holds that event: the records after it
  are exactly the ones that follow, because each answer is one contiguous slice.

A page that does not join (deletions, inserts in the middle) is read again over a wider
range, located by the ids already yielded, and only when that fails too does the pager
raise ``TimelineChangedError``: it never skips silently.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs

from ._constants import (
    CURSOR_IDS,
    DEDUPE_WINDOW,
    MAX_STALLED_PAGES,
    MAX_UNJOINED_PAGES,
    REGION_PAGES,
    SPECULATION_START_WIDTH,
)
from ._errors import TimelineChangedError, WeglyError
from .types.pages import TimelineCursor

__all__ = [
    "FetchPage",
    "FetchedPage",
    "Records",
    "SeenIds",
    "Walker",
    "join_index",
    "page_size_estimate",
]

T = TypeVar("T")

logger = logging.getLogger("wegly_async")

Records = list[dict[str, Any]]


class SeenIds:
    """Remember which record ids were already yielded, all of them or the latest ``window``."""

    def __init__(
        self, window: int | None = None, initial: tuple[str, ...] = (), *, key: str = "id"
    ) -> None:
        self._window = window
        self._key = key
        self._ids: set[str] = set()
        self._order: collections.deque[str] = collections.deque()
        for record_id in initial:
            self.add(record_id)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

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

    def fresh(self, records: Records) -> Records:
        """Record the ids of ``records`` and return those not seen before, in order."""
        key = self._key
        ids = [record[key] for record in records]
        new = set(ids)
        if len(new) < len(ids) or not self._ids.isdisjoint(new):
            # A repeat: only a server that reorders or repeats records sends one.
            return [record for record in records if self.add(record[key])]
        self._ids |= new
        if self._window is not None:
            self._order.extend(ids)
            for _ in range(len(self._order) - self._window):
                self._ids.discard(self._order.popleft())
        return records


@attrs.frozen
class FetchedPage(Generic[T]):
    """One raw answer: the server's total, its records as sent, and how to decode them."""

    total: int
    records: Records
    decode: Callable[[Records], list[T]]
    # Build the error for an answer that cannot be right (it names the request).
    invalid: Callable[[str], WeglyError]


# Fetch one page at (skip, take).
FetchPage = Callable[[int, int], Awaitable[FetchedPage[Any]]]


def join_index(
    records: Records, expected: int, anchor: str, seen: SeenIds, key: str = "id"
) -> int | None:
    """Return the index of the anchor in ``records`` (or of the latest id already yielded).

    ``expected`` is where the coordinates put the anchor; that is checked first. When the
    page should hold it but does not, the last record whose id was yielded is the anchor's
    stand-in: each answer is one contiguous slice, so what follows it has not been yielded.
    A page the coordinates place beside the anchor joins only if it holds the anchor itself.
    None when no record joins.
    """
    count = len(records)
    if 0 <= expected < count:
        if records[expected][key] == anchor:
            return expected
        for index in range(count - 1, -1, -1):
            if records[index][key] in seen:
                return index
        return None
    for index in range(count - 1, -1, -1):
        if records[index][key] == anchor:
            return index
    return None


def page_size_estimate(sizes: collections.deque[int], take: int) -> int:
    """Return the page size to lay speculative requests out with, from the sizes received.

    A stride ``s`` costs one request per ``s - 1`` new records, plus the requests that
    fill the gap when a page comes back with ``n < s`` records (``s - n`` records, at the
    mean page size each); the stride with the fewest requests per record wins. A server
    that never caps gives ``take``.
    """
    if not sizes:
        return take
    count = len(sizes)
    mean_new = max(sum(sizes) / count - 1.0, 1.0)
    best, best_cost = take, math.inf
    for stride in sorted({*sizes, take}, reverse=True):
        if stride < 2:
            continue
        fills = sum(math.ceil((stride - size) / mean_new) for size in sizes if size < stride)
        cost = (1.0 + fills / count) / (stride - 1)
        if cost < best_cost:
            best, best_cost = stride, cost
    return best


@attrs.frozen
class _Answer:
    """A request's answer placed in coordinates: ``base`` is the coordinate of its first record."""

    skip: int
    take: int
    page: FetchedPage[Any]
    base: int

    @property
    def last(self) -> int:
        """Return the coordinate of the answer's last record (``base - 1`` when empty)."""
        return self.base + len(self.page.records) - 1


class _Request:
    """A page request for coordinate ``key``: in flight, or answered and not yet read."""

    __slots__ = ("anchored", "answer", "expected", "key", "take", "task")

    def __init__(
        self, key: int, take: int, expected: int, task: asyncio.Task[_Answer], anchored: bool
    ) -> None:
        self.anchored = anchored
        self.expected = expected  # records it should bring, as the page size was estimated
        self.key = key
        self.take = take
        self.task = task
        self.answer: _Answer | None = None


class Walker:
    """Hand out, in order, the answers that continue the timeline, keeping requests ahead.

    The frontier is the coordinate of the last record handed out (the anchor). Up to
    ``width`` requests go out at coordinates a page apart ahead of it, refilled as answers
    arrive: two at first, doubling once four answers brought records (a total that is too
    high then costs at most one request past the end); a short page stops speculation
    until the next page shows the server caps pages rather than ending there; a capped
    page's gap is asked for at once; a page that does not join stops speculation until a
    re-read joins.
    """

    def __init__(
        self,
        fetch: FetchPage,
        *,
        desc: bool,
        start: int,
        take: int,
        width: int,
        after: TimelineCursor | None,
        chat_id: str | None,
        key: str = "id",
        limit: int | None = None,
    ) -> None:
        self._key = key
        # Records still wanted past the frontier (None: all); the reader counts them off.
        self._left = limit
        self._fetch = fetch
        self._desc = desc
        self._start = start
        self._take = take
        # From the anchor, a page holds take - 1 new records: at least one must fit. The
        # overlap is what proves a page joins the one before (without it, a deletion behind
        # the reader offset by an arrival goes unseen, the total unchanged), and it costs one
        # request per take - 1 events: 223 for 2,000 events at take 10, 21 at take 100. The
        # request still asks for take, not take + 1: the server's largest take is unknown,
        # and the caller's take may be exactly it.
        self._anchored_take = max(take, 2)
        self._width = width
        self._chat_id = chat_id
        self.seen = SeenIds(DEDUPE_WINDOW, key=key)
        self._recent: collections.deque[str] = collections.deque(maxlen=CURSOR_IDS)
        self._frontier: int | None = None
        self._anchor: str | None = None
        self._anchor_skip = 0
        self._anchor_total = 0
        self._total: int | None = None  # the latest total, by arrival
        self._end: int | None = None  # a coordinate known to hold no record
        self._done = False
        # Whether this iteration has an answer yet: a resumed one must ask once to learn
        # what arrived at the moving end since its cursor (desc's fixed end needs no answer).
        self._answered = desc
        if after is not None:
            for record_id in (*after.recent_ids, after.event_id):
                self.seen.add(record_id)
                self._recent.append(record_id)
            self._set_frontier(after.skip, after.total, after.event_id)
            self._total = after.total
        self._requests: dict[int, _Request] = {}
        self._reads = 0
        self._progress = 0  # answers that brought records: the speculation ramp
        self._sizes: collections.deque[int] = collections.deque(maxlen=32)
        self._stride = self._anchored_take
        self._region_pages = 1  # pages between speculative requests laid out ahead
        self._origin = 0  # where those stretches are counted from
        self._capped = False  # the server returns fewer records than asked mid-timeline
        self._suspended = False  # a short page: no speculation until it is explained
        self._after_short = False
        self._unjoined = 0
        self._empty_reread = False
        self._stalled = 0
        self._closed = False

    # -- coordinates --------------------------------------------------------------------

    def _shift(self, total: int) -> int:
        return total if self._desc else 0

    def _bound(self, total: int) -> int:
        """Return the first coordinate past the timeline, as an answer with ``total`` sees it."""
        bound = 0 if self._desc else total
        return bound if self._end is None else min(bound, self._end)

    def _set_frontier(self, skip: int, total: int, event_id: str) -> None:
        if self._frontier is None:
            self._origin = skip - self._shift(total)
        self._frontier = skip - self._shift(total)
        self._anchor = event_id
        self._anchor_skip = skip
        self._anchor_total = total

    def cursor(self) -> TimelineCursor | None:
        """Return where the iteration stands, or None before any record was handed out."""
        if self._anchor is None:
            return None
        recent = tuple(self._recent)
        return TimelineCursor(
            event_id=self._anchor,
            skip=self._anchor_skip,
            total=self._anchor_total,
            recent_ids=recent[:-1],
        )

    def consumed(self, count: int) -> None:
        """Count off ``count`` records handed to the reader against the limit, if any."""
        if self._left is not None:
            self._left -= count
            if self._left <= 0:
                self._done = True

    def _limited_take(self, key: int, take: int) -> int:
        """Return ``take`` for a request at ``key`` shrunk to end at the last record wanted."""
        if self._left is None:
            return take
        frontier = -1 if self._frontier is None else self._frontier
        return max(min(take, frontier + self._left - key + 1), 1)

    def truncate(self, answer: _Answer, stop: int) -> None:
        """Make record ``stop - 1`` of ``answer`` the last handed out (the reader stopped there)."""
        records = answer.page.records
        for _ in range(len(records) - stop):
            if self._recent:
                self._recent.pop()
        self._set_frontier(answer.skip + stop - 1, answer.page.total, records[stop - 1][self._key])

    # -- the reader -----------------------------------------------------------------------

    async def next_page(self) -> tuple[_Answer, int] | None:
        """Return the next answer that continues the timeline and the index of its first new record.

        The first answer is returned even when empty; None means the timeline ended.
        """
        self._reads += 1
        if self._frontier is None:
            if self._done:
                return None
            request = self._spawn(None, self._start, self._limited_take(0, self._take))
            answer = await self._take_answer(request)
            self._done = not answer.page.records
            self._advance(answer, 0)
            return answer, 0
        while not self._done:
            frontier, anchor = self._frontier, self._anchor
            assert anchor is not None
            if self._answered and frontier + 1 >= self._bound(self._anchor_total):
                break
            self._prune(frontier)
            request = self._request_for(frontier) or self._spawn_key(frontier)
            self._fill()
            answer = await self._take_answer(request)
            step = self._join(answer, frontier, anchor)
            if step is not None:
                return step
        self._done = True
        return None

    def _join(self, answer: _Answer, frontier: int, anchor: str) -> tuple[_Answer, int] | None:
        records = answer.page.records
        expected = frontier - answer.base
        index = join_index(records, expected, anchor, self.seen, self._key)
        if index is None:
            if not records or expected < len(records):
                self._not_joined(answer, frontier, expected)
            # Otherwise a short page that ends before the anchor: ask from the anchor.
            return None
        self._unjoined = 0
        self._empty_reread = False
        if index != expected:
            # The coordinates were off (an insert or deletion before the anchor, or a total
            # counted apart from its records): this answer's placement is the truth now.
            logger.debug(
                "page at skip %d joined at index %d, not %d: realigning",
                answer.skip,
                index,
                expected,
            )
            self._realign()
        if index + 1 >= len(records):
            if index == expected == 0:
                # Asked from the anchor, the server had nothing after it: the end.
                self._done = True
                return None
            # The page ends at the anchor (it was placed before it): ask from the anchor.
            self._stall(answer)
            self._set_frontier(answer.skip + index, answer.page.total, anchor)
            return None
        self._stalled = 0
        if self._after_short:
            self._capped = True
            self._suspended = False
        self._advance(answer, index + 1)
        return answer, index + 1

    def _advance(self, answer: _Answer, start: int) -> None:
        records = answer.page.records
        if not records:
            return
        self._after_short = len(records) < answer.take
        self._recent.extend(record[self._key] for record in records[max(start, 0) :])
        last = len(records) - 1
        self._set_frontier(answer.skip + last, answer.page.total, records[last][self._key])

    def _not_joined(self, answer: _Answer, frontier: int, expected: int) -> None:
        """Ask again for a page that does not join, wider; give up after a few tries."""
        self._unjoined += 1
        if self._unjoined > MAX_UNJOINED_PAGES:
            raise TimelineChangedError(
                f"chat {self._chat_id or '?'}: the timeline changed while paging near offset "
                f"{self._anchor_skip} (events deleted or inserted before it), and no page joins "
                "the events already yielded; iterate again from the start",
                chat_id=self._chat_id,
                offset=self._anchor_skip,
            )
        records = answer.page.records
        if not records:
            if self._empty_reread:
                # Nothing at the anchor, twice, the second time over a wider range: the
                # timeline ends there (a total that is too high, or the last events deleted).
                self._done = True
                return
            self._empty_reread = True
        if not records or 0 <= expected < len(records):
            # The anchor's place holds an event we never saw, or nothing: re-read around it.
            logger.debug("page at skip %d does not join: re-reading wider", answer.skip)
            self._realign()
            self._spawn_key(frontier - self._take // 2)
        # Otherwise the page lies beside the anchor (more inserts than its placement
        # assumed): the reader asks again at the anchor with the newer total.

    def _stall(self, answer: _Answer) -> None:
        self._stalled += 1
        if self._stalled > MAX_STALLED_PAGES:
            raise answer.page.invalid(
                f"{self._stalled} pages in a row added no new event although the total "
                f"({answer.page.total}) says there are more: the server ignores skip or "
                "repeats records"
            )

    # -- requests -------------------------------------------------------------------------

    def _spawn_key(self, key: int) -> _Request:
        total = self._total if self._total is not None else self._anchor_total
        skip = max(0, key + self._shift(total))
        return self._spawn(key, skip, self._limited_take(key, self._anchored_take))

    def _spawn(self, key: int | None, skip: int, take: int) -> _Request:
        task = asyncio.ensure_future(self._answer(skip, take))
        request = _Request(
            skip if key is None else key,
            take,
            min(take, self._stride),
            task,
            anchored=key is not None,
        )
        if key is not None:
            self._requests[key] = request
        task.add_done_callback(lambda done: self._on_done(request, done))
        return request

    async def _answer(self, skip: int, take: int) -> _Answer:
        page = await self._fetch(skip, take)
        return _Answer(skip, take, page, skip - self._shift(page.total))

    async def _take_answer(self, request: _Request) -> _Answer:
        try:
            answer = await request.task
            if request.answer is None:
                # Awaited before its done callback ran (it was already done): learn from it
                # now, while the request is still known, or the refill would ask again for
                # the very page in hand.
                self._receive(request, answer)
        finally:
            if self._requests.get(request.key) is request:
                del self._requests[request.key]
        return answer

    def _expected_last(self, request: _Request) -> int:
        """Return the coordinate of the last record ``request`` holds, or is expected to."""
        if request.answer is not None:
            return request.answer.last
        return request.key + request.expected - 1

    def _covers(self, request: _Request, coordinate: int) -> bool:
        """Return whether ``request`` holds, or is expected to hold, ``coordinate`` and the next."""
        first = request.key if request.answer is None else request.answer.base
        return first <= coordinate < self._expected_last(request)

    def _request_for(self, frontier: int) -> _Request | None:
        best: _Request | None = None
        for request in self._requests.values():
            if self._covers(request, frontier) and (best is None or request.key > best.key):
                best = request
        return best

    def _prune(self, frontier: int) -> None:
        """Forget requests that cannot hold anything past the frontier."""
        for key, request in list(self._requests.items()):
            if self._expected_last(request) <= frontier:
                del self._requests[key]
                request.task.cancel()

    def _realign(self) -> None:
        """Drop speculation laid out in coordinates that turned out wrong."""
        for request in self._requests.values():
            request.task.cancel()
        self._requests.clear()
        if self._frontier is not None:
            self._origin = self._frontier

    def _on_done(self, request: _Request, task: asyncio.Task[_Answer]) -> None:
        if task.cancelled() or task.exception() is not None or self._closed:
            return
        if request.answer is None:
            self._receive(request, task.result())

    def _receive(self, request: _Request, answer: _Answer) -> None:
        """Learn from an answer as soon as it arrives: total, page size, end, gaps."""
        request.answer = answer
        self._answered = True
        total = answer.page.total
        self._total = total
        received = len(answer.page.records)
        if received > request.anchored:
            self._progress += 1
        if request.take == self._anchored_take and received:
            self._sizes.append(received)
            self._stride = page_size_estimate(self._sizes, self._anchored_take)
        if received == 0 and self._frontier is not None and request.key > self._frontier:
            # Nothing there: the timeline ends before this request's coordinate.
            self._end = request.key if self._end is None else min(self._end, request.key)
        elif 0 < received < request.take and not self._capped:
            self._suspended = True
        if len(self._sizes) >= 4 and min(self._sizes) != max(self._sizes):
            # Page sizes vary: lay requests out a few pages apart and fill each stretch
            # by chaining from the answers, which costs far fewer requests than guessing.
            self._region_pages = REGION_PAGES
        self._fill()

    def _fill(self) -> None:
        """Keep speculative requests in flight ahead of the frontier, within the ramp."""
        if (
            self._width <= 1
            or self._reads < 2
            or self._closed
            or self._suspended
            # A page did not join: requests laid out from coordinates that just proved
            # wrong are waste, so only the re-reads go out until a page joins.
            or self._unjoined
            or self._frontier is None
            or self._total is None
        ):
            return
        ramp = SPECULATION_START_WIDTH
        if self._progress >= 4:
            ramp <<= min(self._progress - 3, 8)
        allowed = min(self._width, ramp)
        # An answer counts as in flight until it was learned from: a task can be done while
        # its callback, which reads a short page as the end, has not run yet.
        in_flight = sum(request.answer is None for request in self._requests.values())
        waiting = len(self._requests) - in_flight
        bound = self._bound(self._total)
        if self._left is not None:
            # No request past the last record wanted.
            bound = min(bound, self._frontier + self._left + 1)
        # Walk the requests from the frontier: after an answer, the first coordinate no
        # request holds is a gap to fill; after a request still in flight, the next one
        # goes a page on or, when page sizes vary, at the start of the next stretch.
        key = self._frontier
        limit = self._width * self._region_pages
        while in_flight < allowed and waiting < limit and key + 1 < bound:
            request = self._request_for(key)
            if request is None:
                request = self._spawn_key(key)
                in_flight += 1
            if request.answer is not None or self._region_pages == 1:
                key = max(key + 1, self._expected_last(request))
            else:
                key = self._next_stretch(key)

    def _next_stretch(self, key: int) -> int:
        """Return the first stretch boundary past ``key``."""
        length = self._region_pages * (self._anchored_take - 1)
        origin = self._origin
        return origin + ((key - origin) // length + 1) * length

    async def aclose(self) -> None:
        """Cancel every request still in flight and wait for them to end."""
        self._closed = True
        tasks = [request.task for request in self._requests.values()]
        self._requests.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
