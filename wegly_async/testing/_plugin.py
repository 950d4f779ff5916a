"""Provide the ``wegly_emulator`` pytest fixture to every project that installs wegly-async."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._emulator import WeglyEmulator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture needs pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def wegly_emulator() -> AsyncIterator[WeglyEmulator]:
        """Yield a started ``WeglyEmulator``, closed when the test ends."""
        # Imported lazily: this plugin loads in every pytest run of every project that
        # has wegly-async installed, most of which never use the fixture.
        from ._emulator import WeglyEmulator

        async with WeglyEmulator() as emulator:
            yield emulator
