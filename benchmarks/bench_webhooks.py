"""Webhook benchmark: verify + parse + dispatch through the router vs a bare orjson handler.

Both servers run in one child process (``_webhook_child``); this process is the load
generator, posting the same signed ``chat.message_received`` bodies to each in turn, round
after round. Every body is new (a dedupe store would acknowledge a repeat without work).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator

import orjson

from ._common import STARTUP_TIMEOUT, Row
from ._webhook_child import SECRET_ENV

CONCURRENCY = 32
CHAT_ID = "2b1f8c4e-6d1a-4d8e-9a57-3f0c1e7b9d21"


def signed_bodies(secret: bytes, round_number: int, count: int) -> list[tuple[bytes, str]]:
    """Return ``count`` distinct signed bodies, shaped like the emulator's deliveries."""
    bodies = []
    for number in range(count):
        message = {
            "id": f"6f1c2a7e-3b4d-4c5e-8f90-{round_number:04d}{number:08d}",
            "type": "text",
            "origin": "INBOUND",
            "from_me": False,
            "sent_via": "CONTACT",
            "status": "read",
            "body_text": f"Olá, quero um orçamento para o pedido {number} 😊",
            "content_payload": {"wamid": f"wamid.HBgM{round_number:04d}{number:08d}"},
            "reactions": [],
            "meta_timestamp": "2026-11-30T12:00:00.000Z",
            "created_at": "2026-11-30T12:00:00.000Z",
            "is_history": False,
            "agent": None,
            "user": None,
            "media": None,
            "quoted_message": None,
            "crm_marketing_lead_source": [],
        }
        envelope = {
            "event_key": "chat.message_received",
            "payload": {"chat_id": CHAT_ID, "message": message},
        }
        body = orjson.dumps(envelope)
        bodies.append((body, hmac.new(secret, body, hashlib.sha256).hexdigest()))
    return bodies


@contextlib.asynccontextmanager
async def _servers(secret: str) -> AsyncIterator[tuple[dict[str, int], int]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks._webhook_child",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, SECRET_ENV: secret},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), STARTUP_TIMEOUT)
        ports = json.loads(line)
        yield {name: int(port) for name, port in ports.items()}, proc.pid
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def raw_request(port: int, body: bytes, signature: str) -> bytes:
    """Return one keep-alive POST of ``body`` as raw HTTP/1.1 bytes."""
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"User-Agent: wegly-webhooks/1.0\r\nX-Wegly-Event: chat.message_received\r\n"
        f"X-Wegly-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def post_all(port: int, requests: list[bytes]) -> tuple[float, list[float]]:
    """Send every request over ``CONCURRENCY`` keep-alive connections; return time, latencies.

    A minimal HTTP/1.1 client on asyncio streams, much cheaper per request than a full
    client, so that the servers (not the load generator) are what the figures measure.
    """
    latencies: list[float] = []
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in pending:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                answer = await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200") or b'"duplicate":true' in answer:
                    raise RuntimeError(f"answered {head[:40]!r}: {answer[:200]!r}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process ``pid`` has used so far (Linux)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


async def run(quick: bool) -> list[Row]:
    """Alternate the two servers round after round; report events/s and p50/p99 latency."""
    secret = secrets.token_urlsafe(24)
    rounds, count = (2, 300) if quick else (9, 3_000)
    # Each round's two times: the best of each, and the ratio of each pair (run within the
    # same second or so).
    times: dict[str, list[float]] = {"router": [], "bare": []}
    latencies: dict[str, list[float]] = {"router": [], "bare": []}
    cpu: dict[str, float] = {"router": 0.0, "bare": 0.0}
    async with _servers(secret) as (ports, pid):
        warm_up = signed_bodies(secret.encode(), 0, CONCURRENCY)
        for port in ports.values():
            await post_all(port, [raw_request(port, *pair) for pair in warm_up])
        for round_number in range(1, rounds + 1):
            bodies = signed_bodies(secret.encode(), round_number, count)
            order = ("router", "bare") if round_number % 2 else ("bare", "router")
            for name in order:
                port = ports[name]
                requests = [raw_request(port, *b) for b in bodies]
                used = _cpu_seconds(pid)
                seconds, measured = await post_all(port, requests)
                cpu[name] += _cpu_seconds(pid) - used
                times[name].append(seconds)
                latencies[name] += measured
    rate = {name: count / min(seconds) for name, seconds in times.items()}
    rows = [
        Row(
            "webhooks",
            f"bare aiohttp + orjson.loads, {CONCURRENCY} in flight",
            rate["bare"],
            "events/s",
        ),
        Row(
            "webhooks",
            f"router.aiohttp_app(): verify + parse + dispatch, {CONCURRENCY} in flight",
            rate["router"],
            "events/s",
            ratio=rate["router"] / rate["bare"],
            baseline="bare events/s (target >= 0.8x)",
        ),
    ]
    paired = [bare / router for bare, router in zip(times["bare"], times["router"], strict=True)]
    rows.append(
        Row(
            "webhooks",
            f"router / bare events/s, median of the {rounds} paired rounds",
            statistics.median(paired),
            "x",
            note=f"rounds ranged {min(paired):.2f}-{max(paired):.2f}x",
        )
    )
    per_event = {name: used / (rounds * count) * 1e6 for name, used in cpu.items()}
    rows.append(Row("webhooks", "bare server CPU per event", per_event["bare"], "µs"))
    rows.append(
        Row(
            "webhooks",
            "router server CPU per event",
            per_event["router"],
            "µs",
            ratio=per_event["router"] / per_event["bare"],
            baseline="bare CPU per event (less load-sensitive than events/s)",
        )
    )
    for name in ("bare", "router"):
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            value = _percentile(latencies[name], fraction) * 1000
            rows.append(Row("webhooks", f"{name} latency {label}", value, "ms"))
    return rows
