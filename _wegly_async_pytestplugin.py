"""Give pytest the ``wegly_emulator`` and ``wegly_emulator_factory`` fixtures of wegly-async.

pytest imports this module at the start of every run in every environment that has
wegly-async installed (the ``pytest11`` entry point), so it lives outside the
``wegly_async`` package, whose ``__init__`` loads the whole SDK and aiohttp, and imports
the emulator only inside a fixture a test asks for (Hypothesis ships
``_hypothesis_pytestplugin`` for the same reason). The fixtures are pytest-asyncio
fixtures: they work in its ``strict`` mode (tests marked ``@pytest.mark.asyncio``) and in
``auto`` mode; ``pip install 'wegly-async[testing]'`` brings pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from wegly_async.testing import WeglyEmulator, WeglyEmulatorFactory

NEEDS_PYTEST_ASYNCIO = (
    "the wegly_emulator fixtures need pytest-asyncio, which is not installed: "
    "pip install 'wegly-async[testing]'"
)

try:
    import pytest_asyncio
except ImportError:

    def _needs_pytest_asyncio() -> None:
        """Fail the test with how to install what the fixtures need."""
        pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)

    # Both names still resolve, so a test gets this message, not "fixture not found".
    _emulator_unavailable = pytest.fixture(name="wegly_emulator")(_needs_pytest_asyncio)
    _factory_unavailable = pytest.fixture(name="wegly_emulator_factory")(_needs_pytest_asyncio)

else:

    @pytest_asyncio.fixture
    async def wegly_emulator() -> AsyncIterator[WeglyEmulator]:
        """Yield a started ``WeglyEmulator`` with default options, closed when the test ends."""
        from wegly_async.testing import WeglyEmulator

        async with WeglyEmulator() as emulator:
            yield emulator

    @pytest_asyncio.fixture
    async def wegly_emulator_factory() -> AsyncIterator[WeglyEmulatorFactory]:
        """Yield a factory of started emulators, all closed when the test ends."""
        from wegly_async.testing import WeglyEmulatorFactory

        async with WeglyEmulatorFactory() as factory:
            yield factory
