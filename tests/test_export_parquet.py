"""Parquet export: part files read back with pyarrow hold every event exactly once, typed.

Each chat's folder is checked against the emulator's own timeline: the part files, read
one by one in name order, give the chat's events in order, each exactly once, with the
CSV columns typed (UTC timestamps, ints, bools) and ``raw`` the event's JSON; the folder
holds nothing else and the checkpoint lists exactly its parts. Kills (SIGKILL of a child
process) and cancellations at chosen points are followed by a resume that must end there.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_oracles import PARQUET_TYPES, expected_parquet_row
from test_export_resume import cli_env, export_args, gets, kill_when, run_cli, spawn

import wegly_async as wa
from wegly_async._export_parquet import parquet_bytes, parquet_row, record_batch
from wegly_async.export import CSV_COLUMNS, PARQUET_COLUMNS, ChatExport, export_timelines
from wegly_async.testing import WeglyEmulator

TIMEOUT = 30.0  # seconds any single export in this module may take


# --- helpers -----------------------------------------------------------------------------


def typed(value: Any) -> Any:
    """Describe a JSON value with its types and key order, so True != 1 and 1 != 1.0."""
    if isinstance(value, dict):
        return ("object", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [typed(item) for item in value])
    return (type(value).__name__, value)


def checkpoint(out: Path, chat_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / ".checkpoints" / f"{chat_id}.json").read_bytes())
    return data


def part_files(out: Path, chat_id: str) -> list[Path]:
    folder = out / chat_id
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def read_parts(out: Path, chat_id: str) -> list[list[dict[str, Any]]]:
    """Read every part of a chat with pyarrow, one by one, checking each one's schema."""
    parts = []
    for path in part_files(out, chat_id):
        table = pq.read_table(path)
        assert table.schema.names == list(PARQUET_TYPES), path.name
        assert [str(field.type) for field in table.schema] == list(PARQUET_TYPES.values())
        parts.append(table.to_pylist())
    return parts


def assert_parquet_exact(out: Path, chat_id: str, expected: list[dict[str, Any]]) -> None:
    """The chat's folder holds exactly ``expected``: each event once, in order, typed."""
    folder = out / chat_id
    names = sorted(path.name for path in folder.iterdir())
    assert names == [f"part-{n:05d}.parquet" for n in range(len(names))], names
    assert [part["name"] for part in checkpoint(out, chat_id)["parts"]] == names
    rows = [row for part in read_parts(out, chat_id) for row in part]
    ids = [row["event_id"] for row in rows]
    assert len(ids) == len(set(ids)), "an event id is in the export more than once"
    assert ids == [event["id"] for event in expected], "events missing, extra or out of order"
    raws = [json.loads(row.pop("raw")) for row in rows]
    assert rows == [expected_parquet_row(chat_id, event) for event in expected]
    assert [typed(raw) for raw in raws] == [typed(event) for event in expected]


def part_sizes(events: int, take: int, part_rows: int) -> list[int]:
    """The events in each part of a fresh export: whole pages until at least ``part_rows``.

    A page holds ``take`` events, and after the first one ``take - 1`` new ones: it starts
    with the event before it, the anchor that proves it joins the last page.
    """
    pages = [min(take, events)]
    while sum(pages) < events:
        pages.append(min(take - 1, events - sum(pages)))
    sizes, held = [], 0
    for page in pages:
        held += page
        if held >= part_rows:
            sizes.append(held)
            held = 0
    return [*sizes, held] if held else sizes


def all_ids(out: Path) -> list[str]:
    """Every event id in the whole export, read as the README's DuckDB glob reads it."""
    paths = sorted(out.glob("*/part-*.parquet"))
    return [event_id for path in paths for event_id in pq.read_table(path)["event_id"].to_pylist()]


async def export(client: wa.WeglyClient, chat_ids: Any, out: Path, **kwargs: Any) -> Any:
    async with asyncio.timeout(TIMEOUT):
        return await export_timelines(client, chat_ids, out, format="parquet", **kwargs)


