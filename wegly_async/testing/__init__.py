"""Test against a local Wegly API emulator instead of the real service."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import RecordedRequest
    from ._body import RecordedPart
    from ._emulator import WeglyEmulator
    from ._factory import WeglyEmulatorFactory
    from ._mock import MockResponse, MockTransport, instant_retries
    from ._webhooks import WebhookDelivery

__all__ = [
    "MockResponse",
    "MockTransport",
    "RecordedPart",
    "RecordedRequest",
    "WebhookDelivery",
    "WeglyEmulator",
    "WeglyEmulatorFactory",
    "instant_retries",
]

# This package's pytest plugin loads in every test run of every project that installs
# wegly-async; resolving the names on first use keeps that import free of aiohttp.web.
_HOMES = {
    "MockResponse": "._mock",
    "MockTransport": "._mock",
    "RecordedPart": "._body",
    "RecordedRequest": "._app",
    "WebhookDelivery": "._webhooks",
    "WeglyEmulator": "._emulator",
    "WeglyEmulatorFactory": "._factory",
    "instant_retries": "._mock",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
