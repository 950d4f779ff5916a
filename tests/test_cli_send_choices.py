"""``wegly-async send --location``, ``--buttons`` and ``--list``, against our own emulator."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_cli import arun_cli, clean_env, run_cli

import wegly_async as wa
from wegly_async.cli._main import build_parser
from wegly_async.testing import WeglyEmulator

CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OFFLINE = clean_env(WEGLY_BASE_URL="https://wegly.invalid")  # no token, nothing to reach
SENT = re.compile(r"sent (\S+) (\S+) wamid (\S+) \(status processing\)\n")


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=6, seed=23)


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def newest(emu: WeglyEmulator, chat_id: str) -> dict[str, Any]:
    message: dict[str, Any] = emu.events(chat_id)[-1]["message"]
    return message


def assert_printed(out: str, message: dict[str, Any], kind: str) -> None:
    match = SENT.fullmatch(out)
    assert match, out
    assert match.groups() == (kind, message["id"], message["content_payload"]["wamid"])


# --- location -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", [("--location", "-23.5614,-46.6559"), ("--location=-23.5614,-46.6559",)]
)
async def test_send_location_with_name_address_and_reply(
    emu: WeglyEmulator, chat: str, env: dict[str, str], spelling: tuple[str, ...]
) -> None:
    quoted = newest(emu, chat)
    code, out, err = await arun_cli(
        "send",
        chat,
        *spelling,
        "--name",
        "Loja Paulista",
        "--address",
        "Av. Paulista, 1000 - São Paulo",
        "--reply-to",
        quoted["content_payload"]["wamid"],
        env=env,
    )
    assert (code, err) == (0, "")
    [request] = emu.requests
    assert (request.method, request.path) == (
        "POST",
        f"/integrations/external/chats/{chat}/messages/location",
    )
    assert request.json == {
        "latitude": -23.5614,
        "longitude": -46.6559,
        "name": "Loja Paulista",
        "address": "Av. Paulista, 1000 - São Paulo",
        "reference_wamid": quoted["content_payload"]["wamid"],
    }
    message = newest(emu, chat)
    assert_printed(out, message, "location")
    assert message["content_payload"]["location"]["name"] == "Loja Paulista"
    assert message["quoted_message"]["id"] == quoted["id"]


async def test_send_location_alone(emu: WeglyEmulator, chat: str, env: dict[str, str]) -> None:
    code, out, err = await arun_cli("send", chat, "--location", "0,-0.5", env=env)
    assert (code, err) == (0, "")
    assert emu.requests[-1].json == {"latitude": 0.0, "longitude": -0.5}
    assert_printed(out, newest(emu, chat), "location")


# --- buttons --------------------------------------------------------------------------------


async def test_send_buttons_with_text_as_the_body_and_a_reply(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    quoted = newest(emu, chat)
    code, out, err = await arun_cli(
        "send",
        chat,
        "--text",
        "Confirma a visita amanhã?",
        "--buttons",
        "sim:Sim,nao:Não, depois: Hora: outra",
        "--reply-to",
        quoted["content_payload"]["wamid"],
        env=env,
    )
    assert (code, err) == (0, "")
    [request] = emu.requests
    assert (request.method, request.path) == (
        "POST",
        f"/integrations/external/chats/{chat}/messages/interactive",
    )
    assert request.json == {
        "interactive_type": "button",
        "body": {"text": "Confirma a visita amanhã?"},
        "action": {
            "buttons": [
                {"id": "sim", "title": "Sim"},
                {"id": "nao", "title": "Não"},
                {"id": "depois", "title": "Hora: outra"},
            ]
        },
        "reference_wamid": quoted["content_payload"]["wamid"],
    }
    message = newest(emu, chat)
    assert_printed(out, message, "interactive")
    assert message["quoted_message"]["id"] == quoted["id"]


# --- list -----------------------------------------------------------------------------------


async def test_send_list_with_sections_rows_descriptions_and_a_reply(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    quoted = newest(emu, chat)
    code, out, err = await arun_cli(
        "send",
        chat,
        "--text",
        "Escolha um horário",
        "--list",
        "Ver horários",
        "--section",
        "Manhã=h9:9h,h10:10h:até 10h30: sem fila",
        "--section",
        "Tarde=h14:14h",
        "--reply-to",
        quoted["content_payload"]["wamid"],
        env=env,
    )
    assert (code, err) == (0, "")
    [request] = emu.requests
    assert request.path == f"/integrations/external/chats/{chat}/messages/interactive"
    assert request.json == {
        "interactive_type": "list",
        "body": {"text": "Escolha um horário"},
        "action": {
            "button": "Ver horários",
            "sections": [
                {
                    "title": "Manhã",
                    "rows": [
                        {"id": "h9", "title": "9h"},
                        {"id": "h10", "title": "10h", "description": "até 10h30: sem fila"},
                    ],
                },
                {"title": "Tarde", "rows": [{"id": "h14", "title": "14h"}]},
            ],
        },
        "reference_wamid": quoted["content_payload"]["wamid"],
    }
    message = newest(emu, chat)
    assert_printed(out, message, "interactive")
    assert message["quoted_message"]["id"] == quoted["id"]


# --- usage errors, before any request -------------------------------------------------------


def library_message(make: Any) -> str:
    """The message the library's own check raises for ``make()``."""
    with pytest.raises((ValueError, TypeError)) as caught:
        make()
    return str(caught.value)


