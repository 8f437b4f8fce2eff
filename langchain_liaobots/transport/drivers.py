"""Drivers: an exchange's commands in, I/O performed, results and failures back.

An exchange (`langchain_liaobots.wire.exchange`) holds every decision of a
call; a driver only performs its commands with one HTTP library, over the
pooled sessions of a `Client`'s
pool (shared by every model with the same connection settings), applying the
client's request settings (timeout, extra headers) to each request, supplies
the clock and the random draws the exchange asks for, and maps that library's
exceptions to one neutral `Failure`
with a table of exception types (`failure_of`):

* `SyncDriver` speaks ``requests``; the body is read with
  ``read1`` (chunk by chunk when chunked), so each piece is handed on as it
  arrives whatever the framing (chunked, ``Content-Length``, read until close,
  gzip);
* `AsyncDriver` speaks ``aiohttp`` (imported on first async use only)
  and reads with ``readany``.

Either hands on at most ``_PIECE`` bytes per read, after content decoding: a
huge chunk, a huge ``Content-Length`` or a compression bomb is read and
decoded a bounded piece at a time (urllib3 2.6's ``max_length`` decoding;
aiohttp's buffer limit), so the exchange's limits apply before memory grows.

Both run an exchange with the one stepping helper (`_Steps`: results
and failures in, the next command out), and differ only in how they perform a
command. ``stream(flow)`` hands on the text a chat exchange emits,
``call(flow)`` / ``acall(flow)`` return what a JSON exchange returns; either
closes any response the exchange did not release when it ends, fails or is
closed early.
"""

from __future__ import annotations

import asyncio
import http.client
import random
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from concurrent.futures import Future
from functools import lru_cache, partial
from typing import Any, Final, Generic

import requests
import urllib3.exceptions
from typing_extensions import TypeVar

from langchain_liaobots.errors import LiaobotsConnectionError, LiaobotsError
from langchain_liaobots.transport.clients import Client
from langchain_liaobots.wire.exchange import (
    DRAW,
    JOIN_SETUP,
    NOW,
    READ,
    RELEASE,
    Command,
    Emit,
    Exchange,
    Failure,
    FailureKind,
    Head,
    LandSetup,
    Result,
    Send,
    Sleep,
)

__all__ = ["AsyncDriver", "SyncDriver", "failure_of"]

T = TypeVar("T", default=None)

_PIECE: Final = 64 * 1024
"""The most bytes one read hands on (decoded), on the sync path."""

Kinds = Mapping[type[BaseException], FailureKind]
"""Exception types to failure kinds; the most specific type listed wins."""

_OS_KINDS: Final[Kinds] = {
    TimeoutError: "timeout",  # socket.timeout too
    ssl.SSLError: "tls",  # ssl.CertificateError too
    ConnectionRefusedError: "refused",
    socket.gaierror: "unresolved",
    ConnectionResetError: "reset",
    BrokenPipeError: "reset",
    http.client.IncompleteRead: "reset",
    http.client.BadStatusLine: "malformed",
    http.client.LineTooLong: "malformed",
    OSError: "io",
}
"""The standard library's exceptions, under either library."""

_REQUESTS_KINDS: Final[Kinds] = {
    **_OS_KINDS,
    requests.exceptions.ConnectTimeout: "timeout",
    requests.exceptions.ReadTimeout: "timeout",
    requests.exceptions.Timeout: "timeout",
    urllib3.exceptions.ConnectTimeoutError: "timeout",
    urllib3.exceptions.ReadTimeoutError: "timeout",
    requests.exceptions.SSLError: "tls",
    urllib3.exceptions.SSLError: "tls",
    requests.exceptions.ProxyError: "proxy",
    requests.exceptions.InvalidProxyURL: "proxy",
    urllib3.exceptions.ProxyError: "proxy",
    urllib3.exceptions.ProxySchemeUnknown: "proxy",
    urllib3.exceptions.ProxySchemeUnsupported: "proxy",
    urllib3.exceptions.NameResolutionError: "unresolved",
    # A ConnectTimeoutError by class, but raised for any failed connect: its
    # cause (refused, unresolved, timed out) says which.
    urllib3.exceptions.NewConnectionError: "io",
    requests.exceptions.ChunkedEncodingError: "reset",
    urllib3.exceptions.ProtocolError: "reset",
    urllib3.exceptions.IncompleteRead: "reset",
    requests.exceptions.ConnectionError: "io",
}
"""``requests``' and ``urllib3``'s exceptions."""

_REQUESTS_ERRORS: Final = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    OSError,
)
"""What the sync path's I/O raises."""


