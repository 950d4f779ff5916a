"""Structure functions generated for plain attrs models: the fast path of typed decoding.

The wire rules themselves live in ``_convert``; this module writes them out, field by
field, as Python source, and calls the few it cannot inline through ``InlineRules``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from types import UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs

from ._enums import OpenStrEnum

__all__ = ["InlineRules", "generate_structure_fn", "is_optional", "is_plain_model", "mutable_twin"]

_JSON_OBJECT = dict[str, Any]

# The models whose structure function this thread is generating.
_generating = threading.local()


@attrs.frozen
class InlineRules:
    """The wire rules generated code calls by name rather than through a hook per field."""

    # Any timestamp form the wire allows, to an aware datetime.
    parse_datetime: Callable[[Any], datetime]
    # A lookup of an already parsed ISO-8601 string: None when it was not seen yet.
    cached_datetime: Callable[[str], datetime | None]
    # The int rule, for a value that is not exactly an int.
    structure_int: Callable[[Any, type], int]


def is_plain_model(cls: Any) -> bool:
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


def _raise_wrong_type(owner: str, name: str, value: Any, expected: str) -> None:
    raise TypeError(f"{owner}.{name}: expected {expected}, got {type(value).__name__}")


def generate_structure_fn(
    cls: Any, conv: cattrs.Converter, rules: InlineRules
) -> Callable[[Any, type], Any]:
    """Return a structure function for a plain attrs model, generated with every rule inlined.

    This is the hot path of typed decoding: cattrs' generic generated code makes one hook
    call per field and builds the instance from a kwargs dict; here each field's type check
    (str, bool, int, datetime, open enum, nested model, list) is written out in the source,
    and nested hooks are resolved once.
    """
    # A model met again inside its own fields (A -> B -> A) is not generated twice: the
    # RecursionError tells whoever asked for its hook to bind late, as cattrs' own
    # generated functions do (and _nested_hook below).
    generating: set[type] = _generating.__dict__.setdefault("classes", set())
    if cls in generating:
        raise RecursionError(f"the structure function of {cls.__name__} is being generated")
    generating.add(cls)
    try:
        return _generate(cls, conv, rules)
    finally:
        generating.discard(cls)


def _generate(cls: Any, conv: cattrs.Converter, rules: InlineRules) -> Callable[[Any, type], Any]:
    # String annotations (``from __future__ import annotations``) become types here, once
    # per class: every field's source below is chosen by its type.
    attrs.resolve_types(cls)
    owner = cls.__name__
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_wrong_type": _raise_wrong_type,
        "_int": rules.structure_int,
        "_dt": rules.parse_datetime,
        "_dt_cached": rules.cached_datetime,
    }
    body = [
        f"def structure_{owner}(o, _=None):",
        "    if type(o) is not dict:",
        f"        _wrong_type({owner!r}, '(object)', o, 'a JSON object')",
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
    twin = mutable_twin(cls)
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


def mutable_twin(cls: type) -> type | None:
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
    if is_optional(field_type):
        (inner,) = (arg for arg in get_args(field_type) if arg is not type(None))
    # A required field may not be null; an optional one skips every check when it is.
    guard = f"type({var})" if required else f"{var} is not None and type({var})"
    where = f"{owner!r}, {name!r}, {var}"
    # (dict[str, Any] is a new alias object each time it is written: compare with ==.)
    if inner is str or inner is bool or inner == _JSON_OBJECT:
        label = {str: "a string", bool: "a boolean"}.get(inner, "a JSON object")
        kind = {str: "str", bool: "bool"}.get(inner, "dict")
        return [f"    if {guard} is not {kind}:", f"        _wrong_type({where}, {label!r})"]
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
            f"        _wrong_type({where}, 'a list')",
        ]
        if item == _JSON_OBJECT:
            return [
                *lines,
                "    else:",
                f"        for x in {var}:",
                "            if type(x) is not dict:",
                f"                _wrong_type({owner!r}, {name!r}, x, 'JSON objects in the list')",
            ]
        namespace[f"_h_{name}"] = _nested_hook(conv, item)
        namespace[f"_t_{name}"] = item
        return [
            *lines,
            f"    elif {var}:",
            f"        {var} = [_h_{name}(x, _t_{name}) for x in {var}]",
        ]
    if inner is cls:
        # A model nested in itself (a quoted message): call this very function.
        return [f"    if {var} is not None:", f"        {var} = structure_{owner}({var})"]
    namespace[f"_h_{name}"] = _nested_hook(conv, inner)
    namespace[f"_t_{name}"] = inner
    return [f"    if {var} is not None:", f"        {var} = _h_{name}({var}, _t_{name})"]


def _nested_hook(conv: cattrs.Converter, cls: Any) -> Callable[[Any, Any], Any]:
    try:
        return conv.get_structure_hook(cls)
    except RecursionError:
        # A cycle back to a model still being generated: its hook is looked up per call.
        return conv.structure


def _open_enum_class(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, OpenStrEnum)


def is_optional(cls: Any) -> bool:
    """Return whether ``cls`` is ``X | None`` (or ``Optional[X]``) for a single ``X``."""
    args = get_args(cls)
    return len(args) == 2 and type(None) in args and get_origin(cls) in (Union, UnionType)
