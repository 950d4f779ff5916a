"""The API's endpoints, one package or module per API group."""

from .chats import ChatsResource, ChatsResourceWithRawResponse
from .deals import DealsResource, DealsResourceWithRawResponse
from .leads import LeadsResource, LeadsResourceWithRawResponse
from .proposals import ProposalsResource, ProposalsResourceWithRawResponse

__all__ = [
    "ChatsResource",
    "ChatsResourceWithRawResponse",
    "DealsResource",
    "DealsResourceWithRawResponse",
    "LeadsResource",
    "LeadsResourceWithRawResponse",
    "ProposalsResource",
    "ProposalsResourceWithRawResponse",
]
