"""Timeline export (library level) against the built-in emulator over loopback.

Every file is checked against the emulator's own timeline (``emu.events``): same events,
same order, same keys and values with the same JSON types, nothing more.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import math
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import aiohttp
import pytest
from export_oracles import expected_csv_row

import wegly_async as wa
from wegly_async._constants import CSV_FORMULA_MODES, EXPORT_FORMATS
from wegly_async.export import (
    CSV_COLUMNS,
    ChatExport,
    CsvFormulas,
    ExportFormat,
    ExportResult,
    export_timelines,
)
from wegly_async.testing import WeglyEmulator

TIMEOUT = 30.0  # seconds any single export in this module may take

MakeEmu = Callable[..., Awaitable[WeglyEmulator]]


# --- helpers -----------------------------------------------------------------------------


def typed(value: Any) -> Any:
    """Describe a JSON value with its types and key order, so True != 1 and 1 != 1.0."""
    if isinstance(value, dict):
        return ("object", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [typed(item) for item in value])
    return (type(value).__name__, value)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in a JSON object: {keys}"
    return dict(pairs)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Parse a JSONL file strictly: every line a JSON object, the file ends with a newline."""
    data = path.read_bytes()
    if not data:
        return []
    assert data.endswith(b"\n"), f"{path.name} ends with a partial line: {data[-60:]!r}"
    records = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            record = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except ValueError as exc:  # pragma: no cover - reported as a failure
            raise AssertionError(f"{path.name} line {number} is not JSON: {line[:80]!r}") from exc
        assert isinstance(record, dict), f"line {number} is not an object"
        records.append(record)
    return records


def assert_jsonl_exact(path: Path, expected: list[dict[str, Any]]) -> None:
    """The file holds exactly ``expected``: same order, same keys, values and JSON types."""
    records = read_jsonl(path)
    ids = [record.get("id") for record in records]
    assert len(ids) == len(set(ids)), "duplicate event ids in the export"
    assert ids == [event["id"] for event in expected]
    assert records == expected
    for record, event in zip(records, expected, strict=True):
        assert typed(record) == typed(event), f"event {event['id']} differs in keys or types"


def jsonl_bytes(events: list[dict[str, Any]]) -> int:
    """Roughly how many bytes a JSONL export of ``events`` takes (for progress thresholds)."""
    return sum(
        len(json.dumps(event, ensure_ascii=False, separators=(",", ":"))) + 1 for event in events
    )


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n"), f"{path.name} ends with a partial row"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, f"{path.name} has no header"
    return rows[0], rows[1:]


def assert_csv_exact(path: Path, expected: list[dict[str, Any]]) -> None:
    header, rows = read_csv(path)
    assert header == list(CSV_COLUMNS)
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate event ids in the export"
    assert ids == [event["id"] for event in expected]
    assert rows == [expected_csv_row(event) for event in expected]


def gets(emu: WeglyEmulator, chat_id: str | None = None) -> list[Any]:
    """The timeline GETs the emulator received, optionally for one chat."""
    return [
        request
        for request in emu.requests
        if request.method == "GET"
        and request.path.endswith("/timeline")
        and (chat_id is None or f"/chats/{chat_id}/" in request.path)
    ]


async def export(client: wa.WeglyClient, chat_ids: Any, out: Path, **kwargs: Any) -> ExportResult:
    async with asyncio.timeout(TIMEOUT):
        return await export_timelines(client, chat_ids, out, **kwargs)


