"""Drivers: an exchange's commands in, I/O performed, results and failures back.

An exchange (:mod:`langchain_liaobots.wire.exchange`) holds every decision of a
call; a driver only performs its commands with one HTTP library, over the
pooled sessions of a :class:`~langchain_liaobots.transport.clients.Client`'s
pool (shared by every model with the same connection settings), applying the
client's request settings (timeout, extra headers) to each request, and maps
that library's exceptions to one neutral
:class:`~langchain_liaobots.wire.exchange.Failure` (:func:`failure_of`):

* :class:`SyncDriver` speaks ``requests``; the body is read with
  ``read1``, so each piece is handed on as it arrives whatever the framing
  (chunked, ``Content-Length``, read until close, gzip);
* :class:`AsyncDriver` speaks ``aiohttp`` (imported on first async use only)
  and reads with ``readany``.

Both pass everything an exchange yields that is not a command (answer text, a
JSON endpoint's result) up to their caller, and close any response the
exchange did not release when it ends, fails or is closed early.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Any, Final

import requests
import urllib3.exceptions

from langchain_liaobots.errors import LiaobotsConnectionError, LiaobotsError
from langchain_liaobots.transport.clients import Client
from langchain_liaobots.wire.exchange import (
    JOIN_SETUP,
    READ,
    RELEASE,
    Command,
    Exchange,
    Failure,
    FailureKind,
    Head,
    LandSetup,
    Send,
    Sleep,
)

__all__ = ["AsyncDriver", "SyncDriver", "failure_of"]

_PIECE: Final = 64 * 1024
"""The most bytes one read hands on."""

_SYNC_ERRORS: Final = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


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


def failure_of(exc: BaseException) -> Failure:
    """Map a ``requests``, ``urllib3``, ``aiohttp`` or socket exception to a kind.

    The whole chain of causes is looked at, so a refused connection wrapped
    three times still says "refused".

    Args:
        exc: The library's exception.

    Returns:
        The neutral failure, with ``exc`` as its cause.
    """
    kind: FailureKind = "io"
    for e in _chain(exc):
        name = type(e).__name__
        if isinstance(e, (TimeoutError, socket.timeout, asyncio.TimeoutError)) or (
            name in ("ReadTimeoutError", "ConnectTimeoutError", "Timeout")
            or isinstance(e, requests.Timeout)
        ):
            kind = "timeout"
            break
        if isinstance(e, (ssl.SSLError, ssl.CertificateError)) or "SSL" in name:
            kind = "tls"
            break
        if "Proxy" in name:
            kind = "proxy"
            break
        if isinstance(e, ConnectionRefusedError):
            kind = "refused"
            break
        if isinstance(e, socket.gaierror) or "NameResolution" in name or "DNS" in name:
            kind = "unresolved"
            break
        if isinstance(e, (ConnectionResetError, BrokenPipeError)) or name in (
            "ProtocolError",
            "IncompleteRead",
            "ChunkedEncodingError",
            "ServerDisconnectedError",
            "ClientPayloadError",
            "ContentLengthError",
            "TransferEncodingError",
        ):
            kind = "reset"
    return Failure(kind, exc)


class _Driver:
    """What both drivers share: the exchange's stepping, the flight, cleanup."""

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

    def _finish(self, flow: Exchange) -> None:
        """The exchange ended, failed or was closed early: release everything."""
        flow.close()
        self._drop()
        if self._leading:
            self._client.flight.land(_abandoned())


class SyncDriver(_Driver):
    """Perform an exchange over ``requests``."""

    _pieces: Iterator[bytes] = iter(())

    def run(self, flow: Exchange) -> Generator[Any, None, None]:
        """Drive an exchange to its end.

        Args:
            flow: The exchange.

        Yields:
            What the exchange hands up: answer text, or a JSON result.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        result: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                try:
                    cmd = flow.send(result) if thrown is None else flow.throw(thrown)
                except StopIteration:
                    return
                result = thrown = None
                if not isinstance(cmd, Command):
                    yield cmd
                    continue
                try:
                    # READ, the command of every piece, skips the dispatch.
                    result = (
                        next(self._pieces, b"") if cmd is READ else self._perform(cmd)
                    )
                except _SYNC_ERRORS as exc:
                    thrown = failure_of(exc)
                except LiaobotsError as exc:  # the setup leader's failure
                    thrown = exc
        finally:
            self._finish(flow)

    def _perform(self, cmd: Command) -> Any:
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
                verify=client.pool.key.verify,
            )
            raw = resp.raw
            # Chunked bodies chunk by chunk (the cheapest way urllib3 has); any
            # other framing through read1, which hands on what has arrived.
            self._pieces = (
                raw.read_chunked(decode_content=True)
                if raw.chunked
                else iter(partial(raw.read1, _PIECE, decode_content=True), b"")
            )
            return Head(
                resp.status_code, resp.headers, raw.headers.getlist("set-cookie")
            )
        if cmd is RELEASE:
            self._resp.raw.release_conn()
            self._resp = None
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
        timeout = client.timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_read=timeout
        )

    async def run(self, flow: Exchange) -> AsyncGenerator[Any, None]:
        """Drive an exchange to its end.

        Args:
            flow: The exchange.

        Yields:
            What the exchange hands up: answer text, or a JSON result.

        Raises:
            LiaobotsError: The exchange's typed error for any failure.
        """
        result: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                try:
                    cmd = flow.send(result) if thrown is None else flow.throw(thrown)
                except StopIteration:
                    return
                result = thrown = None
                if not isinstance(cmd, Command):
                    yield cmd
                    continue
                try:
                    # READ, the command of every piece, skips the dispatch.
                    if cmd is READ:
                        result = await self._resp.content.readany()
                    else:
                        result = await self._perform(cmd)
                except self._errors as exc:
                    thrown = failure_of(exc)
                except LiaobotsError as exc:  # the setup leader's failure
                    thrown = exc
        finally:
            self._finish(flow)

    async def _perform(self, cmd: Command) -> Any:
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
            )
            return Head(
                resp.status, resp.headers, resp.headers.getall("set-cookie", ())
            )
        if cmd is RELEASE:
            self._resp.release()
            self._resp = None
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
