"""The API's endpoints, one package or module per API group."""

from .chats import ChatsResource, ChatsResourceWithRawResponse

__all__ = ["ChatsResource", "ChatsResourceWithRawResponse"]
