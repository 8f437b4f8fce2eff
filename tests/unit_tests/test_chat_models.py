"""ChatLiaobots' settings (``chat_models.py``): names, copies, usage, warnings.

What a LangChain user reaches for on the first day (issue 21): ChatOpenAI's
names of settings, ``model_copy`` validated like the constructor, ``invoke``
always with its usage, and warnings that point at the user's own line. Calls
go to the package's emulator on 127.0.0.1, on the sync and async paths.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import ValidationError

from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsError,
    LiaobotsSecurityWarning,
    LiaobotsUnsupportedParameterWarning,
)
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.registry import get_model
from langchain_liaobots.wire.protocol import AUTH_HEADER


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "Sunny"


LONG = "Tell me a long story about dragons and their treasure, please"


@pytest.fixture
def tenants() -> Iterator[LiaobotsEmulator]:
    """A server that accepts only the codes of two tenants."""
    with LiaobotsEmulator(auth_codes=["tenant-a", "tenant-c"]) as server:
        yield server


def _last_code(server: LiaobotsEmulator) -> str:
    return server.requests[-1].headers[AUTH_HEADER]


def _text(message: BaseMessage) -> str:
    assert isinstance(message, AIMessage)
    return message.text


# -- 3: model_copy validates its update --------------------------------------------


async def test_a_copy_with_a_new_auth_code_sends_it(
    tenants: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=tenants.base_url, auth="tenant-a", timeout=10)
    copy = llm.model_copy(update={"auth": "tenant-c"})
    assert copy.auth is not None
    assert copy.auth.get_secret_value() == "tenant-c"
    assert _text(copy.invoke("hi")) == "You said: hi"
    assert _last_code(tenants) == "tenant-c"
    assert _text(await copy.ainvoke("hi")) == "You said: hi"
    assert _last_code(tenants) == "tenant-c"
    assert _text(llm.invoke("hi")) == "You said: hi"
    assert _last_code(tenants) == "tenant-a"  # the original is unchanged
    alias = llm.model_copy(update={"api_key": "tenant-c"})
    assert _text(await alias.ainvoke("hi")) == "You said: hi"
    assert _last_code(tenants) == "tenant-c"


@pytest.mark.parametrize(
    ("update", "field", "accepted"),
    [
        ({"timeout": -1}, "timeout", "Input should be greater than 0"),
        ({"timeout": "soon"}, "timeout", "Input should be a valid number"),
        ({"request_timeout": 0}, "request_timeout", "greater than 0"),
        ({"max_retries": -1}, "max_retries", "greater than or equal to 0"),
        ({"model": "gpt-5"}, None, "Unknown Liaobots model 'gpt-5'"),
        ({"base_url": "ftp://x"}, "base_url", "base_url"),
        ({"auth": 12}, "auth", "Input should be a valid string"),
    ],
)
def test_a_copy_refuses_a_bad_value_naming_the_setting(
    update: dict[str, Any], field: str | None, accepted: str
) -> None:
    llm = ChatLiaobots(base_url="http://127.0.0.1:9")
    with pytest.raises(ValidationError) as caught:
        llm.model_copy(update=update)
    lines = str(caught.value).splitlines()
    if field is not None:  # a field's own check; the model id is checked with
        assert lines[1] == field  # base_url (per-server listings), in words
    assert accepted in str(caught.value)


def test_a_copy_refuses_an_unknown_setting_naming_the_one_meant() -> None:
    llm = ChatLiaobots(base_url="http://127.0.0.1:9")
    with pytest.raises(ValidationError, match=r"'timout' \(did you mean 'timeout'"):
        llm.model_copy(update={"timout": 5})


def test_a_copy_shares_the_applications_http_clients() -> None:
    session = requests.Session()
    llm = ChatLiaobots(base_url="http://127.0.0.1:9", http_client=session)
    for deep in (False, True):
        assert llm.model_copy(deep=deep).http_client is session
        assert llm.model_copy(update={"timeout": 5}, deep=deep).http_client is session
    session.close()


def test_a_copy_keeps_which_settings_were_given() -> None:
    # core reads model_fields_set: streaming=True given means invoke streams
    llm = ChatLiaobots(base_url="http://127.0.0.1:9", streaming=True)
    copy = llm.model_copy(update={"timeout": 5.0})
    assert {"streaming", "timeout", "base_url"} <= copy.model_fields_set
    assert "max_retries" not in copy.model_fields_set
    assert copy.timeout == 5.0
    assert copy.streaming


def test_a_copy_warns_only_of_what_its_update_changes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = ChatLiaobots(base_url="http://127.0.0.1:9", top_p=0.2)
        assert len(caught) == 1
        llm.model_copy(update={"timeout": 5.0})
        assert len(caught) == 1  # the same top_p: no new warning
        llm.model_copy(update={"seed": 3, "verify_tls": False})
    assert [w.category for w in caught[1:]] == [
        LiaobotsUnsupportedParameterWarning,
        LiaobotsSecurityWarning,
    ]
    assert "accepts seed but" in str(caught[1].message)


# -- 10: model_name --------------------------------------------------------------------


def test_model_name_reads_the_model() -> None:
    assert ChatLiaobots(base_url="http://127.0.0.1:9").model_name == "gpt-4"
    llm = ChatLiaobots(base_url="http://127.0.0.1:9", model_name="gpt-3.5-turbo")
    assert llm.model_name == llm.model == "gpt-3.5-turbo"


async def test_a_copy_by_model_name_uses_the_new_model(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k", timeout=10)
    copy = llm.model_copy(update={"model_name": "gpt-3.5-turbo"})
    assert copy.model == copy.model_name == "gpt-3.5-turbo"
    limit = get_model("gpt-3.5-turbo").token_limit - 1000
    assert copy.profile is not None
    assert copy.profile.get("max_input_tokens") == limit  # the profile follows
    for message in (copy.invoke("hi"), await copy.ainvoke("hi")):
        assert message.response_metadata["model_name"] == "gpt-3.5-turbo"
        assert fresh_emulator.requests[-1].payload["model"]["id"] == "gpt-3.5-turbo"


# -- 19: ChatOpenAI's names ----------------------------------------------------------


async def test_max_completion_tokens_is_max_tokens(llm: ChatLiaobots) -> None:
    short = ChatLiaobots(base_url=llm.base_url, auth="k", max_completion_tokens=6)
    assert short.max_tokens == 6
    for message in (short.invoke(LONG), await short.ainvoke(LONG)):
        assert message.response_metadata["finish_reason"] == "length"
        assert _text(message) == "You said: Tell me a"


def test_request_timeout_is_timeout() -> None:
    assert ChatLiaobots(request_timeout=30).timeout == 30.0
    with pytest.raises(ValidationError, match="request_timeout"):
        ChatLiaobots(request_timeout=-1)


def test_model_kwargs_is_refused_saying_where_each_key_belongs() -> None:
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(model_kwargs={"top_p": 0.5, "response_format": {}, "logprobs": 1})
    text = str(caught.value)
    assert "no setting 'model_kwargs'" in text
    assert "'top_p' is a setting: ChatLiaobots(top_p=...)" in text
    assert "'response_format' is a per-call option" in text
    assert "'logprobs' is neither" in text
    assert "model_name" not in text  # not the misleading "did you mean"


def test_a_per_call_name_of_chatopenai_hints_at_ours(llm: ChatLiaobots) -> None:
    with pytest.warns(
        LiaobotsUnsupportedParameterWarning,
        match=r"'max_completion_tokens' \(did you mean 'max_tokens'\?\)",
    ):
        llm.invoke("hi", max_completion_tokens=5)


# -- 6: invoke always carries the usage -------------------------------------------


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


async def test_invoke_has_the_usage_when_streaming_without_stream_usage(
    llm: ChatLiaobots,
) -> None:
    quiet = llm.model_copy(update={"streaming": True, "stream_usage": False})
    tokens = _Tokens()
    config: Any = {"callbacks": [tokens]}
    for message in (
        quiet.invoke("hi", config=config),
        await quiet.ainvoke("hi", config=config),
        quiet.invoke("hi", stream_usage=False),
    ):
        assert message.usage_metadata is not None
        assert message.usage_metadata["output_tokens"] > 0
        assert "usage_estimated" not in message.response_metadata  # counted
    assert "".join(tokens.tokens) == "You said: hi" * 2  # it did stream
    # a stream's chunks still leave it off
    assert all(c.usage_metadata is None for c in quiet.stream("hi"))
    assert all([c.usage_metadata is None async for c in quiet.astream("hi")])


# -- 11: warnings point at the user's line --------------------------------------------


def _warned(action: Callable[[], Any]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    assert caught, "no warning"
    return caught


@pytest.mark.parametrize(
    "settings",
    [
        {"top_p": 0.1},
        {"max_tokens": 4000},
        {"verify_tls": False},
        {"base_url": "http://example.com", "auth": "k"},
        {"model_name": "gpt-4", "top_p": 1.0, "verify_tls": False},
    ],
)
def test_construction_warnings_point_at_the_callers_line(
    settings: dict[str, Any],
) -> None:
    for warning in _warned(lambda: ChatLiaobots(**settings)):
        assert warning.filename == __file__


def test_a_copys_warnings_point_at_the_callers_line() -> None:
    llm = ChatLiaobots(base_url="http://127.0.0.1:9")
    for warning in _warned(lambda: llm.model_copy(update={"top_p": 0.5})):
        assert warning.filename == __file__


def test_per_call_warnings_point_at_the_callers_line(llm: ChatLiaobots) -> None:
    for action in (
        lambda: llm.invoke("hi", top_p=0),
        lambda: llm.invoke("hi", frequency=1),
        lambda: list(llm.stream("hi", seed=1)),
        lambda: llm.bind(top_k=3).invoke("hi"),
    ):
        for warning in _warned(action):
            assert warning.filename == __file__
            assert warning.category is LiaobotsUnsupportedParameterWarning


async def test_async_per_call_warnings_point_at_the_callers_line(
    llm: ChatLiaobots,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await llm.ainvoke("hi", top_p=0)
        await llm.bind(nonsense=1).ainvoke("hi")
        async for _ in llm.astream("hi", seed=2):
            pass
    assert len(caught) == 3
    for warning in caught:
        assert warning.filename == __file__


# -- 13: bad input is a ValueError, before anything is sent ---------------------------

PICTURE = HumanMessage(
    content=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
)


async def test_bad_input_is_a_value_error_not_a_liaobots_error_and_unsent(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    # docs/errors.md: "bad input raises ValueError or TypeError before anything
    # is sent"; a failed exchange is the LiaobotsError.
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k", timeout=10)
    for call in (lambda: llm.invoke([PICTURE]), lambda: list(llm.stream([PICTURE]))):
        with pytest.raises(ValueError, match=r"'image_url' block") as caught:
            call()
        assert not isinstance(caught.value, LiaobotsError)
    with pytest.raises(ValueError, match=r"'image_url' block") as caught:
        await llm.ainvoke([PICTURE])
    assert not isinstance(caught.value, LiaobotsError)
    with pytest.raises(ValueError, match=r"'image_url' block"):
        async for _ in llm.astream([PICTURE]):
            pass
    with pytest.raises(ValueError, match="not a bound tool"):
        llm.bind_tools([get_weather], tool_choice="get_time")
    with pytest.raises(ValueError, match="timeout"):
        llm.model_copy(update={"timeout": 0})
    assert fresh_emulator.requests == []  # nothing was sent


def test_a_failed_exchange_is_a_liaobots_error(tenants: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=tenants.base_url, auth="not-a-tenant", timeout=10)
    with pytest.raises(LiaobotsError):
        llm.invoke("hi")
