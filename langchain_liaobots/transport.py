"""Transports: a :class:`~langchain_liaobots.protocol.Request` in, answer text out.

Two thin shells over the sans-I/O core, differing only in I/O:

* :class:`SyncTransport` speaks over a pooled ``requests.Session``;
* :class:`AsyncTransport` speaks over a pooled ``aiohttp.ClientSession`` per
  event loop (aiohttp is imported on first async use only).

Both open the response (retrying, with :func:`retry_delay`, only failures that
come before the first byte of the body), map HTTP and network failures to the
typed errors of :mod:`langchain_liaobots.errors`, and feed each piece of the
body to an :class:`~langchain_liaobots.protocol.AnswerReader` the moment it
arrives, yielding the text it returns. A failure after the body has started is
raised with ``partial_text``, never retried. ``timeout`` bounds connecting and
every silence while reading.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from langchain_liaobots.decoding import AnswerReader
from langchain_liaobots.errors import (
    LiaobotsConnectionError,
    LiaobotsError,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    error_for_status,
)
from langchain_liaobots.protocol import Request

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AsyncTransport", "SyncTransport", "parse_retry_after", "retry_delay"]

_ERROR_BODY_BYTES = 2048
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_RETRY_AFTER_CAP = 60.0
_POOL_SIZE = 256


def parse_retry_after(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds.

    Args:
        value: The header's value, if present.

    Returns:
        Seconds to wait (never negative), or ``None`` if absent or unparseable.
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(attempt: int, max_retries: int, error: LiaobotsError) -> float | None:
    """Decide whether a failure before the answer started is retried, and when.

    Args:
        attempt: How many retries were already made (0 for the first failure).
        max_retries: The most retries allowed.
        error: The failure.

    Returns:
        Seconds to wait before the next attempt (the ``Retry-After`` value when
        the service sent one, else exponential back-off with equal jitter), or
        ``None`` when the error is not retryable or retries are exhausted.
    """
    if attempt >= max_retries or not error.is_retryable:
        return None
    if error.retry_after is not None:
        return min(error.retry_after, _RETRY_AFTER_CAP)
    ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311


def _cut_error(reader: AnswerReader, cause: str) -> LiaobotsStreamCutError:
    text = reader.text
    return LiaobotsStreamCutError(
        f"The connection to Liaobots broke after {len(text)} characters of the "
        f"answer ({cause}); the text received so far is in .partial_text.",
        partial_text=text,
    )


def _silence_error(reader: AnswerReader, timeout: float) -> LiaobotsTimeoutError:
    text = reader.text
    return LiaobotsTimeoutError(
        f"Liaobots sent nothing for {timeout:g} s after {len(text)} characters of "
        "the answer; raise timeout= if the service is slow. The text received so "
        "far is in .partial_text.",
        partial_text=text,
    )


def _connect_error(url: str, exc: BaseException, timeout: float) -> LiaobotsError:
    if isinstance(exc, (requests.Timeout, asyncio.TimeoutError, TimeoutError)):
        return LiaobotsTimeoutError(
            f"No answer from {url} within {timeout:g} s; check base_url and the "
            "network, or raise timeout=."
        )
    return LiaobotsConnectionError(
        f"Could not reach {url} ({type(exc).__name__}); check base_url and the network."
    )


class SyncTransport:
    """The ``requests`` shell: one pooled session per model instance."""

    def __init__(
        self, *, timeout: float, max_retries: int, verify: bool = True
    ) -> None:
        """Create the transport; the session is built on first use.

        Args:
            timeout: Seconds allowed to connect and for each silence while reading.
            max_retries: Retries for failures before the answer starts.
            verify: Whether to verify TLS certificates.
        """
        self.timeout = timeout
        self.max_retries = max_retries
        self.verify = verify
        self._session: requests.Session | None = None

    def _pool(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        return self._session

    def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _open(self, request: Request) -> requests.Response:
        try:
            resp = self._pool().post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                stream=True,
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,
                verify=self.verify,
            )
        except requests.RequestException as exc:
            raise _connect_error(request.url, exc, self.timeout) from None
        if 200 <= resp.status_code < 300:
            return resp
        with resp:
            try:
                body = next(resp.iter_content(_ERROR_BODY_BYTES), b"")
            except requests.RequestException:
                body = b""
        raise error_for_status(
            resp.status_code,
            body,
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
        )

    def stream_text(self, request: Request, stop: Sequence[str] = ()) -> Iterator[str]:
        """POST the request and yield the answer's text as it arrives.

        Args:
            request: The request to send.
            stop: Stop sequences; the response is closed at the first one.

        Yields:
            Pieces of answer text, in order.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        attempt = 0
        while True:
            try:
                resp = self._open(request)
                break
            except LiaobotsError as err:
                delay = retry_delay(attempt, self.max_retries, err)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1
        with resp:
            reader = AnswerReader(resp.headers.get("content-type"), stop)
            try:
                for data in resp.iter_content(chunk_size=None):
                    text = reader.feed(data)
                    if text:
                        yield text
                    if reader.stopped:
                        return
            except requests.ConnectionError as exc:
                # requests reports a read timeout inside a streamed body as a
                # ConnectionError wrapping urllib3's ReadTimeoutError.
                if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                    raise _silence_error(reader, self.timeout) from None
                raise _cut_error(reader, type(exc).__name__) from None
            except requests.RequestException as exc:
                raise _cut_error(reader, type(exc).__name__) from None
            tail = reader.finish()
        if tail:
            yield tail


