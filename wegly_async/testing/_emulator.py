"""Run a local Wegly API emulator that tests, benchmarks and demos talk to over loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import orjson
from aiohttp import web

from .._constants import EMULATOR_HOST, EMULATOR_LATENCY
from .._validation import check_bool, check_int, check_seconds, check_str
from ._app import Fault, RecordedRequest, ServerState, build_app
from ._crm_state import seed_proposal
from ._rate_limit import TokenBucket
from ._routes_chats import add_chat_routes
from ._routes_crm import add_crm_routes
from ._store import Store
from ._webhooks import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF,
    DEFAULT_DELIVERY_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    WebhookDelivery,
    WebhookOutbox,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from wegly_async._client import WeglyClient
    from wegly_async.types.proposals import ProposalItem
    from wegly_async.types.shared import Role, User

# Closing must be quick even with a request stuck in an injected delay: in-flight
# handlers get this long before they are cancelled.
_SHUTDOWN_TIMEOUT: Final = 0.1


class WeglyEmulator:
    """Serve a faithful in-memory Wegly API on a loopback port, with fault injection."""

    def __init__(
        self,
        *,
        latency: float = EMULATOR_LATENCY,
        max_take: int | None = None,
        token: str | None = None,
        allowed_domain: str | None = None,
        host: str = EMULATOR_HOST,
        port: int = 0,
        rate_limit: float | None = None,
        rate_burst: int | None = None,
        rate_headers: bool = False,
    ) -> None:
        self._state = ServerState(
            store=Store(),
            token=_check_token(token),
            allowed_domain=_check_domain(allowed_domain),
            latency=check_seconds(latency, "latency"),
            max_take=None if max_take is None else check_int(max_take, "max_take", minimum=1),
        )
        self.set_rate_limit(rate_limit, rate_burst, headers=rate_headers)
        self._host = _check_host(host)
        self._wanted_port = check_int(port, "port", minimum=0, maximum=65_535)
        self._app = build_app(self._state)
        add_chat_routes(self._app, self._state)
        add_crm_routes(self._app, self._state)
        self._outbox = WebhookOutbox()
        self._state.store.on_sent = self._message_sent
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self._closed = False

    def __repr__(self) -> str:
        if self._runner is not None:
            where = self.base_url
        else:
            where = "closed" if self._closed else "not started"
        return f"<WeglyEmulator {where} chats={len(self._state.store.chats)}>"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the loopback port and start serving (a no-op when already serving)."""
        if self._closed:
            raise RuntimeError("this emulator is closed: create a new WeglyEmulator")
        if self._runner is not None:
            return
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        sock: socket.socket | None = None
        try:
            sock = _bind(self._host, self._wanted_port)
            await web.SockSite(runner, sock).start()
        except BaseException:
            if sock is not None:
                sock.close()
            await runner.cleanup()
            raise
        self._runner, self._sock = runner, sock

    async def close(self) -> None:
        """Stop serving and release the port; calling it again does nothing."""
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # Deliveries first: one in flight may be a bot's request to this very server.
        await self._outbox.close()
        # Let connections already waiting in the kernel become transports first: asyncio
        # leaks the socket of an accept that completes after its server closed, and an
        # accept takes three loop turns (readable, accept(), transport).
        for _ in range(3):
            await asyncio.sleep(0)
        try:
            await runner.cleanup()
        finally:
            if self._sock is not None:
                self._sock.close()

    @property
    def app(self) -> web.Application:
        """The ``aiohttp.web`` application, for use with aiohttp's own test utilities."""
        return self._app

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on."""
        if self._sock is None or self._runner is None:
            raise RuntimeError("the emulator is not running: await emu.start() first")
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """The URL to give a client, such as ``http://127.0.0.1:54321`` (no trailing slash)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def token(self) -> str:
        """The integration token the emulator accepts."""
        return self._state.token

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (clear it freely)."""
        return self._state.requests

    @property
    def chat_ids(self) -> list[str]:
        """The ids of all chats, oldest first."""
        return list(self._state.store.chats)

    @property
    def pending_faults(self) -> int:
        """How many injected faults are still waiting for a request."""
        return len(self._state.faults)

    def client(self, **kwargs: Any) -> WeglyClient:
        """Create a ``WeglyClient`` wired to this emulator's URL and token."""
        # Imported here so the emulator (and the pytest plugin) load without the client.
        from wegly_async import WeglyClient

        return WeglyClient(token=self.token, base_url=self.base_url, **kwargs)

    def create_chat(self, events: int = 0, seed: int | None = None, *, unread: int = 0) -> str:
        """Create a chat with ``events`` history events, then ``unread`` unread inbound ones."""
        check_int(events, "events", minimum=0)
        check_int(unread, "unread", minimum=0)
        if seed is not None:
            check_int(seed, "seed")
        store = self._state.store
        chat_id = store.create_chat(events, seed)
        if unread:
            chat = store.chat(chat_id)
            for number in range(1, unread + 1):
                store.add_message(
                    chat, f"Mensagem {number} ainda não lida", from_me=False, event_at=None
                )
            store.record(chat).unread_count = unread
        return chat_id

    def schedule_message(
        self,
        chat_id: str,
        *,
        text: str | None = None,
        template: str | None = None,
        language: str = "pt_BR",
        scheduled_at: datetime | None = None,
        cancel_on_inbound: bool = False,
    ) -> str:
        """Seed a PENDING scheduled message (a text unless ``template``) and return its UUID."""
        if scheduled_at is not None and not isinstance(scheduled_at, datetime):
            raise TypeError(f"scheduled_at must be a datetime or None, got {scheduled_at!r}")
        return self._state.store.schedule(
            self._state.store.chat(check_str(chat_id, "chat_id")),
            text=None if text is None else check_str(text, "text"),
            template=None if template is None else check_str(template, "template"),
            language=check_str(language, "language"),
            scheduled_at=scheduled_at,
            cancel_on_inbound=check_bool(cancel_on_inbound, "cancel_on_inbound"),
        )

    def create_proposal(
        self,
        *,
        title: str | None = None,
        lead_id: str | None = None,
        deal_id: str | None = None,
        status: int | None = None,
        discount_type: int | None = None,
        discount_value: Decimal | int | float | None = None,
        items: Iterable[ProposalItem] | None = None,
    ) -> str:
        """Seed a proposal (on a lead or deal created through the API) and return its UUID.

        Its items keep the ids they are given, so ``proposals.update`` can change them.
        """
        return seed_proposal(
            self._state.store.crm,
            title=title,
            lead_id=lead_id,
            deal_id=deal_id,
            status=status,
            discount_type=discount_type,
            discount_value=discount_value,
            items=items,
        )

    @property
    def users(self) -> list[User]:
        """The seeded users a chat can be assigned to (``set_responsible``)."""
        from wegly_async.types.shared import User

        people = self._state.store.people.people
        return [User(id=person.user_id, name=person.name) for person in people]

    @property
    def roles(self) -> list[Role]:
        """The seeded roles."""
        from wegly_async.types.shared import Role

        return [Role(id=role["id"], name=role["name"]) for role in self._state.store.people.roles]

    def add_message(
        self,
        chat_id: str,
        text: str,
        *,
        from_me: bool = False,
        event_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Insert a text message into a chat's timeline in time order and return its event."""
        chat = self._state.store.chat(check_str(chat_id, "chat_id"))
        check_str(text, "text")
        check_bool(from_me, "from_me")
        if event_at is not None and not isinstance(event_at, datetime):
            raise TypeError(f"event_at must be a datetime or None, got {event_at!r}")
        return self._state.store.add_message(chat, text, from_me=from_me, event_at=event_at)

    def events(self, chat_id: str) -> list[dict[str, Any]]:
        """Return a copy of a chat's timeline as wire-format dicts, oldest first."""
        chat = self._state.store.chat(check_str(chat_id, "chat_id"))
        return [orjson.loads(entry.blob) for entry in chat.entries]

    # -- webhooks (API.md section 6): Wegly calls your bot ----------------------------------

    def add_webhook(
        self,
        url: str,
        secret: str | bytes,
        events: Sequence[str] | None = None,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        timeout: float = DEFAULT_DELIVERY_TIMEOUT,
        backoff: float = DEFAULT_BACKOFF,
    ) -> str:
        """Subscribe a loopback ``url`` to ``events`` (keys, patterns; None: all); return its id."""
        return self._outbox.subscribe(
            url, secret, events, attempts=attempts, timeout=timeout, backoff=backoff
        )

    def remove_webhook(self, webhook_id: str) -> None:
        """Stop delivering new events to a subscription (deliveries under way go on)."""
        if self._outbox.subscriptions.pop(check_str(webhook_id, "webhook_id"), None) is None:
            raise ValueError(f"unknown webhook id {webhook_id!r}: use what add_webhook returned")

    def receive_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Simulate the contact writing ``text``: add it to the timeline, fire its webhook.

        The chat's PENDING scheduled messages with ``cancel_on_inbound`` become CANCELED.
        """
        chat = self._state.store.chat(check_str(chat_id, "chat_id"))
        check_str(text, "text")
        if not text.strip():
            raise ValueError("text must not be blank: a contact's message has some text")
        if self._runner is None:
            raise RuntimeError(
                "this emulator is closed"
                if self._closed
                else "the emulator is not running: await emu.start() first"
            )
        store = self._state.store
        event = store.add_message(chat, text, from_me=False, event_at=None)
        store.record(chat).unread_count += 1
        store.cancel_on_inbound(chat)
        payload = {"chat_id": chat.id, "message": event["message"]}
        self._outbox.publish("chat.message_received", payload)
        return event

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempt so far, in the order they ended (clear it freely)."""
        return self._outbox.deliveries

    async def wait_deliveries(self, max_wait: float = DEFAULT_WAIT_TIMEOUT) -> None:
        """Wait until every webhook delivery has ended; raise TimeoutError after ``max_wait`` s."""
        await self._outbox.wait(check_seconds(max_wait, "max_wait", positive=True))

    def _message_sent(self, chat_id: str, message: dict[str, Any]) -> None:
        self._outbox.publish("chat.message_sent", {"chat_id": chat_id, "message": message})

    def set_rate_limit(
        self, per_second: float | None, burst: int | None = None, *, headers: bool = False
    ) -> None:
        """Answer 429 past ``per_second`` requests a second (``burst`` at once), or lift the limit.

        A token bucket per token: full at the start, one second of the rate unless ``burst``
        says otherwise, a refused request not charged, ``Retry-After`` in whole seconds
        rounded up; ``headers`` adds ``X-RateLimit-Limit/-Remaining/-Reset`` to every answer.
        """
        check_bool(headers, "rate_headers")
        if per_second is None:
            if burst is not None:
                raise ValueError("rate_burst needs rate_limit")
            self._state.rate = None
            return
        self._state.rate = TokenBucket(per_second, burst, headers=headers)

    def inject(
        self,
        status: int | None,
        *,
        times: int = 1,
        method: str | None = None,
        retry_after: float | str | None = None,
        body: Any = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Script a fault for the next ``times`` requests matching ``method`` (FIFO order)."""
        check_int(times, "times", minimum=1)
        check_bool(drop, "drop")
        fault = Fault(
            status=_check_status(status),
            method=_check_method(method),
            retry_after=_retry_after_header(retry_after),
            body=_check_fault_body(status, body),
            delay=check_seconds(delay, "delay"),
            drop=drop,
        )
        self._state.faults.add(fault, times)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_token(token: object) -> str:
    if token is None:
        return "emu_" + secrets.token_urlsafe(16)
    token = check_str(token, "token")
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError("token must be a non-empty printable ASCII string without spaces")
    return token


def _check_domain(domain: object) -> str | None:
    if domain is None:
        return None
    domain = check_str(domain, "allowed_domain")
    if not domain or any(char in domain for char in "/: \t"):
        raise ValueError(
            f"allowed_domain must be a bare host name like 'app.example.com', got {domain!r}"
        )
    return domain.lower()


def _check_host(host: object) -> str:
    host = check_str(host, "host")
    if host == "localhost":
        # Bind and advertise the IPv4 loopback so clients never wait on an IPv6 attempt.
        return EMULATOR_HOST
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"host must be a loopback address or 'localhost', got {host!r}")
    return str(address)


def _check_status(status: object) -> int | None:
    if status is None:
        return None
    return check_int(status, "status", minimum=200, maximum=599)


def _check_method(method: object) -> str | None:
    if method is None:
        return None
    method = check_str(method, "method")
    if not method.isalpha():
        raise ValueError(f"method must be an HTTP method such as 'POST', got {method!r}")
    return method.upper()


def _retry_after_header(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("retry_after must not be an empty string")
        return value
    seconds = check_seconds(value, "retry_after")
    return str(int(seconds)) if seconds.is_integer() else str(seconds)


def _check_fault_body(status: int | None, body: object) -> object:
    if body is None:
        return None
    if status is None:
        raise ValueError("body needs a status: a processed request answers with its own body")
    if not isinstance(body, dict | list | str):
        raise TypeError(f"body must be a dict, a list or a str, got {type(body).__name__}")
    if not isinstance(body, str):
        try:
            orjson.dumps(body)
        except TypeError as exc:
            raise TypeError(f"body must be JSON-serializable: {exc}") from None
    return body
