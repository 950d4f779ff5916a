"""The queue's engine-free rules: URLs, the job's settings and key, the status line, the extra."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wegly_async.queue as wq
from wegly_async._config import redact_url
from wegly_async._constants import (
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PARQUET_PART_ROWS,
)
from wegly_async._queue_jobs import ChatJobStatus, ExportJob, check_queue_url

CHAT = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OTHER_CHAT = "9b2f0a0e-7c39-4a8e-9a57-1b0cf0b7d5a1"


def test_all_lists_the_public_api_and_nothing_missing() -> None:
    assert len(set(wq.__all__)) == len(wq.__all__)
    missing = [name for name in wq.__all__ if not hasattr(wq, name)]
    assert missing == []
    # Every coroutine defined here is public, and listed.
    defined = {
        name
        for name, obj in vars(wq).items()
        if inspect.iscoroutinefunction(obj) and obj.__module__ == wq.__name__
    }
    assert defined == {"enqueue_exports", "export_status", "run_worker"}
    assert defined <= set(wq.__all__)
    assert {"ChatJobStatus", "EnqueuedExport", "QueueConnectionError"} <= set(wq.__all__)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1:6379",
        "rediss://cache.internal:6380/15",
        "redis://:secret@127.0.0.1:6379/2",
        "redis://[::1]:6379/0",
    ],
)
def test_redis_urls_are_accepted(url: str) -> None:
    assert check_queue_url(url) == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:6379/0", "redis:// or rediss://"),
        ("unix:///run/redis.sock", "redis:// or rediss://"),
        ("127.0.0.1:6379", "redis:// or rediss://"),
        ("", "redis:// or rediss://"),
        ("redis://", "needs a host"),
        ("redis://127.0.0.1:99999/0", "valid port"),
        ("redis://127.0.0.1:port/0", "valid port"),
        ("redis://127.0.0.1:6379/zero", "database number"),
        ("redis://127.0.0.1:6379/0/1", "database number"),
        ("redis://127.0.0.1:6379/0?ssl=true", "database number"),
    ],
)
def test_other_urls_are_refused_with_an_example(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        check_queue_url(url)
    assert "redis://127.0.0.1:6379/0" in str(caught.value)


def test_a_url_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        check_queue_url(b"redis://127.0.0.1:6379/0")


def test_a_url_is_shown_without_its_password() -> None:
    shown = redact_url("redis://user:hunter2@10.0.0.5:6379/3")
    assert shown == "redis://10.0.0.5:6379/3"
    assert redact_url("rediss://[::1]:6380/0") == "rediss://[::1]:6380/0"


def test_the_key_is_the_chat_the_resolved_out_the_format_and_the_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ExportJob.make(CHAT, "exports")
    assert base.out == str(tmp_path / "exports")  # resolved where it was enqueued
    assert ExportJob.make(CHAT, tmp_path / "exports").key == base.key
    assert ExportJob.make(CHAT, "./exports/../exports", take=10).key == base.key
    others = {
        ExportJob.make(OTHER_CHAT, "exports").key,
        ExportJob.make(CHAT, "elsewhere").key,
        ExportJob.make(CHAT, "exports", format="csv").key,
        ExportJob.make(CHAT, "exports", order="desc").key,
    }
    assert base.key not in others
    assert len(others) == 4
    assert base.key.startswith(f"export:{CHAT}:jsonl:asc:")


def test_a_job_holds_the_settings_and_nothing_else(tmp_path: Path) -> None:
    job = ExportJob.make(CHAT.upper(), tmp_path, format="csv", order="DESC", csv_bom=True)
    assert job.to_kwargs() == {
        "chat_id": CHAT,
        "out": str(tmp_path.resolve()),
        "format": "csv",
        "order": "desc",
        "take": DEFAULT_PAGE_SIZE,
        "concurrency": DEFAULT_EXPORT_CONCURRENCY,
        "fsync": False,
        "csv_formulas": "neutralize",
        "csv_bom": True,
        "parquet_part_rows": DEFAULT_PARQUET_PART_ROWS,
    }
    assert ExportJob.from_kwargs(job.to_kwargs()) == job
    parquet = ExportJob.make(CHAT, tmp_path, format="parquet", parquet_part_rows=500)
    assert (parquet.format, parquet.parquet_part_rows) == ("parquet", 500)
    assert ExportJob.from_kwargs(parquet.to_kwargs()) == parquet


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"chat_id": "../../etc"}, ValueError),
        ({"out": "relative/dir"}, ValueError),
        ({"format": "xlsx"}, ValueError),
        ({"order": "sideways"}, ValueError),
        ({"take": 0}, ValueError),
        ({"take": "50"}, TypeError),
        ({"fsync": 1}, TypeError),
        ({"csv_formulas": "run"}, ValueError),
        ({"parquet_part_rows": 0}, ValueError),
        ({"parquet_part_rows": 1.5}, TypeError),
        ({"token": "x"}, ValueError),  # an unknown field: a job holds settings only
    ],
)
def test_a_queue_entry_that_is_not_such_a_job_is_refused(
    tmp_path: Path, change: dict[str, object], error: type[Exception]
) -> None:
    kwargs = {**ExportJob.make(CHAT, tmp_path).to_kwargs(), **change}
    with pytest.raises(error):
        ExportJob.from_kwargs(kwargs)


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        ExportJob.make(CHAT, tmp_path / "file")


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (ChatJobStatus(CHAT, "queued", "/x", "jsonl"), f"{CHAT} queued format=jsonl out=/x"),
        (
            ChatJobStatus(
                CHAT, "running", "/x", "csv", events=450, total=1500, attempts=2, worker="h:7:ab"
            ),
            f"{CHAT} running events=450/1500 attempts=2 worker=h:7:ab format=csv out=/x",
        ),
        (
            ChatJobStatus(CHAT, "done", "/x", "jsonl", events=1500, total=1500),
            f"{CHAT} done events=1500 format=jsonl out=/x",
        ),
        (
            ChatJobStatus(CHAT, "failed", "/x", "jsonl", error="NotFoundError: 404 GET /t"),
            f"{CHAT} failed events=0 format=jsonl out=/x error: NotFoundError: 404 GET /t",
        ),
    ],
)
def test_a_status_is_one_line_starting_with_the_chat_and_its_state(
    status: ChatJobStatus, line: str
) -> None:
    assert status.line() == line


def test_a_running_status_names_its_worker_process() -> None:
    status = ChatJobStatus(CHAT, "running", "/x", "jsonl", worker="db-2.internal:4242:9f0c1d2e")
    assert status.worker_pid == 4242
    assert ChatJobStatus(CHAT, "queued", "/x", "jsonl").worker_pid is None


async def test_bad_input_is_refused_before_any_connection(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens, so a connection would fail differently.
    with pytest.raises(ValueError, match="redis://"):
        await wq.enqueue_exports("http://127.0.0.1:9/0", [CHAT], tmp_path)
    with pytest.raises(TypeError, match="single string"):
        await wq.enqueue_exports("redis://127.0.0.1:9/0", CHAT, tmp_path)
    with pytest.raises(ValueError, match="UUID"):
        await wq.enqueue_exports("redis://127.0.0.1:9/0", ["nope"], tmp_path)
    with pytest.raises(ValueError, match="heartbeat"):
        await wq.enqueue_exports("redis://127.0.0.1:9/0", [CHAT], tmp_path, heartbeat=0)
    with pytest.raises(ValueError, match="redis://"):
        await wq.export_status("127.0.0.1:6379")


def test_without_the_extra_a_queue_function_names_it(tmp_path: Path) -> None:
    # The engine hidden from a fresh interpreter, as on a machine without the extra.
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.modules["saq"] = None
        import wegly_async.queue as wq
        try:
            asyncio.run(wq.export_status("redis://127.0.0.1:9/0"))
        except ImportError as exc:
            print(exc)
        from wegly_async.cli import main
        sys.exit(main(["export", "{CHAT}", "--out", r"{tmp_path}", "--queue",
                       "redis://127.0.0.1:9/0"]))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "pip install 'wegly-async[queue]'" in run.stdout
    assert run.returncode == 2, run.stderr
    assert "wegly-async[queue]" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_sdk_and_the_cli_never_import_the_engine_unless_a_queue_command_runs(
    tmp_path: Path,
) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import wegly_async, wegly_async.export, wegly_async.queue, wegly_async.cli
        from wegly_async.cli import main
        main(["export", "{CHAT}", "--out", r"{tmp_path}", "--token", "t",
              "--base-url", "http://127.0.0.1:9", "--no-progress"])
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("saq", "redis")))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout + run.stderr


def test_without_the_extra_a_worker_is_a_usage_error_naming_it() -> None:
    # Without redis (the extra's client), the worker's shared budget cannot be made.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["saq"] = None
        sys.modules["redis"] = None
        sys.modules["redis.asyncio"] = None
        from wegly_async.cli import main
        sys.exit(main(["worker", "--queue", "redis://127.0.0.1:9/0", "--token", "t",
                       "--base-url", "http://127.0.0.1:9"]))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 2, run.stderr
    assert "wegly-async[queue]" in run.stderr
    assert "Traceback" not in run.stderr
