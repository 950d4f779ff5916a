"""`wegly-async export` in real subprocesses: kill -9 and resume, exit codes, stderr lines.

The emulator runs in the test's own event loop; the CLI runs as a child process
(``asyncio.create_subprocess_exec``) so the loop keeps serving it while the test polls the
output files and kills the child at chosen moments.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import math
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from export_oracles import expected_csv_row

from wegly_async.export import CSV_COLUMNS
from wegly_async.testing import WeglyEmulator

RUN_TIMEOUT = 30.0  # seconds one CLI run may take
TAKE = 50


# --- helpers -----------------------------------------------------------------------------


def typed(value: Any) -> Any:
    """Describe a JSON value with its types and key order, so True != 1 and 1 != 1.0."""
    if isinstance(value, dict):
        return ("object", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [typed(item) for item in value])
    return (type(value).__name__, value)


def assert_jsonl_exact(path: Path, expected: list[dict[str, Any]]) -> None:
    data = path.read_bytes()
    if not expected:
        assert data == b""
        return
    assert data.endswith(b"\n"), f"{path.name} ends with a partial line: {data[-60:]!r}"
    records = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            records.append(json.loads(line))
        except ValueError as exc:  # pragma: no cover - reported as a failure
            raise AssertionError(f"{path.name} line {number} is not JSON: {line[:80]!r}") from exc
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)), "duplicate event ids in the export"
    assert ids == [event["id"] for event in expected], "events missing, extra or out of order"
    assert [typed(r) for r in records] == [typed(e) for e in expected]


def csv_text(events: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(map(expected_csv_row, events))
    return buffer.getvalue()


def assert_csv_exact(path: Path, expected: list[dict[str, Any]]) -> None:
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\n"), f"{path.name} ends with a partial row"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    ids = [row[0] for row in rows[1:]]
    assert len(ids) == len(set(ids)), "duplicate event ids in the export"
    assert ids == [event["id"] for event in expected], "events missing, extra or out of order"
    assert rows[1:] == [expected_csv_row(event) for event in expected]


def assert_exact(out: Path, chat_id: str, fmt: str, expected: list[dict[str, Any]]) -> None:
    if fmt == "jsonl":
        assert_jsonl_exact(out / f"{chat_id}.jsonl", expected)
    else:
        assert_csv_exact(out / f"{chat_id}.csv", expected)


def expected_size(fmt: str, events: list[dict[str, Any]]) -> int:
    """About how many bytes the finished file has (only used for kill thresholds)."""
    if fmt == "csv":
        return len(csv_text(events).encode())
    return sum(
        len(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode()) + 1 for e in events
    )


def gets(emu: WeglyEmulator) -> list[Any]:
    return [r for r in emu.requests if r.method == "GET" and r.path.endswith("/timeline")]


@attrs.frozen
class Run:
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def cli_env(emu: WeglyEmulator, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGLY_")}
    env.update(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token, PYTHONUNBUFFERED="1")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def timeline_url(emu: WeglyEmulator, chat_id: str) -> str:
    """The URL an error about reading this chat's timeline names."""
    return f"{emu.base_url}/integrations/external/chats/{chat_id}/timeline"


def export_args(chat_ids: list[str], out: Path, *extra: str, progress: bool = False) -> list[str]:
    command = [sys.executable, "-m", "wegly_async", "export", *chat_ids, "--out", str(out)]
    quiet = [] if progress else ["--no-progress"]
    return [*command, *quiet, *extra]


