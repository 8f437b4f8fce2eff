"""The benchmark's servers, run in a process of their own: scenarios in, URLs out.

Every scenario gets two servers on 127.0.0.1 that deliver the identical text in
the identical rhythm (``pieces`` pieces of ``piece_bytes`` bytes, ``pace``
seconds apart, after ``ttfb`` seconds to the first byte):

* :class:`BenchEmulator`, the package's ``LiaobotsEmulator`` plus a middleware
  with three benchmark-only additions (a time to first byte, time-stamped
  pieces for the latency figure, and a count of the streams it holds at once);
* :class:`OpenAICompatServer`, an OpenAI-compatible ``/v1/chat/completions``
  endpoint streaming the same text as server-sent events, for ``ChatOpenAI``.

Run as ``python -m benchmarks.servers '<json scenarios>'``: it prints one JSON
line mapping each scenario to its two base URLs, then serves until its standard
input closes. The servers live apart from the measuring process so that they
never compete with the clients for the GIL.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.emulator.background import BackgroundServer
from langchain_liaobots.wire.protocol import CHAT_PATH, RAW_CONTENT_TYPE

__all__ = [
    "BenchEmulator",
    "OpenAICompatServer",
    "Scenario",
    "answer_text",
    "main",
    "stamp",
]

_WORDS = "the quick brown fox jumps over the lazy dog and streams on "


@dataclass(frozen=True)
class Scenario:
    """How one server delivers its answer.

    Attributes:
        pieces: Pieces per answer.
        piece_bytes: Bytes per piece (ASCII, so also characters).
        pace: Seconds between pieces (0: as fast as the server can write).
        ttfb: Seconds from the request to the first byte of the response.
        stamped: Each piece is the server's ``time.monotonic()`` at send time,
            right-aligned in ``piece_bytes`` characters (for the latency figure).
    """

    pieces: int
    piece_bytes: int = 16
    pace: float = 0.0
    ttfb: float = 0.0
    stamped: bool = False


def answer_text(pieces: int, piece_bytes: int) -> str:
    """Return the deterministic ASCII answer of a scenario.

    Args:
        pieces: Number of pieces.
        piece_bytes: Bytes per piece.

    Returns:
        Exactly ``pieces * piece_bytes`` characters.
    """
    size = pieces * piece_bytes
    return (_WORDS * (size // len(_WORDS) + 1))[:size]


def stamp(piece_bytes: int) -> str:
    """Return the current monotonic time as one piece of a stamped answer.

    Args:
        piece_bytes: The width of a piece.

    Returns:
        ``time.monotonic()`` with microseconds, right-aligned to ``piece_bytes``.
    """
    return f"{time.monotonic():>{piece_bytes}.6f}"[-piece_bytes:]


class BenchEmulator(LiaobotsEmulator):
    """``LiaobotsEmulator`` with a time to first byte, stamps and a stream count.

    The emulator's own app serves every request; a middleware added to it (the
    only hook used, so the class follows the emulator as it evolves) sleeps
    ``ttfb`` before a chat request is handled and counts the chat streams held
    at once and the distinct client connections. In a ``stamped`` scenario the
    middleware answers chat requests itself with the emulator's loop (a piece
    every ``pace`` seconds, chunked), each piece made at send time.
    ``GET /bench/stats`` reports the counts; ``POST /bench/reset`` restarts them.
    """

    def __init__(self, scenario: Scenario) -> None:
        """Configure the emulator for a scenario.

        Args:
            scenario: The delivery to emulate.
        """
        text = answer_text(scenario.pieces, scenario.piece_bytes)
        super().__init__(
            responder=lambda _payload: text,
            pace=scenario.pace,
            piece_bytes=scenario.piece_bytes,
            answer_cap=False,  # the figures stream long answers on purpose
        )
        self.scenario = scenario
        self.active = 0
        self.peak = 0
        self.chats = 0
        self.peers: set[Any] = set()

    async def _bench(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.path != CHAT_PATH:
            return await handler(request)
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        self.chats += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.scenario.ttfb:
                await asyncio.sleep(self.scenario.ttfb)
            if not self.scenario.stamped:
                return await handler(request)
            await request.read()
            return await self._stamped(request)
        finally:
            self.active -= 1

    async def _stamped(self, request: web.Request) -> web.StreamResponse:
        """The emulator's streaming loop, with each piece made at send time."""
        resp = web.StreamResponse(headers={"content-type": RAW_CONTENT_TYPE})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        width = self.scenario.piece_bytes
        for i in range(self.scenario.pieces):
            if i and self.scenario.pace:
                await asyncio.sleep(self.scenario.pace)
            await resp.write(stamp(width).encode())
        await resp.write_eof()
        return resp

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "active": self.active,
                "peak": self.peak,
                "chats": self.chats,
                "connections": len(self.peers),
            }
        )

    async def _reset(self, _request: web.Request) -> web.Response:
        self.peak = self.active
        self.chats = 0
        self.peers.clear()
        self.requests.clear()
        return web.json_response({"ok": True})

    def _app(self) -> web.Application:
        app = super()._app()

        @web.middleware
        async def bench(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            return await self._bench(request, handler)

        app.middlewares.append(bench)
        app.router.add_get("/bench/stats", self._stats)
        app.router.add_post("/bench/reset", self._reset)
        return app


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _delta(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    if content == "":
        delta["role"] = "assistant"
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class OpenAICompatServer(BackgroundServer):
    """An OpenAI-compatible streaming chat endpoint on 127.0.0.1 (benchmark only).

    ``POST /v1/chat/completions`` answers every request with the scenario's
    text as ``chat.completion.chunk`` events, one event per piece, in the same
    rhythm as :class:`BenchEmulator`: a role event and the first piece after
    ``ttfb``, then one piece every ``pace`` seconds, then the finish event and
    ``data: [DONE]``.
    """

    def __init__(self, scenario: Scenario) -> None:
        """Configure the server for a scenario.

        Args:
            scenario: The delivery to emulate.
        """
        super().__init__()
        self.scenario = scenario
        text = answer_text(scenario.pieces, scenario.piece_bytes)
        step = scenario.piece_bytes
        self._events = [
            _event(_delta(text[i : i + step])) for i in range(0, len(text), step)
        ]
        self._head = _event(_delta(""))
        self._tail = _event(_delta(None, "stop")) + b"data: [DONE]\n\n"

    @property
    def openai_url(self) -> str:
        """The URL to pass as ``ChatOpenAI(base_url=...)`` (ends in ``/v1``)."""
        return self.base_url + "/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        sc = self.scenario
        if sc.ttfb:
            await asyncio.sleep(sc.ttfb)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(self._head)
        for i in range(sc.pieces):
            if i and sc.pace:
                await asyncio.sleep(sc.pace)
            if sc.stamped:
                await resp.write(_event(_delta(stamp(sc.piece_bytes))))
            else:
                await resp.write(self._events[i])
        await resp.write(self._tail)
        await resp.write_eof()
        return resp

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        return app


def main(argv: list[str] | None = None) -> None:
    """Serve the scenarios given as JSON until standard input closes.

    Args:
        argv: ``[json]`` where the JSON maps scenario names to
            :class:`Scenario` fields; defaults to ``sys.argv[1:]``.
    """
    args = sys.argv[1:] if argv is None else argv
    spec: dict[str, dict[str, Any]] = json.loads(args[0])
    emulators: list[BenchEmulator] = []
    compat: list[OpenAICompatServer] = []
    urls: dict[str, dict[str, str]] = {}
    for name, fields in spec.items():
        scenario = Scenario(**fields)
        emu = BenchEmulator(scenario).start()
        oai = OpenAICompatServer(scenario).start()
        emulators.append(emu)
        compat.append(oai)
        urls[name] = {"liaobots": emu.base_url, "openai": oai.openai_url}
    print(json.dumps(urls), flush=True)
    try:
        sys.stdin.read()
    finally:
        for server in (*emulators, *compat):
            server.stop()


if __name__ == "__main__":
    main()
