"""One call's whole sequence, written once: I/O results in, commands and a value out.

An exchange is a generator, in the spirit of httpx's ``auth_flow`` and h11: it
holds every decision of a call (the setup steps the
`Credentials` ask for, signing, the POST,
same-origin redirects, status to typed error, reading and decoding the body,
the retry decision and its back-off) and performs no I/O, reads no clock and
draws no random number. It is an `Exchange`, a
``Generator[Command, Result, T]``: it yields a `Command`, a driver
(`langchain_liaobots.transport.drivers`) performs it with its own library
and sends back the `Result`, and the exchange's return value (a JSON
endpoint's parsed answer; ``None`` for a chat) is the call's value:

====================  ==========================================  ==================
the exchange yields   the driver                                  and sends back
====================  ==========================================  ==================
``Send(request)``     POSTs it (redirects not followed); any      a `Head`
                      response still open is closed first
`READ`          reads the body bytes that have arrived,     ``bytes``
                      whatever the framing (``b""`` at the end)
`RELEASE`       returns the fully read response's           ``None``
                      connection to the pool
``Emit(text)``        hands a piece of the answer's text to       ``None``
                      the caller
`NOW`           reads the wall clock (for a                 ``float``: seconds
                      ``Retry-After`` date)                       since the epoch
`DRAW`          draws a random number (for the              ``float`` in
                      back-off's jitter)                          ``[0, 1)``
``Sleep(seconds)``    waits                                       ``None``
`JOIN_SETUP`    joins the setup single flight: leads it,    ``True`` to
                      or waits for the leader and re-raises its   lead, else
                      failure here                                ``False``
``LandSetup(error)``  ends the flight it leads, for every waiter  ``None``
====================  ==========================================  ==================

An I/O failure goes back in with ``generator.throw(Failure(kind, cause))``; the
exchange alone decides what it means (a retry before the first byte of the
answer, a cut with the partial text after it, a timeout). A response the
exchange does not release is closed by the driver when it sends again, or when
the exchange ends.

`chat` emits an answer's text; `fetch_json` returns one parsed
value from a small JSON endpoint (account state, model discovery).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit

from typing_extensions import TypeVar

from langchain_liaobots.errors import (
    LiaobotsConnectionError,
    LiaobotsError,
    LiaobotsResponseTooLargeError,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    LiaobotsTLSError,
    LiaobotsUnexpectedResponseError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials, missing_code_error
from langchain_liaobots.wire.request import REDIRECT_STATUSES, Request, follow_redirect
from langchain_liaobots.wire.response import AnswerReader, decode_json
from langchain_liaobots.wire.retries import CallRetries, parse_retry_after

__all__ = [
    "DRAW",
    "JOIN_SETUP",
    "NOW",
    "READ",
    "RELEASE",
    "Command",
    "Emit",
    "Exchange",
    "Failure",
    "FailureKind",
    "Head",
    "LandSetup",
    "Result",
    "Send",
    "Signal",
    "Sleep",
    "chat",
    "fetch_json",
]

T = TypeVar("T", default=None)
"""What an exchange returns (``None``, the default, for a chat)."""

ERROR_BODY_BYTES: Final = 2048
"""How much of an error response's body is read for the error message."""

JSON_BODY_LIMIT: Final = 4 * 1024 * 1024
"""The most bytes a JSON endpoint's answer may have (after content decoding).

Reading stops there, before the rest is read or parsed."""


class Signal:
    """A command without arguments; it prints its name (h11's ``Sentinel``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        """Name the signal.

        Args:
            name: The name it prints, that of the constant holding it.
        """
        self.name = name

    def __repr__(self) -> str:
        """Return the name."""
        return self.name


READ: Final = Signal("READ")
"""Read the next body bytes that have arrived (``b""`` at the end)."""

RELEASE: Final = Signal("RELEASE")
"""Return the fully read response's connection to the pool."""

NOW: Final = Signal("NOW")
"""Read the wall clock: seconds since the epoch."""

DRAW: Final = Signal("DRAW")
"""Draw a random number in ``[0, 1)``."""

JOIN_SETUP: Final = Signal("JOIN_SETUP")
"""Lead the setup flight (``True``) or wait for the one under way (``False``)."""


@dataclass(frozen=True, slots=True)
class Send:
    """POST ``request`` (redirects are the exchange's business, not followed)."""

    request: Request


