"""The auth code never leaks, over real HTTP; TLS is verified unless warned off."""

from __future__ import annotations

import json
import logging
import ssl
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd
from pydantic import SecretStr

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import (
    Cut,
    LiaobotsEmulator,
    SseError,
    Status,
)
from langchain_liaobots.errors import (
    LiaobotsAuthenticationError,
    LiaobotsError,
    LiaobotsSecurityWarning,
    LiaobotsTLSError,
)

CODE = "leak-probe-code-91c4e2"


class Recorder(BaseCallbackHandler):
    """Keeps everything the callback system hands a tracer."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.seen.append((serialized, messages, kw))

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self.seen.append((response, kw))

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self.seen.append((repr(error), str(error), kw))


def _everything(llm: ChatLiaobots) -> str:
    return " ".join(
        [
            repr(llm),
            str(llm),
            json.dumps(dumpd(llm), default=str),
            str(llm._identifying_params),
            str(llm._get_ls_params()),
            repr(llm._client().credentials),
        ]
    )


@pytest.mark.parametrize("acquire", [False, True], ids=["given", "acquired"])
async def test_code_absent_from_repr_dump_traces_logs_and_errors(
    acquire: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 and aiohttp included
    recorder = Recorder()
    with LiaobotsEmulator(piece_bytes=3) as server:
        llm = ChatLiaobots(
            base_url=server.base_url,
            auth=None if acquire else CODE,
            acquire_auth_code=acquire,
            max_retries=1,
            callbacks=[recorder],
        )
        server.script(Status(status=500, headers={"Retry-After": "0"}))
        assert llm.invoke("hello").content == "You said: hello"
        assert (await llm.ainvoke("hello")).content == "You said: hello"
        code = server.requests[-1].headers["x-auth-code"]
        assert code == CODE or acquire
        # The service echoes the code in error bodies and events: scrubbed.
        server.script(
            Status(status=403, body=f"code {code} may not use gpt-4"),
            SseError(status=402, message=f"{code}: no credit", after=1),
            Cut(after=1),
        )
        errors: list[LiaobotsError] = []
        for call in (llm.invoke, llm.invoke, llm.invoke):
            with pytest.raises(LiaobotsError) as info:
                call("hello")
            errors.append(info.value)
        assert "***" in str(errors[0])
        assert "***" in str(errors[1])
        text = " ".join(
            [
                _everything(llm),
                *(f"{e!r} {e}" for e in errors),
                repr(recorder.seen),
                caplog.text,
                *(str(r.args) for r in caplog.records),
                repr(llm.account()),
            ]
        )
    codes = {code, *server.accounts}  # the given one, or every one issued
    assert all(len(c) >= 8 for c in codes)
    assert not [c for c in codes if c in text]
    assert "Retry 1 of 1" in caplog.text  # the retry was logged, without the code


def test_header_and_proxy_secrets_absent_from_repr() -> None:
    llm = ChatLiaobots(
        base_url="http://127.0.0.1:9",
        auth="code",
        proxy="http://user:proxy-secret@127.0.0.1:8",
        default_headers={"x-gateway-key": "gateway-secret"},
    )
    for shown in (repr(llm), str(llm)):
        assert "proxy-secret" not in shown
        assert "gateway-secret" not in shown
    assert llm.default_headers == {"x-gateway-key": "gateway-secret"}


def test_secret_str_given_code_not_in_dumpd() -> None:
    llm = ChatLiaobots(base_url="http://127.0.0.1:9", auth=SecretStr(CODE))
    assert CODE not in _everything(llm)


def test_plain_http_to_a_remote_host_warns() -> None:
    with pytest.warns(LiaobotsSecurityWarning, match="plain http to example.com"):
        ChatLiaobots(base_url="http://example.com", auth=CODE)
    with pytest.warns(LiaobotsSecurityWarning, match="plain http"):
        ChatLiaobots(base_url="http://10.0.0.7:8080", acquire_auth_code=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ChatLiaobots(base_url="https://example.com", auth=CODE)
        ChatLiaobots(base_url="http://127.0.0.1:8765", auth=CODE)
        ChatLiaobots(base_url="http://localhost:8765", auth=CODE)
        ChatLiaobots(base_url="http://[::1]:8765", auth=CODE)
        ChatLiaobots(base_url="http://example.com", auth=None)


def test_turning_tls_verification_off_warns() -> None:
    with pytest.warns(LiaobotsSecurityWarning, match="not verified"):
        ChatLiaobots(base_url="https://example.com", auth=CODE, verify_tls=False)


@pytest.fixture
def tls_server(tls_context: ssl.SSLContext) -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(ssl_context=tls_context) as server:
        yield server


async def test_tls_is_verified_by_default(tls_server: LiaobotsEmulator) -> None:
    assert tls_server.base_url.startswith("https://")
    llm = ChatLiaobots(base_url=tls_server.base_url, auth=CODE)
    with pytest.raises(LiaobotsTLSError, match="did not verify") as sync_err:
        llm.invoke("hi")
    with pytest.raises(LiaobotsTLSError, match="did not verify"):
        await llm.ainvoke("hi")
    assert not sync_err.value.is_retryable
    assert tls_server.requests == []  # nothing, the code included, was sent


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_tls_verification_off_is_warned_and_works(
    tls_server: LiaobotsEmulator,
) -> None:
    with pytest.warns(LiaobotsSecurityWarning):
        llm = ChatLiaobots(base_url=tls_server.base_url, auth=CODE, verify_tls=False)
    assert llm.invoke("hi").content == "You said: hi"
    assert (await llm.ainvoke("hi")).content == "You said: hi"
    assert len(tls_server.requests) == 2


def test_refused_code_message_says_what_to_do() -> None:
    with LiaobotsEmulator(auth_codes={"right-code"}) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth=CODE)
        with pytest.raises(LiaobotsAuthenticationError) as err:
            llm.invoke("hi")
    message = str(err.value)
    assert "HTTP 401" in message
    assert "401 Unauthorized" in message  # an excerpt of the body
    assert "LIAOBOTS_AUTH_CODE" in message  # what to do
    assert CODE not in message
