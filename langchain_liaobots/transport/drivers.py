"""Transports: a :class:`~langchain_liaobots.wire.request.Request` in, answer text out.

Two thin shells over the sans-I/O core, differing only in I/O:

* :class:`SyncTransport` speaks over a pooled ``requests.Session``;
* :class:`AsyncTransport` speaks over a pooled ``aiohttp.ClientSession`` per
  event loop (aiohttp is imported on first async use only).

For every call both do the same: send the setup steps the
:class:`~langchain_liaobots.wire.auth.Credentials` ask for (session login, auth-code
acquisition; one at a time), sign the request, POST it (following only the
same-origin redirects :func:`~langchain_liaobots.wire.request.follow_redirect`
allows), map HTTP and network failures to the typed errors of
:mod:`langchain_liaobots.errors`, and feed each piece of the body to an
:class:`~langchain_liaobots.wire.response.AnswerReader` the moment it arrives,
yielding the text it returns. A failure is retried only as
:class:`~langchain_liaobots.wire.retries.CallRetries` allows: before the answer has
started, never after, so no text is duplicated; a failure after the answer
started carries ``partial_text``. ``timeout`` bounds connecting and every
silence while reading. ``fetch_json`` does the same for the small JSON
endpoints (account state, model discovery).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from langchain_liaobots.errors import (
    LiaobotsConnectionError,
    LiaobotsError,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    LiaobotsTLSError,
    LiaobotsUnexpectedResponseError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.request import REDIRECT_STATUSES, Request, follow_redirect
from langchain_liaobots.wire.response import AnswerReader, decode_json
from langchain_liaobots.wire.retries import CallRetries, parse_retry_after

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AsyncTransport", "SyncTransport"]

T = TypeVar("T")

_ERROR_BODY_BYTES = 2048
_JSON_BODY_LIMIT = 4 * 1024 * 1024
_POOL_SIZE = 256


def _cut_error(reader: AnswerReader, cause: str) -> LiaobotsStreamCutError:
    text = reader.partial_text
    return LiaobotsStreamCutError(
        f"The connection to Liaobots broke after {len(text)} characters of the "
        f"answer ({cause}); retry the call. The text received so far is in "
        ".partial_text.",
        partial_text=text,
    )


def _silence_error(reader: AnswerReader, timeout: float) -> LiaobotsTimeoutError:
    text = reader.partial_text
    return LiaobotsTimeoutError(
        f"Liaobots sent nothing for {timeout:g} s after {len(text)} characters of "
        "the answer; raise timeout= if the service is slow. The text received so "
        "far is in .partial_text.",
        partial_text=text,
    )


_Failure = Literal["timeout", "tls", "connect"]


def _send_error(url: str, timeout: float, kind: _Failure, cause: str) -> LiaobotsError:
    if kind == "timeout":
        return LiaobotsTimeoutError(
            f"No answer from {url} within {timeout:g} s; check base_url and the "
            "network, or raise timeout=."
        )
    if kind == "tls":
        return LiaobotsTLSError(
            f"The TLS handshake with {url} failed ({cause}): the certificate did "
            "not verify, or the host does not speak TLS. Fix the certificate or "
            "the clock, or point base_url at the right host; verify_tls=False is "
            "possible but insecure."
        )
    return LiaobotsConnectionError(
        f"Could not reach {url} ({cause}); check base_url and the network."
    )


def _too_large(what: str) -> LiaobotsUnexpectedResponseError:
    return LiaobotsUnexpectedResponseError(
        f"Liaobots answered {what} with more than {_JSON_BODY_LIMIT} bytes; "
        "check base_url."
    )


def _path(url: str) -> str:
    return urlsplit(url).path


def _read_timed_out(exc: requests.RequestException) -> bool:
    # requests reports a read timeout inside a streamed body as a
    # ConnectionError wrapping urllib3's ReadTimeoutError.
    return bool(exc.args) and isinstance(exc.args[0], ReadTimeoutError)


class SyncTransport:
    """The ``requests`` shell: one pooled session per model instance."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        timeout: float,
        max_retries: int,
        verify: bool = True,
    ) -> None:
        """Create the transport; the session is built on first use.

        Args:
            credentials: The model's auth state, shared with the async path.
            timeout: Seconds allowed to connect and for each silence while reading.
            max_retries: Retries for failures before the answer starts.
            verify: Whether to verify TLS certificates.
        """
        self.credentials = credentials
        self.timeout = timeout
        self.max_retries = max_retries
        self.verify = verify
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        self._setup_lock = threading.Lock()

    def _pool(self) -> requests.Session:
        session = self._session
        if session is not None:
            return session
        with self._session_lock:
            if self._session is None:
                session = requests.Session()
                # Cookies are the Credentials' business (one jar for both paths).
                session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._session = session
            return self._session

    def close(self) -> None:
        """Close the pooled connections."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _post(self, request: Request) -> requests.Response:
        """POST a signed request; return a 2xx response or raise a typed error."""
        hops = 0
        while True:
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
            except requests.Timeout:
                raise _send_error(request.url, self.timeout, "timeout", "") from None
            except requests.exceptions.SSLError as exc:
                raise _send_error(
                    request.url, self.timeout, "tls", type(exc).__name__
                ) from None
            except requests.RequestException as exc:
                raise _send_error(
                    request.url, self.timeout, "connect", type(exc).__name__
                ) from None
            self.credentials.remember(resp.raw.headers.getlist("set-cookie"))
            status = resp.status_code
            if 200 <= status < 300:
                return resp
            if status in REDIRECT_STATUSES:
                resp.close()
                request = follow_redirect(
                    request, status, resp.headers.get("location"), hops
                )
                hops += 1
                continue
            with resp:
                try:
                    body = next(resp.iter_content(_ERROR_BODY_BYTES), b"")
                except requests.RequestException:
                    body = b""
            raise error_for_status(
                status,
                body,
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )

    def _read_body(self, resp: requests.Response, what: str) -> bytes:
        data = bytearray()
        try:
            for piece in resp.iter_content(64 * 1024):
                data += piece
                if len(data) > _JSON_BODY_LIMIT:
                    raise _too_large(what)
        except requests.RequestException as exc:
            kind: _Failure = "timeout" if _read_timed_out(exc) else "connect"
            cause = type(exc).__name__
            raise _send_error(resp.url, self.timeout, kind, cause) from None
        return bytes(data)

    def _setup(self) -> None:
        """Send the setup steps the credentials ask for, one caller at a time."""
        if self.credentials.next_step() is None:
            return
        with self._setup_lock:
            while (step := self.credentials.next_step()) is not None:
                with self._post(step.request) as resp:
                    body = self._read_body(resp, _path(step.request.url))
                self.credentials.complete(step, body, resp.status_code)

    def fetch_json(
        self, make_request: Callable[[], Request], parse: Callable[[Any], T]
    ) -> T:
        """POST a request to a JSON endpoint and parse its answer, with retries.

        Args:
            make_request: Builds the (unsigned) request, after setup.
            parse: Turns the parsed JSON into the result (may raise a typed
                error, which the retry policy then judges).

        Returns:
            What ``parse`` returns.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        retries = CallRetries(self.max_retries, self.credentials)
        while True:
            generation = None
            try:
                self._setup()
                request, generation = self.credentials.sign(make_request())
                what = _path(request.url)
                with self._post(request) as resp:
                    body = self._read_body(resp, what)
                return parse(decode_json(body, resp.status_code, what))
            except LiaobotsError as err:
                delay = retries.delay_after(err, started=False, generation=generation)
                if delay is None:
                    raise
            time.sleep(delay)

    def stream_text(self, request: Request, stop: Sequence[str] = ()) -> Iterator[str]:
        """POST the chat request and yield the answer's text as it arrives.

        Args:
            request: The unsigned chat request.
            stop: Stop sequences; the response is closed at the first one.

        Yields:
            Pieces of answer text, in order.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        retries = CallRetries(self.max_retries, self.credentials)
        while True:
            reader: AnswerReader | None = None
            generation = None
            try:
                self._setup()
                signed, generation = self.credentials.sign(request)
                with self._post(signed) as resp:
                    reader = AnswerReader(resp.headers.get("content-type"), stop)
                    try:
                        for data in resp.iter_content(chunk_size=None):
                            text = reader.feed(data)
                            if text:
                                yield text
                            if reader.stopped:
                                return
                    except requests.RequestException as exc:
                        if _read_timed_out(exc):
                            raise _silence_error(reader, self.timeout) from None
                        raise _cut_error(reader, type(exc).__name__) from None
                    tail = reader.finish()
                if tail:
                    yield tail
                return
            except LiaobotsError as err:
                started = reader is not None and reader.started
                delay = retries.delay_after(err, started=started, generation=generation)
                if delay is None:
                    raise
            time.sleep(delay)


@dataclass
class _LoopState:
    """The async path's resources in one event loop."""

    session: aiohttp.ClientSession
    keeper: AsyncGenerator[None, None]
    setup_lock: asyncio.Lock


