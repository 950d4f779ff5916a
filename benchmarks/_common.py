"""Shared benchmark plumbing: machine description, timing, an emulator in a subprocess, rows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
import attrs

import wegly_async

STARTUP_TIMEOUT = 180.0  # seeding 200,000 events takes a few seconds; never wait forever


@attrs.frozen
class Row:
    """One measured figure, with its ratio against a baseline measured in the same run."""

    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    baseline: str = ""
    note: str = ""


def machine() -> str:
    """Return a one-line description of this machine and the versions measured."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        match = re.search(r"model name\s*:\s*(.+)", handle.read())
        if match:
            cpu = match.group(1).strip()
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, cattrs {version('cattrs')}, attrs {version('attrs')}, "
        f"wegly-async {wegly_async.__version__}; {datetime.now(UTC):%Y-%m-%d}"
    )


async def best_of(
    rounds: int, runs: Mapping[str, Callable[[], Awaitable[object]]]
) -> dict[str, float]:
    """Return each async callable's fastest wall time, running them in turn for ``rounds`` rounds.

    Taking turns puts every contender under the same passing load (this machine is shared),
    so a ratio compares like with like; the minimum is the run least disturbed.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            await run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def best_of_sync(
    rounds: int, number: int, runs: Mapping[str, Callable[[], object]]
) -> dict[str, float]:
    """Return each callable's fastest time per call, over ``rounds`` turns of ``number`` calls."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            for _ in range(number):
                run()
            best[name] = min(best[name], (time.perf_counter() - started) / number)
    return best


@attrs.frozen
class EmulatorInfo:
    """Where a running emulator subprocess listens, and its seeded chats."""

    base_url: str
    token: str
    chat_ids: list[str]


@contextlib.asynccontextmanager
async def emulator_process(
    *, chats: int, events: int, latency: float = 0.0
) -> AsyncIterator[EmulatorInfo]:
    """Run ``wegly-async emulator`` in its own process, so the server does not share our loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wegly_async",
        "emulator",
        "--port",
        "0",
        "--chats",
        str(chats),
        "--events",
        str(events),
        "--latency",
        str(latency),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    base_url = token = ""
    chat_ids: list[str] = []
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not (line := (await proc.stdout.readline()).decode()).startswith("Ctrl-C"):
                if not line:
                    raise RuntimeError("the emulator process ended before it was ready")
                if line.startswith("export WEGLY_BASE_URL="):
                    base_url = line.split("=", 1)[1].strip()
                elif line.startswith("export WEGLY_TOKEN="):
                    token = line.split("=", 1)[1].strip()
                elif line.startswith("chat "):
                    chat_ids.append(line.split()[1])
        yield EmulatorInfo(base_url, token, chat_ids)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def format_table(rows: list[Row]) -> str:
    """Return the rows as one Markdown table."""
    lines = [
        "| section | measurement | value | ratio | against |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        whole = float(row.value).is_integer() or row.value >= 100
        value = f"{row.value:,.0f} {row.unit}" if whole else f"{row.value:,.2f} {row.unit}"

        note = f" ({row.note})" if row.note else ""
        lines.append(f"| {row.section} | {row.name}{note} | {value} | {ratio} | {row.baseline} |")
    return "\n".join(lines)


_COLLECTED = re.compile(rb"Collected : (\d+)")


async def under_callgrind(
    module: str, *args: str, env: Mapping[str, str], stdin: bool = False
) -> asyncio.subprocess.Process:
    """Start ``python -m module *args`` under callgrind, with a fixed hash seed."""
    # A fixed hash seed: the same dict and set layouts in every run, so fewer stray counts.
    return await asyncio.create_subprocess_exec(
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        module,
        *args,
        env={**env, "PYTHONHASHSEED": "0"},
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def instructions(proc: asyncio.subprocess.Process, err: bytes, what: str) -> int:
    """Return the instructions callgrind counted for a finished run, or raise if it failed."""
    match = _COLLECTED.search(err)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"callgrind run {what!r} failed:\n{err.decode(errors='replace')}")
    return int(match.group(1))
