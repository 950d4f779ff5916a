"""Error mapping: status -> class, the server's message, bad 2xx bodies, the hierarchy.

Answers come from a MockTransport (``router``): the mapping is the pipeline's, whatever
the transport.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import CHAT_ID, SEND_ROUTE, TIMELINE_ROUTE, Router

import wegly_async as wa


@pytest.fixture
def client0(router: Router) -> wa.WeglyClient:
    """A client that never retries, so each error comes from exactly one answer."""
    return router.client(max_retries=0)


async def _send_error(client: wa.WeglyClient) -> wa.WeglyError:
    with pytest.raises(wa.WeglyError) as info:
        await client.chats.send_text(CHAT_ID, "hello")
    return info.value


# --- status -> class ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, wa.BadRequestError),
        (401, wa.AuthenticationError),
        (403, wa.PermissionDeniedError),
        (404, wa.NotFoundError),
        (409, wa.ConflictError),
        (422, wa.UnprocessableEntityError),
        (429, wa.RateLimitError),
        (500, wa.InternalServerError),
        (502, wa.InternalServerError),
        (503, wa.InternalServerError),
    ],
)
async def test_status_maps_to_its_error_class(
    router: Router, client0: wa.WeglyClient, status: int, cls: type[wa.APIStatusError]
) -> None:
    router.post(SEND_ROUTE, status, json={"message": f"boom {status}"})
    error = await _send_error(client0)
    assert type(error) is cls
    assert isinstance(error, wa.APIStatusError)
    assert isinstance(error, wa.WeglyError)
    assert not isinstance(error, wa.APIConnectionError)
    assert error.status_code == status
    assert error.message == f"boom {status}"
    assert f"boom {status}" in str(error)


@pytest.mark.parametrize("status", [402, 405, 418, 451])
async def test_unlisted_4xx_status_is_a_plain_status_error(
    router: Router, client0: wa.WeglyClient, status: int
) -> None:
    router.post(SEND_ROUTE, status, json={"message": "teapot"})
    error = await _send_error(client0)
    assert type(error) is wa.APIStatusError
    assert error.status_code == status
    assert "teapot" in str(error)


async def test_status_error_on_a_timeline_read(router: Router, client0: wa.WeglyClient) -> None:
    router.get(TIMELINE_ROUTE, 404, json={"message": "chat not found"})
    with pytest.raises(wa.NotFoundError) as info:
        await client0.chats.timeline(CHAT_ID).to_list()
    assert info.value.status_code == 404
    assert info.value.message == "chat not found"
    assert "chat not found" in str(info.value)


@pytest.mark.parametrize(
    "cls",
    [
        wa.BadRequestError,
        wa.AuthenticationError,
        wa.PermissionDeniedError,
        wa.NotFoundError,
        wa.ConflictError,
        wa.UnprocessableEntityError,
        wa.RateLimitError,
        wa.InternalServerError,
    ],
)
def test_every_status_class_is_an_api_status_error(cls: type[Exception]) -> None:
    assert issubclass(cls, wa.APIStatusError)
    assert issubclass(cls, wa.WeglyError)
    assert not issubclass(cls, wa.APIConnectionError)
    assert not issubclass(cls, wa.InvalidResponseError)


# --- the server's message, body and headers -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "chat is archived"}, "chat is archived"),
        ({"error": "token expired"}, "token expired"),
        ({"detail": "body is required"}, "body is required"),
        ({"message": "", "error": "fallback to error"}, "fallback to error"),
        ({"statusCode": 400, "error": "Bad Request", "message": "name is taken"}, "name is taken"),
    ],
)
async def test_message_comes_from_the_json_error_body(
    router: Router, client0: wa.WeglyClient, body: dict[str, Any], expected: str
) -> None:
    router.post(SEND_ROUTE, 400, json=body)
    error = await _send_error(client0)
    assert isinstance(error, wa.BadRequestError)
    assert error.message == expected
    assert expected in str(error)
    assert error.body == body


async def test_list_of_messages_keeps_every_message(
    router: Router, client0: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, 422, json={"message": ["body must be a string", "type is invalid"]})
    error = await _send_error(client0)
    assert isinstance(error, wa.UnprocessableEntityError)
    assert "body must be a string" in error.message
    assert "type is invalid" in error.message
    assert "[" not in error.message, "the list is turned into text, not shown as JSON"
    assert "type is invalid" in str(error)


async def test_non_json_error_body_keeps_the_raw_text(
    router: Router, client0: wa.WeglyClient
) -> None:
    router.post(
        SEND_ROUTE,
        502,
        content="<html>Bad Gateway from nginx</html>",
        headers={"Content-Type": "text/html"},
    )
    error = await _send_error(client0)
    assert isinstance(error, wa.InternalServerError)
    assert error.status_code == 502
    assert "Bad Gateway from nginx" in error.message
    assert "Bad Gateway from nginx" in str(error)
    assert error.body == "<html>Bad Gateway from nginx</html>"


async def test_status_error_exposes_parsed_body_and_headers(
    router: Router, client0: wa.WeglyClient
) -> None:
    payload = {"message": "no such chat", "code": "CHAT_NOT_FOUND", "extra": [1, 2]}
    router.post(SEND_ROUTE, 404, json=payload, headers={"X-Request-Id": "req-42"})
    error = await _send_error(client0)
    assert isinstance(error, wa.NotFoundError)
    assert error.body == payload
    assert error.headers["X-Request-Id"] == "req-42"
    # Header lookups are case-insensitive, as HTTP headers are.
    assert error.headers["x-request-id"] == "req-42"


async def test_rate_limit_error_carries_retry_after(
    router: Router, client0: wa.WeglyClient
) -> None:
    router.post(SEND_ROUTE, 429, json={"message": "slow down"}, headers={"Retry-After": "7"})
    error = await _send_error(client0)
    assert isinstance(error, wa.RateLimitError)
    assert error.retry_after == 7.0
    assert "slow down" in str(error)


# --- 2xx bodies that are not what we expect -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<html>maintenance page</html>",
        "",
        "not json at all",
        "[]",
        '"just a string"',
        '{"total": "x", "records": []}',
        '{"total": 1}',
        '{"records": []}',
        '{"total": 1, "records": "abc"}',
        '{"total": null, "records": []}',
        '{"total": 1, "records": [{"type": "text"}]}',
        '{"total": 1, "records": [{"id": "m1", "created_at": "not a date"}]}',
    ],
)
async def test_bad_send_success_body_raises_invalid_response(
    router: Router, client0: wa.WeglyClient, body: str
) -> None:
    router.post(SEND_ROUTE, 201, content=body)
    error = await _send_error(client0)
    assert type(error) is wa.InvalidResponseError
    assert not isinstance(error, json.JSONDecodeError | KeyError | TypeError)
    assert not isinstance(error, wa.APIConnectionError | wa.APIStatusError)
    assert "201" in str(error)
    assert body[:30] in str(error)


@pytest.mark.parametrize(
    "body",
    [
        "<!doctype html><p>oops</p>",
        "{}",
        '{"total": 3, "records": {"id": "x"}}',
        '{"total": 1, "records": [{"event_type": "MESSAGE"}]}',
    ],
)
async def test_bad_timeline_success_body_raises_invalid_response(
    router: Router, client0: wa.WeglyClient, body: str
) -> None:
    router.get(TIMELINE_ROUTE, 200, content=body)
    with pytest.raises(wa.InvalidResponseError) as info:
        await client0.chats.timeline(CHAT_ID).to_list()
    message = str(info.value)
    assert "200" in message
    assert body[:20] in message


@pytest.mark.parametrize(
    "record",
    [
        # A timestamp no datetime can hold is a body we cannot understand, not an
        # OSError or OverflowError from deep inside the decoder.
        '{"id": "m1", "created_at": 1e20}',
        '{"id": "m1", "meta_timestamp": "99999999999999999999"}',
        '{"id": "m1", "created_at": -1e18}',
        # Wrong-shape JSON must not be coerced into plausible-looking models
        # (bool("false") is True; str({...}) is "{...}"; a list is not an object).
        '{"id": "m1", "from_me": "false"}',
        '{"id": "m1", "body_text": {"nested": "object"}}',
        '{"id": "m1", "media": [1, 2]}',
        '{"id": "m1", "agent": "bob"}',
        '{"id": {"not": "a string"}}',
    ],
    ids=[
        "float-epoch",
        "digit-string-epoch",
        "negative-epoch",
        "bool-as-string",
        "object-as-text",
        "list-as-object",
        "string-as-object",
        "object-id",
    ],
)
async def test_undecodable_records_raise_invalid_response(
    router: Router, client0: wa.WeglyClient, record: str
) -> None:
    body = f'{{"total": 1, "records": [{record}]}}'
    router.post(SEND_ROUTE, 200, content=body)
    with pytest.raises(wa.InvalidResponseError) as info:
        await client0.chats.send_text(CHAT_ID, "hello")
    assert "200" in str(info.value)


async def test_invalid_response_snippet_is_bounded(router: Router, client0: wa.WeglyClient) -> None:
    body = "<html>" + "x" * 5000 + "</html>"
    router.post(SEND_ROUTE, 200, content=body)
    error = await _send_error(client0)
    assert isinstance(error, wa.InvalidResponseError)
    assert "<html>xxxx" in str(error)
    assert len(str(error)) < 1000


def test_hierarchy() -> None:
    assert issubclass(wa.APIConnectionError, wa.WeglyError)
    assert issubclass(wa.APIStatusError, wa.WeglyError)
    assert issubclass(wa.APITimeoutError, wa.APIConnectionError)
    assert issubclass(wa.SendOutcomeUnknownError, wa.APIConnectionError)
    assert issubclass(wa.SendTimeoutError, wa.SendOutcomeUnknownError)
    assert issubclass(wa.SendTimeoutError, wa.APITimeoutError)
    assert issubclass(wa.InvalidResponseError, wa.WeglyError)
    assert not issubclass(wa.InvalidResponseError, wa.APIConnectionError)
    assert not issubclass(wa.InvalidResponseError, wa.APIStatusError)
    assert not issubclass(wa.APIStatusError, wa.APIConnectionError)
    assert not issubclass(wa.APIConnectionError, wa.APIStatusError)
    assert issubclass(wa.WeglyError, Exception)
