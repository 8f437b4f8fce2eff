"""emulator.server: the service's rules it keeps, and the bounds it holds.

Raw requests (``requests.post`` with a JSON body) show what the server does
with a conversation the client would refuse to send; ``ChatLiaobots`` shows the
same on the sync and async paths. The expected counts are cl100k_base's:
``"hello world"`` is 2 tokens (tests/unit_tests/test_tokens.py).
"""

from __future__ import annotations

import gc
import json
import re
import socket
import subprocess
import sys
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from langchain_core.messages import AIMessage, HumanMessage

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import (
    UPSTREAM_MESSAGES,
    Answer,
    LiaobotsEmulator,
    UpstreamError,
)
from langchain_liaobots.errors import (
    LiaobotsContextOverflowError,
    LiaobotsHistoryDroppedWarning,
    LiaobotsOutOfCreditError,
    LiaobotsRateLimitError,
    LiaobotsUpstreamKeyError,
)
from langchain_liaobots.tokens import TOKENIZER
from langchain_liaobots.wire.budget import ANSWER_TOKENS, CAP_SLACK
from langchain_liaobots.wire.protocol import (
    CHAT_PATH,
    DEFAULT_PROMPT,
    LOGIN_PATH,
    USER_PATH,
)

HELLO = "hello world"  # 2 tokens
TIMEOUT = 10  # seconds: every request's bound, not a speed
ROOT = Path(__file__).resolve().parents[2]


def _payload(
    messages: list[dict[str, str]], *, token_limit: int, prompt: str = HELLO
) -> dict[str, Any]:
    return {
        "conversationId": str(uuid.uuid4()),
        "model": {
            "id": "gpt-4",
            "name": "GPT-4",
            "maxLength": 24000,
            "tokenLimit": token_limit,
        },
        "messages": messages,
        "key": "",
        "prompt": prompt,
    }


def _post(
    server: LiaobotsEmulator, body: dict[str, Any] | bytes, path: str = CHAT_PATH
) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        server.base_url + path,
        data=data,
        headers={"x-auth-code": "k", "content-type": "application/json"},
        timeout=TIMEOUT,
    )


def _history(n: int) -> list[dict[str, str]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": HELLO}
        for i in range(n)
    ]


class Recorder:
    """A responder that keeps the messages it was shown."""

    def __init__(self, answer: str = "ok") -> None:
        self.seen: list[list[dict[str, str]]] = []
        self.answer = answer

    def __call__(self, payload: dict[str, Any]) -> str:
        self.seen.append(list(payload["messages"]))
        return self.answer


# -- the history rule ------------------------------------------------------------


def test_the_responder_sees_only_the_messages_the_service_keeps() -> None:
    recorder = Recorder()
    history = _history(5)
    # The prompt (2) and three messages (2 each) fit 1,008 less 1,000; a fourth not.
    with LiaobotsEmulator(responder=recorder) as server:
        assert _post(server, _payload(history, token_limit=1008)).text == "ok"
    assert recorder.seen == [history[2:]]
    (received,) = server.requests
    assert received.payload is not None
    assert received.payload["messages"] == history  # logged whole, as received
    assert received.dropped == 2
    assert received.kept_messages == history[2:]


def test_an_empty_prompt_counts_as_the_default_one() -> None:
    recorder = Recorder()
    default = TOKENIZER.count(DEFAULT_PROMPT)
    limit = 1000 + default + 2 * 2  # room for two messages after the default prompt
    with LiaobotsEmulator(responder=recorder) as server:
        _post(server, _payload(_history(3), token_limit=limit, prompt=""))
    assert server.requests[-1].dropped == 1
    assert recorder.seen == [_history(3)[1:]]


def test_a_message_over_the_whole_budget_leaves_the_prompt_alone() -> None:
    recorder = Recorder()
    huge = {"role": "user", "content": "word " * 20_000}  # far over 8,000 tokens
    with LiaobotsEmulator(responder=recorder) as server:
        _post(server, _payload([*_history(2), huge], token_limit=8000))
    assert server.requests[-1].dropped == 3
    assert recorder.seen == [[]]


@pytest.mark.parametrize(
    ("kwargs", "token_limit"),
    [({"trim_history": False}, 1008), ({}, 0)],
    ids=["switched off", "unknown tokenLimit"],
)
def test_every_message_is_shown_when_the_rule_is_off_or_the_limit_unknown(
    kwargs: dict[str, Any], token_limit: int
) -> None:
    recorder = Recorder()
    with LiaobotsEmulator(responder=recorder, **kwargs) as server:
        _post(server, _payload(_history(5), token_limit=token_limit))
    assert recorder.seen == [_history(5)]
    assert server.requests[-1].dropped == 0


def test_a_2025_body_carries_no_limit_and_keeps_everything() -> None:
    recorder = Recorder()
    body = _payload(_history(5), token_limit=1008)
    del body["model"]
    body.update(models=[{"modelId": "gpt-4", "provider": "OpenAI"}], search="false")
    with LiaobotsEmulator(responder=recorder) as server:
        assert _post(server, body).status_code == 200
    assert recorder.seen == [_history(5)]


