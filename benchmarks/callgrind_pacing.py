"""Count the instructions pacing adds per request: ``python -m benchmarks.callgrind_pacing``.

Wall-clock ratios on a shared machine move by a third from run to run; instruction counts
do not. The emulator runs in its own plain process; each client run is a separate Python
under ``valgrind --tool=callgrind``, paging one chat with ``pacing`` on, then off, then
doing everything but the requests (imports, loop, client), which is subtracted from both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys

import wegly_async as wa

from ._common import emulator_process, instructions, under_callgrind

EVENTS = 2_000
TAKE = 10  # small pages: more requests for the same decoding, the controller's share largest


class _Counting:
    """Delegate each attempt to the aiohttp transport, counting them."""

    def __init__(self) -> None:
        self._inner = wa.AiohttpTransport()
        self.sent = 0

    async def send(self, request: wa.TransportRequest) -> wa.TransportResponse:
        self.sent += 1
        return await self._inner.send(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _child(mode: str, chat: str) -> None:
    """Page the chat once (``on``/``off``), or only set up the client (``base``)."""
    transport = _Counting()
    # The token and base URL come from WEGLY_TOKEN and WEGLY_BASE_URL, not the command line.
    async with wa.WeglyClient(transport=transport, pacing=mode != "off") as client:
        if mode != "base":
            async for _ in client.chats.timeline(chat, take=TAKE).raw():
                pass
    print(transport.sent)


async def _count(mode: str, base_url: str, token: str, chat: str) -> tuple[int, int]:
    """Return the instructions one child ran, and the requests it sent."""
    env = {**os.environ, "WEGLY_TOKEN": token, "WEGLY_BASE_URL": base_url}
    proc = await under_callgrind("benchmarks.callgrind_pacing", "--child", mode, chat, env=env)
    out, err = await proc.communicate()
    return instructions(proc, err, mode), int(out)


async def _measure() -> None:
    async with emulator_process(chats=1, events=EVENTS) as emu:
        chat = emu.chat_ids[0]
        runs = {mode: await _count(mode, emu.base_url, emu.token, chat) for mode in MODES}
    (base, _), (on, requests), (off, requests_off) = (runs[mode] for mode in MODES)
    if requests != requests_off:
        raise RuntimeError(f"pacing on sent {requests} requests, off {requests_off}")
    on, off = on - base, off - base
    print(f"{requests} requests ({EVENTS:,} events, take {TAKE}); instructions beyond the base:")
    print(f"  pacing on:  {on:>14,} ({on / requests:,.0f} per request)")
    print(f"  pacing off: {off:>14,} ({off / requests:,.0f} per request)")
    print(f"  on / off:   {on / off:.4f} ({(on - off) / requests:+,.0f} per request)")


MODES = ("base", "on", "off")


def main() -> int:
    """Run the three counts and print them, or be one of the counted children."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callgrind_pacing")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CHAT"))
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_child(*args.child))
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed")
    asyncio.run(_measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
