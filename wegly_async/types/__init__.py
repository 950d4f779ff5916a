"""The API's models, one module per API group; the common ones are also at the top level."""

from .chats import (
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
    ScheduledMessage,
    SendResult,
    TemplateField,
    UnreadSummary,
)
from .shared import Agent, Role, User
from .timeline import TimelineEvent, TimelinePage
from .webhooks import RecordSummary, WebhookEvent

__all__ = [
    "Agent",
    "AssignedAgent",
    "Button",
    "Call",
    "Chat",
    "ListRow",
    "ListSection",
    "Media",
    "Message",
    "PhoneNumber",
    "Reaction",
    "RecordSummary",
    "Role",
    "ScheduledMessage",
    "SendResult",
    "TemplateField",
    "TimelineEvent",
    "TimelinePage",
    "UnreadSummary",
    "User",
    "WebhookEvent",
]
