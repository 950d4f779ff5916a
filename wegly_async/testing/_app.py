"""Serve the Wegly external API over aiohttp.web: routes, checks, recording and faults."""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import re
from collections import deque
from typing import Any, Final

import attrs
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._body import FILE_PART, Body, RecordedPart, read_body
from ._rate_limit import TokenBucket
from ._store import MEDIA_TYPES, Chat, SendRequest, Store, Upload

PREFIX: Final = "/integrations/external"
SEND_TYPES: Final = ("text", "reaction", "image", "video", "audio", "document", "template")
DEFAULT_TAKE: Final = 10
# Uploads go up to WhatsApp's 100 MB document limit.
MAX_BODY_BYTES: Final = 100 * 1024 * 1024
_OWN_ROUTES: Final = {"interactive", "location"}
_UUID_RE: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_JSON: Final = "application/json"
# The largest skip or take accepted, like a server storing them in a 64-bit integer.
_MAX_INT: Final = 2**63 - 1


@attrs.frozen
class RecordedRequest:
    """One request the emulator received, as it arrived (before any check)."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDictProxy[str]
    json: Any
    parts: dict[str, RecordedPart]


@attrs.frozen
class Fault:
    """A scripted misbehaviour for the next matching requests."""

    status: int | None
    method: str | None
    retry_after: str | None
    body: Any
    delay: float
    drop: bool

    def response(self) -> web.Response:
        """Build the injected answer (only for faults with a status)."""
        assert self.status is not None
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, content_type="text/plain")
        body = {"message": f"injected {self.status}"} if self.body is None else self.body
        return _json_response(self.status, body)


@attrs.define
class _Pending:
    fault: Fault
    remaining: int


class FaultQueue:
    """Hand out scripted faults in FIFO order to the requests they match."""

    def __init__(self) -> None:
        self._pending: deque[_Pending] = deque()

    def add(self, fault: Fault, times: int) -> None:
        """Queue ``fault`` for the next ``times`` matching requests."""
        self._pending.append(_Pending(fault, times))

    def take(self, method: str) -> Fault | None:
        """Consume and return the first fault that matches ``method``, if any."""
        for pending in self._pending:
            if pending.fault.method in (None, method):
                pending.remaining -= 1
                if pending.remaining == 0:
                    self._pending.remove(pending)
                return pending.fault
        return None

    def __len__(self) -> int:
        return sum(pending.remaining for pending in self._pending)


@attrs.define
class ServerState:
    """Everything the web app shares with its ``WeglyEmulator``."""

    store: Store
    token: str
    allowed_domain: str | None
    latency: float
    max_take: int | None
    faults: FaultQueue = attrs.Factory(FaultQueue)
    requests: list[RecordedRequest] = attrs.Factory(list)
    rate: TokenBucket | None = None


class ApiError(Exception):
    """Answer the current request with ``{"message": ...}`` and this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# aiohttp's request storage warns about string keys on new versions and lacks typed keys
# on old ones; the middleware and the handler run in the same task, so a context
# variable carries the parsed body between them on every aiohttp version.
_BODY: contextvars.ContextVar[Body] = contextvars.ContextVar("wegly_emulator_body")


def build_app(state: ServerState) -> web.Application:
    """Create the ``aiohttp.web`` application serving ``state``."""
    app = web.Application(middlewares=[_middleware(state)], client_max_size=MAX_BODY_BYTES)
    routes = _Routes(state)
    app.router.add_post(PREFIX + "/chats/{chat_id}/messages", routes.send)
    app.router.add_get(PREFIX + "/chats/{chat_id}/timeline", routes.timeline)
    app.router.add_get("/media/{media_id}", routes.media)
    return app


