"""One chat's files in an export: its data file, checkpoint and lock, and its CSV rows.

Every rule about files on disk is here. Nothing is opened through a symbolic link
(``O_NOFOLLOW``). A checkpoint is written to a fresh file (``O_EXCL``) beside it, then
renamed over it. One export at a time writes a chat: it holds ``flock`` on
``.checkpoints/<chat_id>.lock`` while it does. A checkpoint is trusted only as a whole:
its fields are strictly typed, and sealed with a SHA-256 of the data they describe, so
a size, an offset or a cursor that does not belong to the data file is refused with
what to do, rather than resumed into a gap or a duplicate.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs
import orjson

from ._constants import CSV_FORMULA_MODES, CURSOR_IDS, EXPORT_FORMATS
from ._enums import Order
from ._errors import ExportLockedError
from ._export_csv import CSV_COLUMNS, csv_lines, csv_row
from .types.pages import TimelineCursor

if TYPE_CHECKING:
    from _hashlib import HASH

__all__ = [
    "CHECKPOINT_DIR",
    "NOFOLLOW",
    "ChatFile",
    "Checkpoint",
    "CheckpointError",
    "ExportSettings",
    "ForeignCheckpoint",
    "Malformed",
    "UnwritableRecordError",
    "checkpoint_settings",
    "cursor_fields",
    "data_path",
    "is_link",
    "object_fields",
    "open_folder",
    "parse_cursor",
    "text_field",
    "whole_number",
]

CHECKPOINT_DIR = ".checkpoints"
_VERSION = 3
_FIELDS = frozenset(
    ("version", "chat_id", "format", "order", "csv_formulas", "csv_bom", "size", "events")
) | {"cursor", "check"}
_CURSOR_FIELDS = frozenset(("event_id", "skip", "total", "recent_ids"))
_MAX_NUMBER = 2**53 - 1  # what every JSON reader keeps exact
_MAX_CHECKPOINT_BYTES = 1 << 20  # a real one is a few KiB: CURSOR_IDS ids at most
_CHUNK = 1 << 20
_BOM = "\ufeff".encode()
NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class CheckpointError(ValueError):
    """Raise when a chat's files cannot be resumed or started; the message says what to do."""


class UnwritableRecordError(Exception):
    """Raise when a record cannot be written (nested deeper than JSON encoding allows)."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


@attrs.frozen
class ExportSettings:
    """What shapes a chat's file; a resumed export must use the same."""

    format: str
    order: str
    csv_formulas: str | None = None
    csv_bom: bool | None = None

    @classmethod
    def make(cls, fmt: str, order: str, csv_formulas: str, csv_bom: bool) -> ExportSettings:
        """Return the settings, keeping the CSV ones only for CSV (a JSONL file has none)."""
        if fmt == "csv":
            return cls(fmt, order, csv_formulas, csv_bom)
        return cls(fmt, order)

    def describe(self) -> str:
        """Return the settings as ``name=value`` words."""
        words = f"format={self.format} order={self.order}"
        if self.format == "csv":
            words += f" csv_formulas={self.csv_formulas} csv_bom={self.csv_bom}"
        return words


@attrs.define
class Checkpoint:
    """How far a chat's data file goes: its committed size and events, and the pager's cursor."""

    cursor: TimelineCursor | None = None
    size: int = 0
    events: int = 0

    def fields(self, chat_id: str, settings: ExportSettings) -> dict[str, Any]:
        """Return the checkpoint's JSON fields, without its seal."""
        cursor = self.cursor
        return {
            "version": _VERSION,
            "chat_id": chat_id,
            "format": settings.format,
            "order": settings.order,
            "csv_formulas": settings.csv_formulas,
            "csv_bom": settings.csv_bom,
            "size": self.size,
            "events": self.events,
            "cursor": cursor_fields(cursor),
        }


def cursor_fields(cursor: TimelineCursor | None) -> dict[str, Any] | None:
    """Return a pager's cursor as checkpoint JSON (None: nothing written yet)."""
    if cursor is None:
        return None
    return {
        "event_id": cursor.event_id,
        "skip": cursor.skip,
        "total": cursor.total,
        "recent_ids": list(cursor.recent_ids),
    }


def data_path(out: Path, chat_id: str, fmt: str) -> Path:
    """Return where a chat's data go: a file, or for Parquet a folder of part files."""
    return out / chat_id if fmt == "parquet" else out / f"{chat_id}.{fmt}"


