"""Export chat timelines to JSONL or CSV files: concurrently, losslessly, resumably.

Each chat goes to ``<out>/<chat_id>.jsonl`` (one event per line, exactly the server's
JSON) or ``<out>/<chat_id>.csv`` (flat columns), with its checkpoint in
``<out>/.checkpoints/<chat_id>.json``. A page is committed in two steps: its lines are
appended and flushed (and fsynced with ``fsync=True``), then the checkpoint (the pager's
cursor: the last event written, its offset and the total then; the file size) is
replaced atomically by write-then-rename. On a new run the data file is first cut back
to the checkpoint's size, which drops any half-written line or page that had no
checkpoint yet, and paging resumes after the cursor's event, wherever inserts at the
moving end have pushed it, so a run killed at any instant finishes with no gap, no
duplicate and no partial line.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeVar

import attrs
import orjson

from ._client import WeglyClient
from ._constants import (
    API_PREFIX,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_FORMAT,
    DEFAULT_PAGE_SIZE,
    EXPORT_FORMATS,
)
from ._enums import Order
from ._errors import InvalidResponseError, WeglyError
from ._validation import check_chat_id, check_int, check_order
from ._walker import TimelineCursor

__all__ = [
    "CSV_COLUMNS",
    "ChatExport",
    "ExportFormat",
    "ExportProgress",
    "ExportResult",
    "export_timelines",
]

ExportFormat = Literal["jsonl", "csv"]
_T = TypeVar("_T")

CSV_COLUMNS = (
    "event_id",
    "event_type",
    "event_at",
    "message_id",
    "type",
    "origin",
    "from_me",
    "status",
    "body_text",
    "media_url",
    "media_mime_type",
    "media_file_name",
    "call_status",
    "call_direction",
    "call_duration_ms",
    "quoted_message_id",
    "reaction_count",
)

_CHECKPOINT_DIR = ".checkpoints"
_CHECKPOINT_VERSION = 2


@attrs.frozen
class ChatExport:
    """How one chat's export went: where it is, how many events, and any error."""

    chat_id: str
    path: Path
    written: int
    events: int
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """Return whether the chat was exported completely."""
        return self.error is None


@attrs.frozen
class ExportResult:
    """What an export run did, chat by chat."""

    chats: list[ChatExport]
    seconds: float

    @property
    def ok(self) -> bool:
        """Return whether every chat was exported completely."""
        return all(chat.ok for chat in self.chats)

    @property
    def failed(self) -> list[ChatExport]:
        """Return the chats whose export failed."""
        return [chat for chat in self.chats if not chat.ok]

    @property
    def written(self) -> int:
        """Return how many events this run wrote, over all chats."""
        return sum(chat.written for chat in self.chats)


class ExportProgress(Protocol):
    """Receive progress as an export runs (a progress bar, a log, a metric)."""

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        """Note that a chat's export began, with ``events`` already in its file."""

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        """Note that ``written`` more events reached a chat's file."""

    def chat_finished(self, result: ChatExport) -> None:
        """Note that a chat's export ended, well or not."""


