"""Async-first Python SDK for the Wegly external integration API (WhatsApp CRM)."""

import attrs as _attrs

from ._aiohttp import AiohttpTransport
from ._client import WeglyClient
from ._config import NOT_GIVEN, NotGiven, Timeout
from ._enums import (
    CallDirection,
    CallStatus,
    CancelReason,
    ChatStatus,
    ChatType,
    EventType,
    MessageKind,
    MessageOrigin,
    MessageStatus,
    MessageType,
    OpenStrEnum,
    Order,
    ReactionActor,
    ScheduledMessageStatus,
    SentVia,
    WebhookEventKey,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ExportLockedError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SendOutcomeUnknownError,
    SendTimeoutError,
    TimelineChangedError,
    UnprocessableEntityError,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
    WeglyError,
)
from ._pagination import OffsetPage, OffsetPager, RawPage
from ._pipeline import RawResponse, RequestOptions
from ._rate import RateLimit, RateLimitState
from ._transport import AsyncTransport, TransportError, TransportRequest, TransportResponse
from ._uploads import FileInput
from ._version import __version__
from ._walker import TimelineCursor
from .resources.chats.timeline import TimelinePager
from .types import (
    Agent,
    AssignedAgent,
    Button,
    Call,
    Chat,
    ListRow,
    ListSection,
    Media,
    Message,
    PhoneNumber,
    Reaction,
    RecordSummary,
    Role,
    ScheduledMessage,
    SendResult,
    TemplateField,
    TimelineEvent,
    TimelinePage,
    UnreadSummary,
    User,
    WebhookEvent,
)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AiohttpTransport",
    "AssignedAgent",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "Button",
    "Call",
    "CallDirection",
    "CallStatus",
    "CancelReason",
    "Chat",
    "ChatStatus",
    "ChatType",
    "ConflictError",
    "EventType",
    "ExportLockedError",
    "FileInput",
    "InternalServerError",
    "InvalidResponseError",
    "ListRow",
    "ListSection",
    "Media",
    "Message",
    "MessageKind",
    "MessageOrigin",
    "MessageStatus",
    "MessageType",
    "NotFoundError",
    "NotGiven",
    "OffsetPage",
    "OffsetPager",
    "OpenStrEnum",
    "Order",
    "PermissionDeniedError",
    "PhoneNumber",
    "RateLimit",
    "RateLimitError",
    "RateLimitState",
    "RawPage",
    "RawResponse",
    "Reaction",
    "ReactionActor",
    "RecordSummary",
    "RequestOptions",
    "Role",
    "ScheduledMessage",
    "ScheduledMessageStatus",
    "SendOutcomeUnknownError",
    "SendResult",
    "SendTimeoutError",
    "SentVia",
    "TemplateField",
    "TimelineChangedError",
    "TimelineCursor",
    "TimelineEvent",
    "TimelinePage",
    "TimelinePager",
    "Timeout",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnprocessableEntityError",
    "UnreadSummary",
    "User",
    "WebhookError",
    "WebhookEvent",
    "WebhookEventKey",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WeglyClient",
    "WeglyError",
    "__version__",
]

# Show public classes as ``wegly_async.X`` in reprs and tracebacks, not their private module.
# String annotations are looked up in the module a class names, so a model's are resolved
# first, while that is still the module that defines them; the converter resolves any other.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("wegly_async._"):
        if _attrs.has(_obj):
            _attrs.resolve_types(_obj)
        _obj.__module__ = __name__
del _attrs, _name, _obj