def _middleware(state: ServerState) -> Middleware:
    @web.middleware
    async def emulate(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await read_body(request)
        state.requests.append(_record(request, body))
        _BODY.set(body)
        if state.latency:
            await asyncio.sleep(state.latency)
        fault = state.faults.take(request.method)
        if fault is not None and fault.status is not None:
            await asyncio.sleep(fault.delay)
            return _drop(request) if fault.drop else _with_retry_after(fault.response(), fault)
        response = await _dispatch(state, request, handler)
        if fault is None:
            return response
        await asyncio.sleep(fault.delay)
        return _drop(request) if fault.drop else _with_retry_after(response, fault)

    return emulate


async def _dispatch(state: ServerState, request: web.Request, handler: Handler) -> web.Response:
    try:
        # Routing comes first, as in common API frameworks: an unknown route is a 404
        # even without a token.
        if request.match_info.http_exception is None:
            _check_access(state, request)
            if state.rate is not None:
                wait = state.rate.take()
                if wait is not None:
                    return _rate_limited(state.rate, wait)
        response = await handler(request)
    except ApiError as exc:
        return _json_response(exc.status, {"message": exc.message})
    except web.HTTPException as exc:
        error = _json_response(exc.status, {"message": f"{exc.reason}: {request.path}"})
        if "Allow" in exc.headers:
            error.headers["Allow"] = exc.headers["Allow"]
        return error
    assert isinstance(response, web.Response)
    if state.rate is not None and state.rate.headers:
        response.headers.update(state.rate.answer_headers(None))
    return response


def _rate_limited(bucket: TokenBucket, wait: float) -> web.Response:
    rate = f"{bucket.per_second:g}"
    response = _json_response(429, {"message": f"rate limit exceeded: {rate} requests per second"})
    response.headers.update(bucket.answer_headers(wait))
    return response


def _check_access(state: ServerState, request: web.Request) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        # Never echoed: a bare header is most likely the token itself.
        raise ApiError(
            401, "the Authorization header must be 'Bearer <token>': put 'Bearer ' before it"
        )
    if not hmac.compare_digest(credentials.strip().encode(), state.token.encode()):
        raise ApiError(401, "invalid or expired integration token")
    if state.allowed_domain is not None and _origin_host(request) != state.allowed_domain:
        raise ApiError(403, f"this key only accepts requests from {state.allowed_domain}")


def _origin_host(request: web.Request) -> str | None:
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            try:
                host = URL(value).host
            except ValueError:
                return None
            return host.lower() if host else None
    return None


def _record(request: web.Request, body: Body) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query={key: request.query.getone(key) for key in request.query},
        headers=CIMultiDictProxy(CIMultiDict(request.headers)),
        json=body.json,
        parts={part.name: part for part in reversed(body.parts)},
    )


def _drop(request: web.Request) -> web.Response:
    # Closing the transport before the answer makes aiohttp's write fail quietly, so the
    # client sees the connection end with no HTTP response at all.
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


def _with_retry_after(response: web.Response, fault: Fault) -> web.Response:
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


def _json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type=_JSON)


class _Routes:
    """The route handlers, bound to one emulator's state."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def _chat(self, request: web.Request) -> Chat:
        chat_id = request.match_info["chat_id"]
        if not _UUID_RE.fullmatch(chat_id):
            raise ApiError(400, f"chat id must be a UUID, got {chat_id!r}")
        chat = self.state.store.chats.get(chat_id.lower())
        if chat is None:
            raise ApiError(404, f"chat {chat_id} not found")
        return chat

    async def timeline(self, request: web.Request) -> web.Response:
        """Answer ``GET /chats/{id}/timeline`` with one page of events."""
        chat = self._chat(request)
        query = request.query
        skip = _int_param(query.get("skip"), "skip", default=0, minimum=0)
        take = _int_param(query.get("take"), "take", default=DEFAULT_TAKE, minimum=1)
        order = query.get("order", "asc")
        if order not in ("asc", "desc"):
            raise ApiError(400, f"order must be 'asc' or 'desc', got {order!r}")
        if self.state.max_take is not None:
            take = min(take, self.state.max_take)
        search = (query.get("search") or "").strip() or None
        body = chat.page(skip=skip, take=take, descending=order == "desc", search=search)
        return web.Response(body=body, content_type=_JSON)

    async def send(self, request: web.Request) -> web.Response:
        """Answer ``POST /chats/{id}/messages``: store the message and echo it back."""
        chat = self._chat(request)
        send = _parse_send(_BODY.get())
        check_reference(chat, send.reference_wamid)
        base_url = str(request.url.origin())
        message = self.state.store.send(chat, send, base_url)
        return _json_response(201, {"total": 1, "records": [message]})

    async def media(self, request: web.Request) -> web.Response:
        """Answer ``GET /media/{id}`` with the bytes of an uploaded file."""
        upload = self.state.store.media.get(request.match_info["media_id"])
        if upload is None:
            raise ApiError(404, "media not found")
        return web.Response(body=upload.data, headers={"Content-Type": upload.content_type})


def check_reference(chat: Chat, wamid: str | None) -> None:
    """Refuse a ``reference_wamid`` that names no message of ``chat``, whatever the route.

    The one rule for every route that takes one (API.md is silent): absent or null means
    no reference; any string must be the wamid of a message of this chat, else 400.
    """
    if wamid is not None and wamid not in chat.by_wamid:
        raise ApiError(400, f"reference_wamid {wamid[:100]!r} matches no message of this chat")


def _int_param(raw: str | None, name: str, *, default: int, minimum: int) -> int:
    if raw is None:
        return default
    digits = raw.lstrip("0") or "0"
    # Measured before int(): Python refuses to convert 4,300 digits and more.
    if not (raw.isascii() and raw.isdigit() and len(digits) <= len(str(_MAX_INT))):
        value = None
    else:
        value = int(digits)
    if value is None or not minimum <= value <= _MAX_INT:
        raise ApiError(
            400, f"{name} must be an integer from {minimum} to {_MAX_INT}, got {raw[:30]!r}"
        )
    return value


def _parse_send(body: Body) -> SendRequest:
    """Validate a send request's body like the API does, naming the first problem."""
    if body.error is not None:
        raise ApiError(body.error_status, body.error)
    fields, upload = _send_fields(body)
    kind = _send_type(fields.get("type"))
    text = _optional_str(fields, "body")
    reference = _optional_str(fields, "reference_wamid")
    if kind in ("text", "reaction") and not (text and text.strip()):
        raise ApiError(400, f"body is required for type={kind}")
    if kind == "reaction" and not reference:
        raise ApiError(400, "reference_wamid is required for type=reaction")
    if kind in MEDIA_TYPES and upload is None:
        raise ApiError(
            400, f"type={kind} needs a file: send multipart/form-data with a part named 'file'"
        )
    if kind not in MEDIA_TYPES and upload is not None:
        raise ApiError(400, f"a file is only accepted for {', '.join(sorted(MEDIA_TYPES))}")
    template, template_fields = _template(fields) if kind == "template" else (None, None)
    return SendRequest(kind, text, reference, template, template_fields, upload)