async def spawn(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> Run:
    """Wait (bounded) for the process and collect its output."""
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            stdout, stderr = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.communicate()
        raise AssertionError(f"the export did not finish within {RUN_TIMEOUT}s") from None
    return Run(proc.returncode, stdout.decode(), stderr.decode())


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> Run:
    return await finish(await spawn(args, env, cwd))


async def kill_when(
    proc: asyncio.subprocess.Process, condition: Callable[[], bool], *, within: float = 20.0
) -> Run:
    """SIGKILL the process as soon as ``condition()`` holds; fail if it ended first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert proc.returncode is None, "the export ended before the kill point was reached"
        if loop.time() > deadline:
            proc.kill()
            await proc.communicate()
            raise AssertionError("the kill point was not reached in time")
        await asyncio.sleep(0.002)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    run = await finish(proc)
    assert run.returncode == -signal.SIGKILL, f"not killed mid-way: {run}"
    return run


def data_size(out: Path, chat_ids: list[str], fmt: str) -> int:
    total = 0
    for chat_id in chat_ids:
        with contextlib.suppress(FileNotFoundError):
            total += (out / f"{chat_id}.{fmt}").stat().st_size
    return total


def any_checkpoint(out: Path) -> bool:
    folder = out / ".checkpoints"
    return folder.is_dir() and any(p.suffix == ".json" for p in folder.iterdir())


def kill_condition(
    when: float | str | None, out: Path, chats: list[str], fmt: str, full: int
) -> Callable[[], bool]:
    """When to kill: at once, once a checkpoint exists, or once the data reach a fraction."""
    if when is None:
        return lambda: True
    if when == "checkpoint":
        return lambda: any_checkpoint(out)
    threshold = full * float(when)
    return lambda: data_size(out, chats, fmt) >= threshold


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    # Latency keeps a run long enough (a few hundred ms or more) to kill it at chosen points.
    async with WeglyEmulator(latency=0.02) as emulator:
        yield emulator


# --- kill -9 and resume ------------------------------------------------------------------


KILL_POINTS: dict[str, list[float | str | None]] = {
    # name: sizes (fractions of the finished data) to kill at, one run each; None = at once
    "immediately": [None],
    "first-checkpoint": ["checkpoint"],
    "30%": [0.3],
    "70%": [0.7],
    "three-kills": [0.15, 0.45, 0.8],
}


@pytest.mark.parametrize(
    ("fmt", "point"),
    [
        ("jsonl", "immediately"),
        ("jsonl", "first-checkpoint"),
        ("jsonl", "30%"),
        ("jsonl", "70%"),
        ("jsonl", "three-kills"),
        ("csv", "30%"),
        ("csv", "70%"),
    ],
)
async def test_kill_9_then_rerun_gives_exact_files(
    emu: WeglyEmulator, tmp_path: Path, fmt: str, point: str
) -> None:
    chats = [
        emu.create_chat(events=1500, seed=201),
        emu.create_chat(events=1000, seed=202),
        emu.create_chat(events=400, seed=203),
    ]
    expected = {chat_id: emu.events(chat_id) for chat_id in chats}
    full = sum(expected_size(fmt, events) for events in expected.values())
    out = tmp_path / "out"
    args = export_args(chats, out, "--take", str(TAKE), "--format", fmt)
    env = cli_env(emu)

    for when in KILL_POINTS[point]:
        proc = await spawn(args, env, tmp_path)
        await kill_when(proc, kill_condition(when, out, chats, fmt, full))
        if isinstance(when, float):
            assert data_size(out, chats, fmt) < full, "the kill came after the export finished"

    emu.requests.clear()
    final = await run_cli(args, env, tmp_path)
    assert final.returncode == 0, final
    assert final.stderr == ""
    for chat_id in chats:
        assert_exact(out, chat_id, fmt, expected[chat_id])
    if point in ("30%", "70%", "three-kills"):
        # The rerun resumed from the checkpoints instead of downloading everything again.
        fresh_pages = sum(math.ceil(len(events) / TAKE) for events in expected.values())
        assert len(gets(emu)) < fresh_pages
        assert any(int(r.query["skip"]) > 0 for r in gets(emu)[: len(chats)])


def committed_events(out: Path, chat_id: str, fmt: str) -> int:
    """How many events the chat's checkpoint covers, counted in the data file itself."""
    checkpoint = json.loads((out / ".checkpoints" / f"{chat_id}.json").read_bytes())
    data = (out / f"{chat_id}.{fmt}").read_bytes()[: checkpoint["size"]]
    if fmt == "jsonl":
        return data.count(b"\n")
    return len(list(csv.reader(io.StringIO(data.decode(), newline="")))) - 1


def page_lines(fmt: str, events: list[dict[str, Any]]) -> bytes:
    if fmt == "jsonl":
        return b"".join(json.dumps(event).encode() + b"\n" for event in events)
    return csv_text(events).encode().split(b"\n", 1)[1]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_kill_9_between_a_page_and_its_checkpoint(
    emu: WeglyEmulator, tmp_path: Path, fmt: str
) -> None:
    """Kill -9 mid-export, then leave what a kill between a page and its checkpoint leaves.

    That is the next page's lines, whole, in the data file with no checkpoint for them,
    and a half-written temporary checkpoint beside the real one. The next page is the
    chat's real next events, so a rerun that did not cut them off would duplicate them.
    """
    chat_id = emu.create_chat(events=900, seed=205)
    other = emu.create_chat(events=300, seed=206)
    expected = {chat_id: emu.events(chat_id), other: emu.events(other)}
    out = tmp_path / "out"
    data = out / f"{chat_id}.{fmt}"
    args = export_args([chat_id, other], out, "--take", str(TAKE), "--format", fmt)
    env = cli_env(emu)
    third = expected_size(fmt, expected[chat_id]) // 3

    proc = await spawn(args, env, tmp_path)
    await kill_when(proc, lambda: data.exists() and data.stat().st_size >= third)
    done = committed_events(out, chat_id, fmt)
    assert 0 < done < len(expected[chat_id]) - TAKE
    append_to = data.open("ab")
    with append_to:
        append_to.write(page_lines(fmt, expected[chat_id][done : done + TAKE]))
    (out / ".checkpoints" / f"{chat_id}.json.tmp").write_bytes(b'{"version": 3, "chat_')

    final = await run_cli(args, env, tmp_path)
    assert final.returncode == 0, final
    for chat in (chat_id, other):
        assert_exact(out, chat, fmt, expected[chat])
    assert not (out / ".checkpoints" / f"{chat_id}.json.tmp").exists()


# --- exit status and messages ------------------------------------------------------------


async def test_cli_exports_everything_with_exit_0_and_a_rerun_is_cheap(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    chats = [
        emu.create_chat(events=300, seed=210),
        emu.create_chat(events=0, seed=211),
        emu.create_chat(events=120, seed=212),
    ]
    out = tmp_path / "out"
    args = export_args(chats, out, "--take", "100", "--concurrency", "2")
    run = await run_cli(args, cli_env(emu), tmp_path)
    assert run.returncode == 0, run
    assert run.stderr == ""
    for chat_id in chats:
        assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))
    assert not list(out.glob("*.csv"))
    # Token and base URL came from the environment; every request carried the token.
    assert {r.headers["Authorization"] for r in gets(emu)} == {f"Bearer {emu.token}"}

    emu.requests.clear()
    again = await run_cli(args, cli_env(emu), tmp_path)
    assert again.returncode == 0, again
    assert len(gets(emu)) <= len(chats)
    for chat_id in chats:
        assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_cli_format_csv_writes_csv_files(emu: WeglyEmulator, tmp_path: Path) -> None:
    chats = [emu.create_chat(events=260, seed=220), emu.create_chat(events=0, seed=221)]
    emu.add_message(chats[0], 'várias\nlinhas, com "aspas"', from_me=True)
    out = tmp_path / "out"
    run = await run_cli(export_args(chats, out, "--format", "csv"), cli_env(emu), tmp_path)
    assert run.returncode == 0, run
    for chat_id in chats:
        assert_csv_exact(out / f"{chat_id}.csv", emu.events(chat_id))
    assert not list(out.glob("*.jsonl"))


