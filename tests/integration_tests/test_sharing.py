"""One model shared as real programs share it: copies, forks, threads, loops.

Each test reproduces a defect seen before the exchange and its client owner
existed (issue 9, items 1-5), with real threads, real ``os.fork``, real event
loops and the emulator over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.runnables import ConfigurableField
from pydantic import SecretStr

from langchain_liaobots import ChatLiaobots, LiaobotsAPIError, LiaobotsTimeoutError
from langchain_liaobots.emulator import LiaobotsEmulator, Stall, Status
from langchain_liaobots.wire.protocol import AUTH_HEADER, CHAT_PATH, USER_PATH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=4, auth_codes={"OLD", "NEW"}) as emulator:
        yield emulator


def _codes(server: LiaobotsEmulator) -> list[str]:
    return [r.headers.get(AUTH_HEADER, "") for r in server.requests]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_model_copy_sends_its_own_auth_code(server: LiaobotsEmulator) -> None:
    old = ChatLiaobots(base_url=server.base_url, auth="OLD")
    assert old.invoke("a").content == "You said: a"
    new = old.model_copy(update={"auth": SecretStr("NEW")})
    assert new.invoke("b").content == "You said: b"
    assert old.invoke("c").content == "You said: c"
    assert _codes(server) == ["OLD", "NEW", "OLD"]


def test_configurable_auth_code_is_the_callers(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="OLD").configurable_fields(
        auth=ConfigurableField(id="auth")
    )
    llm.invoke("a")
    llm.invoke("b", config={"configurable": {"auth": SecretStr("NEW")}})
    assert _codes(server) == ["OLD", "NEW"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_model_copy_waits_its_own_timeout(server: LiaobotsEmulator, mode: str) -> None:
    patient = ChatLiaobots(base_url=server.base_url, auth="OLD", timeout=60)
    patient.invoke("warm the pool")
    hasty = patient.model_copy(update={"timeout": 1.0})
    server.script(Stall(after=None, seconds=30))
    call = hasty.invoke if mode == "sync" else lambda x: asyncio.run(hasty.ainvoke(x))
    started = time.monotonic()
    with pytest.raises(LiaobotsTimeoutError):
        call("x")
    # The copy's 1 s, not the original's 60 s (nor the 30 s stall).
    assert time.monotonic() - started < 20


def test_forked_children_get_their_own_connections(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="OLD", max_retries=0)
    assert llm.invoke("parent").content == "You said: parent"  # pool opened
    children = []
    for i in range(6):
        pid = os.fork()
        if pid == 0:  # the child: 5 calls, each answer must be its own
            ok = all(
                llm.invoke(f"child {i} call {j}").content
                == f"You said: child {i} call {j}"
                for j in range(5)
            )
            os._exit(0 if ok else 1)
        children.append(pid)
    parent_ok = all(
        llm.invoke(f"parent {j}").content == f"You said: parent {j}" for j in range(5)
    )
    codes = [os.waitpid(pid, 0)[1] for pid in children]
    assert parent_ok
    assert codes == [0] * 6
    chats = [r for r in server.requests if r.path == CHAT_PATH]
    assert len(chats) == 1 + 6 * 5 + 5
    assert all(r.payload is not None for r in chats)  # no request spliced


def test_threads_each_running_their_own_loop(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="OLD", max_retries=0)
    errors: list[BaseException] = []
    wrong: list[str] = []

    def worker(n: int) -> None:
        for j in range(30):
            prompt = f"thread {n} call {j}"
            try:
                answer = asyncio.run(llm.ainvoke(prompt)).content
            except BaseException as exc:
                errors.append(exc)
                return
            if answer != f"You said: {prompt}":
                wrong.append(str(answer))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert wrong == []
    assert server.answers_completed == 16 * 30


def _start_together(
    llm: ChatLiaobots, barrier: threading.Barrier, use_async: bool
) -> object:
    barrier.wait(timeout=10)
    try:
        if use_async:
            return asyncio.run(llm.ainvoke("hi")).content
        return llm.invoke("hi").content
    except LiaobotsAPIError as exc:
        return exc


def _race(llm: ChatLiaobots) -> list[object]:
    barrier = threading.Barrier(4)
    results: list[object] = [None] * 4

    def run(i: int) -> None:
        results[i] = _start_together(llm, barrier, use_async=i >= 2)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_auth_acquisition_is_one_flight_for_threads_and_loops() -> None:
    account = {"authCode": "shared-code-1", "balance": 1}
    with LiaobotsEmulator() as server:
        server.script(
            Status(
                status=200,
                body=json.dumps(account),
                content_type="application/json",
                delay=0.5,
                path=USER_PATH,
            )
        )
        llm = ChatLiaobots(base_url=server.base_url, auth=None, acquire_auth_code=True)
        assert _race(llm) == ["You said: hi"] * 4
        paths = [r.path for r in server.requests]
        assert paths.count(USER_PATH) == 1
        assert {r.headers[AUTH_HEADER] for r in server.requests[1:]} == {
            "shared-code-1"
        }


def test_a_failed_flight_is_every_waiters_error() -> None:
    with LiaobotsEmulator() as server:
        server.script(Status(status=500, body="Error", delay=0.5, path=USER_PATH))
        llm = ChatLiaobots(
            base_url=server.base_url,
            auth=None,
            acquire_auth_code=True,
            max_retries=0,
        )
        results = _race(llm)
        assert all(isinstance(r, LiaobotsAPIError) for r in results), results
        assert {str(r) for r in results} == {str(results[0])}
        assert [r.path for r in server.requests] == [USER_PATH]


def test_a_closed_loops_session_is_reclaimed(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="OLD")
    llm.invoke("open the sync pool first")
    before = _fds()
    for i in range(3):
        loop = asyncio.new_event_loop()
        assert (
            loop.run_until_complete(llm.ainvoke(f"x{i}")).content == f"You said: x{i}"
        )
        loop.close()  # without shutdown_asyncgens()
    llm.close()
    assert _fds() <= before


SCRIPT = """
import asyncio, sys
from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator

with LiaobotsEmulator() as server:
    llm = ChatLiaobots(base_url=server.base_url, auth="x")
    loop = asyncio.new_event_loop()
    print(loop.run_until_complete(llm.ainvoke("bye")).content)
    loop.close()  # without shutdown_asyncgens()
"""


def test_no_unclosed_session_at_exit() -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "You said: bye"
    assert "Unclosed" not in proc.stderr, proc.stderr
