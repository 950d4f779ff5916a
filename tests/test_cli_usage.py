"""The command line as a new user meets it: flags, typos, the token, help, fields and files."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import PNG, arun_cli, clean_env, run_cli

from wegly_async.cli._main import build_parser
from wegly_async.testing import WeglyEmulator

CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
SECRET = "s3cr3t-T0ken-Zq9"


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=10, seed=31)


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def wamid_of(emu: WeglyEmulator, chat_id: str) -> str:
    wamid: str = emu.events(chat_id)[-1]["message"]["content_payload"]["wamid"]
    return wamid


# --- send prints the new message's id and wamid ---------------------------------------------


async def test_send_prints_the_id_and_wamid_a_reply_needs(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("send", chat, "--text", "primeira", env=env)
    assert (code, err) == (0, "")
    match = re.fullmatch(r"sent text (\S+) wamid (\S+) \(status processing\)\n", out)
    assert match, out
    newest = emu.events(chat)[-1]["message"]
    assert match.groups() == (newest["id"], newest["content_payload"]["wamid"])
    # The printed wamid is what --reply-to takes.
    code, _, err = await arun_cli(
        "send", chat, "--text", "segunda", "--reply-to", match.group(2), env=env
    )
    assert code == 0, err
    quoted = emu.events(chat)[-1]["message"]["quoted_message"]
    assert quoted["id"] == newest["id"]


# --- flags that do not apply ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--text", "hi", "--caption", "x"),
            "--caption does not apply to --text (it goes with --image, --video, --audio, "
            "--document)",
        ),
        (("--text", "hi", "--to", "W"), "--to does not apply to --text (it goes with --reaction)"),
        (("--text", "hi", "--language", "pt_BR"), "--language does not apply to --text"),
        (("--text", "hi", "--field", "BODY:1=x"), "--field does not apply to --text"),
        (("--reaction", "👍", "--to", "W", "--reply-to", "W"), "--reply-to does not apply"),
        (("--template", "t", "--language", "pt_BR", "--caption", "c"), "--caption does not"),
        (("--template", "t", "--language", "pt_BR", "--reply-to", "W"), "--reply-to does not"),
        (("--image", "a.png", "--to", "W"), "--to does not apply to --image"),
    ],
)
def test_a_flag_that_does_not_apply_is_refused_with_exit_2(
    args: tuple[str, ...], message: str
) -> None:
    # No token and an unreachable URL: the refusal must come before either is needed.
    result = run_cli("send", CHAT, *args, env=clean_env(WEGLY_BASE_URL="https://wegly.invalid"))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


# --- a mistyped flag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "typo", "meant"),
    [
        (("send", CHAT, "--txt", "hi"), "--txt", "--text"),
        (("send", CHAT, "--text", "hi", "--reply_to", "W"), "--reply_to", "--reply-to"),
        (("send", CHAT, "--template", "t", "--langauge", "pt"), "--langauge", "--language"),
        (("send", CHAT, "--docment", "a.pdf"), "--docment", "--document"),
        (("timeline", CHAT, "--limt", "3"), "--limt", "--limit"),
        (("timeline", CHAT, "--oder", "desc"), "--oder", "--order"),
        (("export", CHAT, "--out", "x", "--formt", "csv"), "--formt", "--format"),
    ],
)
def test_a_mistyped_flag_says_what_it_probably_meant(
    args: tuple[str, ...], typo: str, meant: str
) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert f"error: unrecognized option {typo}: did you mean {meant}?" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_token_flag_never_echoes_the_token() -> None:
    for args in (("--tokne", SECRET), (f"--tokne={SECRET}",), (f"--tokenfile={SECRET}",)):
        result = run_cli("send", CHAT, "--text", "oi", *args)
        assert result.returncode == 2
        assert "did you mean --token" in result.stderr
        assert SECRET not in result.stderr + result.stdout


def test_an_unknown_flag_with_no_close_match_points_at_help() -> None:
    result = run_cli("timeline", CHAT, "--zzzzzz")
    assert result.returncode == 2
    assert "unrecognized option --zzzzzz (see wegly-async timeline --help)" in result.stderr


def test_values_that_look_like_options_are_left_to_argparse() -> None:
    parser = build_parser()
    args = parser.parse_args(["send", CHAT, "--text=-oi --x", "--reply-to", "-1"])
    assert (args.text, args.reply_to) == ("-oi --x", "-1")
    args = parser.parse_args(["send", CHAT, "--text", "olá -- --tudo bem"])
    assert args.text == "olá -- --tudo bem"
    args = parser.parse_args(["send", CHAT, "--tex", "abreviado"])
    assert args.text == "abreviado"


# --- the token ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("send", CHAT, "--text", "oi"), ("timeline", CHAT)])
def test_no_token_names_the_flag_and_the_variable(command: tuple[str, ...]) -> None:
    result = run_cli(*command)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "--token" in line
    assert "--token-file" in line
    assert "WEGLY_TOKEN" in line
    assert "token=" not in line


async def test_token_file_is_read_and_never_printed(
    emu: WeglyEmulator, chat: str, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {emu.token}\n")
    env = clean_env(WEGLY_BASE_URL=emu.base_url)
    code, out, err = await arun_cli(
        "timeline", chat, "--limit", "2", "--token-file", str(path), env=env
    )
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 2
    assert emu.token not in out
    assert emu.requests[-1].headers["Authorization"] == f"Bearer {emu.token}"


async def test_token_file_dash_reads_stdin(emu: WeglyEmulator, chat: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "wegly_async", "send", chat, "--text", "via stdin"),
        *("--token-file", "-"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(WEGLY_BASE_URL=emu.base_url),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(f"{emu.token}\n".encode()), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("sent text ")
    assert emu.events(chat)[-1]["message"]["body_text"] == "via stdin"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "it is empty"),
        (b"  \n", "it is empty"),
        (f"tok\u00e9n-{SECRET}".encode(), "printable ASCII"),
        (f"{SECRET} {SECRET}".encode(), "printable ASCII"),
        (b"x" * 9_000, "larger than 8192 bytes"),
    ],
)
def test_a_bad_token_file_is_a_usage_error_that_never_echoes_it(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    result = run_cli("timeline", CHAT, "--token-file", str(path))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert SECRET not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_token_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nao-existe"
    result = run_cli("timeline", CHAT, "--token-file", str(missing))
    assert result.returncode == 2
    assert f"--token-file {missing}: cannot read it (No such file or directory)" in result.stderr
    result = run_cli("timeline", CHAT, "--token-file", str(tmp_path))
    assert result.returncode == 2
    assert "cannot read it (Is a directory)" in result.stderr


def test_token_and_token_file_together_are_refused(tmp_path: Path) -> None:
    result = run_cli("timeline", CHAT, "--token", SECRET, "--token-file", str(tmp_path))
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
    assert SECRET not in result.stderr


# --- help -----------------------------------------------------------------------------------


def subparsers(
    parser: argparse.ArgumentParser | None = None, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Return every parser by its command words, nested ones (``webhook listen``) included."""
    parser = build_parser() if parser is None else parser
    found = {prefix: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(subparsers(child, f"{prefix} {name}".strip()))
    return found


def test_every_option_has_help_that_shows_its_default() -> None:
    for name, parser in subparsers().items():
        # One of a required choice (send's --text, --image, ...) has no default to show.
        chosen = [
            a for g in parser._mutually_exclusive_groups if g.required for a in g._group_actions
        ]
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings[0]}"
            if action.required or action in chosen:
                continue
            where = f"{name} {action.option_strings[0]}"
            assert action.help, where
            if action.default not in (None, False, [], argparse.SUPPRESS):
                assert "%(default)s" in action.help, where
            elif action.nargs != 0:
                assert "default" in action.help or "(required)" in action.help, where


