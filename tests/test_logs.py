"""``WEGLY_LOG``: a stderr handler on the ``wegly_async`` logger only, read at import.

Each case imports wegly_async in a child process with the variable set, since the switch
is read once, when the package is first imported.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wegly_async._logs import setup_logging

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-never-logged-7Qx2"
# Requests against the emulator: a retried 503, a send, and a 401 that quotes the token;
# then what logging was set up, as JSON on stdout.
SCRIPT = f"""
import asyncio, json, logging
import wegly_async as wa
from wegly_async.testing import WeglyEmulator

async def main() -> None:
    async with WeglyEmulator(token={TOKEN!r}) as emu:
        chat = emu.create_chat(events=3, seed=1)
        async with emu.client() as client:
            wa.testing.instant_retries(client)
            emu.inject(503, body={{"message": "upstream saw Bearer {TOKEN}"}})
            await client.chats.get(chat)
            await client.chats.send_text(chat, "Olá")
            emu.inject(401, body={{"message": "bad token {TOKEN}"}})
            try:
                await client.chats.get(chat)
            except wa.AuthenticationError:
                pass

asyncio.run(main())
ours = logging.getLogger("wegly_async")
print(json.dumps({{
    "level": ours.level,
    "handlers": [type(h).__name__ for h in ours.handlers],
    "root_handlers": len(logging.getLogger().handlers),
    "aiohttp_handlers": len(logging.getLogger("aiohttp").handlers),
}}))
"""


def run_with(value: str | None) -> subprocess.CompletedProcess[str]:
    """Run ``SCRIPT`` in a child with ``WEGLY_LOG`` set to ``value`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "WEGLY_LOG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if value is not None:
        env["WEGLY_LOG"] = value
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("value", ["debug", "DEBUG"])
def test_debug_logs_every_request_and_retry_to_stderr_without_the_token(value: str) -> None:
    done = run_with(value)
    lines = done.stderr.splitlines()
    assert TOKEN not in done.stderr
    assert TOKEN not in done.stdout
    assert any(" - DEBUG] GET http://127.0.0.1:" in line and "-> 503" in line for line in lines)
    assert any("retrying GET" in line and "after status 503" in line for line in lines)
    assert any(" - DEBUG] POST http://127.0.0.1:" in line and "-> 201" in line for line in lines)
    assert any("not retrying GET" in line and "AuthenticationError" in line for line in lines)
    assert all(line.startswith("[") and " - wegly_async:" in line for line in lines), lines
    setup = json.loads(done.stdout)
    assert setup == {
        "level": logging.DEBUG,
        "handlers": ["StreamHandler"],
        "root_handlers": 0,
        "aiohttp_handlers": 0,
    }


def test_info_leaves_the_debug_lines_out() -> None:
    done = run_with("info")
    assert done.stderr == ""
    assert json.loads(done.stdout)["level"] == logging.INFO


def test_unset_or_empty_sets_up_nothing() -> None:
    for value in (None, "", "  "):
        done = run_with(value)
        assert done.stderr == ""
        assert json.loads(done.stdout) == {
            "level": logging.NOTSET,
            "handlers": [],
            "root_handlers": 0,
            "aiohttp_handlers": 0,
        }


def test_an_unknown_value_is_named_in_a_warning_and_ignored() -> None:
    done = run_with("verbose")
    assert "RuntimeWarning: WEGLY_LOG='verbose' is ignored: use one of debug, info, warning" in (
        done.stderr
    )
    assert "DEBUG]" not in done.stderr
    assert json.loads(done.stdout)["handlers"] == []


def test_setting_up_twice_adds_one_handler() -> None:
    ours = logging.getLogger("wegly_async")
    before, level = list(ours.handlers), ours.level
    try:
        first = setup_logging({"WEGLY_LOG": "warning"})
        assert setup_logging({"WEGLY_LOG": "info"}) is first
        assert ours.handlers == [*before, first]
        assert ours.level == logging.INFO
    finally:
        ours.handlers = before
        ours.setLevel(level)