@lru_cache(maxsize=1)
def _aiohttp_kinds() -> Kinds:
    """``aiohttp``'s exceptions (imported on first async use only)."""
    import aiohttp
    from aiohttp import http_exceptions

    return {
        **_OS_KINDS,
        asyncio.TimeoutError: "timeout",  # not TimeoutError before Python 3.11
        aiohttp.ServerTimeoutError: "timeout",
        aiohttp.ClientConnectorCertificateError: "tls",
        aiohttp.ClientSSLError: "tls",
        aiohttp.ClientProxyConnectionError: "proxy",
        aiohttp.ClientHttpProxyError: "proxy",
        aiohttp.ClientConnectorDNSError: "unresolved",
        aiohttp.ServerDisconnectedError: "reset",
        aiohttp.ClientPayloadError: "reset",
        http_exceptions.ContentLengthError: "reset",
        http_exceptions.TransferEncodingError: "reset",
        http_exceptions.BadHttpMessage: "malformed",  # a bad status line, header
        # Any failed connect: its cause (refused, unresolved, ...) says which.
        aiohttp.ClientConnectorError: "io",
    }


def _abandoned() -> LiaobotsConnectionError:
    return LiaobotsConnectionError(
        "The call that was performing the setup steps (session login, auth-code "
        "acquisition) was cancelled before it finished; retry the call."
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes and contexts and the errors in its args."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(
            e
            for e in (current.__cause__, current.__context__, *current.args)
            if isinstance(e, BaseException)
        )
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


def _kind_of(exc: BaseException, kinds: Kinds) -> FailureKind | None:
    """The kind of the most specific of the exception's types in ``kinds``."""
    for cls in type(exc).__mro__:
        kind = kinds.get(cls)
        if kind is not None:
            return kind
    return None


def failure_of(exc: BaseException, kinds: Kinds) -> Failure:
    """Map a library exception to a failure kind, by the types in a table.

    The whole chain of causes is looked at, so a refused connection wrapped
    three times still says "refused": the first exception of the chain with a
    kind of its own wins; ``"reset"`` only if nothing more precise follows, and
    ``"io"`` (a network error) if nothing says more.

    Args:
        exc: The library's exception.
        kinds: The driver's table of exception types.

    Returns:
        The neutral failure, with ``exc`` as its cause.
    """
    found: FailureKind = "io"
    for e in _chain(exc):
        kind = _kind_of(e, kinds)
        if kind == "reset":
            found = kind
        elif kind is not None and kind != "io":
            return Failure(kind, exc)
    return Failure(found, exc)


class _Steps(Generic[T]):
    """One exchange stepped by a driver: an outcome in, the next command out.

    `send` sends a command's result in, `throw` its failure (a
    library exception mapped to a `Failure`, or a typed error as is);
    each returns the next command, or ``None`` once the exchange has returned,
    and then `value` holds what it returned.
    """

    __slots__ = ("flow", "value")

    def __init__(self, flow: Exchange[T]) -> None:
        self.flow = flow
        self.value: T

    def send(self, result: Result) -> Command | None:
        """Send a command's result in; return the next command (``None``: done)."""
        try:
            return self.flow.send(result)
        except StopIteration as done:
            self.value = done.value
            return None

    def throw(self, failure: BaseException) -> Command | None:
        """Throw a command's failure in; return the next command (``None``: done)."""
        try:
            return self.flow.throw(failure)
        except StopIteration as done:
            self.value = done.value
            return None


class _Driver:
    """What both drivers share: the setup flight and the cleanup."""

    _resp: Any

    def __init__(self, client: Client) -> None:
        self._client = client
        self._resp = None
        self._leading = False

    def _drop(self) -> None:
        """Close the response the exchange left open (not back to the pool)."""
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    def _lead(self) -> Future[None] | None:
        """Join the setup flight: ``None`` to lead it, else the leader's future."""
        flight = self._client.flight.join()
        self._leading = flight is None
        return flight

    def _land(self, cmd: LandSetup) -> None:
        self._leading = False
        self._client.flight.land(cmd.error)

    def _finish(self, flow: Exchange[Any]) -> None:
        """The exchange ended, failed or was closed early: release everything."""
        flow.close()
        self._drop()
        if self._leading:
            self._client.flight.land(_abandoned())