def test_send_help_uses_the_right_article_and_says_where_the_token_is_safe() -> None:
    result = run_cli("send", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for phrase in ("send an image", "send a video", "send an audio", "send a document"):
        assert phrase in text
    assert not re.search(r"\ban (video|document)\b", text)
    assert "Set the token in WEGLY_TOKEN (the safe way)" in text
    assert "--token-file PATH" in text


@pytest.mark.parametrize(
    "command",
    [
        (),
        ("send",),
        ("timeline",),
        ("chat",),
        ("unread",),
        ("lead",),
        ("lead", "create"),
        ("deal",),
        ("deal", "get"),
    ],
)
def test_help_ends_with_examples(command: tuple[str, ...]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    examples = result.stdout.partition("\nexamples:\n")[2]
    lines = [line for line in examples.splitlines() if line.startswith("  wegly-async ")]
    assert len(lines) >= 3, result.stdout
    commands = {"demo", "timeline", "send", "export", "chat", "unread", "lead", "deal"}
    for line in lines:
        assert line.split()[1] in commands


# --- template fields ------------------------------------------------------------------------


async def test_the_long_field_form_sets_every_key(
    emu: WeglyEmulator, chat: str, env: dict[str, str]
) -> None:
    code, _, err = await arun_cli(
        "send",
        chat,
        "--template",
        "oferta",
        "--language",
        "pt_BR",
        "--field",
        "component=BUTTON,type=PAYLOAD,index=0,button_index=1,card_index=2,value=CUPOM, 10%",
        "--field",
        "component=BODY,value=Maria",
        "--field",
        "HEADER:1=Olá",
        env=env,
    )
    assert code == 0, err
    assert emu.requests[-1].json["template_fields"] == [
        {
            "component": "BUTTON",
            "type": "PAYLOAD",
            "index": 0,
            "button_index": 1,
            "card_index": 2,
            "value": "CUPOM, 10%",
        },
        {"component": "BODY", "type": "TEXT", "value": "Maria"},
        {"component": "HEADER", "type": "TEXT", "index": 1, "value": "Olá"},
    ]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("component=BODY,colour=red,value=x", "unknown key 'colour'"),
        ("component=BODY,index=1,index=2,value=x", "index is given twice"),
        ("component=BODY,index=um,value=x", "index must be a whole number >= 0, got 'um'"),
        ("component=BODY,button_index=-1,value=x", "button_index must be a whole number"),
        ("component=BODY,index=1", "needs component= and value="),
        ("type=TEXT,value=x", "needs component= and value="),
        ("component=,value=x", "TemplateField.component"),
        ("BODY=x", "COMPONENT:INDEX=VALUE"),
    ],
)
def test_a_bad_field_is_a_usage_error_before_any_request(spec: str, fragment: str) -> None:
    result = run_cli("send", CHAT, "--template", "t", "--language", "pt_BR", "--field", spec)
    assert result.returncode == 2
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- uploads --------------------------------------------------------------------------------


