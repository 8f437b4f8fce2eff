"""A hostile server: memory stays bounded, every failure is typed, the code stays home.

The servers are `tests.helpers.hostile`'s raw-socket servers (no code shared
with the package), on 127.0.0.1. The memory of a call is measured in a
process of its own (`tests.helpers.memory_probe`, ``tracemalloc``), on the sync
and the async path: the bound is asserted, never a time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsError,
    LiaobotsResponseTooLargeError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire.exchange import JSON_BODY_LIMIT
from langchain_liaobots.wire.response import ANSWER_LIMIT
from tests.helpers.hostile import (
    HOSTILE_CHATS,
    HOSTILE_JSON,
    MIB,
    Answer,
    HostileServer,
    head,
    json_answer,
    repeat,
    text,
    warm,
)

ROOT = Path(__file__).resolve().parents[2]
PEAK_BOUND_MIB = 200
PATHS = ["sync", "async"]


def probe(path: str, call: str, answers: dict[str, Answer]) -> dict[str, Any]:
    """Each answer served by its own server; the calls made in a child process.

    Returns each case's result; checks first that the child's peak resident
    memory grew less than the bound over all the calls.
    """
    warm()
    with ExitStack() as stack:
        servers = {n: stack.enter_context(HostileServer(a)) for n, a in answers.items()}
        spec = {
            "path": path,
            "call": call,
            "cases": {n: s.base_url for n, s in servers.items()},
        }
        done = subprocess.run(
            [sys.executable, "-m", "tests.helpers.memory_probe"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["rss_grew_mib"] < PEAK_BOUND_MIB, report
    results: dict[str, Any] = report["cases"]
    return results


def _findings(results: dict[str, Any]) -> list[str]:
    """Every case that grew too much or raised something that is not typed."""
    return [
        f"{name}: {result}"
        for name, result in results.items()
        if result["grew_mib"] >= PEAK_BOUND_MIB
        or not (result.get("ok") or result["liaobots"])
    ]


@pytest.mark.parametrize("path", PATHS)
def test_a_hostile_chat_answer_grows_memory_little_and_fails_typed(path: str) -> None:
    results = probe(path, "chat", HOSTILE_CHATS)
    assert _findings(results) == []
    # The shapes that carry text end at max_tokens with a short answer.
    for name in (
        "gzip bomb, one chunk",
        "one 256 MiB chunk",
        "300 MiB, read until close",
    ):
        assert results[name]["ok"], results[name]
        assert 0 < results[name]["chars"] < 1000
    for name in ("SSE line that never ends", "SSE events without text"):
        assert results[name]["error"] == "LiaobotsResponseTooLargeError"
    assert results["SSE event nested 5000 deep"]["error"] == (
        "LiaobotsUnexpectedResponseError"
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("call", ["account", "models"])
def test_a_hostile_json_answer_grows_memory_little_and_fails_typed(
    path: str, call: str
) -> None:
    results = probe(path, call, HOSTILE_JSON)
    assert _findings(results) == []
    for name in ("gzip bomb", "300 MiB array"):
        assert results[name]["error"] == "LiaobotsResponseTooLargeError"
    assert "nested too deeply" in results["nested 5000 deep"]["message"]


def _invoke(model: ChatLiaobots, path: str) -> Any:
    if path == "async":
        return asyncio.run(model.ainvoke("hi"))
    return model.invoke("hi")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "answer",
    [
        lambda: [head("connection: close"), *text(300 * MIB)],
        lambda: [
            head("content-type: text/event-stream", "connection: close"),
            *repeat(b'data: {"content": "aaaa"}\n\n' * 1000, 300 * MIB),
        ],
    ],
    ids=["raw", "sse"],
)
def test_an_answer_above_the_limit_is_typed_and_keeps_its_text(
    path: str, answer: Answer
) -> None:
    with HostileServer(answer) as server:
        model = ChatLiaobots(base_url=server.base_url, auth="test-code", max_retries=0)
        with pytest.raises(LiaobotsResponseTooLargeError) as caught:
            _invoke(model, path)
    error = caught.value
    assert error.status_code == 200
    assert f"more than {ANSWER_LIMIT} bytes" in str(error)
    assert set(error.partial_text) == {"a"}
    # All the text up to the limit: the whole raw body, or the SSE events' text.
    assert ANSWER_LIMIT // 8 < len(error.partial_text) <= ANSWER_LIMIT
    assert not error.is_retryable


@pytest.mark.parametrize("path", PATHS)
def test_a_json_answer_above_its_limit_stops_there(path: str) -> None:
    body = b"[" + b'"a",' * (JSON_BODY_LIMIT // 4) + b'"a"]'
    with HostileServer(json_answer(body)) as server:
        model = ChatLiaobots(base_url=server.base_url, auth="test-code", max_retries=0)
        discover = (
            (lambda: asyncio.run(model.adiscover_models()))
            if path == "async"
            else model.discover_models
        )
        with pytest.raises(LiaobotsResponseTooLargeError, match="more than"):
            discover()


# -- the auth code -------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("given", ["  code-from-a-file\n", "\tcode-from-a-file\r\n"])
def test_an_auth_code_is_stripped_of_surrounding_whitespace(
    path: str, given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", given)
    ok: Answer = lambda: [head("content-length: 2"), b"ok"]  # noqa: E731
    with HostileServer(ok) as server:
        for model in (
            ChatLiaobots(base_url=server.base_url),
            ChatLiaobots(base_url=server.base_url, auth=given),
        ):
            assert _invoke(model, path).content == "ok"
    assert len(server.heads) == 2
    assert all(b"\r\nx-auth-code: code-from-a-file\r\n" in h for h in server.heads)


SECRET = "s3cret-code"


@pytest.mark.parametrize(
    "bad", [f"{SECRET}\nx", f"{SECRET}\x00", f"{SECRET}\x7f", f"{SECRET}é", "a\u2028b"]
)
def test_an_auth_code_that_cannot_be_a_header_is_refused_unrepeated(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"auth \(or LIAOBOTS_AUTH_CODE\) holds"):
        ChatLiaobots(auth=bad)


@pytest.mark.parametrize("bad", [f"{SECRET}\r\nx-evil: 1", f"\x1b[2J{SECRET}"])
def test_an_env_auth_code_that_cannot_be_a_header_is_refused_unrepeated(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", bad)
    with pytest.raises(
        ValidationError, match="a control character at position"
    ) as caught:
        ChatLiaobots()
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(caught.value)


@pytest.mark.parametrize("path", PATHS)
def test_an_acquired_code_that_cannot_be_a_header_is_a_typed_error(path: str) -> None:
    body = json.dumps({"authCode": f"{SECRET}\r\nx-evil: 1", "amount": 1}).encode()
    with HostileServer(json_answer(body)) as server:
        model = ChatLiaobots(
            base_url=server.base_url, acquire_auth_code=True, max_retries=0
        )
        with pytest.raises(LiaobotsUnexpectedResponseError) as caught:
            _invoke(model, path)
    assert "authCode that cannot be sent in a header" in str(caught.value)
    assert "a control character at position 12" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert isinstance(caught.value, LiaobotsError)