async def wait_until(predicate: Callable[[], bool], *, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the export to make progress")
        await asyncio.sleep(0.002)


def append(path: Path, data: bytes) -> None:
    """Append raw bytes to a file, as a process that died mid-write would have left them."""
    with path.open("ab") as handle:
        handle.write(data)


def unknown_chat() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def make_emu() -> AsyncIterator[MakeEmu]:
    """Start emulators with custom settings; all are closed when the test ends."""
    started: list[WeglyEmulator] = []

    async def make(**kwargs: Any) -> WeglyEmulator:
        emu = WeglyEmulator(**kwargs)
        await emu.start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        await emu.close()


@pytest.fixture
async def emu(make_emu: MakeEmu) -> WeglyEmulator:
    return await make_emu()


@pytest.fixture
async def client(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    """A client on the emulator (shadows conftest's aioresponses client)."""
    async with emu.client() as c:
        yield c


# --- exact JSONL files -------------------------------------------------------------------


async def test_jsonl_files_hold_exactly_the_server_events(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chats = [
        emu.create_chat(events=2500, seed=11),
        emu.create_chat(events=700, seed=12),
        emu.create_chat(events=300, seed=13),
    ]
    out = tmp_path / "out"
    result = await export(client, chats, out, take=100, concurrency=2)

    assert result.ok and result.failed == []
    assert [chat.chat_id for chat in result.chats] == chats
    for chat_id, chat in zip(chats, result.chats, strict=True):
        expected = emu.events(chat_id)
        assert chat.path == out / f"{chat_id}.jsonl"
        assert (chat.written, chat.events, chat.error) == (len(expected), len(expected), None)
        assert_jsonl_exact(chat.path, expected)
    assert result.written == 3500
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(
        f"{c}.jsonl" for c in chats
    )
    # Every page asked for the requested size, in ascending order.
    assert {(r.query["take"], r.query["order"]) for r in gets(emu)} == {("100", "asc")}


async def test_unknown_fields_survive_the_jsonl_round_trip(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=1500, seed=14)
    expected = emu.events(chat_id)
    edited = [e["id"] for e in expected if "edited" in (e["message"] or {})]
    paged = [
        e["id"] for e in expected if "page" in ((e["message"] or {}).get("quoted_message") or {})
    ]
    # Make sure the data really has the undocumented fields this test is about.
    assert edited and paged
    await export(client, [chat_id], tmp_path)

    by_id = {record["id"]: record for record in read_jsonl(tmp_path / f"{chat_id}.jsonl")}
    for event_id in edited:
        assert by_id[event_id]["message"]["edited"] is False
    for event_id in paged:
        assert by_id[event_id]["message"]["quoted_message"]["page"] == 2
    # Reduced messages keep their plain-string timestamp and lack the absent keys.
    reduced = [e for e in expected if e["message"] and "type" not in e["message"]]
    assert reduced
    for event in reduced:
        record = by_id[event["id"]]
        assert "type" not in record["message"] and "origin" not in record["message"]
        assert record["message"]["meta_timestamp"] == event["message"]["meta_timestamp"]
        assert record["message"]["meta_timestamp"].endswith("+00:00")
    assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", expected)


async def test_desc_order_gives_the_exact_reverse(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chats = [emu.create_chat(events=n, seed=20 + n) for n in (450, 101)]
    result = await export(client, chats, tmp_path, order="desc", take=50, concurrency=2)
    assert result.ok
    for chat_id in chats:
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id)[::-1])
    assert {r.query["order"] for r in gets(emu)} == {"desc"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_an_empty_chat_gives_an_empty_file(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, fmt: str
) -> None:
    empty = emu.create_chat(events=0, seed=30)
    other = emu.create_chat(events=25, seed=31)
    result = await export(client, [empty, other], tmp_path, format=fmt, take=10)
    assert result.ok
    assert (result.chats[0].events, result.chats[0].written) == (0, 0)
    path = tmp_path / f"{empty}.{fmt}"
    if fmt == "jsonl":
        assert path.read_bytes() == b""
        assert_jsonl_exact(tmp_path / f"{other}.jsonl", emu.events(other))
    else:
        assert read_csv(path) == (list(CSV_COLUMNS), [])
        assert_csv_exact(tmp_path / f"{other}.csv", emu.events(other))


async def test_short_pages_still_give_exact_files(make_emu: MakeEmu, tmp_path: Path) -> None:
    emu = await make_emu(max_take=7)
    chats = [emu.create_chat(events=n, seed=40 + n) for n in (300, 50)]
    async with emu.client() as client:
        result = await export(client, chats, tmp_path, take=50, concurrency=2)
    assert result.ok
    for chat_id in chats:
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))
        # Short pages are followed to the end and not re-read: 7 records a page, the first
        # 7 new and each later one 6 past its anchor. (A few requests of slack for a pager
        # that asks for pages ahead.)
        sequential = 1 + math.ceil((len(emu.events(chat_id)) - 7) / 6)
        assert len(gets(emu, chat_id)) <= sequential + 4


async def test_raw_pager_yields_the_server_dicts(make_emu: MakeEmu) -> None:
    emu = await make_emu(max_take=9)
    chat_id = emu.create_chat(events=120, seed=45)
    async with emu.client() as client:
        async with asyncio.timeout(TIMEOUT):
            records = [r async for r in client.chats.timeline(chat_id, take=25).raw()]
    expected = emu.events(chat_id)
    assert [typed(r) for r in records] == [typed(e) for e in expected]


async def test_duplicate_chat_ids_are_exported_once(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=230, seed=46)
    result = await export(client, [chat_id, chat_id.upper(), chat_id], tmp_path, take=20)
    assert [chat.chat_id for chat in result.chats] == [chat_id]
    assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))


