"""What a webhook endpoint answers: a status and a small JSON body."""

from __future__ import annotations

import attrs

__all__ = ["WebhookAnswer", "answer", "too_large"]


@attrs.frozen
class WebhookAnswer:
    """The status and JSON body to answer one delivery with."""

    status: int
    body: dict[str, object]


def answer(status: int, message: str, **extra: object) -> WebhookAnswer:
    """Return an answer whose body says ``ok`` (a 2xx status) and ``message``."""
    return WebhookAnswer(status, {"ok": 200 <= status < 300, "message": message, **extra})


def too_large(limit: int) -> WebhookAnswer:
    """Return the answer to a body larger than ``limit`` bytes."""
    return answer(413, f"the body is larger than {limit} bytes")
