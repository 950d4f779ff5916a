"""Receive Wegly's webhooks: verify the raw body, decode the event, dispatch it to handlers.

``verify_signature`` and ``parse_event`` work with any web framework; ``WebhookRouter``
adds handlers by event key, redelivery dedupe, and ready aiohttp and ASGI endpoints.
"""

from .._enums import WebhookEventKey
from .._errors import WebhookError, WebhookPayloadError, WebhookSignatureError
from ..types.webhooks import RecordSummary, WebhookEvent
from ._answers import WebhookAnswer
from ._dedupe import DedupeStore, MemoryDedupeStore
from ._events import parse_event
from ._router import Handler, WebhookRouter
from ._servers import AsgiWebhookApp
from ._signature import verify_signature

__all__ = [
    "AsgiWebhookApp",
    "DedupeStore",
    "Handler",
    "MemoryDedupeStore",
    "RecordSummary",
    "WebhookAnswer",
    "WebhookError",
    "WebhookEvent",
    "WebhookEventKey",
    "WebhookPayloadError",
    "WebhookRouter",
    "WebhookSignatureError",
    "parse_event",
    "verify_signature",
]