async def wait_until(predicate: Any, *, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the export to make progress")
        await asyncio.sleep(0.002)


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    async with emu.client() as c:
        yield c


# --- exact, typed part files -------------------------------------------------------------


async def test_parts_hold_every_event_once_with_real_types_in_whole_pages(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chats = [emu.create_chat(events=1000, seed=501), emu.create_chat(events=75, seed=502)]
    result = await export(client, chats, tmp_path, take=30, parquet_part_rows=100)
    assert result.ok, result.failed
    for chat_id in chats:
        assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))
    # A part is written at the first page boundary at or past 100 events: 4 pages, the
    # first of 30 new events, the next ones of 29 (each repeats the event before it).
    sizes = [len(part) for part in read_parts(tmp_path, chats[0])]
    assert sizes == part_sizes(1000, 30, 100) == [117] + [116] * 7 + [71]
    assert [len(part) for part in read_parts(tmp_path, chats[1])] == [75]
    assert [chat.path for chat in result.chats] == [tmp_path / chat_id for chat_id in chats]
    assert [chat.events for chat in result.chats] == [1000, 75]
    listed = checkpoint(tmp_path, chats[0])["parts"]
    assert [part["events"] for part in listed] == sizes
    assert [part["size"] for part in listed] == [
        p.stat().st_size for p in part_files(tmp_path, chats[0])
    ]
    assert sorted(all_ids(tmp_path)) == sorted(e["id"] for c in chats for e in emu.events(c))


async def test_types_are_real_and_timestamps_utc(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=400, seed=503)
    await export(client, [chat_id], tmp_path)
    table = pq.read_table(tmp_path / chat_id)
    assert table.schema.field("event_at").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    # The data really have what this test is about: calls, both sides, reactions.
    assert {row["event_type"] for row in rows} >= {"MESSAGE", "CALL"}
    assert {row["from_me"] for row in rows} >= {True, False}
    assert any(row["call_duration_ms"] for row in rows)
    assert any(row["reaction_count"] for row in rows)
    for row, event in zip(rows, emu.events(chat_id), strict=True):
        moment = datetime.fromisoformat(event["event_at"])
        assert row["event_at"] == moment and row["event_at"].utcoffset().total_seconds() == 0


def test_a_value_of_another_type_is_null_and_raw_keeps_it() -> None:
    record = {
        "id": "e1",
        "event_type": 7,
        "event_at": "2025-03-01T12:30:00-03:00",
        "message": {
            "from_me": "yes",
            "call": {"duration_ms": "1500", "status": {"odd": True}},
            "reactions": [{}, {}],
            "media": {"url": None},
        },
    }
    odd = {"id": "e2", "event_at": "yesterday", "message": {"call": {"duration_ms": 2**63}}}
    plain = {"id": "e3", "event_at": 1_700_000_000, "message": None}
    raws = [json.dumps(r).encode() for r in (record, odd, plain)]
    rows = [parquet_row("c1", r, raw) for r, raw in zip((record, odd, plain), raws, strict=True)]
    table = pq.read_table(pa.BufferReader(parquet_bytes([record_batch(rows)])))
    got = table.to_pylist()
    assert got[0]["event_type"] == "7"  # a number where text was expected: its JSON
    assert got[0]["event_at"] == datetime(2025, 3, 1, 15, 30, tzinfo=UTC)
    assert got[0]["from_me"] is None and got[0]["call_duration_ms"] is None
    assert got[0]["call_status"] == '{"odd":true}'
    assert got[0]["reaction_count"] == 2
    assert got[1]["event_at"] is None and got[1]["call_duration_ms"] is None
    assert got[2]["event_at"] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert got[2]["reaction_count"] == 0 and got[2]["message_id"] is None
    assert [json.loads(row["raw"]) for row in got] == [record, odd, plain]
    assert table.schema.names == list(PARQUET_COLUMNS) == ["chat_id", *CSV_COLUMNS, "raw"]


async def test_an_empty_chat_gives_an_empty_folder(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=0, seed=504)
    result = await export(client, [chat_id], tmp_path)
    assert result.ok
    assert list((tmp_path / chat_id).iterdir()) == []
    assert checkpoint(tmp_path, chat_id)["parts"] == []


async def test_desc_order_with_fsync_gives_the_exact_reverse(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=330, seed=505)
    result = await export(
        client, [chat_id], tmp_path, order="desc", take=40, parquet_part_rows=90, fsync=True
    )
    assert result.ok
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id)[::-1])


