"""One chat's Parquet export: a folder of part files, each listed in the chat's checkpoint.

A chat's events go to ``<out>/<chat_id>/part-NNNNN.parquet``. Pages are held back until
they add up to ``part_rows`` events (whole pages: a part may hold up to a page more), then
written as one part: to a fresh hidden file (``.part-NNNNN.parquet.tmp``, ``O_EXCL``),
renamed to its name, and only then listed, with its size and SHA-256, in the checkpoint
``.checkpoints/<chat_id>.json`` together with the pager's cursor after its last event. A
part is committed once it is listed: a resumed export deletes the temporary files and the
parts its checkpoint does not list, and refetches the pages they held. The folder is opened
once (``O_NOFOLLOW``) and everything in it is reached through it, so no part is written
through a symbolic link. pyarrow is imported only when a Parquet export runs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from ._constants import (
    DEFAULT_PARQUET_PART_ROWS,
    PARQUET_COMPRESSION,
    PARQUET_ROW_GROUP_ROWS,
)
from ._convert import parse_datetime
from ._enums import Order
from ._export_csv import CSV_COLUMNS, event_values
from ._export_files import (
    NOFOLLOW,
    ChatFile,
    Checkpoint,
    CheckpointError,
    ExportSettings,
    ForeignCheckpoint,
    Malformed,
    UnwritableRecordError,
    checkpoint_settings,
    cursor_fields,
    is_link,
    object_fields,
    parse_cursor,
    text_field,
    whole_number,
)
from .types.pages import TimelineCursor

__all__ = ["PARQUET_COLUMNS", "ParquetChatFile", "load_pyarrow", "part_name"]

# The CSV columns with real types, after the chat they belong to, and the event's JSON.
PARQUET_COLUMNS = ("chat_id", *CSV_COLUMNS, "raw")
_TIMESTAMPS = frozenset(("event_at",))
_BOOLS = frozenset(("from_me",))
_INTS = frozenset(("call_duration_ms", "reaction_count"))
_INT64 = range(-(2**63), 2**63)

_VERSION = 1
_FIELDS = frozenset(("version", "chat_id", "format", "order", "events", "cursor", "parts", "check"))
_PART_FIELDS = frozenset(("name", "events", "size", "sha256"))
_PART = re.compile(r"part-[0-9]{5,}\.parquet")
_TEMPORARY = re.compile(r"\.part-[0-9]{5,}\.parquet\.tmp")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_MISSING = (
    "format='parquet' needs pyarrow: install the parquet extra, pip install 'wegly-async[parquet]'"
)


def load_pyarrow() -> tuple[Any, Any]:
    """Return the ``pyarrow`` and ``pyarrow.parquet`` modules, or say which extra installs them."""
    try:
        import pyarrow  # here, not at the top: only a Parquet export needs it
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError(_MISSING, name="pyarrow") from exc
    return pyarrow, pyarrow.parquet


def part_name(number: int) -> str:
    """Return the file name of a chat's part ``number`` (counted from 0)."""
    return f"part-{number:05d}.parquet"


@attrs.frozen
class Part:
    """One committed part file: its name, its events, its size and its SHA-256."""

    name: str
    events: int
    size: int
    sha256: str


@attrs.frozen
class _Found:
    """What a look at a chat's Parquet files found: the checkpoint read and its parts."""

    raw: bytes | None
    state: Checkpoint
    parts: tuple[Part, ...]


def _text(value: Any) -> str | None:
    return value if value is None or type(value) is str else orjson.dumps(value).decode()


def _moment(value: Any) -> datetime | None:
    try:
        return None if value is None else parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return None  # not a time this SDK can read; `raw` still has it as sent


def _flag(value: Any) -> bool | None:
    return value if type(value) is bool else None


def _whole(value: Any) -> int | None:
    return value if type(value) is int and value in _INT64 else None


# Typed value by value as rows are made: pyarrow would read a time given as text as an
# error, and take 1.0 for an int. Text and bools are left to pyarrow, which refuses any
# other type there; a column it refuses is then converted value by value (see _column).
_MOMENT_AT = CSV_COLUMNS.index("event_at")
_WHOLE_AT = tuple(CSV_COLUMNS.index(column) for column in sorted(_INTS))


def parquet_row(chat_id: str, record: dict[str, Any], raw: bytes) -> list[Any]:
    """Return one event's Parquet row: its chat, its CSV values and its JSON."""
    values = event_values(record)
    values[_MOMENT_AT] = _moment(values[_MOMENT_AT])
    for index in _WHOLE_AT:
        values[index] = _whole(values[index])
    # Decoded, not kept as bytes: orjson's bytes keep their whole write buffer (8 KiB here
    # for a 900-byte event), and a part holds thousands of rows.
    return [chat_id, *values, raw.decode()]


