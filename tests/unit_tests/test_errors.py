"""errors: status to typed error, retryability, wording."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelRateLimitError

from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsContextOverflowError,
    LiaobotsInvalidRequestError,
    LiaobotsNotFoundError,
    LiaobotsOutOfCreditError,
    LiaobotsPermissionDeniedError,
    LiaobotsRateLimitError,
    LiaobotsUnexpectedResponseError,
    LiaobotsUpstreamKeyError,
    error_for_status,
)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, LiaobotsInvalidRequestError, False),
        (401, LiaobotsAuthenticationError, False),
        (402, LiaobotsOutOfCreditError, False),
        (403, LiaobotsPermissionDeniedError, False),
        (404, LiaobotsNotFoundError, False),
        (429, LiaobotsRateLimitError, True),
        (500, LiaobotsAPIError, True),
        (503, LiaobotsAPIError, True),
        (418, LiaobotsUnexpectedResponseError, False),
        (307, LiaobotsUnexpectedResponseError, False),
    ],
)
def test_status_maps_to_type_and_retryability(
    status: int, cls: type, retryable: bool
) -> None:
    err = error_for_status(status, b"Error\n  body")
    assert type(err) is cls
    assert err.is_retryable is retryable
    assert err.status_code == status
    assert f"HTTP {status}" in str(err)
    assert "'Error body'" in str(err)


def test_out_of_credit_is_a_rate_limit_that_says_so() -> None:
    err = error_for_status(402, "Error")
    assert isinstance(err, ModelRateLimitError)
    assert "out of credit" in str(err)
    event = error_for_status(402, "Error", in_stream=True, partial_text="ab")
    assert "error event (res_status 402) inside the answer" in str(event)
    assert event.partial_text == "ab"
    assert "(empty body)" in str(error_for_status(500, b""))


UPSTREAM = [
    (
        "This model's maximum context length is 8192 tokens. However, your "
        "messages resulted in 9000 tokens. Please reduce the length of the messages.",
        LiaobotsContextOverflowError,
        False,
    ),
    (
        "Rate limit reached for default-gpt-4 in organization org-x on tokens per "
        "min. Limit: 40000 / min. Please try again in 1ms.",
        LiaobotsRateLimitError,
        True,
    ),
    (
        "You exceeded your current quota, please check your plan and billing details.",
        LiaobotsOutOfCreditError,
        False,
    ),
    (
        "Incorrect API key provided: sk-abc. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        LiaobotsUpstreamKeyError,
        False,
    ),
    ("Internal Server Error", LiaobotsAPIError, True),  # the standard phrase
    ("", LiaobotsAPIError, True),
    ("The server had an error while processing your request.", LiaobotsAPIError, True),
]


@pytest.mark.parametrize(("reason", "cls", "retryable"), UPSTREAM)
def test_a_500s_reason_phrase_is_the_upstream_error(
    reason: str, cls: type, retryable: bool
) -> None:
    err = error_for_status(500, b"Error", reason=reason)
    assert type(err) is cls
    assert err.is_retryable is retryable
    assert err.status_code == 500
    if reason and reason != "Internal Server Error":
        assert reason[:60] in str(err)  # a non-standard phrase is always shown
    else:
        assert "Internal Server Error" not in str(err)


def test_a_non_standard_phrase_is_shown_for_any_status() -> None:
    err = error_for_status(401, b"", reason="Code expired")
    assert type(err) is LiaobotsAuthenticationError
    assert "'Code expired'" in str(err)
    assert "'OK'" not in str(error_for_status(404, b"", reason="Not Found"))
