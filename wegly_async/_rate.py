"""Pace every request of a client to what the server allows: one controller per client.

It decides when the next request may go, from three things:

- **A pause.** A 429 (or a 503 with ``Retry-After``), or ``X-RateLimit-Remaining: 0`` with an
  ``X-RateLimit-Reset``, names a deadline: no request of the client goes out before the latest
  one announced (a request that finishes meanwhile does not end the pause).
- **A pace.** Requests are spaced ``1 / per_second`` apart, with ``burst`` of them allowed at
  once (the generic cell rate algorithm: each request reserves the next slot, so waiters never
  stampede). The pace is the configured ``RateLimit``, or one learnt from 429s.
- **AIMD.** The first 429 of an episode lowers the pace multiplicatively, to at most what the
  server accepted just before; each success raises it additively, back up to the configured one.

Decision (API.md is silent on rate-limit headers): ``X-RateLimit-Reset`` is read as seconds
from now when below 10^9, else as a Unix time; ``X-RateLimit-Limit`` is not used, since no
header says the window it counts over.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import attrs

from ._constants import (
    PACE_ACCEPT_WINDOW,
    PACE_DECREASE,
    PACE_DEFAULT_PAUSE,
    PACE_INCREASE,
    PACE_MIN_PER_SECOND,
    PACE_MIN_SAMPLES,
)
from ._validation import check_int

__all__ = ["Pacer", "RateController", "RateLimit", "RateLimitState"]

logger = logging.getLogger("wegly_async")

_EPOCH_THRESHOLD = 1e9


def _check_rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"RateLimit.{attribute.name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"RateLimit.{attribute.name} must be a finite number > 0, got {value!r}")


@attrs.frozen
class RateLimit:
    """The most requests per second a client sends, and how many may go at once (``burst``)."""

    per_second: float = attrs.field(validator=_check_rate)
    burst: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.burst is not None:
            check_int(self.burst, "RateLimit.burst", minimum=1)

    @property
    def allowance(self) -> int:
        """Return how many requests may go at once (``burst``, or one second's worth)."""
        return self.burst if self.burst is not None else max(1, math.ceil(self.per_second))


@attrs.frozen
class RateLimitState:
    """How a client is paced right now: the pace, the pause, and the 429s seen."""

    per_second: float | None  # the pace requests are spaced at; None: not paced
    limit: float | None  # the configured RateLimit.per_second, the pace's ceiling
    paused_for: float  # seconds until the current pause ends (0.0: none)
    throttled: int  # 429 answers (and 503s with Retry-After) seen so far


class Pacer(Protocol):
    """Where a client's slots and pauses are decided: in this process, or in a shared budget."""

    # How waits are waited out: tests (``testing.instant_retries``) skip them.
    sleep: Callable[[float], Awaitable[None]]

    def state(self) -> RateLimitState:
        """Return the current pace, pause and 429 count."""

    def ready(self) -> bool:
        """Return True, taking the next slot, when a request may go now; else call ``acquire``."""

    async def acquire(self) -> None:
        """Wait until a request may go: after every pause announced, at the next slot."""

    def observe(self, status: int, headers: Mapping[str, str], retry_after: float | None) -> None:
        """Learn from one answer: pauses, the pace down on a 429, up on a success."""

    async def aclose(self) -> None:
        """Finish what the pacer still has in flight (the client's ``close()`` calls it)."""
        return  # a pacer in this process keeps no resource


class RateController(Pacer):
    """Decide when each request of one client may go: pauses, a pace, and AIMD on 429s."""

    def __init__(
        self, limit: RateLimit | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit is not None and not isinstance(limit, RateLimit):
            raise TypeError(f"rate_limit must be a wa.RateLimit, got {type(limit).__name__}")
        self._limit = limit
        self._clock = clock
        # How waits are waited out: tests (``testing.instant_retries``) skip them.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._rate: float | None = limit.per_second if limit is not None else None
        self._burst = limit.allowance if limit is not None else 1
        self._tat = -math.inf  # the theoretical time of the next request's slot
        self._pause_until = -math.inf
        self._episode_until = -math.inf  # 429s before then belong to one episode
        self._accepted: collections.deque[float] = collections.deque()
        self._throttled = 0
        self._logged_rate: float | None = self._rate

    def __repr__(self) -> str:
        return f"<RateController {self.state()!r}>"

    def state(self) -> RateLimitState:
        """Return the current pace, pause and 429 count."""
        paused_for = max(0.0, self._pause_until - self._clock())
        limit = self._limit.per_second if self._limit is not None else None
        return RateLimitState(self._rate, limit, paused_for, self._throttled)

    def ready(self) -> bool:
        """Return True, taking the next slot, when a request may go now; else call ``acquire``."""
        now = self._clock()
        if now < self._pause_until:
            return False
        if self._rate is None:
            return True
        interval = 1.0 / self._rate
        slot = max(self._tat, now)
        if slot - (self._burst - 1) * interval > now:
            return False
        self._tat = slot + interval
        return True

    async def acquire(self) -> None:
        """Wait until a request may go: after every pause announced, at the next slot."""
        waited_for = -math.inf
        while True:
            now = self._clock()
            deadline = self._pause_until
            if now < deadline and deadline > waited_for:
                waited_for = deadline
                await self.sleep(deadline - now)
                continue
            if self._rate is None:
                return
            interval = 1.0 / self._rate
            slot = max(self._tat, now)
            self._tat = slot + interval
            allowed_at = slot - (self._burst - 1) * interval
            if allowed_at <= now:
                return
            await self.sleep(allowed_at - now)
            if self._pause_until <= waited_for or self._clock() >= self._pause_until:
                return
            # A pause began while this request waited for its slot: wait for it instead.

    def observe(self, status: int, headers: Mapping[str, str], retry_after: float | None) -> None:
        """Learn from one answer: pauses, the pace down on a 429, up on a success."""
        now = self._clock()
        if status == 429 or (status == 503 and retry_after is not None):
            self._throttled += 1
            wait = retry_after if retry_after is not None and retry_after > 0 else None
            self._pause(now, wait if wait is not None else PACE_DEFAULT_PAUSE, status)
            if now >= self._episode_until:
                self._decrease(now)
            self._episode_until = max(self._episode_until, self._pause_until)
            return
        if 200 <= status < 300:
            accepted = self._accepted
            accepted.append(now)
            while now - accepted[0] > PACE_ACCEPT_WINDOW:
                accepted.popleft()
            if self._rate is not None:
                self._increase()
        if "X-RateLimit-Remaining" in headers:
            reset = _exhausted_until(headers, now)
            if reset is not None:
                self._pause(now, reset - now, status)

    def _pause(self, now: float, seconds: float, status: int) -> None:
        deadline = now + seconds
        if deadline <= self._pause_until:
            return
        self._pause_until = deadline
        # Slots reserved before the pause are void: the waiters take new ones after it.
        self._tat = deadline
        logger.debug("pausing every request for %.3fs (answer %d)", seconds, status)

    def _decrease(self, now: float) -> None:
        accepted = len(self._accepted)
        measured = None
        if accepted >= PACE_MIN_SAMPLES:
            # Over the time the samples span (a young client has less than the window).
            span = max(now - self._accepted[0], PACE_ACCEPT_WINDOW / 4)
            measured = accepted / span
        current = self._rate if self._rate is not None else measured
        if current is None:
            return  # too little traffic to learn a pace from: the pause alone
        lowered = PACE_DECREASE * current
        if measured is not None:
            lowered = min(lowered, measured)
        self._set_rate(max(PACE_MIN_PER_SECOND, lowered), "lowered")

    def _increase(self) -> None:
        rate = self._rate
        if rate is None:
            return
        ceiling = self._limit.per_second if self._limit is not None else math.inf
        if rate < ceiling:
            self._set_rate(min(ceiling, rate + PACE_INCREASE), "raised")

    def _set_rate(self, rate: float, how: str) -> None:
        self._rate = rate
        limit = self._limit
        # The burst shrinks with the pace: a server that halved its limit has halved its
        # bucket too, and a full burst after each pause would meet a wall of 429s.
        self._burst = 1 if limit is None else max(1, int(limit.allowance * rate / limit.per_second))
        logged = self._logged_rate
        # Raised a little on every success: told when it moved by a tenth since last told.
        if logged is None or how == "lowered" or abs(rate - logged) >= 0.1 * logged:
            logger.debug("pace %s to %.2f requests/s", how, rate)
            self._logged_rate = rate


def _exhausted_until(headers: Mapping[str, str], now: float) -> float | None:
    """Return when a server that says no request is left resets its budget, or None."""
    remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
    if remaining is None or reset is None or remaining.strip() != "0":
        return None
    try:
        value = float(reset)
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    if value >= _EPOCH_THRESHOLD:
        value -= time.time()
    return now + max(0.0, value)