class SyncDriver(_Driver):
    """Perform an exchange over ``requests``."""

    _pieces: Iterator[bytes] = iter(())

    def stream(self, flow: Exchange) -> Generator[str, None, None]:
        """Drive a chat exchange, handing on the text it emits.

        Args:
            flow: The exchange.

        Returns:
            The pieces of the answer's text; closing it ends the exchange.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        return self._drive(_Steps(flow))

    def call(self, flow: Exchange[T]) -> T:
        """Drive a JSON exchange to its end.

        Args:
            flow: The exchange.

        Returns:
            What the exchange returns.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        steps = _Steps(flow)
        for _ in self._drive(steps):  # a JSON exchange emits no text
            pass
        return steps.value

    def _drive(self, steps: _Steps[Any]) -> Generator[str, None, None]:
        send = steps.send
        try:
            cmd = send(None)
            while cmd is not None:
                if type(cmd) is Emit:
                    yield cmd.text
                    cmd = send(None)
                    continue
                try:
                    # READ, the command of every piece, skips the dispatch.
                    result = (
                        next(self._pieces, b"") if cmd is READ else self._perform(cmd)
                    )
                except _REQUESTS_ERRORS as exc:
                    cmd = steps.throw(failure_of(exc, _REQUESTS_KINDS))
                except LiaobotsError as exc:  # the setup leader's failure
                    cmd = steps.throw(exc)
                else:
                    cmd = send(result)
        finally:
            self._finish(steps.flow)

    def _perform(self, cmd: Command) -> Result:
        client = self._client
        if isinstance(cmd, Send):
            self._drop()
            request = cmd.request
            timeout = client.timeout
            self._resp = resp = client.pool.session().post(
                request.url,
                data=request.body,
                headers={**request.headers, **client.headers},
                stream=True,
                timeout=(timeout, timeout),
                allow_redirects=False,
                verify=client.pool.requests_verify(),
            )
            raw = resp.raw
            # Chunked bodies chunk by chunk (the cheapest way urllib3 has); any
            # other framing through read1, which hands on what has arrived.
            # Either way at most _PIECE bytes, however large the chunk or how
            # far the content decodes.
            self._pieces = (
                raw.read_chunked(_PIECE, decode_content=True)
                if raw.chunked
                else iter(partial(raw.read1, _PIECE, decode_content=True), b"")
            )
            return Head(
                resp.status_code,
                resp.headers,
                raw.headers.getlist("set-cookie"),
                resp.reason or "",
            )
        if cmd is RELEASE:
            self._resp.raw.release_conn()
            self._resp = None
        elif cmd is NOW:
            return time.time()
        elif cmd is DRAW:
            return random.random()  # noqa: S311 - jitter, not a secret
        elif isinstance(cmd, Sleep):
            time.sleep(cmd.seconds)
        elif cmd is JOIN_SETUP:
            flight = self._lead()
            if flight is not None:
                flight.result()  # raises the leader's failure
            return flight is None
        elif isinstance(cmd, LandSetup):
            self._land(cmd)
        return None


class AsyncDriver(_Driver):
    """Perform an exchange over ``aiohttp``."""

    def __init__(self, client: Client) -> None:
        """Drive exchanges over a client's pooled session in the running loop.

        Args:
            client: The client of the caller's key.
        """
        import aiohttp  # lazy: sync users never pay for it

        super().__init__(client)
        self._errors = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
        self._kinds = _aiohttp_kinds()
        timeout = client.timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_read=timeout
        )

    def stream(self, flow: Exchange) -> AsyncGenerator[str, None]:
        """Drive a chat exchange, handing on the text it emits.

        Args:
            flow: The exchange.

        Returns:
            The pieces of the answer's text; closing it ends the exchange.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        return self._drive(_Steps(flow))

    async def acall(self, flow: Exchange[T]) -> T:
        """Drive a JSON exchange to its end.

        Args:
            flow: The exchange.

        Returns:
            What the exchange returns.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        steps = _Steps(flow)
        async for _ in self._drive(steps):  # a JSON exchange emits no text
            pass
        return steps.value

    async def _drive(self, steps: _Steps[Any]) -> AsyncGenerator[str, None]:
        send = steps.send
        try:
            cmd = send(None)
            while cmd is not None:
                if type(cmd) is Emit:
                    yield cmd.text
                    cmd = send(None)
                    continue
                try:
                    # READ, the command of every piece, skips the dispatch.
                    if cmd is READ:
                        result = await self._resp.content.readany()
                    else:
                        result = await self._perform(cmd)
                except self._errors as exc:
                    cmd = steps.throw(failure_of(exc, self._kinds))
                except LiaobotsError as exc:  # the setup leader's failure
                    cmd = steps.throw(exc)
                else:
                    cmd = send(result)
        finally:
            self._finish(steps.flow)

    async def _perform(self, cmd: Command) -> Result:
        client = self._client
        if isinstance(cmd, Send):
            self._drop()
            request = cmd.request
            pool = client.pool
            session = await pool.asession()
            own = pool.key.http_async_client is not None  # its own proxy rules
            self._resp = resp = await session.post(
                request.url,
                data=request.body,
                headers={**request.headers, **client.headers},
                allow_redirects=False,
                timeout=self._timeout,
                proxy=None if own else pool.proxy_for(request.url),
                ssl=pool.aiohttp_ssl(),
            )
            return Head(
                resp.status,
                resp.headers,
                resp.headers.getall("set-cookie", ()),
                resp.reason or "",
            )
        if cmd is RELEASE:
            self._resp.release()
            self._resp = None
        elif cmd is NOW:
            return time.time()
        elif cmd is DRAW:
            return random.random()  # noqa: S311 - jitter, not a secret
        elif isinstance(cmd, Sleep):
            await asyncio.sleep(cmd.seconds)
        elif cmd is JOIN_SETUP:
            flight = self._lead()
            if flight is not None:
                await asyncio.wrap_future(flight)  # raises the leader's failure
            return flight is None
        elif isinstance(cmd, LandSetup):
            self._land(cmd)
        return None
