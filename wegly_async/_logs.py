"""The ``WEGLY_LOG`` switch: a stderr handler on the ``wegly_async`` logger, set up at import.

As in the openai and anthropic SDKs, the variable is read once, when ``wegly_async`` is
first imported; unlike them, a value that is not a level is not ignored in silence (a
mistyped switch would look like a quiet client) but named in a ``RuntimeWarning``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping

LOG_ENV = "WEGLY_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
FORMAT = "[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s"
# Marks the handler this module adds, so that setting up twice never doubles the lines.
_HANDLER_NAME = "wegly_async.WEGLY_LOG"

logger = logging.getLogger("wegly_async")


def setup_logging(environ: Mapping[str, str] = os.environ) -> logging.Handler | None:
    """Attach a stderr handler at the level ``WEGLY_LOG`` names; return it, or None if unset."""
    value = environ.get(LOG_ENV, "").strip()
    if not value:
        return None
    level = LEVELS.get(value.lower())
    if level is None:
        shown = value if len(value) <= 40 else value[:40] + "..."
        warnings.warn(
            f"{LOG_ENV}={shown!r} is ignored: use one of {', '.join(LEVELS)}",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    logger.setLevel(level)
    for handler in logger.handlers:
        if handler.name == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler()  # sys.stderr
    handler.name = _HANDLER_NAME
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    return handler
