"""``WeglyEmulatorFactory``: start emulators with the options a test needs, close them together."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from ._emulator import WeglyEmulator


class WeglyEmulatorFactory:
    """Start ``WeglyEmulator``s on demand and close every one it started when it closes."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self._started: list[WeglyEmulator] = []
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._started)} started"
        return f"<WeglyEmulatorFactory {state}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def __call__(
        self, *, webhooks: Mapping[str, str | bytes] | None = None, **options: Any
    ) -> WeglyEmulator:
        """Start an emulator built with ``options`` (``WeglyEmulator``'s keywords) and ``webhooks``.

        Every event of the new emulator is delivered to each URL of ``webhooks``, signed
        with its secret; ``WeglyEmulator.add_webhook`` takes finer options.
        """
        if self._closed:
            raise RuntimeError("this factory is closed: create a new WeglyEmulatorFactory")
        emulator = WeglyEmulator(**options)
        if webhooks is not None:
            if not isinstance(webhooks, Mapping):
                raise TypeError(
                    f"webhooks must be a mapping of URL to secret, got {type(webhooks).__name__}"
                )
            for url, secret in webhooks.items():
                emulator.add_webhook(url, secret)
        # Started only once every option is accepted, so a bad one leaves nothing running.
        await self._stack.enter_async_context(emulator)
        self._started.append(emulator)
        return emulator

    @property
    def emulators(self) -> list[WeglyEmulator]:
        """Every emulator started so far, oldest first."""
        return list(self._started)

    async def close(self) -> None:
        """Close every emulator started, newest first; calling it again does nothing."""
        self._closed = True
        await self._stack.aclose()
