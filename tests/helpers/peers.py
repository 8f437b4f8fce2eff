"""Peers on 127.0.0.1 for the origin tests: one that redirects, one that records.

`RedirectingServer` answers every ``POST`` with a redirect to the
``Location`` it is given (written raw, whatever it holds); `RecordingServer`
counts every connection it accepts, keeps every request it reads (path,
headers, body) and answers as the service would (``/api/chat`` a plain text
answer, ``/api/user`` an account, ``/api/models`` a model list), so a client
that is led to it gets an answer and the test can see what leaked. Neither
shares code with the package.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.threads import ThreadedHTTPServer

_ACCOUNT = {"authCode": "other-origin-code", "balance": 1, "amount": 1}


@dataclass(frozen=True)
class Seen:
    """One request a peer read."""

    path: str
    headers: dict[str, str]
    body: bytes


class _Peer(ThreadedHTTPServer):
    """A threaded HTTP/1.1 server on 127.0.0.1; a context manager."""

    def __init__(
        self,
        respond: Callable[[BaseHTTPRequestHandler], None],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.seen: list[Seen] = []
        self.connections = 0
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with peer._lock:
                    peer.seen.append(Seen(self.path, dict(self.headers), body))
                respond(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with peer._lock:
                    peer.connections += 1
                return True

        super().__init__(Handler, server=Server, ssl_context=ssl_context)


def _reply(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class RecordingServer(_Peer):
    """Records every connection and request; answers as the service would.

    With an ``ssl_context`` it speaks HTTPS.
    """

    ANSWER = "answered by the recording server"

    models: list[dict[str, Any]]
    """What ``/api/models`` answers (settable)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.models = [
            {"id": "peer-model", "name": "Peer", "maxLength": 100, "tokenLimit": 50}
        ]

        def respond(handler: BaseHTTPRequestHandler) -> None:
            endpoint = handler.path.rpartition("/api/")[2]
            answer = {"user": _ACCOUNT, "models": self.models}.get(endpoint)
            if answer is None:
                _reply(handler, 200, self.ANSWER.encode())
            else:
                _reply(
                    handler,
                    200,
                    json.dumps(answer).encode(),
                    content_type="application/json",
                )

        super().__init__(respond, ssl_context)


class RedirectingServer(_Peer):
    """Answers every request with ``status`` and the ``Location`` set on it.

    ``location`` is a template: ``{path}`` stands for the request's path.
    """

    def __init__(self, status: int = 307) -> None:
        self.location = "{path}"

        def respond(handler: BaseHTTPRequestHandler) -> None:
            # Written raw: the hostile shapes go out exactly as set.
            handler.wfile.write(
                f"HTTP/1.1 {status} Moved\r\nlocation: ".encode()
                + self.location.format(path=handler.path).encode("latin-1")
                + b"\r\ncontent-length: 0\r\n\r\n"
            )

        super().__init__(respond)
