"""Export chat timelines to JSONL, CSV or Parquet: concurrently, losslessly, resumably, safely.

Each chat goes to ``<out>/<chat_id>.jsonl`` (one event per line, exactly the server's
JSON), ``<out>/<chat_id>.csv`` (flat columns; a text cell a spreadsheet would run as a
formula is prefixed with ``'`` unless ``csv_formulas="raw"``) or the part files of
``<out>/<chat_id>/`` (Parquet, see ``_export_parquet``), with its checkpoint in
``<out>/.checkpoints/<chat_id>.json``. A page is committed in two steps: its lines are
appended and flushed (and fsynced with ``fsync=True``), then the checkpoint (the pager's
cursor: the last event written, its offset and the total then; the file size; a SHA-256
sealing both to the data) is replaced atomically by write-then-rename. On a new run the
checkpoint is checked against the data file as a whole, the data file is cut back to the
checkpoint's size, which drops any half-written line or page that had no checkpoint yet,
and paging resumes after the cursor's event, wherever inserts at the moving end have
pushed it, so a run killed at any instant finishes with no gap, no duplicate and no
partial line. One export at a time writes a chat (a lock beside its checkpoint), and no
file is written through a symbolic link (``_export_files`` holds those rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import attrs

from ._client import WeglyClient
from ._constants import (
    API_PREFIX,
    CSV_FORMULA_MODES,
    DEFAULT_CSV_FORMULAS,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_FORMAT,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PARQUET_PART_ROWS,
    EXPORT_FORMATS,
)
from ._enums import Order
from ._errors import ExportLockedError, InvalidResponseError, WeglyError
from ._export_csv import CSV_COLUMNS
from ._export_files import (
    CHECKPOINT_DIR,
    ChatFile,
    CheckpointError,
    ExportSettings,
    UnwritableRecordError,
    open_folder,
)
from ._export_parquet import PARQUET_COLUMNS, ParquetChatFile, load_pyarrow
from ._validation import check_bool, check_chat_id, check_choice, check_int, check_order

__all__ = [
    "CSV_COLUMNS",
    "PARQUET_COLUMNS",
    "ChatExport",
    "CsvFormulas",
    "ExportFormat",
    "ExportLockedError",
    "ExportProgress",
    "ExportResult",
    "export_timelines",
]

ExportFormat = Literal["jsonl", "csv", "parquet"]
CsvFormulas = Literal["neutralize", "raw"]
_T = TypeVar("_T")


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
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    csv_bom: bool = False,
    parquet_part_rows: int = DEFAULT_PARQUET_PART_ROWS,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Export the timelines of ``chat_ids`` into ``out_dir``, resuming any earlier run.

    A chat that fails (404, 403, a server down past the retries, an answer it cannot
    write) is reported in the result and does not stop the others; run the same call
    again to finish it; a chat another export is writing fails with ``ExportLockedError``.
    ``concurrency`` is the whole budget: at most that many requests are in flight over all
    chats, and a long chat may use what finished ones left. In CSV files a text cell that
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a CR is prefixed with ``'`` so that a
    spreadsheet shows it instead of running it, unless ``csv_formulas="raw"``; ``csv_bom``
    starts each CSV file with a UTF-8 BOM, for Excel. JSONL files ignore both. A Parquet
    export (``format="parquet"``, the ``parquet`` extra) writes a part file each time it
    holds ``parquet_part_rows`` events (whole pages) and one at the end of the chat.

    Raises:
        ValueError: a chat id, the format, order, take, concurrency, csv_formulas or
            parquet_part_rows is not acceptable, or a chat's files cannot be resumed: a
            checkpoint made with other settings or that does not match its data, data no
            export wrote, a symbolic link where a file should be. The message says what to do.
        TypeError: an argument has the wrong type (``take="50"``, ``csv_bom="yes"``).
        ImportError: ``format="parquet"`` without pyarrow (the ``parquet`` extra).
    """
    ids = list(dict.fromkeys(check_chat_id(chat_id) for chat_id in _as_list(chat_ids)))
    check_choice(format, "format", EXPORT_FORMATS)
    order_value = check_order(order)
    check_int(take, "take", minimum=1)
    check_int(concurrency, "concurrency", minimum=1)
    check_int(parquet_part_rows, "parquet_part_rows", minimum=1)
    check_choice(csv_formulas, "csv_formulas", CSV_FORMULA_MODES)
    settings = ExportSettings.make(
        format, order_value.value, csv_formulas, check_bool(csv_bom, "csv_bom")
    )
    out = Path(out_dir)
    _check_out_dir(out)
    if format == "parquet":
        load_pyarrow()  # a missing extra is said before anything is read or asked
    files = [_chat_file(out, chat_id, settings, fsync, parquet_part_rows) for chat_id in ids]
    # Reading what earlier runs wrote (a hash of every data file) is file work: in a thread.
    await asyncio.to_thread(_check_files, files)
    folder = _make_out_dir(out)
    try:
        return await _export_all(client, files, order_value, take, concurrency, progress, folder)
    finally:
        os.close(folder)


