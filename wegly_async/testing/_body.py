"""Read a request body once, as JSON or multipart, turning every unreadable one into a 4xx."""

from __future__ import annotations

import re
import zlib
from typing import Any, Final

import attrs
import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["FILE_PART", "Body", "RecordedPart", "read_body"]

# API.md: the one part that carries the file of a media send.
FILE_PART: Final = "file"
_JSON: Final = "application/json"
# What aiohttp can undo in a part; anything else would crash its decoder.
_TRANSFER_ENCODINGS: Final = frozenset({"binary", "8bit", "7bit", "base64", "quoted-printable"})
_PART_ENCODINGS: Final = frozenset({"identity", "gzip", "deflate"})
# C0 controls but tab, DEL, and the lone surrogates aiohttp uses for bytes that are not UTF-8.
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_NOT_UTF8_RE: Final = re.compile("[\udc80-\udcff]")


@attrs.frozen
class RecordedPart:
    """One part of a recorded ``multipart/form-data`` body."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        """Decode the part's bytes as UTF-8."""
        return self.data.decode("utf-8")


@attrs.frozen
class Body:
    """The request body as parsed once by the middleware."""

    json: Any = None
    parts: tuple[RecordedPart, ...] = ()
    error: str | None = None
    error_status: int = 400


class _Unreadable(Exception):
    """The body cannot be read; the message says why."""


async def read_body(request: web.Request) -> Body:
    """Parse the body of ``request``, or say in ``Body.error`` why it cannot be read."""
    try:
        if request.content_type == "multipart/form-data":
            return Body(parts=await _read_parts(request))
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return Body(error="the request body is too large", error_status=413)
    except _Unreadable as exc:
        return Body(error=f"malformed multipart body: {exc}")
    except web.RequestPayloadError:
        # Nothing more can be read: marked as ended, so aiohttp does not try to drain it
        # after the answer (and log the same error again as an unhandled exception).
        request.content.feed_eof()
        return Body(error="the request body cannot be decoded: check its Content-Encoding")
    except (ValueError, HttpProcessingError) as exc:
        return Body(error=f"malformed multipart body: {_reason(exc)}")
    if not raw:
        return Body()
    if request.content_type != _JSON and not request.content_type.endswith("+json"):
        return Body(error="send a JSON body (application/json) or multipart/form-data")
    try:
        return Body(json=orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        return Body(error=f"the request body is not valid JSON: {exc}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, HttpProcessingError):
        return "a part header has control characters or is not well formed"
    return str(exc)


async def _read_parts(request: web.Request) -> tuple[RecordedPart, ...]:
    parts = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        _check_part_headers(part)
        if part.name is None:
            continue
        try:
            data = bytes(await part.read(decode=True))
        except zlib.error:
            raise _Unreadable(f"part {part.name!r} cannot be decoded: check its encoding") from None
        content_type = part.headers.get("Content-Type")
        parts.append(RecordedPart(part.name, _part_filename(part.filename), content_type, data))
    return tuple(parts)


def _check_part_headers(part: BodyPartReader) -> None:
    for key, value in part.headers.items():
        if _NOT_UTF8_RE.search(key + value):
            raise _Unreadable(f"part header {_shown(key)} is not UTF-8")
        if _CONTROL_RE.search(key + value):
            raise _Unreadable(f"part header {_shown(key)} has control characters")
    transfer = part.headers.get("Content-Transfer-Encoding", "binary").lower()
    if transfer not in _TRANSFER_ENCODINGS:
        raise _Unreadable(
            f"unknown Content-Transfer-Encoding {_shown(transfer)}: send the bytes as they are "
            "(binary)"
        )
    encoding = part.headers.get("Content-Encoding", "identity").lower()
    if encoding not in _PART_ENCODINGS:
        raise _Unreadable(f"unknown part Content-Encoding {_shown(encoding)}")


def _shown(text: str) -> str:
    """Quote a client's header text for a message, cut short and with odd characters escaped."""
    return ascii(text[:60])


# Browsers (and the SDK) percent-encode these three in a part's filename; nothing else.
_FILENAME_UNESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}
_FILENAME_ESCAPE_RE = re.compile("|".join(_FILENAME_UNESCAPES), re.IGNORECASE)


def _part_filename(filename: str | None) -> str | None:
    if filename is None:
        return None
    return _FILENAME_ESCAPE_RE.sub(lambda m: _FILENAME_UNESCAPES[m.group().upper()], filename)
