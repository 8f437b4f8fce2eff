"""transport.drivers without a network: the exception tables and the stepping.

The exceptions are built as the libraries chain them; the drivers run
exchanges whose commands need no socket (the clock, the draw, a sleep, the
setup flight, text).
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import requests
import urllib3.exceptions
from aiohttp import http_exceptions

from langchain_liaobots.errors import LiaobotsConnectionError, LiaobotsError
from langchain_liaobots.transport.clients import SetupFlight
from langchain_liaobots.transport.drivers import (
    _REQUESTS_KINDS,
    AsyncDriver,
    SyncDriver,
    _aiohttp_kinds,
    failure_of,
)
from langchain_liaobots.wire.exchange import (
    DRAW,
    JOIN_SETUP,
    NOW,
    Emit,
    LandSetup,
    Sleep,
)


def _wrapped(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


def _refused_by_urllib3() -> BaseException:
    conn = _wrapped(
        urllib3.exceptions.NewConnectionError(None, "Failed to establish"),
        ConnectionRefusedError(111, "Connection refused"),
    )
    retries = urllib3.exceptions.MaxRetryError(None, "/api/chat", reason=conn)
    return requests.exceptions.ConnectionError(retries)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.exceptions.ConnectTimeout(), "timeout"),
        (requests.exceptions.ReadTimeout(), "timeout"),
        (urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), "timeout"),
        (TimeoutError(), "timeout"),
        (requests.exceptions.SSLError(), "tls"),
        (ssl.SSLCertVerificationError(), "tls"),
        (requests.exceptions.ProxyError(), "proxy"),
        (_refused_by_urllib3(), "refused"),
        (
            urllib3.exceptions.NameResolutionError("h", None, socket.gaierror()),
            "unresolved",
        ),
        (socket.gaierror(-2, "Name or service not known"), "unresolved"),
        (requests.exceptions.ChunkedEncodingError(), "reset"),
        (urllib3.exceptions.ProtocolError("Connection broken"), "reset"),
        (ConnectionResetError(), "reset"),
        (
            _wrapped(
                requests.exceptions.ChunkedEncodingError(), ConnectionRefusedError()
            ),
            "refused",  # a more precise kind further down the chain wins
        ),
        (requests.exceptions.ConnectionError("?"), "io"),
        (OSError("?"), "io"),
        (  # the peer answered, but not in HTTP
            requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.", http.client.BadStatusLine("garbage")
                )
            ),
            "malformed",
        ),
        (http.client.LineTooLong("header line"), "malformed"),
        (  # a kept-alive connection the server closed: a BadStatusLine by class
            requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.", http.client.RemoteDisconnected("closed")
                )
            ),
            "reset",
        ),
    ],
)
def test_requests_exceptions_map_by_type(exc: BaseException, kind: str) -> None:
    failure = failure_of(exc, _REQUESTS_KINDS)
    assert failure.kind == kind
    assert failure.cause is exc


def _connector(cls: type[BaseException], inner: OSError) -> BaseException:
    return cls(SimpleNamespace(ssl=None, host="h", port=1), inner)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (asyncio.TimeoutError(), "timeout"),
        (aiohttp.ServerTimeoutError(), "timeout"),
        (aiohttp.ConnectionTimeoutError(), "timeout"),
        (
            _connector(
                aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError()
            ),
            "tls",
        ),
        (_connector(aiohttp.ClientConnectorSSLError, ssl.SSLError()), "tls"),
        (_connector(aiohttp.ClientProxyConnectionError, OSError()), "proxy"),
        (_connector(aiohttp.ClientConnectorError, ConnectionRefusedError()), "refused"),
        (_connector(aiohttp.ClientConnectorDNSError, socket.gaierror()), "unresolved"),
        (aiohttp.ServerDisconnectedError(), "reset"),
        (aiohttp.ClientPayloadError("cut"), "reset"),
        (http_exceptions.ContentLengthError("short"), "reset"),
        (http_exceptions.TransferEncodingError("bad"), "reset"),
        (_wrapped(aiohttp.ClientOSError(), ConnectionResetError()), "reset"),
        (aiohttp.ClientOSError(), "io"),
        (http_exceptions.BadStatusLine("garbage"), "malformed"),
        (http_exceptions.InvalidHeader("bad header line"), "malformed"),
        (
            _wrapped(
                aiohttp.ClientResponseError(SimpleNamespace(), (), status=400),
                http_exceptions.BadStatusLine("garbage"),
            ),
            "malformed",
        ),
    ],
)
def test_aiohttp_exceptions_map_by_type(exc: BaseException, kind: str) -> None:
    assert failure_of(exc, _aiohttp_kinds()).kind == kind


def _client(flight: SetupFlight | None = None) -> Any:
    """What the driver reads of a client for commands that need no socket."""
    return SimpleNamespace(timeout=5.0, headers={}, flight=flight or SetupFlight())


def _asks_the_driver() -> Generator[Any, Any, tuple[float, float]]:
    now = yield NOW
    draw = yield DRAW
    assert (yield Sleep(0.0)) is None
    return now, draw


def test_call_returns_what_the_exchange_returns() -> None:
    now, draw = SyncDriver(_client()).call(_asks_the_driver())
    assert now > 1.7e9
    assert 0.0 <= draw < 1.0


async def test_acall_returns_what_the_exchange_returns() -> None:
    now, draw = await AsyncDriver(_client()).acall(_asks_the_driver())
    assert now > 1.7e9
    assert 0.0 <= draw < 1.0


def _emits() -> Generator[Any, Any, None]:
    yield Emit("a")
    yield Sleep(0.0)
    yield Emit("b")


def test_stream_hands_on_the_text() -> None:
    assert list(SyncDriver(_client()).stream(_emits())) == ["a", "b"]


async def test_astream_hands_on_the_text() -> None:
    assert [t async for t in AsyncDriver(_client()).stream(_emits())] == ["a", "b"]


def _leads() -> Generator[Any, Any, None]:
    assert (yield JOIN_SETUP) is True
    yield Emit("leading")
    yield Emit("never")


def test_closing_a_stream_abandons_the_flight_it_leads() -> None:
    flight = SetupFlight()
    texts = SyncDriver(_client(flight)).stream(_leads())
    assert next(texts) == "leading"
    waiting = flight.join()
    assert waiting is not None
    texts.close()
    with pytest.raises(LiaobotsConnectionError, match="cancelled"):
        waiting.result(timeout=1)


def _waits(seen: list[BaseException]) -> Generator[Any, Any, None]:
    try:
        yield JOIN_SETUP
    except LiaobotsError as err:
        seen.append(err)
        raise


async def test_a_waiter_gets_the_leaders_error_thrown_in() -> None:
    flight = SetupFlight()
    assert flight.join() is None  # another caller leads
    error = LiaobotsConnectionError("the leader failed")
    asyncio.get_running_loop().call_soon(flight.land, error)
    seen: list[BaseException] = []
    with pytest.raises(LiaobotsConnectionError, match="leader failed"):
        await AsyncDriver(_client(flight)).acall(_waits(seen))
    assert seen == [error]


def _lands() -> Generator[Any, Any, None]:
    assert (yield JOIN_SETUP) is True
    yield LandSetup(None)


def test_landing_ends_the_flight_for_every_waiter() -> None:
    flight = SetupFlight()
    SyncDriver(_client(flight)).call(_lands())
    assert flight.join() is None  # the last flight is done: a new one is led
