"""Auth-code acquisition, the session login, account state, model discovery, the
2025 body and SSE framing, and the local server's command line, over real HTTP.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from langchain_liaobots import ChatLiaobots, get_model
from langchain_liaobots.emulator import (
    Cut,
    LiaobotsEmulator,
    SseError,
    Status,
    TooManyRequests,
)
from langchain_liaobots.errors import (
    LiaobotsAuthenticationError,
    LiaobotsCaptchaError,
    LiaobotsOutOfCreditError,
    LiaobotsRateLimitError,
    LiaobotsStreamCutError,
)
from langchain_liaobots.wire.protocol import (
    CHAT_PATH,
    LOGIN_PATH,
    MODELS_PATH,
    SESSION_COOKIE,
    USER_PATH,
)


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=4) as emulator:
        yield emulator


def _paths(server: LiaobotsEmulator) -> list[str]:
    return [r.path for r in server.requests]


def _codes(server: LiaobotsEmulator) -> list[str]:
    return [
        r.headers.get("x-auth-code", "") for r in server.requests if r.path == CHAT_PATH
    ]


def _acquiring(server: LiaobotsEmulator, **kw: object) -> ChatLiaobots:
    return ChatLiaobots(
        base_url=server.base_url, auth=None, acquire_auth_code=True, **kw
    )


def test_acquired_code_is_cached_per_configuration(server: LiaobotsEmulator) -> None:
    llm = _acquiring(server)
    assert llm.invoke("one").content == "You said: one"
    assert llm.invoke("two").content == "You said: two"
    assert _paths(server) == [USER_PATH, CHAT_PATH, CHAT_PATH]
    assert server.requests[0].payload == {"authcode": ""}
    (issued,) = server.accounts
    assert _codes(server) == [issued, issued]
    # Another instance, or a copy with other connection settings, shares the
    # configuration's code; other credentials settings get their own.
    _acquiring(server).invoke("three")
    llm.model_copy(update={"timeout": 7.0}).invoke("four")
    assert len(server.accounts) == 1
    _acquiring(server, session_login=True).invoke("five")
    assert len(server.accounts) == 2


async def test_concurrent_first_calls_acquire_one_code(
    server: LiaobotsEmulator,
) -> None:
    llm = _acquiring(server)
    answers = await llm.abatch([f"q{i}" for i in range(8)])
    assert [a.content for a in answers] == [f"You said: q{i}" for i in range(8)]
    assert _paths(server).count(USER_PATH) == 1
    other = _acquiring(server, session_login=True)  # other credentials settings
    other.batch([f"q{i}" for i in range(8)], config={"max_concurrency": 8})
    assert _paths(server).count(USER_PATH) == 2


@pytest.mark.parametrize("status", [401, 402])
async def test_refused_acquired_code_is_replaced_once(
    server: LiaobotsEmulator, status: int
) -> None:
    llm = _acquiring(server)
    server.script(Status(status=status, body="Error"))
    assert llm.invoke("hi").content == "You said: hi"
    assert _paths(server) == [USER_PATH, CHAT_PATH, USER_PATH, CHAT_PATH]
    first, second = _codes(server)
    assert first != second
    server.script(Status(status=status, body="Error"))
    assert (await llm.ainvoke("hi")).content == "You said: hi"
    assert _paths(server)[4:] == [CHAT_PATH, USER_PATH, CHAT_PATH]


async def test_code_is_replaced_only_once_per_call(server: LiaobotsEmulator) -> None:
    llm = _acquiring(server, max_retries=5)
    server.script(*[Status(status=401)] * 2)
    with pytest.raises(LiaobotsAuthenticationError):
        llm.invoke("hi")
    assert _paths(server) == [USER_PATH, CHAT_PATH, USER_PATH, CHAT_PATH]
    server.script(*[Status(status=402, body="Error")] * 2)
    with pytest.raises(LiaobotsOutOfCreditError):
        await llm.ainvoke("hi")
    assert _paths(server)[4:] == [USER_PATH, CHAT_PATH, USER_PATH, CHAT_PATH]


def test_no_new_code_once_text_has_streamed(server: LiaobotsEmulator) -> None:
    llm = _acquiring(server)
    server.script(SseError(status=402, after=2))
    with pytest.raises(LiaobotsOutOfCreditError) as err:
        llm.invoke("hello")
    assert err.value.partial_text == "You said"
    assert _paths(server) == [USER_PATH, CHAT_PATH]


def test_a_given_code_is_never_replaced(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(
        base_url=server.base_url, auth="given-code", acquire_auth_code=True
    )
    server.script(Status(status=401))
    with pytest.raises(LiaobotsAuthenticationError):
        llm.invoke("hi")
    assert _paths(server) == [CHAT_PATH]


async def test_too_many_requests_is_a_rate_limit_not_a_code(
    server: LiaobotsEmulator,
) -> None:
    server.script(TooManyRequests())
    with pytest.raises(LiaobotsRateLimitError, match="Too many requests") as err:
        _acquiring(server, max_retries=0).invoke("hi")
    assert err.value.status_code == 200
    assert _paths(server) == [USER_PATH]
    server.script(TooManyRequests())
    llm = _acquiring(server, max_retries=1)
    assert (await llm.ainvoke("hi")).content == "You said: hi"
    assert _paths(server)[1:] == [USER_PATH, USER_PATH, CHAT_PATH]


async def test_account_state_of_an_existing_code() -> None:
    accounts = {"paid-code-1234": {"balance": 12.5, "gpt4FreeRemain": 0}}
    with LiaobotsEmulator(auth_codes=set(), accounts=accounts) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="paid-code-1234")
        state = llm.account()
        assert state.balance == 12.5
        assert state.gpt4_free_remain == 0
        assert state.referral is not None
        assert state.auth_code.get_secret_value() == "paid-code-1234"
        assert "paid-code-1234" not in repr(state)
        assert server.requests[-1].payload == {"authcode": "paid-code-1234"}
        assert (await llm.aaccount()).balance == 12.5
        unknown = ChatLiaobots(base_url=server.base_url, auth="unknown-code")
        with pytest.raises(LiaobotsAuthenticationError):
            unknown.account()


def test_account_of_an_acquired_code(server: LiaobotsEmulator) -> None:
    state = _acquiring(server).account()
    assert state.balance == 0.5  # an anonymous code's small credit
    assert _paths(server) == [USER_PATH, USER_PATH]
    assert state.auth_code.get_secret_value() in server.accounts


def test_account_state_rate_limited(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="some-code", max_retries=0)
    server.script(TooManyRequests())
    with pytest.raises(LiaobotsRateLimitError):
        llm.account()


async def test_session_login_keeps_the_cookie_jar() -> None:
    with LiaobotsEmulator(require_cookie=True) as server:
        bare = ChatLiaobots(base_url=server.base_url, auth="code-1", max_retries=3)
        with pytest.raises(LiaobotsCaptchaError, match="session_login=True"):
            bare.invoke("hi")
        assert _paths(server) == [CHAT_PATH]  # a captcha is never retried
        llm = ChatLiaobots(
            base_url=server.base_url, acquire_auth_code=True, session_login=True
        )
        assert llm.invoke("one").content == "You said: one"
        assert (await llm.ainvoke("two")).content == "You said: two"
        assert _paths(server)[1:] == [LOGIN_PATH, USER_PATH, CHAT_PATH, CHAT_PATH]
        cookies = {r.headers.get("cookie") for r in server.requests[2:]}
        (cookie,) = cookies
        assert cookie is not None
        assert cookie.startswith(f"{SESSION_COOKIE}=")


async def test_expired_session_logs_in_again_once() -> None:
    with LiaobotsEmulator(require_cookie=True) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="c0de", session_login=True)
        llm.invoke("one")
        server.expire_sessions()
        assert (await llm.ainvoke("two")).content == "You said: two"
        assert _paths(server) == [
            LOGIN_PATH,
            CHAT_PATH,
            CHAT_PATH,
            LOGIN_PATH,
            CHAT_PATH,
        ]
        assert (
            server.requests[1].headers["cookie"] != server.requests[4].headers["cookie"]
        )


def test_model_discovery_registers_the_services_models() -> None:
    models = [
        {"id": "gpt-4", "name": "GPT-4 (changed)", "maxLength": 9, "tokenLimit": 3},
        {
            "id": "disc-model-1",
            "name": "Discovered",
            "maxLength": 4000,
            "tokenLimit": 2000,
            "context": "1K",
            "model": "Claude",
            "provider": "Anthropic",
        },
        {"id": "broken"},
    ]
    with LiaobotsEmulator(models=models) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k")
        found = llm.discover_models()
        assert [m.id for m in found] == ["gpt-4", "disc-model-1"]
        assert get_model("gpt-4", server.base_url).max_length == 24000  # the seed's
        assert get_model("disc-model-1", server.base_url).provider == "Anthropic"
        assert server.requests[-1].path == MODELS_PATH
        assert server.requests[-1].payload == {"key": ""}
        assert [m.id for m in asyncio.run(llm.adiscover_models())] == [
            "gpt-4",
            "disc-model-1",
        ]
        answer = llm.invoke("hi", model="disc-model-1")
        assert answer.content == "You said: hi"


def test_2025_body_on_the_wire(server: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(
        base_url=server.base_url, auth="k", model="gpt-4o-free", body_format="2025"
    )
    assert llm.invoke("hi").content == "You said: hi"
    payload = server.requests[-1].payload
    assert payload is not None
    assert list(payload) == [
        "conversationId",
        "models",
        "messages",
        "key",
        "prompt",
        "search",
    ]
    assert payload["models"] == [{"modelId": "gpt-4o-free", "provider": "OpenAI"}]
    assert payload["search"] == "false"
    with pytest.raises(ValueError, match=r"body_format='2025'.*has no provider"):
        ChatLiaobots(base_url=server.base_url, auth="k", body_format="2025")
    assert len(server.requests) == 1


async def test_sse_framed_server(server: LiaobotsEmulator) -> None:
    server.framing = "sse"
    llm = ChatLiaobots(base_url=server.base_url, auth="k")
    chunks = [c.text for c in llm.stream("héllo 你好")]
    assert "".join(chunks) == "You said: héllo 你好"
    assert len(chunks) > 2
    assert (await llm.ainvoke("x")).content == "You said: x"


def test_command_line_scripts_failures() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_liaobots.emulator",
            "--port",
            "0",
            "--piece-bytes",
            "4",
            "--fault",
            "status=402,Error",
            "--fault",
            "cut=2",
            "--fault",
            "too-many-requests",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base_url = line.split(" serving at ")[1].split()[0]
        llm = ChatLiaobots(base_url=base_url, auth="cli-code", max_retries=0)
        with pytest.raises(LiaobotsOutOfCreditError, match="'Error'"):
            llm.invoke("hello")
        with pytest.raises(LiaobotsStreamCutError) as cut:
            llm.invoke("hello")
        assert cut.value.partial_text == "You said"
        with pytest.raises(LiaobotsRateLimitError):
            llm.account()
        assert llm.invoke("hello").content == "You said: hello"
        bad = requests.post(base_url + CHAT_PATH, data=b"{}", timeout=5)
        assert bad.status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_scripted_behaviours_apply_to_their_path_only(
    server: LiaobotsEmulator,
) -> None:
    server.script(Cut(after=1, path=USER_PATH), Status(status=500, path=MODELS_PATH))
    llm = ChatLiaobots(base_url=server.base_url, auth="k")
    assert llm.invoke("hi").content == "You said: hi"
    assert len(server.pending) == 2
