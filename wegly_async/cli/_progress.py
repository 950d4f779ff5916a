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


class PlainProgress:
    """Print a progress line every few seconds and one line per finished chat."""

    def __init__(self, stream: TextIO, *, every: float = CLI_PROGRESS_EVERY) -> None:
        self._stream = stream
        self._every = every
        self._started = time.perf_counter()
        self._last = self._started
        self._written = 0
        self._totals: dict[str, int] = {}
        self._done = 0

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self._totals[chat_id] = total

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self._totals[chat_id] = total
        self._written += written
        now = time.perf_counter()
        if now - self._last >= self._every:
            self._last = now
            rate = self._written / max(now - self._started, 1e-9)
            print(
                f"progress: {self._written:,} events written, {self._done} chats done, "
                f"{rate:,.0f} events/s",
                file=self._stream,
                flush=True,
            )

    def chat_finished(self, result: ChatExport) -> None:
        self._done += 1
        state = "ok" if result.ok else "FAILED"
        print(
            f"chat {result.chat_id}: {state}, {result.events:,} events in {result.path}",
            file=self._stream,
            flush=True,
        )

    def close(self) -> None:
        """Finish the output (nothing to do for plain lines)."""


class RichProgress:
    """Show one bar for the whole export and one per chat being exported, with events/s."""

    def __init__(self, stream: TextIO) -> None:
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
        self._overall = self._progress.add_task("all chats", total=None, rate="")
        self._tasks: dict[str, Any] = {}
        self._totals: dict[str, int] = {}
        self._started = time.perf_counter()
        self._written = 0
        self._progress.start()

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self._totals[chat_id] = total
        self._tasks[chat_id] = self._progress.add_task(
            f"chat {chat_id[:8]}", total=total, completed=events, rate=""
        )
        self._progress.update(self._overall, total=sum(self._totals.values()))

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self._written += written
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._totals[chat_id] = total
        task = self._tasks.get(chat_id)
        if task is not None:
            self._progress.update(task, completed=events, total=total)
        self._progress.update(
            self._overall,
            advance=written,
            total=sum(self._totals.values()),
            rate=f"{self._written / elapsed:,.0f} events/s",
        )

    def chat_finished(self, result: ChatExport) -> None:
        task = self._tasks.pop(result.chat_id, None)
        if task is not None:
            # Finished chats leave the screen so thousands of chats stay readable.
            self._progress.remove_task(task)
        if not result.ok:
            self._progress.console.print(f"chat {result.chat_id}: FAILED")

    def close(self) -> None:
        """Stop redrawing the bars."""
        self._progress.stop()


def make_progress(
    enabled: bool, stream: TextIO = sys.stderr
) -> PlainProgress | RichProgress | None:
    """Return rich bars on a terminal (when rich is installed), plain lines otherwise, or None."""
    if not enabled:
        return None
    if stream.isatty():
        try:
            return RichProgress(stream)
        except ImportError:
            pass
    return PlainProgress(stream)


@contextlib.contextmanager
def progress_reporter(
    enabled: bool, stream: TextIO = sys.stderr
) -> Iterator[PlainProgress | RichProgress | None]:
    """Yield the reporter ``make_progress`` picks, and stop it however the export ends."""
    progress = make_progress(enabled, stream)
    try:
        yield progress
    finally:
        if progress is not None:
            progress.close()


def _conforms(progress: PlainProgress | RichProgress) -> ExportProgress:
    return progress  # mypy checks both reporters satisfy the ExportProgress protocol