def test_an_imperfect_model_sees_the_kept_messages_too() -> None:
    recorder = Recorder()
    with LiaobotsEmulator(responder=recorder, mistakes="all") as server:
        _post(server, _payload(_history(5), token_limit=1008))
    assert recorder.seen == [_history(5)[2:]]


def test_what_the_client_drops_is_what_the_emulator_would_drop() -> None:
    history = [HumanMessage("old " * 3000), AIMessage("noted"), HumanMessage("hi")]
    with LiaobotsEmulator() as server:
        strict = ChatLiaobots(base_url=server.base_url, auth="k", model="gpt-3.5-turbo")
        with pytest.raises(LiaobotsContextOverflowError):
            strict.invoke(history)
        assert server.requests == []  # refused before sending
        dropping = ChatLiaobots(
            base_url=server.base_url,
            auth="k",
            model="gpt-3.5-turbo",
            context_overflow="drop_oldest",
        )
        with pytest.warns(LiaobotsHistoryDroppedWarning):
            assert dropping.invoke(history).content == "You said: hi"
        sent = server.requests[-1]
        assert sent.payload is not None
        assert len(sent.payload["messages"]) == 2  # the client dropped the oldest
        assert sent.dropped == 0  # and the emulator, by the same rule, nothing more


# -- the answer cap --------------------------------------------------------------

LONG = "The answer goes on, sentence after sentence, 你好. " * 300  # > 3,000 tokens


def _capped(text: str) -> bool:
    return (
        LONG.startswith(text)
        and ANSWER_TOKENS - CAP_SLACK <= TOKENIZER.count(text) <= ANSWER_TOKENS
    )


def test_an_answer_stops_at_1000_tokens_without_a_marker() -> None:
    with LiaobotsEmulator(responder=lambda _p: LONG) as server:
        text = _post(server, _payload(_history(1), token_limit=8000)).text
        assert _capped(text)
        server.script(Answer(text=LONG), Answer(text=LONG, framing="sse"))
        assert _capped(_post(server, _payload(_history(1), token_limit=8000)).text)
        sse = _post(server, _payload(_history(1), token_limit=8000)).content.decode()
    events = [json.loads(line[6:]) for line in sse.splitlines() if line]
    assert _capped("".join(e.get("content", "") for e in events))


def test_without_the_cap_the_answer_is_sent_whole() -> None:
    with LiaobotsEmulator(responder=lambda _p: LONG, answer_cap=False) as server:
        assert _post(server, _payload(_history(1), token_limit=8000)).text == LONG


def test_raw_bytes_are_sent_as_scripted() -> None:
    data = LONG.encode() * 2
    with LiaobotsEmulator() as server:
        server.script(Answer(data=data, piece_bytes=4096))
        assert _post(server, _payload(_history(1), token_limit=8000)).content == data


async def test_the_client_reads_a_capped_answer_as_cut_sync_and_async() -> None:
    with LiaobotsEmulator(responder=lambda _p: LONG) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k")
        sync = llm.invoke("go on")
        chunks = [c async for c in llm.astream("go on")]
        asynced = await llm.ainvoke("go on")
    for message in (sync, asynced):
        assert _capped(message.text)
        assert message.response_metadata["finish_reason"] == "length"
    assert _capped("".join(c.text for c in chunks))
    assert chunks[-1].response_metadata["finish_reason"] == "length"


# -- upstream errors -------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(UPSTREAM_MESSAGES))
def test_an_upstream_error_is_500_error_with_the_message_as_reason(kind: str) -> None:
    message = UPSTREAM_MESSAGES[kind]
    with LiaobotsEmulator() as server:
        server.script(UpstreamError(message=message))
        resp = _post(server, _payload(_history(1), token_limit=8000))
    assert (resp.status_code, resp.reason, resp.text) == (500, message, "Error")


def test_a_long_reason_phrase_travels_whole() -> None:
    message = "Upstream said: " + "x" * 2000
    with LiaobotsEmulator() as server:
        server.script(UpstreamError(message=message, path=USER_PATH))
        resp = _post(server, {"authcode": ""}, path=USER_PATH)
    assert (resp.status_code, resp.reason) == (500, message)


