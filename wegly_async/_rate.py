"""Pace every request of a client to what the server allows: one controller per client.

It decides when the next request may go, from three things:

- **A pause.** A 429 (or a 503 with ``Retry-After``), or ``X-RateLimit-Remaining: 0`` with an
  ``X-RateLimit-Reset``, names a deadline: no request of the client goes out before the latest
  one announced (a request that finishes meanwhile does not end the pause).
- **A pace.** Requests are spaced ``1 / per_second`` apart, with ``burst`` of them allowed at
  once (the generic cell rate algorithm: each request reserves the next slot, so waiters never
  stampede). The pace is the configured ``RateLimit``, or one learnt from 429s.
- **AIMD.** The first 429 of an episode lowers the pace multiplicatively, to at most what the
  server accepted: since the previous episode began when the client kept asking meanwhile
  (the server's budget was spent at both ends, so that count over that time is its rate),
  else over the last seconds. Each success raises the pace additively, back up to the
  configured one; below it requests are spaced evenly, with no burst.
- **What the server says is left.** An answer with ``X-RateLimit-Remaining: n`` lets at most
  n requests be in flight (the ones already out count against it) until the next answer
  says again; ``X-RateLimit-Remaining: 0`` is an episode as a 429 is (the budget is spent,
  said without a refusal): a pause until ``X-RateLimit-Reset``, and the pace lowered.

No limit on requests in flight otherwise: what a paced client has in flight is its pace
times the latency, which it needs for that pace (Little's law), so a lower cap is only a
cruder pace; and before the first 429 nothing tells a cap how low to be. That first 429
costs the requests already in flight, none of which can be called back.

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
    DEFAULT_BURST_SECONDS,
    PACE_ACCEPT_WINDOW,
    PACE_DECREASE,
    PACE_DEFAULT_PAUSE,
    PACE_IDLE,
    PACE_INCREASE,
    PACE_MIN_PER_SECOND,
    PACE_MIN_SAMPLES,
)
from ._validation import check_int

__all__ = ["Pacer", "RateController", "RateLimit", "RateLimitState", "refusal_pause"]

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
        """Return how many requests may go at once (``burst``, or half a second's worth)."""
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(self.per_second * DEFAULT_BURST_SECONDS))


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

    def release(self) -> None:
        """Note that a request let through ended without an answer (an error, a cancel)."""
        return  # only a pacer that counts requests in flight needs to know

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
        # Since the last episode began (the server's budget spent then): answers accepted,
        # and the time the pace went unused (None: the client was not paced).
        self._emptied_at = -math.inf
        self._since_emptied = 0
        self._unused: float | None = None
        self._accepted: collections.deque[float] = collections.deque()
        self._throttled = 0
        self._logged_rate: float | None = self._rate
        # Requests let through and not answered yet, and how many more the server said may
        # go (None: it did not say); waiters for the next answer when that is spent.
        self._in_flight = 0
        self._allowance: int | None = None
        self._answered: list[asyncio.Future[None]] = []

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
        if now < self._pause_until or self._spent():
            return False
        if self._rate is not None and self._grant(now, queue=False) != 0.0:
            return False
        self._let_through()
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
            if self._spent():
                await self._next_answer()
                continue
            wait = self._grant(now, queue=True)
            if wait > 0.0:
                await self.sleep(wait)
                paused = self._pause_until > waited_for and self._clock() < self._pause_until
                if paused or self._spent():
                    continue  # a pause began, or the allowance ran out, while it waited
            self._let_through()
            return

    def release(self) -> None:
        """Note that a request let through ended without an answer (an error, a cancel)."""
        self._answer()

    def _let_through(self) -> None:
        self._in_flight += 1
        if self._allowance is not None:
            self._allowance -= 1

    def _spent(self) -> bool:
        """Return True when the server said no more may go until something now out answers."""
        allowance = self._allowance
        if allowance is None or allowance > 0:
            return False
        if self._in_flight == 0:
            # Nothing out will answer: what the server said is void (a pause of its own,
            # if it said 0 with a reset, has been waited out already).
            self._allowance = None
            return False
        return True

    async def _next_answer(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._answered.append(waiter)
        await waiter

    def _answer(self) -> None:
        if self._in_flight > 0:
            self._in_flight -= 1
        answered = self._answered
        if answered:
            self._answered = []
            for waiter in answered:
                if not waiter.done():
                    waiter.set_result(None)

    def _grant(self, now: float, *, queue: bool) -> float:
        """Take the next slot and return how long until it (0.0: now); ``queue``: even later.

        Without ``queue`` a slot that is not due yet is left free, and the wait is returned.
        """
        rate = self._rate
        if rate is None:
            return 0.0
        interval = 1.0 / rate
        tat = self._tat
        if tat >= now:
            slot = tat
        else:
            slot = now
            if self._unused is not None:
                self._unused += now - tat  # the pace went unused meanwhile
        wait = slot - (self._burst - 1) * interval - now
        if wait > 0.0 and not queue:
            return wait
        self._tat = slot + interval
        return max(0.0, wait)

    def observe(self, status: int, headers: Mapping[str, str], retry_after: float | None) -> None:
        """Learn from one answer: pauses, the pace down on a 429, up on a success."""
        now = self._clock()
        self._answer()
        spent_for = 0.0  # how long the server said its budget stays spent
        if "X-RateLimit-Remaining" in headers:
            remaining = _remaining(headers)
            self._allowance = None if remaining is None else remaining - self._in_flight
            reset = _exhausted_until(headers, now) if remaining == 0 else None
            if reset is not None:
                spent_for = reset - now
        elif self._allowance is not None:
            self._allowance = None  # the server stopped saying
        refused_for = refusal_pause(status, retry_after)
        if refused_for is not None:
            self._throttled += 1
            self._spend(now, max(spent_for, refused_for), status)
            return
        if 200 <= status < 300:
            accepted = self._accepted
            accepted.append(now)
            self._since_emptied += 1
            while now - accepted[0] > PACE_ACCEPT_WINDOW:
                accepted.popleft()
            if spent_for == 0.0 and self._rate is not None:
                self._increase(now)
        if spent_for > 0.0:
            self._spend(now, spent_for, status)

    def _spend(self, now: float, seconds: float, status: int) -> None:
        """Learn that the server's budget is spent: pause, and lower the pace once per episode."""
        self._pause(now, seconds, status)
        if now >= self._episode_until:
            self._decrease(now)
            # The server's budget is spent now: what it accepts from here on, over the time
            # from here, is its rate (the next episode measures from this point).
            self._accepted.clear()
            self._emptied_at = now
            self._since_emptied = 0
            self._unused = 0.0 if self._rate is not None else None
        self._episode_until = max(self._episode_until, self._pause_until)

    def _pause(self, now: float, seconds: float, status: int) -> None:
        deadline = now + seconds
        if deadline <= self._pause_until:
            return
        self._pause_until = deadline
        # Slots reserved before the pause are void: the waiters take new ones after it.
        self._tat = deadline
        logger.debug("pausing every request for %.3fs (answer %d)", seconds, status)

    def _measured(self, now: float) -> float | None:
        """Return the rate the server accepted lately, or None when too few answers tell."""
        since, unused = self._since_emptied, self._unused
        cycle = now - self._emptied_at
        if since >= PACE_MIN_SAMPLES and unused is not None and unused <= PACE_IDLE * cycle:
            # From the last episode to this one the server's budget went from spent to
            # spent, while this client kept asking: what it accepted over that time
            # (pauses included, as it refilled meanwhile) is its rate, at most a tenth low.
            return since / cycle
        accepted = len(self._accepted)
        if accepted < PACE_MIN_SAMPLES:
            return None
        # Before a first episode (or after a calm) the budget the server held when the
        # window began is unknown and counted in: an overestimate, which the next 429
        # corrects. A young client is measured over the time its answers span.
        return accepted / max(now - self._accepted[0], PACE_ACCEPT_WINDOW / 4)

    def _decrease(self, now: float) -> None:
        measured = self._measured(now)
        current = self._rate if self._rate is not None else measured
        if current is None:
            return  # too little traffic to learn a pace from: the pause alone
        lowered = PACE_DECREASE * current
        if measured is not None:
            lowered = min(lowered, measured)
        self._set_rate(now, max(PACE_MIN_PER_SECOND, lowered), "lowered")

    def _increase(self, now: float) -> None:
        rate = self._rate
        if rate is None:
            return
        ceiling = self._limit.per_second if self._limit is not None else math.inf
        if rate < ceiling:
            self._set_rate(now, min(ceiling, rate + PACE_INCREASE), "raised")

    def _set_rate(self, now: float, rate: float, how: str) -> None:
        self._rate = rate
        limit = self._limit
        # The configured burst holds only at the configured pace: below it the server has
        # said no, its budget is unknown, and a burst after each pause would meet a wall of
        # 429s (the post-pause burst, not the pace, is what such episodes cost).
        burst = limit.allowance if limit is not None and rate >= limit.per_second else 1
        if burst > self._burst:
            # Back at the ceiling: the burst is earned again by waiting, not granted at once.
            self._tat = max(self._tat, now) + (burst - self._burst) / rate
        self._burst = burst
        logged = self._logged_rate
        # Raised a little on every success: told when it moved by a tenth since last told.
        if logged is None or how == "lowered" or abs(rate - logged) >= 0.1 * logged:
            logger.debug("pace %s to %.2f requests/s (burst %d)", how, rate, burst)
            self._logged_rate = rate


def refusal_pause(status: int, retry_after: float | None) -> float | None:
    """Return how long a refusal (a 429, or a 503 with Retry-After) pauses, else None."""
    if status == 429 or (status == 503 and retry_after is not None):
        return retry_after if retry_after is not None and retry_after > 0 else PACE_DEFAULT_PAUSE
    return None


def _remaining(headers: Mapping[str, str]) -> int | None:
    """Return how many requests ``X-RateLimit-Remaining`` says may still go, or None."""
    value = headers.get("X-RateLimit-Remaining", "").strip()
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


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
