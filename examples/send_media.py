"""Send files to a chat, each as the kind of message its type calls for (image, video, audio, file).

Run it with ``WEGLY_TOKEN`` set (and ``WEGLY_BASE_URL`` for the emulator)::

    python examples/send_media.py CHAT_ID photo.jpg invoice.pdf --caption "Seu pedido"

Each file is streamed from disk, never read whole into memory. A send whose outcome is
unknown (the connection dropped after the upload) is reported and not sent again, since
the contact may have it already; the script exits 1 if any file was not sent.
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import wegly_async as wa

Sender = Callable[..., Awaitable[wa.SendResult]]


def sender_for(client: wa.WeglyClient, path: Path) -> tuple[str, Sender]:
    """Return the message kind for ``path`` and the method that sends it."""
    mime, _ = mimetypes.guess_type(path.name)
    kind = (mime or "").split("/", 1)[0]
    resource = client.chats
    if kind == "image":
        return "image", resource.send_image
    if kind == "video":
        return "video", resource.send_video
    if kind == "audio":
        return "audio", resource.send_audio
    return "document", resource.send_document


async def send_all(
    client: wa.WeglyClient, chat_id: str, paths: list[Path], caption: str | None
) -> int:
    """Send each file in turn and print one line per file; return how many were not sent."""
    failed = 0
    for path in paths:
        kind, send = sender_for(client, path)
        try:
            result = await send(chat_id, path, caption=caption)
        except wa.SendOutcomeUnknownError as exc:
            print(f"{path.name}: {kind} may or may not have been sent ({exc}); not retried")
            failed += 1
        except (wa.APIStatusError, wa.APIConnectionError, OSError) as exc:
            print(f"{path.name}: {kind} not sent: {exc}")
            failed += 1
        else:
            print(f"{path.name}: sent as {kind}, wamid {result.records[0].wamid}")
    return failed


async def main(argv: list[str] | None = None) -> int:
    """Parse the command line, send the files and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chat_id")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--caption", help="a caption for every image, video and document")
    args = parser.parse_args(argv)
    async with wa.WeglyClient() as client:
        failed = await send_all(client, args.chat_id, args.files, args.caption)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
