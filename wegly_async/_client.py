"""``WeglyClient``: configuration, lifecycle, and the entry point to the endpoints."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp

from ._config import Timeout, resolve_base_url, resolve_origin, resolve_token
from ._constants import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
    MIN_MAX_RESPONSE_BYTES,
)
from ._retry import RetryPolicy
from ._transport import Transport
from ._validation import check_int
from .resources.chats import ChatsResource

__all__ = ["WeglyClient"]


class WeglyClient:
    """Talk to the Wegly external integration API; share one per application.

    The token falls back to ``WEGLY_TOKEN``, the base URL to ``WEGLY_BASE_URL`` and then
    ``https://api.wegly.com.br``, the origin to ``WEGLY_ORIGIN``. Without ``session`` the
    client creates its own aiohttp session on first use and closes it in ``close()``; a
    session you pass stays yours and is never closed by the client. A success answer larger
    than ``max_response_bytes`` (after decompression) raises ``InvalidResponseError``.

    Raises:
        ValueError: no token was found, or the base URL or origin is not acceptable.
        TypeError: an argument has the wrong type.
    """

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
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        self._base_url = resolve_base_url(base_url)
        self._origin = resolve_origin(origin)
        self._timeout = Timeout.coerce(timeout)
        self._retry = RetryPolicy(max_retries=max_retries, max_retry_after=max_retry_after)
        self._max_response_bytes = check_int(
            max_response_bytes, "max_response_bytes", minimum=MIN_MAX_RESPONSE_BYTES
        )
        self._transport = Transport(
            base_url=self._base_url,
            token=resolve_token(token),
            origin=self._origin,
            timeout=self._timeout,
            retry=self._retry,
            session=session,
            max_response_bytes=self._max_response_bytes,
        )
        self.chats = ChatsResource(self._transport)

    def __repr__(self) -> str:
        return (
            f"WeglyClient(base_url={self._base_url!r}, origin={self._origin!r}, "
            f"timeout={self._timeout!r}, max_retries={self._retry.max_retries})"
        )

    @property
    def base_url(self) -> str:
        """Return the base URL requests go to."""
        return self._base_url

    @property
    def origin(self) -> str | None:
        """Return the ``Origin`` header sent with every request, if any."""
        return self._origin

    @property
    def timeout(self) -> Timeout:
        """Return the timeout applied to each request."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Return how many times a failed request may be retried."""
        return self._retry.max_retries

    @property
    def max_response_bytes(self) -> int:
        """Return the largest success answer, in bytes after decompression, the client reads."""
        return self._max_response_bytes

    @property
    def closed(self) -> bool:
        """Return whether the client was closed."""
        return self._transport.closed

    async def close(self) -> None:
        """Release the client's own session; safe to call more than once."""
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
