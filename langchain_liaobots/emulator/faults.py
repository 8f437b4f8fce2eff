"""Scripted behaviours of the local server: a fault in, one request's misbehaviour out.

Queue them with `LiaobotsEmulator.script` (or ``--fault``
on the command line, parsed by `parse_fault`); each is used once, by the
next request to its ``path`` (the chat endpoint unless told otherwise):

* `Status` — any status with any body (401, 402 ``Error``, 429 with
  ``Retry-After``, 500 ``Error``, …);
* `UpstreamError` — the service's answer to an upstream (OpenAI) error: 500,
  body ``Error``, the upstream's message as the reason phrase
  (`UPSTREAM_MESSAGES` holds those the upstream sends);
* `HtmlPage` — an HTML page with status 200 (`CAPTCHA_PAGE`,
  `NOT_FOUND_PAGE`);
* `Answer` — the normal answer with per-request changes: other text,
  raw bytes (invalid or split UTF-8), SSE framing, piece size, a slow drip;
  its subclasses end it differently: `Cut` drops the connection after
  some pieces, `Stall` stops sending for a while (before the headers,
  or after some pieces), `SseError` sends an SSE error event;
* `Redirect` — a redirect to any URL;
* `Disconnect` — the connection closed without an answer;
* `TooManyRequests` — ``/api/user``'s rate-limit answer (HTTP 200).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal, cast, get_args

from langchain_liaobots.wire.protocol import CHAT_PATH, USER_PATH

__all__ = [
    "CAPTCHA_PAGE",
    "NOT_FOUND_PAGE",
    "UPSTREAM_MESSAGES",
    "Answer",
    "Behaviour",
    "Cut",
    "Disconnect",
    "Framing",
    "HtmlPage",
    "Redirect",
    "SseError",
    "Stall",
    "Status",
    "TooManyRequests",
    "Transfer",
    "UpstreamError",
    "parse_fault",
]

Framing = Literal["raw", "sse"]
"""How an answer is framed: raw UTF-8 text, or ``data: {json}`` events."""

Transfer = Literal["chunked", "length", "close", "gzip"]
"""How an answer's body travels: chunked (the default), with a
``Content-Length``, read until the server closes the connection, or gzip
compressed (chunked, each piece flushed so it can be decoded on arrival)."""

CAPTCHA_PAGE: Final = (
    '<!DOCTYPE html><html coupert-item="D1B2"><head><meta charset="utf-8">'
    "<title>人机验证</title></head><body><div id=captcha>请完成人机验证</div>"
    "</body></html>"
)
"""The service's captcha page (sent with status 200 when the session is missing)."""

NOT_FOUND_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>404</h1><p>This page could not be found.</p></body></html>"
)
"""A "not found" page, as a dead front end served it with status 200."""


@dataclass(frozen=True, kw_only=True)
class Status:
    """Answer with any status and body.

    Attributes:
        status: The HTTP status.
        body: The body (text is sent UTF-8 encoded).
        content_type: The ``content-type``; plain text by default.
        headers: More headers, e.g. ``{"Retry-After": "1"}``.
        delay: Seconds to wait before answering.
        path: The endpoint this applies to.
    """

    status: int
    body: str | bytes = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    path: str = CHAT_PATH


