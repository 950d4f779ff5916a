"""What a webhook endpoint answers: a status and a small JSON body."""

from __future__ import annotations

from typing import Any, cast

import attrs
import orjson

from .._codegen import mutable_twin

__all__ = [
    "DUPLICATE",
    "HANDLED",
    "NOT_POST",
    "QUEUED",
    "Outcome",
    "PreparedAnswer",
    "answer",
    "encoded",
    "is_post",
    "too_large",
]


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


class PreparedAnswer:
    """An answer most deliveries get, its JSON encoded once.

    The servers write ``encoded`` as it is; ``WebhookRouter.handle`` returns a new
    ``WebhookAnswer`` made by ``answer()``, so that no caller shares a body dict.
    """

    __slots__ = ("encoded", "extra", "message", "status")

    def __init__(self, status: int, message: str, **extra: object) -> None:
        self.status, self.message, self.extra = status, message, extra
        self.encoded = orjson.dumps(answer(status, message, **extra).body)

    def __repr__(self) -> str:
        return f"<PreparedAnswer {self.status} {self.message!r}>"

    def answer(self) -> WebhookAnswer:
        """Return this answer as a new ``WebhookAnswer``."""
        return answer(self.status, self.message, **self.extra)


# What a decision comes to: an answer prepared once, or one made for this delivery.
Outcome = PreparedAnswer | WebhookAnswer

HANDLED = PreparedAnswer(200, "handled")
DUPLICATE = PreparedAnswer(200, "already handled", duplicate=True)
QUEUED = PreparedAnswer(202, "queued")
NOT_POST = PreparedAnswer(405, "webhooks are delivered with POST")


def is_post(method: str) -> bool:
    """Return whether ``method`` is POST, in any case: any other method is answered NOT_POST."""
    return method == "POST" or method.upper() == "POST"


def encoded(outcome: Outcome) -> bytes:
    """Return the JSON body of an outcome."""
    if isinstance(outcome, PreparedAnswer):
        return outcome.encoded
    return orjson.dumps(outcome.body)


def too_large(limit: int) -> WebhookAnswer:
    """Return the answer to a body larger than ``limit`` bytes."""
    return answer(413, f"the body is larger than {limit} bytes")
