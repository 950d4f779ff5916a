"""One rate budget for a fleet: clients in many processes, on many machines, share it in Redis.

Every client made with the same ``SharedRateBudget`` name keeps its pacing state in one Redis
hash, changed only by Lua scripts (atomic, on Redis's own clock so skewed machines agree):

- **A pace.** One GCRA "theoretical arrival time" spaces the fleet's requests ``1 / per_second``
  apart with ``burst`` at once at ``rate_limit`` (below it, none), whichever process sends them.
- **A pause.** A 429 (or a 503 with ``Retry-After``) seen by any client pushes one shared
  deadline to the latest announced; no client of the budget sends before it.
- **AIMD.** The first 429 of an episode (until the pause it started ends) lowers the shared
  pace once, to 0.9x and to at most what the fleet was accepted at: since the previous
  episode began when the fleet kept asking meanwhile (its pace unused for at most a tenth of
  that time), else in the last two seconds. Successes, reported with the next request, raise
  it additively, up to ``rate_limit``; back at it, the burst is earned again by waiting.
  These are ``RateController``'s rules, on the same constants.

The hash expires ``ttl`` seconds after its last use (or after its pause, if later). Nothing of
the token goes to Redis: only times, counts and the pace.

Decision: when Redis cannot be reached, the request fails with ``RateBudgetError`` (it was not
sent, so it is safe to retry) instead of falling back to a local controller. A fallback keeps
each process at the full ``rate_limit``, N times over what the fleet may send, exactly when the
queue on the same Redis is down too; the per-chat export then reports the chat as failed and a
new run resumes it from its checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from ._config import redact_url
from ._constants import (
    BUDGET_KEY_PREFIX,
    BUDGET_REDIS_TIMEOUT,
    DEFAULT_BUDGET_TTL,
    MAX_BUDGET_NAME,
    PACE_ACCEPT_WINDOW,
    PACE_DECREASE,
    PACE_IDLE,
    PACE_INCREASE,
    PACE_MIN_PER_SECOND,
    PACE_MIN_SAMPLES,
)
from ._errors import RateBudgetError
from ._rate import RateLimit, RateLimitState, _exhausted_until, refusal_pause
from ._validation import check_label, check_seconds

if TYPE_CHECKING:
    from types import TracebackType

    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["SharedRateBudget"]

logger = logging.getLogger("wegly_async")

_URL_SCHEMES = ("redis", "rediss", "unix")
_EXTRA_HINT = "SharedRateBudget needs the redis package: pip install 'wegly-async[queue]'"

# Read the budget's hash, on Redis's clock unless the caller gives one (tests do), and roll
# the buckets that count accepted answers (one window each: this one and the one before).
# Since the last episode began ('emptied'): the answers accepted ('since') and the time the
# pace went unused ('unused', -1: the fleet was not paced then), as RateController keeps them.
_PROLOGUE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ceiling = tonumber(ARGV[2])
local allowance = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local s = redis.call('HMGET', key, 'rate', 'tat', 'pause', 'episode', 'bucket', 'count',
  'previous', 'born', 'emptied', 'since', 'unused')
local rate = tonumber(s[1])
local tat = tonumber(s[2]) or 0
local pause = tonumber(s[3]) or 0
local episode = tonumber(s[4]) or 0
local bucket = tonumber(s[5])
local count = tonumber(s[6]) or 0
local previous = tonumber(s[7]) or 0
local born = tonumber(s[8])
local emptied = tonumber(s[9])
local since = tonumber(s[10]) or 0
local unused = tonumber(s[11]) or -1
if ceiling and (not rate or rate > ceiling) then rate = ceiling end
local start = math.floor(now / window) * window
if not bucket then
  bucket = start
elseif start > bucket then
  if start - bucket < 1.5 * window then previous = count else previous = 0 end
  count = 0
  bucket = start
end
local function fmt(x) return string.format('%.17g', x) end
local function save()
  local fields = {'tat', fmt(tat), 'pause', fmt(pause), 'episode', fmt(episode),
    'bucket', fmt(bucket), 'count', fmt(count), 'previous', fmt(previous),
    'since', fmt(since), 'unused', fmt(unused)}
  if rate then table.insert(fields, 'rate'); table.insert(fields, fmt(rate)) end
  if emptied then table.insert(fields, 'emptied'); table.insert(fields, fmt(emptied)) end
  if born then
    table.insert(fields, 'born'); table.insert(fields, fmt(born))
  else
    redis.call('HDEL', key, 'born')
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, math.ceil(1000 * (ttl + math.max(0, pause - now))))
end
local function shown_rate() if rate then return fmt(rate) end return '' end
-- The burst holds only at the ceiling (RateController._set_rate): below it, one at a time.
local function burst()
  if ceiling and rate >= ceiling then return allowance end
  return 1
end
"""

