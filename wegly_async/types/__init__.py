"""The API's models, one module per API group; the common ones are also at the top level."""

from .chats import Call, Media, Message, Reaction, SendResult, TemplateField
from .shared import Agent, User
from .timeline import TimelineEvent, TimelinePage
from .webhooks import RecordSummary, WebhookEvent

__all__ = [
    "Agent",
    "Call",
    "Media",
    "Message",
    "Reaction",
    "RecordSummary",
    "SendResult",
    "TemplateField",
    "TimelineEvent",
    "TimelinePage",
    "User",
    "WebhookEvent",
]
