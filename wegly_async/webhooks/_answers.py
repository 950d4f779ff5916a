"""What a webhook endpoint answers: a status and a small JSON body."""

from __future__ import annotations

from typing import Any, cast

import attrs

from .._codegen import mutable_twin

__all__ = ["WebhookAnswer", "answer", "too_large"]


@attrs.frozen(weakref_slot=False)
class WebhookAnswer:
    """The status and JSON body to answer one delivery with."""

    status: int
    body: dict[str, object]


# Built as _codegen builds decoded models: a plain twin with the same slots, its slots set
# directly, then given the frozen class (a frozen __init__ sets each through a descriptor).
_ANSWER_TWIN = mutable_twin(WebhookAnswer)


def answer(status: int, message: str, **extra: object) -> WebhookAnswer:
    """Return an answer whose body says ``ok`` (a 2xx status) and ``message``."""
    body = {"ok": 200 <= status < 300, "message": message, **extra}
    if _ANSWER_TWIN is None:
        return WebhookAnswer(status, body)
    built: Any = _ANSWER_TWIN()
    built.status = status
    built.body = body
    built.__class__ = WebhookAnswer
    return cast(WebhookAnswer, built)


def too_large(limit: int) -> WebhookAnswer:
    """Return the answer to a body larger than ``limit`` bytes."""
    return answer(413, f"the body is larger than {limit} bytes")
