"""The ``wegly-async`` command line, run as ``python -m wegly_async`` in a real subprocess.

Commands that talk to an API run against a ``WeglyEmulator`` served by this test's own
event loop, so they are started with ``asyncio.create_subprocess_exec`` and awaited: the
loop keeps serving while the command runs.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wegly_async as wa
from wegly_async.cli import main
from wegly_async.cli._main import build_parser
from wegly_async.export import export_timelines
from wegly_async.testing import WeglyEmulator

TIMEOUT = 60.0  # seconds for any one command: generous, but never a hang
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ANSI = re.compile(r"\x1b[\[\]()]")


def _rich_installed() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


RICH = _rich_installed()
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any WEGLY_* variable, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WEGLY_")}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command line to completion in a subprocess (for tests without an emulator)."""
    return subprocess.run(
        [sys.executable, "-m", "wegly_async", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=clean_env() if env is None else env,
        timeout=TIMEOUT,
        check=False,
    )


async def arun_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the command line in a subprocess while this loop keeps serving the emulator."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wegly_async",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    """Use the fixture our pytest plugin gives every user."""
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=30, seed=13)


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def text_wamid(emu: WeglyEmulator, chat_id: str) -> str:
    for event in reversed(emu.events(chat_id)):
        message = event["message"] or {}
        if message.get("type") == "text":
            wamid: str = message["content_payload"]["wamid"]
            return wamid
    raise AssertionError("no text message in the seeded chat")


# --- demo -----------------------------------------------------------------------------------


def test_demo_exports_what_it_reports(tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = run_cli("demo", "--out", str(out), "--no-progress", "--chats", "2", "--events", "300")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    stdout = result.stdout

    summary = re.search(r"export: ([\d,]+) events in ([\d.]+)s \(([\d,]+) events/s\)", stdout)
    assert summary, stdout
    exported = int(summary.group(1).replace(",", ""))
    assert exported >= 600  # 2 x 300 seeded, plus what the bot sent

    files = sorted(out.glob("*.jsonl"))
    assert len(files) == 2
    assert f"files written: 2 in {out}" in stdout
    line_counts = {}
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines]
        assert all(re.fullmatch(UUID, event["id"]) for event in events)
        assert len({event["id"] for event in events}) == len(events)
        assert re.fullmatch(UUID, path.stem)
        line_counts[path] = len(lines)
        # Each file's own summary line gives the same count.
        assert re.search(rf"{re.escape(str(path))}\s+{len(lines):,} events", stdout), stdout
    assert sum(line_counts.values()) == exported
    assert sorted(line_counts.values()) == [300, exported - 300]
    assert not ANSI.search(stdout + result.stderr)
    assert result.stderr == ""  # --no-progress: nothing on stderr


def test_demo_progress_on_a_pipe_is_plain_lines(tmp_path: Path) -> None:
    out = tmp_path / "export"
    # A colour-capable TERM must not matter: stdout and stderr are pipes, not a terminal.
    result = run_cli(
        "demo",
        "--out",
        str(out),
        "--chats",
        "2",
        "--events",
        "120",
        env=clean_env(TERM="xterm-256color"),
    )
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout), "ANSI escapes on a pipe"
    assert not ANSI.search(result.stderr), "ANSI escapes on a pipe"
    progress = [line for line in result.stderr.splitlines() if line.strip()]
    # Without the cli extra (the aiohttp 3.13 session), plain lines first say how to get bars.
    hint = (
        []
        if RICH
        else ["progress: plain lines (pip install 'wegly-async[cli]' draws bars on a terminal)"]
    )
    assert progress[: len(hint)] == hint, result.stderr
    progress = progress[len(hint) :]
    assert len(progress) == 2, result.stderr
    for done, line in enumerate(progress, 1):
        pattern = rf"chat {UUID}: ok, [\d,]+ events in .+\.jsonl \({done}/2 chats done\)"
        assert re.fullmatch(pattern, line), line
    assert "events/s" in result.stdout


