"""The emulator against hostile or careless clients: every unreadable request is a 4xx with JSON.

Raw bytes go over raw aiohttp (never the SDK), one connection per request: a body the
server cannot read leaves its connection unusable, as on any HTTP server.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from wegly_async.testing import WeglyEmulator

PREFIX = "/integrations/external"
BOUNDARY = "XbOuNdArY"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def chat(emu: WeglyEmulator) -> str:
    return emu.create_chat(events=20, seed=8)


def auth(emu: WeglyEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.token}"}


async def post(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat_id: str, data: bytes, **headers: str
) -> tuple[int, Any]:
    url = f"{emu.base_url}{PREFIX}/chats/{chat_id}/messages"
    async with http.post(url, data=data, headers={**auth(emu), **headers}) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


async def post_json(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat_id: str, payload: Any
) -> tuple[int, Any]:
    return await post(http, emu, chat_id, json.dumps(payload).encode(), **json_type())


def json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}


async def timeline(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat_id: str, **params: str
) -> tuple[int, Any]:
    url = f"{emu.base_url}{PREFIX}/chats/{chat_id}/timeline"
    async with http.get(url, params=params, headers=auth(emu)) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


def part(headers: bytes, data: bytes) -> bytes:
    return b"--" + BOUNDARY.encode() + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


def text_part(name: str, value: str) -> bytes:
    return part(f'Content-Disposition: form-data; name="{name}"'.encode(), value.encode())


def file_part(filename: bytes, data: bytes = b"%PDF-1.7", name: bytes = b"file") -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + name + b'"; filename="' + filename
    return part(disposition + b'"\r\nContent-Type: application/pdf', data)


def wamid_of(emu: WeglyEmulator, chat_id: str) -> str:
    for event in reversed(emu.events(chat_id)):
        wamid = ((event["message"] or {}).get("content_payload") or {}).get("wamid")
        if wamid:
            return str(wamid)
    raise AssertionError("no message with a wamid")


# --- queries and JSON bodies ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["take", "skip"])
@pytest.mark.parametrize("digits", [20, 4_300, 5_000])
async def test_a_huge_take_or_skip_is_400_naming_it(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, name: str, digits: int
) -> None:
    status, body = await timeline(http, emu, chat, **{name: "9" * digits})
    assert status == 400
    assert body["message"].startswith(f"{name} must be an integer from ")
    assert len(body["message"]) < 200  # the value is not echoed whole


async def test_leading_zeros_do_not_make_a_number_large(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    status, body = await timeline(http, emu, chat, take="0" * 30 + "3", skip="0" * 5_000 + "1")
    assert status == 200
    assert [r["id"] for r in body["records"]] == [e["id"] for e in emu.events(chat)[1:4]]
    status, body = await timeline(http, emu, chat, skip=str(2**63))
    assert status == 400
    assert body["message"].startswith("skip must be an integer from 0 to 9223372036854775807")


async def test_the_largest_skip_is_an_empty_page(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    status, body = await timeline(http, emu, chat, skip=str(2**63 - 1))
    assert (status, body) == (200, {"total": 20, "records": []})


@pytest.mark.parametrize(
    ("depth", "fragment"), [(300, "template_fields[0].value must be"), (5_000, "not valid JSON")]
)
async def test_deeply_nested_template_fields_are_400(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, depth: int, fragment: str
) -> None:
    nested = "[" * depth + "1" + "]" * depth
    raw = (
        '{"type": "template", "template": {"name": "oi", "language": "pt_BR"}, '
        f'"template_fields": [{{"component": "BODY", "type": "TEXT", "value": {nested}}}]}}'
    )
    status, body = await post(http, emu, chat, raw.encode(), **json_type())
    assert status == 400
    assert fragment in body["message"]
    assert len(emu.events(chat)) == 20


async def test_a_nested_template_field_value_names_the_field(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    payload = {
        "type": "template",
        "template": {"name": "oi", "language": "pt_BR"},
        "template_fields": [{"component": "BODY", "index": 1, "value": {"a": [1]}}],
    }
    status, body = await post_json(http, emu, chat, payload)
    assert status == 400
    assert body["message"] == ("template_fields[0].value must be a string, number, boolean or null")


async def test_a_bad_gzip_body_is_400(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    headers = {**json_type(), "Content-Encoding": "gzip"}
    status, body = await post(http, emu, chat, b'{"type": "text", "body": "oi"}', **headers)
    assert status == 400
    assert "Content-Encoding" in body["message"]
    good = gzip.compress(b'{"type": "text", "body": "comprimido"}')
    status, body = await post(http, emu, chat, good, **headers)
    assert (status, body["records"][0]["body_text"]) == (201, "comprimido")


async def test_a_bad_gzip_body_logs_no_unhandled_exception(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with WeglyEmulator() as emu:
        chat = emu.create_chat(events=1, seed=9)
        headers = {**json_type(), "Content-Encoding": "gzip"}
        status, _ = await post(http, emu, chat, b"not gzip at all", **headers)
        assert status == 400
    # Closed: every connection handler has finished, lingering included.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- multipart ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [b"x-weird", b"uuencode"])
async def test_an_unknown_content_transfer_encoding_is_400(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, encoding: bytes
) -> None:
    headers = b'Content-Disposition: form-data; name="type"\r\nContent-Transfer-Encoding: '
    data = form(part(headers + encoding, b"text"), text_part("body", "oi"))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 400
    assert "unknown Content-Transfer-Encoding" in body["message"]
    assert encoding.decode() in body["message"]


async def test_a_known_content_transfer_encoding_is_undone(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    headers = b'Content-Disposition: form-data; name="body"\r\nContent-Transfer-Encoding: base64'
    data = form(text_part("type", "text"), part(headers, b"T2zDoQ=="))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert (status, body["records"][0]["body_text"]) == (201, "Olá")


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        (b"a\x07b.pdf", "control characters"),
        (b"a\x1b[2Jb.pdf", "control characters"),
        (b"a\x00b.pdf", "control characters"),
        (b"proposta\xff.pdf", "not UTF-8"),
        (b"\xc3(.pdf", "not UTF-8"),
    ],
)
async def test_a_part_header_with_control_or_non_utf8_bytes_is_400(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, filename: bytes, fragment: str
) -> None:
    data = form(text_part("type", "document"), file_part(filename))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 400
    assert fragment in body["message"]
    assert len(emu.events(chat)) == 20


async def test_a_utf8_file_name_is_accepted(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    name = "Proposta Comercial nº 19615 — São Paulo 📄.pdf"
    data = form(text_part("type", "document"), file_part(name.encode()))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 201, body
    assert body["records"][0]["media"]["file_name"] == name


@pytest.mark.parametrize("name", [b"document", b"arquivo", b"files"])
async def test_a_file_under_the_wrong_part_name_names_the_expected_part(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, name: bytes
) -> None:
    data = form(text_part("type", "document"), file_part(b"a.pdf", b"\xff\xfe\x00", name=name))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 400
    assert body["message"] == (
        f"part '{name.decode()}' carries a file: send the file in a part named 'file'"
    )


async def test_a_text_part_that_is_not_utf8_is_named(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    caption = part(b'Content-Disposition: form-data; name="body"', "legenda".encode("utf-16"))
    data = form(text_part("type", "document"), caption, file_part(b"a.pdf"))
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 400
    assert "text part 'body' must be UTF-8" in body["message"]
    assert "'file'" in body["message"]


# --- reference_wamid: one rule on every type ------------------------------------------------


def referencing(kind: str, wamid: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": kind, "body": "👍", "reference_wamid": wamid}
    if kind == "template":
        payload.update(template={"name": "oi", "language": "pt_BR"})
        del payload["body"]
    return payload


@pytest.mark.parametrize("kind", ["text", "reaction", "template"])
@pytest.mark.parametrize("wamid", ["<string>", "wamid.nao-existe"])
async def test_a_reference_wamid_matching_no_message_is_400_on_every_type(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, kind: str, wamid: str
) -> None:
    status, body = await post_json(http, emu, chat, referencing(kind, wamid))
    assert status == 400
    assert body["message"] == f"reference_wamid {wamid!r} matches no message of this chat"
    assert len(emu.events(chat)) == 20


@pytest.mark.parametrize("kind", ["text", "template"])
async def test_an_empty_reference_wamid_matches_no_message(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, kind: str
) -> None:
    status, body = await post_json(http, emu, chat, referencing(kind, ""))
    assert (status, body["message"]) == (400, "reference_wamid '' matches no message of this chat")


async def test_a_media_reference_wamid_matching_no_message_is_400(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    data = form(
        text_part("type", "document"),
        text_part("reference_wamid", "<string>"),
        file_part(b"a.pdf"),
    )
    status, body = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 400
    assert body["message"] == "reference_wamid '<string>' matches no message of this chat"


@pytest.mark.parametrize("kind", ["text", "reaction", "template"])
async def test_a_reference_wamid_of_this_chat_is_accepted_on_every_type(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, kind: str
) -> None:
    wamid = wamid_of(emu, chat)
    status, body = await post_json(http, emu, chat, referencing(kind, wamid))
    assert status == 201, body
    quoted = body["records"][0]["quoted_message"]
    assert quoted["content_payload"]["wamid"] == wamid


async def test_a_null_reference_wamid_is_no_reference(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    payload = {"type": "text", "body": "oi", "reference_wamid": None}
    status, body = await post_json(http, emu, chat, payload)
    assert (status, body["records"][0]["quoted_message"]) == (201, None)


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("needle", ["19615", "Proposta", "proposta comercial", "nº 19615.pdf"])
async def test_search_finds_a_document_by_its_file_name(
    http: aiohttp.ClientSession, emu: WeglyEmulator, needle: str
) -> None:
    chat = emu.create_chat(events=0, seed=21)
    emu.add_message(chat, "bom dia")
    data = form(
        text_part("type", "document"), file_part("Proposta Comercial nº 19615.pdf".encode())
    )
    status, sent = await post(http, emu, chat, data, **{"Content-Type": MULTIPART})
    assert status == 201
    status, page = await timeline(http, emu, chat, search=needle)
    assert status == 200
    assert page["total"] == 1
    assert [record["message"]["id"] for record in page["records"]] == [sent["records"][0]["id"]]


async def test_search_finds_numbers_in_text_and_not_elsewhere(
    http: aiohttp.ClientSession, emu: WeglyEmulator
) -> None:
    chat = emu.create_chat(events=0, seed=22)
    emu.add_message(chat, "Seu pedido 4471 saiu para entrega")
    emu.add_message(chat, "Obrigado!")
    _, found = await timeline(http, emu, chat, search="4471")
    assert [record["message"]["body_text"] for record in found["records"]] == [
        "Seu pedido 4471 saiu para entrega"
    ]
    _, none = await timeline(http, emu, chat, search="19615")
    assert none == {"total": 0, "records": []}


# --- Authorization --------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["{token}", "Token {token}", "Basic {token}"])
async def test_a_token_without_bearer_is_told_to_use_bearer(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str, header: str
) -> None:
    url = f"{emu.base_url}{PREFIX}/chats/{chat}/timeline"
    async with http.get(url, headers={"Authorization": header.format(token=emu.token)}) as resp:
        status, body = resp.status, await resp.json()
    assert status == 401
    assert "Bearer <token>" in body["message"]
    assert emu.token not in body["message"]


async def test_a_wrong_bearer_token_is_still_invalid(
    http: aiohttp.ClientSession, emu: WeglyEmulator, chat: str
) -> None:
    url = f"{emu.base_url}{PREFIX}/chats/{chat}/timeline"
    async with http.get(url, headers={"Authorization": "Bearer nao-e-este"}) as resp:
        assert (resp.status, await resp.json()) == (
            401,
            {"message": "invalid or expired integration token"},
        )
