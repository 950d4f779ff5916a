"""examples/webform_to_lead.py, served on loopback in front of the emulator: a posted form
becomes a lead, a form without a name makes no request, the emulator's 400 is passed on."""

from __future__ import annotations

import importlib.util
import pathlib
from collections.abc import AsyncIterator
from types import ModuleType

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from wegly_async.testing import WeglyEmulator

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "webform_to_lead.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webform_to_lead", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


@pytest.fixture
async def form_url(emu: WeglyEmulator) -> AsyncIterator[str]:
    example = load_example()
    async with emu.client(max_retries=0) as client:
        server = TestServer(example.make_app(client), host="127.0.0.1", port=0)
        await server.start_server()
        try:
            yield str(server.make_url("/lead"))
        finally:
            await server.close()


async def post(url: str, form: dict[str, str]) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        return response.status, await response.json()


async def test_a_posted_form_becomes_a_lead(emu: WeglyEmulator, form_url: str) -> None:
    form = {"name": "Ana", "phone": "+5511999990000", "interest": "CRM"}
    assert await post(form_url, form) == (201, {"lead": 1})
    assert await post(form_url, {"name": "Bruno", "email": "b@example.com"}) == (201, {"lead": 2})
    assert [request.json for request in emu.requests] == [
        {
            "title": "Formulário do site: Ana",
            "phone": "+5511999990000",
            "tags": ["site"],
            "lead_source": {"name": "Formulário do site"},
            "note": {"content": "Interesse: CRM"},
        },
        {
            "title": "Formulário do site: Bruno",
            "email": "b@example.com",
            "tags": ["site"],
            "lead_source": {"name": "Formulário do site"},
        },
    ]


async def test_a_form_without_a_name_makes_no_request(emu: WeglyEmulator, form_url: str) -> None:
    assert await post(form_url, {"name": "  ", "phone": "1"}) == (
        400,
        {"error": "name is required"},
    )
    assert emu.requests == []


async def test_the_apis_refusal_is_passed_on(emu: WeglyEmulator, form_url: str) -> None:
    emu.inject(400, body={"message": "phone is not a phone number"})
    assert await post(form_url, {"name": "Ana", "phone": "x"}) == (
        422,
        {"error": "phone is not a phone number"},
    )
