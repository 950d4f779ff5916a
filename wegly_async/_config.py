"""Client settings: the ``Timeout`` value object and the checks on token, base URL and origin."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

import attrs
import yarl

from ._constants import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, ENV_BASE_URL, ENV_ORIGIN, ENV_TOKEN
from ._validation import check_seconds, check_str

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "Timeout",
    "is_loopback_host",
    "redact_url",
    "resolve_base_url",
    "resolve_origin",
    "resolve_token",
]

# Printable ASCII without spaces: anything else could split or forge an HTTP header.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
# The user-info part of a URL (``user:password@``), up to the last ``@`` before the path.
_USERINFO_RE = re.compile(r"(?<=//)[^/?#]*@")
# The query and fragment, which may carry a key as well.
_QUERY_RE = re.compile(r"[?#].*", re.DOTALL)


def _shown_url(url: str) -> str:
    """Return ``url`` fit for an error message: credentials and query are never echoed."""
    return repr(_QUERY_RE.sub("?…", _USERINFO_RE.sub("[credentials]@", url)))


def redact_url(url: str) -> str:
    """Return a server URL (a Redis one, say) as shown to users: no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class NotGiven:
    """The type of ``NOT_GIVEN``: an argument left out, where ``None`` has a meaning of its own."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN = NotGiven()
"""Stands for an argument left out (``timeout=None`` means no limit, so it cannot)."""


def _seconds(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_seconds(value, f"Timeout.{attribute.name}", positive=True)


@attrs.frozen
class Timeout:
    """How long one request may take: in all (``total``), to connect, and between reads.

    ``None`` means no limit. A plain number passed as ``timeout=`` means ``Timeout(total=n)``.
    Setting ``connect`` lets a send that timed out while connecting be told apart from one
    that may have reached the server.
    """

    total: float | None = attrs.field(default=DEFAULT_TIMEOUT, validator=_seconds)
    connect: float | None = attrs.field(default=None, kw_only=True, validator=_seconds)
    read: float | None = attrs.field(default=None, kw_only=True, validator=_seconds)

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Return ``value`` as a Timeout, reading a number as the total seconds."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(total=None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"timeout must be seconds or a Timeout, got {type(value).__name__}")
        return cls(total=value)


def resolve_token(token: str | None) -> str:
    """Return the token to use, from the argument or ``WEGLY_TOKEN``."""
    if token is None:
        token = os.environ.get(ENV_TOKEN) or None
    if token is None:
        raise ValueError(
            f"a Wegly integration token is needed: pass token=... or set the {ENV_TOKEN} "
            "environment variable"
        )
    if not _TOKEN_RE.fullmatch(check_str(token, "token")):
        # The token itself is never echoed: it may be real even when malformed.
        raise ValueError("token must be non-empty printable ASCII without spaces or line breaks")
    return token


def is_loopback_host(host: str) -> bool:
    """Return whether ``host`` names this machine (localhost, 127.0.0.0/8 or ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None) -> str:
    """Return the validated base URL, from the argument, ``WEGLY_BASE_URL`` or the default."""
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    shown = _shown_url(check_str(base_url, "base_url"))
    try:
        url = yarl.URL(base_url)
    except (ValueError, TypeError):
        # yarl's own message may quote the URL (and so its credentials): it is left out.
        raise ValueError(
            f"base_url is not a valid URL (check the host and port): {shown}"
        ) from None
    if url.user is not None or url.password is not None:
        raise ValueError("base_url must not carry credentials; pass the token as token=...")
    if url.scheme not in ("https", "http") or not url.host:
        raise ValueError(f"base_url must be an absolute https:// URL, got {shown}")
    if url.scheme == "http" and not is_loopback_host(url.host):
        raise ValueError(
            f"base_url must use https:// (plain http is allowed only for loopback hosts such as "
            f"127.0.0.1, ::1 or localhost), got {shown}"
        )
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment, got {shown}")
    return str(url).rstrip("/")


def resolve_origin(origin: str | None) -> str | None:
    """Return the validated ``Origin`` header value, from the argument or ``WEGLY_ORIGIN``."""
    if origin is None:
        origin = os.environ.get(ENV_ORIGIN) or None
    if origin is None:
        return None
    check_str(origin, "origin")
    try:
        url = yarl.URL(origin)
    except (ValueError, TypeError):
        url = None
    if (
        url is None
        or url.scheme not in ("https", "http")
        or not url.host
        or url.path not in ("", "/")
        or url.query_string
        or url.fragment
        or url.user is not None
        # Only printable ASCII can go into a header: an IDN host is written in punycode.
        or not _TOKEN_RE.fullmatch(origin)
    ):
        raise ValueError(
            f"origin must be a scheme and host such as 'https://app.example.com' "
            f"(the domain your key's allowed_domain names, in ASCII), got {_shown_url(origin)}"
        )
    return origin.rstrip("/")
