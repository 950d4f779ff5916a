"""The one cattrs converter: every rule for turning Wegly JSON into models and back.

The rules, all here: unknown fields are ignored; absent or ``null`` optional fields
become ``None`` and absent or ``null`` lists become ``[]``; timestamps become
timezone-aware datetimes from any ISO-8601 form or from Unix epoch seconds; enum-like
strings become open enums that keep values the docs do not list; ``None`` values are
never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from ._enums import OpenStrEnum
from ._errors import InvalidResponseError
from ._models import TemplateField

__all__ = [
    "ResponseContext",
    "configure_converter",
    "converter",
    "decode_json",
    "encode_json",
    "make_converter",
    "parse_datetime",
    "parse_envelope",
    "parse_response",
    "structure_records",
]

T = TypeVar("T")

_JSON_OBJECT = dict[str, Any]

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


def _inlined_attrs_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], Any]:
    if _is_plain_model(cls):
        return _generate_structure_fn(cls, conv)
    return _attrs_hook_factory(cls, conv)


def _is_plain_model(cls: Any) -> bool:
    """Return whether attrs' ``__init__`` for ``cls`` does nothing but set every field."""
    fields = attrs.fields(cls)
    hooks = ("__attrs_pre_init__", "__attrs_post_init__")
    # A slot that is not a field (cache_hash keeps one) would be left unset.
    extra_slots = set(getattr(cls, "__slots__", ())) - {field.name for field in fields}
    return (
        not any(hasattr(cls, hook) for hook in hooks)
        and extra_slots <= {"__weakref__"}
        and all(
            field.init and field.validator is None and field.converter is None for field in fields
        )
    )


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


def _bad(owner: str, name: str, value: Any, expected: str) -> None:
    raise TypeError(f"{owner}.{name}: expected {expected}, got {type(value).__name__}")


def _generate_structure_fn(cls: Any, conv: cattrs.Converter) -> Callable[[Any, type], Any]:
    """Return a structure function for a plain attrs model, generated with every rule inlined.

    This is the hot path of typed decoding: cattrs' generic generated code makes one hook
    call per field and builds the instance from a kwargs dict; here each field's type check
    (str, bool, int, datetime, open enum, nested model, list) is written out in the source,
    and nested hooks are resolved once.
    """
    # String annotations (``from __future__ import annotations``) become types here, once
    # per class: every field's source below is chosen by its type.
    attrs.resolve_types(cls)
    owner = cls.__name__
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_bad": _bad,
        "_int": _structure_int,
        "_dt": _cached_datetime,
        "_dt_cached": _DATETIME_CACHE.get,
    }
    body = [
        f"def structure_{owner}(o, _=None):",
        "    if type(o) is not dict:",
        f"        _bad({owner!r}, '(object)', o, 'a JSON object')",
        "    get = o.get",
    ]
    for field in attrs.fields(cls):
        var = f"v_{field.name}"
        required = field.default is attrs.NOTHING
        body.append(
            f"    {var} = o[{field.name!r}]" if required else f"    {var} = get({field.name!r})"
        )
        body += _field_source(cls, field.name, var, field.type, required, namespace, conv)
    body += _build_source(cls, namespace)
    exec(compile("\n".join(body), f"<wegly_async structure {owner}>", "exec"), namespace)  # noqa: S102
    function: Callable[[Any, type], Any] = namespace[f"structure_{owner}"]
    return function


def _build_source(cls: Any, namespace: dict[str, Any]) -> list[str]:
    """Return the source lines that make the instance from the checked ``v_<field>`` values.

    These models have no validators, converters or init hooks, so the object attrs'
    ``__init__`` would build is simply every slot set. A frozen class sets each slot
    through a descriptor call (about 60 ns); a plain twin with the very same slots takes
    plain attribute stores (under 10 ns), then becomes the model by ``__class__``
    assignment, which Python allows between classes of identical layout.
    """
    fields = attrs.fields(cls)
    twin = _mutable_twin(cls)
    if twin is not None:
        namespace["_twin"] = twin
        return [
            "    self = _twin()",
            *(f"    self.{field.name} = v_{field.name}" for field in fields),
            "    self.__class__ = _cls",
            "    return self",
        ]
    namespace["_new"] = object.__new__
    lines = ["    self = _new(_cls)"]
    for field in fields:
        namespace[f"_set_{field.name}"] = getattr(cls, field.name).__set__
        lines.append(f"    _set_{field.name}(self, v_{field.name})")
    return [*lines, "    return self"]