def test_demo_with_out_naming_a_file_says_so_without_a_traceback(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "export.txt"
    not_a_dir.write_text("já existe")
    result = run_cli(
        "demo", "--out", str(not_a_dir), "--no-progress", "--chats", "1", "--events", "5"
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    assert str(not_a_dir) in result.stderr
    assert not_a_dir.read_text() == "já existe"


def test_demo_rejects_bad_counts() -> None:
    result = run_cli("demo", "--no-progress", "--chats", "0")
    assert result.returncode == 2
    assert "--chats" in result.stderr
    assert "Traceback" not in result.stderr


# --- send -----------------------------------------------------------------------------------


async def test_send_text(emu: WeglyEmulator, chat: str, env: dict[str, str]) -> None:
    text = "Olá, Maria! Seu pedido nº 42 saiu 🚚"
    code, out, err = await arun_cli("send", chat, "--text", text, env=env)
    assert code == 0, err
    assert err == ""
    newest = emu.events(chat)[-1]["message"]
    assert newest["body_text"] == text
    wamid = newest["content_payload"]["wamid"]
    assert out.strip() == f"sent text {newest['id']} wamid {wamid} (status processing)"
    [request] = emu.requests
    assert request.json == {"type": "text", "body": text}


async def test_send_text_as_a_reply(emu: WeglyEmulator, chat: str, env: dict[str, str]) -> None:
    wamid = text_wamid(emu, chat)
    code, _, err = await arun_cli("send", chat, "--text", "isso!", "--reply-to", wamid, env=env)
    assert code == 0, err
    assert emu.requests[-1].json == {"type": "text", "body": "isso!", "reference_wamid": wamid}
    quoted = emu.events(chat)[-1]["message"]["quoted_message"]
    assert quoted["content_payload"]["wamid"] == wamid


async def test_send_reaction(emu: WeglyEmulator, chat: str, env: dict[str, str]) -> None:
    wamid = text_wamid(emu, chat)
    code, out, err = await arun_cli("send", chat, "--reaction", "👍", "--to", wamid, env=env)
    assert code == 0, err
    assert emu.requests[-1].json == {"type": "reaction", "body": "👍", "reference_wamid": wamid}
    assert out.startswith("sent reaction ")
    [target] = [e for e in emu.events(chat) if e["message"]["content_payload"]["wamid"] == wamid]
    assert "👍" in [reaction["emoji"] for reaction in target["message"]["reactions"]]


async def test_send_reaction_without_to_is_a_usage_error(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("send", chat, "--reaction", "👍", env=env)
    assert code == 2
    assert "--to" in err
    assert "Traceback" not in err
    assert out == ""
    assert emu.requests == []


async def test_send_template_with_a_field(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli(
        "send",
        chat,
        "--template",
        "saudacao_inicial",
        "--language",
        "pt_BR",
        "--field",
        "BODY:1=Maria",
        "--field",
        "body:2=Conceição",
        env=env,
    )
    assert code == 0, err
    assert emu.requests[-1].json == {
        "type": "template",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
        "template_fields": [
            {"component": "BODY", "type": "TEXT", "index": 1, "value": "Maria"},
            {"component": "BODY", "type": "TEXT", "index": 2, "value": "Conceição"},
        ],
    }
    newest = emu.events(chat)[-1]["message"]
    assert newest["type"] == "template"
    wamid = newest["content_payload"]["wamid"]
    assert out.strip() == f"sent template {newest['id']} wamid {wamid} (status processing)"


async def test_send_template_with_a_malformed_field_is_a_usage_error(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, _, err = await arun_cli(
        "send", chat, "--template", "x", "--language", "pt_BR", "--field", "Maria", env=env
    )
    assert code == 2
    assert "COMPONENT:INDEX=VALUE" in err
    assert emu.requests == []


async def test_send_image_with_caption(
    emu: WeglyEmulator, chat: str, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "cardápio.png"
    path.write_bytes(PNG)
    code, out, err = await arun_cli(
        "send", chat, "--image", str(path), "--caption", "Nosso cardápio", env=env
    )
    assert code == 0, err
    [request] = emu.requests
    assert request.parts["type"].text == "image"
    assert request.parts["body"].text == "Nosso cardápio"
    part = request.parts["file"]
    assert part.filename == "cardápio.png"
    assert part.content_type == "image/png"
    assert part.data == PNG
    newest = emu.events(chat)[-1]["message"]
    assert newest["body_text"] == "Nosso cardápio"
    assert newest["media"]["file_name"] == "cardápio.png"
    wamid = newest["content_payload"]["wamid"]
    assert out.strip() == f"sent image {newest['id']} wamid {wamid} (status processing)"


async def test_send_a_missing_file_is_a_usage_error(
    emu: WeglyEmulator, chat: str, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "nao-existe.pdf"
    code, out, err = await arun_cli("send", chat, "--document", str(missing), env=env)
    assert code == 2
    assert str(missing) in err
    assert "no such file" in err.lower()
    assert "Traceback" not in err
    assert out == ""
    assert emu.requests == []


@pytest.mark.parametrize(
    "bad_chat", ["not-a-uuid", "../../admin", "3C90C3CC0D444B5088888DD25736052A"]
)
async def test_send_to_a_chat_that_is_not_a_uuid_is_a_usage_error(
    emu: WeglyEmulator, env: dict[str, str], bad_chat: str
) -> None:
    code, out, err = await arun_cli("send", bad_chat, "--text", "oi", env=env)
    assert code == 2
    assert "UUID" in err
    assert "Traceback" not in err
    assert out == ""
    assert emu.requests == []


async def test_send_with_a_wrong_token_prints_one_line_and_exits_1(
    emu: WeglyEmulator, chat: str
) -> None:
    wrong = "wrong-token-K4x9"
    env = clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=wrong)
    code, out, err = await arun_cli("send", chat, "--text", "oi", env=env)
    assert code == 1
    url = f"{emu.base_url}/integrations/external/chats/{chat}/messages"
    assert err.splitlines() == [
        f"chat {chat}: AuthenticationError: 401 POST {url}: invalid or expired integration token"
    ]
    assert "Traceback" not in err
    assert out == ""
    assert wrong not in out + err
    assert len(emu.requests) == 1
    assert "oi" not in [event["message"].get("body_text") for event in emu.events(chat)]


async def test_send_whose_answer_is_lost_says_outcome_unknown(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    emu.inject(None, drop=True, method="POST")
    code, out, err = await arun_cli("send", chat, "--text", "chegou?", env=env)
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"chat {chat}: SendOutcomeUnknownError: POST {emu.base_url}/")
    assert "may or may not have been sent" in line
    assert "timeline" in line
    assert out == ""
    assert len(emu.requests) == 1  # never resent
    assert emu.events(chat)[-1]["message"]["body_text"] == "chegou?"


async def test_send_to_an_unknown_chat_exits_1(emu: WeglyEmulator, env: dict[str, str]) -> None:
    missing = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    code, _, err = await arun_cli("send", missing, "--text", "oi", env=env)
    assert code == 1
    url = f"{emu.base_url}/integrations/external/chats/{missing}/messages"
    assert err.splitlines() == [
        f"chat {missing}: NotFoundError: 404 POST {url}: chat {missing} not found"
    ]


async def test_send_without_a_token_is_a_usage_error(emu: WeglyEmulator, chat: str) -> None:
    code, _, err = await arun_cli(
        "send", chat, "--text", "oi", env=clean_env(WEGLY_BASE_URL=emu.base_url)
    )
    assert code == 2
    assert "WEGLY_TOKEN" in err
    assert "Traceback" not in err
    assert emu.requests == []


# --- emulator -------------------------------------------------------------------------------


async def launch_emulator(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``wegly-async emulator`` and return it with its banner, up to "Ctrl-C to stop"."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wegly_async",
        "emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for _ in range(50):
            raw = await asyncio.wait_for(proc.stdout.readline(), 20)
            if not raw:
                break
            lines.append(raw.decode("utf-8").rstrip("\n"))
            if lines[-1].startswith("Ctrl-C"):
                break
    except BaseException:
        await stop(proc)
        raise
    return proc, "\n".join(lines)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.communicate()


async def test_emulator_command_serves_until_sigint() -> None:
    proc, text = await launch_emulator("--port", "0", "--chats", "1", "--events", "10")
    try:
        base_url = re.search(r"^export WEGLY_BASE_URL=(http://127\.0\.0\.1:(\d+))$", text, re.M)
        token = re.search(r"^export WEGLY_TOKEN=(\S+)$", text, re.M)
        chats = re.findall(rf"^chat ({UUID}) \(10 events\)$", text, re.M)
        assert base_url, text
        assert token, text
        assert int(base_url.group(2)) > 0
        assert len(chats) == 1, text
        assert f"serving at {base_url.group(1)}" in text

        async with wa.WeglyClient(token.group(1), base_url=base_url.group(1), timeout=5) as client:
            events = await client.chats.timeline(chats[0], take=4).to_list()
            sent = await client.chats.send_text(chats[0], "pelo emulador da linha de comando")
            desc = await client.chats.timeline(chats[0], order="desc", take=3).to_list()
        assert len(events) == 10
        assert len({event.id for event in events}) == 10
        assert desc[0].id not in {event.id for event in events}
        assert desc[0].message is not None
        assert desc[0].message.id == sent.records[0].id

        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 5)
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in err
    finally:
        await stop(proc)


def test_emulator_command_stops_cleanly_on_sigint_right_after_its_banner() -> None:
    # "Ctrl-C to stop." promises that Ctrl-C now stops it cleanly; a supervisor or a test
    # that signals as soon as it reads that line must get the same clean exit as later.
    # A blocking read wakes this process as soon as the banner is written.
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "wegly_async", "emulator", "--port", "0", "--chats", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        try:
            assert proc.stdout is not None
            banner = b""
            deadline = time.monotonic() + 20
            while b"Ctrl-C to stop." not in banner:
                left = deadline - time.monotonic()
                assert left > 0, banner
                if select.select([proc.stdout], [], [], left)[0]:
                    chunk = os.read(proc.stdout.fileno(), 65_536)
                    assert chunk, banner
                    banner += chunk
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=5)
            assert proc.returncode == 0, f"exit {proc.returncode}: {err.decode()!r}"
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.communicate()


async def test_emulator_command_on_a_busy_port_says_so_without_a_traceback() -> None:
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc, _ = await launch_emulator("--port", str(port), "--chats", "0")
        try:
            _, err_bytes = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        finally:
            await stop(proc)
    finally:
        busy.close()
    err = err_bytes.decode()
    assert proc.returncode in (1, 2)
    assert "Traceback" not in err, err
    assert str(port) in err
    assert len(err.strip().splitlines()) == 1, err


# --- version, help and usage errors ---------------------------------------------------------


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"wegly-async {wa.__version__}"


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: wegly-async")
    for command in ("demo", "emulator", "export", "send"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command


def test_send_help_shows_every_message_kind() -> None:
    result = run_cli("send", "--help")
    assert result.returncode == 0
    for option in ("--text", "--reaction", "--template", "--image", "--video", "--audio"):
        assert option in result.stdout


def test_the_defaults_are_the_sdk_defaults() -> None:
    parser = build_parser()
    export = parser.parse_args(["export", "3c90c3cc-0d44-4b50-8888-8dd25736052a", "--out", "x"])
    defaults = inspect.signature(export_timelines).parameters
    for option in ("format", "order", "take", "concurrency", "fsync"):
        assert getattr(export, option) == defaults[option].default, option
    emulator = parser.parse_args(["emulator"])
    defaults = inspect.signature(WeglyEmulator).parameters
    for option in ("host", "latency", "token", "max_take"):
        assert getattr(emulator, option) == defaults[option].default, option


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_no_command_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: wegly-async" in result.stderr


def test_main_in_process_returns_usage_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEGLY_TOKEN", "tok-in-process")
    monkeypatch.setenv("WEGLY_BASE_URL", "https://api.wegly.invalid")
    # Both fail before any request, so nothing is ever sent to the unreachable URL.
    assert main(["send", "not-a-uuid", "--text", "oi"]) == 2
    assert "UUID" in capsys.readouterr().err
    assert main(["send", "3c90c3cc-0d44-4b50-8888-8dd25736052a", "--reaction", "👍"]) == 2
    assert "--to" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["send", "3c90c3cc-0d44-4b50-8888-8dd25736052a"])  # no message kind
    assert info.value.code == 2
