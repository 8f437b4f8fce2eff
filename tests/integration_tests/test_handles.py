"""The LangChain handles, over real HTTP against the emulator (issue 15, items 4-8).

The LLM cache keys on everything that changes the answer (the model's own
``stop`` included) and never on the auth code; ``dumpd``/``loads`` round-trip
with the code as a secret reference; an unknown setting is an error naming the
closest one; a per-call sampling argument warns like the constructor does;
credentials in ``base_url`` are refused and never sent or shown; pickling still
works, across a spawn pool too.
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import ConfigurableField
from pydantic import ValidationError

from langchain_liaobots import ChatLiaobots, registry
from langchain_liaobots.chat_models import UNSENT_PARAMS
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.errors import LiaobotsUnsupportedParameterWarning
from langchain_liaobots.registry import ModelSpec
from langchain_liaobots.tokens import count_input_tokens

CODE = "handles-probe-code-5e1f07"


@pytest.fixture
def cache() -> Iterator[InMemoryCache]:
    llm_cache = InMemoryCache()
    set_llm_cache(llm_cache)
    try:
        yield llm_cache
    finally:
        set_llm_cache(None)


def _chats(server: LiaobotsEmulator) -> int:
    return sum(r.path == "/api/chat" for r in server.requests)


# -- the LLM cache -------------------------------------------------------------


def test_models_differing_only_in_stop_do_not_share_a_cached_answer(
    fresh_emulator: LiaobotsEmulator, cache: InMemoryCache
) -> None:
    base = fresh_emulator.base_url
    plain = ChatLiaobots(base_url=base, auth=CODE)
    stopped = ChatLiaobots(base_url=base, auth=CODE, stop=["said"])

    assert plain.invoke("hello").content == "You said: hello"
    assert stopped.invoke("hello").content == "You "
    assert _chats(fresh_emulator) == 2  # the second model was not served the first

    # each is a hit for itself; the call's own stop is keyed as before
    assert plain.invoke("hello").content == "You said: hello"
    assert stopped.invoke("hello").content == "You "
    assert plain.invoke("hello", stop=["said"]).content == "You "
    assert _chats(fresh_emulator) == 2  # stop=["said"] per call = the model's own
    assert stopped.invoke("hello", stop=[]).content == "You said: hello"
    assert _chats(fresh_emulator) == 2  # stop=[] per call overrides: no stops


@pytest.mark.parametrize(
    "change",
    [
        {"model": "gpt-4"},
        {"prompt": "Be terse."},
        {"max_tokens": 4},
        {"body_format": "2025"},
        {"base_url": "localhost"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_every_field_that_changes_the_answer_is_in_the_cache_key(
    fresh_emulator: LiaobotsEmulator,
    cache: InMemoryCache,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, object],
) -> None:
    spec = ModelSpec(id="m", name="M", maxLength=0, tokenLimit=0, provider="P")
    monkeypatch.setitem(registry._REGISTRY, "m", spec)
    if "base_url" in change:  # the same server under another name
        change = {"base_url": fresh_emulator.localhost_url}
    base = {"base_url": fresh_emulator.base_url, "auth": CODE, "model": "m"}
    ChatLiaobots(**base).invoke("hello there")
    ChatLiaobots(**{**base, **change}).invoke("hello there")
    assert _chats(fresh_emulator) == 2


def test_the_cache_key_never_holds_the_code_and_codes_share_answers(
    fresh_emulator: LiaobotsEmulator, cache: InMemoryCache
) -> None:
    base = fresh_emulator.base_url
    first = ChatLiaobots(base_url=base, auth=CODE)
    other = ChatLiaobots(base_url=base, auth="another-code")
    assert first.invoke("hello").content == "You said: hello"
    assert other.invoke("hello").content == "You said: hello"
    assert _chats(fresh_emulator) == 1
    keys = repr(cache._cache)
    assert CODE not in keys
    assert "another-code" not in keys


# -- serialization ---------------------------------------------------------------


def test_dumpd_writes_the_code_as_a_secret_reference(
    emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=emulator.base_url, auth=CODE, stop=["said"], http_client=object()
    )
    data = dumpd(llm)
    assert data["type"] == "constructor"
    assert data["id"] == ["langchain_liaobots", "chat_models", "ChatLiaobots"]
    assert data["kwargs"]["auth"] == {
        "lc": 1,
        "type": "secret",
        "id": ["LIAOBOTS_AUTH_CODE"],
    }
    assert "http_client" not in data["kwargs"]
    assert "http_async_client" not in data["kwargs"]
    assert CODE not in json.dumps(data)
    assert CODE not in dumps(llm)


def _loads(text: str, **kwargs: object) -> ChatLiaobots:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangChainBetaWarning: loads is beta
        loaded = loads(
            text,
            valid_namespaces=["langchain_liaobots"],
            allowed_objects=[ChatLiaobots],
            **kwargs,  # type: ignore[arg-type]
        )
    assert isinstance(loaded, ChatLiaobots)
    return loaded


def test_dumps_loads_round_trip_and_the_loaded_model_works(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url,
        auth=CODE,
        model="gpt-3.5-turbo",
        stop=["!"],
        timeout=7,
        max_tokens=50,
    )
    loaded = _loads(dumps(llm), secrets_map={"LIAOBOTS_AUTH_CODE": CODE})
    assert loaded.asdict() == llm.asdict()
    assert loaded.auth is not None
    assert loaded.auth.get_secret_value() == CODE
    assert (loaded.timeout, loaded.stop) == (7, ["!"])
    assert loaded.invoke("wow!").content == "You said: wow"
    assert fresh_emulator.requests[-1].headers["x-auth-code"] == CODE
    assert fresh_emulator.requests[-1].payload["model"]["id"] == "gpt-3.5-turbo"


def test_load_takes_the_code_from_the_environment_when_asked(
    fresh_emulator: LiaobotsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", "env-code-77")
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth=CODE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load(
            dumpd(llm),
            valid_namespaces=["langchain_liaobots"],
            allowed_objects=[ChatLiaobots],
            secrets_from_env=True,
        )
    assert loaded.invoke("hi").content == "You said: hi"
    assert fresh_emulator.requests[-1].headers["x-auth-code"] == "env-code-77"


def test_loads_refuses_our_class_unless_it_is_allowed(
    emulator: LiaobotsEmulator,
) -> None:
    text = dumps(ChatLiaobots(base_url=emulator.base_url, auth=CODE))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="is not allowed"):
            loads(text, valid_namespaces=["langchain_liaobots"])
        with pytest.raises(ValueError, match="Invalid namespace"):
            loads(text, allowed_objects=[ChatLiaobots])


def test_pickling_still_works_across_a_spawn_pool(emulator: LiaobotsEmulator) -> None:
    llm = ChatLiaobots(base_url=emulator.base_url, auth=CODE, stop=["said"])
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.invoke("hello").content == "You "
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        assert pool.submit(_invoke_in_child, llm, "hello").result() == "You "


def _invoke_in_child(llm: BaseChatModel, text: str) -> str:
    return str(llm.invoke(text).content)


# -- settings --------------------------------------------------------------------


def test_an_unknown_setting_is_an_error_naming_it_and_the_closest() -> None:
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(timout=1, max_token=3, api_key=CODE)
    text = str(caught.value)
    assert "'timout' (did you mean 'timeout'?)" in text
    assert "'max_token' (did you mean 'max_tokens'?)" in text
    assert CODE not in text  # the input is never repeated


def test_an_unknown_setting_without_a_close_match_is_named() -> None:
    with pytest.raises(ValidationError, match=r"no setting 'zzzzzz'\. The settings"):
        ChatLiaobots(zzzzzz=1)


def test_the_standard_arguments_and_aliases_stay_accepted() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LiaobotsUnsupportedParameterWarning)
        llm = ChatLiaobots(
            temperature=0,
            max_tokens=100,
            timeout=60,
            stop=[],
            max_retries=2,
            api_key="test",
        )
    assert llm.auth is not None
    assert (llm.max_tokens, llm.timeout, llm.stop) == (100, 60, [])
    llm = ChatLiaobots(model_name="gpt-3.5-turbo", stop_sequences=["x"])
    assert (llm.model, llm.stop) == ("gpt-3.5-turbo", ["x"])


def test_configurable_fields_still_build_the_model(
    emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=emulator.base_url, auth=CODE).configurable_fields(
        stop=ConfigurableField(id="stop")
    )
    answer = llm.invoke("hello", config={"configurable": {"stop": ["said"]}})
    assert answer.content == "You "


def test_a_validation_error_never_repeats_the_code() -> None:
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(api_key=CODE, timeout=-1)
    assert "timeout" in str(caught.value)
    assert CODE not in str(caught.value)


@pytest.mark.parametrize("name", UNSENT_PARAMS)
async def test_a_per_call_sampling_argument_warns_like_the_constructor(
    emulator: LiaobotsEmulator, name: str
) -> None:
    llm = ChatLiaobots(base_url=emulator.base_url, auth=CODE)
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match=f"accepts {name} "):
        assert llm.invoke("hello", **{name: 1}).content == "You said: hello"
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match=f"accepts {name} "):
        assert (await llm.ainvoke("hello", **{name: 1})).content == "You said: hello"
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match=f"accepts {name} "):
        chunks = list(llm.bind(**{name: 1}).stream("hello"))
    assert "".join(str(c.content) for c in chunks) == "You said: hello"


def test_a_call_without_sampling_arguments_does_not_warn(
    emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=emulator.base_url, auth=CODE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LiaobotsUnsupportedParameterWarning)
        assert llm.invoke("hello", max_tokens=50).content == "You said: hello"


async def test_an_unknown_per_call_argument_warns_with_the_closest_name(
    emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=emulator.base_url, auth=CODE)
    hint = r"'temprature' \(did you mean 'temperature'\?\)"
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match=hint):
        assert llm.invoke("hello", temprature=0).content == "You said: hello"
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match="'tool_choise'"):
        await llm.ainvoke("hello", tool_choise="any")


# -- base_url --------------------------------------------------------------------


@pytest.mark.parametrize(
    "userinfo", ["user:pw-5e1f07@", "user@", ":pw-5e1f07@"], ids=["both", "user", "pw"]
)
def test_credentials_in_base_url_are_refused_and_never_shown(
    emulator: LiaobotsEmulator, userinfo: str
) -> None:
    url = emulator.base_url.replace("://", "://" + userinfo)
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(base_url=url, auth=CODE)
    text = str(caught.value)
    assert "base_url" in text
    assert "auth=" in text
    assert emulator.base_url in text  # the address to write instead
    assert userinfo not in text
    assert "pw-5e1f07" not in text
    assert emulator.requests == [] or all(
        "pw-5e1f07" not in str(r.headers) for r in emulator.requests
    )


def test_credentials_in_the_base_url_environment_variable_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIAOBOTS_BASE_URL", "http://u:pw-5e1f07@127.0.0.1:9")
    with pytest.raises(ValidationError, match="BASE_URL must not carry") as caught:
        ChatLiaobots(auth=CODE)
    assert "pw-5e1f07" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("liaobots.com", "absolute http(s) URL"),
        ("https://liaobots.com/?x=1", "without a query or fragment"),
        ("http://127.0.0.1:2\\@127.0.0.1:1", "holds a backslash"),
        ("", "absolute http(s) URL"),
    ],
)
def test_a_bad_base_url_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("LIAOBOTS_BASE_URL", value)
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(auth=CODE)
    text = str(caught.value)
    assert "the environment variable LIAOBOTS_BASE_URL must" in text
    assert problem in text
    # given explicitly, the setting is named, not the variable
    with pytest.raises(ValidationError) as caught:
        ChatLiaobots(base_url=value, auth=CODE)
    assert "LIAOBOTS_BASE_URL" not in str(caught.value)
    assert "base_url must" in str(caught.value)


def test_the_base_url_environment_variable_is_normalized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIAOBOTS_BASE_URL", "http://127.0.0.1:9/api/chat/")
    assert ChatLiaobots(auth=CODE).base_url == "http://127.0.0.1:9"


# -- long conversations ------------------------------------------------------------


def test_a_long_conversation_is_sent_whole_with_the_same_usage(
    fresh_emulator: LiaobotsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlimited = ModelSpec(id="long-ctx", name="Long", maxLength=0, tokenLimit=0)
    monkeypatch.setitem(registry._REGISTRY, "long-ctx", unlimited)
    messages: list[BaseMessage] = [SystemMessage("Be brief.")]
    for i in range(1000):
        messages.append(HumanMessage(f"question {i}"))
        messages.append(
            AIMessage("", tool_calls=[{"name": "f", "args": {"i": i}, "id": f"c{i}"}])
        )
        messages.append(ToolMessage(f"result {i} ✓", tool_call_id=f"c{i}"))
    messages.append(HumanMessage("last one"))
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth=CODE, model="long-ctx")
    answer = llm.invoke(messages)
    payload = fresh_emulator.requests[-1].payload
    assert payload is not None
    assert len(payload["messages"]) == 3001
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == count_input_tokens(
        payload["prompt"], payload["messages"]
    )
    assert (
        llm.get_num_tokens_from_messages(messages)
        == (answer.usage_metadata["input_tokens"])
    )