# --- CSV ---------------------------------------------------------------------------------


def _first(events: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    found = next((event for event in events if test(event)), None)
    assert found is not None, "the generated chat lacks an event this test needs"
    return found


async def test_csv_has_a_header_and_one_mapped_row_per_event(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=800, seed=50)
    multi_line = 'linha 1\nlinha 2, com vírgula e "aspas" 😊\n\nfim'
    windows = "primeira linha\r\nsegunda linha"
    emu.add_message(chat_id, multi_line, from_me=True)
    emu.add_message(chat_id, windows)
    expected = emu.events(chat_id)

    result = await export(client, [chat_id], tmp_path, format="csv", take=100)
    assert result.ok
    path = tmp_path / f"{chat_id}.csv"
    assert not (tmp_path / f"{chat_id}.jsonl").exists()
    header, rows = read_csv(path)
    assert header == list(CSV_COLUMNS)
    assert len(rows) == len(expected)
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}

    def msg(event: dict[str, Any]) -> dict[str, Any]:
        return event.get("message") or {}

    text = _first(
        expected,
        lambda e: msg(e).get("type") == "text" and msg(e).get("origin") == "INBOUND",
    )
    row = by_id[text["id"]]
    m = msg(text)
    assert row["event_type"] == "MESSAGE" and row["event_at"] == text["event_at"]
    assert (row["message_id"], row["type"], row["origin"]) == (m["id"], "text", "INBOUND")
    assert (row["from_me"], row["status"], row["body_text"]) == (
        "false",
        m["status"],
        m["body_text"],
    )
    assert row["media_url"] == row["call_status"] == row["quoted_message_id"] == ""

    media = _first(expected, lambda e: bool((msg(e).get("media") or {}).get("url")))
    row = by_id[media["id"]]
    assert row["type"] == msg(media)["type"]
    assert row["media_url"] == msg(media)["media"]["url"]
    assert row["media_mime_type"] == msg(media)["media"]["mime_type"]
    assert row["media_file_name"] == msg(media)["media"]["file_name"]

    call = _first(expected, lambda e: (msg(e).get("call") or {}).get("duration_ms", 0) > 0)
    row = by_id[call["id"]]
    assert row["event_type"] == "CALL" and row["type"] == "call"
    assert row["call_status"] == msg(call)["call"]["status"] == "COMPLETED"
    assert row["call_direction"] == msg(call)["call"]["direction"]
    assert row["call_duration_ms"] == str(msg(call)["call"]["duration_ms"])

    reply = _first(expected, lambda e: bool(msg(e).get("quoted_message")))
    assert by_id[reply["id"]]["quoted_message_id"] == msg(reply)["quoted_message"]["id"]

    reacted = _first(expected, lambda e: len(msg(e).get("reactions") or []) == 2)
    assert by_id[reacted["id"]]["reaction_count"] == "2"
    assert by_id[text["id"]]["reaction_count"] == str(len(m["reactions"]))

    assert {row["from_me"] for row in by_id.values()} == {"true", "false"}
    assert by_id[expected[-2]["id"]]["body_text"] == multi_line
    assert by_id[expected[-2]["id"]]["from_me"] == "true"
    assert by_id[expected[-1]["id"]]["body_text"] == windows
    assert rows == [expected_csv_row(event) for event in expected]


async def test_csv_keeps_a_body_with_a_bare_carriage_return_in_one_record(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=3, seed=51)
    emu.add_message(chat_id, "old mac line\rsecond line")
    emu.add_message(chat_id, "after")
    await export(client, [chat_id], tmp_path, format="csv")
    assert_csv_exact(tmp_path / f"{chat_id}.csv", emu.events(chat_id))


# --- failures ----------------------------------------------------------------------------


async def test_a_missing_chat_is_reported_and_the_others_complete(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    first = emu.create_chat(events=600, seed=60)
    missing = unknown_chat()
    last = emu.create_chat(events=350, seed=61)
    result = await export(client, [first, missing, last], tmp_path, take=50, concurrency=2)

    assert not result.ok
    assert [chat.chat_id for chat in result.chats] == [first, missing, last]
    assert [chat.chat_id for chat in result.failed] == [missing]
    failed = result.failed[0]
    assert isinstance(failed.error, wa.NotFoundError)
    assert failed.error.status_code == 404
    assert failed.error.message == f"chat {missing} not found"
    assert (failed.written, failed.events) == (0, 0)
    for chat_id in (first, last):
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))
    assert result.written == 950


