"""What users of ChatOpenAI / ChatAnthropic / ChatOllama expect, over real HTTP.

Estimated usage, token counting that agrees with the limit check, ``max_tokens``
honoured on the client (the answer's connection closed), the last clients'
login and ``/api/user`` bodies, models of unknown limits, and a third-party
aiohttp client logging in through the emulator's ``localhost`` address.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import aiohttp
import pytest
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.tools import tool

from langchain_liaobots import ChatLiaobots, get_model, register_model
from langchain_liaobots.emulator import Answer, LiaobotsEmulator
from langchain_liaobots.tokens import TOKENIZER
from langchain_liaobots.wire.budget import ANSWER_TOKENS
from langchain_liaobots.wire.protocol import CHAT_PATH, LOGIN_PATH, USER_PATH
from langchain_liaobots.wire.request import build_payload

LONG_ANSWER = "word " * 400


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "Sunny"


def wait_for(condition: Callable[[], bool]) -> None:
    """Wait (at most 10 s) for the emulator to record an event."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the emulator never saw it"
        time.sleep(0.01)


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


# -- 1. usage --------------------------------------------------------------------


def test_invoke_carries_usage_counted_as_the_service_counts(llm: ChatLiaobots) -> None:
    msg = llm.invoke("How are you?")
    usage = msg.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == llm.get_num_tokens_from_messages(
        [HumanMessage("How are you?")]
    )
    assert usage["output_tokens"] == TOKENIZER.count("You said: How are you?") == 7
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert "usage_estimated" not in msg.response_metadata  # cl100k_base, not a guess


async def test_usage_is_on_the_last_streamed_chunk_only(llm: ChatLiaobots) -> None:
    chunks = list(llm.stream("a longer question, so that it takes several pieces"))
    assert len(chunks) > 3
    assert all(c.usage_metadata is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata is not None
    assert "usage_estimated" not in chunks[-1].response_metadata
    invoked = llm.invoke("a longer question, so that it takes several pieces")
    assert aggregate(chunks).usage_metadata == invoked.usage_metadata
    achunks = [c async for c in llm.astream("a longer question, so that it takes")]
    assert [c.usage_metadata is not None for c in achunks].count(True) == 1
    assert achunks[-1].usage_metadata is not None


async def test_stream_usage_false_leaves_usage_off_the_stream(
    emulator: LiaobotsEmulator,
) -> None:
    quiet = ChatLiaobots(base_url=emulator.base_url, auth="k", stream_usage=False)
    chunks = list(quiet.stream("hi"))
    assert all(c.usage_metadata is None for c in chunks)
    assert "usage_estimated" not in chunks[-1].response_metadata
    assert [c async for c in quiet.astream("hi")][-1].usage_metadata is None
    assert quiet.invoke("hi").usage_metadata is not None  # invoke always has it
    loud = ChatLiaobots(base_url=emulator.base_url, auth="k")
    assert list(loud.stream("hi", stream_usage=False))[-1].usage_metadata is None


def test_next_turn_input_is_this_input_plus_this_output(llm: ChatLiaobots) -> None:
    first = [SystemMessage("Be brief."), HumanMessage("Tell me about Paris.")]
    answer = llm.invoke(first)
    follow_up = HumanMessage("And Rome?")
    second = llm.invoke([*first, answer, follow_up])
    assert answer.usage_metadata is not None
    assert second.usage_metadata is not None
    assert second.usage_metadata["input_tokens"] == (
        answer.usage_metadata["total_tokens"] + TOKENIZER.count("And Rome?")
    )


# -- 2. token counting agrees with the limit check --------------------------------


def test_counting_with_tools_agrees_with_the_sent_request_and_the_limit(
    emulator: LiaobotsEmulator,
) -> None:
    messages = [HumanMessage("What is the weather in 'Oslo'?")]
    llm = ChatLiaobots(base_url=emulator.base_url, auth="k")
    counted = llm.get_num_tokens_from_messages(messages, tools=[get_weather])
    assert counted > llm.get_num_tokens_from_messages(messages) + 50
    sent = llm.bind_tools([get_weather]).invoke(messages)
    assert sent.usage_metadata is not None
    assert sent.usage_metadata["input_tokens"] == counted
    for budget, fits in ((counted + 1000, True), (counted + 999, False)):
        register_model(
            {
                "id": f"budget-{budget}",
                "name": "Budget",
                "maxLength": 100_000,
                "tokenLimit": budget,
            }
        )
        tight = ChatLiaobots(
            base_url=emulator.base_url, auth="k", model=f"budget-{budget}"
        ).bind_tools([get_weather])
        if fits:
            assert tight.invoke(messages).tool_calls
        else:
            with pytest.raises(ContextOverflowError, match="tokenLimit"):
                tight.invoke(messages)


# -- 4. max_tokens honoured on the client ------------------------------------------


def test_max_tokens_cuts_the_answer_and_closes_its_connection(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=LONG_ANSWER, piece_bytes=8, pace=0.01))
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k", max_tokens=12)
    msg = llm.invoke("talk a lot")
    assert msg.response_metadata["finish_reason"] == "length"
    assert LONG_ANSWER.startswith(msg.text)
    assert 0 < len(msg.text) < 100
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["output_tokens"] == 12
    assert TOKENIZER.count(msg.text + "w") > 12  # the longest prefix that fits
    wait_for(lambda: fresh_emulator.answers_abandoned == 1)
    assert fresh_emulator.answers_completed == 0


