"""Pools belong to connections (issue 15, items 1-3), over real HTTP.

Each test reproduces what was seen before pools were keyed by connection:
one pool per auth code, never released; closed event loops kept alive; a
fixed pool of 256 connections. Real models, real event loops and threads,
the emulator on 127.0.0.1, and the state :data:`CLIENTS` holds counted.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from langchain_liaobots import ChatLiaobots, LiaobotsTimeoutError
from langchain_liaobots.emulator import LiaobotsEmulator, Stall
from langchain_liaobots.transport.clients import CLIENTS, IDLE_POOLS, Counts
from langchain_liaobots.wire.protocol import AUTH_HEADER, CHAT_PATH

ROOT = Path(__file__).resolve().parents[2]
MODELS = 1000
SLACK = 4
"""Descriptors a run may leave above its start (the last pool's connection)."""
SETTLE = 10.0  # seconds: a bound on waiting for closed sockets, not a speed


class CountingEmulator(LiaobotsEmulator):
    """The emulator, counting the chat streams it holds at once and its peers.

    With ``gate`` set, each chat request waits until that many are held at
    once (or ``SETTLE`` seconds pass), so "all open at once" is a count.
    """

    def __init__(self, *, gate: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.gate = gate
        self.active = 0
        self.peak = 0
        self.peers: set[object] = set()
        self._full: asyncio.Event | None = None

    def _app(self) -> web.Application:
        app = super()._app()

        @web.middleware
        async def count(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            if request.path != CHAT_PATH:
                return await handler(request)
            if request.transport is not None:
                self.peers.add(request.transport.get_extra_info("peername"))
            if self._full is None:
                self._full = asyncio.Event()
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                if self.gate:
                    if self.active >= self.gate:
                        self._full.set()
                    await asyncio.wait_for(self._full.wait(), SETTLE)
                return await handler(request)
            finally:
                self.active -= 1

        app.middlewares.append(count)
        return app


@pytest.fixture
def server() -> Iterator[CountingEmulator]:
    # The log keeps every request of a test: MODELS of them, and the warm-up.
    with CountingEmulator(piece_bytes=8, request_log_size=2 * MODELS) as emulator:
        yield emulator


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # closed meanwhile
            continue
    return count


def _settled(start: int, measure: Callable[[], int]) -> int:
    """The measure once back within SLACK of ``start`` (or SETTLE passes)."""
    deadline = time.monotonic() + SETTLE
    now = measure()
    while now > start + SLACK and time.monotonic() < deadline:
        time.sleep(0.05)
        now = measure()
    return now


def _counts() -> Counts:
    gc.collect()
    return CLIENTS.counts()


def _assert_back(start: tuple[int, int, Counts]) -> None:
    fds, sockets, counts = start
    assert _settled(fds, _fds) <= fds + SLACK
    assert _settled(sockets, _sockets) <= sockets + SLACK
    now = _counts()
    assert now.pools <= counts.pools + 1
    assert now.idle_pools <= IDLE_POOLS
    assert now.credentials <= counts.credentials + 1
    assert now.models <= counts.models + 1


def _start() -> tuple[int, int, Counts]:
    counts = _counts()
    return _fds(), _sockets(), counts


def test_dropped_models_with_their_own_codes_share_one_pool(
    server: CountingEmulator,
) -> None:
    ChatLiaobots(base_url=server.base_url, auth="warm").invoke("warm")
    start = _start()
    for i in range(MODELS):
        llm = ChatLiaobots(base_url=server.base_url, auth=f"tenant-{i}")
        assert llm.invoke(f"hi {i}").content == f"You said: hi {i}"
    del llm
    _assert_back(start)
    codes = [r.headers[AUTH_HEADER] for r in server.requests[1:]]
    assert codes == [f"tenant-{i}" for i in range(MODELS)]
    assert len(server.peers) <= 2  # the connection outlived its models


def test_dropped_models_share_one_pool_inside_one_loop(
    server: CountingEmulator,
) -> None:
    async def calls() -> None:
        await ChatLiaobots(base_url=server.base_url, auth="warm").ainvoke("warm")
        start = _start()
        for i in range(MODELS):
            llm = ChatLiaobots(base_url=server.base_url, auth=f"tenant-{i}")
            assert (await llm.ainvoke(f"hi {i}")).content == f"You said: hi {i}"
        del llm
        _assert_back(start)

    asyncio.run(calls())
    codes = [r.headers[AUTH_HEADER] for r in server.requests[1:]]
    assert codes == [f"tenant-{i}" for i in range(MODELS)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_copies_send_their_own_settings_over_one_pool(
    server: CountingEmulator, mode: str
) -> None:
    base = ChatLiaobots(base_url=server.base_url, auth="base", timeout=60)

    async def run_async(copies: list[ChatLiaobots]) -> list[object]:
        return [(await c.ainvoke(f"copy {i}")).content for i, c in enumerate(copies)]

    base.invoke("warm")
    start = _start()
    copies = [
        base.model_copy(
            update={
                "auth": SecretStr(f"code-{i}"),
                "default_headers": {"x-tenant": f"t{i}"},
                "timeout": 30.0 + i,
            }
        )
        for i in range(50)
    ]
    if mode == "sync":
        answers = [c.invoke(f"copy {i}").content for i, c in enumerate(copies)]
    else:
        answers = asyncio.run(run_async(copies))
    assert answers == [f"You said: copy {i}" for i in range(50)]
    chats = [r for r in server.requests if r.path == CHAT_PATH][1:]
    assert [(r.headers[AUTH_HEADER], r.headers["x-tenant"]) for r in chats] == [
        (f"code-{i}", f"t{i}") for i in range(50)
    ]
    counts = _counts()
    assert counts.pools == start[2].pools  # no pool per header set or timeout
    assert counts.credentials == start[2].credentials + 50  # one per live code

    # The pool is shared, yet each copy waits its own timeout: with the
    # original's 60 s the 30 s stall would end in an answer, not an error.
    hasty = base.model_copy(update={"timeout": 1.0})
    server.script(Stall(after=None, seconds=30))
    call = hasty.invoke if mode == "sync" else lambda x: asyncio.run(hasty.ainvoke(x))
    with pytest.raises(LiaobotsTimeoutError):
        call("x")
    assert base.invoke("still here").content == "You said: still here"
    assert "x-tenant" not in server.requests[-1].headers


def test_closed_loops_are_not_kept_alive(server: CountingEmulator) -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def call(i: int) -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        llm = ChatLiaobots(base_url=server.base_url, auth=f"loop-{i}")
        assert (await llm.ainvoke(f"x{i}")).content == f"You said: x{i}"

    for i in range(30):
        asyncio.run(call(i))
    for i in range(30, 40):  # closed without shutdown_asyncgens()
        loop = asyncio.new_event_loop()
        loop.run_until_complete(call(i))
        loop.close()
    del loop
    gc.collect()
    assert sum(ref() is not None for ref in loops) <= 2
    assert _counts().loop_sessions <= 1


SCRIPT = """
import asyncio, gc, threading
from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator

with LiaobotsEmulator() as server:
    kept = ChatLiaobots(base_url=server.base_url, auth="kept")

    async def call(llm, prompt):
        assert (await llm.ainvoke(prompt)).content == "You said: " + prompt

    for i in range(5):  # asyncio.run, repeated; models dropped and kept
        asyncio.run(call(ChatLiaobots(base_url=server.base_url, auth=f"r{i}"), "r"))
        asyncio.run(call(kept, "k"))
    for i in range(5):  # loops closed without shutdown_asyncgens()
        loop = asyncio.new_event_loop()
        loop.run_until_complete(call(kept, "c"))
        loop.run_until_complete(
            call(ChatLiaobots(base_url=server.base_url, auth=f"c{i}"), "c")
        )
        loop.close()
        gc.collect()

    def thread(n):  # threads with loops of their own, both ways
        asyncio.run(call(kept, f"t{n}"))
        loop = asyncio.new_event_loop()
        loop.run_until_complete(call(kept, f"u{n}"))
        loop.close()

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    kept.invoke("sync too")
    del kept
    gc.collect()
print("ok")
"""


def test_no_resource_warning_for_any_loop_pattern() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert "ResourceWarning" not in proc.stderr, proc.stderr
    assert "Unclosed" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_max_connections_is_honoured(mode: str) -> None:
    with CountingEmulator(piece_bytes=4, pace=0.01) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="x", max_connections=2)
        prompts = [f"call {i} of many" for i in range(8)]
        if mode == "async":

            async def run() -> list[object]:
                got = await asyncio.gather(*(llm.ainvoke(p) for p in prompts))
                return [m.content for m in got]

            answers = asyncio.run(run())
        else:
            results: dict[int, object] = {}

            def call(i: int) -> None:
                results[i] = llm.invoke(prompts[i]).content

            threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            answers = [results.get(i) for i in range(8)]
        assert answers == [f"You said: {p}" for p in prompts]
        assert server.peak <= 2
        assert len(server.peers) <= 2


def test_the_default_pool_runs_300_streams_at_once() -> None:
    streams = 300
    with CountingEmulator(piece_bytes=8, gate=streams) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="x", max_retries=0)

        async def run() -> list[str]:
            async def one(i: int) -> str:
                return "".join([str(c.content) async for c in llm.astream(f"s{i}")])

            return await asyncio.gather(*(one(i) for i in range(streams)))

        answers = asyncio.run(run())
        assert answers == [f"You said: s{i}" for i in range(streams)]
        assert server.peak == streams


def test_pools_no_model_uses_are_closed_past_the_idle_cap(
    server: CountingEmulator,
) -> None:
    start = _start()
    for size in range(1, 3 * IDLE_POOLS + 1):  # a pool of its own each
        llm = ChatLiaobots(base_url=server.base_url, auth="x", max_connections=size)
        assert llm.invoke(f"size {size}").content == f"You said: size {size}"
    del llm
    now = _counts()
    assert now.pools == start[2].pools
    assert now.idle_pools <= IDLE_POOLS
    fds, sockets, _ = start
    # Two sockets (both ends) per idle pool's connection at most.
    assert (
        _settled(sockets + 2 * IDLE_POOLS, _sockets) <= sockets + 2 * IDLE_POOLS + SLACK
    )
    assert _settled(fds + 2 * IDLE_POOLS, _fds) <= fds + 2 * IDLE_POOLS + SLACK
