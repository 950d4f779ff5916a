"""``WeglyClient``: configuration, lifecycle, and the entry point to the endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, Unpack

import attrs

from ._aiohttp import AiohttpTransport
from ._config import NOT_GIVEN, NotGiven, Timeout, resolve_base_url, resolve_origin, resolve_token
from ._constants import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    MIN_MAX_RESPONSE_BYTES,
)
from ._pipeline import APIRequest, Pipeline, RawResponse, RequestOptions, check_options
from ._rate import Pacer, RateController, RateLimit, RateLimitState
from ._rate_redis import SharedRateBudget
from ._retry import RetryPolicy
from ._transport import AsyncTransport, TransportRequest, TransportResponse
from ._validation import check_bool, check_int
from .resources.chats import ChatsResource
from .resources.deals import DealsResource
from .resources.leads import LeadsResource
from .resources.proposals import ProposalsResource

if TYPE_CHECKING:
    import aiohttp

__all__ = ["WeglyClient"]


class WeglyClient:
    """Talk to the Wegly external integration API; share one per application.

    The token falls back to ``WEGLY_TOKEN``, the base URL to ``WEGLY_BASE_URL`` and then
    ``https://api.wegly.com.br``, the origin to ``WEGLY_ORIGIN``. Without ``session`` the
    client creates its own aiohttp session on first use and closes it in ``close()``; a
    session you pass stays yours and is never closed by the client. A success answer larger
    than ``max_response_bytes`` (after decompression) raises ``InvalidResponseError``.
    Every request is paced by one controller: a 429 pauses them all and lowers the pace,
    successes raise it again, up to ``rate_limit`` when one is given; ``pacing=False`` turns
    it off (each request then meets its 429 alone and waits its own ``Retry-After``).

    With ``rate_budget`` the pace, the pauses and AIMD are those of a budget in Redis that
    every client given the same budget name shares (a fleet of workers); the budget stays
    yours to close.

    Raises:
        ValueError: no token was found, or the base URL or origin is not acceptable.
        TypeError: an argument has the wrong type.
    """

    chats: ChatsResource
    """Messages into chats and their timelines."""
    leads: LeadsResource
    """Leads from external integrations, and their followers."""
    deals: DealsResource
    """Deals: create one, read one."""
    proposals: ProposalsResource
    """Proposals and their items."""

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        origin: str | None = None,
        timeout: float | Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        rate_budget: SharedRateBudget | None = None,
        rate_limit: RateLimit | None = None,
        pacing: bool = True,
        session: aiohttp.ClientSession | None = None,
        transport: AsyncTransport | None = None,
    ) -> None:
        if transport is not None and session is not None:
            raise TypeError("pass session= or transport=, not both: a transport holds its session")
        rate = _pacer(rate_limit, pacing, rate_budget)
        if transport is None:
            transport = AiohttpTransport(session)
        elif not isinstance(transport, AsyncTransport):
            raise TypeError(
                "transport must have async send(request) and aclose() methods (see "
                f"wegly_async.AsyncTransport), got {type(transport).__name__}"
            )
        self._setup(
            Pipeline(
                transport=transport,
                base_url=resolve_base_url(base_url),
                token=resolve_token(token),
                origin=resolve_origin(origin),
                timeout=Timeout.coerce(timeout),
                retry=RetryPolicy(max_retries=max_retries, max_retry_after=max_retry_after),
                max_response_bytes=check_int(
                    max_response_bytes, "max_response_bytes", minimum=MIN_MAX_RESPONSE_BYTES
                ),
                rate=rate,
            ),
            owns_transport=True,
        )

    def _setup(self, pipeline: Pipeline, *, owns_transport: bool) -> None:
        self._pipeline = pipeline
        self._owns_transport = owns_transport
        self._closed = False
        self.chats = ChatsResource(self)
        self.leads = LeadsResource(self)
        self.deals = DealsResource(self)
        self.proposals = ProposalsResource(self)

    def __repr__(self) -> str:
        return (
            f"WeglyClient(base_url={self.base_url!r}, origin={self.origin!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries})"
        )

    def with_options(
        self,
        *,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
        origin: str | None = None,
    ) -> WeglyClient:
        """Return a client with these settings that shares this one's session and connections.

        Closing the returned client leaves the shared session open; this client's
        ``close()`` closes it.
        """
        pipeline = self._pipeline
        changes: dict[str, Any] = {}
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = Timeout.coerce(timeout)
        retry = pipeline.retry
        if max_retries is not None:
            retry = attrs.evolve(retry, max_retries=max_retries)
        if max_retry_after is not None:
            retry = attrs.evolve(retry, max_retry_after=max_retry_after)
        changes["retry"] = retry
        if origin is not None:
            changes["origin"] = resolve_origin(origin)
        derived = object.__new__(WeglyClient)
        derived._setup(attrs.evolve(pipeline, **changes), owns_transport=False)
        return derived

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> RawResponse[Any]:
        """Call a route the SDK has no method for yet, with the same auth, retries and errors.

        ``path`` is relative to ``/integrations/external``; only GET, HEAD and OPTIONS are
        retried after they may have reached the server (a POST is never duplicated).

        Raises:
            APIStatusError: the server answered with an error status (a subclass per status).
            APIConnectionError: the server could not be reached.
        """
        request = _raw_request(method, path, params, json, options)
        return await self._pipeline.send(request)

    @property
    def base_url(self) -> str:
        """Return the base URL requests go to."""
        return self._pipeline.base_url

    @property
    def origin(self) -> str | None:
        """Return the ``Origin`` header sent with every request, if any."""
        return self._pipeline.origin

    @property
    def timeout(self) -> Timeout:
        """Return the timeout applied to each request."""
        return self._pipeline.timeout

    @property
    def max_retries(self) -> int:
        """Return how many times a failed request may be retried."""
        return self._pipeline.retry.max_retries

    @property
    def max_retry_after(self) -> float:
        """Return the longest Retry-After the client waits out before it gives up."""
        return self._pipeline.retry.max_retry_after

    @property
    def max_response_bytes(self) -> int:
        """Return the largest success answer, in bytes after decompression, the client reads."""
        return self._pipeline.max_response_bytes

    @property
    def rate_limit_state(self) -> RateLimitState:
        """Return how the client is paced now (shared with ``with_options`` copies)."""
        rate = self._pipeline.rate
        return rate.state() if rate is not None else _UNPACED

    @property
    def transport(self) -> AsyncTransport:
        """Return the transport that makes each attempt (shared with ``with_options`` copies)."""
        return self._pipeline.transport

    @property
    def closed(self) -> bool:
        """Return whether the client was closed."""
        return self._closed

    async def close(self) -> None:
        """Close the client; its own transport and session too, never a shared or given one.

        Safe to call more than once. A client made by ``with_options`` only stops itself.
        """
        if self._closed:
            return
        self._closed = True
        transport = self._pipeline.transport
        self._pipeline = attrs.evolve(self._pipeline, transport=_ClosedTransport())
        if self._owns_transport:
            if self._pipeline.rate is not None:
                await self._pipeline.rate.aclose()
            await transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _ClosedTransport:
    """Stand in for the transport of a closed client: every request is refused."""

    async def send(self, request: TransportRequest) -> TransportResponse:
        raise RuntimeError("this WeglyClient is closed; create a new one to make requests")

    async def aclose(self) -> None:
        return None


# A query, a fragment, a backslash, white space or a control character has no place in a path.
# What ``rate_limit_state`` says of a client made with ``pacing=False``.
_UNPACED = RateLimitState(per_second=None, limit=None, paused_for=0.0, throttled=0)


def _pacer(limit: RateLimit | None, pacing: bool, budget: SharedRateBudget | None) -> Pacer | None:
    """Return the client's pacer (its own controller or a shared budget's), or None when off."""
    if not check_bool(pacing, "pacing"):
        if limit is not None or budget is not None:
            raise ValueError("rate_limit and rate_budget need pacing=True: pass one or the other")
        return None
    if budget is not None:
        if not isinstance(budget, SharedRateBudget):
            raise TypeError(
                f"rate_budget must be a wa.SharedRateBudget, got {type(budget).__name__}"
            )
        return budget._pacer(limit)
    return RateController(limit)


_PATH_FORBIDDEN = frozenset("?#\\ \t\r\n\0")
_RAW_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
# Methods a repeat cannot make worse; client.request() retries only these after a send.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _raw_request(
    method: object,
    path: object,
    params: Mapping[str, str | int] | None,
    json: Mapping[str, Any] | None,
    options: Mapping[str, Any],
) -> APIRequest:
    """Return the request ``client.request`` makes, raising before any I/O on bad input."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {type(method).__name__}")
    method = method.upper()
    if method not in _RAW_METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(_RAW_METHODS))}, got {method!r}")
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, got {type(path).__name__}")
    if not path.startswith("/") or "//" in path or any(c in path for c in _PATH_FORBIDDEN):
        raise ValueError(
            "path must start with '/', be relative to /integrations/external and carry no "
            f"query (pass params=), got {path!r}"
        )
    if any(part in (".", "..") for part in path.split("/")):
        raise ValueError(f"path must not contain '.' or '..' segments, got {path!r}")
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, got {type(params).__name__}")
    if json is not None and not isinstance(json, Mapping):
        raise TypeError(f"json must be a mapping (a JSON object), got {type(json).__name__}")
    return APIRequest(
        method,
        path,
        params=params,
        json=json,
        idempotent=method in _IDEMPOTENT_METHODS,
        options=check_options(options),
    )
