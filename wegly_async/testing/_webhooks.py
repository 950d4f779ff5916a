"""Deliver the emulator's webhook events: signed POSTs to loopback subscribers, retried, recorded.

API.md section 6: each event is a POST of ``{"event_key", "payload"}`` signed with the
subscription's secret (lowercase hex HMAC-SHA256 of the exact body); a non-2xx answer or
no answer is tried again, up to the subscription's attempts, with the identical body.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from typing import Any, Final

import aiohttp
import attrs
import orjson
from yarl import URL

from .._validation import check_int, check_seconds
from ..webhooks._events import EVENT_HEADER, SIGNATURE_HEADER
from ..webhooks._patterns import check_pattern, matches

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BACKOFF",
    "DEFAULT_DELIVERY_TIMEOUT",
    "DEFAULT_WAIT_TIMEOUT",
    "USER_AGENT",
    "WebhookDelivery",
    "WebhookOutbox",
    "sign",
]

USER_AGENT: Final = "wegly-webhooks/1.0"
DEFAULT_ATTEMPTS: Final = 3
# Seconds before the second attempt, doubled before each later one: short, so tests that
# exercise retries do not wait.
DEFAULT_BACKOFF: Final = 0.01
# Seconds an attempt may take before it counts as failed (no answer).
DEFAULT_DELIVERY_TIMEOUT: Final = 5.0
# The longest ``wait_deliveries()`` waits unless told otherwise.
DEFAULT_WAIT_TIMEOUT: Final = 10.0


@attrs.frozen(kw_only=True)
class WebhookDelivery:
    """One attempt to deliver an event; ``status`` is ``None`` when no answer came."""

    webhook_id: str
    url: str
    event_key: str
    attempt: int
    status: int | None
    error: str | None = None
    body: bytes = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        """Tell whether the subscriber acknowledged this attempt (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


@attrs.frozen(kw_only=True)
class _Subscription:
    id: str
    url: URL
    secret: bytes = attrs.field(repr=False)
    events: tuple[str, ...] | None
    attempts: int
    timeout: float
    backoff: float

    def wants(self, event_key: str) -> bool:
        return self.events is None or any(matches(p, event_key) for p in self.events)


def sign(body: bytes, secret: bytes) -> str:
    """Return the ``x-wegly-signature`` of ``body``: lowercase hex HMAC-SHA256."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookOutbox:
    """Hold an emulator's webhook subscriptions and run its deliveries in the background."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, _Subscription] = {}
        self.deliveries: list[WebhookDelivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def subscribe(
        self,
        url: object,
        secret: object,
        events: object,
        *,
        attempts: object,
        timeout: object,
        backoff: object,
    ) -> str:
        """Add a subscription after checking every argument, and return its id."""
        subscription = _Subscription(
            id="wh_" + secrets.token_hex(8),
            url=_check_url(url),
            secret=_check_secret(secret),
            events=_check_events(events),
            attempts=check_int(attempts, "attempts", minimum=1, maximum=100),
            timeout=check_seconds(timeout, "timeout", positive=True),
            backoff=check_seconds(backoff, "backoff"),
        )
        self.subscriptions[subscription.id] = subscription
        return subscription.id

    def publish(self, event_key: str, payload: dict[str, Any]) -> int:
        """Start delivering one event to every subscription that wants it; return how many."""
        wanted = [s for s in self.subscriptions.values() if s.wants(event_key)]
        if not wanted:
            return 0
        if self._closed:
            raise RuntimeError("this emulator is closed: its webhooks deliver nothing more")
        loop = asyncio.get_running_loop()
        body = orjson.dumps({"event_key": event_key, "payload": payload})
        for subscription in wanted:
            task = loop.create_task(self._deliver(subscription, event_key, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(wanted)

    @property
    def pending(self) -> int:
        """How many deliveries are still running (retries included)."""
        return len(self._tasks)

    async def wait(self, max_wait: float) -> None:
        """Wait until no delivery is running, including those started meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while self._tasks:
            left = deadline - loop.time()
            done, _ = await asyncio.wait(set(self._tasks), timeout=max(left, 0))
            for task in done:
                task.result()  # a bug in a delivery fails the wait rather than hiding
            if self._tasks and loop.time() >= deadline:
                raise TimeoutError(
                    f"{len(self._tasks)} webhook deliveries still running after {max_wait}s"
                )

    async def close(self) -> None:
        """Cancel the deliveries still running and close the HTTP client."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # trust_env=False: no proxy from the environment, only the subscribed URLs.
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def _deliver(self, subscription: _Subscription, event_key: str, body: bytes) -> None:
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            EVENT_HEADER: event_key,
            SIGNATURE_HEADER: sign(body, subscription.secret),
        }
        timeout = aiohttp.ClientTimeout(total=subscription.timeout)
        for attempt in range(1, subscription.attempts + 1):
            if attempt > 1:
                await asyncio.sleep(subscription.backoff * 2 ** (attempt - 2))
            status, error = await self._attempt(subscription.url, body, headers, timeout)
            delivery = WebhookDelivery(
                webhook_id=subscription.id,
                url=str(subscription.url),
                event_key=event_key,
                attempt=attempt,
                status=status,
                error=error,
                body=body,
            )
            self.deliveries.append(delivery)
            if delivery.ok:
                return

    async def _attempt(
        self, url: URL, body: bytes, headers: dict[str, str], limit: aiohttp.ClientTimeout
    ) -> tuple[int | None, str | None]:
        try:
            async with self._client().post(
                url, data=body, headers=headers, timeout=limit, allow_redirects=False
            ) as response:
                return response.status, None
        except TimeoutError:
            return None, f"no answer within {limit.total}s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"


def _check_url(url: object) -> URL:
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    try:
        parsed = URL(url)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        # Not echoed: a URL may carry credentials.
        raise ValueError("url must be an http:// or https:// URL with a host")
    host = parsed.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        # The emulator is a local test tool: it never sends anything off this machine.
        raise ValueError(f"url must point to a loopback host such as 127.0.0.1, got {host!r}")
    if parsed.user is not None or parsed.password is not None:
        raise ValueError("url must not carry credentials: the signature authenticates")
    return parsed


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, str | bytes):
        raise TypeError(f"secret must be a str or bytes, got {type(secret).__name__}")
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("secret must not be empty: every body would verify")
    return key


def _check_events(events: object) -> tuple[str, ...] | None:
    if events is None:
        return None
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise TypeError(
            "events must be a list of event keys or patterns such as ['lead.*'], or None"
        )
    if not events:
        raise ValueError("events must name at least one key or pattern (None means all)")
    return tuple(check_pattern(pattern) for pattern in events)
