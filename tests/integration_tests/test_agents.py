"""Tools, structured output and agents over real HTTP against the local server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.prompt.structured import read_answer_instructions
from langchain_liaobots.prompt.tools import (
    MUST_CALL_ANY,
    read_tool_instructions,
    read_tool_result,
)

QUESTION = "What is the weather in Paris, and what is 21 celsius in fahrenheit?"
ANSWER = (
    "get_weather returned: Sunny, 21 °C in Paris\ncelsius_to_fahrenheit returned: 69.8"
)
CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}'


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 °C in {city}"


@tool
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return round(celsius * 9 / 5 + 32, 1)


class WeatherReport(BaseModel):
    """A short weather report."""

    city: str = Field(description="The city")
    summary: str = Field(description="The weather, in a few words")


def model(server: LiaobotsEmulator, **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(base_url=server.base_url, auth="agent-code", **kwargs)


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return total


def check_agent_transcript(messages: list[Any]) -> None:
    human, calls, weather, fahrenheit, final = messages
    assert isinstance(human, HumanMessage)
    assert [(c["name"], c["args"]) for c in calls.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("celsius_to_fahrenheit", {"celsius": 21}),
    ]
    assert calls.response_metadata["finish_reason"] == "tool_calls"
    assert isinstance(weather, ToolMessage)
    assert weather.content == "Sunny, 21 °C in Paris"
    assert isinstance(fahrenheit, ToolMessage)
    assert fahrenheit.content == "69.8"
    assert isinstance(final, AIMessage)
    assert final.content == ANSWER
    assert final.tool_calls == []
    assert final.response_metadata["finish_reason"] == "stop"


def test_create_agent_runs_two_tools_to_an_answer(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    agent = create_agent(
        model(fresh_emulator), tools=[get_weather, celsius_to_fahrenheit]
    )
    state = agent.invoke({"messages": [HumanMessage(QUESTION)]})
    check_agent_transcript(state["messages"])
    first, second = (r.payload for r in fresh_emulator.requests)
    assert first is not None
    assert second is not None
    offer = read_tool_instructions(first["prompt"])
    assert offer is not None
    assert [f["name"] for f in offer.functions] == [
        "get_weather",
        "celsius_to_fahrenheit",
    ]
    assert offer.choice == "auto"
    user, assistant, result_1, result_2 = second["messages"]
    assert user == {"role": "user", "content": QUESTION}
    assert json.loads(assistant["content"])["tool_calls"][0]["arguments"] == {
        "city": "Paris"
    }
    parsed = read_tool_result(result_1["content"])
    assert parsed is not None
    assert parsed.name == "get_weather"
    assert parsed.call_id == state["messages"][1].tool_calls[0]["id"]
    assert read_tool_result(result_2["content"]) is not None


async def test_create_agent_runs_async(emulator: LiaobotsEmulator) -> None:
    agent = create_agent(model(emulator), tools=[get_weather, celsius_to_fahrenheit])
    state = await agent.ainvoke({"messages": [HumanMessage(QUESTION)]})
    check_agent_transcript(state["messages"])


def test_create_agent_streams_its_steps(emulator: LiaobotsEmulator) -> None:
    agent = create_agent(model(emulator), tools=[get_weather, celsius_to_fahrenheit])
    steps = [
        node
        for step in agent.stream(
            {"messages": [HumanMessage(QUESTION)]}, stream_mode="updates"
        )
        for node in step
    ]
    assert steps == ["model", "tools", "tools", "model"]


def test_native_structured_output_strategy_for_gpt_4o_names(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    agent = create_agent(
        model(fresh_emulator, model="gpt-4o-free"),
        tools=[get_weather],
        response_format=WeatherReport,
    )
    state = agent.invoke({"messages": [HumanMessage("Weather in Paris?")]})
    expected = WeatherReport(city="Paris", summary="Sunny, 21 °C in Paris")
    assert state["structured_response"] == expected
    final = state["messages"][-1]
    assert json.loads(final.content) == expected.model_dump()
    last = fresh_emulator.requests[-1].payload
    assert last is not None
    answer = read_answer_instructions(last["prompt"])
    assert answer is not None
    assert answer.schema is not None
    assert answer.schema["title"] == "WeatherReport"
    offer = read_tool_instructions(last["prompt"])
    assert offer is not None
    assert [f["name"] for f in offer.functions] == ["get_weather"]


def test_tool_strategy_for_other_names(fresh_emulator: LiaobotsEmulator) -> None:
    agent = create_agent(
        model(fresh_emulator, model="gpt-4"),
        tools=[get_weather],
        response_format=WeatherReport,
    )
    state = agent.invoke({"messages": [HumanMessage("Weather in Paris?")]})
    assert state["structured_response"] == WeatherReport(
        city="Paris", summary="Sunny, 21 °C in Paris"
    )
    calls = [m.tool_calls[0]["name"] for m in state["messages"] if m.type == "ai"]
    assert calls == ["get_weather", "WeatherReport"]
    last = fresh_emulator.requests[-1].payload
    assert last is not None
    assert MUST_CALL_ANY in last["prompt"]
    assert read_answer_instructions(last["prompt"]) is None


def test_langgraph_tool_loop(emulator: LiaobotsEmulator) -> None:
    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    bound = model(emulator).bind_tools([multiply])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode([multiply]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    state = graph.compile().invoke({"messages": [HumanMessage("multiply 6 by 7")]})
    assert [m.type for m in state["messages"]] == ["human", "ai", "tool", "ai"]
    assert state["messages"][1].tool_calls[0]["args"] == {"a": 6, "b": 7}
    assert state["messages"][-1].content == "multiply returned: 42"


# -- streaming and parsing over HTTP ---------------------------------------------


def test_plain_text_streams_with_tools_bound() -> None:
    with LiaobotsEmulator(piece_bytes=4, pace=0.4) as server:
        bound = model(server).bind_tools([get_weather])
        stream = bound.stream("abcdefgh")
        first = next(stream)
        assert first.text == "You"
        assert server.answers_completed == 0
        rest = "".join(c.text for c in stream)
        assert first.text + rest == "You said: abcdefgh"


async def test_plain_text_streams_with_tools_bound_async() -> None:
    with LiaobotsEmulator(piece_bytes=4, pace=0.4) as server:
        bound = model(server).bind_tools([get_weather])
        stream = bound.astream("abcdefgh")
        first = await anext(stream)
        assert first.text == "You"
        assert server.answers_completed == 0
        rest = "".join([c.text async for c in stream])
        assert first.text + rest == "You said: abcdefgh"


async def test_sync_and_async_paths_agree(emulator: LiaobotsEmulator) -> None:
    bound = model(emulator).bind_tools([get_weather], tool_choice="get_weather")
    question = "Create a forecast for 'Zürich 苏黎世'"
    results = [bound.invoke(question), await bound.ainvoke(question)]
    for chunks in (
        list(bound.stream(question)),
        [c async for c in bound.astream(question)],
    ):
        assert chunks[-1].chunk_position == "last"
        results.append(aggregate(chunks))
    for result in results:
        assert [(c["name"], c["args"]) for c in result.tool_calls] == [
            ("get_weather", {"city": "Zürich 苏黎世"})
        ]
        assert result.tool_calls[0]["id"].startswith("call_")
        assert result.content == ""


def test_prose_and_fenced_call_from_a_chatty_model() -> None:
    reply = f"I'll look that up.\n```json\n{CALL}\n```\n"
    with LiaobotsEmulator(responder=lambda _: reply, piece_bytes=3) as server:
        msg = model(server).bind_tools([get_weather]).invoke("weather in Oslo?")
    assert msg.content == "I'll look that up."
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Oslo"})
    ]


def test_bad_tool_choice_fails_before_sending(fresh_emulator: LiaobotsEmulator) -> None:
    llm = model(fresh_emulator)
    with pytest.raises(ValueError, match="not a bound tool"):
        llm.bind_tools([get_weather], tool_choice="send_email")
    with pytest.raises(ValueError, match="not a bound tool"):
        llm.invoke("x", tools=[get_weather], tool_choice="send_email")
    assert fresh_emulator.requests == []


# -- structured output -------------------------------------------------------------


class City(BaseModel):
    """A city and its population."""

    name: str
    population: int


class CityDict(TypedDict):
    """A city and its population."""

    name: str
    population: int


CITY_QUESTION = "The city of 'Paris' has 2102650 inhabitants."


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize("schema", [City, CityDict, City.model_json_schema()])
def test_structured_output_methods_and_schema_kinds(
    emulator: LiaobotsEmulator, method: Any, schema: Any
) -> None:
    structured = model(emulator).with_structured_output(schema, method=method)
    result = structured.invoke(CITY_QUESTION)
    data = result.model_dump() if isinstance(result, BaseModel) else result
    assert data == {"name": "Paris", "population": 2102650}
    assert isinstance(result, City) == (schema is City)
    streamed = list(structured.stream(CITY_QUESTION))
    assert streamed[-1] == result


def test_json_mode_returns_the_keys_asked_for(emulator: LiaobotsEmulator) -> None:
    class Joke(BaseModel):
        setup: str
        punchline: str

    text = "A joke as JSON with 'setup' and 'punchline' keys."
    joke = model(emulator).with_structured_output(Joke, method="json_mode").invoke(text)
    assert joke == Joke(setup=text, punchline=text)


def test_include_raw_reports_a_parsing_error() -> None:
    with LiaobotsEmulator(responder=lambda _: "Sorry, no JSON today.") as server:
        structured = model(server).with_structured_output(City, include_raw=True)
        out: Any = structured.invoke(CITY_QUESTION)
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
    assert out["raw"].content == "Sorry, no JSON today."


def test_response_format_yields_bare_json_from_a_chatty_model() -> None:
    reply = 'Here you go:\n```json\n{"city": "Oslo", "summary": "Snow"}\n```\nEnjoy!'
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "W", "schema": WeatherReport.model_json_schema()},
    }
    with LiaobotsEmulator(responder=lambda _: reply, piece_bytes=4) as server:
        bound = model(server).bind(response_format=response_format)
        assert bound.invoke("x").content == '{"city": "Oslo", "summary": "Snow"}'
        streamed = "".join(c.text for c in bound.stream("x"))
    assert streamed == '{"city": "Oslo", "summary": "Snow"}'
