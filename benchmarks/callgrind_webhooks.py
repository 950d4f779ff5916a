"""Count a webhook server's instructions per delivery: ``python -m benchmarks.callgrind_webhooks``.

Wall-clock ratios on a shared machine move by a third from run to run; instruction counts
do not. Each contender of the webhooks section (the router's app, the bare orjson floor)
is served alone by a Python under ``valgrind --tool=callgrind``; this process posts it the
benchmark's signed bodies over loopback, a warm-up only, then the warm-up and ``--count``
more. The difference of the two counts, divided by ``--count``, is the server's cost of one
delivery, with start-up, imports and warm-up taken out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys

from . import bench_webhooks
from ._common import STARTUP_TIMEOUT, instructions, under_callgrind
from ._webhook_child import SECRET_ENV, bare_app, router_app, serve

CONTENDERS = ("bare", "router")
WARM_UP = 200


async def _serve(contender: str) -> None:
    """Serve one contender on 127.0.0.1, print its port, serve until stdin closes."""
    secret = os.environ[SECRET_ENV]
    await serve({contender: router_app(secret) if contender == "router" else bare_app()})


async def _count(contender: str, secret: str, count: int) -> int:
    """Return the instructions a served contender ran for the warm-up and ``count`` more."""
    env = {**os.environ, SECRET_ENV: secret}
    proc = await under_callgrind(
        "benchmarks.callgrind_webhooks", "--child", contender, env=env, stdin=True
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), STARTUP_TIMEOUT)
        port = int(json.loads(line)[contender])
        key = secret.encode()
        for number, size in enumerate((WARM_UP, count)):
            if size:
                bodies = bench_webhooks.signed_bodies(key, number, size)
                requests = [bench_webhooks.raw_request(port, *pair) for pair in bodies]
                await bench_webhooks.post_all(port, requests)
    finally:
        proc.stdin.close()
    err = await proc.stderr.read()
    await proc.wait()
    return instructions(proc, err, contender)


async def _measure(count: int, contenders: list[str]) -> None:
    secret = secrets.token_urlsafe(24)
    per_request: dict[str, float] = {}
    for contender in contenders:
        base = await _count(contender, secret, 0)
        full = await _count(contender, secret, count)
        per_request[contender] = (full - base) / count
    print(f"instructions per delivery ({count:,} deliveries, {WARM_UP} warm-up subtracted):")
    for contender in contenders:
        print(f"  {contender:<7} {per_request[contender]:>12,.0f}")
    if len(per_request) == len(CONTENDERS):
        print(f"  router / bare: {per_request['router'] / per_request['bare']:.3f}")


def main() -> int:
    """Count both contenders and print the figures, or be one of the counted servers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callgrind_webhooks")
    parser.add_argument("--count", type=int, default=2_000, help="deliveries counted")
    parser.add_argument(
        "--only", choices=CONTENDERS, action="append", help="count this contender only"
    )
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_serve(args.child))
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed")
    asyncio.run(_measure(args.count, args.only or list(CONTENDERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
