"""``wegly-async send``: one message of one kind, with only the flags that kind takes."""

from __future__ import annotations

import argparse
import sys
from typing import Final

from .._client import WeglyClient
from .._errors import WeglyError
from .._validation import check_chat_id
from ..resources.chats.messages import buttons_body, list_body, location_body
from ..types.chats import SendResult, TemplateField
from ._connection import make_client
from ._exits import EXIT_FAILED, EXIT_OK, UsageError, describe_error, usage_errors
from ._interactive import parse_buttons, parse_section
from ._render import one_line, wamid_of

__all__ = ["FIELD_KEYS", "MEDIA_KINDS", "parse_field", "parse_location", "run_send"]

MEDIA_KINDS: Final = ("image", "video", "audio", "document")
# The keys of the long --field form, in TemplateField's order; ``value`` comes last.
FIELD_KEYS: Final = ("component", "type", "index", "button_index", "card_index", "value")
# Which modifier flags each kind of message takes (attribute name -> flag).
_MODIFIERS: Final = {
    "to": "--to",
    "language": "--language",
    "field": "--field",
    "caption": "--caption",
    "reply_to": "--reply-to",
    "buttons": "--buttons",
    "list": "--list",
    "name": "--name",
    "address": "--address",
}
_TAKES: Final = {
    "text": ("reply_to", "buttons", "list"),
    "reaction": ("to",),
    "template": ("language", "field"),
    "location": ("name", "address", "reply_to"),
    **dict.fromkeys(MEDIA_KINDS, ("caption", "reply_to")),
}


def _kind(args: argparse.Namespace) -> str:
    return next(kind for kind in _TAKES if getattr(args, kind) is not None)


def _check_modifiers(kind: str, args: argparse.Namespace) -> None:
    """Refuse a flag the kind of message does not take, naming the kinds that do."""
    for name, flag in _MODIFIERS.items():
        if getattr(args, name) in (None, []) or name in _TAKES[kind]:
            continue
        takers = [f"--{other}" for other, names in _TAKES.items() if name in names]
        raise UsageError(f"{flag} does not apply to --{kind} (it goes with {', '.join(takers)})")


def _check_choices(args: argparse.Namespace) -> None:
    """Refuse reply buttons with a list, a --section without --list, a --list without one."""
    if args.buttons is not None and args.list is not None:
        raise UsageError("--buttons and --list do not go together: send buttons or a list")
    if args.section and args.list is None:
        raise UsageError("--section goes with --list LABEL (the button that opens the list)")
    if args.list is not None and not args.section:
        raise UsageError("--list needs at least one --section TITLE=ID:TITLE,...")


def parse_location(spec: str) -> tuple[float, float]:
    """Read ``LAT,LON`` in decimal degrees; the library checks their range."""
    latitude, _, longitude = spec.partition(",")
    try:
        return float(latitude), float(longitude)
    except ValueError:
        raise UsageError(
            f"--location must look like LAT,LON in degrees (e.g. -23.5505,-46.6333), got {spec!r}"
        ) from None


def parse_field(spec: str) -> TemplateField:
    """Read ``COMPONENT:INDEX=VALUE`` or ``component=...,type=...,...,value=...`` (value last)."""
    head = spec.partition("=")[0]
    if head.strip().lower() in FIELD_KEYS and ":" not in head:
        return _parse_long_field(spec)
    head, sep, value = spec.partition("=")
    component, colon, index = head.partition(":")
    if not sep or not colon or not index.isdigit() or not component:
        raise UsageError(
            "--field must look like COMPONENT:INDEX=VALUE (e.g. BODY:1=Maria) or "
            f"component=BODY,type=TEXT,index=1,value=Maria, got {spec!r}"
        )
    return TemplateField(component.upper(), "TEXT", index=int(index), value=value)


def _parse_long_field(spec: str) -> TemplateField:
    keys: dict[str, str] = {}
    rest = spec
    while rest:
        key, sep, rest = rest.partition("=")
        key = key.strip().lower()
        if not sep or key not in FIELD_KEYS:
            raise UsageError(
                f"--field: unknown key {key!r} in {spec!r}: the keys are {', '.join(FIELD_KEYS)}"
            )
        if key in keys:
            raise UsageError(f"--field: {key} is given twice in {spec!r}")
        if key == "value":
            keys[key], rest = rest, ""  # the value takes the rest, commas included
        else:
            keys[key], _, rest = rest.partition(",")
    if "component" not in keys or "value" not in keys:
        raise UsageError(f"--field needs component= and value= (value last), got {spec!r}")
    with usage_errors():
        return TemplateField(
            keys["component"],
            keys.get("type", "TEXT"),
            index=_field_index(keys, "index"),
            button_index=_field_index(keys, "button_index"),
            card_index=_field_index(keys, "card_index"),
            value=keys["value"],
        )


