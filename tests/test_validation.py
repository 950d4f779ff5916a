"""The checks every caller-facing entry point shares: value first, name second, one wording."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import wegly_async as wa
from wegly_async._validation import (
    check_bool,
    check_chat_id,
    check_header_text,
    check_int,
    check_optional_text,
    check_order,
    check_seconds,
    check_str,
    check_text,
)
from wegly_async.export import export_timelines
from wegly_async.testing import WeglyEmulator


def exactly(message: str) -> str:
    """Return a ``match=`` pattern for exactly this message."""
    return f"^{re.escape(message)}$"


def starts(message: str) -> str:
    """Return a ``match=`` pattern for a message that starts so."""
    return f"^{re.escape(message)}"


def test_check_int_returns_the_value_within_its_bounds() -> None:
    assert check_int(5, "take", minimum=1) == 5
    assert check_int(-3, "seed") == -3
    assert check_int(65_535, "port", minimum=0, maximum=65_535) == 65_535


@pytest.mark.parametrize(
    ("value", "bounds", "error", "message"),
    [
        ("10", {"minimum": 1}, TypeError, "take must be an int, got str"),
        (True, {"minimum": 1}, TypeError, "take must be an int, got bool"),
        (2.0, {}, TypeError, "take must be an int, got float"),
        (0, {"minimum": 1}, ValueError, "take must be >= 1, got 0"),
        (101, {"maximum": 100}, ValueError, "take must be <= 100, got 101"),
        (0, {"minimum": 1, "maximum": 100}, ValueError, "take must be from 1 to 100, got 0"),
        (101, {"minimum": 1, "maximum": 100}, ValueError, "take must be from 1 to 100, got 101"),
    ],
)
def test_check_int_says_what_is_wrong(
    value: object, bounds: dict[str, int], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        check_int(value, "take", **bounds)
    assert str(info.value) == message


def test_check_seconds() -> None:
    assert check_seconds(0, "delay") == 0.0
    assert isinstance(check_seconds(2, "delay"), float)
    with pytest.raises(TypeError, match=exactly("delay must be a number of seconds, got bool")):
        check_seconds(True, "delay")
    with pytest.raises(TypeError, match=exactly("delay must be a number of seconds, got str")):
        check_seconds("1", "delay")
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(
            ValueError, match=starts("delay must be a finite number of seconds >= 0")
        ):
            check_seconds(bad, "delay")
    with pytest.raises(
        ValueError, match=exactly("total must be a finite number of seconds > 0, got 0")
    ):
        check_seconds(0, "total", positive=True)


def test_check_str_text_and_bool() -> None:
    assert check_str("", "text") == ""
    assert check_text(" oi ", "body") == " oi "
    assert check_optional_text(None, "caption") is None
    assert check_bool(False, "drop") is False
    with pytest.raises(TypeError, match=exactly("body must be a str, got int")):
        check_text(5, "body")
    with pytest.raises(ValueError, match=exactly("body must not be empty")):
        check_text(" \n", "body")
    with pytest.raises(ValueError, match=exactly("caption must not be empty")):
        check_optional_text("", "caption")
    with pytest.raises(TypeError, match=exactly("drop must be a bool, got int")):
        check_bool(1, "drop")


def test_check_header_text() -> None:
    assert check_header_text("foto 1.png", "filename") == "foto 1.png"
    for bad in ("", "  ", "a\r\nX-Evil: 1", "tab\there", "del\x7f"):
        with pytest.raises(ValueError, match="filename must be non-empty text without control"):
            check_header_text(bad, "filename")
    with pytest.raises(TypeError, match=exactly("filename must be a str, got bytes")):
        check_header_text(b"a.png", "filename")


def test_check_order() -> None:
    assert check_order("DESC") is wa.Order.DESC
    assert check_order(wa.Order.ASC) is wa.Order.ASC
    for bad in ("up", "", None, 1):
        with pytest.raises(ValueError, match="order must be 'asc' or 'desc'"):
            check_order(bad)


def test_check_chat_id() -> None:
    value = uuid.UUID("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert check_chat_id(value) == str(value)
    assert check_chat_id(str(value).upper()) == str(value)
    with pytest.raises(ValueError, match=starts("CHAT_ID must be a UUID like")):
        check_chat_id("nope", "CHAT_ID")
    with pytest.raises(TypeError, match=exactly("chat_id must be a UUID string, got int")):
        check_chat_id(5)


# --- one wording wherever the mistake is made ------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: wa.WeglyClient("t", max_retries=-1), "max_retries must be >= 0, got -1"),
        (lambda: wa.WeglyClient("t", max_retries=1.5), "max_retries must be an int, got float"),
        (
            lambda: wa.WeglyClient("t", max_retry_after=float("nan")),
            "max_retry_after must be a finite number of seconds >= 0, got nan",
        ),
        (lambda: wa.Timeout(total=0), "Timeout.total must be a finite number of seconds > 0"),
        (lambda: wa.Timeout(read="5"), "Timeout.read must be a number of seconds, got str"),
        (lambda: wa.WeglyClient(token=5), "token must be a str, got int"),
        (lambda: wa.WeglyClient("t", base_url=5), "base_url must be a str, got int"),
        (lambda: wa.WeglyClient("t", origin=5), "origin must be a str, got int"),
        (lambda: wa.TemplateField("", "TEXT", value="x"), "TemplateField.component must not be"),
        (lambda: wa.TemplateField("B", "T", -1, value="x"), "TemplateField.index must be >= 0"),
        (lambda: wa.TemplateField("B", "T", value=3), "TemplateField.value must be a str, got int"),
        (lambda: WeglyEmulator(port=70_000), "port must be from 0 to 65535, got 70000"),
        (lambda: WeglyEmulator(latency=-1), "latency must be a finite number of seconds >= 0"),
        (lambda: WeglyEmulator(max_take=True), "max_take must be an int, got bool"),
        (lambda: WeglyEmulator(host=127), "host must be a str, got int"),
        (lambda: WeglyEmulator().create_chat(events=-1), "events must be >= 0, got -1"),
        (lambda: WeglyEmulator().inject(500, times=0), "times must be >= 1, got 0"),
        (lambda: WeglyEmulator().inject(500, drop="yes"), "drop must be a bool, got str"),
        (lambda: WeglyEmulator().inject(600), "status must be from 200 to 599, got 600"),
        (lambda: WeglyEmulator().inject(429, delay=-1), "delay must be a finite number"),
    ],
)
def test_every_entry_point_words_a_mistake_the_same(make: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert str(info.value).startswith(message)


async def test_the_export_refuses_an_order_as_the_timeline_does(tmp_path: Path) -> None:
    chat_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    async with wa.WeglyClient("t", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(ValueError, match="order") as timeline:
            client.chats.timeline(chat_id, order="up")
        with pytest.raises(ValueError, match="order") as export:
            await export_timelines(client, [chat_id], tmp_path, order="up")
    assert str(export.value) == str(timeline.value)
