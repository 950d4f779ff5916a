"""Export progress for people: rich bars on a terminal, periodic plain lines elsewhere."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from .._constants import CLI_PROGRESS_EVERY
from ..export import ChatExport, ExportProgress

__all__ = ["PlainProgress", "make_progress", "progress_reporter"]


_BARS_HINT = "plain lines (pip install 'wegly-async[cli]' draws bars on a terminal)"


class _Tally:
    """The numbers every reporter shows: chats done out of all, and events out of a total.

    The events total is only known once every chat has answered (or finished without):
    until then a sum of the totals seen so far would grow as chats start.
    """

    def __init__(self, chats: int | None) -> None:
        self.chats = chats
        self.done = 0
        self.written = 0
        self._events: dict[str, int] = {}
        self._totals: dict[str, int] = {}
        self.started = time.perf_counter()

    def update(self, chat_id: str, events: int, total: int) -> None:
        self._events[chat_id] = events
        self._totals[chat_id] = total

    def finish(self, result: ChatExport) -> None:
        self.done += 1
        # Nothing more comes for this chat in this run: what its file holds is its total.
        self.update(result.chat_id, result.events, result.events)

    @property
    def events(self) -> int:
        return sum(self._events.values())

    @property
    def total(self) -> int | None:
        known = self.chats is not None and len(self._totals) >= self.chats
        return sum(self._totals.values()) if known else None

    def chats_line(self) -> str:
        of = "?" if self.chats is None else f"{self.chats:,}"
        return f"{self.done:,}/{of} chats done"

    def events_line(self) -> str:
        total = self.total
        return f"{self.events:,} events" if total is None else f"{self.events:,}/{total:,} events"

    def rate(self) -> float:
        return self.written / max(time.perf_counter() - self.started, 1e-9)


class PlainProgress:
    """Print a progress line every few seconds and one line per finished chat."""

    def __init__(
        self,
        stream: TextIO,
        *,
        chats: int | None = None,
        every: float = CLI_PROGRESS_EVERY,
        hint: bool = False,
    ) -> None:
        self._stream = stream
        self._every = every
        self._tally = _Tally(chats)
        self._last = self._tally.started
        if hint:
            self._print(f"progress: {_BARS_HINT}")

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self._tally.update(chat_id, events, total)

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        tally = self._tally
        tally.update(chat_id, events, total)
        tally.written += written
        now = time.perf_counter()
        if now - self._last >= self._every:
            self._last = now
            self._print(
                f"progress: {tally.chats_line()}, {tally.events_line()}, "
                f"{tally.rate():,.0f} events/s"
            )

    def chat_finished(self, result: ChatExport) -> None:
        self._tally.finish(result)
        if result.ok:
            state = f"ok, {result.events:,} events in {result.path}"
        elif result.events:
            state = f"FAILED, {result.events:,} events in {result.path} so far"
        else:
            state = "FAILED, nothing written"
        self._print(f"chat {result.chat_id}: {state} ({self._tally.chats_line()})")

    def close(self) -> None:
        """Finish the output (nothing to do for plain lines)."""


class RichProgress:
    """Show one bar for the whole export and one per chat being exported, with events/s."""

    def __init__(self, stream: TextIO, *, chats: int | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._tally = _Tally(chats)
        self._overall = self._progress.add_task(self._overall_text(), total=None, rate="")
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def _overall_text(self) -> str:
        return f"all chats ({self._tally.chats_line()})"

    def _show_overall(self) -> None:
        tally = self._tally
        self._progress.update(
            self._overall,
            description=self._overall_text(),
            completed=tally.events,
            total=tally.total,
            rate=f"{tally.rate():,.0f} events/s",
        )

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self._tally.update(chat_id, events, total)
        self._tasks[chat_id] = self._progress.add_task(
            f"chat {chat_id[:8]}", total=total, completed=events, rate=""
        )
        self._show_overall()

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self._tally.update(chat_id, events, total)
        self._tally.written += written
        task = self._tasks.get(chat_id)
        if task is not None:
            self._progress.update(task, completed=events, total=total)
        self._show_overall()

    def chat_finished(self, result: ChatExport) -> None:
        self._tally.finish(result)
        task = self._tasks.pop(result.chat_id, None)
        if task is not None:
            # Finished chats leave the screen so thousands of chats stay readable.
            self._progress.remove_task(task)
        if not result.ok:
            self._progress.console.print(f"chat {result.chat_id}: FAILED")
        self._show_overall()

    def close(self) -> None:
        """Stop redrawing the bars."""
        self._progress.stop()


def _rich_installed() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def make_progress(
    enabled: bool, stream: TextIO = sys.stderr, *, chats: int | None = None
) -> PlainProgress | RichProgress | None:
    """Return rich bars on a terminal (when rich is installed), plain lines otherwise, or None.

    ``chats`` is how many chats the export has, for "chats done out of all chats". Plain
    lines say how to get bars when rich is not installed.
    """
    if not enabled:
        return None
    if stream.isatty():
        try:
            return RichProgress(stream, chats=chats)
        except ImportError:
            pass
    return PlainProgress(stream, chats=chats, hint=not _rich_installed())


@contextlib.contextmanager
def progress_reporter(
    enabled: bool, stream: TextIO = sys.stderr, *, chats: int | None = None
) -> Iterator[PlainProgress | RichProgress | None]:
    """Yield the reporter ``make_progress`` picks, and stop it however the export ends."""
    progress = make_progress(enabled, stream, chats=chats)
    try:
        yield progress
    finally:
        if progress is not None:
            progress.close()


def _conforms(progress: PlainProgress | RichProgress) -> ExportProgress:
    return progress  # mypy checks both reporters satisfy the ExportProgress protocol
