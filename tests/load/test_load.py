"""Load: 2,000 requests at concurrency 64 against the local server, sync and async.

Zero errors, every answer exact, and open file descriptors and threads back to
their baseline once the model is closed. Bounded in count (2,000 each way) and
in time: every request has a timeout, and a generous guard turns a hang into a
failure. The figures are printed (``pytest -s tests/load``).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator

REQUESTS = 2_000
CONCURRENCY = 64
GUARD = 300.0  # seconds: a hang guard, not a speed assertion
SETTLE = 10.0  # seconds allowed for closed sockets and ended threads to go


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _resources() -> tuple[int, int]:
    return _fds(), threading.active_count()


def _settle(baseline: tuple[int, int]) -> tuple[int, int]:
    """Wait until fds and threads are back to the baseline (or SETTLE passes)."""
    deadline = time.monotonic() + SETTLE
    now = _resources()
    while (now[0] > baseline[0] or now[1] > baseline[1]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
        now = _resources()
    return now


@pytest.fixture(scope="module")
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=8) as emulator:
        yield emulator


def _inputs() -> tuple[list[str], list[str]]:
    prompts = [f"request {i} — 你好 {i * 7919}" for i in range(REQUESTS)]
    return prompts, [f"You said: {p}" for p in prompts]


def _model(server: LiaobotsEmulator) -> ChatLiaobots:
    return ChatLiaobots(
        base_url=server.base_url, auth="load-code", timeout=30, max_retries=0
    )


def _report(
    label: str, wall: float, before: tuple[int, int], after: tuple[int, int]
) -> None:
    print(
        f"\n{label}: {REQUESTS} requests at concurrency {CONCURRENCY} in {wall:.2f} s "
        f"({REQUESTS / wall:.0f}/s); fds {before[0]} -> {after[0]}, "
        f"threads {before[1]} -> {after[1]}"
    )


def test_sync_batch(server: LiaobotsEmulator) -> None:
    prompts, expected = _inputs()
    before_requests = server.requests_received
    with ThreadPoolExecutor(max_workers=1) as guard:
        baseline = _resources()
        llm = _model(server)
        start = time.monotonic()
        future = guard.submit(
            llm.batch,
            prompts,
            config={"max_concurrency": CONCURRENCY},
            return_exceptions=True,
        )
        answers = future.result(timeout=GUARD)
        wall = time.monotonic() - start
        llm.close()
    after = _settle(baseline)
    errors = [a for a in answers if isinstance(a, Exception)]
    assert errors == []
    assert [a.content for a in answers] == expected
    assert server.requests_received - before_requests == REQUESTS
    _report("sync batch", wall, baseline, after)
    assert after[0] <= baseline[0]
    assert after[1] <= baseline[1]


def test_async_abatch(server: LiaobotsEmulator) -> None:
    prompts, expected = _inputs()
    before_requests = server.requests_received

    async def run(llm: ChatLiaobots) -> tuple[list[object], float]:
        start = time.monotonic()
        answers = await asyncio.wait_for(
            llm.abatch(
                prompts,
                config={"max_concurrency": CONCURRENCY},
                return_exceptions=True,
            ),
            GUARD,
        )
        wall = time.monotonic() - start
        await llm.aclose()
        return answers, wall

    baseline = _resources()
    # In a loop of its own: "afterwards" includes the loop's executor threads.
    answers, wall = asyncio.run(run(_model(server)))
    after = _settle(baseline)
    errors = [a for a in answers if isinstance(a, Exception)]
    assert errors == []
    assert [getattr(a, "content", None) for a in answers] == expected
    assert server.requests_received - before_requests == REQUESTS
    _report("async abatch", wall, baseline, after)
    assert after[0] <= baseline[0]
    assert after[1] <= baseline[1]
