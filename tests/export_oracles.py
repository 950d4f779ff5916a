"""Oracles shared by the export tests: what a file should hold, written apart from the exporter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from wegly_async.export import CSV_COLUMNS


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def expected_csv_row(event: dict[str, Any], *, neutralize: bool = False) -> list[str]:
    """The flat row of one event, mapped independently of the exporter.

    With ``neutralize``, a cell whose value is text starting with a formula character gets a
    leading ``'``; numbers, booleans and empty cells never do.
    """
    values = csv_values(event)
    return [
        "'" + value
        if neutralize and isinstance(value, str) and value.startswith(FORMULA_STARTS)
        else csv_cell(value)
        for value in values.values()
    ]


def csv_values(event: dict[str, Any]) -> dict[str, Any]:
    """The JSON value behind each CSV column of one event."""
    message = event.get("message") or {}
    media = message.get("media") or {}
    call = message.get("call") or {}
    quoted = message.get("quoted_message") or {}
    values = {
        "event_id": event["id"],
        "event_type": event.get("event_type"),
        "event_at": event.get("event_at"),
        "message_id": message.get("id"),
        "type": message.get("type"),
        "origin": message.get("origin"),
        "from_me": message.get("from_me"),
        "status": message.get("status"),
        "body_text": message.get("body_text"),
        "media_url": media.get("url"),
        "media_mime_type": media.get("mime_type"),
        "media_file_name": media.get("file_name"),
        "call_status": call.get("status"),
        "call_direction": call.get("direction"),
        "call_duration_ms": call.get("duration_ms"),
        "quoted_message_id": quoted.get("id"),
        "reaction_count": len(message.get("reactions") or []),
    }
    assert tuple(values) == CSV_COLUMNS
    return values


# The Parquet columns: the CSV ones with real types, after the chat, and the event's JSON.
PARQUET_TYPES = {
    "chat_id": "string",
    **dict.fromkeys(CSV_COLUMNS, "string"),
    "event_at": "timestamp[us, tz=UTC]",
    "from_me": "bool",
    "call_duration_ms": "int64",
    "reaction_count": "int64",
    "raw": "string",
}


def expected_parquet_row(chat_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The typed row of one event without ``raw``, mapped independently of the exporter."""
    row: dict[str, Any] = {"chat_id": chat_id}
    for column, value in csv_values(event).items():
        kind = PARQUET_TYPES[column]
        if value is None:
            row[column] = None
        elif kind.startswith("timestamp"):
            row[column] = datetime.fromisoformat(value).astimezone(UTC)
        elif kind == "bool":
            row[column] = value if isinstance(value, bool) else None
        elif kind == "int64":
            row[column] = value if type(value) is int else None
        else:
            row[column] = value if isinstance(value, str) else json.dumps(value)
    return row
