"""wire.retries: which failures are retried, after how long; Retry-After."""

from __future__ import annotations

from langchain_liaobots.errors import (
    LiaobotsConnectionError,
    LiaobotsTimeoutError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.retries import CallRetries, parse_retry_after, retry_delay


def test_retry_delay_policy() -> None:
    api = error_for_status(500, "")
    assert retry_delay(2, 2, api) is None  # exhausted
    assert retry_delay(0, 2, error_for_status(401, "")) is None  # not retryable
    assert retry_delay(0, 2, LiaobotsTimeoutError("slow")) is None  # never
    late = error_for_status(429, "", retry_after=7.0)
    assert retry_delay(0, 2, late) == 7.0
    assert retry_delay(0, 2, error_for_status(429, "", retry_after=1e9)) == 60.0
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)]):
        delays = {retry_delay(attempt, 9, api) for _ in range(50)}
        assert all(d is not None and low <= d <= high for d in delays)
        assert len(delays) > 1  # jitter
    capped = [retry_delay(9, 99, api) for _ in range(20)]
    assert all(d is not None and 4.0 <= d <= 8.0 for d in capped)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-1") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_call_retries_never_after_the_answer_started() -> None:
    retries = CallRetries(5, Credentials("http://127.0.0.1:1", "code"))
    cut = LiaobotsConnectionError("cut")
    assert retries.delay_after(cut, started=True, generation=0) is None
    assert retries.delay_after(cut, started=False, generation=0) is not None
