"""Typed errors: a failed Liaobots exchange in, a ``langchain_core`` exception out.

Every error the package raises for a failed exchange is a
`LiaobotsError` *and* the matching ``langchain_core.exceptions.Model*Error``,
so agent retry logic can read ``is_retryable`` and callers can catch either.
Each carries the HTTP ``status_code`` (when there was one) and ``partial_text``:
the answer text received before the failure, so nothing is lost.

`error_for_status` is the one place that maps a status and body to a type;
it is pure (bytes and ints in, an exception object out). It never sees the auth
code: the exchange passes the body through
`scrub_text` first, in case the
service echoed the code. `LiaobotsSecurityWarning` is the warning category
of risky settings (TLS verification off, the code over plain ``http``);
`LiaobotsUnsupportedParameterWarning` that of sampling parameters the
protocol cannot carry.

The hierarchy (each also the ``langchain_core.exceptions`` class after the
colon; `LiaobotsError` is a ``ModelError``):

```text
LiaobotsError
├── LiaobotsInvalidRequestError      : ModelInvalidRequestError      (400)
├── LiaobotsAuthenticationError      : ModelAuthenticationError      (401)
├── LiaobotsOutOfCreditError         : ModelRateLimitError           (402)
├── LiaobotsPermissionDeniedError    : ModelPermissionDeniedError    (403)
├── LiaobotsNotFoundError            : ModelNotFoundError            (404)
├── LiaobotsRateLimitError           : ModelRateLimitError           (429)
├── LiaobotsContextOverflowError      : ContextOverflowError
│                                      (over the model's budget: before sending,
│                                       or the service's context-length error)
├── LiaobotsAPIError                 : ModelAPIError                 (5xx)
│   ├── LiaobotsUpstreamKeyError          (the service's own key refused)
│   └── LiaobotsUnexpectedResponseError   (not an answer: a bad body)
│       ├── LiaobotsRedirectError          (a redirect not followed)
│       └── LiaobotsResponseTooLargeError  (an answer above its size limit)
├── LiaobotsHTMLPageError            : ModelAPIError  (an HTML page)
│   └── LiaobotsCaptchaError                (the captcha page)
├── LiaobotsConnectionError          : ModelConnectionError
│   ├── LiaobotsTLSError
│   └── LiaobotsStreamCutError              (cut mid-answer)
├── LiaobotsTimeoutError             : ModelTimeoutError
└── LiaobotsReplyError               : OutputParserException
                                       (the reply broke the call's rule)

LiaobotsUnsupportedParameterWarning, LiaobotsSecurityWarning,
LiaobotsHistoryDroppedWarning, LiaobotsTokenizerWarning : UserWarning
```

The service (a chatbot-ui fork) reports an upstream failure as HTTP 500 with
the body ``Error`` and the upstream message as the **reason phrase**;
`error_for_status` reads that phrase (context length, rate limit, quota, key)
and always shows it.
"""

from __future__ import annotations

import http

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
    OutputParserException,
)

__all__ = [
    "LiaobotsAPIError",
    "LiaobotsAuthenticationError",
    "LiaobotsCaptchaError",
    "LiaobotsConnectionError",
    "LiaobotsContextOverflowError",
    "LiaobotsError",
    "LiaobotsHTMLPageError",
    "LiaobotsHistoryDroppedWarning",
    "LiaobotsInvalidRequestError",
    "LiaobotsNotFoundError",
    "LiaobotsOutOfCreditError",
    "LiaobotsPermissionDeniedError",
    "LiaobotsRateLimitError",
    "LiaobotsRedirectError",
    "LiaobotsReplyError",
    "LiaobotsResponseTooLargeError",
    "LiaobotsSecurityWarning",
    "LiaobotsStreamCutError",
    "LiaobotsTLSError",
    "LiaobotsTimeoutError",
    "LiaobotsTokenizerWarning",
    "LiaobotsUnexpectedResponseError",
    "LiaobotsUnsupportedParameterWarning",
    "LiaobotsUpstreamKeyError",
    "error_for_status",
    "excerpt",
]

_EXCERPT_CHARS = 200
_REASON_CHARS = 500


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