def _seal(fields: dict[str, Any], data: HASH) -> str:
    """Return the SHA-256 binding a checkpoint's fields to the hash of the data they cover."""
    body = {key: value for key, value in fields.items() if key != "check"}
    return hashlib.sha256(
        orjson.dumps(body, option=orjson.OPT_SORT_KEYS) + data.digest()
    ).hexdigest()


class Malformed(Exception):
    """A checkpoint field that is not what this version writes."""


class ForeignCheckpoint(Exception):
    """A checkpoint another format's export wrote, with the settings it names."""

    def __init__(self, settings: ExportSettings) -> None:
        super().__init__(settings.describe())
        self.settings = settings


def whole_number(data: dict[str, Any], key: str) -> int:
    value = data[key]
    # type() and not isinstance: true is not 1; a float (orjson's 30-digit numbers) is refused.
    if type(value) is not int or not 0 <= value <= _MAX_NUMBER:
        raise Malformed(f"{key} must be a whole number from 0 to {_MAX_NUMBER}, not {value!r:.40}")
    return value


def text_field(data: dict[str, Any], key: str, allowed: Iterable[str] | None = None) -> str:
    value = data[key]
    if type(value) is not str or (allowed is not None and value not in allowed):
        raise Malformed(f"{key} must be {'one of ' + repr(allowed) if allowed else 'a string'}")
    return value