# ARGV[6] successes since the client's last call, [7] the increase per success, [8] the pause
# deadline the caller has already waited out, [9] '1' when it holds a slot it slept for.
# Returns the decision ('go', 'slot' or 'pause'), the seconds to wait, the pause deadline,
# the pace ('' when none) and the seconds left of the pause.
_ACQUIRE = (
    _PROLOGUE
    + """
local successes = tonumber(ARGV[6])
if successes > 0 then
  if not born then born = now end
  count = count + successes
  since = since + successes
  local top = ceiling or math.huge
  if rate and rate < top then
    local was = burst()
    rate = math.min(top, rate + successes * tonumber(ARGV[7]))
    if burst() > was then
      -- Back at the ceiling: the burst is earned again by waiting, not granted at once.
      tat = math.max(tat, now) + (burst() - was) / rate
    end
  end
end
local decision, wait = 'go', 0
if now < pause and pause > tonumber(ARGV[8]) then
  decision, wait = 'pause', pause - now
elseif ARGV[9] ~= '1' and rate then
  local interval = 1 / rate
  local slot = tat
  if tat < now then
    slot = now
    if unused >= 0 then unused = unused + now - tat end
  end
  tat = slot + interval
  wait = slot - (burst() - 1) * interval - now
  if wait > 0 then decision = 'slot' else wait = 0 end
end
save()
return {decision, fmt(wait), fmt(pause), shown_rate(), fmt(math.max(0, pause - now))}
"""
)

# ARGV[6] the seconds to pause, [7] '1' for a 429 (else only a pause), [8] the decrease,
# [9] the lowest pace, [10] the fewest answers a measured pace is taken from, [11] the share
# of the time since the last episode the pace may have gone unused for that time to measure.
# Returns the seconds left of the pause, '1' if this call pushed it, '1' if it lowered the
# pace, and the pace ('' when none).
_ANNOUNCE = (
    _PROLOGUE
    + """
local extended, lowered = '0', '0'
if now + tonumber(ARGV[6]) > pause then
  pause = now + tonumber(ARGV[6])
  tat = pause
  extended = '1'
end
if ARGV[7] == '1' then
  if now >= episode then
    local measured = nil
    local fewest = tonumber(ARGV[10])
    local cycle = now - (emptied or now)
    if since >= fewest and unused >= 0 and cycle > 0 and unused <= tonumber(ARGV[11]) * cycle
    then
      -- From the last episode to this one the server's budget went from spent to spent,
      -- while the fleet kept asking: what it accepted over that time is its rate.
      measured = since / cycle
    else
      local samples = previous * math.max(0, 1 - (now - bucket) / window) + count
      if samples >= fewest then
        local span = window
        if born and now - born < window then span = math.max(now - born, window / 4) end
        measured = samples / span
      end
    end
    local current = rate or measured
    if current then
      local down = tonumber(ARGV[8]) * current
      if measured and measured < down then down = measured end
      rate = math.max(tonumber(ARGV[9]), down)
      lowered = '1'
    end
    -- The server's budget is spent now: the next episode measures from here.
    emptied, since, count, previous, born = now, 0, 0, 0, nil
    if rate then unused = 0 else unused = -1 end
  end
  if pause > episode then episode = pause end
end
save()
return {fmt(math.max(0, pause - now)), extended, lowered, shown_rate()}
"""
)


def _import_redis() -> Any:
    try:
        import redis.asyncio
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(_EXTRA_HINT, name=exc.name) from None
    return redis


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in _URL_SCHEMES:
        raise ValueError(
            f"url must start with redis://, rediss:// or unix://, got {parts.scheme or 'no'} scheme"
        )
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError("url has an invalid port") from None
    return url


