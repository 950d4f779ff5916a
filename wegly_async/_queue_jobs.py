"""What a queued chat export is, apart from the engine: its URL, its settings, key and status.

Nothing here imports the queue engine or talks to Redis, so every rule (which URL is
accepted, what a job holds, how its key is made, how a status line reads) is checked
before any connection and tested without a server. The job holds the export's
settings and nothing else: never a token, which each worker reads from its own
environment.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from ._constants import (
    CSV_FORMULA_MODES,
    DEFAULT_CSV_FORMULAS,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_EXPORT_FORMAT,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PARQUET_PART_ROWS,
    EXPORT_FORMATS,
)
from ._enums import Order
from ._validation import (
    check_bool,
    check_chat_id,
    check_choice,
    check_int,
    check_order,
    check_str,
)

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_SWEEP",
    "MISSING_EXTRA",
    "QUEUE_NAME",
    "ChatJobStatus",
    "EnqueuedExport",
    "ExportJob",
    "JobState",
    "check_queue_url",
]

QUEUE_NAME = "wegly-export"
# A worker that stops beating for this long has its job handed to another worker.
DEFAULT_HEARTBEAT = 10
# How often a worker looks for jobs whose worker stopped beating (one sweep at a time).
DEFAULT_SWEEP = 3
MISSING_EXTRA = (
    "the job queue needs the 'queue' extra (the SAQ engine and redis-py): "
    "pip install 'wegly-async[queue]'"
)
_SCHEMES = ("redis", "rediss")

JobState = Literal["queued", "running", "done", "failed"]


def check_queue_url(url: object, name: str = "queue URL") -> str:
    """Return ``url`` when it is a ``redis://`` or ``rediss://`` URL with a host and a db number."""
    text = check_str(url, name)
    parts = urlsplit(text)
    if parts.scheme.lower() not in _SCHEMES:
        shown = parts.scheme or "none"
        raise ValueError(
            f"{name} must start with redis:// or rediss:// (scheme {shown!r:.20}), "
            "e.g. redis://127.0.0.1:6379/0"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1:
        raise ValueError(f"{name} needs a host and a valid port, e.g. redis://127.0.0.1:6379/0")
    db = parts.path.lstrip("/")
    if "/" in db or (db and not db.isdecimal()) or parts.query or parts.fragment:
        raise ValueError(
            f"{name} must end with a database number and nothing after it, "
            "e.g. redis://127.0.0.1:6379/0"
        )
    return text


def _key_part(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


@attrs.frozen
class ExportJob:
    """One chat's export as a job: exactly the export's settings, never a credential."""

    chat_id: str
    out: str
    format: str = DEFAULT_EXPORT_FORMAT
    order: str = Order.ASC.value
    take: int = DEFAULT_PAGE_SIZE
    concurrency: int = DEFAULT_EXPORT_CONCURRENCY
    fsync: bool = False
    csv_formulas: str = DEFAULT_CSV_FORMULAS
    csv_bom: bool = False
    parquet_part_rows: int = DEFAULT_PARQUET_PART_ROWS

    @classmethod
    def make(
        cls,
        chat_id: object,
        out_dir: str | os.PathLike[str],
        *,
        format: object = DEFAULT_EXPORT_FORMAT,
        order: object = Order.ASC,
        take: object = DEFAULT_PAGE_SIZE,
        concurrency: object = DEFAULT_EXPORT_CONCURRENCY,
        fsync: object = False,
        csv_formulas: object = DEFAULT_CSV_FORMULAS,
        csv_bom: object = False,
        parquet_part_rows: object = DEFAULT_PARQUET_PART_ROWS,
    ) -> ExportJob:
        """Return the job for one chat, its output directory resolved to an absolute path."""
        if not isinstance(out_dir, str | os.PathLike):
            raise TypeError(f"out_dir must be a path, got {type(out_dir).__name__}")
        out = Path(out_dir).resolve()
        if out.exists() and not out.is_dir():
            raise ValueError(f"out_dir must be a directory, and {out} is a file")
        return cls.from_kwargs(
            {
                "chat_id": chat_id,
                "out": str(out),
                "format": format,
                "order": check_order(order).value,
                "take": take,
                "concurrency": concurrency,
                "fsync": fsync,
                "csv_formulas": csv_formulas,
                "csv_bom": csv_bom,
                "parquet_part_rows": parquet_part_rows,
            }
        )

    @classmethod
    def from_kwargs(cls, kwargs: object) -> ExportJob:
        """Return the job a queue entry describes, or raise ValueError or TypeError."""
        if not isinstance(kwargs, dict):
            raise TypeError(f"a job's arguments must be a dict, got {type(kwargs).__name__}")
        fields = {field.name for field in attrs.fields(cls)}
        if set(kwargs) != fields:
            raise ValueError(f"a job has the arguments {sorted(fields)}, not {sorted(kwargs)}")
        out = check_str(kwargs["out"], "out")
        if not os.path.isabs(out):
            raise ValueError(f"a job's out must be an absolute path, not {out!r:.80}")
        fmt = check_choice(check_str(kwargs["format"], "format"), "format", EXPORT_FORMATS)
        csv_formulas = check_choice(
            check_str(kwargs["csv_formulas"], "csv_formulas"), "csv_formulas", CSV_FORMULA_MODES
        )
        return cls(
            chat_id=check_chat_id(kwargs["chat_id"]),
            out=out,
            format=fmt,
            order=check_order(kwargs["order"]).value,
            take=check_int(kwargs["take"], "take", minimum=1),
            concurrency=check_int(kwargs["concurrency"], "concurrency", minimum=1),
            fsync=check_bool(kwargs["fsync"], "fsync"),
            csv_formulas=csv_formulas,
            csv_bom=check_bool(kwargs["csv_bom"], "csv_bom"),
            parquet_part_rows=check_int(
                kwargs["parquet_part_rows"], "parquet_part_rows", minimum=1
            ),
        )

    @property
    def key(self) -> str:
        """Return the job's key: the same chat, output directory, format and order, one job."""
        return f"export:{self.chat_id}:{self.format}:{self.order}:{_key_part(self.out)}"

    def to_kwargs(self) -> dict[str, Any]:
        """Return the job's arguments as the queue stores them (JSON types only)."""
        return attrs.asdict(self)


@attrs.frozen
class EnqueuedExport:
    """A chat's job as enqueuing left it: new, or one already queued or running."""

    chat_id: str
    key: str
    created: bool


@attrs.frozen
class ChatJobStatus:
    """Where one chat's export job stands: its state, events so far, attempts and any error."""

    chat_id: str
    state: JobState
    out: str
    format: str
    events: int = 0
    total: int | None = None
    attempts: int = 0
    error: str | None = None
    worker: str | None = None  # HOST:PID:ID of the worker running it

    @property
    def worker_pid(self) -> int | None:
        """Return the process id of the worker running the job, if it is running."""
        if self.worker is None:
            return None
        parts = self.worker.rsplit(":", 2)
        return int(parts[1]) if len(parts) == 3 and parts[1].isdecimal() else None

    def line(self) -> str:
        """Return the status as one line: ``CHAT_ID STATE events=N ...``."""
        words = [self.chat_id, self.state]
        if self.state != "queued" or self.events:
            total = f"/{self.total}" if self.total is not None and self.state == "running" else ""
            words.append(f"events={self.events}{total}")
        if self.attempts > 1:
            words.append(f"attempts={self.attempts}")
        if self.worker is not None:
            words.append(f"worker={self.worker}")
        words += [f"format={self.format}", f"out={self.out}"]
        if self.error is not None:
            words.append(f"error: {self.error}")
        return " ".join(words)
