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
from .pages import OffsetPage, RawPage, TimelineCursor
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
    "OffsetPage",
    "PhoneNumber",
    "RawPage",
    "Reaction",
    "RecordSummary",
    "Role",
    "ScheduledMessage",
    "SendResult",
    "TemplateField",
    "TimelineCursor",
    "TimelineEvent",
    "TimelinePage",
    "UnreadSummary",
    "User",
    "WebhookEvent",
]
