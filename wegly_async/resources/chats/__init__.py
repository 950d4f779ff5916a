"""The chat routes: messages into a chat and its timeline (participants and more to come)."""

from .chats import ChatsResource, ChatsResourceWithRawResponse

__all__ = ["ChatsResource", "ChatsResourceWithRawResponse"]
