"""Success bodies into models; a body that does not fit names its record and field path."""

from __future__ import annotations

from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
import orjson

from ._codegen import is_optional
from ._convert import converter, decode_json
from ._errors import InvalidResponseError

__all__ = ["ResponseContext", "parse_envelope", "parse_response", "structure_records"]

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


@attrs.frozen
class ResponseContext:
    """Where a body came from, for the message of an InvalidResponseError."""

    status: int
    method: str
    url: str
    content: bytes

    def error(self, reason: str) -> InvalidResponseError:
        """Return an InvalidResponseError about this body."""
        return InvalidResponseError(
            reason, status_code=self.status, method=self.method, url=self.url, body=self.content
        )

    def shape_error(self, cls: type, exc: Exception) -> InvalidResponseError:
        """Return an InvalidResponseError for a body that does not fit ``cls``."""
        return self.error(f"unexpected shape for {cls.__name__} ({type(exc).__name__}: {exc})")

    def record_error(
        self, records: list[dict[str, Any]], cls: type, exc: Exception
    ) -> InvalidResponseError:
        """Return an InvalidResponseError naming the record and field path that failed."""
        index, record = _failing_record(records, cls)
        event = f"record {index} (id {record.get('id')!r})"
        if isinstance(exc, RecursionError):
            return self.error(f"{event} is nested too deeply to decode into {cls.__name__}")
        path = _locate(record, cls, f"records[{index}]", 0)
        return self.error(
            f"{event} does not fit {cls.__name__} at {path} ({type(exc).__name__}: {exc})"
        )


def _json_object(ctx: ResponseContext) -> dict[str, Any]:
    try:
        data = decode_json(ctx.content)
    except orjson.JSONDecodeError as exc:
        raise ctx.error(f"the body is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ctx.error(f"expected a JSON object, got {type(data).__name__}")
    return data


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


def parse_response(content: bytes, cls: type[T], *, status: int, method: str, url: str) -> T:
    """Return a success body decoded into ``cls``, or raise InvalidResponseError."""
    ctx = ResponseContext(status, method, url, content)
    data = _json_object(ctx)
    try:
        return converter.structure(data, cls)
    except _STRUCTURE_ERRORS as exc:
        raise ctx.shape_error(cls, exc) from exc


def parse_envelope(ctx: ResponseContext) -> tuple[int, list[dict[str, Any]]]:
    """Return the ``total`` and raw ``records`` of a list answer, each record a dict with an id."""
    data = _json_object(ctx)
    total = data.get("total")
    records = data.get("records")
    if isinstance(total, bool) or not isinstance(total, int):
        raise ctx.error(f"expected an integer 'total', got {type(total).__name__}")
    if not isinstance(records, list):
        raise ctx.error(f"expected a list of 'records', got {type(records).__name__}")
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise ctx.error("every record must be a JSON object with a string 'id'")
    return total, records


def structure_records(records: list[dict[str, Any]], cls: type[T], ctx: ResponseContext) -> list[T]:
    """Return raw records decoded into ``cls``, or raise InvalidResponseError."""
    structure = converter.get_structure_hook(cls)
    try:
        return [structure(record, cls) for record in records]
    except _STRUCTURE_ERRORS as exc:
        error = ctx.record_error(records, cls, exc)
    # Raised outside the handler: a RecursionError's traceback would be a thousand frames.
    raise error