class AsyncTransport:
    """The asyncio shell: one pooled ``aiohttp`` session per event loop."""

    def __init__(
        self, *, timeout: float, max_retries: int, verify: bool = True
    ) -> None:
        """Create the transport; sessions are built on first use in each loop.

        Args:
            timeout: Seconds allowed to connect and for each silence while reading.
            max_retries: Retries for failures before the answer starts.
            verify: Whether to verify TLS certificates.
        """
        self.timeout = timeout
        self.max_retries = max_retries
        self.verify = verify
        self._sessions: dict[asyncio.AbstractEventLoop, Any] = {}

    async def _pool(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is not None and not entry[0].closed:
            session: aiohttp.ClientSession = entry[0]
            return session
        for old in [lp for lp in self._sessions if lp.is_closed()]:
            del self._sessions[old]
        import aiohttp  # lazy: sync users never pay for it

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_POOL_SIZE, ssl=self.verify),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self.timeout, sock_read=self.timeout
            ),
            auto_decompress=True,
        )
        # An async generator registered with the loop is closed by the loop's
        # shutdown_asyncgens() (asyncio.run does that), which closes the session
        # with its loop instead of leaving it to the garbage collector.
        keeper = self._keeper(session)
        await keeper.__anext__()
        self._sessions[loop] = (session, keeper)
        return session

    @staticmethod
    async def _keeper(session: aiohttp.ClientSession) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await session.close()

    async def aclose(self) -> None:
        """Close the pooled connections of the running event loop."""
        entry = self._sessions.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    async def _open(self, request: Request) -> aiohttp.ClientResponse:
        import aiohttp

        session = await self._pool()
        try:
            resp = await session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                allow_redirects=False,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise _connect_error(request.url, exc, self.timeout) from None
        if 200 <= resp.status < 300:
            return resp
        try:
            body = await resp.content.read(_ERROR_BODY_BYTES)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            body = b""
        finally:
            resp.release()
        raise error_for_status(
            resp.status,
            body,
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
        )

    async def stream_text(
        self, request: Request, stop: Sequence[str] = ()
    ) -> AsyncIterator[str]:
        """POST the request and yield the answer's text as it arrives.

        Args:
            request: The request to send.
            stop: Stop sequences; the response is closed at the first one.

        Yields:
            Pieces of answer text, in order.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        import aiohttp

        attempt = 0
        while True:
            try:
                resp = await self._open(request)
                break
            except LiaobotsError as err:
                delay = retry_delay(attempt, self.max_retries, err)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1
        reader = AnswerReader(resp.headers.get("content-type"), stop)
        completed = False
        try:
            async for data in resp.content.iter_any():
                text = reader.feed(data)
                if text:
                    yield text
                if reader.stopped:
                    return
            tail = reader.finish()
            completed = True
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise _silence_error(reader, self.timeout) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _cut_error(reader, type(exc).__name__) from None
        finally:
            # A fully read response goes back to the pool; any other is closed.
            if completed:
                resp.release()
            else:
                resp.close()
        if tail:
            yield tail