async def test_cli_desc_order(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=230, seed=225)
    out = tmp_path / "out"
    run = await run_cli(export_args([chat_id], out, "--order", "desc"), cli_env(emu), tmp_path)
    assert run.returncode == 0, run
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id)[::-1])


async def test_cli_exits_1_with_one_line_per_failed_chat(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    good = emu.create_chat(events=240, seed=230)
    missing = [str(uuid.uuid4()), str(uuid.uuid4())]
    out = tmp_path / "out"
    run = await run_cli(
        export_args([missing[0], good, missing[1]], out, "--concurrency", "2"),
        cli_env(emu),
        tmp_path,
    )
    assert run.returncode == 1, run
    assert run.stderr_lines == [
        f"chat {chat_id}: NotFoundError: 404 GET {timeline_url(emu, chat_id)}: "
        f"chat {chat_id} not found"
        for chat_id in missing
    ]
    assert "Traceback" not in run.stdout + run.stderr
    assert_jsonl_exact(out / f"{good}.jsonl", emu.events(good))


async def test_cli_progress_off_a_terminal_keeps_one_error_line_per_failed_chat(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    good, missing = emu.create_chat(events=120, seed=235), str(uuid.uuid4())
    out = tmp_path / "out"
    run = await run_cli(export_args([good, missing], out, progress=True), cli_env(emu), tmp_path)
    assert run.returncode == 1, run
    reason = (
        f"chat {missing}: NotFoundError: 404 GET {timeline_url(emu, missing)}: "
        f"chat {missing} not found"
    )
    assert run.stderr_lines.count(reason) == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert_jsonl_exact(out / f"{good}.jsonl", emu.events(good))


async def test_cli_reports_a_bad_token_per_chat_with_exit_1(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    chats = [emu.create_chat(events=10, seed=231), emu.create_chat(events=10, seed=232)]
    env = cli_env(emu, WEGLY_TOKEN="not-the-token")
    run = await run_cli(export_args(chats, tmp_path / "out"), env, tmp_path)
    assert run.returncode == 1, run
    assert run.stderr_lines == [
        f"chat {chat_id}: AuthenticationError: 401 GET {timeline_url(emu, chat_id)}: "
        "invalid or expired integration token"
        for chat_id in chats
    ]
    assert "not-the-token" not in run.stdout + run.stderr


async def test_cli_takes_origin_from_the_environment(tmp_path: Path) -> None:
    async with WeglyEmulator(allowed_domain="app.example.com") as emu:
        chat_id = emu.create_chat(events=30, seed=233)
        args = export_args([chat_id], tmp_path / "refused")
        refused = await run_cli(args, cli_env(emu), tmp_path)
        assert refused.returncode == 1, refused
        assert refused.stderr_lines == [
            f"chat {chat_id}: PermissionDeniedError: 403 GET {timeline_url(emu, chat_id)}: "
            "this key only accepts requests from app.example.com"
        ]

        env = cli_env(emu, WEGLY_ORIGIN="https://app.example.com")
        run = await run_cli(export_args([chat_id], tmp_path / "out"), env, tmp_path)
        assert run.returncode == 0, run
        assert_jsonl_exact(tmp_path / "out" / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_cli_flags_win_over_the_environment(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=40, seed=234)
    env = cli_env(emu, WEGLY_TOKEN="wrong-token", WEGLY_BASE_URL="http://127.0.0.1:9")
    args = export_args([chat_id], tmp_path / "out", "--token", emu.token)
    args += ["--base-url", emu.base_url]
    run = await run_cli(args, env, tmp_path)
    assert run.returncode == 0, run
    assert_jsonl_exact(tmp_path / "out" / f"{chat_id}.jsonl", emu.events(chat_id))


@pytest.mark.parametrize(
    "bad",
    ["not-a-uuid", "3c90c3cc0d444b5088888dd25736052a", "{3c90c3cc-0d44-4b50-8888-8dd25736052a}"],
)
async def test_cli_exits_2_for_a_chat_id_that_is_not_a_uuid_before_any_request(
    emu: WeglyEmulator, tmp_path: Path, bad: str
) -> None:
    good = emu.create_chat(events=20, seed=240)
    out = tmp_path / "out"
    run = await run_cli(export_args([good, bad], out), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    assert emu.requests == []
    assert "Traceback" not in run.stderr
    assert len(run.stderr_lines) == 1 and bad in run.stderr
    assert not (out / f"{good}.jsonl").exists()


@pytest.mark.parametrize(
    "options",
    [
        ["--format", "xml"],
        ["--order", "sideways"],
        ["--take", "0"],
        ["--take", "many"],
        ["--concurrency", "0"],
    ],
    ids=lambda options: " ".join(options),
)
async def test_cli_exits_2_for_bad_options_before_any_request(
    emu: WeglyEmulator, tmp_path: Path, options: list[str]
) -> None:
    chat_id = emu.create_chat(events=5, seed=241)
    run = await run_cli(export_args([chat_id], tmp_path / "out", *options), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    assert emu.requests == []
    assert "Traceback" not in run.stderr


async def test_cli_exits_2_without_a_token(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=5, seed=242)
    run = await run_cli(
        export_args([chat_id], tmp_path / "out"), cli_env(emu, WEGLY_TOKEN=None), tmp_path
    )
    assert run.returncode == 2, run
    assert "WEGLY_TOKEN" in run.stderr and "Traceback" not in run.stderr
    assert emu.requests == []


async def test_cli_exits_2_when_the_directory_holds_another_format(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=60, seed=243)
    out = tmp_path / "out"
    assert (await run_cli(export_args([chat_id], out), cli_env(emu), tmp_path)).returncode == 0
    emu.requests.clear()
    run = await run_cli(export_args([chat_id], out, "--format", "csv"), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    assert len(run.stderr_lines) == 1 and chat_id in run.stderr
    assert emu.requests == []
    assert_jsonl_exact(out / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_cli_exits_2_when_out_is_a_regular_file(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=5, seed=244)
    not_a_dir = tmp_path / "export.txt"
    not_a_dir.write_text("not a directory")
    run = await run_cli(export_args([chat_id], not_a_dir), cli_env(emu), tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, run
    assert len(run.stderr_lines) == 1 and str(not_a_dir) in run.stderr
    assert emu.requests == []
