"""``examples/export_to_parquet.py`` run as a user runs it, against the emulator."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

from test_export_parquet import assert_parquet_exact
from test_export_resume import cli_env, run_cli

from wegly_async.testing import WeglyEmulator

EXAMPLE = Path(__file__).parent.parent / "examples" / "export_to_parquet.py"


async def test_the_example_exports_resumes_and_summarizes(tmp_path: Path) -> None:
    async with WeglyEmulator() as emu:
        chats = [emu.create_chat(events=700, seed=601), emu.create_chat(events=40, seed=602)]
        out = tmp_path / "exports"
        args = [sys.executable, str(EXAMPLE), "--out", str(out), *chats]
        run = await run_cli(args, cli_env(emu), tmp_path)
        assert run.returncode == 0, run
        for chat_id in chats:
            assert_parquet_exact(out, chat_id, emu.events(chat_id))
        kinds = collections.Counter(e["event_type"] for c in chats for e in emu.events(c))
        summary = ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items()))
        assert run.stdout.splitlines()[-1] == f"740 events in 2 chats ({summary})"
        assert emu.token not in run.stdout + run.stderr

        emu.add_message(chats[1], "e mais esta", from_me=True)
        again = await run_cli(args, cli_env(emu), tmp_path)
        assert again.returncode == 0, again
        assert again.stdout.splitlines()[0].startswith("new events: 1 in ")
        assert_parquet_exact(out, chats[1], emu.events(chats[1]))
