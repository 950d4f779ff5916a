"""The one cattrs converter: every rule for turning Wegly JSON into models and back.

The rules, all here: unknown fields are ignored; absent or ``null`` optional fields
become ``None`` and absent or ``null`` lists become ``[]``; timestamps become
timezone-aware datetimes from any ISO-8601 form or from Unix epoch seconds; enum-like
strings become open enums that keep values the docs do not list; money and quantities
are ``Decimal``, read from the JSON number's own digits (``decode_json_exact``) and sent
as those digits, never through a float; a request body's ``None`` values are not sent,
nor the ``None`` fields of attrs objects at any depth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, get_args, get_origin

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn

from ._codegen import InlineRules, generate_structure_fn, is_optional, is_plain_model
from ._enums import OpenStrEnum

__all__ = [
    "configure_converter",
    "converter",
    "decode_json",
    "decode_json_exact",
    "encode_json",
    "form_text",
    "format_utc",
    "make_converter",
    "parse_datetime",
]

# Above this an epoch number is in milliseconds, not seconds (10**11 s is the year 5138).
_EPOCH_MS_THRESHOLD = 10**11


def parse_datetime(value: object) -> datetime:
    """Return a timezone-aware datetime for an ISO-8601 string or Unix epoch value."""
    if isinstance(value, str):
        if value.isdigit():
            return _from_epoch(int(value))
        parsed = datetime.fromisoformat(value)
        # A timestamp without an offset is taken as UTC, the API's own zone.
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    raise TypeError(f"expected an ISO-8601 timestamp, got {type(value).__name__}")


# One event repeats its timestamp (event_at, meta_timestamp, created_at): parse it once.
# Datetimes are immutable, so sharing them is safe; the cache is simply cleared when full.
_DATETIME_CACHE: dict[str, datetime] = {}
_DATETIME_CACHE_SIZE = 4096


def _cached_datetime(value: Any) -> datetime:
    if value.__class__ is str:
        cached = _DATETIME_CACHE.get(value)
        if cached is None:
            if len(_DATETIME_CACHE) >= _DATETIME_CACHE_SIZE:
                _DATETIME_CACHE.clear()
            cached = _DATETIME_CACHE[value] = parse_datetime(value)
        return cached
    return parse_datetime(value)


def _from_epoch(value: float) -> datetime:
    seconds = value / 1000 if value >= _EPOCH_MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"timestamp out of range: {value!r}") from exc


def _structure_datetime(value: object, _: type) -> datetime:
    return _cached_datetime(value)


def _structure_open_enum(value: Any, cls: type[OpenStrEnum]) -> OpenStrEnum:
    member = cls._value2member_map_.get(value)
    return member if member is not None else cls(value)  # type: ignore[return-value]


def _is_list(cls: Any) -> bool:
    return get_origin(cls) is list


def _list_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], list[Any]]:
    (item_type,) = get_args(cls) or (Any,)
    item_hook = conv.get_structure_hook(item_type)

    def structure(value: Any, _: type) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return [item_hook(item, item_type) for item in value]

    return structure


def _structure_str(value: Any, _: type) -> str:
    if type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    # bool("false") is True: only real JSON booleans are accepted.
    if value is True or value is False:
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_int(value: Any, _: type) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


# What the generated code calls: the datetime cache lookup itself, so a hit costs no call.
_INLINE_RULES = InlineRules(
    parse_datetime=_cached_datetime,
    cached_datetime=_DATETIME_CACHE.get,
    structure_int=_structure_int,
)


def _inlined_attrs_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], Any]:
    if is_plain_model(cls):
        return generate_structure_fn(cls, conv, _INLINE_RULES)
    return _attrs_hook_factory(cls, conv)


def _attrs_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], Any]:
    # make_dict_structure_fn reads field.type: string annotations become types first.
    attrs.resolve_types(cls)
    structure_fields = make_dict_structure_fn(cls, conv)

    def structure(value: Any, _: type) -> Any:
        # The generated function would read a list or a string as an object with no fields.
        if not isinstance(value, dict):
            raise TypeError(
                f"expected a JSON object for {cls.__name__}, got {type(value).__name__}"
            )
        return structure_fields(value, cls)

    return structure


def _optional_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], Any]:
    # cattrs' own Optional hook looks the inner hook up on every call: the hot path of
    # decoding, since nearly every field is optional. Resolve it once, and inline the
    # checks for the plain JSON types.
    (inner_type,) = (arg for arg in get_args(cls) if arg is not type(None))
    if inner_type in (str, bool, int):
        check = {str: _structure_str, bool: _structure_bool, int: _structure_int}[inner_type]
        exact = inner_type

        def structure_plain(value: Any, _: type) -> Any:
            if value is None or type(value) is exact:
                return value
            return check(value, exact)

        return structure_plain
    inner = conv.get_structure_hook(inner_type)

    def structure(value: Any, _: type) -> Any:
        return None if value is None else inner(value, inner_type)

    return structure


def _structure_decimal(value: Any, _: type) -> Decimal:
    # Exact decoding hands over Decimals; a server may also send an amount as a string
    # (some ORMs serialize decimals so) or, decoded by orjson, as an int or a float.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _structure_json_object(value: Any, _: type) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _unstructure_without_none(cls: Any, conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    """Return an unstructure function for an attrs class that leaves out its ``None`` fields."""
    names = [field.name for field in attrs.fields(cls)]
    unstructure = conv.unstructure

    def unstructure_fields(obj: Any) -> dict[str, Any]:
        fields = {}
        for name in names:
            value = getattr(obj, name)
            if value is not None:
                # By the value's own class: an attrs object nested in it loses its None too.
                fields[name] = unstructure(value)
        return fields

    return unstructure_fields


def configure_converter(conv: cattrs.Converter, *, inline_models: bool = True) -> None:
    """Install the Wegly wire rules on a cattrs converter.

    With ``inline_models=False`` models use cattrs' own generated functions: slower, and
    kept as the reference the fast path is tested against.
    """
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    # Class hooks dispatch on the most specific class in the MRO: this one takes every open
    # enum, even one defined after the converter, before the str hook above can.
    conv.register_structure_hook(OpenStrEnum, _structure_open_enum)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook_factory(
        attrs.has, _inlined_attrs_hook_factory if inline_models else _attrs_hook_factory
    )
    conv.register_structure_hook_factory(is_optional, _optional_hook_factory)
    conv.register_structure_hook_func(lambda cls: cls == dict[str, Any], _structure_json_object)
    conv.register_structure_hook_factory(_is_list, _list_hook_factory)
    conv.register_unstructure_hook_factory(attrs.has, _unstructure_without_none)


def make_converter() -> cattrs.Converter:
    """Return a new converter with the Wegly wire rules."""
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    configure_converter(conv)
    return conv


converter = make_converter()


# The JSON value of a response body: orjson's own function, not a wrapper around it (one
# Python call less for every body decoded: pages, sends, webhook deliveries).
decode_json: Callable[[bytes], Any] = orjson.loads


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json_exact(content: bytes) -> Any:
    """Return the JSON value of a body with every fractional number as an exact ``Decimal``.

    orjson reads ``19.90`` as a float; answers that carry money are read by the standard
    library instead, which hands each number's own digits to ``Decimal``.
    """
    return json.loads(content, parse_float=Decimal, parse_constant=_refuse_constant)


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"a JSON number must be finite, got {value}")
        # Its own digits, verbatim: Decimal("19.90") is sent as 19.90.
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def encode_json(value: Any) -> bytes:
    """Return the JSON bytes for a request body, leaving out ``None`` keys and ``None`` fields."""
    # The body's own keys here; attrs objects, at any depth, lose theirs in the converter.
    if isinstance(value, Mapping):
        value = {key: item for key, item in value.items() if item is not None}
    return orjson.dumps(converter.unstructure(value), default=_encode_default)


def form_text(value: object) -> str:
    """Return a value as a multipart text part: strings as they are, others as JSON (``true``)."""
    return value if isinstance(value, str) else encode_json(value).decode()


def format_utc(moment: datetime) -> str:
    """Return an aware datetime as ISO-8601 in UTC, ``Z`` suffixed: how every time is sent."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
