"""Async-first Python SDK for the Wegly external integration API (WhatsApp CRM)."""

from ._client import WeglyClient
from ._config import Timeout
from ._enums import (
    CallDirection,
    CallStatus,
    EventType,
    MessageOrigin,
    MessageStatus,
    MessageType,
    OpenStrEnum,
    Order,
    ReactionActor,
    SentVia,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SendOutcomeUnknownError,
    SendTimeoutError,
    TimelineChangedError,
    UnprocessableEntityError,
    WeglyError,
)
from ._models import (
    Agent,
    Call,
    Media,
    Message,
    Reaction,
    SendResult,
    TemplateField,
    TimelineEvent,
    TimelinePage,
    User,
)
from ._pagination import RawPage, TimelineCursor, TimelinePager
from ._uploads import FileInput
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "CallDirection",
    "CallStatus",
    "ConflictError",
    "EventType",
    "FileInput",
    "InternalServerError",
    "InvalidResponseError",
    "Media",
    "Message",
    "MessageOrigin",
    "MessageStatus",
    "MessageType",
    "NotFoundError",
    "OpenStrEnum",
    "Order",
    "PermissionDeniedError",
    "RateLimitError",
    "RawPage",
    "Reaction",
    "ReactionActor",
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
    "UnprocessableEntityError",
    "User",
    "WeglyClient",
    "WeglyError",
    "__version__",
]

# Show public classes as ``wegly_async.X`` in reprs and tracebacks, not their private module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("wegly_async._"):
        _obj.__module__ = __name__
del _name, _obj
