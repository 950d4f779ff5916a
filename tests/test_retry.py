"""The pure retry rules: what is retried, how long to wait, Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wegly_async._retry import Failure, RetryPolicy, parse_retry_after


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_are_retried_on_transient_statuses(status: int) -> None:
    assert RetryPolicy().retries_status(status, idempotent=True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_reads_are_not_retried_on_client_errors(status: int) -> None:
    assert not RetryPolicy().retries_status(status, idempotent=True)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 400])
def test_sends_are_never_retried_on_statuses_that_may_have_acted(status: int) -> None:
    assert not RetryPolicy().retries_status(status, idempotent=False)


def test_sends_are_retried_on_rate_limit() -> None:
    assert RetryPolicy().retries_status(429, idempotent=False)


def test_sends_are_retried_only_when_the_request_never_left() -> None:
    policy = RetryPolicy()
    assert policy.retries_failure(Failure.NOT_SENT, idempotent=False)
    assert not policy.retries_failure(Failure.MAYBE_SENT, idempotent=False)
    assert policy.retries_failure(Failure.MAYBE_SENT, idempotent=True)


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0)
    assert [policy.backoff(n, rand=lambda: 1.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert policy.backoff(3, rand=lambda: 0.0) == 0.0
    assert policy.backoff(2, rand=lambda: 0.25) == 0.5


def test_delay_stops_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(0, rand=lambda: 1.0) == 0.5
    assert policy.delay(1, rand=lambda: 1.0) == 1.0
    assert policy.delay(2, rand=lambda: 1.0) is None


def test_zero_retries_never_waits() -> None:
    assert RetryPolicy(max_retries=0).delay(0, status=429, retry_after=1.0) is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_replaces_backoff(status: int) -> None:
    assert RetryPolicy().delay(0, status=status, retry_after=7.0, rand=lambda: 1.0) == 7.0


@pytest.mark.parametrize("retry_after", [0.0, 0.01])
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_shorter_than_the_backoff_waits_the_backoff(
    status: int, retry_after: float
) -> None:
    policy = RetryPolicy(initial_delay=0.5)
    assert policy.delay(0, status=status, retry_after=retry_after, rand=lambda: 0.5) == 0.25
    assert policy.delay(2, status=status, retry_after=retry_after, rand=lambda: 0.5) == 1.0


def test_past_or_negative_retry_after_headers_wait_the_backoff() -> None:
    policy = RetryPolicy(initial_delay=0.5)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    for header in ("0", "-3", "Mon, 01 Jan 2001 00:00:00 GMT"):
        seconds = parse_retry_after(header, now=now)
        assert policy.delay(0, status=429, retry_after=seconds, rand=lambda: 1.0) == 0.5


def test_retry_after_is_ignored_on_other_statuses() -> None:
    assert RetryPolicy().delay(0, status=500, retry_after=7.0, rand=lambda: 1.0) == 0.5


def test_retry_after_above_the_cap_is_not_waited_for() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay(0, status=429, retry_after=61.0) is None
    assert policy.delay(0, status=429, retry_after=60.0) == 60.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        ("0", 0.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=now) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_retries": -1}, ValueError),
        ({"max_retries": 1.5}, TypeError),
        ({"max_retries": True}, TypeError),
        ({"max_retry_after": -1.0}, ValueError),
        ({"max_retry_after": float("inf")}, ValueError),
        ({"initial_delay": "1"}, TypeError),
    ],
)
def test_policy_rejects_bad_settings(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
