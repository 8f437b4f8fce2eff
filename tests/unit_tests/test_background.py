"""emulator.background: a client that does not finish its request is dropped.

Raw sockets send half a request; the server must close the connection within
its timeout (asserted with a generous margin, ``SLACK``), keep serving others
meanwhile, and finish answers that take longer than the timeouts. A child
process with few file descriptors shows the server logging their exhaustion
once and serving again when they are back.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from langchain_liaobots.emulator import Answer, LiaobotsEmulator

TIMEOUT = 1.0  # the server's head and body timeouts in these tests
SLACK = 5.0  # seconds allowed beyond a timeout before the test fails
ROOT = Path(__file__).resolve().parents[2]
CHAT_BODY = json.dumps(
    {
        "conversationId": "c1",
        "model": {"id": "gpt-4", "name": "GPT-4", "maxLength": 24000, "tokenLimit": 0},
        "messages": [{"role": "user", "content": "hi"}],
        "key": "",
        "prompt": "",
    }
).encode()
HEAD = (
    b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nx-auth-code: k\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(CHAT_BODY)
)


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(head_timeout=TIMEOUT, body_timeout=TIMEOUT) as emulator:
        yield emulator


def _connect(server: LiaobotsEmulator) -> socket.socket:
    port = int(server.base_url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT + SLACK)


def _closed_by_server(sock: socket.socket) -> bytes:
    """Read until the server closes the connection; what it sent before.

    Raises:
        AssertionError: If the server still holds it after the timeout + SLACK.
    """
    received = b""
    deadline = time.monotonic() + TIMEOUT + SLACK
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            break
        if not data:
            return received
        received += data
    raise AssertionError(f"still open after {TIMEOUT + SLACK} s")


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.1)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    finally:
        sock.settimeout(TIMEOUT + SLACK)


@pytest.mark.parametrize(
    "sent",
    [b"", HEAD[:40], HEAD + CHAT_BODY[: len(CHAT_BODY) // 2]],
    ids=["nothing", "half the head", "the head and half the body"],
)
def test_a_half_sent_request_is_dropped_and_others_are_served(
    server: LiaobotsEmulator, sent: bytes
) -> None:
    with _connect(server) as sock:
        sock.sendall(sent)
        assert _still_open(sock)
        answer = requests.post(
            server.base_url + "/api/chat",
            data=CHAT_BODY,
            headers={"x-auth-code": "k"},
            timeout=TIMEOUT + SLACK,
        )
        assert answer.text == "You said: hi"  # served while the other waits
        assert _closed_by_server(sock) == b""  # dropped, nothing answered


def test_an_idle_kept_alive_connection_is_closed_after_its_answer(
    server: LiaobotsEmulator,
) -> None:
    with _connect(server) as sock:
        sock.sendall(HEAD + CHAT_BODY)
        received = _closed_by_server(sock)
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert b"You said: hi" in received


def test_a_slow_answer_and_a_body_in_parts_are_not_cut(
    server: LiaobotsEmulator,
) -> None:
    server.script(Answer(pace=TIMEOUT * 0.75, piece_bytes=4))  # 3 pieces, 1.5 s
    with _connect(server) as sock:
        sock.sendall(HEAD + CHAT_BODY[:10])
        time.sleep(TIMEOUT / 4)  # a body in two parts, within its timeout
        sock.sendall(CHAT_BODY[10:])
        received = _closed_by_server(sock)
    assert received.endswith(b"0\r\n\r\n")  # the whole chunked answer
    assert server.answers_completed == 1


def test_a_tls_connection_that_never_shakes_hands_is_dropped(
    tls_context: ssl.SSLContext,
) -> None:
    with (
        LiaobotsEmulator(ssl_context=tls_context, head_timeout=TIMEOUT) as server,
        _connect(server) as sock,
    ):
        assert _closed_by_server(sock) == b""


@pytest.mark.parametrize(
    ("name", "value"), [("head_timeout", 0), ("body_timeout", float("inf"))]
)
def test_timeouts_must_be_finite_and_positive(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{name} must be more than 0 seconds"):
        LiaobotsEmulator(**{name: value})


CHILD = """
import resource, sys, threading
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from langchain_liaobots.emulator import LiaobotsEmulator
server = LiaobotsEmulator(head_timeout=float(sys.argv[1])).start()
print(server.base_url, flush=True)
threading.Event().wait(float(sys.argv[2]))
"""


def test_out_of_descriptors_it_logs_once_and_serves_again() -> None:
    lifetime = 60.0  # the child's bound: it exits by itself after this
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(TIMEOUT), str(lifetime)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        port = int(base_url.rsplit(":", 1)[1])
        hogs = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
        try:
            for hog in hogs:
                hog.sendall(HEAD[:40])
            answer = requests.post(
                base_url + "/api/chat",
                data=CHAT_BODY,
                headers={"x-auth-code": "k"},
                timeout=TIMEOUT + 2 * SLACK,
            )
            assert answer.text == "You said: hi"
        finally:
            for hog in hogs:
                hog.close()
    finally:
        child.kill()
        _, stderr = child.communicate(timeout=SLACK)
    lines = stderr.splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert "Too many open files" in lines[0]
    assert "logged once" in lines[0]
