"""client.chats: exact send bodies (JSON and multipart), input checks, and the timeline query.

Request building is checked on a MockTransport (``router``); one test checks the form the
aiohttp transport itself encodes (aioresponses).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from conftest import (
    API,
    CHAT_ID,
    SEND_ROUTE,
    TIMELINE_ROUTE,
    Form,
    Router,
    form_of,
    parse_multipart,
)
from yarl import URL

import wegly_async as wa
from wegly_async.testing import MockResponse

SEND_URL = f"{API}/chats/{CHAT_ID}/messages"
FIXTURES = pathlib.Path(__file__).parent / "fixtures"
SEND_DOC = json.loads((FIXTURES / "send_response_doc.json").read_text())
SENT = {
    "total": 1,
    "records": [{"id": "6f1c0a52-3b8e-4f45-9d0e-2a7e5b1c9d10", "status": "processing"}],
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"--not-a-boundary--\r\n"

MEDIA_SENDS = ["send_image", "send_video", "send_audio", "send_document"]


def post_calls(router: Router) -> list[wa.TransportRequest]:
    return router.calls("POST", SEND_ROUTE)


def sent_json(router: Router, index: int = 0) -> Any:
    call = post_calls(router)[index]
    assert call.headers["Content-Type"] == "application/json"
    assert call.content is not None
    return json.loads(call.content)


# --- multipart capture ------------------------------------------------------------------------


async def render_form(data: Any) -> tuple[str, bytes]:
    """Return the Content-Type and bytes aiohttp encodes a FormData into."""
    assert isinstance(data, aiohttp.FormData), type(data)
    writer = data()
    return writer.content_type, await writer.as_bytes()


def capture_forms(router: Router) -> list[Form]:
    """Answer every send with SENT, recording each one's form as the transport rendered it."""
    forms: list[Form] = []

    def answer(request: wa.TransportRequest) -> MockResponse:
        forms.append(form_of(request))
        return MockResponse(200, json=SENT)

    router.post(SEND_ROUTE, handler=answer, repeat=True)
    return forms


async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


# --- JSON sends -------------------------------------------------------------------------------


async def test_send_text_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(SEND_ROUTE, json=SENT)
    result = await mock_client.chats.send_text(CHAT_ID, "Olá, tudo bem?")
    assert sent_json(router) == {"type": "text", "body": "Olá, tudo bem?"}
    assert isinstance(result, wa.SendResult)
    assert result.total == 1
    assert result.records[0].id == SENT["records"][0]["id"]
    assert result.records[0].status == "processing"


async def test_send_text_reply_sets_reference_wamid(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, json=SENT)
    await mock_client.chats.send_text(CHAT_ID, "yes", reply_to="wamid.HBgM123")
    assert sent_json(router) == {
        "type": "text",
        "body": "yes",
        "reference_wamid": "wamid.HBgM123",
    }


async def test_send_goes_to_the_chat_messages_route(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, json=SENT)
    await mock_client.chats.send_text(CHAT_ID, "hi")
    assert [(r.method, r.url, r.path, r.params) for r in router.requests] == [
        ("POST", SEND_URL, SEND_ROUTE, {})
    ]


async def test_send_reaction_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(SEND_ROUTE, json=SENT)
    result = await mock_client.chats.send_reaction(CHAT_ID, "👍", reference_wamid="wamid.ABC")
    assert sent_json(router) == {"type": "reaction", "body": "👍", "reference_wamid": "wamid.ABC"}
    assert isinstance(result, wa.SendResult)


