"""wire.retries: which failures are retried, after how long; Retry-After.

The clock and the random draw are arguments, so every delay is exact.
"""

from __future__ import annotations

import random
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from langchain_liaobots.errors import (
    LiaobotsConnectionError,
    LiaobotsTimeoutError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.retries import CallRetries, parse_retry_after, retry_delay

NOW = parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
"""A fixed "now" for the HTTP-date tests."""


def test_retry_delay_policy() -> None:
    api = error_for_status(500, "")
    assert retry_delay(2, 2, api, 0.5) is None  # exhausted
    assert retry_delay(0, 2, error_for_status(401, ""), 0.5) is None  # not retryable
    assert retry_delay(0, 2, LiaobotsTimeoutError("slow"), 0.5) is None  # never
    late = error_for_status(429, "", retry_after=7.0)
    assert retry_delay(0, 2, late, 0.5) == 7.0
    assert retry_delay(0, 2, error_for_status(429, "", retry_after=1e9), 0.5) == 60.0
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)]):
        delays = {retry_delay(attempt, 9, api, random.random()) for _ in range(50)}
        assert all(d is not None and low <= d <= high for d in delays)
        assert len(delays) > 1  # jitter
    capped = [retry_delay(9, 99, api, random.random()) for _ in range(20)]
    assert all(d is not None and 4.0 <= d <= 8.0 for d in capped)


@pytest.mark.parametrize(
    ("attempt", "draw", "delay"),
    [
        (0, 0.0, 0.25),
        (0, 0.5, 0.375),
        (0, 0.999, 0.49975),
        (1, 0.0, 0.5),
        (1, 0.5, 0.75),
        (2, 0.25, 1.25),
        (4, 0.0, 4.0),  # the 8 s cap: 4 to 8 s from here on
        (9, 0.5, 6.0),
    ],
)
def test_jitter_places_the_delay_by_the_draw(
    attempt: int, draw: float, delay: float
) -> None:
    assert retry_delay(attempt, 99, error_for_status(503, ""), draw) == delay


def test_retry_after_wins_over_the_draw() -> None:
    late = error_for_status(429, "", retry_after=2.5)
    assert {retry_delay(0, 2, late, d) for d in (0.0, 0.5, 0.99)} == {2.5}


def test_parse_retry_after() -> None:
    assert parse_retry_after("3", NOW) == 3.0
    assert parse_retry_after("-1", NOW) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW + 1) == 0.0  # past
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_retry_after_seconds_ignore_the_clock() -> None:
    assert parse_retry_after("120", now=0.0) == 120.0
    assert parse_retry_after("1.5", now=NOW) == 1.5
    assert parse_retry_after("nan", now=NOW) is None


def test_retry_after_http_date_counts_from_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", NOW) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", NOW - 60) == 180.0
    later = parsedate_to_datetime("Wed, 21 Oct 2015 08:28:00 GMT")
    assert parse_retry_after(format_datetime(later, usegmt=True), NOW) == 3600.0
    # A date without a zone says nothing certain: unparseable.
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30", NOW) is None


def test_call_retries_never_after_the_answer_started() -> None:
    retries = CallRetries(5, Credentials("http://127.0.0.1:1", "code"))
    cut = LiaobotsConnectionError("cut")
    assert retries.delay_after(cut, started=True, generation=0, draw=0.5) is None
    assert retries.delay_after(cut, started=False, generation=0, draw=0.5) is not None


def test_call_retries_count_and_back_off() -> None:
    retries = CallRetries(2, Credentials("http://127.0.0.1:1", "code"))
    down = error_for_status(503, "")
    assert retries.delay_after(down, started=False, generation=0, draw=0.0) == 0.25
    assert retries.delay_after(down, started=False, generation=0, draw=1.0) == 1.0
    assert retries.delay_after(down, started=False, generation=0, draw=0.0) is None
