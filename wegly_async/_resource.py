"""The base of every API group: request helpers that bind path, options and parsing once."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from ._pipeline import APIRequest, Pipeline, RawResponse, RequestOptions, check_options
from ._responses import ResponseContext, parse_envelope, parse_response, structure_records
from ._transport import Multipart
from ._walker import FetchedPage, FetchPage, Records

if TYPE_CHECKING:
    from ._client import WeglyClient

__all__ = ["APIResource", "Parser", "model_parser", "to_raw_response"]

# The options of a call that passes none (most calls): nothing to check.
_NO_OPTIONS = RequestOptions()
T = TypeVar("T")
P = ParamSpec("P")

# Turns "parse the answer" off for the call being made: set by ``with_raw_response``.
_RAW: contextvars.ContextVar[bool] = contextvars.ContextVar("wegly_raw_response", default=False)

# How an endpoint turns the success answer into its result.
Parser = Callable[[RawResponse[Any]], T]


class APIResource:
    """One API group of a client (``client.chats``, ...), sharing its pipeline."""

    def __init__(self, client: WeglyClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def _pipeline(self) -> Pipeline:
        return self._client._pipeline

    async def _request(
        self,
        method: str,
        path: str,
        parser: Parser[T],
        options: Mapping[str, Any],
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
        multipart: Multipart | None = None,
        idempotent: bool,
    ) -> T:
        raw = _RAW.get()
        request = APIRequest(
            method,
            path,
            params=params,
            json=json,
            multipart=multipart,
            idempotent=idempotent,
            options=check_options(options) if options else _NO_OPTIONS,
        )
        response = await self._pipeline.send(request, parser)
        # The raw twin hands back the response itself: its T is the RawResponse.
        return response if raw else response.parse()  # type: ignore[return-value]

    # The verb helpers hand back _request's coroutine rather than awaiting it: one coroutine
    # frame less on every call, resumed at each of its suspensions.

    def _get(
        self,
        path: str,
        parser: Parser[T],
        options: RequestOptions,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> Coroutine[Any, Any, T]:
        return self._request("GET", path, parser, options, params=params, idempotent=True)

    def _post(
        self,
        path: str,
        parser: Parser[T],
        options: RequestOptions,
        *,
        json: Mapping[str, Any] | None = None,
        multipart: Multipart | None = None,
    ) -> Coroutine[Any, Any, T]:
        # A POST is never repeated after it may have reached the server.
        return self._request(
            "POST", path, parser, options, json=json, multipart=multipart, idempotent=False
        )

    def _put(
        self, path: str, parser: Parser[T], options: RequestOptions, *, json: Any, idempotent: bool
    ) -> Coroutine[Any, Any, T]:
        return self._request("PUT", path, parser, options, json=json, idempotent=idempotent)

    def _patch(
        self,
        path: str,
        parser: Parser[T],
        options: RequestOptions,
        *,
        json: Any,
        multipart: Multipart | None = None,
        idempotent: bool,
    ) -> Coroutine[Any, Any, T]:
        return self._request(
            "PATCH", path, parser, options, json=json, multipart=multipart, idempotent=idempotent
        )

    def _list_fetch(
        self,
        path: str,
        model: type[T],
        options: RequestOptions,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> FetchPage:
        """Return the page fetch an offset pager calls: GET ``path`` at ``skip`` and ``take``."""
        checked = check_options(options)

        async def fetch(skip: int, take: int) -> FetchedPage[T]:
            query = {**(params or {}), "skip": skip, "take": take}
            request = APIRequest("GET", path, params=query, idempotent=True, options=checked)
            raw = await self._pipeline.send(request)
            ctx = ResponseContext.of(raw)
            total, records = parse_envelope(ctx)

            def decode(fresh: Records) -> list[T]:
                return structure_records(fresh, model, ctx)

            return FetchedPage(total=total, records=records, decode=decode, invalid=ctx.error)

        return fetch

    def _delete(
        self, path: str, parser: Parser[T], options: RequestOptions, *, idempotent: bool
    ) -> Coroutine[Any, Any, T]:
        return self._request("DELETE", path, parser, options, idempotent=idempotent)


def model_parser(cls: type[T], *, exact_numbers: bool = False) -> Parser[T]:
    """Return the parser that decodes a success answer's body into ``cls``.

    ``exact_numbers`` reads fractional numbers digit for digit, for models with ``Decimal``s.
    """

    def parse(raw: RawResponse[Any]) -> T:
        return parse_response(raw, cls, exact_numbers=exact_numbers)

    return parse


def to_raw_response(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[RawResponse[T]]]:
    """Return ``method`` changed to give the ``RawResponse`` instead of the parsed result."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        token = _RAW.set(True)
        try:
            return cast("RawResponse[T]", await method(*args, **kwargs))
        finally:
            _RAW.reset(token)

    return wrapped
