"""``wegly-async webhook listen|verify`` and the demo's bot loop, run in real subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from test_cli import TIMEOUT, clean_env, run_cli

from wegly_async.cli._webhook import reserializations
from wegly_async.testing import WeglyEmulator

SECRET = "whsec-cli-Qm4"
ENVELOPE = {
    "event_key": "lead.created",
    "payload": {"lead": {"id": "a3c5", "title": "Orçamento São Paulo", "code": 19615}},
}
BODY = json.dumps(ENVELOPE, ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(*args: str, stdin: bytes | None = None, secret: str | None = SECRET) -> Any:
    env = clean_env() if secret is None else clean_env(WEGLY_WEBHOOK_SECRET=secret)
    return subprocess.run(
        [sys.executable, "-m", "wegly_async", "webhook", "verify", *args],
        input=stdin or b"",
        capture_output=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


# --- verify -----------------------------------------------------------------------------------


def test_verify_accepts_the_exact_body_from_a_file_or_stdin(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    from_file = verify("--signature", sign(BODY), str(path))
    from_stdin = verify("--signature", sign(BODY), stdin=BODY)
    for result in (from_file, from_stdin):
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode().startswith("valid")
        assert SECRET.encode() not in result.stdout + result.stderr


def test_verify_takes_the_secret_from_the_option_too() -> None:
    result = verify("--secret", SECRET, "--signature", sign(BODY), stdin=BODY, secret=None)
    assert result.returncode == 0, result.stderr
    wrong = verify("--secret", "other", "--signature", sign(BODY), stdin=BODY)
    assert wrong.returncode == 1  # the option wins over the environment


COMPACT: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


@pytest.mark.parametrize(
    ("signed", "received"),
    [
        (COMPACT, {"indent": 2, "ensure_ascii": False}),
        (COMPACT, {"ensure_ascii": True, "separators": (",", ":")}),
        (COMPACT, {"ensure_ascii": False}),  # Python's default ", " and ": "
        # Keys sorted by the sender, then re-serialized by a framework:
        ({**COMPACT, "sort_keys": True}, {"indent": 4}),
        ({"sort_keys": True, "indent": 2}, COMPACT),
    ],
)
def test_verify_says_when_the_body_was_re_serialized(
    signed: dict[str, Any], received: dict[str, Any]
) -> None:
    original = json.dumps(ENVELOPE, **signed).encode()
    changed = json.dumps(json.loads(original), **received).encode()
    assert changed != original
    result = verify("--signature", sign(original), stdin=changed)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith("invalid: ")
    assert "the body looks re-serialized: the signature matches the body re-serialized" in stderr
    assert "Traceback" not in stderr
    assert SECRET not in stderr


def test_verify_cannot_recover_an_order_it_never_saw() -> None:
    # Sorting keys the sender did not sort loses their order: no re-encoding finds it again.
    changed = json.dumps(ENVELOPE, sort_keys=True, **COMPACT).encode()
    result = verify("--signature", sign(BODY), stdin=changed)
    assert result.returncode == 1
    assert "looks" not in result.stderr.decode()


def test_verify_says_when_a_line_break_was_added() -> None:
    result = verify("--signature", sign(BODY), stdin=BODY + b"\n")
    assert result.returncode == 1
    assert "without its final line break" in result.stderr.decode()


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (BODY, sign(BODY, "another-secret")),  # the wrong secret: no re-encoding helps
        (BODY.replace(b"19615", b"19616"), sign(BODY)),  # a tampered byte
        (b"\xff\xfe not json", sign(BODY)),
        (BODY, "not-a-signature"),
    ],
)
def test_verify_refuses_without_a_false_hint(body: bytes, signature: str) -> None:
    result = verify("--signature", signature, stdin=body)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith("invalid: ")
    assert "looks" not in stderr
    assert "Traceback" not in stderr


def test_verify_usage_errors(tmp_path: Path) -> None:
    no_secret = verify("--signature", sign(BODY), stdin=BODY, secret=None)
    assert no_secret.returncode == 2
    assert "WEGLY_WEBHOOK_SECRET" in no_secret.stderr.decode()
    missing = verify("--signature", sign(BODY), str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr.decode()
    no_signature = verify(stdin=BODY)
    assert no_signature.returncode == 2
    empty = verify("--secret", "", "--signature", sign(BODY), stdin=BODY)
    assert empty.returncode == 2  # not silently the environment's secret


def test_reserializations_cover_the_common_encodings() -> None:
    names = [name for name, _ in reserializations(BODY)]
    assert len(names) == len(set(names))
    bodies = {body for _, body in reserializations(BODY)}
    assert BODY + b"\n" in bodies
    for options in (
        {"separators": (",", ":")},
        {"indent": 4, "sort_keys": True},
        {"indent": "\t", "ensure_ascii": False},
    ):
        assert json.dumps(ENVELOPE, **options).encode() in bodies  # type: ignore[arg-type]
    assert [name for name, _ in reserializations(b"not json")] == [
        "the body with a final line break added"
    ]


def test_the_help_says_the_environment_is_the_safe_way() -> None:
    for action in ("listen", "verify"):
        result = run_cli("webhook", action, "--help")
        assert result.returncode == 0
        text = " ".join(result.stdout.split())
        assert "$WEGLY_WEBHOOK_SECRET, the safe way" in text
        assert "process list" in text


# --- listen -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def listening(secret: str = SECRET) -> AsyncIterator[tuple[str, asyncio.StreamReader]]:
    """Run ``webhook listen --port 0``; yield its URL and stdout, then stop it with SIGINT."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "wegly_async", "webhook", "listen", "--port", "0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(WEGLY_WEBHOOK_SECRET=secret),
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        banner = (await asyncio.wait_for(process.stderr.readline(), TIMEOUT)).decode()
        found = re.search(r"http://127\.0\.0\.1:\d+/", banner)
        assert found, banner
        yield found.group(), process.stdout
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
        rest = await asyncio.wait_for(process.stderr.read(), TIMEOUT)
        assert b"Traceback" not in rest
        assert secret.encode() not in rest + banner.encode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def next_line(stdout: asyncio.StreamReader) -> Any:
    return json.loads(await asyncio.wait_for(stdout.readline(), TIMEOUT))


