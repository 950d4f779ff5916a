"""Export chats to Parquet part files, then read the whole export back with pyarrow.

Needs the ``parquet`` extra (``pip install 'wegly-async[parquet]'``) and the token in the
environment (``WEGLY_TOKEN``; ``WEGLY_BASE_URL`` for the emulator):

    python examples/export_to_parquet.py --out exports/ CHAT_ID [CHAT_ID ...]

Run it again to resume an interrupted export, or to add the events written since. Each
chat is a folder ``exports/<chat_id>/`` of ``part-NNNNN.parquet`` files; DuckDB reads them
all at once: ``SELECT count(*) FROM 'exports/*/part-*.parquet'``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
from pathlib import Path

import pyarrow.parquet as pq

import wegly_async as wa
from wegly_async.export import export_timelines


async def export_chats(client: wa.WeglyClient, chat_ids: list[str], out: Path) -> bool:
    """Export the chats' timelines into ``out`` as Parquet; say which chats failed."""
    result = await export_timelines(client, chat_ids, out, format="parquet")
    for chat in result.failed:
        print(f"chat {chat.chat_id} failed: {chat.error}")
    print(f"new events: {result.written:,} in {result.seconds:.1f}s")
    return result.ok


def summarize(out: Path) -> str:
    """Return how many events each chat and each event type has, read from the part files."""
    per_chat: collections.Counter[str] = collections.Counter()
    per_type: collections.Counter[str] = collections.Counter()
    for part in sorted(out.glob("*/part-*.parquet")):
        table = pq.read_table(part, columns=["chat_id", "event_type"])
        per_chat.update(table.column("chat_id").to_pylist())
        per_type.update(str(kind) for kind in table.column("event_type").to_pylist())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(per_type.items()))
    return f"{per_chat.total():,} events in {len(per_chat)} chats ({kinds or 'none'})"


async def main() -> int:
    """Export the chats named on the command line, then print what the export holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chat_ids", nargs="+", metavar="CHAT_ID")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args()
    async with wa.WeglyClient() as client:  # the token and base URL from WEGLY_*
        ok = await export_chats(client, args.chat_ids, args.out)
    print(summarize(args.out))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