async def test_a_key_refused_by_allowed_domain_fails_every_chat_without_raising(
    make_emu: MakeEmu, tmp_path: Path
) -> None:
    emu = await make_emu(allowed_domain="app.example.com")
    chats = [emu.create_chat(events=40, seed=62), emu.create_chat(events=10, seed=63)]
    async with emu.client() as client:
        result = await export(client, chats, tmp_path / "refused")
    assert [chat.chat_id for chat in result.failed] == chats
    for chat in result.failed:
        assert isinstance(chat.error, wa.PermissionDeniedError)
        assert chat.error.status_code == 403

    async with emu.client(origin="https://app.example.com") as client:
        result = await export(client, chats, tmp_path / "allowed")
    assert result.ok
    for chat_id in chats:
        assert_jsonl_exact(tmp_path / "allowed" / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_a_malformed_answer_fails_only_its_chat_and_a_rerun_finishes_it(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    broken, fine = emu.create_chat(events=90, seed=64), emu.create_chat(events=70, seed=65)
    emu.inject(200, method="GET", body={"total": 3, "records": [{"no_id": True}]})
    result = await export(client, [broken, fine], tmp_path, take=30, concurrency=1)
    assert [chat.chat_id for chat in result.failed] == [broken]
    assert isinstance(result.failed[0].error, wa.InvalidResponseError)
    assert_jsonl_exact(tmp_path / f"{fine}.jsonl", emu.events(fine))

    result = await export(client, [broken, fine], tmp_path, take=30, concurrency=1)
    assert result.ok
    for chat_id in (broken, fine):
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_transient_failures_are_retried_transparently(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chats = [emu.create_chat(events=400, seed=66), emu.create_chat(events=250, seed=67)]
    # The first page brings 50 events, each later one 49 past its anchor.
    pages = sum(1 + math.ceil((len(emu.events(c)) - 50) / 49) for c in chats)
    emu.inject(None, method="GET", drop=True)  # the connection ends without an answer
    emu.inject(503, method="GET", times=2, retry_after=0)
    result = await export(client, chats, tmp_path, take=50, concurrency=2)
    assert result.ok, [chat.error for chat in result.failed]
    assert emu.pending_faults == 0
    # One request more per fault, and not one besides: no page is asked for twice.
    assert len(gets(emu)) == pages + 3
    for chat_id in chats:
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))


# --- reruns ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "order"), [("jsonl", "asc"), ("jsonl", "desc"), ("csv", "asc")])
async def test_a_rerun_after_a_complete_export_adds_nothing(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, fmt: str, order: str
) -> None:
    chats = [emu.create_chat(events=n, seed=70 + n) for n in (330, 120, 0)]
    first = await export(client, chats, tmp_path, format=fmt, order=order, take=40)
    assert first.ok
    before = {c: (tmp_path / f"{c}.{fmt}").read_bytes() for c in chats}
    emu.requests.clear()

    again = await export(client, chats, tmp_path, format=fmt, order=order, take=40)
    assert again.ok
    assert again.written == 0
    assert [chat.events for chat in again.chats] == [330, 120, 0]
    for chat_id in chats:
        assert len(gets(emu, chat_id)) <= 1, "a finished chat was downloaded again"
        assert (tmp_path / f"{chat_id}.{fmt}").read_bytes() == before[chat_id]
        expected = emu.events(chat_id)[:: -1 if order == "desc" else 1]
        if fmt == "jsonl":
            assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", expected)
        else:
            assert_csv_exact(tmp_path / f"{chat_id}.csv", expected)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_events_added_after_a_complete_export_are_appended_on_rerun(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, fmt: str
) -> None:
    chat_id = emu.create_chat(events=260, seed=80)
    quiet = emu.create_chat(events=15, seed=81)
    assert (await export(client, [chat_id, quiet], tmp_path, format=fmt, take=50)).ok
    for n in range(3):
        emu.add_message(chat_id, f"nova mensagem {n}", from_me=n % 2 == 0)
    emu.requests.clear()

    result = await export(client, [chat_id, quiet], tmp_path, format=fmt, take=50)
    assert result.ok
    assert [chat.written for chat in result.chats] == [3, 0]
    assert result.chats[0].events == 263
    assert len(gets(emu, chat_id)) <= 2
    assert len(gets(emu, quiet)) <= 1
    for chat in (chat_id, quiet):
        if fmt == "jsonl":
            assert_jsonl_exact(tmp_path / f"{chat}.jsonl", emu.events(chat))
        else:
            assert_csv_exact(tmp_path / f"{chat}.csv", emu.events(chat))


# --- resume after a crash ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["cancel", "wait_for"])
async def test_an_export_cancelled_midway_resumes_to_an_exact_file(
    make_emu: MakeEmu, tmp_path: Path, how: str
) -> None:
    # About 30 pages at 30 ms: long enough to stop mid-way even with pages fetched ahead.
    emu = await make_emu(latency=0.03)
    chat_id = emu.create_chat(events=1200, seed=90)
    expected = emu.events(chat_id)
    path = tmp_path / f"{chat_id}.jsonl"
    full = jsonl_bytes(expected)

    async with emu.client() as client:
        run = export_timelines(client, [chat_id], tmp_path, take=40)
        if how == "cancel":
            task = asyncio.create_task(run)
            await wait_until(lambda: path.exists() and path.stat().st_size > full * 0.25)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(run, timeout=0.15)
        partial = len(read_jsonl(path))
        assert 0 < partial < len(expected), "the crash did not land mid-way"
        emu.requests.clear()
        result = await export(client, [chat_id], tmp_path, take=40)

    assert result.ok
    assert_jsonl_exact(path, expected)
    skips = [int(r.query["skip"]) for r in gets(emu)]
    assert min(skips) > 0, "the rerun started again from the first page instead of resuming"
    assert result.written < len(expected)
    assert result.chats[0].events == len(expected)


class CancelAfterPages:
    """Cancel the export's task from its own progress callback once ``pages`` pages landed."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.task: asyncio.Task[Any] | None = None

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        pass

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self.pages -= 1
        if self.pages == 0:
            assert self.task is not None
            self.task.cancel()

    def chat_finished(self, result: ChatExport) -> None:
        raise AssertionError(f"chat {result.chat_id} finished before the cancellation")


@pytest.mark.parametrize("pages", [1, 4])
async def test_a_cancelled_export_leaks_no_file_handle_and_frees_its_lock(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, pages: int
) -> None:
    chat_id = emu.create_chat(events=300, seed=96)
    canceller = CancelAfterPages(pages)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        task = asyncio.create_task(
            export_timelines(client, [chat_id], tmp_path, take=25, progress=canceller)
        )
        canceller.task = task
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(TIMEOUT):
                await task
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, leaks
    # The lock went with the handles: the same chat can be taken and finished at once.
    result = await export(client, [chat_id], tmp_path, take=25)
    assert result.ok, result.chats[0].error
    assert 0 < result.written < 300
    assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))


class Crash(Exception):
    """Stands in for a process dying right after a page was committed."""


class CrashAfterPages:
    """A progress reporter that crashes the export after ``pages`` committed pages."""

    def __init__(self, pages: int) -> None:
        self.pages = pages

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        pass

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self.pages -= 1
        if self.pages == 0:
            raise Crash

    def chat_finished(self, result: ChatExport) -> None:
        pass


async def export_until_crash(
    client: wa.WeglyClient, chat_ids: list[str], out: Path, **kwargs: Any
) -> None:
    """Run an export that must end by a ``Crash`` (bare, or in an ExceptionGroup)."""
    crashed = False
    try:
        await export(client, chat_ids, out, **kwargs)
    except* Crash:
        crashed = True
    assert crashed, "the export did not crash"


class CrashOnChat(CrashAfterPages):
    """Crash as soon as one given chat commits a page."""

    def __init__(self, victim: str) -> None:
        super().__init__(pages=0)
        self.victim = victim

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        if chat_id == self.victim:
            raise Crash


async def test_an_export_that_raises_leaves_no_chat_running_behind(
    make_emu: MakeEmu, tmp_path: Path
) -> None:
    emu = await make_emu(latency=0.005)
    big, small = emu.create_chat(events=1500, seed=97), emu.create_chat(events=60, seed=98)
    big_file = tmp_path / f"{big}.jsonl"
    async with emu.client() as client:
        try:
            crashed = False
            try:
                await export(
                    client,
                    [big, small],
                    tmp_path,
                    take=20,
                    concurrency=2,
                    progress=CrashOnChat(small),
                )
            except* Crash:  # bare, or in an ExceptionGroup from a TaskGroup
                crashed = True
            assert crashed

            def state() -> tuple[int | None, int]:
                # The big chat's file may not exist yet: the small one can crash first.
                size = big_file.stat().st_size if big_file.exists() else None
                return size, len(emu.requests)

            # A request already on the wire when the export raised still reaches the
            # in-process emulator: let it land before taking the snapshot.
            await asyncio.sleep(0.05)
            before = state()
            await asyncio.sleep(0.2)
            # Once export_timelines has raised, nothing of it may still run: a retry by the
            # caller would otherwise write the same files from two places.
            assert state() == before, "the export kept paging or writing after it raised"
        finally:
            strays = [
                task
                for task in asyncio.all_tasks()
                if "export_timelines" in getattr(task.get_coro(), "__qualname__", "")
            ]
            for task in strays:
                task.cancel()
            await asyncio.gather(*strays, return_exceptions=True)


@pytest.mark.parametrize(("fmt", "order"), [("jsonl", "asc"), ("jsonl", "desc"), ("csv", "asc")])
async def test_rerun_cuts_back_uncommitted_and_half_written_data(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, fmt: str, order: str
) -> None:
    chat_id = emu.create_chat(events=400, seed=91)
    expected = emu.events(chat_id)[:: -1 if order == "desc" else 1]
    path = tmp_path / f"{chat_id}.{fmt}"
    await export_until_crash(
        client,
        [chat_id],
        tmp_path,
        format=fmt,
        order=order,
        take=25,
        progress=CrashAfterPages(3),
    )
    # Three pages are committed (25 + 24 + 24 events: later pages start at their anchor);
    # now a whole further page lands in the file without its checkpoint, followed by half
    # a line, as when a process dies in the middle of a write.
    extra = expected[73:98]
    if fmt == "jsonl":
        whole = b"".join(json.dumps(event).encode() + b"\n" for event in extra)
        append(path, whole + b'{"id": "trunc')
    else:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(map(expected_csv_row, extra))
        append(path, buffer.getvalue().encode() + b'trunc,"half a quoted\nfield')
    emu.requests.clear()

    result = await export(client, [chat_id], tmp_path, format=fmt, order=order, take=25)
    assert result.ok
    assert result.written == 327
    skips = [int(r.query["skip"]) for r in gets(emu)]
    assert min(skips) == 72, "the rerun did not resume at the checkpoint's last event"
    if fmt == "jsonl":
        assert_jsonl_exact(path, expected)
    else:
        assert_csv_exact(path, expected)


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_events_inserted_ahead_of_the_cursor_while_down_are_not_duplicated(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, order: str
) -> None:
    chat_id = emu.create_chat(events=300, seed=94)
    original = emu.events(chat_id)[:: -1 if order == "desc" else 1]
    await export_until_crash(
        client, [chat_id], tmp_path, order=order, take=25, progress=CrashAfterPages(3)
    )
    # While the export is down, events land before its offset and shift the ones it has
    # already written into the next page: the newest ones for desc, old ones for asc.
    past = datetime(2020, 1, 1, tzinfo=UTC)
    added = {
        emu.add_message(chat_id, f"inserida {n}", event_at=None if order == "desc" else past)["id"]
        for n in range(5)
    }
    result = await export(client, [chat_id], tmp_path, order=order, take=25)
    assert result.ok
    records = read_jsonl(tmp_path / f"{chat_id}.jsonl")
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)), "events written before the crash were written again"
    assert [i for i in ids if i not in added] == [e["id"] for e in original]
    assert [r for r in records if r["id"] not in added] == original


async def test_a_half_line_after_a_complete_export_is_cut_off(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=120, seed=92)
    assert (await export(client, [chat_id], tmp_path, take=50)).ok
    path = tmp_path / f"{chat_id}.jsonl"
    append(path, b'{"id": "trunc')
    emu.requests.clear()
    result = await export(client, [chat_id], tmp_path, take=50)
    assert result.ok and result.written == 0
    assert len(gets(emu)) <= 1
    assert_jsonl_exact(path, emu.events(chat_id))


@pytest.mark.parametrize("damage", ["deleted", "shortened"])
async def test_a_data_file_shorter_than_its_checkpoint_is_refused_with_how_to_recover(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, damage: str
) -> None:
    chat_id = emu.create_chat(events=140, seed=95)
    assert (await export(client, [chat_id], tmp_path, take=50)).ok
    path = tmp_path / f"{chat_id}.jsonl"
    checkpoint = tmp_path / ".checkpoints" / f"{chat_id}.json"
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:1000])
    emu.requests.clear()
    with pytest.raises(ValueError, match=f"delete it and {path}") as caught:
        await export(client, [chat_id], tmp_path, take=50)
    assert str(checkpoint) in str(caught.value)
    assert emu.requests == []
    # Doing what the message says gives the whole chat again.
    checkpoint.unlink()
    path.unlink(missing_ok=True)
    assert (await export(client, [chat_id], tmp_path, take=50)).ok
    assert_jsonl_exact(path, emu.events(chat_id))


class FailAfter:
    """From the moment ``events`` events of the chat are written, fail the next GETs (500).

    Many faults rather than one: a pager that requests pages ahead must fail too, on
    whichever page it had not received yet.
    """

    FAULTS = 40

    def __init__(self, emu: WeglyEmulator, events: int) -> None:
        self.emu = emu
        self.events = events
        self.armed = True

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        pass

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        if self.armed and events >= self.events:
            self.armed = False
            self.emu.inject(500, method="GET", times=self.FAULTS)

    def chat_finished(self, result: ChatExport) -> None:
        pass


async def use_up_faults(emu: WeglyEmulator, chat_id: str) -> None:
    """Send plain GETs until no injected fault is left (bounded)."""
    url = f"{emu.base_url}/integrations/external/chats/{chat_id}/timeline"
    async with aiohttp.ClientSession() as session, asyncio.timeout(TIMEOUT):
        for _ in range(FailAfter.FAULTS):
            if not emu.pending_faults:
                break
            async with session.get(url, params={"take": "1"}) as response:
                await response.read()
    assert emu.pending_faults == 0


@pytest.mark.parametrize(("fmt", "order"), [("jsonl", "asc"), ("jsonl", "desc"), ("csv", "asc")])
async def test_a_chat_failing_midway_keeps_an_exact_prefix_and_a_rerun_finishes(
    emu: WeglyEmulator, tmp_path: Path, fmt: str, order: str
) -> None:
    chat_id = emu.create_chat(events=1000, seed=93)
    expected = emu.events(chat_id)[:: -1 if order == "desc" else 1]
    path = tmp_path / f"{chat_id}.{fmt}"
    async with emu.client(max_retries=0) as client:
        result = await export(
            client,
            [chat_id],
            tmp_path,
            format=fmt,
            order=order,
            take=50,
            progress=FailAfter(emu, 100),
        )
        assert [chat.chat_id for chat in result.failed] == [chat_id]
        assert isinstance(result.failed[0].error, wa.InternalServerError)
        done = result.chats[0].events
        assert result.chats[0].written == done
        assert 100 <= done < 1000 and (done - 50) % 49 == 0
        # What the failed run wrote is an exact prefix: whole pages, nothing half-written.
        if fmt == "jsonl":
            assert_jsonl_exact(path, expected[:done])
        else:
            assert_csv_exact(path, expected[:done])
        await use_up_faults(emu, chat_id)
        emu.requests.clear()

        result = await export(client, [chat_id], tmp_path, format=fmt, order=order, take=50)
    assert result.ok
    assert result.written == 1000 - done
    skips = [int(r.query["skip"]) for r in gets(emu)]
    # At the last event written: the anchor that proves the next page joins.
    assert min(skips) == done - 1, "the rerun did not resume where the failed run stopped"
    if fmt == "jsonl":
        assert_jsonl_exact(path, expected)
    else:
        assert_csv_exact(path, expected)


# --- checks before any request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "stale_chat"),
    [({"format": "csv"}, 0), ({"order": "desc"}, 0), ({"format": "csv"}, 1)],
    ids=["other-format", "other-order", "second-chat-other-format"],
)
async def test_a_checkpoint_from_another_format_or_order_is_refused_before_any_request(
    emu: WeglyEmulator,
    client: wa.WeglyClient,
    tmp_path: Path,
    kwargs: dict[str, Any],
    stale_chat: int,
) -> None:
    chats = [emu.create_chat(events=60, seed=100), emu.create_chat(events=30, seed=101)]
    # Only chats[stale_chat] has an earlier jsonl/asc export in the directory.
    assert (await export(client, [chats[stale_chat]], tmp_path, take=50)).ok
    before = (tmp_path / f"{chats[stale_chat]}.jsonl").read_bytes()
    emu.requests.clear()

    with pytest.raises(ValueError, match=chats[stale_chat]) as caught:
        await export(client, chats, tmp_path, take=50, **kwargs)
    # It names the file that export wrote, the one to delete, not the one asked for now.
    assert str(caught.value).endswith(
        f"delete {tmp_path / '.checkpoints' / f'{chats[stale_chat]}.json'} and "
        f"{tmp_path / f'{chats[stale_chat]}.jsonl'} to start again"
    )
    assert gets(emu) == []
    assert (tmp_path / f"{chats[stale_chat]}.jsonl").read_bytes() == before
    assert not (tmp_path / f"{chats[stale_chat]}.csv").exists()


@pytest.mark.parametrize(
    ("ids", "kwargs", "error"),
    [
        (["not-a-uuid"], {}, ValueError),
        (["GOOD", "3c90c3cc0d444b5088888dd25736052a"], {}, ValueError),
        (["GOOD", None], {}, TypeError),
        ("GOOD", {}, TypeError),
        (["GOOD"], {"format": "xml"}, ValueError),
        (["GOOD"], {"order": "sideways"}, ValueError),
        (["GOOD"], {"take": 0}, ValueError),
        (["GOOD"], {"take": "50"}, TypeError),
        (["GOOD"], {"concurrency": 0}, ValueError),
        (["GOOD"], {"concurrency": True}, TypeError),
    ],
    ids=[
        "non-uuid",
        "uuid-without-hyphens",
        "none-id",
        "single-string",
        "format-xml",
        "order",
        "take-0",
        "take-str",
        "concurrency-0",
        "concurrency-bool",
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    emu: WeglyEmulator,
    client: wa.WeglyClient,
    tmp_path: Path,
    ids: Any,
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    good = emu.create_chat(events=5, seed=110)
    chat_ids = good if ids == "GOOD" else [good if i == "GOOD" else i for i in ids]
    with pytest.raises(error):
        await export(client, chat_ids, tmp_path / "out", **kwargs)
    assert emu.requests == []


def test_the_formats_the_cli_offers_are_the_export_format_type() -> None:
    assert get_args(ExportFormat) == EXPORT_FORMATS


def test_the_csv_formula_modes_the_cli_offers_are_the_csv_formulas_type() -> None:
    assert get_args(CsvFormulas) == CSV_FORMULA_MODES


# --- progress and concurrency ------------------------------------------------------------


class Recorder:
    """Record progress calls and how many chats were in flight at once."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.most = 0
        self.started: dict[str, tuple[int, int]] = {}
        self.advanced: dict[str, int] = {}
        self.finished: list[ChatExport] = []

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self.started[chat_id] = (events, total)
        self.active.add(chat_id)
        self.most = max(self.most, len(self.active))

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        assert chat_id in self.active
        self.advanced[chat_id] = self.advanced.get(chat_id, 0) + written

    def chat_finished(self, result: ChatExport) -> None:
        self.active.discard(result.chat_id)
        self.finished.append(result)


async def test_concurrency_bounds_the_chats_in_flight_and_progress_adds_up(
    make_emu: MakeEmu, tmp_path: Path
) -> None:
    emu = await make_emu(latency=0.003)
    chats = [emu.create_chat(events=120 + 10 * n, seed=120 + n) for n in range(5)]
    recorder = Recorder()
    async with emu.client() as client:
        result = await export(client, chats, tmp_path, take=30, concurrency=2, progress=recorder)
    assert result.ok
    assert recorder.most == 2
    assert sorted(r.chat_id for r in recorder.finished) == sorted(chats)
    for chat_id in chats:
        total = len(emu.events(chat_id))
        assert recorder.started[chat_id] == (0, total)
        assert recorder.advanced[chat_id] == total
        assert_jsonl_exact(tmp_path / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_a_chat_that_fails_at_once_leaves_no_file_behind(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    missing = "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"
    result = await export_timelines(client, [missing], tmp_path)
    assert isinstance(result.chats[0].error, wa.NotFoundError)
    # No empty file that would look like a chat with no events.
    assert not (tmp_path / f"{missing}.jsonl").exists()
    assert not (tmp_path / ".checkpoints" / f"{missing}.json").exists()


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_a_rerun_after_many_new_messages_neither_duplicates_nor_skips(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, order: str
) -> None:
    chat_id = emu.create_chat(events=600, seed=95)
    first = await export(client, [chat_id], tmp_path, order=order, take=100)
    assert first.ok
    before = emu.events(chat_id)
    for n in range(1500):  # far more than any id window a checkpoint could keep
        emu.add_message(chat_id, f"nova {n}")
    second = await export(client, [chat_id], tmp_path, order=order, take=100)
    assert second.ok
    lines = read_jsonl(tmp_path / f"{chat_id}.jsonl")
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), "the rerun appended duplicates"
    if order == "asc":
        # asc grows at the end: the rerun appends exactly the new messages.
        assert second.written == 1500
        assert ids == [event["id"] for event in emu.events(chat_id)]
    else:
        # desc was complete down to the oldest event, which is where it resumes: nothing
        # to add (a desc export is a snapshot; asc is the order for incremental sync).
        assert second.written == 0
        assert ids == [event["id"] for event in before[::-1]]