async def test_a_rerun_adds_nothing_and_new_events_come_as_a_new_part(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=250, seed=506)
    assert (await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)).ok
    before = {path.name: path.read_bytes() for path in part_files(tmp_path, chat_id)}
    emu.requests.clear()
    again = await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)
    assert again.ok and again.written == 0
    assert len(gets(emu)) == 1
    assert {path.name: path.read_bytes() for path in part_files(tmp_path, chat_id)} == before

    for n in range(7):
        emu.add_message(chat_id, f"nova mensagem {n}", from_me=n % 2 == 0)
    more = await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)
    assert more.ok and more.written == 7
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))
    assert [len(part) for part in read_parts(tmp_path, chat_id)] == [*part_sizes(250, 50, 100), 7]


class Recorder:
    """Record the events each progress call reports as committed."""

    def __init__(self) -> None:
        self.advanced: list[int] = []
        self.finished: list[ChatExport] = []

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        pass

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        self.advanced.append(written)

    def chat_finished(self, result: ChatExport) -> None:
        self.finished.append(result)


async def test_progress_counts_events_once_they_are_in_a_part(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=230, seed=507)
    recorder = Recorder()
    result = await export(
        client, [chat_id], tmp_path, take=20, parquet_part_rows=100, progress=recorder
    )
    assert result.ok
    assert recorder.advanced == part_sizes(230, 20, 100) == [115, 114, 1]
    assert result.written == 230


# --- kills, cancellations and failures ---------------------------------------------------


async def test_a_cancelled_export_resumes_from_its_last_part(tmp_path: Path) -> None:
    async with WeglyEmulator(latency=0.02) as emu, emu.client() as client:
        chat_id = emu.create_chat(events=1200, seed=510)
        task = asyncio.create_task(
            export_timelines(
                client, [chat_id], tmp_path, format="parquet", take=40, parquet_part_rows=120
            )
        )
        await wait_until(lambda: len(part_files(tmp_path, chat_id)) >= 3)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        committed = checkpoint(tmp_path, chat_id)["events"]
        assert 0 < committed < 1200
        emu.requests.clear()
        result = await export(client, [chat_id], tmp_path, take=40, parquet_part_rows=120)
        assert result.ok
        assert result.written == 1200 - committed
        assert min(int(r.query["skip"]) for r in gets(emu)) == committed - 1
        assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))


class BreakNextAnswer:
    """Once the chat's first page arrived, make the next timeline answer malformed."""

    def __init__(self, emu: WeglyEmulator) -> None:
        self.emu = emu

    def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
        self.emu.inject(200, method="GET", body={"total": 3, "records": [{"no_id": True}]})

    def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
        pass

    def chat_finished(self, result: ChatExport) -> None:
        pass


async def test_a_chat_failing_midway_keeps_the_pages_it_fetched_and_a_rerun_finishes(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=600, seed=511)
    kwargs: dict[str, Any] = {"take": 50, "concurrency": 1, "parquet_part_rows": 400}
    result = await export(client, [chat_id], tmp_path, progress=BreakNextAnswer(emu), **kwargs)
    assert isinstance(result.failed[0].error, wa.InvalidResponseError)
    # The page or two fetched before the failure went into a part instead of being dropped.
    done = result.chats[0].events
    assert done in (50, 99)  # 50, and 49 new in the next page (it repeats the 50th)
    assert result.chats[0].written == done
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id)[:done])

    emu.requests.clear()
    result = await export(client, [chat_id], tmp_path, **kwargs)
    assert result.ok
    assert result.written == 600 - done
    assert min(int(r.query["skip"]) for r in gets(emu)) == done - 1
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))


async def test_a_part_left_unlisted_or_half_written_is_dropped_on_resume(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    """What a kill between a part's rename and its checkpoint leaves, and one mid-write.

    The unlisted part holds events the export has (a copy of part 0), so a resume that
    kept it would give those events twice.
    """
    chat_id = emu.create_chat(events=500, seed=512)
    assert (await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)).ok
    folder = tmp_path / chat_id
    first = folder / "part-00000.parquet"
    parts = len(part_files(tmp_path, chat_id))
    (folder / f"part-{parts:05d}.parquet").write_bytes(first.read_bytes())
    (folder / f".part-{parts:05d}.parquet.tmp").write_bytes(b"PAR1 half")
    # The duplicates a reader would see, were the part not dropped.
    assert len(all_ids(tmp_path)) == 500 + pq.read_metadata(first).num_rows
    emu.add_message(chat_id, "depois da queda", from_me=False)
    result = await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)
    assert result.ok and result.written == 1
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))


