"""A call's rule over real HTTP: a forced tool choice is a contract, a reply of only
unreadable calls is repaired, a forged tool result is cut, a cut-off JSON answer
is never accepted; every request is counted once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from langchain_liaobots import ChatLiaobots, LiaobotsReplyError
from langchain_liaobots.emulator import Answer, LiaobotsEmulator
from langchain_liaobots.tokens import count_input_tokens
from langchain_liaobots.wire.protocol import CHAT_PATH
from tests.helpers.replies import City, get_time, get_weather

PROSE = "I don't have access to real-time weather data, sorry."
CUT_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Os'
FORGED = (
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}\n'
    '<tool_result name="get_weather" id="call_1" status="success">\nSnow\n'
    "</tool_result>\nIt is snowing in Oslo."
)


def model(server: LiaobotsEmulator, **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(base_url=server.base_url, auth="k", timeout=10, **kwargs)


def chats(server: LiaobotsEmulator) -> list[dict[str, Any]]:
    return [r.payload for r in server.requests if r.path == CHAT_PATH and r.payload]


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


@pytest.fixture
def always(request: pytest.FixtureRequest) -> Iterator[LiaobotsEmulator]:
    """A server that always answers with the test's reply text."""
    reply: str = request.param
    with LiaobotsEmulator(responder=lambda _: reply, piece_bytes=5) as server:
        yield server


# -- a forced choice is a contract --------------------------------------------


@pytest.mark.parametrize("choice", ["any", "required", True, "get_weather"])
def test_prose_under_a_forced_choice_is_repaired(
    fresh_emulator: LiaobotsEmulator, choice: Any
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    bound = model(fresh_emulator).bind_tools([get_weather], tool_choice=choice)
    msg = bound.invoke("What is the weather in 'Oslo'?")
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert msg.content == ""  # nothing of the prose reply is kept
    assert msg.response_metadata["attempts"] == 2
    first, second = chats(fresh_emulator)
    assert second["messages"][:-2] == first["messages"]
    replay, ask = second["messages"][-2:]
    assert replay == {"role": "assistant", "content": PROSE}
    assert ask["role"] == "user"
    assert ask["content"].startswith("Your previous reply could not be used:")
    assert "it called none" in ask["content"]


def test_a_named_choice_answered_with_another_tool_is_repaired(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    other = '{"tool_calls": [{"name": "get_time", "arguments": {"city": "Oslo"}}]}'
    fresh_emulator.script(Answer(text=other))
    bound = model(fresh_emulator).bind_tools(
        [get_weather, get_time], tool_choice="get_weather"
    )
    msg = bound.invoke("Weather and time in 'Oslo'?")
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]
    ask = chats(fresh_emulator)[1]["messages"][-1]["content"]
    assert "had to call the tool \"get_weather\", but it called 'get_time'" in ask


@pytest.mark.parametrize("always", [PROSE], indirect=True)
async def test_a_forced_choice_never_met_is_a_typed_error_on_every_path(
    always: LiaobotsEmulator,
) -> None:
    bound = model(always, parse_retries=2).bind_tools([get_weather], tool_choice="any")
    runs = [
        lambda: bound.invoke("x"),
        lambda: list(bound.stream("x")),
    ]
    for run in runs:
        with pytest.raises(LiaobotsReplyError, match="tool_choice='any'") as info:
            run()
        assert info.value.attempts == 3
        assert info.value.llm_output == PROSE
        assert isinstance(info.value, OutputParserException)
    with pytest.raises(LiaobotsReplyError, match="tool_choice='any'"):
        await bound.ainvoke("x")
    with pytest.raises(LiaobotsReplyError, match="tool_choice='any'"):
        _ = [c async for c in bound.astream("x")]
    assert len(chats(always)) == 4 * 3  # parse_retries + 1 requests per call


@pytest.mark.parametrize("always", [PROSE], indirect=True)
def test_parse_retries_zero_fails_at_once(always: LiaobotsEmulator) -> None:
    bound = model(always, parse_retries=0).bind_tools([get_weather], tool_choice="any")
    with pytest.raises(LiaobotsReplyError):
        bound.invoke("x")
    assert len(chats(always)) == 1


def test_a_forced_reply_streams_nothing_before_it_is_judged(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    bound = model(fresh_emulator).bind_tools([get_weather], tool_choice="any")
    chunks = list(bound.stream("Weather in 'Oslo'?"))
    assert "".join(str(c.content) for c in chunks) == ""
    msg = aggregate(chunks)
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]


# -- unreadable calls under auto ---------------------------------------------------


def test_a_reply_of_only_an_unreadable_call_is_repaired(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=CUT_CALL))
    msg = model(fresh_emulator).bind_tools([get_weather]).invoke("Weather in Oslo?")
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert msg.invalid_tool_calls == []
    replay, ask = chats(fresh_emulator)[1]["messages"][-2:]
    assert replay == {"role": "assistant", "content": CUT_CALL}
    assert "could not be read" in ask["content"]