class AsyncTransport:
    """The asyncio shell: one pooled ``aiohttp`` session per event loop."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        timeout: float,
        max_retries: int,
        verify: bool = True,
    ) -> None:
        """Create the transport; sessions are built on first use in each loop.

        Args:
            credentials: The model's auth state, shared with the sync path.
            timeout: Seconds allowed to connect and for each silence while reading.
            max_retries: Retries for failures before the answer starts.
            verify: Whether to verify TLS certificates.
        """
        self.credentials = credentials
        self.timeout = timeout
        self.max_retries = max_retries
        self.verify = verify
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    async def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is not None and not state.session.closed:
            return state
        for old in [lp for lp in self._loops if lp.is_closed()]:
            del self._loops[old]
        import aiohttp  # lazy: sync users never pay for it

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_POOL_SIZE, ssl=self.verify),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self.timeout, sock_read=self.timeout
            ),
            # Cookies are the Credentials' business (one jar for both paths).
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
        )
        # An async generator registered with the loop is closed by the loop's
        # shutdown_asyncgens() (asyncio.run does that), which closes the session
        # with its loop instead of leaving it to the garbage collector.
        keeper = self._keeper(session)
        await keeper.__anext__()
        state = _LoopState(session, keeper, asyncio.Lock())
        self._loops[loop] = state
        return state

    @staticmethod
    async def _keeper(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await session.close()

    async def aclose(self) -> None:
        """Close the pooled connections of the running event loop."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.keeper.aclose()

    async def _post(self, request: Request) -> aiohttp.ClientResponse:
        """POST a signed request; return a 2xx response or raise a typed error."""
        import aiohttp

        session = (await self._state()).session
        hops = 0
        while True:
            try:
                resp = await session.post(
                    request.url,
                    data=request.body,
                    headers=dict(request.headers),
                    allow_redirects=False,
                )
            except asyncio.TimeoutError:
                raise _send_error(request.url, self.timeout, "timeout", "") from None
            except aiohttp.ClientSSLError as exc:
                raise _send_error(
                    request.url, self.timeout, "tls", type(exc).__name__
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise _send_error(
                    request.url, self.timeout, "connect", type(exc).__name__
                ) from None
            self.credentials.remember(resp.headers.getall("set-cookie", ()))
            status = resp.status
            if 200 <= status < 300:
                return resp
            if status in REDIRECT_STATUSES:
                resp.release()
                request = follow_redirect(
                    request, status, resp.headers.get("location"), hops
                )
                hops += 1
                continue
            try:
                body = await resp.content.read(_ERROR_BODY_BYTES)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                body = b""
            finally:
                resp.close()
            raise error_for_status(
                status,
                body,
                retry_after=parse_retry_after(resp.headers.get("retry-after")),
            )

    async def _read_body(self, resp: aiohttp.ClientResponse, what: str) -> bytes:
        import aiohttp

        data = bytearray()
        try:
            async for piece in resp.content.iter_chunked(64 * 1024):
                data += piece
                if len(data) > _JSON_BODY_LIMIT:
                    raise _too_large(what)
        except asyncio.TimeoutError:
            raise _send_error(str(resp.url), self.timeout, "timeout", "") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _send_error(
                str(resp.url), self.timeout, "connect", type(exc).__name__
            ) from None
        finally:
            resp.release()
        return bytes(data)

    async def _setup(self) -> None:
        """Send the setup steps the credentials ask for, one caller at a time."""
        if self.credentials.next_step() is None:
            return
        async with (await self._state()).setup_lock:
            while (step := self.credentials.next_step()) is not None:
                resp = await self._post(step.request)
                body = await self._read_body(resp, _path(step.request.url))
                self.credentials.complete(step, body, resp.status)

    async def fetch_json(
        self, make_request: Callable[[], Request], parse: Callable[[Any], T]
    ) -> T:
        """POST a request to a JSON endpoint and parse its answer, with retries.

        Args:
            make_request: Builds the (unsigned) request, after setup.
            parse: Turns the parsed JSON into the result (may raise a typed
                error, which the retry policy then judges).

        Returns:
            What ``parse`` returns.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        retries = CallRetries(self.max_retries, self.credentials)
        while True:
            generation = None
            try:
                await self._setup()
                request, generation = self.credentials.sign(make_request())
                what = _path(request.url)
                resp = await self._post(request)
                body = await self._read_body(resp, what)
                return parse(decode_json(body, resp.status, what))
            except LiaobotsError as err:
                delay = retries.delay_after(err, started=False, generation=generation)
                if delay is None:
                    raise
            await asyncio.sleep(delay)

    async def stream_text(
        self, request: Request, stop: Sequence[str] = ()
    ) -> AsyncIterator[str]:
        """POST the chat request and yield the answer's text as it arrives.

        Args:
            request: The unsigned chat request.
            stop: Stop sequences; the response is closed at the first one.

        Yields:
            Pieces of answer text, in order.

        Raises:
            LiaobotsError: A typed error for any failure.
        """
        import aiohttp

        retries = CallRetries(self.max_retries, self.credentials)
        while True:
            reader: AnswerReader | None = None
            generation = None
            try:
                await self._setup()
                signed, generation = self.credentials.sign(request)
                resp = await self._post(signed)
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
                except asyncio.TimeoutError:
                    raise _silence_error(reader, self.timeout) from None
                except (aiohttp.ClientError, OSError) as exc:
                    raise _cut_error(reader, type(exc).__name__) from None
                finally:
                    # A fully read response goes back to the pool; any other is
                    # closed.
                    if completed:
                        resp.release()
                    else:
                        resp.close()
                if tail:
                    yield tail
                return
            except LiaobotsError as err:
                started = reader is not None and reader.started
                delay = retries.delay_after(err, started=started, generation=generation)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