async def test_send_template_body(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(SEND_ROUTE, json=SENT)
    fields = [
        wa.TemplateField("HEADER", "TEXT", value="Promo"),
        wa.TemplateField("BODY", "TEXT", 0, value="Ana"),
        wa.TemplateField("BUTTON", "TEXT", index=1, button_index=0, value="code-1"),
        wa.TemplateField("CAROUSEL", "TEXT", index=2, card_index=3, value="card"),
    ]
    await mock_client.chats.send_template(
        CHAT_ID, name="saudacao_inicial", language="pt_BR", fields=fields
    )
    assert sent_json(router) == {
        "type": "template",
        "template": {"name": "saudacao_inicial", "language": "pt_BR"},
        "template_fields": [
            {"component": "HEADER", "type": "TEXT", "value": "Promo"},
            # index 0 is a value, not a missing one: it must be sent.
            {"component": "BODY", "type": "TEXT", "index": 0, "value": "Ana"},
            {
                "component": "BUTTON",
                "type": "TEXT",
                "index": 1,
                "button_index": 0,
                "value": "code-1",
            },
            {"component": "CAROUSEL", "type": "TEXT", "index": 2, "card_index": 3, "value": "card"},
        ],
    }


async def test_send_template_accepts_any_iterable_of_fields(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, json=SENT)
    fields = (wa.TemplateField("BODY", "TEXT", index=1, value=v) for v in ("a", "b"))
    await mock_client.chats.send_template(CHAT_ID, name="t", language="en", fields=fields)
    assert sent_json(router)["template_fields"] == [
        {"component": "BODY", "type": "TEXT", "index": 1, "value": "a"},
        {"component": "BODY", "type": "TEXT", "index": 1, "value": "b"},
    ]


async def test_send_template_without_fields(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(SEND_ROUTE, json=SENT)
    await mock_client.chats.send_template(CHAT_ID, name="hello_world", language="en_US")
    body = sent_json(router)
    assert body["type"] == "template"
    assert body["template"] == {"name": "hello_world", "language": "en_US"}
    assert body.get("template_fields", []) == []
    assert set(body) <= {"type", "template", "template_fields"}


def _no_none_values(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_none_values(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_none_values(v) for v in value)
    return True


async def test_none_keys_are_never_sent(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(SEND_ROUTE, json=SENT, repeat=True)
    await mock_client.chats.send_text(CHAT_ID, "a", reply_to=None)
    await mock_client.chats.send_template(
        CHAT_ID, name="n", language="pt_BR", fields=[wa.TemplateField("BODY", "TEXT", value="v")]
    )
    for index in range(2):
        raw = post_calls(router)[index].content
        assert raw is not None
        assert b"null" not in raw
        assert _no_none_values(json.loads(raw))


async def test_send_result_decodes_the_documented_response(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, json=SEND_DOC)
    result = await mock_client.chats.send_text(CHAT_ID, "hi")
    assert isinstance(result, wa.SendResult)
    assert result.total == 123
    assert len(result.records) == 1
    message = result.records[0]
    assert isinstance(message, wa.Message)
    assert message.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert message.type == "text"
    assert message.origin == "INBOUND"
    assert message.sent_via == "CONTACT"
    assert message.status == "sent"
    assert message.from_me is True
    assert message.body_text == "<string>"
    assert isinstance(message.meta_timestamp, datetime)
    assert message.meta_timestamp.tzinfo is not None
    assert message.meta_timestamp.isoformat() == "2023-11-07T05:31:56+00:00"
    assert message.created_at is not None
    assert message.created_at.utcoffset() is not None
    assert message.is_history is True
    assert message.history_phase == 123
    assert message.is_media_placeholder is True
    assert len(message.reactions) == 1
    assert isinstance(message.reactions[0], wa.Reaction)
    assert message.reactions[0].actor == "CONTACT"
    assert message.reactions[0].reactor_user_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert isinstance(message.agent, wa.Agent)
    assert isinstance(message.agent.user, wa.User)
    assert message.agent.user.name == "<string>"
    assert isinstance(message.media, wa.Media)
    assert message.media.is_downloaded is True
    assert isinstance(message.call, wa.Call)
    assert message.call.status == "COMPLETED"
    assert message.call.direction == "INBOUND"
    assert message.call.duration_ms == 123
    assert message.call.started_at is not None
    assert message.call.started_at.tzinfo is not None
    assert isinstance(message.quoted_message, wa.Message)
    assert message.quoted_message.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert message.quoted_message.call is None
    assert message.crm_marketing_lead_source == [{}]


# --- multipart sends --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "kind"), [(m, m.removeprefix("send_")) for m in MEDIA_SENDS])
async def test_media_send_is_multipart_with_fields_and_file(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path, method: str, kind: str
) -> None:
    forms = capture_forms(router)
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    send: Callable[..., Awaitable[wa.SendResult]] = getattr(mock_client.chats, method)
    result = await send(CHAT_ID, str(path), caption="Veja só", reply_to="wamid.R1")
    assert isinstance(result, wa.SendResult)
    assert result.records[0].status == "processing"
    (form,) = forms
    assert form.content_type.startswith("multipart/form-data")
    assert set(form.parts) == {"type", "body", "reference_wamid", "file"}
    assert form.parts["type"].data == kind.encode()
    assert form.parts["body"].data == "Veja só".encode()
    assert form.parts["reference_wamid"].data == b"wamid.R1"
    for name in ("type", "body", "reference_wamid"):
        assert form.parts[name].filename is None
    file_part = form.parts["file"]
    assert file_part.filename == "photo.png"
    assert file_part.content_type == "image/png"
    assert file_part.data == PNG


async def test_media_send_without_caption_or_reply_sends_only_type_and_file(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    forms = capture_forms(router)
    await mock_client.chats.send_document(CHAT_ID, b"%PDF-1.7 data", filename="report.pdf")
    (form,) = forms
    assert set(form.parts) == {"type", "file"}
    assert form.parts["type"].data == b"document"
    assert form.parts["file"].filename == "report.pdf"
    assert form.parts["file"].content_type == "application/pdf"
    assert form.parts["file"].data == b"%PDF-1.7 data"


async def test_multipart_request_carries_form_data(mock_api: Any, client: wa.WeglyClient) -> None:
    # The aiohttp transport's own encoding (the tests above see MockTransport's rendering).
    mock_api.post(SEND_URL, payload=SENT)
    await client.chats.send_image(CHAT_ID, PNG, filename="a.png", caption="c")
    (call,) = mock_api.requests[("POST", URL(SEND_URL))]
    data = call.kwargs["data"]
    assert isinstance(data, aiohttp.FormData)
    content_type, body = await render_form(data)
    form = parse_multipart(content_type, body)
    assert form.parts["file"].data == PNG
    assert form.parts["body"].data == b"c"
    # A multipart body must not be labelled as JSON.
    assert "application/json" not in str(call.kwargs["headers"].get("Content-Type", ""))


async def test_file_as_pathlib_path(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    forms = capture_forms(router)
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * 200_000)
    await mock_client.chats.send_document(CHAT_ID, path)
    file_part = forms[0].parts["file"]
    assert file_part.filename == "contract.pdf"
    assert file_part.content_type == "application/pdf"
    assert file_part.data == path.read_bytes()


async def test_file_as_bytes_without_name_is_octet_stream(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    forms = capture_forms(router)
    await mock_client.chats.send_document(CHAT_ID, b"\x00\x01raw")
    file_part = forms[0].parts["file"]
    assert file_part.content_type == "application/octet-stream"
    assert file_part.filename  # a file part always carries a filename
    assert file_part.data == b"\x00\x01raw"


@pytest.mark.parametrize("data", [bytearray(b"abc\x00"), memoryview(b"abc\x00")])
async def test_file_as_bytes_like(router: Router, mock_client: wa.WeglyClient, data: Any) -> None:
    forms = capture_forms(router)
    await mock_client.chats.send_document(CHAT_ID, data, filename="x.bin")
    assert forms[0].parts["file"].data == b"abc\x00"


@pytest.mark.parametrize(
    ("filename", "mime_type", "expected"),
    [
        ("photo.png", None, "image/png"),
        ("doc.pdf", None, "application/pdf"),
        ("clip.mp4", None, "video/mp4"),
        ("blob.unknownext", None, "application/octet-stream"),
        ("photo.png", "image/webp", "image/webp"),
        ("voice.bin", "audio/ogg", "audio/ogg"),
    ],
)
async def test_content_type_from_mime_type_then_filename_then_default(
    router: Router,
    mock_client: wa.WeglyClient,
    filename: str,
    mime_type: str | None,
    expected: str,
) -> None:
    forms = capture_forms(router)
    await mock_client.chats.send_document(CHAT_ID, b"data", filename=filename, mime_type=mime_type)
    file_part = forms[0].parts["file"]
    assert file_part.content_type == expected
    assert file_part.filename == filename


async def test_filename_argument_overrides_the_path_name(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    forms = capture_forms(router)
    path = tmp_path / "tmp123"
    path.write_bytes(b"%PDF")
    await mock_client.chats.send_document(CHAT_ID, path, filename="Invoice.pdf")
    assert forms[0].parts["file"].filename == "Invoice.pdf"
    assert forms[0].parts["file"].content_type == "application/pdf"


async def test_file_as_bytesio_is_sent_and_not_closed(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    forms = capture_forms(router)
    buffer = io.BytesIO(PNG)
    await mock_client.chats.send_image(CHAT_ID, buffer, filename="in-memory.png")
    assert not buffer.closed
    assert forms[0].parts["file"].data == PNG
    assert forms[0].parts["file"].content_type == "image/png"
    assert forms[0].parts["file"].filename == "in-memory.png"


async def test_file_as_open_binary_file_is_sent_and_not_closed(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    forms = capture_forms(router)
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7 scanned")
    with path.open("rb") as handle:
        await mock_client.chats.send_document(CHAT_ID, handle)
        assert not handle.closed
    file_part = forms[0].parts["file"]
    assert file_part.data == b"%PDF-1.7 scanned"
    assert file_part.filename == "scan.pdf"
    assert file_part.content_type == "application/pdf"


async def test_file_as_async_iterable(router: Router, mock_client: wa.WeglyClient) -> None:
    forms = capture_forms(router)
    await mock_client.chats.send_audio(
        CHAT_ID,
        chunks(b"OggS", b"-part-2", b"-part-3"),
        filename="voice.ogg",
        mime_type="audio/ogg",
    )
    file_part = forms[0].parts["file"]
    assert file_part.data == b"OggS-part-2-part-3"
    assert file_part.filename == "voice.ogg"
    assert file_part.content_type == "audio/ogg"
    assert forms[0].parts["type"].data == b"audio"


async def test_missing_path_raises_before_any_request(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError):
        await mock_client.chats.send_image(CHAT_ID, missing)
    with pytest.raises(FileNotFoundError):
        await mock_client.chats.send_image(CHAT_ID, str(missing))
    assert router.requests == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
async def test_a_path_that_is_not_a_regular_file_raises_before_any_request(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="regular file"):
        await mock_client.chats.send_image(CHAT_ID, fifo)
    assert router.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
async def test_an_unreadable_path_raises_before_any_request(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(b"\x89PNG")
    locked.chmod(0)
    with pytest.raises(PermissionError):
        await mock_client.chats.send_image(CHAT_ID, locked)
    assert router.requests == []


async def test_text_mode_file_raises_type_error(
    router: Router, mock_client: wa.WeglyClient, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open("r") as handle, pytest.raises(TypeError, match="binary"):
        await mock_client.chats.send_document(CHAT_ID, handle)
    with pytest.raises(TypeError):
        await mock_client.chats.send_document(CHAT_ID, io.StringIO("hello"))
    assert router.requests == []


@pytest.mark.parametrize("bad", [123, None, 4.5, ["a"]])
async def test_unsupported_file_type_raises_type_error(
    router: Router, mock_client: wa.WeglyClient, bad: Any
) -> None:
    with pytest.raises(TypeError):
        await mock_client.chats.send_document(CHAT_ID, bad)
    assert router.requests == []


# --- validation before any request ---------------------------------------------------------

BAD_CHAT_IDS = [
    "../etc",
    "abc",
    "",
    f"{CHAT_ID}/../../admin",
    f"../{CHAT_ID}",
    "3c90c3cc-0d44-4b50-8888-8dd25736052",  # one digit short
    123,
    None,
]


def _calls_with_chat_id(chat_id: Any) -> list[Callable[[wa.WeglyClient], Awaitable[Any]]]:
    return [
        lambda c: c.chats.send_text(chat_id, "hi"),
        lambda c: c.chats.send_reaction(chat_id, "👍", reference_wamid="wamid.1"),
        lambda c: c.chats.send_template(chat_id, name="t", language="en"),
        lambda c: c.chats.send_image(chat_id, b"png", filename="a.png"),
        lambda c: c.chats.send_video(chat_id, b"mp4", filename="a.mp4"),
        lambda c: c.chats.send_audio(chat_id, b"ogg", filename="a.ogg"),
        lambda c: c.chats.send_document(chat_id, b"pdf", filename="a.pdf"),
    ]


@pytest.mark.parametrize("chat_id", BAD_CHAT_IDS, ids=repr)
async def test_bad_chat_id_never_reaches_the_network(
    router: Router, mock_client: wa.WeglyClient, chat_id: Any
) -> None:
    for call in _calls_with_chat_id(chat_id):
        with pytest.raises((ValueError, TypeError), match="chat_id"):
            await call(mock_client)
    with pytest.raises((ValueError, TypeError), match="chat_id"):
        mock_client.chats.timeline(chat_id)
    assert router.requests == []


@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
async def test_empty_text_body_is_rejected(
    router: Router, mock_client: wa.WeglyClient, body: str
) -> None:
    with pytest.raises(ValueError, match="body"):
        await mock_client.chats.send_text(CHAT_ID, body)
    assert router.requests == []


async def test_non_str_text_body_is_rejected(router: Router, mock_client: wa.WeglyClient) -> None:
    with pytest.raises(TypeError, match="body"):
        await mock_client.chats.send_text(CHAT_ID, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="body"):
        await mock_client.chats.send_text(CHAT_ID, b"bytes")  # type: ignore[arg-type]
    assert router.requests == []


@pytest.mark.parametrize("emoji", ["", " "])
async def test_empty_emoji_is_rejected(
    router: Router, mock_client: wa.WeglyClient, emoji: str
) -> None:
    with pytest.raises(ValueError, match="emoji"):
        await mock_client.chats.send_reaction(CHAT_ID, emoji, reference_wamid="wamid.1")
    assert router.requests == []


@pytest.mark.parametrize("wamid", ["", "  "])
async def test_empty_reference_wamid_is_rejected(
    router: Router, mock_client: wa.WeglyClient, wamid: str
) -> None:
    with pytest.raises(ValueError, match="reference_wamid"):
        await mock_client.chats.send_reaction(CHAT_ID, "👍", reference_wamid=wamid)
    assert router.requests == []


@pytest.mark.parametrize(
    ("name", "language", "problem"),
    [("", "pt_BR", "name"), ("  ", "pt_BR", "name"), ("t", "", "language"), ("t", " ", "language")],
)
async def test_empty_template_name_or_language_is_rejected(
    router: Router, mock_client: wa.WeglyClient, name: str, language: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await mock_client.chats.send_template(CHAT_ID, name=name, language=language)
    assert router.requests == []


@pytest.mark.parametrize(
    "fields",
    [
        [{"component": "BODY", "type": "TEXT", "value": "x"}],
        [wa.TemplateField("BODY", "TEXT", value="ok"), "not a field"],
        [None],
    ],
)
async def test_template_fields_must_be_template_field_objects(
    router: Router, mock_client: wa.WeglyClient, fields: list[Any]
) -> None:
    with pytest.raises(TypeError, match="TemplateField"):
        await mock_client.chats.send_template(CHAT_ID, name="t", language="en", fields=fields)
    assert router.requests == []


# --- timeline query ------------------------------------------------------------------------


def mock_timeline(router: Router) -> None:
    router.get(TIMELINE_ROUTE, json={"total": 0, "records": []}, repeat=True)


def timeline_queries(router: Router) -> list[dict[str, str]]:
    queries = []
    for call in router.requests:
        assert call.method == "GET"
        assert call.url == f"{API}/chats/{CHAT_ID}/timeline"
        queries.append(dict(call.params))
    return queries


async def test_timeline_default_query(router: Router, mock_client: wa.WeglyClient) -> None:
    mock_timeline(router)
    pager = mock_client.chats.timeline(CHAT_ID)
    assert isinstance(pager, wa.TimelinePager)
    assert await pager.to_list() == []
    assert timeline_queries(router) == [{"skip": "0", "take": "100", "order": "asc"}]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (wa.Order.DESC, "desc"),
        ("desc", "desc"),
        (wa.Order.ASC, "asc"),
        ("asc", "asc"),
    ],
)
async def test_timeline_order_is_always_sent(
    router: Router, mock_client: wa.WeglyClient, order: Any, expected: str
) -> None:
    mock_timeline(router)
    await mock_client.chats.timeline(CHAT_ID, order=order).to_list()
    assert timeline_queries(router) == [{"skip": "0", "take": "100", "order": expected}]


async def test_timeline_search_skip_take_are_sent(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    mock_timeline(router)
    await mock_client.chats.timeline(CHAT_ID, search="pedido 42", take=25, skip=10).to_list()
    assert timeline_queries(router) == [
        {"skip": "10", "take": "25", "order": "asc", "search": "pedido 42"}
    ]


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"take": 0}, ValueError, "take"),
        ({"take": -5}, ValueError, "take"),
        ({"skip": -1}, ValueError, "skip"),
        ({"order": "up"}, ValueError, "order"),
        ({"order": ""}, ValueError, "order"),
        ({"order": None}, (ValueError, TypeError), "order"),
        ({"take": "10"}, (TypeError, ValueError), "take"),
        ({"take": 2.5}, (TypeError, ValueError), "take"),
        ({"skip": "0"}, (TypeError, ValueError), "skip"),
    ],
)
async def test_bad_timeline_arguments_raise_at_call_time(
    router: Router,
    mock_client: wa.WeglyClient,
    kwargs: dict[str, Any],
    exc: type[Exception] | tuple[type[Exception], ...],
    word: str,
) -> None:
    mock_timeline(router)
    # No iteration at all: the call itself must raise.
    with pytest.raises(exc, match=word):
        mock_client.chats.timeline(CHAT_ID, **kwargs)
    assert router.requests == []
