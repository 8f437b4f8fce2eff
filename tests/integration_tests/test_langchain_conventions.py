"""What a LangChain user of ChatOpenAI or ChatAnthropic expects, over real HTTP.

Issue 21's cases of the prompt layer, each on the sync and the async path
against the local server: an answer schema with ``name`` and ``arguments``
is the answer, not a call; a forced choice cut at ``max_tokens`` says so;
reasoning and ``text-plain`` blocks in history; Anthropic's ``tool_choice``
shapes and ``parallel_tool_calls=False``; ``include_raw``'s three keys;
structured output that streams partial objects; legacy function calling.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
)
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_function
from pydantic import BaseModel

from langchain_liaobots import ChatLiaobots, LiaobotsReplyError
from langchain_liaobots.emulator import Answer, LiaobotsEmulator
from langchain_liaobots.errors import LiaobotsUnsupportedParameterWarning
from langchain_liaobots.prompt.tools import ONE_CALL
from langchain_liaobots.wire.protocol import CHAT_PATH
from tests.helpers.replies import City, get_time, get_weather

PATHS = ["sync", "async"]
QUESTION = "What is the weather in 'Paris'?"
CITY_QUESTION = "The city of 'Paris' has 2102650 inhabitants."
TWO_CALLS = json.dumps(
    {
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": {"city": "Paris"}},
        ]
    }
)


class Action(BaseModel):
    """An action the agent settles on."""

    name: str
    arguments: dict[str, Any]


def model(server: LiaobotsEmulator, **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(base_url=server.base_url, auth="k", timeout=10, **kwargs)


def chats(server: LiaobotsEmulator) -> list[dict[str, Any]]:
    return [r.payload for r in server.requests if r.path == CHAT_PATH and r.payload]


async def call(runnable: Runnable[Any, Any], value: Any, path: str) -> Any:
    """``invoke`` or ``ainvoke``."""
    if path == "sync":
        return runnable.invoke(value)
    return await runnable.ainvoke(value)


async def streamed(runnable: Runnable[Any, Any], value: Any, path: str) -> list[Any]:
    """Everything ``stream`` or ``astream`` yields."""
    if path == "sync":
        return list(runnable.stream(value))
    return [item async for item in runnable.astream(value)]


# -- 2: an answer schema with "name" and "arguments" is the answer ------------------


@pytest.mark.parametrize("path", PATHS)
async def test_an_agent_answer_named_like_a_call_ends_the_run(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    llm = model(fresh_emulator, model="gpt-4o-free")  # native structured output
    agent = create_agent(llm, tools=[get_weather], response_format=Action)
    state = {"messages": [HumanMessage(QUESTION)]}
    config = {"recursion_limit": 8}  # the bug looped to GraphRecursionError
    result = (
        agent.invoke(state, config)
        if path == "sync"
        else await agent.ainvoke(state, config)
    )
    assert isinstance(result["structured_response"], Action)
    assert result["structured_response"].name == "Paris"
    called = [
        c["name"] for m in result["messages"] for c in getattr(m, "tool_calls", [])
    ]
    assert called == ["get_weather"]  # the answer was not taken for a call


@pytest.mark.parametrize("path", PATHS)
async def test_bind_tools_with_response_format_reads_an_unbound_name_as_the_answer(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    answer = '{"name": "Paris", "arguments": {"country": "France"}}'
    fresh_emulator.script(Answer(text=answer), Answer(text=answer))
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "Action", "schema": Action.model_json_schema()},
    }
    bound = model(fresh_emulator).bind_tools([get_weather], response_format=fmt)
    msg = await call(bound, QUESTION, path)
    assert msg.tool_calls == []
    assert msg.invalid_tool_calls == []
    assert json.loads(msg.content) == json.loads(answer)
    assert msg.response_metadata["finish_reason"] == "stop"
    chunks = await streamed(bound, QUESTION, path)
    assert json.loads("".join(str(c.content) for c in chunks)) == json.loads(answer)


@pytest.mark.parametrize("path", PATHS)
async def test_with_response_format_a_bound_tools_name_is_still_a_call(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(
        Answer(text='{"name": "get_weather", "arguments": {"city": "Paris"}}')
    )
    fmt = {"type": "json_object"}
    bound = model(fresh_emulator).bind_tools([get_weather], response_format=fmt)
    msg = await call(bound, QUESTION, path)
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


# -- 7: a forced choice cut at max_tokens is never an empty message ------------------


@pytest.mark.parametrize("path", PATHS)
async def test_a_forced_choice_cut_before_anything_raises_naming_max_tokens(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(Answer(text='\n\n\n{"tool_calls": []}'))
    forced = model(fresh_emulator).bind_tools([get_weather], tool_choice="any")
    with pytest.raises(LiaobotsReplyError, match=r"max_tokens=1 cut the reply") as err:
        await call(forced.bind(max_tokens=1), QUESTION, path)
    assert "tool_choice='any' requires a tool call" in str(err.value)
    assert err.value.attempts == 1
    assert len(chats(fresh_emulator)) == 1  # a cut asked for is not repaired


@pytest.mark.parametrize("path", PATHS)
async def test_a_forced_choice_cut_at_its_first_token_keeps_that_text(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    forced = model(fresh_emulator).bind_tools([get_weather], tool_choice="any")
    msg = await call(forced.bind(max_tokens=1), QUESTION, path)
    assert msg.content == '{"'  # one token of the call: said, never empty
    assert msg.response_metadata["finish_reason"] == "length"
    assert len(chats(fresh_emulator)) == 1


@pytest.mark.parametrize("path", PATHS)
async def test_a_forced_call_cut_at_max_tokens_is_an_invalid_call_with_length(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    forced = model(fresh_emulator).bind_tools([get_weather], tool_choice="any")
    msg = await call(forced.bind(max_tokens=14), QUESTION, path)
    assert msg.response_metadata["finish_reason"] == "length"
    assert msg.tool_calls == []
    (cut,) = msg.invalid_tool_calls  # what was cut, and why it is unusable
    assert json.loads(cut["args"] or "").startswith('{"tool_calls": [')
    assert "cut off" in (cut["error"] or "")


# -- 8: reasoning and text-plain blocks in history ----------------------------------


@pytest.mark.parametrize("path", PATHS)
async def test_history_with_reasoning_and_text_plain_blocks_is_sent(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    handed_over = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "The user greets me."},
            {"type": "thinking", "thinking": "Be warm.", "signature": "s"},
            {"type": "text", "text": "Hello!"},
        ]
    )
    human = HumanMessage(
        content=[
            {"type": "text-plain", "text": "Tell me more.", "mime_type": "text/plain"}
        ]
    )
    history: list[BaseMessage] = [HumanMessage("Hi"), handed_over, human]
    await call(model(fresh_emulator), history, path)
    (sent,) = chats(fresh_emulator)
    assert sent["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},  # the reasoning is dropped
        {"role": "user", "content": "Tell me more."},
    ]


# -- 9: Anthropic's tool_choice shapes, parallel_tool_calls=False --------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "choice",
    [{"type": "tool", "name": "get_weather"}, {"type": "any"}],
)
async def test_anthropic_tool_choice_forces_the_call(
    fresh_emulator: LiaobotsEmulator, path: str, choice: dict[str, Any]
) -> None:
    fresh_emulator.script(Answer(text="I can't look that up."))
    bound = model(fresh_emulator).bind_tools(
        [get_weather, get_time], tool_choice=choice
    )
    msg = await call(bound, QUESTION, path)
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]
    assert msg.response_metadata["attempts"] == 2  # the prose was repaired


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "binding",
    [
        {"parallel_tool_calls": False},
        {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
    ],
)
async def test_one_call_at_a_time_is_asked_for_and_kept(
    fresh_emulator: LiaobotsEmulator, path: str, binding: dict[str, Any]
) -> None:
    fresh_emulator.script(Answer(text=TWO_CALLS))
    bound = model(fresh_emulator).bind_tools([get_weather, get_time], **binding)
    msg = await call(bound, QUESTION, path)
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]  # the first
    assert msg.invalid_tool_calls == []
    (sent,) = chats(fresh_emulator)
    assert ONE_CALL in sent["prompt"]
    assert "List several calls" not in sent["prompt"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_dropped_later_call_leaves_no_error_behind(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    valid_then_bad = (
        '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "get_time", "arguments": 3}]}'
    )
    fresh_emulator.script(Answer(text=valid_then_bad))
    llm = model(fresh_emulator)
    bound = llm.bind_tools([get_weather, get_time], parallel_tool_calls=False)
    msg = await call(bound, QUESTION, path)
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]
    assert msg.invalid_tool_calls == []
    assert "tool_call_errors" not in msg.response_metadata


@pytest.mark.parametrize("path", PATHS)
async def test_several_calls_stay_allowed_by_default(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(Answer(text=TWO_CALLS))
    bound = model(fresh_emulator).bind_tools([get_weather, get_time])
    msg = await call(bound, QUESTION, path)
    assert [c["name"] for c in msg.tool_calls] == ["get_weather", "get_time"]
    assert "List several calls" in chats(fresh_emulator)[0]["prompt"]


# -- 18: include_raw has LangChain's three keys --------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_include_raw_unpacks_as_langchain_documents(
    fresh_emulator: LiaobotsEmulator, path: str, method: str
) -> None:
    structured = model(fresh_emulator).with_structured_output(
        City, method=method, include_raw=True
    )  # type: ignore[call-overload]
    out = await call(structured, CITY_QUESTION, path)
    assert set(out) == {"raw", "parsed", "parsing_error"}
    assert out["parsed"] == City(name="Paris", population=2102650)
    assert out["parsing_error"] is None
    assert "attempts" not in out["raw"].response_metadata  # one attempt


# -- 20: structured output streams partial objects -----------------------------------


@pytest.mark.parametrize("path", PATHS)
async def test_structured_output_streams_partial_dicts_then_the_result(
    path: str,
) -> None:
    with LiaobotsEmulator(pace=0.02, piece_bytes=8) as server:
        structured = model(server).with_structured_output(City.model_json_schema())
        partials = await streamed(structured, CITY_QUESTION, path)
    assert partials[-1] == {"name": "Paris", "population": 2102650}
    assert {"name": "Paris"} in partials[:-1]  # before the population arrived


@pytest.mark.parametrize("path", PATHS)
async def test_a_streamed_answer_that_fails_validation_is_still_repaired(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(
        Answer(text='{"name": "Paris", "population": "lots"}'),
        Answer(text='{"name": "Paris", "population": 2102650}'),
    )
    structured = model(fresh_emulator).with_structured_output(City)
    partials = await streamed(structured, CITY_QUESTION, path)
    assert partials[-1] == City(name="Paris", population=2102650)
    assert all(isinstance(p, City) for p in partials)
    assert len(chats(fresh_emulator)) == 2


@pytest.mark.parametrize("path", PATHS)
async def test_a_streamed_answer_that_never_validates_raises(path: str) -> None:
    with LiaobotsEmulator(responder=lambda _: '{"name": "Paris"}') as server:
        structured = model(server, parse_retries=1).with_structured_output(City)
        with pytest.raises(OutputParserException, match="population"):
            await streamed(structured, CITY_QUESTION, path)
        assert len(chats(server)) == 2


# -- 21: legacy OpenAI function calling ----------------------------------------------


@pytest.mark.parametrize("path", PATHS)
async def test_functions_are_tools_and_the_call_is_a_function_call(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(Answer(text=TWO_CALLS))
    functions = [convert_to_openai_function(t) for t in (get_weather, get_time)]
    bound = model(fresh_emulator).bind(
        functions=functions, function_call={"name": "get_weather"}
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        msg = await call(bound, QUESTION, path)
    assert not [w for w in record if w.category is LiaobotsUnsupportedParameterWarning]
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    function_call = msg.additional_kwargs["function_call"]
    assert function_call["name"] == "get_weather"
    assert json.loads(function_call["arguments"]) == {"city": "Paris"}
    (sent,) = chats(fresh_emulator)
    assert '"name": "get_time"' in sent["prompt"]  # both offered
    assert 'You must call the tool "get_weather"' in sent["prompt"]
    assert ONE_CALL in sent["prompt"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_function_call_and_its_function_message_are_sent_as_a_call_and_result(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    history: list[BaseMessage] = [
        HumanMessage(QUESTION),
        AIMessage(
            "",
            additional_kwargs={
                "function_call": {
                    "name": "get_weather",
                    "arguments": '{"city": "Paris"}',
                }
            },
        ),
        FunctionMessage(name="get_weather", content="Sunny, 21 °C in Paris"),
    ]
    functions = [convert_to_openai_function(get_weather)]
    msg = await call(model(fresh_emulator).bind(functions=functions), history, path)
    assert "Sunny" in str(msg.content)
    (sent,) = chats(fresh_emulator)
    call_turn, result_turn = sent["messages"][1:]
    assert json.loads(call_turn["content"]) == {
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    }
    assert result_turn["content"] == (
        '<tool_result name="get_weather" id="" status="success">\n'
        "Sunny, 21 °C in Paris\n</tool_result>"
    )


def test_a_function_call_of_another_shape_is_refused_naming_what_is_accepted() -> None:
    llm = ChatLiaobots(auth="k")
    functions = [convert_to_openai_function(get_weather)]
    with pytest.raises(ValueError, match=r"Unsupported function_call 3: use 'auto'"):
        llm.bind(functions=functions, function_call=3).invoke(QUESTION)
