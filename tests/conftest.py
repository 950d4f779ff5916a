"""Shared fixtures: a faked HTTP layer (aioresponses) and a client wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import wegly_async as wa
from wegly_async.testing import instant_retries

TOKEN = "test-token-Zx9"
BASE_URL = "https://api.wegly.test"
CHAT_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
API = f"{BASE_URL}/integrations/external"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that fake HTTP need an aiohttp that aioresponses supports; see noxfile.py.
    for item in items:
        if "mock_api" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mocked)


@pytest.fixture
def mock_api() -> Iterator[Any]:
    """Fake every aiohttp request with aioresponses."""
    from aioresponses import aioresponses

    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
def sleeps() -> list[float]:
    """Collect the retry delays of the clients a test's fixtures make, which then never sleep."""
    return []


def no_sleeping(client: wa.WeglyClient, request: pytest.FixtureRequest) -> wa.WeglyClient:
    """Make ``client`` record its retry delays in ``sleeps`` when the test asks for them."""
    if "sleeps" in request.fixturenames:
        instant_retries(client, request.getfixturevalue("sleeps"))
    return client


@pytest.fixture
async def client(mock_api: Any, request: pytest.FixtureRequest) -> AsyncIterator[wa.WeglyClient]:
    """Return a client against the faked API."""
    async with wa.WeglyClient(TOKEN, base_url=BASE_URL) as c:
        yield no_sleeping(c, request)
