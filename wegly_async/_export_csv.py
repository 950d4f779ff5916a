"""The flat form of a timeline event: its columns, its CSV cells, and cells spreadsheets run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = ["CSV_COLUMNS", "FORMULA_STARTS", "csv_lines", "csv_row", "event_values"]

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

# A spreadsheet takes a text cell starting with one of these for a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    # RFC 4180's CRLF: with "\n" alone, csv leaves a field holding a bare "\r" unquoted.
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _csv_value(value: Any, neutralize: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if neutralize and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # A spreadsheet runs a cell like =HYPERLINK(...) or +cmd|...; ' makes it text.
        return "'" + value
    return value


def _sub(record: Any, key: str) -> dict[str, Any]:
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, dict) else {}


def event_values(record: dict[str, Any]) -> list[Any]:
    """Return the JSON value behind each of ``CSV_COLUMNS`` for one event (None if absent)."""
    message = _sub(record, "message")
    media = _sub(message, "media")
    call = _sub(message, "call")
    quoted = _sub(message, "quoted_message")
    reactions = message.get("reactions")
    return [
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


def csv_row(record: dict[str, Any], neutralize: bool) -> list[Any]:
    return [_csv_value(value, neutralize) for value in event_values(record)]
