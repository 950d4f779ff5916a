"""``wegly-async timeline``, run in a real subprocess against this test's own emulator."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from test_cli import ANSI, arun_cli, clean_env

from wegly_async.testing import WeglyEmulator

UNKNOWN_CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=40, seed=17)


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def columns(line: str) -> list[str]:
    """Split a timeline line into time, direction, type, wamid and text."""
    parts = [part for part in line.split("  ") if part]
    head = [part.strip() for part in parts[:4]]
    return [*head, "  ".join(parts[4:]).strip()]


def expected_columns(event: dict[str, Any]) -> list[str]:
    message = event["message"]
    when = datetime.fromisoformat(event["event_at"]).astimezone(UTC)
    direction = {True: "out", False: "in"}[message["from_me"]]
    return [
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        direction,
        message.get("type") or "-",
        message["content_payload"]["wamid"],
    ]


async def test_each_event_is_one_line_of_time_direction_type_wamid_and_text(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("timeline", chat, env=env)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    events = emu.events(chat)
    assert len(lines) == len(events) == 40
    for line, event in zip(lines, events, strict=True):
        got = columns(line)
        assert got[:4] == expected_columns(event), line
        message = event["message"]
        assert (message.get("body_text") or "") in got[4]
        media = message.get("media")
        if media is not None:
            assert f"[{media['file_name']}]" in got[4]
    assert {columns(line)[2] for line in lines} >= {"text", "call", "-", "image"}
    assert not ANSI.search(out)


async def test_desc_is_the_reverse_of_asc(chat: str, env: dict[str, str]) -> None:
    _, asc, _ = await arun_cli("timeline", chat, env=env)
    code, desc, err = await arun_cli("timeline", chat, "--order", "desc", env=env)
    assert (code, err) == (0, "")
    assert desc.splitlines() == asc.splitlines()[::-1]


async def test_a_small_limit_asks_for_that_many_records_once(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("timeline", chat, "--limit", "5", "--order", "desc", env=env)
    assert (code, err) == (0, "")
    newest = emu.events(chat)[::-1][:5]
    assert [columns(line)[3] for line in out.splitlines()] == [
        event["message"]["content_payload"]["wamid"] for event in newest
    ]
    assert [request.query for request in emu.requests] == [
        {"order": "desc", "skip": "0", "take": "5"}
    ]


async def test_a_large_limit_stops_after_that_many_events(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    chat = emu.create_chat(events=300, seed=18)
    code, out, err = await arun_cli("timeline", chat, "--limit", "150", env=env)
    assert (code, err) == (0, "")
    wamids = [columns(line)[3] for line in out.splitlines()]
    assert wamids == [e["message"]["content_payload"]["wamid"] for e in emu.events(chat)[:150]]
    # Two pages of 100 hold 150 events (the second starts at the first's last event).
    assert [request.query for request in emu.requests] == [
        {"order": "asc", "skip": "0", "take": "100"},
        {"order": "asc", "skip": "99", "take": "100"},
    ]


async def test_search_prints_only_the_matching_events(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    chat = emu.create_chat(events=0, seed=19)
    emu.add_message(chat, "Bom dia!")
    emu.add_message(chat, "O pedido 19615 chegou")
    emu.add_message(chat, "Obrigado")
    code, out, err = await arun_cli("timeline", chat, "--search", "19615", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert columns(line)[4] == "O pedido 19615 chegou"
    assert emu.requests[-1].query["search"] == "19615"


async def test_json_prints_the_servers_records_one_per_line(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("timeline", chat, "--json", env=env)
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == emu.events(chat)


async def test_json_with_limit_and_desc(emu: WeglyEmulator, chat: str, env: dict[str, str]) -> None:
    args = ("timeline", chat, "--json", "--limit", "3", "--order", "desc")
    code, out, err = await arun_cli(*args, env=env)
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == emu.events(chat)[::-1][:3]


async def test_hostile_text_cannot_break_or_forge_lines(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    chat = emu.create_chat(events=0, seed=20)
    emu.add_message(chat, "oi\x1b[2J\x1b]0;pwned\x07\nforjada\r\u202eabc\u2028fim\x85")
    emu.add_message(chat, "normal")
    code, out, err = await arun_cli("timeline", chat, env=env)
    assert (code, err) == (0, "")
    first, second = out.splitlines()
    assert columns(first)[4] == (
        "oi\\x1b[2J\\x1b]0;pwned\\x07\\nforjada\\r\\u202eabc\\u2028fim\\x85"
    )
    assert columns(second)[4] == "normal"
    assert not ANSI.search(out)


async def test_hostile_text_cannot_break_a_json_line(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    chat = emu.create_chat(events=0, seed=21)
    hostile = "oi\x1b[2J\nforjada\r\u202eabc\u2028fim\x85\x7f"
    emu.add_message(chat, hostile)
    emu.add_message(chat, "normal")
    code, out, err = await arun_cli("timeline", chat, "--json", env=env)
    assert (code, err) == (0, "")
    # splitlines() also breaks at U+2028 and U+0085: they must not be there raw.
    records = [json.loads(line) for line in out.splitlines()]
    assert records == emu.events(chat)
    assert records[0]["message"]["body_text"] == hostile
    assert not any(char in out for char in "\x1b\r\u202e\u2028\x85\x7f")


async def test_an_unknown_chat_is_one_error_line_and_exit_1(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("timeline", UNKNOWN_CHAT, env=env)
    assert (code, out) == (1, "")
    url = f"{emu.base_url}/integrations/external/chats/{UNKNOWN_CHAT}/timeline"
    [line] = err.splitlines()
    assert line.startswith(f"chat {UNKNOWN_CHAT}: NotFoundError: 404 GET {url}")
    assert emu.token not in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("not-a-uuid",), "CHAT_ID"),
        ((UNKNOWN_CHAT, "--limit", "0"), "--limit"),
        ((UNKNOWN_CHAT, "--order", "up"), "invalid choice"),
    ],
)
async def test_bad_arguments_are_usage_errors_before_any_request(
    emu: WeglyEmulator, env: dict[str, str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = await arun_cli("timeline", *args, env=env)
    assert (code, out) == (2, "")
    assert fragment in err
    assert "Traceback" not in err
    assert emu.requests == []


async def test_a_reader_that_goes_away_ends_it_quietly(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    chat = emu.create_chat(events=3_000, seed=23)  # far more than a pipe buffer holds
    read_end, write_end = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "wegly_async", "timeline", chat),
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
        )
    finally:
        os.close(write_end)
    try:
        # A blocking read goes to a thread: this loop keeps serving the emulator meanwhile.
        first = await asyncio.wait_for(asyncio.to_thread(os.read, read_end, 4096), 30)
        assert re.match(rb"\d{4}-\d\d-\d\dT", first), first
        os.close(read_end)  # like `| head -1`
        read_end = -1
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if read_end != -1:
            os.close(read_end)
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert (proc.returncode, err.decode()) == (0, "")


async def test_a_hostile_error_message_stays_on_one_line(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    emu.inject(400, body={"message": "nope\x1b[2J\nwegly-async: all good\u202e"})
    code, out, err = await arun_cli("timeline", chat, env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.endswith("nope\\x1b[2J\\nwegly-async: all good\\u202e")
    assert not ANSI.search(err)