@pytest.mark.parametrize("message", ["", "two\r\nlines", "bell\x07", "café"])
def test_a_message_that_cannot_be_a_reason_phrase_is_refused(message: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        UpstreamError(message=message)


@pytest.mark.parametrize(
    ("kind", "error", "requests_sent"),
    [
        ("context", LiaobotsContextOverflowError, 1),
        ("quota", LiaobotsOutOfCreditError, 1),
        ("key", LiaobotsUpstreamKeyError, 1),
        ("rate-limit", LiaobotsRateLimitError, 2),
    ],
)
@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_the_client_names_each_upstream_error(
    kind: str, error: type[Exception], requests_sent: int, mode: str
) -> None:
    message = UPSTREAM_MESSAGES[kind]
    with LiaobotsEmulator() as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k", max_retries=1)
        server.script(*[UpstreamError(message=message)] * 2)
        call = llm.ainvoke("hi") if mode == "ainvoke" else None
        with pytest.raises(error) as caught:
            await call if call is not None else llm.invoke("hi")
        assert len(server.requests) == requests_sent  # re-sent only when it may pass
    assert message in str(caught.value)


# -- bounds ----------------------------------------------------------------------


def test_the_request_log_keeps_the_newest_within_its_bounds() -> None:
    with LiaobotsEmulator(request_log_size=3) as server:
        for i in range(5):
            _post(
                server, _payload([{"role": "user", "content": f"m{i}"}], token_limit=0)
            )
    assert server.requests_received == 5
    assert [r.kept_messages[0]["content"] for r in server.requests] == [
        "m2",
        "m3",
        "m4",
    ]
    with LiaobotsEmulator(request_log_bytes=1000) as server:
        for size in (150, 150, 150, 150):
            _post(
                server,
                _payload([{"role": "user", "content": "x" * size}], token_limit=0),
            )
        assert sum(r.size for r in server.requests) <= 1000
        assert len(server.requests) == 2
        _post(
            server, _payload([{"role": "user", "content": "y" * 5000}], token_limit=0)
        )
        (newest,) = server.requests  # the newest is kept, whatever its size
        assert newest.size > 5000


@pytest.mark.parametrize(
    "kwargs",
    [{"request_log_size": 0}, {"request_log_bytes": -1}, {"max_minted": True}],
)
def test_bounds_below_one_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be a whole number of 1 or more"):
        LiaobotsEmulator(**kwargs)


def test_memory_stays_flat_under_300_large_requests() -> None:
    history = [
        {"role": "user", "content": f"message {i}: " + "lorem ipsum dolor " * 55}
        for i in range(900)
    ]
    body = json.dumps(_payload(history, token_limit=8000)).encode()
    assert 850_000 < len(body) < 1_000_000
    with LiaobotsEmulator() as server, requests.Session() as session:

        def send() -> None:
            resp = session.post(
                server.base_url + CHAT_PATH,
                data=body,
                headers={"x-auth-code": "k", "content-type": "application/json"},
                timeout=TIMEOUT,
            )
            assert resp.status_code == 200

        for _ in range(20):  # warm up: pools, buffers, the tokenizer
            send()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(300):
                send()
            gc.collect()
            growth = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert server.requests_received == 320
    assert growth < 50 * 2**20, f"grew {growth / 2**20:.0f} MiB"


def test_minted_codes_and_sessions_are_bounded_oldest_first() -> None:
    def post(path: str, body: dict[str, str], **kwargs: Any) -> requests.Response:
        url = server.base_url + path
        return requests.post(url, json=body, timeout=TIMEOUT, **kwargs)

    options = {"auth_codes": {"given"}, "require_cookie": True, "max_minted": 2}
    with LiaobotsEmulator(**options) as server:
        cookie = dict(post(LOGIN_PATH, {}).cookies)
        codes = [
            post(USER_PATH, {"authcode": ""}, cookies=cookie).json()["authCode"]
            for _ in range(3)
        ]
        assert set(server.accounts) == set(codes[1:])
        refused = post(USER_PATH, {"authcode": codes[0]}, cookies=cookie)
        assert refused.status_code == 401  # forgotten, so no longer accepted
        assert post(USER_PATH, {"authcode": codes[2]}, cookies=cookie).ok
        post(LOGIN_PATH, {})
        post(LOGIN_PATH, {})  # a third session: the first cookie is forgotten
        stale = post(USER_PATH, {"authcode": codes[2]}, cookies=cookie)
        assert "coupert-item" in stale.text  # the captcha page


def test_configured_accounts_are_never_dropped() -> None:
    with LiaobotsEmulator(accounts={"paid": {"balance": 9}}, max_minted=1) as server:
        for _ in range(3):
            _post(server, {"authcode": ""}, path=USER_PATH)
        assert "paid" in server.accounts
        assert len(server.accounts) == 2


def test_the_command_line_switches_the_rules_off_and_sets_the_timeouts() -> None:
    flags = ["--no-trim-history", "--no-answer-cap", "--head-timeout", "1"]
    child = subprocess.Popen(
        [sys.executable, "-m", "langchain_liaobots.emulator", "--port", "0", *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", child.stdout.readline())
        assert found is not None
        url = found.group()
        long = "word " * 2000  # 2,000 tokens: over the tokenLimit, over the cap
        body = _payload([{"role": "user", "content": long}], token_limit=1500)
        answer = requests.post(
            url + CHAT_PATH, json=body, headers={"x-auth-code": "k"}, timeout=TIMEOUT
        )
        assert answer.text == f"You said: {long}"  # seen, and sent, whole
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as idle:
            assert idle.recv(1) == b""  # closed after the 1 s head timeout
    finally:
        child.kill()
        child.wait(timeout=TIMEOUT)