async def test_listen_prints_each_event_the_emulator_delivers_once() -> None:
    async with WeglyEmulator() as emu, listening() as (url, stdout):
        chat_id = emu.create_chat(events=2, seed=31)
        emu.add_webhook(url, SECRET)
        emu.receive_message(chat_id, "Oi, tudo bem?")
        await emu.wait_deliveries()
        received = await next_line(stdout)
        async with aiohttp.ClientSession() as http:
            headers = {"x-wegly-signature": sign(BODY), "x-wegly-event": "lead.created"}
            statuses = []
            for signature in (sign(BODY), sign(BODY), sign(BODY, "forged")):
                headers["x-wegly-signature"] = signature
                async with http.post(url, data=BODY, headers=headers) as response:
                    statuses.append(response.status)
        lead = await next_line(stdout)
    assert received == {
        "event_key": "chat.message_received",
        "payload": {"chat_id": chat_id, "message": emu.events(chat_id)[-1]["message"]},
    }
    assert [d.status for d in emu.deliveries] == [200]
    assert statuses == [200, 200, 401]  # the redelivery is acknowledged, the forgery refused
    assert lead == ENVELOPE
    assert await stdout.read() == b""  # nothing more: not the redelivery, not the forgery


async def test_listen_escapes_what_could_forge_a_terminal_line() -> None:
    hostile = {"event_key": "lead.updated", "payload": {"title": "a\u202egnp.exe\x7f\u2028b"}}
    body = json.dumps(hostile, ensure_ascii=False).encode()
    async with listening() as (url, stdout):
        async with aiohttp.ClientSession() as http:
            headers = {"x-wegly-signature": sign(body)}
            async with http.post(url, data=body, headers=headers) as response:
                assert response.status == 200
        line = await asyncio.wait_for(stdout.readline(), TIMEOUT)
    text = line.decode()
    assert text.endswith("\n") and text.count("\n") == 1
    assert not re.search("[\x7f\u2028\u202e]", text)
    assert "\\u202e" in text
    assert json.loads(text) == hostile


def test_listen_without_a_secret_is_a_usage_error() -> None:
    result = run_cli("webhook", "listen", "--port", "0")
    assert result.returncode == 2
    assert "WEGLY_WEBHOOK_SECRET" in result.stderr


# --- demo: the whole bot loop -----------------------------------------------------------------


def test_demo_runs_the_bot_loop_through_a_webhook(tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = run_cli("demo", "--out", str(out), "--no-progress", "--chats", "1", "--events", "20")
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    heard = "Oi! Vocês têm horário amanhã de manhã?"
    assert f"the contact writes: {heard!r}" in stdout
    assert f"the bot got it by webhook: {heard!r}" in stdout
    assert "webhook chat.message_received -> 200 (signature verified, handled)" in stdout
    assert re.search(rf"contact text: {re.escape(repr(heard))}", stdout), stdout
    assert "bot     text: 'Olá, cliente! Já vamos te ajudar 😊'" in stdout
    [path] = out.glob("*.jsonl")
    messages = [json.loads(line)["message"] for line in path.read_text("utf-8").splitlines()]
    texts = [(m or {}).get("body_text") or "" for m in messages]
    contact = messages[texts.index(heard)]
    reply = messages[texts.index("Olá, cliente! Já vamos te ajudar 😊")]
    assert contact["from_me"] is False
    assert reply["from_me"] is True
    assert reply["quoted_message"]["id"] == contact["id"]
