"""``wegly-async demo``: a webhook bot loop and a full export against the emulator, offline."""

from __future__ import annotations

import argparse
import secrets
import struct
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._client import WeglyClient
from .._constants import EMULATOR_HOST
from .._enums import Order
from .._validation import check_int
from ..export import export_timelines
from ..types.chats import Message, TemplateField
from ..types.webhooks import WebhookEvent
from ..webhooks import WebhookRouter
from ._exits import EXIT_FAILED, EXIT_OK, UsageError, describe_error, usage_errors
from ._progress import progress_reporter
from ._render import wamid_of

if TYPE_CHECKING:
    from ..testing import WeglyEmulator

__all__ = ["run_demo"]


async def run_demo(args: argparse.Namespace) -> int:
    """Seed the emulator, run a webhook bot on a contact's message, then export every timeline."""
    from ..testing import WeglyEmulator

    with usage_errors():
        check_int(args.chats, "--chats", minimum=1)
        check_int(args.events, "--events", minimum=1)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="wegly-demo-"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot use it as a directory ({exc.strerror or exc})"
        ) from exc
    async with WeglyEmulator() as emulator:
        started = time.perf_counter()
        chat_ids = [
            emulator.create_chat(events=args.events, seed=n) for n in range(1, args.chats + 1)
        ]
        print(
            f"emulator at {emulator.base_url}: {args.chats} chats x {args.events:,} events "
            f"seeded in {time.perf_counter() - started:.2f}s (no token, no network needed)"
        )
        async with emulator.client() as client:
            bot_ok = await _bot_loop(emulator, client, chat_ids[0])
            with progress_reporter(not args.no_progress, chats=len(chat_ids)) as progress:
                result = await export_timelines(client, chat_ids, out, progress=progress)
    print(
        f"\nexport: {result.written:,} events in {result.seconds:.2f}s "
        f"({result.written / max(result.seconds, 1e-9):,.0f} events/s)"
    )
    for chat in result.chats:
        status = "ok" if chat.error is None else f"FAILED: {describe_error(chat.error)}"
        print(
            f"  {chat.path}  {chat.events:,} events  {chat.path.stat().st_size:,} bytes  {status}"
        )
    print(f"files written: {len(result.chats)} in {out}")
    return EXIT_OK if result.ok and bot_ok else EXIT_FAILED


async def _bot_loop(emulator: WeglyEmulator, client: WeglyClient, chat_id: str) -> bool:
    """Run the whole bot loop: the contact writes, a webhook arrives, the bot answers."""
    print(f"\nbot on chat {chat_id}:")
    secret = secrets.token_urlsafe(24)  # the subscription's; never printed
    router = WebhookRouter(secret)

    @router.on("chat.message_received")
    async def answer(event: WebhookEvent) -> None:
        if event.chat_id is not None and event.message is not None:
            await _answer(client, event.chat_id, event.message)

    runner = web.AppRunner(router.aiohttp_app("/"), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, EMULATOR_HOST, 0).start()
        url = f"http://{EMULATOR_HOST}:{runner.addresses[0][1]}/"
        print(f"  webhook router listening at {url}")
        emulator.add_webhook(url, secret, events=["chat.message_received"], attempts=1)
        text = "Oi! Vocês têm horário amanhã de manhã?"
        print(f"  the contact writes: {text!r}")
        emulator.receive_message(chat_id, text)
        await emulator.wait_deliveries()
    finally:
        await runner.cleanup()
    delivery = emulator.deliveries[-1]
    outcome = "signature verified, handled" if delivery.ok else "FAILED"
    print(f"  webhook {delivery.event_key} -> {delivery.status} ({outcome})")
    await _read_back(client, chat_id)
    return delivery.ok


async def _answer(client: WeglyClient, chat_id: str, heard: Message) -> None:
    """Answer the contact's message like a bot: reply, react, send a template and a photo."""
    print(f"  the bot got it by webhook: {heard.body_text!r}")
    name = (heard.user.name if heard.user and heard.user.name else None) or "cliente"
    wamid = wamid_of(heard)
    sent: list[tuple[str, Message]] = []
    reply = await client.chats.send_text(
        chat_id, f"Olá, {name}! Já vamos te ajudar 😊", reply_to=wamid
    )
    sent.append(("reply", reply.records[0]))
    if wamid is not None:
        reaction = await client.chats.send_reaction(chat_id, "👍", reference_wamid=wamid)
        sent.append(("reaction", reaction.records[0]))
    template = await client.chats.send_template(
        chat_id,
        name="saudacao_inicial",
        language="pt_BR",
        fields=[TemplateField("BODY", "TEXT", index=1, value=name)],
    )
    sent.append(("template", template.records[0]))
    image = await client.chats.send_image(
        chat_id, _png(32, 32, (37, 211, 102)), filename="cardapio.png", caption="Nosso cardápio"
    )
    sent.append(("image", image.records[0]))
    for label, message in sent:
        print(f"  sent {label:<8} -> message {message.id} status={message.status}")


async def _read_back(client: WeglyClient, chat_id: str) -> None:
    latest = [
        event async for event in _take(client.chats.timeline(chat_id, order=Order.DESC, take=5), 5)
    ]
    print("  read back from the timeline (newest first):")
    for event in latest:
        message = event.message
        if message is not None:
            who = "bot" if message.from_me else "contact"
            print(
                f"    {event.event_at:%Y-%m-%d %H:%M:%S} {who:<7} {message.type}: "
                f"{message.body_text!r}"
            )


async def _take(pager: Any, count: int) -> Any:
    taken = 0
    async for item in pager:
        yield item
        taken += 1
        if taken >= count:
            return


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """Return a small solid-colour PNG, so the demo uploads a real image without any file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