def _send_fields(body: Body) -> tuple[dict[str, Any], Upload | None]:
    if not body.parts:
        if body.json is None:
            raise ApiError(400, "the request body is empty: send a JSON object")
        if not isinstance(body.json, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return body.json, None
    files = [part for part in body.parts if part.name == FILE_PART]
    if len(files) > 1:
        raise ApiError(400, f"send at most one part named {FILE_PART!r}")
    fields = {part.name: _text_part(part) for part in body.parts if part.name != FILE_PART}
    if not files:
        return fields, None
    file = files[0]
    if not file.data:
        raise ApiError(400, "the 'file' part is empty")
    upload = Upload(
        data=file.data,
        content_type=file.content_type or "application/octet-stream",
        file_name=file.filename or "file",
    )
    return fields, upload


def _text_part(part: RecordedPart) -> str:
    if part.filename is not None:
        raise ApiError(
            400,
            f"part {part.name[:60]!r} carries a file: send the file in a part named {FILE_PART!r}",
        )
    try:
        return part.text
    except UnicodeDecodeError:
        raise ApiError(
            400,
            f"multipart text part {part.name[:60]!r} must be UTF-8 "
            f"(a file goes in the part named {FILE_PART!r})",
        ) from None


def _send_type(kind: Any) -> str:
    if kind is None:
        raise ApiError(400, f"type is required: one of {', '.join(SEND_TYPES)}")
    if not isinstance(kind, str):
        raise ApiError(400, "type must be a string")
    if kind in _OWN_ROUTES:
        raise ApiError(
            400,
            f"type={kind} is not accepted here: use POST {PREFIX}/chats/{{id}}/messages/{kind}",
        )
    if kind not in SEND_TYPES:
        raise ApiError(400, f"unknown type {kind!r}: expected one of {', '.join(SEND_TYPES)}")
    return kind


def _optional_str(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value


def _template(fields: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    template = fields.get("template")
    if not isinstance(template, dict):
        raise ApiError(400, "template is required for type=template: {name, language}")
    for key in ("name", "language"):
        value = template.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"template.{key} is required for type=template")
    template_fields = fields.get("template_fields") or []
    if not isinstance(template_fields, list) or not all(
        isinstance(item, dict) for item in template_fields
    ):
        raise ApiError(400, "template_fields must be a list of objects")
    for number, item in enumerate(template_fields):
        for key, value in item.items():
            # API.md's keys all hold plain values; nesting is refused before it is stored.
            if isinstance(value, dict | list):
                raise ApiError(
                    400,
                    f"template_fields[{number}].{key[:60]} must be a string, number, boolean "
                    "or null",
                )
    return {"name": template["name"], "language": template["language"]}, template_fields