class LiaobotsContextOverflowError(LiaobotsError, ContextOverflowError):
    """The conversation does not fit the model's budget; not retryable.

    Raised before anything is sent when the service would drop the oldest
    messages (its history rule: docs/models.md), and when the service answers
    with the upstream "maximum context length" error.

    Attributes:
        dropped: How many of the oldest messages the service would drop
            (``None`` when the service reported the error).
        input_tokens: The prompt's and the kept messages' tokens (or the
            whole input's, when nothing fits).
        token_limit: The model's ``tokenLimit``.
    """

    dropped: int | None
    input_tokens: int | None
    token_limit: int | None

    def __init__(
        self,
        message: str,
        *,
        dropped: int | None = None,
        input_tokens: int | None = None,
        token_limit: int | None = None,
        status_code: int | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: The numbers, and what to do.
            dropped: Messages the service would drop.
            input_tokens: Tokens counted.
            token_limit: The model's ``tokenLimit``.
            status_code: The HTTP status, when the service reported it.
        """
        super().__init__(message, status_code=status_code)
        self.dropped = dropped
        self.input_tokens = input_tokens
        self.token_limit = token_limit


class LiaobotsAPIError(LiaobotsError, ModelAPIError):
    """The service failed (HTTP 5xx); often transient, so retryable."""


class LiaobotsUpstreamKeyError(LiaobotsAPIError):
    """The service's own upstream key was refused (its reason phrase says so).

    Nothing on the caller's side changes that, so it is not retryable.
    """

    is_retryable = False


class LiaobotsUnexpectedResponseError(LiaobotsAPIError):
    """An answer the protocol does not use.

    A status such as 405 or 418, or a JSON endpoint answering something that is
    not the expected JSON. Retrying the same request gets the same answer, so it
    is not retryable.
    """

    is_retryable = False


class LiaobotsRedirectError(LiaobotsUnexpectedResponseError):
    """A redirect that was not followed.

    A redirect to another origin (scheme, host or port) is never followed, so
    the auth code is never sent there; nor is one that would turn the ``POST``
    into a ``GET`` (301/302/303), has no ``Location``, or loops.
    """


class LiaobotsResponseTooLargeError(LiaobotsUnexpectedResponseError):
    """An answer larger than the package reads; reading stopped at the limit.

    A chat answer's body may hold at most
    `langchain_liaobots.wire.response.ANSWER_LIMIT` bytes (after content
    decoding), a JSON endpoint's
    `langchain_liaobots.wire.exchange.JSON_BODY_LIMIT`: far above what the
    service sends, so only a broken or hostile server reaches them. The rest of
    the body is never read or decoded. ``partial_text`` holds the answer text
    received up to the limit.
    """


class LiaobotsHTMLPageError(LiaobotsError, ModelAPIError):
    """An HTML page (an error page, a "not found" page) arrived where an answer belongs.

    Retrying the same request gets the same page, so it is not retryable.
    """

    is_retryable = False


class LiaobotsCaptchaError(LiaobotsHTMLPageError):
    """The service's captcha page (人机验证, "human verification") arrived with 200.

    It means the session cookie is missing or expired: enable
    ``ChatLiaobots(session_login=True)``.
    """


class LiaobotsConnectionError(LiaobotsError, ModelConnectionError):
    """The service could not be reached, or dropped the connection."""


class LiaobotsTLSError(LiaobotsConnectionError):
    """The TLS handshake failed (e.g. the certificate did not verify).

    Retrying does not change a certificate, so it is not retryable.
    """

    is_retryable = False


class LiaobotsStreamCutError(LiaobotsConnectionError):
    """The connection broke in the middle of the answer.

    ``partial_text`` holds exactly the text received before the cut.
    """


class LiaobotsTimeoutError(LiaobotsError, ModelTimeoutError):
    """Connecting, or waiting for the next piece of the answer, took too long.

    ``is_retryable`` stays true for callers' own policies (an agent may try
    again), but the transports never retry a timeout themselves, so a call
    fails within ``timeout`` seconds of the last byte received.
    """


class LiaobotsReplyError(LiaobotsError, OutputParserException):
    """The model's reply broke the call's rule, and repair turns did not help.

    Raised when ``tool_choice`` forces a call and the reply holds none that
    can be read (or not of the named tool), when a reply holds only calls that
    cannot be read, or when a bound ``response_format`` gets no whole JSON
    object, after ``parse_retries`` repair turns. It is an
    ``OutputParserException`` too, so agent and parser error handling catch it.

    Attributes:
        llm_output: The last reply's text, as the model wrote it.
        attempts: How many replies (requests) were tried.
    """

    attempts: int

    def __init__(self, message: str, *, llm_output: str, attempts: int) -> None:
        """Create the error.

        Args:
            message: Which rule was broken and what came back.
            llm_output: The last reply's text.
            attempts: How many replies were tried.
        """
        super().__init__(message, partial_text=llm_output)
        self.llm_output = llm_output
        self.observation = None
        self.send_to_llm = False
        self.attempts = attempts


class LiaobotsUnsupportedParameterWarning(UserWarning):
    """Parameters were set that the Liaobots protocol cannot carry.

    Raised as a warning (once, when ``ChatLiaobots`` is constructed) naming
    them: ``temperature``, ``top_p``, ``top_k``, ``frequency_penalty``,
    ``presence_penalty``, ``seed`` and ``n`` are accepted, like the fields of
    other chat models, and reported in traces, but never sent.
    """


class LiaobotsHistoryDroppedWarning(UserWarning):
    """``context_overflow="drop_oldest"`` dropped the oldest messages of a call.

    The message says how many; the answer's ``response_metadata`` carries
    ``dropped_messages``.
    """


class LiaobotsTokenizerWarning(UserWarning):
    """The cl100k_base tokenizer could not be loaded; counts are estimated."""


class LiaobotsSecurityWarning(UserWarning):
    """A setting that weakens security.

    Raised as a warning (never as an error) when TLS verification is off, or
    when the auth code would travel over plain ``http`` to a host that is not
    loopback.
    """


def excerpt(body: bytes | str, limit: int = _EXCERPT_CHARS) -> str:
    """Return a short one-line excerpt of a response body for an error message.

    Args:
        body: The (start of the) response body.
        limit: The most characters to keep.

    Returns:
        The body decoded leniently, whitespace collapsed, cut to ``limit`` and
        quoted; ``(empty body)`` when there is no text.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    flat = " ".join(text.split())
    if not flat:
        return "(empty body)"
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


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