def _mutable_twin(cls: type) -> type | None:
    """Return a plain class with the slots of ``cls`` whose instances can become ``cls``, or None.

    Python refuses the change of class when the layouts differ, and before 3.13 whenever
    there is a ``__weakref__`` slot (hence ``weakref_slot=False`` on the models); the
    check is made once, here, and such a class is built the slower way.
    """
    if cls.__bases__ != (object,) or "__slots__" not in cls.__dict__:
        return None
    twin = type(f"{cls.__name__}Builder", (), {"__slots__": cls.__dict__["__slots__"]})
    try:
        twin().__class__ = cls
    except TypeError:
        return None
    return twin


def _field_source(
    cls: Any,
    name: str,
    var: str,
    field_type: Any,
    required: bool,
    namespace: dict[str, Any],
    conv: cattrs.Converter,
) -> list[str]:
    """Return the source lines that check and convert one field held in ``var``."""
    owner = cls.__name__
    inner = field_type
    if _is_optional(field_type):
        (inner,) = (arg for arg in get_args(field_type) if arg is not type(None))
    # A required field may not be null; an optional one skips every check when it is.
    guard = f"type({var})" if required else f"{var} is not None and type({var})"
    where = f"{owner!r}, {name!r}, {var}"
    # (dict[str, Any] is a new alias object each time it is written: compare with ==.)
    if inner is str or inner is bool or inner == _JSON_OBJECT:
        label = {str: "a string", bool: "a boolean"}.get(inner, "a JSON object")
        kind = {str: "str", bool: "bool"}.get(inner, "dict")
        return [f"    if {guard} is not {kind}:", f"        _bad({where}, {label!r})"]
    if inner is int:
        return [f"    if {guard} is not int:", f"        {var} = _int({var}, int)"]
    if inner is datetime:
        # The cache lookup is inlined; a miss (or a number) goes through _dt.
        return [
            f"    if {var} is not None:",
            f"        {var} = (type({var}) is str and _dt_cached({var})) or _dt({var})",
        ]
    if _open_enum_class(inner):
        namespace[f"_m_{name}"] = inner._value2member_map_.get
        namespace[f"_e_{name}"] = inner
        return [
            f"    if {var} is not None:",
            f"        {var} = _m_{name}({var}) or _e_{name}({var})",
        ]
    if get_origin(inner) is list:
        # The list from the JSON parser is ours: an empty one is kept rather than copied.
        (item,) = get_args(inner)
        lines = [
            f"    if {var} is None:",
            f"        {var} = []",
            f"    elif type({var}) is not list:",
            f"        _bad({where}, 'a list')",
        ]
        if item == _JSON_OBJECT:
            return [
                *lines,
                "    else:",
                f"        for x in {var}:",
                "            if type(x) is not dict:",
                f"                _bad({owner!r}, {name!r}, x, 'JSON objects in the list')",
            ]
        namespace[f"_h_{name}"] = conv.get_structure_hook(item)
        namespace[f"_t_{name}"] = item
        return [
            *lines,
            f"    elif {var}:",
            f"        {var} = [_h_{name}(x, _t_{name}) for x in {var}]",
        ]
    if inner is cls:
        # A model nested in itself (a quoted message): call this very function.
        return [f"    if {var} is not None:", f"        {var} = structure_{owner}({var})"]
    namespace[f"_h_{name}"] = conv.get_structure_hook(inner)
    namespace[f"_t_{name}"] = inner
    return [f"    if {var} is not None:", f"        {var} = _h_{name}({var}, _t_{name})"]


def _open_enum_class(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, OpenStrEnum)


def _is_optional(cls: Any) -> bool:
    args = get_args(cls)
    return len(args) == 2 and type(None) in args and get_origin(cls) in (Union, UnionType)


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


def _structure_json_object(value: Any, _: type) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


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
    conv.register_structure_hook_factory(
        attrs.has, _inlined_attrs_hook_factory if inline_models else _attrs_hook_factory
    )
    conv.register_structure_hook_factory(_is_optional, _optional_hook_factory)
    conv.register_structure_hook_func(lambda cls: cls == dict[str, Any], _structure_json_object)
    conv.register_structure_hook_factory(_is_list, _list_hook_factory)
    conv.register_unstructure_hook(
        TemplateField, make_dict_unstructure_fn(TemplateField, conv, _cattrs_omit_if_default=True)
    )


def make_converter() -> cattrs.Converter:
    """Return a new converter with the Wegly wire rules."""
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    configure_converter(conv)
    return conv


converter = make_converter()


def decode_json(content: bytes) -> Any:
    """Return the JSON value of a response body."""
    return orjson.loads(content)


def encode_json(value: Any) -> bytes:
    """Return the JSON bytes for a request body, leaving out ``None`` values at the top level."""
    if isinstance(value, Mapping):
        value = {key: item for key, item in value.items() if item is not None}
    return orjson.dumps(converter.unstructure(value))


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
        if _is_optional(field_type):
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