async def test_max_tokens_per_call_async(fresh_emulator: LiaobotsEmulator) -> None:
    fresh_emulator.script(Answer(text=LONG_ANSWER, piece_bytes=8, pace=0.01))
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    chunks = [c async for c in llm.astream("talk a lot", max_tokens=20)]
    assert chunks[-1].response_metadata["finish_reason"] == "length"
    assert aggregate(chunks).usage_metadata["output_tokens"] == 20  # type: ignore[index]
    await asyncio.to_thread(wait_for, lambda: fresh_emulator.answers_abandoned == 1)
    assert fresh_emulator.answers_completed == 0
    short = await llm.ainvoke("hi", max_tokens=100)
    assert short.response_metadata["finish_reason"] == "stop"
    assert fresh_emulator.answers_completed == 1


def test_a_consumer_that_stops_iterating_closes_the_answer(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=LONG_ANSWER, piece_bytes=8, pace=0.01))
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    stream = llm.stream("talk a lot")
    assert next(stream).text == "word wor"
    stream.close()
    wait_for(lambda: fresh_emulator.answers_abandoned == 1)
    assert fresh_emulator.answers_completed == 0


# -- 7. protocol fidelity ----------------------------------------------------------


def test_models_of_unknown_limits_are_registered_and_usable() -> None:
    entry = {
        "id": "zero-limits-model",
        "name": "Zero",
        "maxLength": 0,
        "tokenLimit": 0,
        "context": 0,
        "model": "ChatGPT",
        "provider": "OpenAI",
        "success_rate": 99.5,
        "tps": 42,
    }
    with LiaobotsEmulator(models=[entry]) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="k")
        (spec,) = llm.discover_models()
        assert spec == get_model("zero-limits-model", server.base_url)
        assert spec.input_token_limit is None
        big = "x" * 30_000  # over the seed entries' budgets; this one is unknown
        zero = ChatLiaobots(base_url=server.base_url, auth="k", model=spec.id)
        answer = zero.invoke(big)  # sent whole, and answered up to the 1,000 cap
        assert f"You said: {big}".startswith(answer.text)
        assert TOKENIZER.count(answer.text) <= ANSWER_TOKENS
        assert answer.response_metadata["finish_reason"] == "length"
        assert server.requests[-1].dropped == 0
        assert zero.profile is not None
        assert "max_input_tokens" not in zero.profile
        sent = server.requests[-1].payload
        assert sent is not None
        assert sent["model"]["maxLength"] == 0
        assert sent["model"]["tokenLimit"] == 0
        assert sent["model"]["context"] == 0
        as_2025 = ChatLiaobots(
            base_url=server.base_url, auth="k", model=spec.id, body_format="2025"
        )
        assert as_2025.invoke("hi").text == "You said: hi"


@pytest.mark.parametrize("body_format", ["2023", "2025"])
def test_login_and_user_bodies_of_each_era(body_format: str) -> None:
    with LiaobotsEmulator(require_cookie=True) as server:
        llm = ChatLiaobots(
            base_url=server.base_url,
            acquire_auth_code=True,
            session_login=True,
            body_format=body_format,  # type: ignore[arg-type]
            model="gpt-4o-free",
        )
        assert llm.invoke("hi").text == "You said: hi"
        assert llm.account().balance is not None
        login, user, chat, account = server.requests
        assert [login.path, user.path, chat.path, account.path] == [
            LOGIN_PATH,
            USER_PATH,
            CHAT_PATH,
            USER_PATH,
        ]
        if body_format == "2023":
            assert login.payload == {}
            assert user.payload == {"authcode": ""}
            assert account.payload is not None
            assert set(account.payload) == {"authcode"}
        else:
            assert login.payload is not None
            assert re.fullmatch(r"[A-Za-z0-9]{20}", login.payload["token"])
            assert user.payload == {
                "authcode": "",
                "recommendUrl": f"{server.base_url}/zh",
            }
            assert account.payload is not None
            assert account.payload["recommendUrl"] == f"{server.base_url}/zh"


async def test_a_plain_aiohttp_client_keeps_the_cookie_via_localhost() -> None:
    payload = build_payload(
        get_model("gpt-4"), "Be brief.", [{"role": "user", "content": "hi"}]
    )
    headers = {"x-auth-code": "third-party"}
    with LiaobotsEmulator(require_cookie=True) as server:
        assert server.localhost_url.startswith("http://localhost:")
        for base, answer in (
            (server.localhost_url, "You said: hi"),
            (server.base_url, None),  # an IP address: the default jar keeps nothing
        ):
            async with aiohttp.ClientSession() as session:
                async with session.post(base + LOGIN_PATH, json={}) as resp:
                    assert (await resp.json())["code"] == 200
                async with session.post(
                    base + CHAT_PATH, json=payload, headers=headers
                ) as resp:
                    text = await resp.text()
            if answer is None:
                assert "coupert-item=" in text  # the captcha page
            else:
                assert text == answer
