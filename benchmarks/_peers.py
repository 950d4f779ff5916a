"""The same timeline models in pydantic v2 and msgspec, to compare decoders on equal terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def pydantic_decoder() -> Callable[[bytes], Any] | None:
    """Return a pydantic v2 page decoder (``model_validate_json``), or None if not installed."""
    try:
        from ._peer_pydantic import Page
    except ImportError:
        return None
    return Page.model_validate_json


def msgspec_decoder() -> Callable[[bytes], Any] | None:
    """Return a msgspec page decoder (typed Structs), or None if not installed."""
    try:
        import msgspec

        from ._peer_msgspec import Page
    except ImportError:
        return None
    return msgspec.json.Decoder(Page).decode
