"""Decode benchmark: one page of realistic events, per record, against the orjson floor."""

from __future__ import annotations

from collections.abc import Callable

import orjson

import wegly_async as wa
from wegly_async._responses import ResponseContext, parse_envelope, structure_records
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
    """Decode the same pages with each decoder, taking turns; report microseconds per record."""
    pages = _pages(10)
    rounds, number = (3, 3) if quick else (9, 10)
    records = PAGE * len(pages)

    def raw(page: bytes) -> object:
        return parse_envelope(ResponseContext(200, "GET", "u", page))

    def typed(page: bytes) -> object:
        ctx = ResponseContext(200, "GET", "u", page)
        return structure_records(parse_envelope(ctx)[1], wa.TimelineEvent, ctx)

    decoders: dict[str, Callable[[bytes], object]] = {
        "orjson.loads to dicts (floor)": orjson.loads,
        "wegly raw path": raw,
        "wegly typed (attrs + cattrs)": typed,
    }
    missing: list[str] = []
    for name, decoder in (("pydantic v2", pydantic_decoder()), ("msgspec", msgspec_decoder())):
        if decoder is None:
            missing.append(name)
        else:
            decoders[f"{name} on the same models"] = decoder

    def all_pages(decode: Callable[[bytes], object]) -> Callable[[], None]:
        def run_pages() -> None:
            for page in pages:
                decode(page)

        return run_pages

    best = best_of_sync(rounds, number, {name: all_pages(fn) for name, fn in decoders.items()})
    per_record = {name: seconds / records * 1e6 for name, seconds in best.items()}
    floor = per_record["orjson.loads to dicts (floor)"]
    rows = [
        Row(
            "decode", name, value, "us/record", ratio=floor / value, baseline="orjson floor (speed)"
        )
        for name, value in per_record.items()
    ]
    if (peer := per_record.get("pydantic v2 on the same models")) is not None:
        ours = per_record["wegly typed (attrs + cattrs)"]
        rows.append(
            Row(
                "decode",
                "wegly typed vs pydantic v2 (speed)",
                ours,
                "us/record",
                ratio=peer / ours,
                baseline="pydantic v2 (target >= 1.0x)",
            )
        )
    rows += [
        Row("decode", f"{name} (not installed: pip install -e '.[bench]')", 0, "")
        for name in missing
    ]
    return rows
