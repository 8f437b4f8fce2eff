"""A scripted Liaobots-compatible server on 127.0.0.1, independent of the emulator.

It speaks the specified era's ``POST /api/chat`` (any JSON body with a
``messages`` list; the answer as raw UTF-8 text, chunked) with the standard
library's ``http.server``, and answers each request with the next reply of its
script, as a real model would have written it. The last reply repeats once the
script runs out. Every request body it received is kept in
:attr:`ScriptedServer.bodies`. It shares no code with the package, so the
package's own format cannot leak into what it answers.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.helpers.threads import ThreadedHTTPServer


class ScriptedServer(ThreadedHTTPServer):
    """Answers chat requests with the scripted replies; a context manager."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.bodies.append(body)
                    index = min(len(server.bodies), len(server.replies)) - 1
                reply = server.replies[index].encode()
                self.send_response(200)
                self.send_header("content-type", "text/plain; charset=utf-8")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for start in range(0, len(reply), 7):  # pieces, as a stream
                    piece = reply[start : start + 7]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        super().__init__(Handler)
        self._http.timeout = 5