UPSTREAM_MESSAGES: Final = {
    "context": (
        "This model's maximum context length is 8192 tokens. However, your "
        "messages resulted in 9000 tokens. Please reduce the length of the "
        "messages."
    ),
    "rate-limit": (
        "Rate limit reached for default-gpt-4 in organization org-x on tokens "
        "per min. Limit: 40000 / min. Please try again in 1ms."
    ),
    "quota": (
        "You exceeded your current quota, please check your plan and billing details."
    ),
    "key": (
        "Incorrect API key provided: sk-abc. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    ),
}
"""Messages the upstream (OpenAI) sends, by kind: a context overflow, a rate
limit, an exhausted quota, a refused key."""


@dataclass(frozen=True, kw_only=True)
class UpstreamError:
    """Answer as the service does when its upstream fails.

    chatbot-ui's server turns an OpenAI error into ``new Response('Error',
    {status: 500, statusText: error.message})``: status 500, body ``Error``,
    the upstream's message as the HTTP reason phrase.

    Attributes:
        message: The reason phrase (a context overflow by default); printable
            ASCII, as a reason phrase travels.
        path: The endpoint this applies to.

    Raises:
        ValueError: If ``message`` is empty or holds a character other than
            printable ASCII and tabs.
    """

    message: str = UPSTREAM_MESSAGES["context"]
    path: str = CHAT_PATH

    def __post_init__(self) -> None:
        """Refuse a message that cannot be a reason phrase."""
        bad = [c for c in self.message if not (" " <= c <= "~" or c == "\t")]
        if not self.message or bad:
            msg = (
                "An upstream error's message is sent as the HTTP reason phrase: "
                "it must be non-empty printable ASCII (tabs allowed), got "
                f"{self.message!r}."
            )
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class HtmlPage:
    """Answer with an HTML page and status 200 (the captcha page by default).

    Attributes:
        page: The page.
        path: The endpoint this applies to.
    """

    page: str = CAPTCHA_PAGE
    path: str = CHAT_PATH


@dataclass(frozen=True, kw_only=True)
class Answer:
    """Answer normally, with per-request changes (``None`` keeps the server's own).

    Attributes:
        text: The answer text instead of the responder's.
        data: Raw body bytes instead of the text (raw framing only); may hold
            invalid UTF-8, and with ``piece_bytes=1`` splits every character.
        framing: ``"raw"`` or ``"sse"``.
        piece_bytes: Bytes per piece (raw) or characters per event (SSE).
        pace: Seconds between pieces (a slow drip).
        done: In SSE framing, end with ``data: [DONE]``.
        transfer: How the body travels (see `Transfer`); a
            `Cut` with ``"length"`` sends fewer bytes than declared.
        path: The endpoint this applies to.
    """

    text: str | None = None
    data: bytes | None = None
    framing: Framing | None = None
    piece_bytes: int | None = None
    pace: float | None = None
    done: bool = False
    transfer: Transfer = "chunked"
    path: str = CHAT_PATH


@dataclass(frozen=True, kw_only=True)
class Cut(Answer):
    """Send ``after`` pieces of the answer, then drop the connection mid-body.

    Attributes:
        after: Pieces sent before the cut (0: right after the headers).
    """

    after: int = 0


@dataclass(frozen=True, kw_only=True)
class Stall(Answer):
    """Stop sending for ``seconds``, then go on (if the client is still there).

    Attributes:
        after: Pieces sent before the stall; ``None`` stalls before the
            response headers.
        seconds: How long to stay silent.
    """

    after: int | None = 0
    seconds: float = 60.0


@dataclass(frozen=True, kw_only=True)
class SseError(Answer):
    """Send ``after`` SSE events of the answer, then an error event, then end.

    Attributes:
        status: The event's ``res_status``.
        message: The event's ``message``.
        after: Content events sent before the error event.
    """

    status: int = 402
    message: str = "Error"
    after: int = 0


@dataclass(frozen=True, kw_only=True)
class Redirect:
    """Answer with a redirect.

    Attributes:
        location: The ``Location`` (absolute or relative).
        status: The redirect status.
        path: The endpoint this applies to.
    """

    location: str
    status: int = 307
    path: str = CHAT_PATH


@dataclass(frozen=True, kw_only=True)
class Disconnect:
    """Close the connection without answering.

    Attributes:
        path: The endpoint this applies to.
    """

    path: str = CHAT_PATH


@dataclass(frozen=True, kw_only=True)
class TooManyRequests:
    """``/api/user``'s rate-limit answer: 200 with ``"data": "Too many requests"``.

    Attributes:
        path: The endpoint this applies to.
    """

    path: str = USER_PATH


Behaviour = (
    Status | UpstreamError | HtmlPage | Answer | Redirect | Disconnect | TooManyRequests
)
"""Anything the server can be scripted to do for one request."""

FAULT_SPECS: Final = """\
status=CODE[,BODY]     any status with any body, e.g. status=402,Error
rate-limit[=SECONDS]   429 with Retry-After (default 1)
upstream=KIND|MESSAGE  500 Error with the upstream's message as the reason:
                       context, rate-limit, quota, key, or any message
captcha | html404      an HTML page with status 200
cut=N                  N pieces of the answer, then the connection drops
stall[=N|headers]      silence for 60 s after N pieces (default 0) or before
                       the headers, then the rest
drip=SECONDS           one byte every SECONDS
bytes=HEX              these raw bytes, one byte a piece
sse                    the answer in SSE framing
transfer=HOW           the answer sent chunked, with a Content-Length (length),
                       until the connection closes (close), or gzip-compressed
sse-error=STATUS[,N]   N SSE events, then an error event with res_status STATUS
redirect=URL           a 307 redirect to URL
disconnect             the connection closed without an answer
too-many-requests      /api/user's rate-limit answer
Append @PATH to apply a fault to another endpoint, e.g. status=500@/api/user."""
"""The fault specs `parse_fault` accepts, for ``--help``."""


def _int(value: str, spec: str) -> int:
    try:
        return int(value)
    except ValueError:
        msg = f"{spec!r}: {value!r} is not a whole number."
        raise ValueError(msg) from None


def _float(value: str, spec: str) -> float:
    try:
        return float(value)
    except ValueError:
        msg = f"{spec!r}: {value!r} is not a number of seconds."
        raise ValueError(msg) from None


def _build(name: str, arg: str | None, spec: str) -> Behaviour:
    if name == "status" and arg:
        code, _, body = arg.partition(",")
        return Status(status=_int(code, spec), body=body)
    if name == "rate-limit":
        seconds = arg or "1"
        _float(seconds, spec)
        return Status(
            status=429, body="Too Many Requests", headers={"Retry-After": seconds}
        )
    if name == "upstream" and arg:
        return UpstreamError(message=UPSTREAM_MESSAGES.get(arg, arg))
    if name in ("captcha", "html404") and arg is None:
        return HtmlPage(page=CAPTCHA_PAGE if name == "captcha" else NOT_FOUND_PAGE)
    if name == "cut" and arg:
        return Cut(after=_int(arg, spec))
    if name == "stall":
        return Stall(after=None if arg == "headers" else _int(arg or "0", spec))
    if name == "drip" and arg:
        return Answer(pace=_float(arg, spec), piece_bytes=1)
    if name == "bytes" and arg:
        try:
            data = bytes.fromhex(arg)
        except ValueError:
            msg = f"{spec!r}: {arg!r} is not hexadecimal bytes."
            raise ValueError(msg) from None
        return Answer(data=data, piece_bytes=1)
    if name == "sse" and arg is None:
        return Answer(framing="sse")
    if name == "transfer" and arg in get_args(Transfer):
        return Answer(transfer=cast("Transfer", arg))
    if name == "sse-error" and arg:
        status, _, after = arg.partition(",")
        return SseError(status=_int(status, spec), after=_int(after or "0", spec))
    if name == "redirect" and arg:
        return Redirect(location=arg)
    if name == "disconnect" and arg is None:
        return Disconnect()
    if name == "too-many-requests" and arg is None:
        return TooManyRequests()
    msg = f"Unknown fault {spec!r}. Accepted:\n{FAULT_SPECS}"
    raise ValueError(msg)


def parse_fault(spec: str) -> Behaviour:
    """Parse a command-line fault spec (see `FAULT_SPECS`).

    Args:
        spec: E.g. ``"cut=3"``, ``"status=402,Error"``, ``"status=500@/api/user"``.

    Returns:
        The behaviour.

    Raises:
        ValueError: If the spec is not one of the accepted forms.
    """
    head, at, path = spec.rpartition("@") if "@/" in spec else (spec, "", "")
    name, eq, arg = head.partition("=")
    behaviour = _build(name.strip().lower(), arg if eq else None, spec)
    return replace(behaviour, path=path) if at else behaviour