@pytest.fixture
def unreadable(tmp_path: Path) -> Path:
    """A file this user cannot read: root may read any file, but not a write-only setting."""
    if os.geteuid() == 0:
        path = Path("/proc/sys/vm/compact_memory")
        if not path.exists():
            pytest.skip("no file here that root cannot read")
        return path
    path = tmp_path / "secreto.png"
    path.write_bytes(PNG)
    path.chmod(0)
    return path


async def test_an_unreadable_upload_is_a_clear_usage_error(
    emu: WeglyEmulator, chat: str, env: dict[str, str], unreadable: Path
) -> None:
    code, out, err = await arun_cli("send", chat, "--image", str(unreadable), env=env)
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        f"wegly-async send: error: --image {unreadable}: cannot read it (Permission denied)"
    )
    assert "Traceback" not in err
    assert emu.requests == []


async def test_a_directory_upload_is_a_clear_usage_error(
    emu: WeglyEmulator, chat: str, env: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = await arun_cli("send", chat, "--video", str(tmp_path), env=env)
    assert (code, out) == (2, "")
    assert f"--video {tmp_path}: cannot read it (Is a directory)" in err
    assert emu.requests == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--token", SECRET, "timeline", CHAT), "unrecognized option --token before the command"),
        (("timeline", CHAT, "--token=", SECRET), "1 unexpected argument(s), not shown"),
        (("send", CHAT, "--text", "oi", SECRET), "1 unexpected argument(s), not shown"),
    ],
)
def test_a_misplaced_token_is_never_echoed(args: tuple[str, ...], fragment: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert SECRET not in result.stderr + result.stdout