async def export_timelines(
    client: WeglyClient,
    chat_ids: Iterable[str],
    out_dir: str | os.PathLike[str],
    *,
    format: ExportFormat = DEFAULT_EXPORT_FORMAT,
    order: Order | str = Order.ASC,
    take: int = DEFAULT_PAGE_SIZE,
    concurrency: int = DEFAULT_EXPORT_CONCURRENCY,
    fsync: bool = False,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Export the timelines of ``chat_ids`` into ``out_dir``, resuming any earlier run.

    A chat that fails (404, 403, a server down past the retries, an answer it cannot
    write) is reported in the result and does not stop the others; run the same call
    again to finish it. ``concurrency`` is the whole budget: at most that many requests
    are in flight over all chats, and a long chat may use what finished ones left.

    Raises:
        ValueError: a chat id, the format, order, take or concurrency is not acceptable, or
            a chat's checkpoint was made with another format or order.
    """
    ids = list(dict.fromkeys(check_chat_id(chat_id) for chat_id in _as_list(chat_ids)))
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format must be 'jsonl' or 'csv', got {format!r}")
    order_value = check_order(order)
    check_int(take, "take", minimum=1)
    check_int(concurrency, "concurrency", minimum=1)
    out = Path(out_dir)
    _check_out_dir(out)
    files = [_ChatFile(out, chat_id, format, order_value.value, fsync) for chat_id in ids]
    for chat_file in files:
        chat_file.check_checkpoint()
    _make_out_dir(out)

    started = time.perf_counter()
    results: dict[str, ChatExport] = {}
    pending = iter(files)
    budget = asyncio.Semaphore(concurrency)

    async def worker() -> None:
        for chat_file in pending:
            result = await _export_chat(
                client, chat_file, order_value, take, progress, concurrency, budget
            )
            results[chat_file.chat_id] = result
            if progress is not None:
                progress.chat_finished(result)

    # A TaskGroup, not gather: if one worker fails, the others are cancelled, not left writing.
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(files))):
            group.create_task(worker())
    chats = [results[chat_id] for chat_id in ids]
    return ExportResult(chats=chats, seconds=time.perf_counter() - started)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a directory, and {out} is a file")


def _make_out_dir(out: Path) -> None:
    try:
        (out / _CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot use {out} as the output directory: {exc}") from exc


def _as_list(chat_ids: Iterable[str]) -> list[str]:
    if isinstance(chat_ids, str):
        raise TypeError("chat_ids must be a list of chat ids, not a single string")
    return list(chat_ids)


async def _export_chat(
    client: WeglyClient,
    chat_file: _ChatFile,
    order: Order,
    take: int,
    progress: ExportProgress | None,
    width: int,
    budget: asyncio.Semaphore,
) -> ChatExport:
    written = 0
    try:
        state = await _in_thread(chat_file.load)
        pager = client.chats.timeline(chat_file.chat_id, order=order, take=take, prefetch=width)
        pages = pager.raw_pages(after=state.cursor, limiter=budget)
        try:
            async with contextlib.aclosing(pages):
                async for page in pages:
                    if not chat_file.is_open:
                        # Only once the server answered: a chat that fails at once leaves no file.
                        await _in_thread(chat_file.open)
                        if progress is not None:
                            progress.chat_started(
                                chat_file.chat_id, events=state.events, total=page.total
                            )
                    await _in_thread(chat_file.commit, page.records, page.cursor)
                    written += len(page.records)
                    if progress is not None and page.records:
                        progress.chat_advanced(
                            chat_file.chat_id,
                            written=len(page.records),
                            events=chat_file.events,
                            total=page.total,
                        )
            if not chat_file.is_open and state.size:
                # Resumed at the fixed end (a finished desc export): nothing was asked,
                # but a half-written page past the checkpoint is still cut off.
                await _in_thread(chat_file.open)
        finally:
            chat_file.close()
    except _UnwritableRecordError as exc:
        url = f"{client.base_url}{API_PREFIX}/chats/{chat_file.chat_id}/timeline"
        error = InvalidResponseError(
            f"event {exc.event_id!r} cannot be written: {exc.reason}",
            status_code=200,
            method="GET",
            url=url,
            body=b"",
        )
        return ChatExport(chat_file.chat_id, chat_file.path, written, chat_file.events, error)
    except (WeglyError, OSError) as exc:
        return ChatExport(chat_file.chat_id, chat_file.path, written, chat_file.events, exc)
    return ChatExport(chat_file.chat_id, chat_file.path, written, chat_file.events)


class _UnwritableRecordError(Exception):
    """Raise when a record cannot be written (nested deeper than JSON encoding allows)."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


async def _in_thread(func: Callable[..., _T], *args: Any) -> _T:
    """Run file work in a thread; if cancelled, let it finish before the file is closed."""
    task = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


@attrs.define
class _Checkpoint:
    format: str
    order: str
    cursor: TimelineCursor | None = None
    size: int = 0
    events: int = 0

    def to_json(self, chat_id: str) -> bytes:
        cursor = self.cursor
        return orjson.dumps(
            {
                "version": _CHECKPOINT_VERSION,
                "chat_id": chat_id,
                "format": self.format,
                "order": self.order,
                "size": self.size,
                "events": self.events,
                "cursor": None
                if cursor is None
                else {
                    "event_id": cursor.event_id,
                    "skip": cursor.skip,
                    "total": cursor.total,
                    "recent_ids": list(cursor.recent_ids),
                },
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> _Checkpoint:
        data = orjson.loads(raw)
        if data.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(
                f"unsupported checkpoint version {data.get('version')!r} "
                f"(this version writes {_CHECKPOINT_VERSION})"
            )
        raw_cursor = data["cursor"]
        cursor = None
        if raw_cursor is not None:
            cursor = TimelineCursor(
                event_id=str(raw_cursor["event_id"]),
                skip=int(raw_cursor["skip"]),
                total=int(raw_cursor["total"]),
                recent_ids=tuple(str(item) for item in raw_cursor["recent_ids"]),
            )
        return cls(
            format=data["format"],
            order=data["order"],
            cursor=cursor,
            size=int(data["size"]),
            events=int(data["events"]),
        )


class _ChatFile:
    """One chat's data file and checkpoint; the export calls its file methods from a thread."""

    def __init__(self, out: Path, chat_id: str, fmt: str, order: str, fsync: bool) -> None:
        self.chat_id = chat_id
        self.path = out / f"{chat_id}.{fmt}"
        self.checkpoint_path = out / _CHECKPOINT_DIR / f"{chat_id}.json"
        self._format = fmt
        self._order = order
        self._fsync = fsync
        self._file: BinaryIO | None = None
        self.state = _Checkpoint(format=fmt, order=order)
        # What check_checkpoint() read, so load() need not read the file again.
        self._saved: _Checkpoint | None = None

    @property
    def events(self) -> int:
        """Return how many events the data file holds, as far as the checkpoint knows."""
        return self.state.events

    def check_checkpoint(self) -> None:
        """Raise ValueError if an earlier run of this chat used another format or order."""
        self._saved = existing = self._read_checkpoint()
        if existing is None:
            return
        if (existing.format, existing.order) != (self._format, self._order):
            raise ValueError(
                f"chat {self.chat_id}: the export in {self.path.parent} was started with "
                f"format={existing.format} order={existing.order}; rerun with those, or delete "
                f"{self.checkpoint_path} and {self.path} to start again"
            )

    def _read_checkpoint(self) -> _Checkpoint | None:
        try:
            raw = self.checkpoint_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _Checkpoint.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"chat {self.chat_id}: unreadable checkpoint {self.checkpoint_path}: {exc}"
            ) from exc

    @property
    def is_open(self) -> bool:
        """Return whether the data file is open for writing."""
        return self._file is not None

    def load(self) -> _Checkpoint:
        """Take up where an earlier run stopped (as ``check_checkpoint`` read it), or afresh."""
        existing = self._saved
        resumable = (
            existing is not None
            and self.path.exists()
            and self.path.stat().st_size >= existing.size
        )
        if resumable and existing is not None:
            self.state = existing
        else:
            # No checkpoint, or a data file shorter than it promises: start the chat afresh.
            self.state = _Checkpoint(format=self._format, order=self._order)
        return self.state

    def open(self) -> None:
        """Open the data file at the loaded checkpoint's size, cutting off anything past it."""
        if self.state.size and self.path.exists():
            handle = open(self.path, "r+b")  # noqa: SIM115 (closed in close())
        else:
            handle = open(self.path, "w+b")  # noqa: SIM115 (closed in close())
        self._file = handle
        # Anything past the committed size is a page that never got its checkpoint.
        handle.truncate(self.state.size)
        handle.seek(self.state.size)
        if self.state.size == 0 and self._format == "csv":
            self._write(_csv_lines([list(CSV_COLUMNS)]))
        self._write_checkpoint()

    def commit(self, records: list[dict[str, Any]], cursor: TimelineCursor | None) -> None:
        """Append one page of records, then record the pager's cursor in the checkpoint."""
        if records:
            try:
                if self._format == "jsonl":
                    data = b"".join(orjson.dumps(record) + b"\n" for record in records)
                else:
                    data = _csv_lines(_csv_row(record) for record in records)
            except (orjson.JSONEncodeError, RecursionError) as exc:
                raise _UnwritableRecordError(_failing_id(records), str(exc)) from exc
            self._write(data)
            self.state.events += len(records)
        self.state.cursor = cursor
        self._write_checkpoint()

    def close(self) -> None:
        """Close the data file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self.state.size += len(data)

    def _write_checkpoint(self) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(self.state.to_json(self.chat_id))
            handle.flush()
            if self._fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, self.checkpoint_path)


def _failing_id(records: list[dict[str, Any]]) -> str:
    for record in records:
        try:
            orjson.dumps(record)
        except (orjson.JSONEncodeError, RecursionError):
            return str(record.get("id"))
    return "?"


def _csv_lines(rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    # RFC 4180's CRLF: with "\n" alone, csv leaves a field holding a bare "\r" unquoted.
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _sub(record: Any, key: str) -> dict[str, Any]:
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, dict) else {}


def _csv_row(record: dict[str, Any]) -> list[Any]:
    message = _sub(record, "message")
    media = _sub(message, "media")
    call = _sub(message, "call")
    quoted = _sub(message, "quoted_message")
    reactions = message.get("reactions")
    row = [
        record.get("id"),
        record.get("event_type"),
        record.get("event_at"),
        message.get("id"),
        message.get("type"),
        message.get("origin"),
        message.get("from_me"),
        message.get("status"),
        message.get("body_text"),
        media.get("url"),
        media.get("mime_type"),
        media.get("file_name"),
        call.get("status"),
        call.get("direction"),
        call.get("duration_ms"),
        quoted.get("id"),
        len(reactions) if isinstance(reactions, list) else 0,
    ]
    return [_csv_value(value) for value in row]
