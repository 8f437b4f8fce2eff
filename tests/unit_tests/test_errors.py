"""errors: status to typed error, retryability, wording."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelRateLimitError

from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsInvalidRequestError,
    LiaobotsNotFoundError,
    LiaobotsOutOfCreditError,
    LiaobotsPermissionDeniedError,
    LiaobotsRateLimitError,
    LiaobotsUnexpectedResponseError,
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
