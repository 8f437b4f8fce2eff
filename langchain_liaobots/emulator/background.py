"""A background HTTP server: an aiohttp application in, a running 127.0.0.1 URL out.

`BackgroundServer` runs the application a subclass builds in
`_app` on its own event loop in a daemon thread, so sync
and async tests alike can talk to it over real HTTP. ``closing`` is set when the
server stops, so a handler that waits (a stall) can end early.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from types import TracebackType
from typing import TypeVar

from aiohttp import web

__all__ = ["BackgroundServer"]

_Self = TypeVar("_Self", bound="BackgroundServer")


class BackgroundServer:
    """Serve an aiohttp application on 127.0.0.1 from a background thread.

    Subclasses build the application in `_app`; use an instance as a
    context manager, or call `start` and `stop`.
    """

    thread_name = "background-http-server"
    """The name of the serving thread."""

    def __init__(
        self, *, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        """Configure the server; it starts on ``start()`` or ``with``.

        Args:
            port: The port to bind on 127.0.0.1; 0 picks a free one.
            ssl_context: Serve HTTPS with this context.
        """
        self._port = port
        self._ssl = ssl_context
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
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
        self.closing = asyncio.Event()
        runner = web.AppRunner(
            self._app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        loop.run_until_complete(runner.setup())
        site = web.SockSite(runner, self._sock, backlog=1024, ssl_context=self._ssl)
        loop.run_until_complete(site.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

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