def _fleet_burst(limit: RateLimit | None) -> int:
    """Return how many requests the fleet may send at once: ``burst``, or half a second's worth."""
    if limit is None:
        return 1
    return limit.allowance


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SharedRateBudget:
    """Pace every client given this budget as one: a Redis key shared by processes and machines.

    Give every client of the fleet the same ``name`` (one budget per token: the server's
    limit is per token) and the same ``rate_limit``; without its ``burst`` the fleet sends
    at most half a second's worth at once, leaving room in the server's bucket for the
    jitter of many processes. ``ttl`` is how long, in seconds, the budget outlives its last
    use. ``clock`` is for tests: without it Redis's clock decides.
    A budget made by ``from_url`` owns its Redis client: close it with ``aclose()``.

    Raises:
        ValueError: ``name`` is empty or too long, or ``ttl`` is not positive.
        TypeError: an argument has the wrong type.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        name: str,
        ttl: float = DEFAULT_BUDGET_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        module = _import_redis()
        if not isinstance(redis, module.asyncio.Redis):
            raise TypeError(f"redis must be a redis.asyncio.Redis, got {type(redis).__name__}")
        name = check_label(name, "name", MAX_BUDGET_NAME)
        if any(not c.isprintable() for c in name):
            raise ValueError("name must not hold control characters")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self._redis = redis
        self._name = name
        self._key = BUDGET_KEY_PREFIX + name
        self._ttl = check_seconds(ttl, "ttl", positive=True)
        self._clock = clock
        self._where = "a redis.asyncio.Redis"
        self._owns_redis = False
        self._errors: tuple[type[BaseException], ...] = (module.RedisError, OSError)
        self._acquire: AsyncScript = redis.register_script(_ACQUIRE)
        self._announce: AsyncScript = redis.register_script(_ANNOUNCE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        name: str,
        ttl: float = DEFAULT_BUDGET_TTL,
        clock: Callable[[], float] | None = None,
    ) -> Self:
        """Return a budget kept in the Redis at ``url`` (``redis://HOST:PORT/DB``), which it owns.

        Nothing is connected yet: the first request does. Redis must answer within 5 s.

        Raises:
            ValueError: the URL is not a ``redis://``, ``rediss://`` or ``unix://`` one.
            ModuleNotFoundError: redis is not installed (the ``queue`` extra).
        """
        url = _check_url(url)
        module = _import_redis()
        redis = module.asyncio.Redis.from_url(
            url,
            socket_timeout=BUDGET_REDIS_TIMEOUT,
            socket_connect_timeout=BUDGET_REDIS_TIMEOUT,
        )
        # A bad name or ttl raises here: the client is dropped before it ever connected.
        budget = cls(redis, name=name, ttl=ttl, clock=clock)
        budget._where = redact_url(url)
        budget._owns_redis = True
        return budget

    def __repr__(self) -> str:
        return f"<SharedRateBudget {self._name!r} at {self._where}>"

    @property
    def name(self) -> str:
        """Return the name every client of this budget shares."""
        return self._name

    @property
    def key(self) -> str:
        """Return the Redis key the budget lives in."""
        return self._key

    async def aclose(self) -> None:
        """Close the Redis client if this budget made it (``from_url``); safe to call twice."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _pacer(self, limit: RateLimit | None) -> SharedPacer:
        """Return the pacer of one client on this budget, ``limit`` its pace's ceiling."""
        return SharedPacer(self, limit)

    async def _run(self, script: AsyncScript, limit: RateLimit | None, *args: str) -> list[str]:
        """Run one of the budget's scripts and return its answer as text."""
        clock = self._clock
        common = (
            "" if clock is None else repr(clock()),
            "" if limit is None else repr(float(limit.per_second)),
            str(_fleet_burst(limit)),
            repr(self._ttl),
            repr(PACE_ACCEPT_WINDOW),
        )
        failure: BaseException | None = None
        try:
            answer = await script(keys=[self._key], args=[*common, *args])
        except self._errors as exc:
            failure = exc
        if failure is not None:
            # Raised outside the except block: the chain holds no Redis connection object.
            raise RateBudgetError(
                f"the shared rate budget {self._name!r} at {self._where} could not be reached "
                f"({type(failure).__name__}: {failure}); the request was not sent"
            )
        return [_text(item) for item in answer]


class SharedPacer:
    """Decide when each request of one client may go, from the budget it shares in Redis."""

    def __init__(self, budget: SharedRateBudget, limit: RateLimit | None) -> None:
        if not isinstance(budget, SharedRateBudget):
            raise TypeError(f"rate_budget must be a SharedRateBudget, got {type(budget).__name__}")
        if limit is not None and not isinstance(limit, RateLimit):
            raise TypeError(f"rate_limit must be a wa.RateLimit, got {type(limit).__name__}")
        self._budget = budget
        self._limit = limit
        self._clock = budget._clock or time.monotonic
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._rate: float | None = limit.per_second if limit is not None else None
        self._pause_until = -math.inf  # on this process's clock, as last heard
        self._throttled = 0
        self._successes = 0  # not reported yet: they go with the next request's call
        self._reports: set[asyncio.Task[None]] = set()
        self._logged_rate = self._rate
        self._logged_pause = ""

    def __repr__(self) -> str:
        return f"<SharedPacer {self._budget.name!r} {self.state()!r}>"

    def state(self) -> RateLimitState:
        """Return the fleet's pace and pause as last heard from Redis, and this client's 429s."""
        paused_for = max(0.0, self._pause_until - self._clock())
        limit = self._limit.per_second if self._limit is not None else None
        return RateLimitState(self._rate, limit, paused_for, self._throttled)

    def ready(self) -> bool:
        """Return False: only the budget in Redis hands out slots, in ``acquire``."""
        return False

    async def acquire(self) -> None:
        """Wait until a request may go: after every pause announced, at the fleet's next slot.

        Raises:
            RateBudgetError: Redis could not be reached (the request is not sent).
        """
        if self._reports:
            # A pause this client announced reaches Redis before its next request asks.
            await asyncio.gather(*self._reports)
        waited, held = "0", "0"
        while True:
            successes, self._successes = self._successes, 0
            try:
                decision, wait, deadline, rate, paused_for = await self._budget._run(
                    self._budget._acquire, self._limit, str(successes), repr(PACE_INCREASE),
                    waited, held,
                )  # fmt: skip
            except RateBudgetError:
                self._successes += successes
                raise
            self._learn(rate, float(paused_for))
            if decision == "go":
                return
            if decision == "pause":
                if deadline != self._logged_pause:
                    self._logged_pause = deadline
                    logger.debug(
                        "pausing every request for %.3fs (rate budget %r)",
                        float(wait),
                        self._budget.name,
                    )
                waited, held = deadline, "0"
            else:
                held = "1"
            await self.sleep(float(wait))

    def observe(self, status: int, headers: Mapping[str, str], retry_after: float | None) -> None:
        """Learn from one answer: a 429 is told to the fleet now, successes with the next call."""
        refused_for = refusal_pause(status, retry_after)
        if refused_for is not None:
            self._throttled += 1
            self._announce(refused_for, status, True)
            return
        if 200 <= status < 300:
            self._successes += 1
        if "X-RateLimit-Remaining" in headers:
            now = self._clock()
            reset = _exhausted_until(headers, now)
            if reset is not None and reset > now:
                self._announce(reset - now, status, False)

    def release(self) -> None:
        """Do nothing: the fleet's budget does not count requests in flight."""

    async def aclose(self) -> None:
        """Wait for the pauses this client is still telling the budget about."""
        if self._reports:
            await asyncio.gather(*self._reports)

    def _announce(self, seconds: float, status: int, throttled: bool) -> None:
        # This client holds back at once; the others as soon as Redis has it.
        self._pause_until = max(self._pause_until, self._clock() + seconds)
        task = asyncio.get_running_loop().create_task(self._report(seconds, status, throttled))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _report(self, seconds: float, status: int, throttled: bool) -> None:
        budget = self._budget
        args = (repr(seconds), "1" if throttled else "0", repr(PACE_DECREASE))
        try:
            paused_for, extended, lowered, rate = await budget._run(
                budget._announce, self._limit, *args,
                repr(PACE_MIN_PER_SECOND), str(PACE_MIN_SAMPLES), repr(PACE_IDLE),
            )  # fmt: skip
        except RateBudgetError as exc:
            # The other clients keep sending: say so now; this client's next request fails.
            logger.warning("%s", exc)
            return
        if extended == "1":
            logger.debug(
                "pausing every request of rate budget %r for %.3fs (answer %d)",
                budget.name,
                seconds,
                status,
            )
        if lowered == "1":
            logger.debug(
                "pace of rate budget %r lowered to %.2f requests/s (answer %d)",
                budget.name,
                float(rate),
                status,
            )
            self._logged_rate = float(rate)
        self._learn(rate, float(paused_for))

    def _learn(self, rate: str, paused_for: float) -> None:
        self._pause_until = self._clock() + paused_for
        pace = float(rate) if rate else None
        self._rate = pace
        logged = self._logged_rate
        if pace is None or pace == logged:
            return
        # Raised a little on every success: told when it moved by a tenth since last told.
        if logged is None or abs(pace - logged) >= 0.1 * logged:
            name = self._budget.name
            logger.debug("pace of rate budget %r is now %.2f requests/s", name, pace)
            self._logged_rate = pace
