"""Auth state: a given code or an opt-in acquisition in, signed requests out.

`Credentials` is the sans-I/O state of one model's authentication, shared
by its sync and async transports:

* the auth code, given by the user or acquired from ``POST /api/user`` with
  ``{"authcode": ""}`` (opt-in) and cached for the configuration's lifetime;
* the session cookie jar, filled by the opt-in ``POST /recaptcha/api/login``
  (and any cookie the service sets later) and kept for the configuration's
  lifetime.

The exchange asks `Credentials.setup_due` whether setup is due and
`Credentials.next_step` for the request of the next step (the login,
then the acquisition; each built once, when it is about to be sent), hands
back each answer to `Credentials.complete`, has
`sign` sign every request just before sending it, and,
when a call fails before any text has streamed, asks
`reject` whether a fresh code (on 401/402) or a fresh session
(on the captcha page) is worth one more try. `scrub_text`
removes the codes from text of the service quoted in an error. The acquisition
reads the new code from ``/api/user``'s answer with
`auth_code_of` (which ``account.parse_account`` reuses); a "Too many requests"
answer is a rate-limit error, never a code. `auth_code_problem` says why a code
cannot travel in a header (a control character, a character outside printable
ASCII) without quoting it: the model's ``auth`` setting and an acquired code
are both checked with it, so neither HTTP library ever sees one and quotes it
in its own error.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal, NamedTuple

from langchain_liaobots.errors import (
    LiaobotsAuthenticationError,
    LiaobotsCaptchaError,
    LiaobotsError,
    LiaobotsOutOfCreditError,
    LiaobotsRateLimitError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire.protocol import TOO_MANY_REQUESTS, USER_PATH, BodyFormat
from langchain_liaobots.wire.request import (
    Request,
    build_login_request,
    build_user_request,
    with_auth_headers,
)
from langchain_liaobots.wire.response import decode_json

__all__ = [
    "Credentials",
    "Step",
    "auth_code_of",
    "auth_code_problem",
    "missing_code_error",
]

logger = logging.getLogger("langchain_liaobots")

_MIN_SCRUB_LENGTH = 4
"""Shorter codes are not secrets worth mangling every message for."""


def missing_code_error() -> LiaobotsAuthenticationError:
    """Return the error for a call that has no auth code and may not acquire one.

    Returns:
        The error, saying how to provide a code.
    """
    return LiaobotsAuthenticationError(
        "No Liaobots auth code: set the LIAOBOTS_AUTH_CODE environment variable, "
        "pass ChatLiaobots(auth=...), or opt in to acquiring one with "
        "ChatLiaobots(acquire_auth_code=True)."
    )


def auth_code_problem(code: str) -> str | None:
    """Say what keeps a code out of an HTTP header, without quoting the code.

    Args:
        code: The code, its surrounding whitespace already stripped.

    Returns:
        ``None`` for printable ASCII (the service's codes are alphanumeric),
        else what is wrong and where, e.g. ``"a control character at
        position 9"``.
    """
    if code.isascii() and code.isprintable():
        return None
    position, char = next(
        (i, c) for i, c in enumerate(code, 1) if not (c.isascii() and c.isprintable())
    )
    kind = (
        "a control character"
        if char.isascii() or unicodedata.category(char) == "Cc"
        else "a character outside printable ASCII"
    )
    return f"{kind} at position {position}"


def auth_code_of(value: Any) -> str:
    """Read the code from ``/api/user``'s JSON answer.

    Args:
        value: The parsed JSON body.

    Returns:
        Its ``authCode``, a non-empty string (not yet checked for a header:
        see `auth_code_problem`).

    Raises:
        LiaobotsRateLimitError: For the service's ``"Too many requests"``
            answer (sent with HTTP 200).
        LiaobotsUnexpectedResponseError: For anything else without a code
            (its field names shown, their values never).
    """
    code = value.get("authCode") if isinstance(value, dict) else None
    if isinstance(code, str) and code:
        return code
    data = value.get("data") if isinstance(value, dict) else None
    if isinstance(data, str) and TOO_MANY_REQUESTS.lower() in data.lower():
        msg = (
            f"Liaobots answered {USER_PATH} with {TOO_MANY_REQUESTS!r} (HTTP "
            "200): it is rate limiting auth-code requests. Wait and retry, "
            "or pass your own auth code."
        )
        raise LiaobotsRateLimitError(msg, status_code=200)
    got = (
        f"fields {sorted(value)[:10]}"
        if isinstance(value, dict)
        else f"a JSON {type(value).__name__}"
    )
    msg = (
        f"Liaobots answered {USER_PATH} without an authCode (got {got}); "
        "check base_url."
    )
    raise LiaobotsUnexpectedResponseError(msg, status_code=200)


class Step(NamedTuple):
    """One setup request a transport must send before the call's own request.

    Attributes:
        kind: ``"login"`` (the session cookie) or ``"acquire"`` (a new code).
        request: The request to send, unsigned except for the cookie.
    """

    kind: Literal["login", "acquire"]
    request: Request


class Credentials:
    """The auth state of one model: its code, its cookies, and what setup is due.

    Sync threads and event loops may share one instance when its owner
    (`langchain_liaobots.transport.clients`) gives it a lock; this module
    creates none. The setup steps run as one flight (see
    `langchain_liaobots.wire.exchange`), so concurrent first calls acquire
    one code, not one each.
    """

    def __init__(
        self,
        base_url: str,
        auth_code: str | None,
        *,
        acquire: bool = False,
        login: bool = False,
        body_format: BodyFormat = "2023",
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        """Create the state; nothing is sent.

        Args:
            base_url: The service's base URL (setup requests go there).
            auth_code: The user's code, if any; it always wins over acquisition.
            acquire: Whether to acquire a code from ``/api/user`` when none is
                given, and a fresh one when the service rejects it (401/402).
            login: Whether to log in to get the session cookie first, and again
                when the captcha page says the session is gone.
            body_format: The era of the login and ``/api/user`` bodies
                (``"2023"`` or the last clients' ``"2025"``).
            lock: A reentrant lock guarding the state, from the owner that
                shares it between threads; ``None`` for one thread only.
        """
        self._base_url = base_url
        self._given = auth_code or None
        self._acquire = acquire and self._given is None
        self._login = login
        self._body_format: BodyFormat = body_format
        self._acquired: str | None = None
        self._logged_in = False
        self._cookies: dict[str, str] = {}
        self._seen_codes: set[str] = set() if self._given is None else {self._given}
        self._lock = nullcontext() if lock is None else lock
        self.generation = 0
        """Bumped whenever the code or the session changes."""

    def __repr__(self) -> str:
        """Describe the state without the code or the cookies' values."""
        source = (
            "given" if self._given else "acquired" if self._acquired else "none yet"
        )
        return (
            f"Credentials(base_url={self._base_url!r}, code={source}, "
            f"cookies={sorted(self._cookies)})"
        )

    @property
    def code(self) -> str | None:
        """The code to send: the given one, else the acquired one, else ``None``."""
        return self._given or self._acquired

    @property
    def can_authenticate(self) -> bool:
        """Whether a call can carry a code (one is known, or may be acquired)."""
        return self.code is not None or self._acquire

    @property
    def setup_due(self) -> bool:
        """Whether a setup step is due (nothing is built to tell)."""
        return (self._login and not self._logged_in) or (
            self._acquire and self._acquired is None
        )

    def next_step(self) -> Step | None:
        """Build the setup request due before the next call, if any.

        Returns:
            The session login (if enabled and not done), then the code
            acquisition (if enabled and no code is cached), else ``None``.
        """
        if self._login and not self._logged_in:
            login = build_login_request(self._base_url, self._body_format)
            return Step("login", self._with_cookie(login))
        if self._acquire and self._acquired is None:
            acquire = build_user_request(self._base_url, "", self._body_format)
            return Step("acquire", self._with_cookie(acquire))
        return None

    def complete(self, step: Step, body: bytes, status: int) -> None:
        """Take the answer of a setup step (its cookies are already remembered).

        Args:
            step: The step that was sent.
            body: Its answer's body.
            status: Its answer's (2xx) status.

        Raises:
            LiaobotsError: If the acquisition's answer holds no code (the
                "Too many requests" answer is a rate-limit error), or one that
                cannot be sent (`auth_code_problem`).
        """
        if step.kind == "login":
            with self._lock:
                self._logged_in = True
                self.generation += 1
            return
        code = auth_code_of(decode_json(body, status, USER_PATH)).strip()
        problem = "it is blank" if not code else auth_code_problem(code)
        if problem:
            msg = (
                f"Liaobots answered {USER_PATH} with an authCode that cannot be "
                f"sent in a header ({problem}); check base_url."
            )
            raise LiaobotsUnexpectedResponseError(msg, status_code=status)
        with self._lock:
            self._acquired = code
            self._seen_codes.add(code)
            self.generation += 1
        logger.info("Acquired a Liaobots auth code from %s.", USER_PATH)

    def remember(self, set_cookies: Iterable[str]) -> None:
        """Keep the cookies of an answer from the service (session login only).

        Args:
            set_cookies: The answer's ``Set-Cookie`` header values.
        """
        if not self._login:
            return
        jar: SimpleCookie = SimpleCookie()
        for header in set_cookies:
            try:
                jar.load(header)
            except CookieError:
                continue
        if jar:
            with self._lock:
                self._cookies.update({name: m.value for name, m in jar.items()})

    def _cookie_header(self) -> str | None:
        with self._lock:
            cookies = self._cookies
            return "; ".join(f"{k}={v}" for k, v in cookies.items()) or None

    def _with_cookie(self, request: Request) -> Request:
        return with_auth_headers(request, None, self._cookie_header())

    def account_request(self) -> Request:
        """Build ``POST /api/user`` asking for the current code's account state.

        Returns:
            The request.

        Raises:
            LiaobotsAuthenticationError: If there is no code.
        """
        code = self.code
        if code is None:
            raise missing_code_error()
        return build_user_request(self._base_url, code, self._body_format)

    def sign(self, request: Request) -> tuple[Request, int]:
        """Add the code and the cookies to a request, just before it is sent.

        Args:
            request: The unsigned request.

        Returns:
            The signed request, and the `generation` it was signed with
            (hand it back to `reject` if the request fails).
        """
        with self._lock:
            return (
                with_auth_headers(request, self.code, self._cookie_header()),
                self.generation,
            )

    def reject(self, error: LiaobotsError, generation: int | None) -> bool:
        """Decide whether a failure is cured by fresh credentials.

        An acquired code refused with 401/402 is dropped, so the next
        `next_step` acquires a new one; a captcha page with the session
        login on drops the session, so the next step logs in again. A code the
        user gave is never replaced.

        Args:
            error: The failure (before any text streamed).
            generation: The generation the failed request was signed with, or
                ``None`` if it failed before being signed.

        Returns:
            True if the call should be tried once more with fresh credentials.
        """
        if generation is None:
            return False
        auth_failed = isinstance(
            error, (LiaobotsAuthenticationError, LiaobotsOutOfCreditError)
        )
        if auth_failed and self._acquire:
            with self._lock:
                if generation == self.generation:
                    logger.info(
                        "Liaobots refused the acquired auth code (HTTP %s); "
                        "acquiring a new one.",
                        error.status_code,
                    )
                    self._acquired = None
            return True
        if isinstance(error, LiaobotsCaptchaError) and self._login:
            with self._lock:
                if generation == self.generation:
                    logger.info("Liaobots sent its captcha page; logging in again.")
                    self._logged_in = False
                    self._cookies.clear()
            return True
        return False

    def scrub_text(self, text: str) -> str:
        """Remove every code this state has held from text that came from outside.

        Used on server bodies, library exception text and URLs before they are
        quoted in an error message; never on the package's own sentences.

        Args:
            text: The text to clean.

        Returns:
            The text with each code replaced by ``***``.
        """
        for code in tuple(self._seen_codes):  # a snapshot: other threads may add
            if len(code) >= _MIN_SCRUB_LENGTH and code in text:
                text = text.replace(code, "***")
        return text

    def forked(self, lock: AbstractContextManager[object] | None) -> Credentials:
        """Return a copy for a forked child: the same codes and cookies, a new lock.

        Args:
            lock: The child's lock (the parent's may be held by a thread the
                child does not have).

        Returns:
            The copy; the parent's state is untouched.
        """
        twin = Credentials(
            self._base_url,
            self._given,
            acquire=self._acquire,
            login=self._login,
            body_format=self._body_format,
            lock=lock,
        )
        twin._acquired = self._acquired
        twin._logged_in = self._logged_in
        twin._cookies = dict(self._cookies)
        twin._seen_codes = set(self._seen_codes)
        twin.generation = self.generation
        return twin
