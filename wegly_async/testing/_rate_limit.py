"""The emulator's rate limit: a token bucket per token, answered with 429 and Retry-After.

The bucket holds ``burst`` requests (one second of the rate unless told) and is full at the
start; each accepted request takes one; a refused request is not charged. ``Retry-After`` is
the wait for the next token in whole seconds, rounded up, as most servers send it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .._validation import check_int, check_seconds

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allow ``per_second`` requests a second on average and ``burst`` at once."""

    def __init__(
        self,
        per_second: float,
        burst: int | None = None,
        *,
        headers: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = check_seconds(per_second, "rate_limit", positive=True)
        self.burst = (
            max(1, math.ceil(self.per_second))
            if burst is None
            else check_int(burst, "rate_burst", minimum=1)
        )
        self.headers = headers
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    def __repr__(self) -> str:
        return f"<TokenBucket {self.per_second:g}/s burst={self.burst}>"

    def take(self) -> float | None:
        """Charge one request and return None, or return the seconds until one is allowed."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.per_second)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.per_second

    def answer_headers(self, wait: float | None) -> dict[str, str]:
        """Return the headers of an answer: Retry-After on a refusal, X-RateLimit-* if asked."""
        headers: dict[str, str] = {}
        if wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        if self.headers:
            remaining = 0 if wait is not None else int(self._tokens)
            until_token = 0.0 if remaining else (1.0 - self._tokens) / self.per_second
            headers["X-RateLimit-Limit"] = str(self.burst)
            headers["X-RateLimit-Remaining"] = str(remaining)
            headers["X-RateLimit-Reset"] = str(math.ceil(until_token))
        return headers