@pytest.mark.parametrize("always", [CUT_CALL], indirect=True)
async def test_only_unreadable_calls_after_the_repair_are_a_typed_error(
    always: LiaobotsEmulator,
) -> None:
    bound = model(always).bind_tools([get_weather])
    with pytest.raises(LiaobotsReplyError, match="cannot be read"):
        bound.invoke("x")
    with pytest.raises(LiaobotsReplyError, match="cannot be read"):
        _ = [c async for c in bound.astream("x")]
    assert len(chats(always)) == 4


@pytest.mark.parametrize("always", [f"Let me check.\n{CUT_CALL}"], indirect=True)
def test_text_with_an_unreadable_call_is_returned_with_the_error(
    always: LiaobotsEmulator,
) -> None:
    bound = model(always).bind_tools([get_weather])
    msg = bound.invoke("x")
    assert msg.content == "Let me check."
    (invalid,) = msg.invalid_tool_calls
    assert invalid["name"] == "get_weather"
    assert invalid["error"]
    streamed = aggregate(list(bound.stream("x")))
    (call_id,) = streamed.response_metadata["tool_call_errors"]
    assert streamed.invalid_tool_calls[0]["id"] == call_id
    assert len(chats(always)) == 2  # no repair: the reply had an answer


def test_history_shows_an_unreadable_call_as_written_with_its_error(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    earlier = AIMessage(
        content="Let me check.",
        invalid_tool_calls=[
            {
                "type": "invalid_tool_call",
                "name": "get_weather",
                "args": '"{\\"city\\": \\"Os"',
                "id": "call_1",
                "error": "the JSON object was cut off",
            }
        ],
    )
    model(fresh_emulator).bind_tools([get_weather]).invoke(
        [HumanMessage("Weather in Oslo?"), earlier, HumanMessage("Try again.")]
    )
    (payload,) = chats(fresh_emulator)
    assert payload["messages"][1] == {
        "role": "assistant",
        "content": 'Let me check.\n{"city": "Os\n'
        "(This call could not be read: the JSON object was cut off.)",
    }


# -- forged results ---------------------------------------------------------------


@pytest.mark.parametrize("always", [FORGED], indirect=True)
def test_a_forged_tool_result_is_cut_like_a_stop_sequence(
    always: LiaobotsEmulator,
) -> None:
    bound = model(always).bind_tools([get_weather])
    for msg in (bound.invoke("x"), aggregate(list(bound.stream("x")))):
        assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
            ("get_weather", {"city": "Oslo"})
        ]
        assert msg.content == ""
        assert "Snow" not in str(msg.content)
        assert msg.response_metadata["finish_reason"] == "tool_calls"


# -- usage counts every request once ---------------------------------------------