KILL_POINTS: dict[str, list[float | str | None]] = {
    # name: fractions of all parts to kill at, one run each; None = at once
    "immediately": [None],
    "first-checkpoint": ["checkpoint"],
    "40%": [0.4],
    "three-kills": [0.15, 0.45, 0.8],
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
async def test_kill_9_of_the_cli_then_rerun_gives_every_event_once(
    tmp_path: Path, point: str
) -> None:
    async with WeglyEmulator(latency=0.02) as emu:
        chats = [
            emu.create_chat(events=1500, seed=520),
            emu.create_chat(events=1000, seed=521),
            emu.create_chat(events=400, seed=522),
        ]
        out = tmp_path / "out"
        take, part_rows = 50, 200
        args = export_args(chats, out, "--take", str(take), "--format", "parquet")
        args += ["--parquet-part-rows", str(part_rows)]
        env = cli_env(emu)
        full = sum(math.ceil(len(emu.events(chat_id)) / part_rows) for chat_id in chats)

        def parts() -> int:
            return sum(len(part_files(out, chat_id)) for chat_id in chats)

        def checkpointed() -> bool:
            folder = out / ".checkpoints"
            return folder.is_dir() and any(p.suffix == ".json" for p in folder.iterdir())

        for when in KILL_POINTS[point]:
            proc = await spawn(args, env, tmp_path)
            threshold = 0 if not isinstance(when, float) else max(1, int(full * when))

            def condition(when: float | str | None = when, threshold: int = threshold) -> bool:
                if when == "checkpoint":
                    return checkpointed()
                return parts() >= threshold

            await kill_when(proc, condition)
            if isinstance(when, float):
                assert parts() < full, "the kill came after the export finished"

        emu.requests.clear()
        final = await run_cli(args, env, tmp_path)
        assert final.returncode == 0, final
        assert final.stderr == ""
        for chat_id in chats:
            assert_parquet_exact(out, chat_id, emu.events(chat_id))
        assert sorted(all_ids(out)) == sorted(e["id"] for c in chats for e in emu.events(c))
        if point in ("40%", "three-kills"):
            fresh_pages = sum(math.ceil(len(emu.events(c)) / take) for c in chats)
            assert len(gets(emu)) < fresh_pages
            assert any(int(r.query["skip"]) > 0 for r in gets(emu)[: len(chats)])


# --- checks before any request -----------------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(b"precious data\n")
    return path


def untouched(victim: Path) -> bool:
    return victim.read_bytes() == b"precious data\n" and not victim.is_symlink()


async def test_a_part_folder_planted_as_a_link_is_refused_and_the_victim_is_untouched(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path
) -> None:
    chat_id = emu.create_chat(events=30, seed=530)
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_bytes(b"keep")
    (out / chat_id).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="is a symbolic link"):
        await export(client, [chat_id], out)
    assert emu.requests == []
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


async def test_links_planted_at_part_and_temporary_names_are_not_followed(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path
) -> None:
    chat_id = emu.create_chat(events=300, seed=531)
    folder = tmp_path / chat_id
    planted: list[int] = []

    class PlantEveryPart:
        def chat_started(self, chat_id: str, *, events: int, total: int) -> None:
            pass

        def chat_advanced(self, chat_id: str, *, written: int, events: int, total: int) -> None:
            # Between two parts, at the names the next one goes to.
            number = len(planted) + 1
            (folder / f".part-{number:05d}.parquet.tmp").symlink_to(victim)
            planted.append(events)

        def chat_finished(self, result: ChatExport) -> None:
            pass

    result = await export(
        client, [chat_id], tmp_path, take=25, parquet_part_rows=50, progress=PlantEveryPart()
    )
    assert result.ok, result.chats[0].error
    parts = len(part_sizes(300, 25, 50))
    assert len(planted) == parts == len(part_files(tmp_path, chat_id))
    assert untouched(victim)
    # The last link was planted after the last part, at the next part's temporary name,
    # where a resume finds it; with a link at the part's own name beside it.
    (folder / f"part-{parts:05d}.parquet").symlink_to(victim)
    emu.add_message(chat_id, "mais uma", from_me=True)
    result = await export(client, [chat_id], tmp_path, take=25, parquet_part_rows=50)
    assert result.ok, result.chats[0].error
    assert untouched(victim)
    assert_parquet_exact(tmp_path, chat_id, emu.events(chat_id))


