"""The API's endpoints, grouped the way the API groups its routes."""

from .chats import ChatsResource

__all__ = ["ChatsResource"]
