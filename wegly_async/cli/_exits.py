"""How a command ends: exit statuses, the usage error, and the one line printed for an error."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "Interrupted",
    "UsageError",
    "describe_error",
    "usage_errors",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# 128 + the signal, as shells report a command a signal stopped.
EXIT_INTERRUPTED = 128 + signal.SIGINT  # Ctrl-C: 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # kill, systemd, docker stop: 143
_EXIT_BY_SIGNAL = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}


class UsageError(Exception):
    """Raise when the command line's arguments cannot work; exits with status 2."""


class Interrupted(Exception):
    """Raise when SIGINT or SIGTERM stopped a command that resumes when run again."""

    def __init__(self, signum: int) -> None:
        super().__init__("interrupted \N{EM DASH} run the same command again to resume")
        self.status = _EXIT_BY_SIGNAL[signal.Signals(signum)]


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """Turn argument checks that fail before any request into usage errors."""
    try:
        yield
    except (ValueError, TypeError, FileNotFoundError, IsADirectoryError) as exc:
        raise UsageError(str(exc)) from exc


def describe_error(exc: BaseException) -> str:
    """Return the one line printed for ``exc``: its type and its own text, no traceback.

    The SDK's errors say everything themselves (the status, the request and the server's
    words; or what became of the connection and whether a send may have gone out), so the
    command line adds nothing of its own: ``NotFoundError: 404 GET <url>: <message>``.
    """
    return f"{type(exc).__name__}: {exc}"
