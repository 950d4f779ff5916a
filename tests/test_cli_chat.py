"""``wegly-async chat`` and ``unread``, run in a subprocess against this test's own emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_cli import ANSI, arun_cli, clean_env, run_cli

from wegly_async.testing import WeglyEmulator

UNKNOWN_CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OFFLINE = clean_env(WEGLY_BASE_URL="https://wegly.invalid")  # no token, nothing to reach
HOSTILE = "oi\x1b[2J\u202egnp.exe\nwegly-async: forged line\x85"


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def fields(out: str) -> dict[str, str]:
    """Read ``label  value`` lines (labels may hold one space, values start after two)."""
    rows = [line.split("  ", 1) for line in out.splitlines()]
    return {label: value.strip() for label, value in rows}


async def server_chat(emu: WeglyEmulator, chat_id: str) -> dict[str, Any]:
    """The chat as the emulator answers GET /chats/{id}."""
    async with emu.client() as client:
        raw = await client.chats.with_raw_response.get(chat_id)
    answer: dict[str, Any] = raw.json()
    return answer


# --- chat -----------------------------------------------------------------------------------


async def test_chat_prints_its_fields_one_per_line(emu: WeglyEmulator, env: dict[str, str]) -> None:
    chat = emu.create_chat(events=4, seed=5, unread=2)
    last = emu.events(chat)[-1]["message"]
    code, out, err = await arun_cli("chat", chat, env=env)
    assert (code, err) == (0, "")
    [request] = emu.requests
    assert (request.method, request.path) == ("GET", f"/integrations/external/chats/{chat}")
    expected = await server_chat(emu, chat)
    shown = fields(out)
    assert list(shown) == [
        "id",
        "contact",
        "number",
        "status",
        "type",
        "unread",
        "marked unread",
        "priority",
        "assigned to",
        "phone number",
        "last message at",
        "last from contact",
        "window ends",
        "archived at",
        "created at",
        "updated at",
        "last message",
    ]
    assert shown["id"] == chat
    assert shown["number"] == expected["contact_number"]
    assert (shown["status"], shown["type"], shown["unread"]) == ("OPEN", "INDIVIDUAL", "2")
    assert (shown["marked unread"], shown["priority"], shown["assigned to"]) == ("no", "0", "-")
    assert shown["phone number"] == expected["phone_number"]["display_number"]
    assert shown["created at"] == expected["created_at"][:19] + "Z"
    assert shown["window ends"] == "-"
    assert shown["last message"].split() == [
        "in",
        "text",
        last["content_payload"]["wamid"],
        *last["body_text"].split(),
    ]
    assert not ANSI.search(out)


async def test_chat_shows_who_is_responsible(emu: WeglyEmulator, env: dict[str, str]) -> None:
    chat = emu.create_chat(events=1, seed=6)
    user = emu.users[0]
    async with emu.client() as client:
        assigned = await client.chats.set_responsible(chat, user.id or "")
    code, out, err = await arun_cli("chat", chat, env=env)
    assert (code, err) == (0, "")
    assert fields(out)["assigned to"] == f"{user.name} (agent {assigned.assigned_agent_id})"


async def test_chat_json_is_the_servers_object(emu: WeglyEmulator, env: dict[str, str]) -> None:
    chat = emu.create_chat(events=3, seed=7, unread=1)
    code, out, err = await arun_cli("chat", chat, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert json.loads(line) == await server_chat(emu, chat)


async def test_chat_escapes_what_the_server_sends(emu: WeglyEmulator, env: dict[str, str]) -> None:
    chat = emu.create_chat(events=2, seed=8)
    emu.add_message(chat, HOSTILE)
    code, out, err = await arun_cli("chat", chat, env=env)
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 17  # the newline in the message forged none
    last = fields(out)["last message"]
    assert last.endswith(r"oi\x1b[2J\u202egnp.exe\nwegly-async: forged line\x85")
    assert not any(char in out for char in "\x1b\u202e\x85")

    code, out, err = await arun_cli("chat", chat, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert not any(char in line for char in "\x1b\u202e\x85")
    assert json.loads(line)["last_message"]["body_text"] == HOSTILE


async def test_chat_unknown_exits_1_with_one_line(emu: WeglyEmulator, env: dict[str, str]) -> None:
    code, out, err = await arun_cli("chat", UNKNOWN_CHAT, env=env)
    assert (code, out) == (1, "")
    url = f"{emu.base_url}/integrations/external/chats/{UNKNOWN_CHAT}"
    assert err.splitlines() == [
        f"chat {UNKNOWN_CHAT}: NotFoundError: 404 GET {url}: chat {UNKNOWN_CHAT} not found"
    ]


async def test_chat_with_a_wrong_token_never_prints_it(emu: WeglyEmulator) -> None:
    chat = emu.create_chat(events=1, seed=9)
    wrong = "wrong-token-Q7z2"
    env = clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=wrong)
    code, out, err = await arun_cli("chat", chat, "--json", env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith(f"chat {chat}: AuthenticationError: 401 GET ")
    assert wrong not in err


def test_chat_id_that_is_not_a_uuid_is_a_usage_error() -> None:
    result = run_cli("chat", "not-a-uuid", env=OFFLINE)
    assert result.returncode == 2
    assert "CHAT_ID" in result.stderr
    assert "not-a-uuid" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", [("chat", UNKNOWN_CHAT), ("unread",)])
def test_no_token_is_a_usage_error(command: tuple[str, ...]) -> None:
    result = run_cli(*command, env=OFFLINE)
    assert result.returncode == 2
    assert "no token: set the WEGLY_TOKEN environment variable" in result.stderr
    assert result.stdout == ""


# --- unread ---------------------------------------------------------------------------------


async def test_unread_counts_over_every_chat(emu: WeglyEmulator, env: dict[str, str]) -> None:
    emu.create_chat(events=2, seed=1, unread=3)
    emu.create_chat(events=2, seed=2)
    emu.create_chat(events=0, unread=2)
    code, out, err = await arun_cli("unread", env=env)
    assert (code, err) == (0, "")
    assert out.splitlines() == ["unread messages  5", "unread chats     2"]
    [request] = emu.requests
    assert (request.method, request.path) == (
        "GET",
        "/integrations/external/chats/notifications/unread",
    )


async def test_unread_json_is_the_servers_object(emu: WeglyEmulator, env: dict[str, str]) -> None:
    emu.create_chat(events=1, unread=4)
    code, out, err = await arun_cli("unread", "--json", env=env)
    assert (code, err) == (0, "")
    assert out.splitlines() == ['{"unread_messages_total":4,"unread_chats_total":1}']


async def test_unread_refused_exits_1_with_one_line(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    emu.inject(403, body={"message": "key restricted\x1b[2J"})
    code, out, err = await arun_cli("unread", env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith("unread: PermissionDeniedError: 403 GET ")
    assert line.endswith(r"key restricted\x1b[2J")
