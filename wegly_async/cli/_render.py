"""Server text made safe for one terminal line: no control, bidi or line-break characters."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

from ..types.chats import Message

__all__ = ["exact_json", "json_line", "one_line", "wamid_of"]

# C0 and C1 controls, DEL, line and paragraph separators, and the bidi embeddings,
# overrides and isolates that could make a line read as something else.
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """Return ``text`` with every character that could break or forge a line escaped."""
    return _UNSAFE_RE.sub(lambda m: _NAMED.get(m.group(), ascii(m.group())[1:-1]), text)


def json_line(value: Any) -> str:
    """Return ``value`` as one line of JSON, escaping as ``\\uXXXX`` what ``one_line`` escapes."""
    # Outside its strings JSON is plain ASCII, so each such character is inside a string,
    # where the escape is valid JSON and decodes back to the same text.
    text = orjson.dumps(value, default=_own_digits).decode()
    return _UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def exact_json(content: bytes) -> Any:
    """Return a JSON body with every number as a ``Decimal``, which ``json_line`` writes as sent."""
    # Floats through a float lose digits (75000.50), and ints past 64 bits are more than orjson
    # writes: as Decimals both keep the digits they came with.
    return json.loads(content, parse_float=Decimal, parse_int=Decimal)


def _own_digits(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def wamid_of(message: Message) -> str | None:
    """Return the message's WhatsApp id, what ``--reply-to`` and ``--reaction --to`` take."""
    payload: Any = message.content_payload or {}
    wamid = payload.get("wamid") if isinstance(payload, dict) else None
    return wamid if isinstance(wamid, str) else None
