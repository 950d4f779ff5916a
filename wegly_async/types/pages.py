"""What paging hands out: pages of records, raw or decoded, and where an iteration stands."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

__all__ = ["OffsetPage", "RawPage", "TimelineCursor"]

T = TypeVar("T")


@attrs.frozen
class TimelineCursor:
    """Where an iteration stands: the last event yielded, where it was, and the total then.

    ``skip`` is that event's offset in the answer that held it and ``total`` that answer's
    total; ``recent_ids`` are the ids yielded just before it, newest last, so a resumed
    iteration can still join when the event itself was deleted meanwhile.
    """

    event_id: str
    skip: int
    total: int
    recent_ids: tuple[str, ...] = ()


@attrs.frozen
class RawPage:
    """One page of new records exactly as the server sent them, and where the iteration stands."""

    total: int
    records: list[dict[str, Any]]
    skip: int  # the offset of the first new record in this answer
    take: int
    cursor: TimelineCursor | None  # after this page's last record; None while nothing was yielded


@attrs.frozen
class OffsetPage(Generic[T]):
    """One page of decoded records, with the ``skip`` of its first new record and the ``take``."""

    total: int
    records: list[T]
    skip: int
    take: int