LONG = "x" * 25
ROWS_11 = ",".join(f"r{n}:Linha {n}" for n in range(11))
SECTIONS_11 = [arg for n in range(11) for arg in ("--section", f"S{n}=r{n}:Linha {n}")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--location", "norte"), "--location must look like LAT,LON in degrees"),
        (("--location", "-23.5"), "--location must look like LAT,LON in degrees"),
        (("--location", "1,2,3"), "--location must look like LAT,LON in degrees"),
        (("--location", "91,0"), "--location: latitude must be from -90 to 90, got 91.0"),
        (("--location", "0,-180.5"), "--location: longitude must be from -180 to 180"),
        (("--location", "nan,0"), "--location: latitude must be from -90 to 90, got nan"),
        (("--location", "0,inf"), "--location: longitude must be from -180 to 180, got inf"),
        (
            ("--text", "oi", "--name", "Loja"),
            "--name does not apply to --text (it goes with --location)",
        ),
        (("--image", "a.png", "--address", "Rua"), "--address does not apply to --image"),
        (("--location", "0,0", "--caption", "c"), "--caption does not apply to --location"),
        (
            ("--location", "0,0", "--buttons", "a:A"),
            "--buttons does not apply to --location (it goes with --text)",
        ),
        (
            ("--template", "t", "--language", "pt_BR", "--list", "Ver"),
            "--list does not apply to --template (it goes with --text)",
        ),
        (
            ("--reaction", "👍", "--to", "W", "--buttons", "a:A"),
            "--buttons does not apply to --reaction",
        ),
        (
            ("--text", "oi", "--buttons", "a:A", "--list", "Ver"),
            "--buttons and --list do not go together",
        ),
        (("--text", "oi", "--section", "S=a:A"), "--section goes with --list LABEL"),
        (("--location", "0,0", "--section", "S=a:A"), "--section goes with --list LABEL"),
        (("--text", "oi", "--list", "Ver"), "--list needs at least one --section"),
        (("--text", "oi", "--buttons", "sim"), "--buttons must look like ID:TITLE,ID:TITLE"),
        (("--text", "oi", "--buttons", "a:A,"), "--buttons must look like ID:TITLE,ID:TITLE"),
        (
            ("--text", "oi", "--buttons", "a:A,b:B,c:C,d:D"),
            "--buttons: buttons must hold 1 to 3 Button, got 4",
        ),
        (
            ("--text", "oi", "--buttons", "a:A,a:B"),
            "--buttons: button ids must be unique, 'a' is repeated",
        ),
        (
            ("--text", "x" * 1025, "--buttons", "a:A"),
            "--buttons: text must be at most 1024 characters",
        ),
        (
            ("--text", "oi", "--list", "Ver", "--section", "Manhã"),
            "--section must look like TITLE=ID:TITLE",
        ),
        (
            ("--text", "oi", "--list", "Ver", "--section", "Manhã=h9"),
            "--section must look like TITLE=ID:TITLE",
        ),
        (
            ("--text", "oi", "--list", LONG, "--section", "S=a:A"),
            "--list: button must be at most 20 characters, got 25",
        ),
        (
            ("--text", "oi", "--list", "Ver", "--section", f"S={ROWS_11}"),
            "--list: a list holds at most 10 rows in all, got 11",
        ),
        (
            ("--text", "oi", "--list", "Ver", *SECTIONS_11),
            "--list: sections must hold 1 to 10 ListSection, got 11",
        ),
        (
            ("--text", "oi", "--list", "Ver", "--section", "S=a:A", "--section", "T=a:B"),
            "--list: row ids must be unique, 'a' is repeated",
        ),
    ],
)
def test_a_bad_choice_flag_is_refused_with_exit_2(args: tuple[str, ...], message: str) -> None:
    # No token and an unreachable URL: the refusal must come before either is needed.
    result = run_cli("send", CHAT, *args, env=OFFLINE)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "piece", "make"),
    [
        (("--buttons", f"a:{LONG}"), f"--buttons 'a:{LONG}'", lambda: wa.Button("a", LONG)),
        (("--buttons", "a:A, :B"), "--buttons ':B'", lambda: wa.Button("", "B")),
        (("--buttons", "a:"), "--buttons 'a:'", lambda: wa.Button("a", "")),
        (
            ("--list", "Ver", "--section", f"S=a:{LONG}"),
            f"--section 'a:{LONG}'",
            lambda: wa.ListRow("a", LONG),
        ),
        (
            ("--list", "Ver", "--section", f"S=a:A:{'d' * 73}"),
            f"--section 'a:A:{'d' * 73}'",
            lambda: wa.ListRow("a", "A", "d" * 73),
        ),
        (
            ("--list", "Ver", "--section", f"{LONG}=a:A"),
            f"--section '{LONG}'",
            lambda: wa.ListSection(LONG, [wa.ListRow("a", "A")]),
        ),
    ],
)
def test_a_title_or_id_past_whatsapps_limits_gets_the_models_own_message(
    args: tuple[str, ...], piece: str, make: Any
) -> None:
    result = run_cli("send", CHAT, "--text", "oi", *args, env=OFFLINE)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == f"wegly-async send: error: {piece}: {library_message(make)}"
    assert result.stdout == ""