def _field_index(keys: dict[str, str], key: str) -> int | None:
    raw = keys.get(key)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"--field: {key} must be a whole number >= 0, got {raw!r}")
    return int(raw)


def _check_readable(kind: str, path: str) -> None:
    """Open the file once, so a file the user cannot read is a usage error, not a traceback."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"--{kind} {path}: cannot read it ({exc.strerror or exc})") from None


async def _send(client: WeglyClient, kind: str, args: argparse.Namespace) -> SendResult:
    chats = client.chats
    if kind == "text":
        return await _send_text(client, args)
    if kind == "reaction":
        return await chats.send_reaction(args.chat_id, args.reaction, reference_wamid=args.to)
    if kind == "template":
        fields = [parse_field(spec) for spec in args.field]
        return await chats.send_template(
            args.chat_id, name=args.template, language=args.language, fields=fields
        )
    if kind == "location":
        latitude, longitude = parse_location(args.location)
        return await chats.send_location(
            args.chat_id,
            latitude=latitude,
            longitude=longitude,
            name=args.name,
            address=args.address,
            reply_to=args.reply_to,
        )
    senders = {
        "image": chats.send_image,
        "video": chats.send_video,
        "audio": chats.send_audio,
        "document": chats.send_document,
    }
    return await senders[kind](
        args.chat_id, getattr(args, kind), caption=args.caption, reply_to=args.reply_to
    )


async def _send_text(client: WeglyClient, args: argparse.Namespace) -> SendResult:
    """Send ``--text`` alone, with ``--buttons``, or as the body of a ``--list``."""
    chats = client.chats
    if args.buttons is not None:
        buttons = parse_buttons(args.buttons)
        return await chats.send_buttons(args.chat_id, args.text, buttons, reply_to=args.reply_to)
    if args.list is not None:
        sections = [parse_section(spec) for spec in args.section]
        return await chats.send_list(
            args.chat_id, args.text, button=args.list, sections=sections, reply_to=args.reply_to
        )
    return await chats.send_text(args.chat_id, args.text, reply_to=args.reply_to)


def _check_body(kind: str, args: argparse.Namespace) -> None:
    """Build the body of a location, buttons or list with the library's checks, sending nothing."""
    if kind == "location":
        latitude, longitude = parse_location(args.location)
        with usage_errors("--location: "):
            location_body(latitude, longitude, args.name, args.address, args.reply_to)
    elif kind == "text" and args.buttons is not None:
        buttons = parse_buttons(args.buttons)
        with usage_errors("--buttons: "):
            buttons_body(args.text, buttons, args.reply_to)
    elif kind == "text" and args.list is not None:
        sections = [parse_section(spec) for spec in args.section]
        with usage_errors("--list: "):
            list_body(args.text, args.list, sections, args.reply_to)


def _check(kind: str, args: argparse.Namespace) -> None:
    """Refuse what cannot work before any request, and before the token is looked for."""
    with usage_errors():
        check_chat_id(args.chat_id, "CHAT_ID")
    _check_modifiers(kind, args)
    _check_choices(args)
    _check_body(kind, args)
    if kind == "reaction" and args.to is None:
        raise UsageError("--reaction needs --to WAMID (the message reacted to)")
    if kind == "template":
        if args.language is None:
            raise UsageError("--template needs --language (e.g. pt_BR)")
        for spec in args.field:
            parse_field(spec)
    if kind in MEDIA_KINDS:
        _check_readable(kind, getattr(args, kind))


async def run_send(args: argparse.Namespace) -> int:
    """Send one message; print each created message's id and wamid, or one error line and exit 1."""
    kind = _kind(args)
    _check(kind, args)
    client = make_client(args)
    async with client:
        try:
            with usage_errors():
                result = await _send(client, kind, args)
        except WeglyError as exc:
            print(one_line(f"chat {args.chat_id}: {describe_error(exc)}"), file=sys.stderr)
            return EXIT_FAILED
    for message in result.records:
        print(
            one_line(
                f"sent {message.type or 'message'} {message.id} "
                f"wamid {wamid_of(message) or '-'} (status {message.status or 'unknown'})"
            )
        )
    return EXIT_OK
