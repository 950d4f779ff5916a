"""How a command ends: exit statuses, the usage error, and the one line printed for an error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "describe_error",
    "usage_errors",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class UsageError(Exception):
    """Raise when the command line's arguments cannot work; exits with status 2."""


@contextlib.contextmanager
def usage_errors(prefix: str = "") -> Iterator[None]:
    """Turn argument checks that fail before any request into usage errors, after ``prefix``."""
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError, IsADirectoryError) as exc:
        raise UsageError(f"{prefix}{exc}") from exc


def describe_error(exc: BaseException) -> str:
    """Return the one line printed for ``exc``: its type and its own text, no traceback.

    The SDK's errors say everything themselves (the status, the request and the server's
    words; or what became of the connection and whether a send may have gone out), so the
    command line adds nothing of its own: ``NotFoundError: 404 GET <url>: <message>``.
    """
    return f"{type(exc).__name__}: {exc}"