async def test_a_bad_list_sends_nothing_even_with_a_token(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    before = len(emu.events(chat))
    code, out, err = await arun_cli(
        "send", chat, "--text", "oi", "--list", "Ver", "--section", f"S=a:{LONG}", env=env
    )
    assert (code, out) == (2, "")
    assert "ListRow.title must be at most 24 characters" in err
    assert emu.requests == []
    assert len(emu.events(chat)) == before


# --- parsing and help -----------------------------------------------------------------------


def test_negative_coordinates_are_values_not_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["send", CHAT, "--location", "-23.5,-46.6", "--reply-to", "-1"])
    assert (args.location, args.reply_to) == ("-23.5,-46.6", "-1")


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("--buttns", "--buttons"), ("--sectoin", "--section"), ("--adress", "--address")],
)
def test_a_mistyped_choice_flag_says_what_it_meant(typo: str, meant: str) -> None:
    result = run_cli("send", CHAT, "--text", "oi", typo, "x", env=OFFLINE)
    assert result.returncode == 2
    assert f"unrecognized option {typo}: did you mean {meant}?" in result.stderr


def test_send_help_documents_the_choice_flags_with_examples() -> None:
    result = run_cli("send", "--help")
    assert result.returncode == 0
    examples = result.stdout.partition("\nexamples:\n")[2]
    for flag in ("--location", "--name", "--address", "--buttons", "--list", "--section"):
        assert f" {flag} " in examples, flag
    assert "TITLE=ID:TITLE[:DESCRIPTION]" in examples