def object_fields(data: Any, expected: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        kind = {list: "an array", type(None): "null"}.get(type(data), type(data).__name__)
        raise Malformed(f"{what} must be a JSON object, not {kind}")
    if set(data) != expected:
        raise Malformed(f"{what} has the fields {sorted(data)}, not {sorted(expected)}")
    return data


def checkpoint_settings(raw: bytes) -> ExportSettings:
    """Return the settings a JSONL or CSV checkpoint names, or raise Malformed."""
    return _parse(raw)[1]


def _parse(raw: bytes) -> tuple[dict[str, Any], ExportSettings, Checkpoint]:
    """Return a checkpoint's fields, settings and state, or raise Malformed."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"it is not JSON ({exc})") from None
    if isinstance(data, dict) and data.get("format") == "parquet":
        orders = [order.value for order in Order]
        raise ForeignCheckpoint(ExportSettings("parquet", text_field(data, "order", orders)))
    if isinstance(data, dict) and (
        type(data.get("version")) is not int or data["version"] != _VERSION
    ):
        raise Malformed(
            f"version {data.get('version')!r:.40} is not {_VERSION}, the one this SDK writes"
        )
    data = object_fields(data, _FIELDS, "the checkpoint")
    text_field(data, "check")
    fmt = text_field(data, "format", EXPORT_FORMATS)
    csv_formulas, csv_bom = data["csv_formulas"], data["csv_bom"]
    if fmt == "csv" and not (csv_formulas in CSV_FORMULA_MODES and type(csv_bom) is bool):
        raise Malformed("csv_formulas and csv_bom are not a CSV export's")
    if fmt == "jsonl" and (csv_formulas, csv_bom) != (None, None):
        raise Malformed("csv_formulas and csv_bom must be null for a JSONL export")
    settings = ExportSettings(
        fmt, text_field(data, "order", [order.value for order in Order]), csv_formulas, csv_bom
    )
    state = Checkpoint(size=whole_number(data, "size"), events=whole_number(data, "events"))
    state.cursor = parse_cursor(data["cursor"])
    if (state.cursor is None) != (state.events == 0):
        raise Malformed("it has a cursor without events, or events without a cursor")
    return data, settings, state


def parse_cursor(value: Any) -> TimelineCursor | None:
    """Return the pager's cursor a checkpoint holds, or raise Malformed."""
    if value is None:
        return None
    raw_cursor = object_fields(value, _CURSOR_FIELDS, "the cursor")
    recent = raw_cursor["recent_ids"]
    if not isinstance(recent, list) or len(recent) >= CURSOR_IDS:
        raise Malformed(f"recent_ids must be a list of fewer than {CURSOR_IDS} ids")
    if any(type(item) is not str for item in recent):
        raise Malformed("recent_ids must hold strings")
    return TimelineCursor(
        event_id=text_field(raw_cursor, "event_id"),
        skip=whole_number(raw_cursor, "skip"),
        total=whole_number(raw_cursor, "total"),
        recent_ids=tuple(recent),
    )


@attrs.frozen
class _Found:
    """What a look at a chat's files found: the checkpoint read (None: none) and what it says."""

    raw: bytes | None
    state: Checkpoint
    data: HASH  # the SHA-256 of the data file up to state.size


def is_link(path: Path, folder: int | None = None) -> bool:
    try:
        info = os.stat(path if folder is None else path.name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISLNK(info.st_mode)


def open_folder(path: Path) -> int:
    """Open the checkpoint folder once, so a folder swapped for a link later is not followed."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)


class ChatFile:
    """One chat's data file, checkpoint and lock; the export calls its methods from a thread."""

    def __init__(self, out: Path, chat_id: str, settings: ExportSettings, fsync: bool) -> None:
        self.chat_id = chat_id
        self.path = data_path(out, chat_id, settings.format)
        folder = out / CHECKPOINT_DIR
        self.checkpoint_path = folder / f"{chat_id}.json"
        self._tmp_path = folder / f"{chat_id}.json.tmp"
        self.lock_path = folder / f"{chat_id}.lock"
        self._settings = settings
        self._fsync = fsync
        self._file: BinaryIO | None = None
        self._lock: int | None = None
        self.state = Checkpoint()
        self._data = hashlib.sha256()
        self._found: _Found | None = None  # what check() found, so load() need not read again
        # The checkpoint folder, opened once: its files are reached through it, not by path.
        self.folder: int | None = None

    @property
    def events(self) -> int:
        """Return how many events the data file holds, as far as the checkpoint knows."""
        return self.state.events

    @property
    def is_open(self) -> bool:
        """Return whether the data file is open for writing."""
        return self._file is not None

    def check(self) -> None:
        """Raise CheckpointError unless this chat can be resumed or started in its folder."""
        self._found = self._inspect()

    def _inspect(self) -> _Found:
        raw = self._read_checkpoint()
        if is_link(self.path):
            raise self._link(self.path)
        if is_link(self.lock_path, self.folder):
            raise self._link(self.lock_path)
        if raw is None:
            self._refuse_foreign_data()
            return _Found(None, Checkpoint(), hashlib.sha256())
        try:
            fields, settings, state = _parse(raw)
            if fields["chat_id"] != self.chat_id:
                raise Malformed(f"it belongs to chat {fields['chat_id']!r:.60}")
        except Malformed as exc:
            raise self._broken(str(exc)) from None
        except ForeignCheckpoint as foreign:
            raise self.mismatch(foreign.settings) from None
        if settings != self._settings:
            raise self.mismatch(settings)
        data = self._hash_data(state.size)
        if fields["check"] != _seal(fields, data):
            raise self._broken(
                f"it does not describe {self.path} (one of them was changed after the "
                "export wrote them)"
            )
        return _Found(raw, state, data)

    def mismatch(self, settings: ExportSettings) -> CheckpointError:
        """Return the error for a checkpoint an export with other ``settings`` wrote."""
        data = data_path(self.path.parent, self.chat_id, settings.format)
        return CheckpointError(
            f"chat {self.chat_id}: the export in {self.path.parent} was started with "
            f"{settings.describe()}; rerun with those, or delete "
            f"{self.checkpoint_path} and {data} to start again"
        )

    def _link(self, path: Path) -> CheckpointError:
        return CheckpointError(
            f"chat {self.chat_id}: {path} is a symbolic link, and the export reads and writes "
            "through no link: remove it"
        )

    def _broken(self, reason: str) -> CheckpointError:
        return CheckpointError(
            f"chat {self.chat_id}: cannot resume from {self.checkpoint_path}: {reason}; "
            f"delete it and {self.path} to export the chat again"
        )

    def _read_checkpoint(self) -> bytes | None:
        try:
            fd = self._open_in_folder(self.checkpoint_path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._link(self.checkpoint_path) from None
            raise self._broken(f"it cannot be opened ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._broken("it is not a regular file")
            raw = handle.read(_MAX_CHECKPOINT_BYTES + 1)
        if len(raw) > _MAX_CHECKPOINT_BYTES:
            raise self._broken(f"it is larger than {_MAX_CHECKPOINT_BYTES:,} bytes")
        return raw

    def _refuse_foreign_data(self) -> None:
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            return
        # An empty file is one a killed export created before its first checkpoint.
        if not stat.S_ISREG(info.st_mode) or info.st_size:
            raise CheckpointError(
                f"chat {self.chat_id}: {self.path} exists and was not written by an export "
                "(it has no checkpoint); remove it or pick another output directory"
            )

    def _hash_data(self, size: int) -> HASH:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW)
        except OSError as exc:
            raise self._broken(f"its data file cannot be opened ({exc.strerror})") from None
        data = hashlib.sha256()
        last = b""
        with os.fdopen(fd, "rb") as handle:
            actual = os.fstat(fd).st_size
            if not stat.S_ISREG(os.fstat(fd).st_mode) or size > actual:
                raise self._broken(f"it covers {size:,} bytes of a file that has {actual:,}")
            left = size
            while left:
                chunk = handle.read(min(_CHUNK, left))
                if not chunk:
                    raise self._broken("the data file shrank while it was read")
                data.update(chunk)
                left -= len(chunk)
                last = chunk[-1:]
        if size and last != b"\n":
            raise self._broken(f"its size, {size:,} bytes, is not at the end of a line")
        return data

    def lock(self) -> None:
        """Take this chat's lock, or raise ExportLockedError if another export holds it."""
        fd = self._open_in_folder(self.lock_path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ExportLockedError(
                f"another export is writing chat {self.chat_id} (it holds {self.lock_path}); "
                "let it finish, or run this one again once it is done"
            ) from None
        self._lock = fd

    def load(self) -> Checkpoint:
        """Take up where an earlier run stopped, as its checkpoint says now (under the lock)."""
        found = self._found
        if found is None or self._read_checkpoint() != found.raw or found.raw is None:
            # Another export may have written the chat between check() and the lock.
            found = self._inspect()
        self.state = attrs.evolve(found.state)
        self._data = found.data.copy()
        return self.state

    def open(self) -> None:
        """Open the data file at the loaded checkpoint's size, cutting off anything past it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o666)
        self._file = handle = os.fdopen(fd, "r+b")
        # Anything past the committed size is a page that never got its checkpoint.
        handle.truncate(self.state.size)
        handle.seek(self.state.size)
        if self.state.size == 0 and self._settings.format == "csv":
            self._write((_BOM if self._settings.csv_bom else b"") + csv_lines([list(CSV_COLUMNS)]))
        self._write_checkpoint()

    def commit(self, records: list[dict[str, Any]], cursor: TimelineCursor | None) -> int:
        """Append one page of records, record the pager's cursor; return the events committed."""
        if records:
            try:
                if self._settings.format == "jsonl":
                    data = b"".join(orjson.dumps(record) + b"\n" for record in records)
                else:
                    neutralize = self._settings.csv_formulas == "neutralize"
                    data = csv_lines(csv_row(record, neutralize) for record in records)
            except (orjson.JSONEncodeError, RecursionError) as exc:
                raise UnwritableRecordError(_failing_id(records), str(exc)) from exc
            self._write(data)
            self.state.events += len(records)
        self.state.cursor = cursor
        self._write_checkpoint()
        return len(records)

    def finish(self) -> int:
        """Commit what is still held back once the pages end (nothing: each page is committed)."""
        return 0

    def close(self) -> None:
        """Close the data file and let go of the lock."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self._data.update(data)
        self.state.size += len(data)

    def _checkpoint_body(self) -> bytes:
        fields = self.state.fields(self.chat_id, self._settings)
        return orjson.dumps({**fields, "check": _seal(fields, self._data)})

    def _write_checkpoint(self) -> None:
        body = self._checkpoint_body()
        # A fresh file (O_EXCL): whatever sits at the temporary name, a link or a FIFO
        # planted there or a half-written one a killed run left, is removed, not opened.
        folder = self.folder
        # Writes go through the folder the export opened, never by a path that can change.
        assert folder is not None, "the checkpoint folder must be open before writing"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp_path.name, dir_fd=folder)
        fd = self._open_in_folder(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            if self._fsync:
                os.fsync(handle.fileno())
        names = self._tmp_path.name, self.checkpoint_path.name
        os.replace(*names, src_dir_fd=folder, dst_dir_fd=folder)

    def _open_in_folder(self, path: Path, flags: int) -> int:
        """Open a file of the checkpoint folder, through the folder once it is open."""
        if self.folder is None:  # the checks before the export made the folder: reads only
            return os.open(path, flags | NOFOLLOW, 0o666)
        return os.open(path.name, flags | NOFOLLOW, 0o666, dir_fd=self.folder)


def _failing_id(records: list[dict[str, Any]]) -> str:
    for record in records:
        try:
            orjson.dumps(record)
        except (orjson.JSONEncodeError, RecursionError):
            return str(record.get("id"))
    return "?"
