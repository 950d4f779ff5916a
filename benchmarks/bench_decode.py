"""Decode benchmark: one page of realistic events, per record, against the orjson floor."""

from __future__ import annotations

import attrs
import orjson

import wegly_async as wa
from wegly_async._convert import ResponseContext, parse_envelope, structure_records
from wegly_async.testing import WeglyEmulator

from ._common import Row, best_of_sync
from ._peers import msgspec_decoder, pydantic_decoder

PAGE = 100


def _pages(count: int) -> list[bytes]:
    emulator = WeglyEmulator()
    chat_id = emulator.create_chat(events=count * PAGE, seed=7)
    events = emulator.events(chat_id)
    return [
        orjson.dumps({"total": len(events), "records": events[start : start + PAGE]})
        for start in range(0, len(events), PAGE)
    ]


def run(quick: bool) -> list[Row]:
    """Decode the same pages with each decoder; report microseconds per record."""
    pages = _pages(10)
    repeat, number = (3, 3) if quick else (7, 10)
    records = PAGE * len(pages)

    def per_record(decode: object) -> float:
        def all_pages() -> None:
            for page in pages:
                decode(page)  # type: ignore[operator]

        return best_of_sync(repeat, number, all_pages) / records * 1e6

    def raw(page: bytes) -> object:
        return parse_envelope(ResponseContext(200, "GET", "u", page))

    def typed(page: bytes) -> object:
        ctx = ResponseContext(200, "GET", "u", page)
        return structure_records(parse_envelope(ctx)[1], wa.TimelineEvent, ctx)

    floor = per_record(orjson.loads)
    ours_typed = per_record(typed)
    rows = [
        Row("decode", "orjson.loads to dicts (floor)", floor, "us/record"),
        Row("decode", "wegly raw path", per_record(raw), "us/record"),
        Row("decode", "wegly typed (attrs + cattrs)", ours_typed, "us/record"),
    ]
    for name, decoder in (("pydantic v2", pydantic_decoder()), ("msgspec", msgspec_decoder())):
        if decoder is None:
            rows.append(Row("decode", f"{name} (not installed: pip install -e '.[bench]')", 0, ""))
            continue
        peer = per_record(decoder)
        rows.append(Row("decode", f"{name} on the same models", peer, "us/record"))
        if name == "pydantic v2":
            rows.append(
                Row(
                    "decode",
                    "wegly typed vs pydantic v2 (speed)",
                    ours_typed,
                    "us/record",
                    ratio=peer / ours_typed,
                    baseline="pydantic v2 (target >= 1.0x)",
                )
            )
    # Express every per-record time as a speed ratio against the floor.
    return [
        attrs.evolve(row, ratio=floor / row.value, baseline="orjson floor (speed)")
        if row.unit == "us/record" and row.ratio is None
        else row
        for row in rows
    ]