_REASONS: tuple[tuple[tuple[str, ...], type[LiaobotsError], str], ...] = (
    (
        ("maximum context length", "context_length_exceeded", "reduce the length"),
        LiaobotsContextOverflowError,
        "the conversation is over the model's context; shorten it",
    ),
    (
        ("rate limit",),
        LiaobotsRateLimitError,
        "the service's upstream is rate limiting; wait and retry",
    ),
    (
        ("quota", "billing"),
        LiaobotsOutOfCreditError,
        "the service's upstream account is out of quota; retry much later",
    ),
    (
        ("api key", "api_key"),
        LiaobotsUpstreamKeyError,
        "the service's own upstream key was refused; nothing to change on "
        "your side, try again much later",
    ),
)
"""Upstream messages in a 500's reason phrase, by a lower-case fragment."""


def _standard_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _kind(status: int, reason: str) -> tuple[type[LiaobotsError], str]:
    """The error type and advice for a status and its reason phrase."""
    if status >= 500 and reason:
        lowered = reason.lower()
        for fragments, cls, advice in _REASONS:
            if any(f in lowered for f in fragments):
                return cls, advice
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500:
        return LiaobotsAPIError, "the service failed; retry later"
    return (
        LiaobotsUnexpectedResponseError,
        "a status the Liaobots protocol does not use; check base_url",
    )


def error_for_status(
    status: int,
    body: bytes | str,
    *,
    reason: str = "",
    retry_after: float | None = None,
    partial_text: str = "",
    in_stream: bool = False,
) -> LiaobotsError:
    """Map a failed HTTP status, its reason phrase and its body to a typed error.

    Args:
        status: The HTTP status (any non-2xx value, or an SSE ``res_status``).
        body: The start of the response body (or the event's message).
        reason: The response's reason phrase; one other than the status's
            standard phrase is the service's message and decides the type
            of a 5xx (see the module docstring).
        retry_after: Seconds from ``Retry-After``, if any.
        partial_text: Answer text received before the failure, if any.
        in_stream: Whether the status came in an SSE error event inside a
            200 answer rather than as the response's status.

    Returns:
        The error to raise; its message names the status, a non-standard
        reason phrase, an excerpt of the body, and what the user can do.
    """
    said = " ".join(reason.split())
    if said.lower() == _standard_phrase(status).lower():
        said = ""
    cls, advice = _kind(status, said)
    where = (
        f"sent an error event (res_status {status}) inside the answer"
        if in_stream
        else f"answered HTTP {status}"
    )
    if said:
        where += f" {excerpt(said, _REASON_CHARS)}"
    message = f"Liaobots {where}: {excerpt(body)} ({advice})."
    if cls is LiaobotsContextOverflowError:
        return LiaobotsContextOverflowError(message, status_code=status)
    return cls(
        message,
        status_code=status,
        partial_text=partial_text,
        retry_after=retry_after,
    )
