"""A small forward proxy on 127.0.0.1 for the proxy tests: plain HTTP and CONNECT.

A plain request arrives with an absolute URI (``POST http://host:port/path``);
the proxy rewrites its request line to the path, connects to the host and
pipes bytes both ways. ``CONNECT host:port`` opens a tunnel (HTTPS). Every
request line it saw is kept in :attr:`ForwardProxy.seen`. Only 127.0.0.1
targets are allowed; connections and idle pipes are bounded in time.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

from tests.helpers.threads import AcceptLoop

_IDLE = 10.0


class ForwardProxy(AcceptLoop):
    """A threaded forward proxy; use it as a context manager."""

    accept_wait = 0.2

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(_IDLE)
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode().split(" ", 2)
            self.seen.append(f"{method} {target}")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = self._open(host, int(port))
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest.partition(b"\r\n\r\n")[2]:
                    upstream.sendall(rest.partition(b"\r\n\r\n")[2])
            else:
                parts = urlsplit(target)
                upstream = self._open(parts.hostname or "", parts.port or 80)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                upstream.sendall(f"{method} {path} {version}\r\n".encode() + rest)
            with upstream:
                self._pipe(conn, upstream)

    @staticmethod
    def _open(host: str, port: int) -> socket.socket:
        if host != "127.0.0.1":
            msg = f"the test proxy only reaches 127.0.0.1, not {host}"
            raise ValueError(msg)
        upstream = socket.create_connection((host, port), timeout=_IDLE)
        upstream.settimeout(_IDLE)
        return upstream

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=copy, args=(b, a), daemon=True)
        back.start()
        copy(a, b)
        back.join(timeout=_IDLE)