@pytest.mark.parametrize("damage", ["edited", "deleted", "linked", "events"])
async def test_a_part_that_does_not_match_its_checkpoint_is_refused_with_how_to_recover(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, victim: Path, damage: str
) -> None:
    chat_id = emu.create_chat(events=200, seed=532)
    assert (await export(client, [chat_id], tmp_path, take=50, parquet_part_rows=100)).ok
    part = tmp_path / chat_id / "part-00001.parquet"
    saved = tmp_path / chat_id / "part-00000.parquet"
    if damage == "edited":
        part.write_bytes(saved.read_bytes())
    elif damage == "deleted":
        part.unlink()
    elif damage == "linked":
        part.unlink()
        part.symlink_to(victim)
    else:
        path = tmp_path / ".checkpoints" / f"{chat_id}.json"
        data = json.loads(path.read_bytes())
        data["events"] = 150
        data["parts"][1]["events"] = 50
        path.write_bytes(json.dumps(data).encode())
    emu.requests.clear()
    with pytest.raises(ValueError, match=f"chat {chat_id}: cannot resume from") as caught:
        await export(client, [chat_id], tmp_path)
    assert str(caught.value).endswith(
        f"delete it and {tmp_path / chat_id} to export the chat again"
    )
    assert emu.requests == []
    assert untouched(victim)


async def test_a_folder_without_a_checkpoint_is_refused_unless_it_is_empty(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path
) -> None:
    foreign, empty = emu.create_chat(events=20, seed=533), emu.create_chat(events=20, seed=534)
    (tmp_path / foreign).mkdir()
    (tmp_path / foreign / "notes.txt").write_bytes(b"mine")
    (tmp_path / empty).mkdir()
    with pytest.raises(ValueError, match="was not written by an export"):
        await export(client, [foreign, empty], tmp_path)
    assert emu.requests == []
    assert (await export(client, [empty], tmp_path)).ok
    assert_parquet_exact(tmp_path, empty, emu.events(empty))


@pytest.mark.parametrize(("first", "then"), [("jsonl", "parquet"), ("parquet", "csv")])
async def test_an_export_in_another_format_is_refused_before_any_request(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, first: str, then: str
) -> None:
    chat_id = emu.create_chat(events=40, seed=535)
    assert (await export_timelines(client, [chat_id], tmp_path, format=first)).ok  # type: ignore[arg-type]
    emu.requests.clear()
    with pytest.raises(ValueError, match=f"was started with format={first} order=asc") as caught:
        await export_timelines(client, [chat_id], tmp_path, format=then)  # type: ignore[arg-type]
    data = tmp_path / chat_id if first == "parquet" else tmp_path / f"{chat_id}.{first}"
    assert str(caught.value).endswith(f"and {data} to start again")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), ("100", TypeError), (True, TypeError)]
)
async def test_a_bad_part_size_is_refused_before_any_request(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, value: Any, error: type[Exception]
) -> None:
    chat_id = emu.create_chat(events=5, seed=536)
    with pytest.raises(error, match="parquet_part_rows"):
        await export(client, [chat_id], tmp_path / "out", parquet_part_rows=value)
    assert emu.requests == []
    assert not (tmp_path / "out").exists()


async def test_without_pyarrow_the_extra_is_named_before_any_request(
    emu: WeglyEmulator, client: wa.WeglyClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = emu.create_chat(events=5, seed=537)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what `import pyarrow` finds missing
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"pip install 'wegly-async\[parquet\]'"):
        await export(client, [chat_id], tmp_path / "out")
    assert emu.requests == []
    assert not (tmp_path / "out").exists()
    # JSONL and CSV need no pyarrow.
    assert (await export_timelines(client, [chat_id], tmp_path / "out")).ok


async def test_the_cli_without_pyarrow_exits_2_naming_the_extra(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=5, seed=538)
    # A module named pyarrow that cannot be imported, first on the child's path.
    blocker = tmp_path / "no-pyarrow"
    blocker.mkdir()
    (blocker / "pyarrow.py").write_text("raise ImportError('pyarrow is not installed')\n")
    env = cli_env(emu, PYTHONPATH=f"{blocker}:{Path(wa.__file__).parent.parent}")
    run = await run_cli(
        export_args([chat_id], tmp_path / "out", "--format", "parquet"), env, tmp_path
    )
    assert run.returncode == 2, run
    assert "wegly-async[parquet]" in run.stderr and "Traceback" not in run.stderr
    assert emu.requests == []


def test_pyarrow_is_imported_only_by_a_parquet_export() -> None:
    code = (
        "import sys, wegly_async, wegly_async.export, wegly_async.cli._main; "
        "print('pyarrow' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "False\n"
