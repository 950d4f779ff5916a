"""Bodies into models: neutral ``decode_*`` functions and the HTTP helpers around them.

The ``decode_*`` functions know nothing of HTTP and raise ``DecodeError``, so a webhook
layer can report it as its own error; ``parse_response``, ``parse_envelope`` and
``structure_records`` raise it as ``InvalidResponseError``, with the status, method, URL
and body. A record that does not fit is named by its index, id and field path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_origin

import attrs
import cattrs

from ._codegen import is_optional
from ._convert import converter, decode_json, decode_json_exact
from ._errors import DecodeError, InvalidResponseError, redact, redact_bytes

if TYPE_CHECKING:
    from ._pipeline import RawResponse

__all__ = [
    "ResponseContext",
    "decode_envelope",
    "decode_model",
    "decode_object",
    "decode_records",
    "model_decoder",
    "parse_envelope",
    "parse_response",
    "structure_records",
]

T = TypeVar("T")

_STRUCTURE_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    cattrs.BaseValidationError,
    # A record nested deeper than Python's stack (quoted messages inside quoted messages).
    RecursionError,
)
# How deep the search for a failing field goes; each level re-decodes its subtree.
_LOCATE_DEPTH = 64


def decode_object(content: bytes, *, exact_numbers: bool = False) -> dict[str, Any]:
    """Return the JSON object ``content`` holds, or raise DecodeError.

    With ``exact_numbers`` fractional numbers become ``Decimal`` (answers carrying money).
    """
    try:
        data = decode_json_exact(content) if exact_numbers else decode_json(content)
    except ValueError as exc:
        # orjson's JSONDecodeError, and the standard library's errors (not JSON, not
        # UTF-8, NaN) that exact decoding meets.
        raise DecodeError(f"the body is not JSON ({exc})") from exc
    except RecursionError:
        # Only the standard library recurses; its traceback would be a thousand frames.
        raise DecodeError("the body is not JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def decode_model(data: bytes | dict[str, Any], cls: type[T], *, exact_numbers: bool = False) -> T:
    """Return a JSON object, or the bytes of one, decoded into ``cls``, or raise DecodeError."""
    if isinstance(data, bytes):
        data = decode_object(data, exact_numbers=exact_numbers)
    return model_decoder(cls)(data)


def model_decoder(cls: type[T]) -> Callable[[dict[str, Any]], T]:
    """Return a function decoding a JSON object into ``cls`` or raising DecodeError.

    The converter's hook for ``cls`` is looked up once, here: a hot path (webhook events)
    keeps the function rather than paying the lookup for every object.
    """
    structure = converter.get_structure_hook(cls)

    def decode(data: dict[str, Any]) -> T:
        try:
            return structure(data, cls)  # type: ignore[no-any-return]
        except _STRUCTURE_ERRORS as exc:
            error = DecodeError(
                f"unexpected shape for {cls.__name__} ({type(exc).__name__}: {exc})"
            )
            # A RecursionError's traceback would be a thousand frames: it is not kept.
            cause = None if isinstance(exc, RecursionError) else exc
        raise error from cause

    return decode


def decode_envelope(content: bytes) -> tuple[int, list[dict[str, Any]]]:
    """Return the ``total`` and raw ``records`` of a list, each record a dict with an id."""
    data = decode_object(content)
    total = data.get("total")
    records = data.get("records")
    if isinstance(total, bool) or not isinstance(total, int):
        raise DecodeError(f"expected an integer 'total', got {type(total).__name__}")
    if not isinstance(records, list):
        raise DecodeError(f"expected a list of 'records', got {type(records).__name__}")
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise DecodeError("every record must be a JSON object with a string 'id'")
    return total, records


def decode_records(records: list[dict[str, Any]], cls: type[T]) -> list[T]:
    """Return raw records decoded into ``cls``, or raise DecodeError naming the one that failed."""
    structure = converter.get_structure_hook(cls)
    try:
        return [structure(record, cls) for record in records]
    except _STRUCTURE_ERRORS as exc:
        error = _record_error(records, cls, exc)
    # Raised outside the handler: a RecursionError's traceback would be a thousand frames.
    raise error


def _record_error(records: list[dict[str, Any]], cls: type, exc: Exception) -> DecodeError:
    index, record = _failing_record(records, cls)
    record_id = record.get("id")
    event = f"record {index} (id {record_id!r})"
    if isinstance(exc, RecursionError):
        reason = f"{event} is nested too deeply to decode into {cls.__name__}"
        return DecodeError(reason, index=index, record_id=record_id)
    path = _locate(record, cls, f"records[{index}]", 0)
    reason = f"{event} does not fit {cls.__name__} at {path} ({type(exc).__name__}: {exc})"
    return DecodeError(reason, index=index, record_id=record_id, path=path)


def _failing_record(records: list[dict[str, Any]], cls: type) -> tuple[int, dict[str, Any]]:
    structure = converter.get_structure_hook(cls)
    for index, record in enumerate(records):
        try:
            structure(record, cls)
        except _STRUCTURE_ERRORS:
            return index, record
    return 0, records[0] if records else {}


def _fits(value: Any, cls: Any) -> bool:
    try:
        converter.get_structure_hook(cls)(value, cls)
    except _STRUCTURE_ERRORS:
        return False
    return True


def _locate(value: Any, cls: Any, path: str, depth: int) -> str:
    """Return the path of the first field in ``value`` that does not fit the model ``cls``.

    Only called once decoding failed, so the hot path never pays for naming the field.
    """
    if not attrs.has(cls) or type(value) is not dict or depth >= _LOCATE_DEPTH:
        return path
    for field in attrs.fields(attrs.resolve_types(cls)):
        where = f"{path}.{field.name}"
        if field.name not in value:
            if field.default is attrs.NOTHING:
                return where
            continue
        raw, field_type = value[field.name], field.type
        if _fits(raw, field_type):
            continue
        inner = field_type
        if is_optional(field_type):
            (inner,) = (arg for arg in get_args(field_type) if arg is not type(None))
        if get_origin(inner) is list and type(raw) is list:
            (item_type,) = get_args(inner)
            for number, item in enumerate(raw):
                if not _fits(item, item_type):
                    return _locate(item, item_type, f"{where}[{number}]", depth + 1)
        return _locate(raw, inner, where, depth + 1)
    return path


# --- the HTTP face: the same decoding, failures raised as InvalidResponseError -------------
#
# Each helper re-raises from the DecodeError's own cause (the parser's or a hook's error),
# so a traceback shows what it showed before, and never the internal carrier; a body that
# quotes the token is redacted from the error and leaves the parser's error out.


@attrs.frozen
class ResponseContext:
    """Where a body came from, for the message of an InvalidResponseError."""

    status: int
    method: str
    url: str
    content: bytes
    # The token: a body (a proxy's debug page, say) may quote it, and the error shows it.
    secret: str = attrs.field(default="", repr=False)

    @classmethod
    def of(cls, raw: RawResponse[Any]) -> ResponseContext:
        """Return the context of a success answer the pipeline returned."""
        return cls(raw.status_code, raw.method, raw.url, raw.content, raw._secret)

    def error(self, reason: str) -> InvalidResponseError:
        """Return an InvalidResponseError about this body, the token redacted from it."""
        return InvalidResponseError(
            redact(reason, self.secret),
            status_code=self.status,
            method=self.method,
            url=self.url,
            body=redact_bytes(self.content, self.secret),
        )

    def cause(self, exc: DecodeError) -> BaseException | None:
        """Return the parser's own error behind ``exc``, or None when it may quote the token."""
        # The parser's error quotes the body (a JSONDecodeError keeps all of it): when the
        # body holds the token, the chain stops here and the redacted reason tells the story.
        if self.secret and redact_bytes(self.content, self.secret) != self.content:
            return None
        return exc.__cause__


def parse_response(raw: RawResponse[Any], cls: type[T], *, exact_numbers: bool = False) -> T:
    """Return a success answer's body decoded into ``cls``, or raise InvalidResponseError."""
    try:
        return decode_model(raw.content, cls, exact_numbers=exact_numbers)
    except DecodeError as exc:
        failure = exc
    # Each raise is outside its except block: __context__ would hold the DecodeError and,
    # through it, the parser's error, which quotes the body.
    ctx = ResponseContext.of(raw)
    raise ctx.error(failure.reason) from ctx.cause(failure)


def parse_envelope(ctx: ResponseContext) -> tuple[int, list[dict[str, Any]]]:
    """Return the ``total`` and raw ``records`` of a list answer, each record a dict with an id."""
    try:
        return decode_envelope(ctx.content)
    except DecodeError as exc:
        failure = exc
    raise ctx.error(failure.reason) from ctx.cause(failure)


def structure_records(records: list[dict[str, Any]], cls: type[T], ctx: ResponseContext) -> list[T]:
    """Return raw records decoded into ``cls``, or raise InvalidResponseError."""
    try:
        return decode_records(records, cls)
    except DecodeError as exc:
        failure = exc
    raise ctx.error(failure.reason) from ctx.cause(failure)
