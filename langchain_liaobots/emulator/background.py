"""A background HTTP server: an aiohttp application in, a running 127.0.0.1 URL out.

`BackgroundServer` runs the application a subclass builds in
`_app` on its own event loop in a daemon thread, so sync
and async tests alike can talk to it over real HTTP. ``closing`` is set when the
server stops, so a handler that waits (a stall) can end early.

It holds up against a client that does not finish its request:

* **head timeout** — a connection that has not sent a complete request head
  (request line and headers) ``head_timeout`` seconds after it opened, or after
  its previous answer ended, is closed (aiohttp's own keep-alive timer is
  an hour long, and older aiohttp versions start it only after a first answer);
* **body timeout** — a request whose body has not fully arrived
  ``body_timeout`` seconds after its head is closed without an answer (the
  body is read before any handler runs, so handlers get it at once from
  ``await request.read()``);
* **errors logged once** — an error of the event loop itself, such as
  ``accept()`` failing when the process runs out of file descriptors, is logged
  once per kind to the ``langchain_liaobots.emulator`` logger (repeats at debug
  level), and the server goes on serving (the loop retries accepting).
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, TypeVar

from aiohttp import web

__all__ = ["BODY_TIMEOUT", "HEAD_TIMEOUT", "BackgroundServer"]

HEAD_TIMEOUT: Final = 30.0
"""Seconds a connection may take to send a complete request head."""
BODY_TIMEOUT: Final = 30.0
"""Seconds a request may take to send its body once its head has arrived."""
LOGGED_KINDS: Final = 64
"""Distinct kinds of loop errors logged in full; later kinds go to debug only."""

logger = logging.getLogger("langchain_liaobots.emulator")

_Self = TypeVar("_Self", bound="BackgroundServer")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{name} must be a number of seconds, got {value!r}."
        raise ValueError(msg)
    if not (value > 0 and math.isfinite(value)):
        msg = f"{name} must be more than 0 seconds and finite, got {value!r}."
        raise ValueError(msg)
    return float(value)


class BackgroundServer:
    """Serve an aiohttp application on 127.0.0.1 from a background thread.

    Subclasses build the application in `_app`; use an instance as a
    context manager, or call `start` and `stop`.
    """

    thread_name = "background-http-server"
    """The name of the serving thread."""

    def __init__(
        self,
        *,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        """Configure the server; it starts on ``start()`` or ``with``.

        Args:
            port: The port to bind on 127.0.0.1; 0 picks a free one.
            ssl_context: Serve HTTPS with this context.
            head_timeout: Seconds a connection may take to send a complete
                request head, from its opening or the end of its previous
                answer (an idle kept-alive connection is closed after it too).
            body_timeout: Seconds a request may take to send its body.

        Raises:
            ValueError: If a timeout is not a finite number of seconds above 0.
        """
        self._port = port
        self._ssl = ssl_context
        self.head_timeout = _seconds("head_timeout", head_timeout)
        self.body_timeout = _seconds("body_timeout", body_timeout)
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._heads: dict[Any, asyncio.TimerHandle] = {}
        self._logged: set[str] = set()
        self.closing: asyncio.Event | None = None

    def _app(self) -> web.Application:
        """Build the application to serve; subclasses define it."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:PORT`` of the running server.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._sock is None:
            msg = (
                f"{type(self).__name__} is not running; call start() or use it "
                "in a with block."
            )
            raise RuntimeError(msg)
        host, port = self._sock.getsockname()[:2]
        return f"{'https' if self._ssl else 'http'}://{host}:{port}"

    def start(self: _Self) -> _Self:
        """Bind the port and serve from a background thread.

        Returns:
            The running server.

        Raises:
            OSError: If the port cannot be bound (in use, or not allowed).
        """
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port))
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        ready.wait()
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        assert self._sock is not None
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self._loop_error)
        self.closing = asyncio.Event()
        app = self._app()
        app.middlewares.insert(0, self._deadlines())
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        loop.run_until_complete(runner.setup())
        assert runner.server is not None
        server = loop.run_until_complete(
            loop.create_server(
                self._guarded(runner.server),
                sock=self._sock,
                backlog=1024,
                ssl=self._ssl,
                ssl_handshake_timeout=self.head_timeout if self._ssl else None,
            )
        )
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(runner.cleanup())
        for timer in self._heads.values():
            timer.cancel()
        self._heads.clear()
        loop.close()

    # -- timeouts ------------------------------------------------------------

    def _guarded(self, factory: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        """The protocol factory: aiohttp's, with the head timer armed."""

        def connection() -> asyncio.BaseProtocol:
            protocol = factory()
            self._arm(protocol)
            return protocol

        return connection

    def _arm(self, protocol: Any) -> None:
        assert self._loop is not None
        self._heads[protocol] = self._loop.call_later(
            self.head_timeout, self._head_expired, protocol
        )

    def _head_expired(self, protocol: Any) -> None:
        self._heads.pop(protocol, None)
        if protocol.transport is not None:
            logger.debug(
                "closed a connection: no request head in %ss", self.head_timeout
            )
            protocol.transport.close()

    def _deadlines(self) -> Any:
        """The outermost middleware: the head has come; the body within its time."""

        @web.middleware
        async def deadlines(
            request: web.Request, handler: _Handler
        ) -> web.StreamResponse:
            protocol = request.protocol
            timer = self._heads.pop(protocol, None)
            if timer is not None:
                timer.cancel()
            try:
                try:
                    await asyncio.wait_for(request.read(), self.body_timeout)
                except asyncio.TimeoutError:
                    logger.debug(
                        "closed a connection: no body in %ss", self.body_timeout
                    )
                    if request.transport is not None:
                        request.transport.close()
                    return web.Response(status=408)
                return await handler(request)
            finally:
                if protocol.transport is not None:  # kept alive: the next head
                    self._arm(protocol)

        return deadlines

    # -- loop errors ---------------------------------------------------------

    def _loop_error(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """Log an event-loop error once per kind; the loop goes on serving."""
        message = str(context.get("message", "event loop error"))
        exc = context.get("exception")
        kind = f"{message[:40]} {type(exc).__name__} {getattr(exc, 'errno', '')}"
        said = f"{message} ({type(exc).__name__}: {exc})" if exc else message
        if kind in self._logged or len(self._logged) >= LOGGED_KINDS:
            logger.debug("%s: %s", self.thread_name, said)
            return
        self._logged.add(kind)
        logger.warning(
            "%s: %s; the server keeps serving (logged once, repeats at debug level).",
            self.thread_name,
            said,
        )

    def stop(self) -> None:
        """Stop serving, close every connection and join the thread."""
        if self._thread is None or self._loop is None:
            return
        if self.closing is not None:
            self._loop.call_soon_threadsafe(self.closing.set)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        if self._sock is not None:
            self._sock.close()
        self._thread = self._loop = self._sock = self.closing = None

    def __enter__(self: _Self) -> _Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