@dataclass(slots=True)  # not frozen: one is made per piece, at half the cost
class Emit:
    """Hand ``text``, a piece of the answer, to the caller."""

    text: str


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` (the back-off before a retry)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class LandSetup:
    """End the setup flight this exchange leads; waiters see ``error`` too."""

    error: LiaobotsError | None


@dataclass(frozen=True, slots=True)
class Head:
    """What a driver knows once a response's headers have arrived.

    Attributes:
        status: The HTTP status.
        headers: The headers; ``get`` is case-insensitive for lower-case names.
        set_cookies: The ``Set-Cookie`` values, in order.
        reason: The reason phrase (the service puts upstream errors there).
    """

    status: int
    headers: Mapping[str, str]
    set_cookies: Sequence[str] = ()
    reason: str = ""


Command = Send | Signal | Emit | Sleep | LandSetup
"""What an exchange asks its driver to do (the table above)."""

Result = Head | bytes | bool | float | None
"""What a driver sends back: the result of the command performed."""

Exchange = Generator[Command, Result, T]
"""An exchange: yields commands, receives their results, returns its value."""

FailureKind = Literal[
    "timeout", "refused", "unresolved", "tls", "reset", "proxy", "malformed", "io"
]
"""What kind of I/O failure happened, in the library's stead (``"malformed"``:
the peer answered, but not in HTTP: a bad status line or header)."""

_SAID: Final[dict[str, str]] = {
    "refused": "the connection was refused",
    "unresolved": "the host name did not resolve",
    "reset": "the connection was reset",
    "proxy": "the proxy failed",
    "malformed": "the answer was not valid HTTP",
    "io": "a network error",
}


class Failure(Exception):  # noqa: N818 - a signal to the exchange, not an error
    """An I/O failure, thrown into an exchange by its driver.

    Attributes:
        kind: The neutral kind (see `FailureKind`).
        cause: The library's exception, kept as the ``__cause__`` of the typed
            error the exchange raises.
    """

    def __init__(self, kind: FailureKind, cause: BaseException) -> None:
        """Wrap a library exception.

        Args:
            kind: The neutral kind.
            cause: The library's exception.
        """
        super().__init__(kind)
        self.kind = kind
        self.cause = cause


@dataclass(slots=True)
class _Progress:
    """What one attempt got to: for the retry decision."""

    reader: AnswerReader | None = None
    generation: int | None = None

    @property
    def started(self) -> bool:
        """Whether any byte of the answer arrived (then nothing is retried)."""
        return self.reader is not None and self.reader.started


class _Call:
    """The parts of one call every step needs: credentials and settings."""

    __slots__ = ("credentials", "timeout")

    def __init__(self, credentials: Credentials, timeout: float) -> None:
        self.credentials = credentials
        self.timeout = timeout

    def detail(self, failure: Failure) -> str:
        """The failure in words: its kind, then the library's text, scrubbed."""
        said = _SAID.get(failure.kind, failure.kind)
        text = self.credentials.scrub_text(str(failure.cause)).strip()
        name = type(failure.cause).__name__
        return f"{said}: {name}: {text}" if text else f"{said}: {name}"

    def send_error(self, url: str, failure: Failure) -> LiaobotsError:
        """The typed error for a failure before a response's body started."""
        shown = self.credentials.scrub_text(url)
        if failure.kind == "timeout":
            return LiaobotsTimeoutError(
                f"No answer from {shown} within {self.timeout:g} s; check base_url "
                "and the network, or raise timeout=."
            )
        if failure.kind == "tls":
            return LiaobotsTLSError(
                f"The TLS handshake with {shown} failed ({self.detail(failure)}): "
                "the certificate did not verify, or the host does not speak TLS. "
                "Fix the certificate or the clock, or point base_url at the right "
                "host; verify_tls=False is possible but insecure."
            )
        if failure.kind == "malformed":  # the same peer will answer the same
            return LiaobotsUnexpectedResponseError(
                f"{shown} answered, but {self.detail(failure)}; check base_url: "
                "it does not point at a Liaobots server, or something in between "
                "garbles the answer."
            )
        return LiaobotsConnectionError(
            f"Could not reach {shown} ({self.detail(failure)}); check base_url, "
            "the proxy settings and the network."
        )

    def read_error(self, failure: Failure, reader: AnswerReader) -> LiaobotsError:
        """The typed error for a failure in the middle of an answer."""
        text = reader.partial_text
        if failure.kind == "timeout":
            return LiaobotsTimeoutError(
                f"Liaobots sent nothing for {self.timeout:g} s after {len(text)} "
                "characters of the answer; raise timeout= if the service is slow. "
                "The text received so far is in .partial_text.",
                partial_text=text,
            )
        return LiaobotsStreamCutError(
            f"The connection to Liaobots broke after {len(text)} characters of the "
            f"answer ({self.detail(failure)}); retry the call. The text received "
            "so far is in .partial_text.",
            partial_text=text,
        )

    def post(self, request: Request) -> Exchange[Head]:
        """POST a signed request; return a 2xx head or raise a typed error."""
        credentials = self.credentials
        hops = 0
        while True:
            try:
                head = cast("Head", (yield Send(request)))
            except Failure as failure:
                raise self.send_error(request.url, failure) from failure.cause
            credentials.remember(head.set_cookies)
            status = head.status
            if 200 <= status < 300:
                return head
            if status in REDIRECT_STATUSES:
                location = head.headers.get("location")
                request = follow_redirect(request, status, location, hops)
                hops += 1
                continue
            body = yield from self.read_some(ERROR_BODY_BYTES)
            retry_after = head.headers.get("retry-after")
            now = cast("float", (yield NOW)) if retry_after else 0.0
            raise error_for_status(
                status,
                credentials.scrub_text(body.decode("utf-8", "replace")),
                reason=credentials.scrub_text(head.reason),
                retry_after=parse_retry_after(retry_after, now),
            )

    @staticmethod
    def read_some(limit: int) -> Exchange[bytes]:
        """Read up to about ``limit`` bytes of an error body; a failure ends it."""
        data = b""
        while len(data) < limit:
            try:
                piece = cast("bytes", (yield READ))
            except Failure:
                break
            if not piece:
                break
            data += piece
        return data

    def read_all(self, url: str) -> Exchange[bytes]:
        """Read a small JSON answer whole, then release its connection.

        Raises:
            LiaobotsResponseTooLargeError: Once more than `JSON_BODY_LIMIT`
                bytes arrived (nothing more is read).
        """
        what = urlsplit(url).path
        data = bytearray()
        while True:
            try:
                piece = cast("bytes", (yield READ))
            except Failure as failure:
                raise self.send_error(url, failure) from failure.cause
            if not piece:
                break
            data += piece
            if len(data) > JSON_BODY_LIMIT:
                msg = (
                    f"Liaobots answered {what} with more than {JSON_BODY_LIMIT} "
                    "bytes, far more than the service's answers, so reading "
                    "stopped there; check base_url."
                )
                raise LiaobotsResponseTooLargeError(msg, status_code=200)
        yield RELEASE
        return bytes(data)

    def setup(self) -> Exchange:
        """Send the setup steps due, as one flight shared by every caller.

        Each step's request is built once, by the leader, just before it is
        sent (what is due may change while waiting to lead).
        """
        credentials = self.credentials
        while credentials.setup_due:
            if not (yield JOIN_SETUP):
                continue  # another caller's flight finished; check again
            try:
                while (step := credentials.next_step()) is not None:
                    head = yield from self.post(step.request)
                    body = yield from self.read_all(step.request.url)
                    credentials.complete(step, body, head.status)
            except LiaobotsError as err:
                yield LandSetup(err)
                raise
            yield LandSetup(None)

    def attempts(
        self, max_retries: int, attempt: Callable[[_Progress], Exchange[T]]
    ) -> Exchange[T]:
        """Run ``attempt`` after the setup, retrying as `CallRetries` allows.

        After a failure the driver draws the back-off's jitter (`DRAW`).
        """
        retries = CallRetries(max_retries, self.credentials)
        while True:
            progress = _Progress()
            try:
                yield from self.setup()
                return (yield from attempt(progress))
            except LiaobotsError as err:
                error = err
            delay = retries.delay_after(
                error,
                started=progress.started,
                generation=progress.generation,
                draw=cast("float", (yield DRAW)),
            )
            if delay is None:
                raise error
            yield Sleep(delay)


def chat(
    request: Request,
    credentials: Credentials,
    *,
    timeout: float,
    max_retries: int,
    stop: Sequence[str] = (),
) -> Exchange:
    """The exchange of one chat call: yields the answer's text as it arrives.

    Args:
        request: The unsigned chat request.
        credentials: The auth state; it signs the request just before sending.
        timeout: Seconds allowed to connect and for each silence (for messages).
        max_retries: Retries for failures before any byte of the answer.
        stop: Stop sequences; the answer ends before the first one.

    Returns:
        The exchange; it emits the answer's text (`Emit`).

    Raises:
        LiaobotsAuthenticationError: At once, before anything is sent, when
            there is no auth code and none may be acquired.
    """
    if not credentials.can_authenticate:
        raise missing_code_error()
    call = _Call(credentials, timeout)

    def attempt(progress: _Progress) -> Exchange:
        signed, progress.generation = credentials.sign(request)
        head = yield from call.post(signed)
        reader = progress.reader = AnswerReader(
            head.headers.get("content-type"), stop, clean=credentials.scrub_text
        )
        while True:
            try:
                data = cast("bytes", (yield READ))
            except Failure as failure:
                raise call.read_error(failure, reader) from failure.cause
            if not data:
                break
            text = reader.feed(data)
            if text:
                yield Emit(text)
            if reader.stopped:
                return
        tail = reader.finish()
        yield RELEASE
        if tail:
            yield Emit(tail)

    return call.attempts(max_retries, attempt)


def fetch_json(
    make_request: Callable[[], Request],
    parse: Callable[[Any], T],
    credentials: Credentials,
    *,
    timeout: float,
    max_retries: int,
) -> Exchange[T]:
    """The exchange of one call to a small JSON endpoint: returns its parsed result.

    Args:
        make_request: Builds the unsigned request, after the setup steps.
        parse: Turns the parsed JSON into the result (may raise a typed error,
            which the retry policy then judges).
        credentials: The auth state.
        timeout: Seconds allowed to connect and for each silence.
        max_retries: Retries for failures.

    Returns:
        The exchange; it returns what ``parse`` returns.
    """
    call = _Call(credentials, timeout)

    def attempt(progress: _Progress) -> Exchange[T]:
        request, progress.generation = credentials.sign(make_request())
        head = yield from call.post(request)
        body = yield from call.read_all(request.url)
        what = urlsplit(request.url).path
        return parse(decode_json(body, head.status, what, clean=credentials.scrub_text))

    return call.attempts(max_retries, attempt)
