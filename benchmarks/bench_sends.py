"""Send benchmark: 500 concurrent text sends, ours against raw aiohttp POSTs."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

import wegly_async as wa

from ._common import Row, best_of, emulator_process

CONCURRENT = 500


async def run(quick: bool) -> list[Row]:
    """Send the same burst both ways against one emulator process, taking turns."""
    async with (
        emulator_process(chats=1, events=0) as emu,
        aiohttp.ClientSession() as session,
        wa.WeglyClient(emu.token, base_url=emu.base_url) as client,
    ):
        chat = emu.chat_ids[0]
        url = f"{emu.base_url}/integrations/external/chats/{chat}/messages"
        headers = {"Authorization": f"Bearer {emu.token}", "Content-Type": "application/json"}
        body = orjson.dumps({"type": "text", "body": "Olá! 😊"})

        async def post() -> None:
            async with session.post(url, data=body, headers=headers) as resp:
                orjson.loads(await resp.read())
                assert resp.status == 201

        async def raw_burst() -> None:
            await asyncio.gather(*(post() for _ in range(CONCURRENT)))

        async def ours_burst() -> None:
            await asyncio.gather(
                *(client.chats.send_text(chat, "Olá! 😊") for _ in range(CONCURRENT))
            )

        best = await best_of(2 if quick else 11, {"raw": raw_burst, "ours": ours_burst})
    t_raw, t_ours = best["raw"], best["ours"]
    return [
        Row("sends", f"raw aiohttp POST x{CONCURRENT} concurrent", CONCURRENT / t_raw, "sends/s"),
        Row(
            "sends",
            f"send_text x{CONCURRENT} concurrent",
            CONCURRENT / t_ours,
            "sends/s",
            ratio=t_ours / t_raw,
            baseline="raw aiohttp time (overhead; target <= 1.3x)",
        ),
    ]
