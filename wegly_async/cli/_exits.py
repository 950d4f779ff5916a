"""How a command ends: exit statuses, the usage error, and the one line printed for an error."""

from __future__ import annotations

from .. import _errors as errors

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "describe_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class UsageError(Exception):
    """Raise when the command line's arguments cannot work; exits with status 2."""


_STATUS_PHRASES: dict[type[errors.APIStatusError], str] = {
    errors.BadRequestError: "bad request",
    errors.AuthenticationError: "authentication failed",
    errors.PermissionDeniedError: "permission denied",
    errors.NotFoundError: "not found",
    errors.ConflictError: "conflict",
    errors.UnprocessableEntityError: "request rejected",
    errors.RateLimitError: "rate limited",
    errors.InternalServerError: "server error",
}


def describe_error(exc: BaseException) -> str:
    """Return one line saying what went wrong, without a traceback."""
    if isinstance(exc, errors.APIStatusError):
        phrase = _STATUS_PHRASES.get(type(exc), "request failed")
        return f"{phrase} ({exc.status_code}): {exc.message}"
    if isinstance(exc, errors.SendOutcomeUnknownError):
        return f"outcome unknown: {exc.message}"
    if isinstance(exc, errors.APITimeoutError):
        return f"timed out: {exc.message}"
    if isinstance(exc, errors.APIConnectionError):
        return f"connection failed: {exc.message}"
    if isinstance(exc, errors.InvalidResponseError):
        return f"invalid response: {exc}"
    if isinstance(exc, OSError):
        return f"file error: {exc}"
    return f"{type(exc).__name__}: {exc}"