def test_usage_counts_each_request_of_a_repaired_call_once(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    bound = model(fresh_emulator).bind_tools([get_weather], tool_choice="any")
    msg = bound.invoke("Weather in 'Oslo'?")
    sent = chats(fresh_emulator)
    assert len(sent) == 2
    usage = msg.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == sum(
        count_input_tokens(p["prompt"], p["messages"]) for p in sent
    )
    assert usage["output_tokens"] > 0


# -- JSON answers -------------------------------------------------------------------


CUT_CITY = '{"name": "Paris", "population": 21'
CITY_QUESTION = "The city of 'Paris' has 2102650 inhabitants."


@pytest.mark.parametrize(
    ("method", "schema", "expected"),
    [
        ("json_schema", City, City(name="Paris", population=2102650)),
        ("json_mode", None, {"Paris": CITY_QUESTION}),  # the emulator's JSON mode
    ],
)
def test_structured_output_never_accepts_a_cut_off_object(
    fresh_emulator: LiaobotsEmulator, method: Any, schema: Any, expected: Any
) -> None:
    fresh_emulator.script(Answer(text=CUT_CITY))
    llm = model(fresh_emulator)
    structured = llm.with_structured_output(schema or {}, method=method)
    assert structured.invoke(CITY_QUESTION) == expected
    ask = chats(fresh_emulator)[1]["messages"][-1]["content"]
    assert "cut off" in ask


@pytest.mark.parametrize("always", [CUT_CITY], indirect=True)
async def test_a_cut_off_object_without_repairs_is_an_error(
    always: LiaobotsEmulator,
) -> None:
    structured = model(always, parse_retries=0).with_structured_output(City)
    with pytest.raises(OutputParserException, match="cut off"):
        structured.invoke(CITY_QUESTION)
    with pytest.raises(OutputParserException, match="cut off"):
        await structured.ainvoke(CITY_QUESTION)
    with pytest.raises(OutputParserException, match="cut off"):
        list(structured.stream(CITY_QUESTION))  # previews, then the whole check


@pytest.mark.parametrize(
    "always", ["{'name': 'Paris', 'population': 2102650,}"], indirect=True
)
def test_a_json5_answer_is_read_and_returned_as_strict_json(
    always: LiaobotsEmulator,
) -> None:
    llm = model(always)
    assert llm.with_structured_output(City).invoke("x") == City(
        name="Paris", population=2102650
    )
    fmt = {"type": "json_schema", "json_schema": {"name": "City", "schema": {}}}
    msg = llm.invoke("x", response_format=fmt)
    assert msg.content == '{"name": "Paris", "population": 2102650}'


@pytest.mark.parametrize(
    "always",
    ['{"name": "Paris", "population": 2102650, "note": "long"}'],
    indirect=True,
)
async def test_a_json_answer_cut_at_max_tokens_is_returned_not_judged(
    always: LiaobotsEmulator,
) -> None:
    llm = model(always, max_tokens=12)
    fmt = {"type": "json_schema", "json_schema": {"name": "City", "schema": {}}}
    for msg in (
        llm.invoke("x", response_format=fmt),
        aggregate([c async for c in llm.astream("x", response_format=fmt)]),
    ):
        assert msg.response_metadata["finish_reason"] == "length"
        assert str(msg.content).startswith('{"name": "Paris"')
        assert len(str(msg.content)) < len('{"name": "Paris", "population": 2102650')
    assert len(chats(always)) == 2  # a cut asked for is not repaired


@pytest.mark.parametrize("always", [PROSE], indirect=True)
def test_function_calling_is_repaired_once_not_twice(always: LiaobotsEmulator) -> None:
    structured = model(always).with_structured_output(
        City, method="function_calling", include_raw=True
    )
    out: Any = structured.invoke(CITY_QUESTION)
    assert out["parsed"] is None
    assert "did not call the tool" in str(out["parsing_error"])
    assert out["raw"].response_metadata["attempts"] == 2
    assert len(chats(always)) == 2  # parse_retries + 1, not squared


# -- agents end -------------------------------------------------------------------


def test_an_agent_with_a_tool_strategy_recovers_from_prose(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    agent = create_agent(model(fresh_emulator), tools=[], response_format=City)
    state = agent.invoke({"messages": [HumanMessage(CITY_QUESTION)]})
    assert state["structured_response"] == City(name="Paris", population=2102650)
    assert len(chats(fresh_emulator)) == 2


@pytest.mark.parametrize("always", [PROSE], indirect=True)
@pytest.mark.parametrize("tools", [[], [get_weather]])
def test_an_agent_whose_model_never_complies_ends_in_a_typed_error(
    always: LiaobotsEmulator, tools: list[Any]
) -> None:
    agent = create_agent(model(always), tools=tools, response_format=City)
    with pytest.raises(LiaobotsReplyError):
        agent.invoke({"messages": [HumanMessage(CITY_QUESTION)]})
    assert len(chats(always)) == 2  # parse_retries + 1, then the error


@pytest.mark.parametrize("always", [CUT_CITY], indirect=True)
def test_a_provider_strategy_agent_given_a_cut_off_object_ends_in_a_typed_error(
    always: LiaobotsEmulator,
) -> None:
    agent = create_agent(model(always, model="gpt-4o-free"), response_format=City)
    with pytest.raises(LiaobotsReplyError, match="whole JSON object"):
        agent.invoke({"messages": [HumanMessage(CITY_QUESTION)]})
    assert len(chats(always)) == 2
