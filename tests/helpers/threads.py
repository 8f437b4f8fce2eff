"""The test servers' threading scaffolding: listen on 127.0.0.1, serve from threads.

In: what a server answers with (a request handler class, or a ``_handle``
method for each raw connection). Out: a context manager that listens on a free
port of 127.0.0.1, serves from daemon threads between ``__enter__`` and
``__exit__``, and says where it listens (``base_url``). Two kinds:

* `ThreadedHTTPServer`: the standard library's ``ThreadingHTTPServer``, plain
  or behind TLS;
* `AcceptLoop`: a raw socket's accept loop, one thread per connection.

It imports nothing from ``langchain_liaobots`` (the standard library and
``typing_extensions`` only), so a server built on it shares no code with the package.
"""

from __future__ import annotations

import socket
import ssl
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from typing_extensions import Self

_JOIN_TIMEOUT = 5.0


class ThreadedHTTPServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1, served from a daemon thread.

    A context manager: ``__enter__`` starts serving, ``__exit__`` shuts down.

    Attributes:
        scheme: ``https`` with an ``ssl_context``, else ``http``.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        server: type[ThreadingHTTPServer] = ThreadingHTTPServer,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Create the server (it starts on ``__enter__``).

        Args:
            handler: Answers each request.
            server: The server class (a subclass may override its hooks).
            ssl_context: Speak TLS with it (server side); ``None``: plain HTTP.
        """
        self.scheme = "https" if ssl_context else "http"
        self._http = server(("127.0.0.1", 0), handler)
        if ssl_context is not None:
            self._http.socket = ssl_context.wrap_socket(
                self._http.socket, server_side=True
            )
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        """``<scheme>://127.0.0.1:<port>``."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving and close the listener."""
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=_JOIN_TIMEOUT)


class AcceptLoop(ABC):
    """A raw socket on 127.0.0.1 whose connections `_handle` serves.

    A context manager: ``__enter__`` starts accepting, each connection in its
    own daemon thread; ``__exit__`` sets ``_stop`` (which a long answer may
    watch), joins the accept thread, and the connections' threads too when
    ``join_connections`` is set, then closes the listener.
    """

    accept_wait: float = 0.05
    """How long one ``accept`` waits before the loop looks at ``_stop``."""
    join_connections: bool = False
    """Whether ``__exit__`` waits for the connections' threads too."""

    def __init__(self) -> None:
        """Open the listener (it accepts on ``__enter__``)."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(self.accept_wait)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The same as `url`."""
        return self.url

    def __enter__(self) -> Self:
        """Start accepting."""
        self._accepting.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop accepting, wait for the threads, close the listener."""
        self._stop.set()
        self._accepting.join(timeout=_JOIN_TIMEOUT)
        for thread in self._threads:
            thread.join(timeout=_JOIN_TIMEOUT)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            if self.join_connections:
                self._threads.append(thread)
            thread.start()

    @abstractmethod
    def _handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection (in its own thread); close it.

        Args:
            conn: The connection.
        """
