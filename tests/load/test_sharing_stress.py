"""Stress: one model shared at once by threads, event loops and forked children.

Every answer must be the caller's own; once the model is closed, open file
descriptors and threads go back to their baseline. Bounded in count (8 sync
threads, 8 threads with loops of their own, 4 forked children, 20 calls each)
and in time (a guard on every join and wait).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator
from tests.load.test_load import _resources, _settle

CALLS = 20
GUARD = 120.0  # seconds: a hang guard, not a speed assertion


def _sync_caller(llm: ChatLiaobots, name: str, wrong: list[str]) -> None:
    for j in range(CALLS):
        prompt = f"{name} call {j}"
        try:
            answer = llm.invoke(prompt).content
        except Exception as exc:
            answer = repr(exc)
        if answer != f"You said: {prompt}":
            wrong.append(f"{prompt!r} -> {answer!r}")


def _loop_caller(llm: ChatLiaobots, name: str, wrong: list[str]) -> None:
    async def calls() -> None:
        for j in range(CALLS):
            prompt = f"{name} call {j}"
            try:
                answer = (await llm.ainvoke(prompt)).content
            except Exception as exc:
                answer = repr(exc)
            if answer != f"You said: {prompt}":
                wrong.append(f"{prompt!r} -> {answer!r}")

    asyncio.run(calls())


def _fork_child(llm: ChatLiaobots, n: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    wrong: list[str] = []  # the child: sync and async calls of its own
    _sync_caller(llm, f"child {n} sync", wrong)
    _loop_caller(llm, f"child {n} async", wrong)
    os._exit(1 if wrong else 0)


def test_one_model_shared_by_threads_loops_and_forks() -> None:
    with LiaobotsEmulator(piece_bytes=6) as server:
        baseline = _resources()
        llm = ChatLiaobots(
            base_url=server.base_url, auth="stress", timeout=30, max_retries=0
        )
        llm.invoke("open the pool before forking")
        wrong: list[str] = []
        workers: list[tuple[Callable[..., None], str]] = [
            (_sync_caller, f"thread {i}") for i in range(8)
        ] + [(_loop_caller, f"loop {i}") for i in range(8)]
        threads = [
            threading.Thread(target=fn, args=(llm, name, wrong)) for fn, name in workers
        ]
        for t in threads:
            t.start()
        children = [_fork_child(llm, n) for n in range(4)]
        for t in threads:
            t.join(timeout=GUARD)
        statuses = [os.waitpid(pid, 0)[1] for pid in children]
        llm.close()
        after = _settle(baseline)
    assert wrong == []
    assert not any(t.is_alive() for t in threads)
    assert statuses == [0] * 4
    assert server.answers_completed == 1 + 16 * CALLS + 4 * 2 * CALLS
    assert after[0] <= baseline[0], f"fds {baseline[0]} -> {after[0]}"
    assert after[1] <= baseline[1], f"threads {baseline[1]} -> {after[1]}"
