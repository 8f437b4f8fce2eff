"""The retry policy: a failure before the answer started in, a delay or a re-raise out.

Pure decisions shared by both transports. The waiting, the clock and the
random draw are the driver's: the exchange asks for them with commands
(`NOW`,
`DRAW`) and passes them in here.

* `parse_retry_after` reads ``Retry-After`` (seconds, or an HTTP date
  against the given ``now``);
* `retry_delay` says whether a failure is retried and after how long:
  connection errors, 429 and 5xx are, with exponential back-off and jitter
  (from the given ``draw``), or after the service's ``Retry-After``; timeouts
  never are (so a call fails within ``timeout`` of the last byte received),
  nor is anything else;
* `CallRetries` is the state of one call: it refuses everything once the
  answer has started (no text is ever duplicated), and grants one extra try
  with fresh credentials when `reject`
  says they cure the failure.

Each decision to retry is logged on the ``langchain_liaobots`` logger at INFO.
"""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime

from langchain_liaobots.errors import LiaobotsError, LiaobotsTimeoutError
from langchain_liaobots.wire.auth import Credentials

__all__ = ["CallRetries", "parse_retry_after", "retry_delay"]

logger = logging.getLogger("langchain_liaobots")

_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_RETRY_AFTER_CAP = 60.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds.

    Args:
        value: The header's value, if present.
        now: The current time, in seconds since the epoch (the driver's clock);
            an HTTP date is counted from it.

    Returns:
        Seconds to wait (never negative), or ``None`` if absent or unparseable.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN: unparseable
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def retry_delay(
    attempt: int, max_retries: int, error: LiaobotsError, draw: float
) -> float | None:
    """Decide whether a failure before the answer started is retried, and when.

    Args:
        attempt: How many retries were already made (0 for the first failure).
        max_retries: The most retries allowed.
        error: The failure.
        draw: A random number in ``[0, 1)`` (the driver's), placing the delay
            within its jitter range: 0 gives the lowest, near 1 the highest.

    Returns:
        Seconds to wait before the next attempt (the ``Retry-After`` value when
        the service sent one, capped at 60 s, else exponential back-off with
        equal jitter: 0.25 to 0.5 s, then 0.5 to 1 s, and so on up to 4 to
        8 s), or ``None`` when the error is not retryable, is a timeout, or
        retries are exhausted.
    """
    if (
        attempt >= max_retries
        or not error.is_retryable
        or isinstance(error, LiaobotsTimeoutError)
    ):
        return None
    if error.retry_after is not None:
        return min(error.retry_after, _RETRY_AFTER_CAP)
    ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0**attempt)
    return ceiling / 2 + draw * (ceiling / 2)


class CallRetries:
    """The retry state of one call (one request and its setup steps)."""

    def __init__(self, max_retries: int, credentials: Credentials) -> None:
        """Start a call with no retries used.

        Args:
            max_retries: The most retries allowed for this call.
            credentials: The model's auth state, asked about fresh credentials.
        """
        self._max_retries = max_retries
        self._credentials = credentials
        self._attempt = 0
        self._refreshed = False

    def delay_after(
        self,
        error: LiaobotsError,
        *,
        started: bool,
        generation: int | None,
        draw: float,
    ) -> float | None:
        """Decide what follows a failure.

        Args:
            error: The failure (its message already free of the auth code).
            started: Whether any of the answer had arrived (then it is raised).
            generation: The credentials' generation the failed request was
                signed with, or ``None`` if it failed before being signed.
            draw: A random number in ``[0, 1)`` for the back-off's jitter.

        Returns:
            Seconds to wait before trying again, or ``None`` to raise.
        """
        if started:
            return None
        # Stale credentials are dropped even when this call may not try again,
        # so the next call starts with fresh ones.
        if self._credentials.reject(error, generation) and not self._refreshed:
            self._refreshed = True
            return 0.0
        delay = retry_delay(self._attempt, self._max_retries, error, draw)
        if delay is not None:
            self._attempt += 1
            logger.info(
                "%s Retry %d of %d in %.2f s.",
                error,
                self._attempt,
                self._max_retries,
                delay,
            )
        return delay
