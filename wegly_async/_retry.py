"""Pure retry rules: whether to try again and how long to wait first."""

from __future__ import annotations

import asyncio
import email.utils
import enum
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import attrs

from ._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_DELAY,
)
from ._validation import check_int, check_seconds

__all__ = ["Failure", "RetryPolicy", "parse_retry_after"]

# Statuses a repeated GET cannot make worse.
_RETRYABLE_READ_STATUSES = frozenset({429, 500, 502, 503, 504})
# A send is repeated only when the server provably did not act on it.
_RETRYABLE_SEND_STATUSES = frozenset({429})
# Statuses whose Retry-After header is honoured.
_RETRY_AFTER_STATUSES = frozenset({429, 503})


class Failure(enum.Enum):
    """How far a failed request got, which decides whether repeating it is safe."""

    NOT_SENT = "not sent"  # connection refused, DNS failure, connect timeout
    MAYBE_SENT = "maybe sent"  # broken or timed out after the request may have been written
    TLS_REFUSED = "TLS refused"  # a bad certificate stays bad: never worth another try


@attrs.frozen
class RetryPolicy:
    """Decide whether and when a failed request is tried again."""

    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    # How a delay is waited out: tests (``testing.instant_retries``) record it instead.
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=asyncio.sleep, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        check_int(self.max_retries, "max_retries", minimum=0)
        for name in ("max_retry_after", "initial_delay", "max_delay"):
            check_seconds(getattr(self, name), name)

    def retries_status(self, status: int, *, idempotent: bool) -> bool:
        """Return whether an answer with this status may be retried at all."""
        allowed = _RETRYABLE_READ_STATUSES if idempotent else _RETRYABLE_SEND_STATUSES
        return status in allowed

    def retries_failure(self, failure: Failure, *, idempotent: bool) -> bool:
        """Return whether a transport failure may be retried at all."""
        if failure is Failure.TLS_REFUSED:
            return False
        return idempotent or failure is Failure.NOT_SENT

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Return the full-jitter exponential delay before retry number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0**attempt)
        return rand() * ceiling

    def delay(
        self,
        attempt: int,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Return how long to wait before retry ``attempt``, or None when not to retry.

        ``attempt`` counts retries already made; a server's Retry-After on 429/503
        lengthens the backoff (never shortens it, so ``0``, a negative value or a past date
        cannot make a busy server be asked again at once) unless it is longer than
        ``max_retry_after``.
        """
        if attempt >= self.max_retries:
            return None
        backoff = self.backoff(attempt, rand)
        if retry_after is not None and status in _RETRY_AFTER_STATUSES:
            return None if retry_after > self.max_retry_after else max(retry_after, backoff)
        return backoff


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)
