"""Turn a verified webhook body into a ``WebhookEvent``: the envelope, then the typed parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from .._codegen import mutable_twin
from .._enums import WebhookEventKey
from .._errors import DecodeError, WebhookPayloadError
from .._responses import decode_object
from ..types.webhooks import WebhookEvent
from ._signature import Secrets, verify_signature

__all__ = ["EVENT_HEADER", "SIGNATURE_HEADER", "header", "parse_event"]

SIGNATURE_HEADER = "x-wegly-signature"
EVENT_HEADER = "x-wegly-event"

# The typed parts of a payload (WebhookEvent's accessors), and those that are objects.
_PARTS = ("message", "chat_id", "lead", "deal")
_OBJECT_PARTS = ("message", "lead", "deal")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` (any case) from a mapping that may be case-sensitive."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def parse_event(body: bytes, headers: Mapping[str, str], *, secret: Secrets) -> WebhookEvent:
    """Verify a webhook body's signature, then decode it into a ``WebhookEvent``.

    ``headers`` are the request's (any mapping; names in any case). Every typed part is
    decoded here, so a part that does not fit its type raises now, not when it is read.

    Raises:
        WebhookSignatureError: the signature is missing or wrong; nothing was parsed.
        WebhookPayloadError: the body is not the event envelope, ``x-wegly-event``
            disagrees with its ``event_key``, or a typed part does not decode.
    """
    verify_signature(body, header(headers, SIGNATURE_HEADER), secret)
    event = decode_event(bytes(body), header(headers, EVENT_HEADER))
    for part in _PARTS:
        getattr(event, part)
    return event


def decode_event(body: bytes, announced: str | None) -> WebhookEvent:
    """Return the event a verified body holds, or raise WebhookPayloadError.

    The envelope is checked here, and the shape of each typed part (an object or absent);
    the parts themselves are decoded when first read (``WebhookEvent``).
    """
    try:
        envelope = decode_object(body)
    except DecodeError as exc:
        failure = exc
    else:
        return _event(envelope, announced)
    # Outside the except block: the parser's error (which quotes the body) stays out of
    # __context__, and only the reason is told.
    raise WebhookPayloadError(f"the webhook body is not the event envelope: {failure.reason}")


# A listed key is found without the Enum call machinery (an eighth of its cost).
_LISTED_KEYS: dict[str, WebhookEventKey] = {member.value: member for member in WebhookEventKey}


# Built as _codegen builds decoded models: a plain twin with the same slots, its slots set
# directly, then given the frozen class (a frozen __init__ sets each through a descriptor).
_EVENT_TWIN = mutable_twin(WebhookEvent)


def _event(envelope: dict[str, Any], announced: str | None) -> WebhookEvent:
    key, payload = envelope.get("event_key"), envelope.get("payload")
    if not isinstance(key, str) or not key:
        raise WebhookPayloadError("the webhook body has no 'event_key' string")
    if not isinstance(payload, dict):
        raise WebhookPayloadError(f"the webhook body's 'payload' is not an object ({key})")
    if announced is not None and announced != key and announced.strip() != key:
        raise WebhookPayloadError(
            f"the x-wegly-event header says {announced!r} but the body's event_key is {key!r}"
        )
    # One test for the usual payload, each part of its type or absent; the failing part is
    # named by _refuse_parts.
    get = payload.get
    chat_id, message, lead, deal = get("chat_id"), get("message"), get("lead"), get("deal")
    if not (
        (chat_id is None or chat_id.__class__ is str)
        and (message is None or message.__class__ is dict)
        and (lead is None or lead.__class__ is dict)
        and (deal is None or deal.__class__ is dict)
    ):
        _refuse_parts(key, payload)
    member = _LISTED_KEYS.get(key)
    event_key = member if member is not None else WebhookEventKey(key)
    if _EVENT_TWIN is None:
        return WebhookEvent(event_key=event_key, payload=payload)
    event: Any = _EVENT_TWIN()
    event.event_key = event_key
    event.payload = payload
    event._parts = {}
    event.__class__ = WebhookEvent
    return cast(WebhookEvent, event)


def _refuse_parts(key: str, payload: dict[str, Any]) -> None:
    chat_id = payload.get("chat_id")
    if chat_id is not None and not isinstance(chat_id, str):
        raise WebhookPayloadError(f"payload.chat_id is not a string ({key})")
    for name in _OBJECT_PARTS:
        value = payload.get(name)
        if value is not None and not isinstance(value, dict):
            raise WebhookPayloadError(f"payload.{name} is not an object ({key})")
