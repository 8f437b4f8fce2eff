"""Typed errors: a failed Liaobots exchange in, a ``langchain_core`` exception out.

Every error the package raises for a failed exchange is a
:class:`LiaobotsError` *and* the matching ``langchain_core.exceptions.Model*Error``,
so agent retry logic can read ``is_retryable`` and callers can catch either.
Each carries the HTTP ``status_code`` (when there was one) and ``partial_text``:
the answer text received before the failure, so nothing is lost.

:func:`error_for_status` is the one place that maps a status and body to a type;
it is pure (bytes and ints in, an exception object out) and never sees the auth
code, so no message can contain it.
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

__all__ = [
    "LiaobotsAPIError",
    "LiaobotsAuthenticationError",
    "LiaobotsConnectionError",
    "LiaobotsError",
    "LiaobotsHTMLPageError",
    "LiaobotsInvalidRequestError",
    "LiaobotsNotFoundError",
    "LiaobotsOutOfCreditError",
    "LiaobotsPermissionDeniedError",
    "LiaobotsRateLimitError",
    "LiaobotsStreamCutError",
    "LiaobotsTimeoutError",
    "error_for_status",
    "excerpt",
]

_EXCERPT_CHARS = 200


class LiaobotsError(ModelError):
    """Base of every error raised for a failed Liaobots exchange.

    Attributes:
        status_code: The HTTP status of the response, or ``None`` when no
            response arrived (connection failures, timeouts).
        partial_text: The answer text received before the failure; ``""`` when
            the failure came before the first byte of the answer.
        retry_after: Seconds from a ``Retry-After`` header, when the service
            sent one.
    """

    status_code: int | None
    partial_text: str
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        partial_text: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: What happened and what the user can do.
            status_code: The HTTP status, if a response arrived.
            partial_text: The answer text received before the failure.
            retry_after: Seconds the service asked the client to wait.
        """
        super().__init__(message)
        self.status_code = status_code
        self.partial_text = partial_text
        self.retry_after = retry_after


class LiaobotsInvalidRequestError(LiaobotsError, ModelInvalidRequestError):
    """The service rejected the request as malformed (HTTP 400)."""


class LiaobotsAuthenticationError(LiaobotsError, ModelAuthenticationError):
    """The auth code is missing, wrong or exhausted (HTTP 401)."""


class LiaobotsOutOfCreditError(LiaobotsError, ModelRateLimitError):
    """The account behind the auth code is out of credit (HTTP 402).

    A rate-limit error by kind, but waiting does not refill the credit, so it is
    not retryable.
    """

    is_retryable = False


class LiaobotsPermissionDeniedError(LiaobotsError, ModelPermissionDeniedError):
    """The auth code may not use this model or endpoint (HTTP 403)."""


class LiaobotsNotFoundError(LiaobotsError, ModelNotFoundError):
    """The endpoint or model was not found (HTTP 404)."""


class LiaobotsRateLimitError(LiaobotsError, ModelRateLimitError):
    """Too many requests (HTTP 429, or the service's "Too many requests")."""


class LiaobotsAPIError(LiaobotsError, ModelAPIError):
    """The service failed (HTTP 5xx, or an unexpected status)."""


class LiaobotsHTMLPageError(LiaobotsError, ModelAPIError):
    """An HTML page (a captcha or an error page) arrived where an answer belongs.

    Retrying the same request gets the same page, so it is not retryable.
    """

    is_retryable = False


class LiaobotsConnectionError(LiaobotsError, ModelConnectionError):
    """The service could not be reached."""


class LiaobotsStreamCutError(LiaobotsConnectionError):
    """The connection broke in the middle of the answer.

    ``partial_text`` holds exactly the text received before the cut.
    """


class LiaobotsTimeoutError(LiaobotsError, ModelTimeoutError):
    """Connecting, or waiting for the next piece of the answer, took too long."""


def excerpt(body: bytes | str, limit: int = _EXCERPT_CHARS) -> str:
    """Return a short one-line excerpt of a response body for an error message.

    Args:
        body: The (start of the) response body.
        limit: The most characters to keep.

    Returns:
        The body decoded leniently, whitespace collapsed, cut to ``limit``.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_STATUS_ERRORS: dict[int, tuple[type[LiaobotsError], str]] = {
    400: (
        LiaobotsInvalidRequestError,
        "the service rejected the request; check the model id and the messages",
    ),
    401: (
        LiaobotsAuthenticationError,
        "the auth code is missing, wrong or exhausted; set LIAOBOTS_AUTH_CODE "
        "or pass auth=",
    ),
    402: (
        LiaobotsOutOfCreditError,
        "the account is out of credit; top it up or use another auth code",
    ),
    403: (
        LiaobotsPermissionDeniedError,
        "this auth code may not use this model; pick another model",
    ),
    404: (
        LiaobotsNotFoundError,
        "the endpoint was not found; check base_url",
    ),
    429: (
        LiaobotsRateLimitError,
        "the service is rate limiting; wait and retry, or lower concurrency",
    ),
}


def error_for_status(
    status: int,
    body: bytes | str,
    *,
    retry_after: float | None = None,
    partial_text: str = "",
) -> LiaobotsError:
    """Map a failed HTTP status and its body to a typed error.

    Args:
        status: The HTTP status (any non-2xx value, or an SSE ``res_status``).
        body: The start of the response body, for the message.
        retry_after: Seconds from ``Retry-After``, if any.
        partial_text: Answer text received before the failure, if any.

    Returns:
        The error to raise; its message names the status, an excerpt of the
        body, and what the user can do.
    """
    if status in _STATUS_ERRORS:
        cls, advice = _STATUS_ERRORS[status]
    elif status >= 500:
        cls, advice = LiaobotsAPIError, "the service failed; retry later"
    else:
        cls, advice = LiaobotsAPIError, "unexpected status from the service"
    message = f"Liaobots answered HTTP {status}: {excerpt(body)!r} ({advice})."
    return cls(
        message,
        status_code=status,
        partial_text=partial_text,
        retry_after=retry_after,
    )
