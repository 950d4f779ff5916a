"""``examples/send_media.py`` run as a user runs it, against the emulator."""

from __future__ import annotations

import sys
from pathlib import Path

from test_export_resume import cli_env, run_cli

from wegly_async.testing import WeglyEmulator

EXAMPLE = Path(__file__).parent.parent / "examples" / "send_media.py"


async def test_each_file_goes_as_its_kind_with_its_bytes(tmp_path: Path) -> None:
    files = {
        "foto.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40,
        "video.mp4": b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000,
        "audio.ogg": b"OggS" + b"a" * 3000,
        "pedido.pdf": b"%PDF-1.7\n" + b"p" * 2000,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    async with WeglyEmulator() as emu:
        chat_id = emu.create_chat()
        args = [sys.executable, str(EXAMPLE), chat_id, *files, "--caption", "Seu pedido"]
        run = await run_cli(args, cli_env(emu), tmp_path)
        assert run.returncode == 0, run
        sent = [r for r in emu.requests if r.method == "POST"]
        assert [(r.parts["type"].text, r.parts["file"].filename) for r in sent] == [
            ("image", "foto.png"),
            ("video", "video.mp4"),
            ("audio", "audio.ogg"),
            ("document", "pedido.pdf"),
        ]
        assert [r.parts["file"].data for r in sent] == list(files.values())
        assert {r.parts["body"].text for r in sent} == {"Seu pedido"}  # the caption's field
        lines = run.stdout.splitlines()
        assert [line.split(":", 1)[0] for line in lines] == list(files)
        assert all(" sent as " in line and "wamid" in line for line in lines), lines
        assert emu.token not in run.stdout + run.stderr


async def test_a_missing_file_is_reported_and_the_others_still_go(tmp_path: Path) -> None:
    (tmp_path / "ok.pdf").write_bytes(b"%PDF-1.7\n")
    async with WeglyEmulator() as emu:
        chat_id = emu.create_chat()
        args = [sys.executable, str(EXAMPLE), chat_id, "missing.png", "ok.pdf"]
        run = await run_cli(args, cli_env(emu), tmp_path)
        assert run.returncode == 1, run
        assert run.stdout.splitlines()[0].startswith("missing.png: image not sent: ")
        assert run.stdout.splitlines()[1].startswith("ok.pdf: sent as document, wamid ")
        assert [r.parts["file"].filename for r in emu.requests if r.method == "POST"] == ["ok.pdf"]
