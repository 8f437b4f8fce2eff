"""The Liaobots-compatible local server: HTTP requests in, streamed answers out.

:class:`LiaobotsEmulator` serves the chat endpoint on 127.0.0.1 from a background
thread with its own event loop (aiohttp's server). Each ``POST /api/chat`` is
checked with the same wire definitions the client uses
(:func:`langchain_liaobots.protocol.parse_payload`): a malformed body gets 400
with a JSON ``{"error": ...}`` saying what is wrong, a missing or refused auth
code gets 401 ``{"message": "401 Unauthorized"}``. A valid request is answered
by the responder and streamed as raw UTF-8 with chunked transfer encoding, in
pieces of ``piece_bytes`` bytes (a multi-byte character may be split, as on a
real network) every ``pace`` seconds. Every request is logged in
:attr:`LiaobotsEmulator.requests`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from langchain_liaobots.emulator.responder import Responder, default_responder
from langchain_liaobots.protocol import (
    AUTH_HEADER,
    CHAT_PATH,
    RAW_CONTENT_TYPE,
    parse_payload,
)

__all__ = ["LiaobotsEmulator", "ReceivedRequest"]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the emulator received it.

    Attributes:
        path: The request path.
        headers: The request headers (lower-cased names).
        payload: The parsed JSON body, or ``None`` if it was not valid.
    """

    path: str
    headers: dict[str, str]
    payload: dict[str, Any] | None = field(default=None)


class LiaobotsEmulator:
    """A Liaobots-compatible server on 127.0.0.1, run in a background thread.

    Use it as a context manager::

        with LiaobotsEmulator() as server:
            llm = ChatLiaobots(base_url=server.base_url, auth="any-code")
            llm.invoke("hi")  # AIMessage(content="You said: hi")

    Attributes:
        requests: Every request received, in order.
        answers_completed: How many answers were streamed to their end.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        responder: Responder = default_responder,
        pace: float = 0.0,
        piece_bytes: int = 16,
        auth_codes: Collection[str] | None = None,
    ) -> None:
        """Configure the server; it starts on ``start()`` or ``with``.

        Args:
            port: The port to bind on 127.0.0.1; 0 picks a free one.
            responder: Maps a valid payload to the answer text.
            pace: Seconds to wait between pieces of an answer.
            piece_bytes: Bytes per piece of an answer (at least 1).
            auth_codes: The accepted auth codes; ``None`` accepts any non-empty
                code.

        Raises:
            ValueError: If ``piece_bytes`` < 1 or ``pace`` < 0.
        """
        if piece_bytes < 1:
            msg = f"piece_bytes must be at least 1, got {piece_bytes}."
            raise ValueError(msg)
        if pace < 0:
            msg = f"pace must be zero or more seconds, got {pace}."
            raise ValueError(msg)
        self.responder = responder
        self.pace = pace
        self.piece_bytes = piece_bytes
        self.auth_codes = None if auth_codes is None else frozenset(auth_codes)
        self.requests: list[ReceivedRequest] = []
        self.answers_completed = 0
        self._port = port
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """The URL to pass as ``ChatLiaobots(base_url=...)``.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._sock is None:
            msg = "The emulator is not running; call start() or use it in a with block."
            raise RuntimeError(msg)
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    # -- HTTP handlers -------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload: dict[str, Any] | None = parse_payload(body)
        except ValueError as exc:
            self.requests.append(ReceivedRequest(request.path, headers))
            return web.json_response({"error": str(exc)}, status=400)
        self.requests.append(ReceivedRequest(request.path, headers, payload))
        code = headers.get(AUTH_HEADER, "")
        if not code or (self.auth_codes is not None and code not in self.auth_codes):
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        assert payload is not None
        return await self._stream(request, self.responder(payload).encode())

    async def _stream(self, request: web.Request, data: bytes) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": RAW_CONTENT_TYPE})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        step = self.piece_bytes
        for start in range(0, len(data), step):
            if start and self.pace:
                await asyncio.sleep(self.pace)
            await resp.write(data[start : start + step])
        await resp.write_eof()
        self.answers_completed += 1
        return resp

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(CHAT_PATH, self._chat)
        return app

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> LiaobotsEmulator:
        """Bind the port and serve from a background thread.

        Returns:
            The running emulator.
        """
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._sock = sock
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="liaobots-emulator", daemon=True
        )
        self._thread.start()
        ready.wait()
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        assert self._sock is not None
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, self._sock, backlog=1024).start())
        self._runner = runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def stop(self) -> None:
        """Stop serving, close every connection and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        if self._sock is not None:
            self._sock.close()
        self._thread = self._loop = self._runner = self._sock = None

    def __enter__(self) -> LiaobotsEmulator:
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
