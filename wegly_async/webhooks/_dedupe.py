"""Remember which deliveries were handled, so a redelivery runs no handler twice.

A delivery is claimed before its handlers run and released when one fails, so that the
redelivery Wegly then makes can succeed; a claim kept means "handled". A key names a body:
its HMAC-SHA256 under the router's first secret, as 64 hex characters. The store is a
small protocol: the default lives in memory, bounded in size and in time.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .._validation import check_int, check_seconds

__all__ = ["DedupeStore", "MemoryDedupeStore"]

DEFAULT_WINDOW = 24 * 3600.0
DEFAULT_MAX_ENTRIES = 100_000


@runtime_checkable
class DedupeStore(Protocol):
    """Where deliveries are claimed: ``claim`` must be atomic for concurrent callers."""

    async def claim(self, key: str) -> bool:
        """Claim ``key`` and return True, or return False when it is already claimed."""
        ...

    async def release(self, key: str) -> None:
        """Forget a claim, so that the same delivery can be claimed again."""
        ...


class MemoryDedupeStore:
    """Keep claims in memory for ``window`` seconds, at most ``max_entries`` of them."""

    def __init__(
        self,
        *,
        window: float = DEFAULT_WINDOW,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = check_seconds(window, "window")
        self._max_entries = check_int(max_entries, "max_entries", minimum=1)
        self._clock = clock
        # Claim time by key, oldest first: expiry and the size bound both drop from the left.
        self._claims: collections.OrderedDict[str, float] = collections.OrderedDict()
        # When the oldest claim leaves the window, or earlier (never later): a claim checks
        # one number, and looks at the oldest claim only once this time has come.
        self._next_expiry = clock() + self._window

    def __len__(self) -> int:
        return len(self._claims)

    def __repr__(self) -> str:
        return f"<MemoryDedupeStore {len(self._claims)} claims window={self._window:g}s>"

    async def claim(self, key: str) -> bool:
        """Claim ``key`` and return True, or return False when it is already claimed."""
        return self.claim_now(key)

    def claim_now(self, key: str) -> bool:
        """Do what ``claim`` does, without a coroutine (the router calls it for this store)."""
        # Not awaited: claims are atomic on one event loop.
        now = self._clock()
        if now >= self._next_expiry:
            self._expire(now)  # the oldest claim may be out of the window: drop what is
        claims = self._claims
        if key in claims:
            return False
        claims[key] = now
        while len(claims) > self._max_entries:
            claims.popitem(last=False)  # the next expiry may now come early: harmless
        return True

    async def release(self, key: str) -> None:
        """Forget a claim, so that the same delivery can be claimed again."""
        self._claims.pop(key, None)

    def _expire(self, now: float) -> None:
        claims = self._claims
        while claims:
            key, claimed = next(iter(claims.items()))
            if now - claimed < self._window:
                self._next_expiry = claimed + self._window
                return
            del claims[key]
        self._next_expiry = now + self._window  # claims to come are made at now or later
