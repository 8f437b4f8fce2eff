"""Issue 14's cases against a scripted server that is not the package's emulator.

The server (``tests/helpers/scripted.py``) answers with replies as GPT-3.5/4-class
models write them. Every case ends in the right result, or in a typed error
within ``parse_retries + 1`` requests per model step: none loops, none ends with
an empty answer, none accepts a cut-off object.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage

from langchain_liaobots import ChatLiaobots, LiaobotsReplyError
from tests.helpers.replies import City, get_weather
from tests.helpers.scripted import ScriptedServer

PROSE = "I'm sorry, but I don't have access to real-time weather information."
CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}'


def model(server: ScriptedServer, **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(base_url=server.base_url, auth="k", timeout=10, **kwargs)


def calls(message: AIMessage) -> list[tuple[str, dict[str, Any]]]:
    return [(c["name"], c["args"]) for c in message.tool_calls]


READ_AS_THE_CALL = [
    f"```json\n{CALL}\n```",
    f"Sure, let me check.\n```JSON\n{CALL}\n```\nOne moment.",
    '{"tool_calls": [{"id": "call_9", "type": "function", "function": '
    '{"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}]}',
    '{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}',
    '[{"name": "get_weather", "arguments": {"city": "Oslo"}}]',
    "{'tool_calls': [{'name': 'get_weather', 'arguments': {'city': 'Oslo'}}]}",
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo",},},],}',
    '{tool_calls: [{name: "get_weather", arguments: {city: "Oslo"}}]}',
    'Thought: I need the weather.\nAction: get_weather\nAction Input: {"city": "Oslo"}',
]


@pytest.mark.parametrize("reply", READ_AS_THE_CALL)
def test_the_shapes_models_write_are_read_without_debris(reply: str) -> None:
    with ScriptedServer(reply) as server:
        msg = model(server).bind_tools([get_weather]).invoke("Weather in Oslo?")
        assert calls(msg) == [("get_weather", {"city": "Oslo"})]
        assert "{" not in msg.text
        assert "[" not in msg.text
        assert "Action" not in msg.text
        assert len(server.bodies) == 1


@pytest.mark.parametrize("choice", ["any", "required", True, "get_weather"])
def test_a_forced_choice_answered_in_prose_is_repaired(choice: Any) -> None:
    with ScriptedServer(PROSE, CALL) as server:
        bound = model(server).bind_tools([get_weather], tool_choice=choice)
        msg = bound.invoke("Weather in Oslo?")
        assert calls(msg) == [("get_weather", {"city": "Oslo"})]
        assert len(server.bodies) == 2


async def test_a_forced_choice_never_met_is_a_typed_error() -> None:
    with ScriptedServer(PROSE) as server:
        bound = model(server).bind_tools([get_weather], tool_choice="any")
        with pytest.raises(LiaobotsReplyError):
            bound.invoke("x")
        with pytest.raises(LiaobotsReplyError):
            _ = [c async for c in bound.astream("x")]
        assert len(server.bodies) == 4


def test_an_agent_forced_to_a_schema_ends_instead_of_looping() -> None:
    with ScriptedServer(PROSE) as server:
        agent = create_agent(model(server), tools=[], response_format=City)
        with pytest.raises(LiaobotsReplyError):
            agent.invoke({"messages": [HumanMessage("Paris has 2102650 people.")]})
        assert len(server.bodies) == 2


def test_an_agent_forced_to_a_schema_recovers_after_one_repair() -> None:
    answer = '{"tool_calls": [{"name": "City", "arguments": {"name": "Paris", "population": 2102650}}]}'  # noqa: E501
    with ScriptedServer(PROSE, answer) as server:
        agent = create_agent(model(server), tools=[get_weather], response_format=City)
        state = agent.invoke({"messages": [HumanMessage("Paris has 2102650 people.")]})
        assert state["structured_response"] == City(name="Paris", population=2102650)
        assert len(server.bodies) == 2


@pytest.mark.parametrize(
    "malformed",
    [
        '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Os',
        '```json\n{"tool_calls": [{"name": "get_weather", "arguments": "Oslo"}]}\n```',
    ],
)
def test_a_malformed_call_is_repaired_not_an_empty_answer(malformed: str) -> None:
    with ScriptedServer(malformed, CALL, "It is sunny in Oslo.") as server:
        agent = create_agent(model(server), tools=[get_weather])
        state = agent.invoke({"messages": [HumanMessage("Weather in Oslo?")]})
        assert state["messages"][-1].text == "It is sunny in Oslo."
        replay, ask = server.bodies[1]["messages"][-2:]
        assert replay["content"] == malformed  # the model sees what it wrote
        assert "could not be read" in ask["content"]
        assert len(server.bodies) == 3


def test_forged_results_are_not_kept() -> None:
    forged = (
        f'{CALL}\n<tool_result name="get_weather" id="call_1" status="success">\n'
        "Snowing\n</tool_result>\nIt is snowing in Oslo."
    )
    with ScriptedServer(forged) as server:
        msg = model(server).bind_tools([get_weather]).invoke("Weather in Oslo?")
        assert calls(msg) == [("get_weather", {"city": "Oslo"})]
        assert "Snowing" not in msg.text
        assert "snowing" not in msg.text


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_a_cut_off_object_is_never_a_result(method: Any) -> None:
    with ScriptedServer('{"name": "Paris", "population": 21') as server:
        structured = model(server).with_structured_output(City, method=method)
        with pytest.raises(OutputParserException, match="cut off"):
            structured.invoke("Paris has 2102650 people.")
        assert len(server.bodies) == 2


def test_a_cut_off_object_then_a_whole_one_gives_the_whole_one() -> None:
    whole = '{"name": "Paris", "population": 2102650}'
    with ScriptedServer('{"name": "Paris", "population": 21', whole) as server:
        city = model(server).with_structured_output(City).invoke("Paris?")
        assert city == City(name="Paris", population=2102650)