def _column(pa: Any, values: Sequence[Any], field: Any) -> Any:
    """Return one column as an Arrow array; a value of another type than its column's is null."""
    try:
        return pa.array(values, type=field.type)
    except (TypeError, ValueError, OverflowError):  # pyarrow's ArrowTypeError, ArrowInvalid
        # A number or an object where text was expected: its JSON, as the CSV cell shows it.
        convert = _flag if field.name in _BOOLS else _text
        return pa.array([convert(value) for value in values], type=field.type)


@functools.cache
def _schema(pa: Any) -> Any:
    def kind(column: str) -> Any:
        if column in _TIMESTAMPS:
            return pa.timestamp("us", tz="UTC")
        if column in _BOOLS:
            return pa.bool_()
        if column in _INTS:
            return pa.int64()
        return pa.string()

    fields = [
        pa.field(column, kind(column), nullable=column != "raw") for column in PARQUET_COLUMNS
    ]
    return pa.schema(fields)


def record_batch(rows: Sequence[list[Any]]) -> Any:
    """Return rows (from ``parquet_row``) as one pyarrow RecordBatch."""
    pa, _ = load_pyarrow()
    schema = _schema(pa)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(PARQUET_COLUMNS)
    arrays = [_column(pa, column, field) for column, field in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def parquet_bytes(batches: Sequence[Any]) -> Any:
    """Return record batches as the bytes of one Parquet file (a pyarrow Buffer)."""
    pa, pq = load_pyarrow()
    table = pa.Table.from_batches(batches, schema=_schema(pa))
    sink = pa.BufferOutputStream()
    pq.write_table(
        table, sink, compression=PARQUET_COMPRESSION, row_group_size=PARQUET_ROW_GROUP_ROWS
    )
    return sink.getvalue()


def _parse(raw: bytes) -> tuple[dict[str, Any], Checkpoint, tuple[Part, ...]]:
    """Return a Parquet checkpoint's fields, state and parts, or raise Malformed."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"it is not JSON ({exc})") from None
    if isinstance(data, dict) and data.get("format") in ("jsonl", "csv"):
        raise ForeignCheckpoint(checkpoint_settings(raw))
    if isinstance(data, dict) and (
        type(data.get("version")) is not int or data["version"] != _VERSION
    ):
        raise Malformed(
            f"version {data.get('version')!r:.40} is not {_VERSION}, the one this SDK writes"
        )
    data = object_fields(data, _FIELDS, "the checkpoint")
    text_field(data, "check")
    text_field(data, "format", ["parquet"])
    text_field(data, "order", [order.value for order in Order])
    if not isinstance(data["parts"], list):
        raise Malformed("parts must be a list")
    parts = tuple(_part(item, number) for number, item in enumerate(data["parts"]))
    state = Checkpoint(
        cursor=parse_cursor(data["cursor"]),
        size=sum(part.size for part in parts),
        events=whole_number(data, "events"),
    )
    if state.events != sum(part.events for part in parts):
        raise Malformed("its events are not the sum of its parts' events")
    if (state.cursor is None) != (state.events == 0):
        raise Malformed("it has a cursor without events, or events without a cursor")
    return data, state, parts


def _part(item: Any, number: int) -> Part:
    fields = object_fields(item, _PART_FIELDS, f"part {number}")
    part = Part(
        name=text_field(fields, "name", [part_name(number)]),
        events=whole_number(fields, "events"),
        size=whole_number(fields, "size"),
        sha256=text_field(fields, "sha256"),
    )
    if part.events == 0 or not _SHA256.fullmatch(part.sha256):
        raise Malformed(f"part {number} must hold events and a SHA-256 in hex")
    return part


def _seal(fields: dict[str, Any]) -> str:
    """Return the SHA-256 of a checkpoint's fields (the parts' own SHA-256 among them)."""
    body = {key: value for key, value in fields.items() if key != "check"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ParquetChatFile(ChatFile):
    """One chat's part folder, checkpoint and lock; the export calls its methods from a thread."""

    def __init__(
        self,
        out: Path,
        chat_id: str,
        settings: ExportSettings,
        fsync: bool,
        part_rows: int = DEFAULT_PARQUET_PART_ROWS,
    ) -> None:
        super().__init__(out, chat_id, settings, fsync)
        self._part_rows = part_rows
        self._parts: list[Part] = []
        # The pages fetched since the last part, each as Arrow columns (compact, unlike rows).
        self._batches: list[Any] = []
        self._held = 0  # the events in them
        self._pending: TimelineCursor | None = None  # the cursor after those pages
        self._dir: int | None = None  # the part folder, opened once
        self._found_parts: _Found | None = None

    @property
    def is_open(self) -> bool:
        """Return whether the part folder is open for writing."""
        return self._dir is not None

    def check(self) -> None:
        """Raise CheckpointError unless this chat can be resumed or started in its folder."""
        self._found_parts = self._inspect_parts()

    def load(self) -> Checkpoint:
        """Take up where an earlier run stopped, as its checkpoint says now (under the lock)."""
        found = self._found_parts
        if found is None or found.raw is None or self._read_checkpoint() != found.raw:
            found = self._inspect_parts()
        self.state = attrs.evolve(found.state)
        self._parts = list(found.parts)
        return self.state

    def _inspect_parts(self) -> _Found:
        raw = self._read_checkpoint()
        for path, folder in ((self.path, None), (self.lock_path, self.folder)):
            if is_link(path, folder):
                raise self._link(path)
        if raw is None:
            self._refuse_foreign_folder()
            return _Found(None, Checkpoint(), ())
        try:
            fields, state, parts = _parse(raw)
            if fields["chat_id"] != self.chat_id:
                raise Malformed(f"it belongs to chat {fields['chat_id']!r:.60}")
        except Malformed as exc:
            raise self._broken(str(exc)) from None
        except ForeignCheckpoint as foreign:
            raise self.mismatch(foreign.settings) from None
        settings = ExportSettings("parquet", fields["order"])
        if settings != self._settings:
            raise self.mismatch(settings)
        if fields["check"] != _seal(fields):
            raise self._broken("it was changed after the export wrote it")
        if parts:
            self._verify(parts)
        return _Found(raw, state, parts)

    def _refuse_foreign_folder(self) -> None:
        try:
            info = self.path.lstat()
            # An empty folder is one a killed export made before its first checkpoint.
            empty = stat.S_ISDIR(info.st_mode) and not os.listdir(self.path)
        except FileNotFoundError:
            return
        if not empty:
            raise CheckpointError(
                f"chat {self.chat_id}: {self.path} exists and was not written by an export "
                "(it has no checkpoint); remove it or pick another output directory"
            )

    def _verify(self, parts: tuple[Part, ...]) -> None:
        try:
            folder = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
        except OSError as exc:
            raise self._broken(f"its part folder cannot be opened ({exc.strerror})") from None
        try:
            for part in parts:
                if _file_hash(folder, part.name, part.size) != part.sha256:
                    raise self._broken(
                        f"{self.path / part.name} is missing, or not the part it lists"
                    )
        finally:
            os.close(folder)

    def open(self) -> None:
        """Open the part folder and delete what no checkpoint lists: parts and temporary files."""
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.path, 0o777)
        self._dir = folder = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
        committed = {part.name for part in self._parts}
        for name in os.listdir(folder):
            if _TEMPORARY.fullmatch(name) or (_PART.fullmatch(name) and name not in committed):
                os.unlink(name, dir_fd=folder)
        self._pending = self.state.cursor
        self._write_checkpoint()

    def commit(self, records: list[dict[str, Any]], cursor: TimelineCursor | None) -> int:
        """Hold back one page; write a part once enough are held; return the events committed."""
        rows = []
        for record in records:
            try:
                raw = orjson.dumps(record)
            except (orjson.JSONEncodeError, RecursionError) as exc:
                raise UnwritableRecordError(str(record.get("id")), str(exc)) from exc
            rows.append(parquet_row(self.chat_id, record, raw))
        if rows:
            self._batches.append(record_batch(rows))
            self._held += len(rows)
        if cursor is not None:
            self._pending = cursor
        if self._held >= self._part_rows:
            return self._write_part()
        return 0

    def finish(self) -> int:
        """Write the pages still held back as a last part; return the events committed."""
        if self._held:
            return self._write_part()
        if self._dir is not None and self._pending != self.state.cursor:
            # Pages with no new events moved the cursor (a total that changed): keep it.
            self.state.cursor = self._pending
            self._write_checkpoint()
        return 0

    def close(self) -> None:
        """Close the part folder, drop the pages held back and let go of the lock."""
        self._batches, self._held = [], 0
        if self._dir is not None:
            os.close(self._dir)
            self._dir = None
        super().close()

    def _write_part(self) -> int:
        folder = self._dir
        assert folder is not None, "the part folder must be open before writing"
        data = parquet_bytes(self._batches)
        name = part_name(len(self._parts))
        temporary = f".{name}.tmp"
        # A fresh file: whatever a killed run or anyone else left at the name is not opened.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o666, dir_fd=folder
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if self._fsync:
                os.fsync(handle.fileno())
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        if self._fsync:
            os.fsync(folder)  # the rename itself, before a checkpoint names the part
        events = self._held
        self._parts.append(Part(name, events, data.size, hashlib.sha256(data).hexdigest()))
        self.state.events += events
        self.state.size += data.size
        self.state.cursor = self._pending
        self._batches, self._held = [], 0
        self._write_checkpoint()
        return events

    def _checkpoint_body(self) -> bytes:
        fields = {
            "version": _VERSION,
            "chat_id": self.chat_id,
            "format": "parquet",
            "order": self._settings.order,
            "events": self.state.events,
            "cursor": cursor_fields(self.state.cursor),
            "parts": [attrs.asdict(part) for part in self._parts],
        }
        return orjson.dumps({**fields, "check": _seal(fields)})


def _file_hash(folder: int, name: str, size: int) -> str | None:
    """Return the SHA-256 of a part if it is a regular file of ``size`` bytes, else None."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW, dir_fd=folder)
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return None
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