async def _export_all(
    client: WeglyClient,
    files: list[ChatFile],
    order_value: Order,
    take: int,
    concurrency: int,
    progress: ExportProgress | None,
    folder: int,
) -> ExportResult:
    for chat_file in files:
        chat_file.folder = folder

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
    chats = [results[chat_file.chat_id] for chat_file in files]
    return ExportResult(chats=chats, seconds=time.perf_counter() - started)


def _chat_file(
    out: Path, chat_id: str, settings: ExportSettings, fsync: bool, part_rows: int
) -> ChatFile:
    """Return the files of one chat's export in ``out``, in the settings' format."""
    if settings.format == "parquet":
        return ParquetChatFile(out, chat_id, settings, fsync, part_rows)
    return ChatFile(out, chat_id, settings, fsync)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a directory, and {out} is a file")
    if (out / CHECKPOINT_DIR).is_symlink():
        raise ValueError(
            f"{out / CHECKPOINT_DIR} is a symbolic link, and the export writes through no "
            "link: remove it"
        )


def _check_files(files: list[ChatFile]) -> None:
    for chat_file in files:
        chat_file.check()


def _make_out_dir(out: Path) -> int:
    try:
        (out / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        return open_folder(out / CHECKPOINT_DIR)
    except OSError as exc:
        raise ValueError(f"cannot use {out} as the output directory: {exc}") from exc


def _as_list(chat_ids: Iterable[str]) -> list[str]:
    if isinstance(chat_ids, str):
        raise TypeError("chat_ids must be a list of chat ids, not a single string")
    return list(chat_ids)


async def _export_chat(
    client: WeglyClient,
    chat_file: ChatFile,
    order: Order,
    take: int,
    progress: ExportProgress | None,
    width: int,
    budget: asyncio.Semaphore,
) -> ChatExport:
    tally = _Tally(chat_file, progress)
    try:
        try:
            await _in_thread(chat_file.lock)
            state = await _in_thread(chat_file.load)
            pager = client.chats.timeline(chat_file.chat_id, order=order, take=take, prefetch=width)
            pages = pager.raw_pages(after=state.cursor, limiter=budget)
            try:
                async with contextlib.aclosing(pages):
                    async for page in pages:
                        tally.total = page.total
                        if not chat_file.is_open:
                            # Only once the server answered: a chat failing at once leaves no file.
                            await _in_thread(chat_file.open)
                            if progress is not None:
                                progress.chat_started(
                                    chat_file.chat_id, events=state.events, total=page.total
                                )
                        tally.add(await _in_thread(chat_file.commit, page.records, page.cursor))
            except (WeglyError, UnwritableRecordError):
                # The pages before the failure are kept: a Parquet export writes its part now.
                if chat_file.is_open:
                    tally.add(await _in_thread(chat_file.finish))
                raise
            if chat_file.is_open:
                tally.add(await _in_thread(chat_file.finish))
            elif state.size:
                # Resumed at the fixed end (a finished desc export): nothing was asked,
                # but a half-written page past the checkpoint is still cut off.
                await _in_thread(chat_file.open)
        finally:
            chat_file.close()
    except UnwritableRecordError as exc:
        url = f"{client.base_url}{API_PREFIX}/chats/{chat_file.chat_id}/timeline"
        error = InvalidResponseError(
            f"event {exc.event_id!r} cannot be written: {exc.reason}",
            status_code=200,
            method="GET",
            url=url,
            body=b"",
        )
        return tally.result(error)
    except (WeglyError, OSError, CheckpointError) as exc:
        return tally.result(exc)
    return tally.result()


class _Tally:
    """Count the events one chat's export committed, and tell the progress reporter."""

    def __init__(self, chat_file: ChatFile, progress: ExportProgress | None) -> None:
        self.chat_file = chat_file
        self.progress = progress
        self.written = 0
        self.total = 0  # the chat's total in the last answer

    def add(self, committed: int) -> None:
        """Count ``committed`` more events in the chat's files."""
        self.written += committed
        if self.progress is not None and committed:
            chat_file = self.chat_file
            self.progress.chat_advanced(
                chat_file.chat_id, written=committed, events=chat_file.events, total=self.total
            )

    def result(self, error: BaseException | None = None) -> ChatExport:
        """Return how the chat's export went."""
        chat_file = self.chat_file
        return ChatExport(chat_file.chat_id, chat_file.path, self.written, chat_file.events, error)


async def _in_thread(func: Callable[..., _T], *args: Any) -> _T:
    """Run file work in a thread; if cancelled, let it finish before the file is closed."""
    task = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise
