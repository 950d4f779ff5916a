"""The export's progress display: chats done out of all chats, and an events total only once
it is known for every chat, in plain lines and in rich bars alike.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from wegly_async import ExportLockedError
from wegly_async.cli._progress import PlainProgress, RichProgress, make_progress
from wegly_async.export import ChatExport

A, B, C = (
    "aaaaaaaa-0000-4000-8000-000000000001",
    "bbbbbbbb-0000-4000-8000-000000000002",
    ("cccccccc-0000-4000-8000-000000000003"),
)
RATE = r"[\d,]+ events/s"


def ok(chat_id: str, events: int) -> ChatExport:
    return ChatExport(chat_id, Path(f"out/{chat_id}.jsonl"), events, events)


def failed(chat_id: str, events: int = 0) -> ChatExport:
    error = ExportLockedError("another export is writing it")
    return ChatExport(chat_id, Path(f"out/{chat_id}.jsonl"), 0, events, error)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_plain_lines_show_an_events_total_only_once_every_chat_is_known() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, chats=3, every=0)
    progress.chat_started(A, events=0, total=100)
    progress.chat_advanced(A, written=50, events=50, total=100)
    progress.chat_started(B, events=30, total=40)  # resumed: 30 already in its file
    progress.chat_advanced(B, written=10, events=40, total=40)
    progress.chat_finished(ok(B, 40))
    # The third chat never answers: its total is only known once it finished.
    progress.chat_finished(failed(C))
    progress.chat_advanced(A, written=50, events=100, total=100)
    progress.chat_finished(ok(A, 100))
    out = lines(stream)
    assert len(out) == 6
    assert re.fullmatch(rf"progress: 0/3 chats done, 50 events, {RATE}", out[0])
    assert re.fullmatch(rf"progress: 0/3 chats done, 90 events, {RATE}", out[1])
    assert out[2] == f"chat {B}: ok, 40 events in out/{B}.jsonl (1/3 chats done)"
    assert out[3] == f"chat {C}: FAILED, nothing written (2/3 chats done)"
    assert re.fullmatch(rf"progress: 2/3 chats done, 140/140 events, {RATE}", out[4])
    assert out[5] == f"chat {A}: ok, 100 events in out/{A}.jsonl (3/3 chats done)"


def test_plain_lines_name_the_file_of_a_chat_that_failed_after_writing() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, chats=1, every=3600)
    progress.chat_finished(failed(A, events=70))
    assert lines(stream) == [
        f"chat {A}: FAILED, 70 events in out/{A}.jsonl so far (1/1 chats done)"
    ]


def test_plain_lines_hint_at_bars_only_when_asked() -> None:
    quiet, hinted = io.StringIO(), io.StringIO()
    PlainProgress(quiet, chats=1)
    PlainProgress(hinted, chats=1, hint=True)
    assert lines(quiet) == []
    assert lines(hinted) == [
        "progress: plain lines (pip install 'wegly-async[cli]' draws bars on a terminal)"
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_bars_keep_the_overall_total_open_until_every_chat_is_known() -> None:
    pytest.importorskip("rich")  # the aiohttp 3.13 session runs without the cli extra
    progress = make_progress(True, Terminal(), chats=2)
    assert isinstance(progress, RichProgress)
    try:
        tasks = progress._progress.tasks
        overall = tasks[0]
        progress.chat_started(A, events=0, total=100)
        progress.chat_advanced(A, written=60, events=60, total=100)
        assert (overall.completed, overall.total) == (60, None)
        assert overall.description == "all chats (0/2 chats done)"
        progress.chat_started(B, events=5, total=20)
        assert (overall.completed, overall.total) == (65, 120)
        progress.chat_finished(ok(B, 20))
        assert (overall.completed, overall.total) == (80, 120)
        assert overall.description == "all chats (1/2 chats done)"
    finally:
        progress.close()


def test_without_a_terminal_the_reporter_is_plain_lines() -> None:
    assert isinstance(make_progress(True, io.StringIO(), chats=1), PlainProgress)
    assert make_progress(False, io.StringIO(), chats=1) is None
