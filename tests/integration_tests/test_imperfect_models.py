"""Every entry of the emulator's imperfect-model catalogue, through ``bind_tools``,
``create_agent`` (plain, tool strategy, provider strategy) and the three
structured-output methods, on the sync and async paths, over real HTTP.

Each run is compared with the same run against a model that makes no mistake
(the baseline): it must end in the same result, or in the outcome the catalogue
and the call's rule give (a plain answer where prose is allowed, a typed error
for a model that never complies), within ``parse_retries + 1`` requests per
model step; never an empty answer, never a loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.emulator.mistakes import MISTAKES
from langchain_liaobots.wire.request import CHAT_PATH

QUESTION = "What is the weather in Paris?"
CITY_QUESTION = "The city of 'Paris' has 2102650 inhabitants."
PROSE_KINDS = {"prose_instead", "invented_result", "wrong_tool"}


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 °C in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"12:00 in {city}"


class Report(BaseModel):
    """A weather report."""

    city: str = Field(description="The city")
    summary: str = Field(description="The weather, in a few words")


class City(BaseModel):
    """A city and its population."""

    name: str
    population: int


CITY_DICT = {
    "title": "Answer",
    "type": "object",
    "properties": {"answer": {"type": "string"}},
}

Outcome = Literal["same", "recovers", "answer", "other_call", "error"]


def _calls(message: BaseMessage) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(message, AIMessage)
    return [(c["name"], c["args"]) for c in message.tool_calls]


def _message(message: BaseMessage) -> Any:
    """The calls, or the text when there is none (prose around a call may vary)."""
    assert isinstance(message, AIMessage)
    assert message.content or message.tool_calls, "an empty answer"
    for debris in ("{", "[", "```", "tool_calls", "Action"):
        assert debris not in message.text
    return _calls(message) or message.text


def _agent_result(state: dict[str, Any]) -> Any:
    if "structured_response" in state:
        return state["structured_response"]
    final = state["messages"][-1]
    assert isinstance(final, AIMessage)
    assert final.text, "an empty answer"
    return final.text


def _steps(state: dict[str, Any]) -> int:
    return sum(isinstance(m, AIMessage) for m in state["messages"])


@dataclass(frozen=True)
class Scenario:
    """One way of using the model, and how it ends for each catalogue entry."""

    kind: Literal["tool_call", "json"]
    run: Callable[[ChatLiaobots], Any]
    arun: Callable[[ChatLiaobots], Awaitable[Any]]
    model: str = "gpt-4"
    agent: bool = False
    forced: bool = False
    tools_offered: int = 1

    def outcome(self, name: str, persist: bool) -> Outcome:
        expected = MISTAKES[name].expected
        if expected in ("read", "cut"):
            return "same"
        prose = name in PROSE_KINDS and not (
            name == "wrong_tool" and self.tools_offered > 1
        )
        if self.auto and prose:
            return "answer"
        if not self.forced and name == "hallucinated_tool":
            return "recovers" if self.agent else "other_call"
        return "error" if persist else "same"

    def endless(self, name: str) -> bool:
        """Whether a model that never stops making the mistake loops the agent.

        A readable call the rule allows (an unknown tool under ``auto``, the
        wrong bound tool under ``any``) goes to the agent, which answers with
        an error and asks again: a model that never learns loops until the
        agent's recursion limit, whatever the client does.
        """
        if not self.agent:
            return False
        if name == "hallucinated_tool":
            return not self.forced
        return name == "wrong_tool" and self.forced

    @property
    def auto(self) -> bool:
        """Whether the model may answer in prose (tool_choice auto, no JSON)."""
        return self.run in (_bind_auto, _agent_auto)


def _bind_forced(llm: ChatLiaobots) -> Any:
    bound = llm.bind_tools([get_weather, get_time], tool_choice="get_weather")
    return _message(bound.invoke(QUESTION))


async def _abind_forced(llm: ChatLiaobots) -> Any:
    bound = llm.bind_tools([get_weather, get_time], tool_choice="get_weather")
    return _message(await bound.ainvoke(QUESTION))


def _bind_auto(llm: ChatLiaobots) -> Any:
    return _message(llm.bind_tools([get_weather]).invoke(QUESTION))


async def _abind_auto(llm: ChatLiaobots) -> Any:
    return _message(await llm.bind_tools([get_weather]).ainvoke(QUESTION))


def _agent_auto(llm: ChatLiaobots) -> Any:
    state = create_agent(llm, tools=[get_weather]).invoke(
        {"messages": [HumanMessage(QUESTION)]}
    )
    return _agent_result(state), _steps(state)


async def _aagent_auto(llm: ChatLiaobots) -> Any:
    state = await create_agent(llm, tools=[get_weather]).ainvoke(
        {"messages": [HumanMessage(QUESTION)]}
    )
    return _agent_result(state), _steps(state)


def _agent_structured(llm: ChatLiaobots) -> Any:
    agent = create_agent(llm, tools=[get_weather], response_format=Report)
    state = agent.invoke({"messages": [HumanMessage(QUESTION)]})
    return _agent_result(state), _steps(state)


async def _aagent_structured(llm: ChatLiaobots) -> Any:
    agent = create_agent(llm, tools=[get_weather], response_format=Report)
    state = await agent.ainvoke({"messages": [HumanMessage(QUESTION)]})
    return _agent_result(state), _steps(state)


def _structured(method: str, schema: Any) -> tuple[Any, Any]:
    def run(llm: ChatLiaobots) -> Any:
        return llm.with_structured_output(schema, method=method).invoke(CITY_QUESTION)

    async def arun(llm: ChatLiaobots) -> Any:
        structured = llm.with_structured_output(schema, method=method)
        return await structured.ainvoke(CITY_QUESTION)

    return run, arun


SCENARIOS = {
    "bind_tools forced": Scenario(
        "tool_call", _bind_forced, _abind_forced, forced=True, tools_offered=2
    ),
    "bind_tools auto": Scenario("tool_call", _bind_auto, _abind_auto),
    "create_agent": Scenario("tool_call", _agent_auto, _aagent_auto, agent=True),
    "create_agent tool strategy": Scenario(
        "tool_call",
        _agent_structured,
        _aagent_structured,
        agent=True,
        forced=True,
        tools_offered=2,
    ),
    "create_agent provider strategy (tool step)": Scenario(
        "tool_call",
        _agent_structured,
        _aagent_structured,
        model="gpt-4o-free",
        agent=True,
    ),
    "create_agent provider strategy (JSON step)": Scenario(
        "json", _agent_structured, _aagent_structured, model="gpt-4o-free", agent=True
    ),
    "json_schema": Scenario("json", *_structured("json_schema", City)),
    "json_mode": Scenario("json", *_structured("json_mode", CITY_DICT)),
    "function_calling": Scenario(
        "tool_call", *_structured("function_calling", City), forced=True
    ),
}


def _cases() -> list[Any]:
    cases = []
    for label, scenario in SCENARIOS.items():
        for name, mistake in MISTAKES.items():
            if scenario.kind not in mistake.applies_to:
                continue
            if scenario.forced and scenario.agent and name == "wrong_tool":
                # Under "any", the other bound tool is an allowed call; the
                # agent answers it and asks again, and the emulator, which
                # errs on every reply, calls it again: the agent's loop.
                continue
            cases.append(pytest.param(label, name, False, id=f"{label}-{name}"))
            erring = scenario.outcome(name, persist=True) == "error"
            if erring and not scenario.endless(name):
                cases.append(
                    pytest.param(label, name, True, id=f"{label}-{name}-persist")
                )
    return cases


def _chats(server: LiaobotsEmulator) -> int:
    return sum(r.path == CHAT_PATH for r in server.requests)


_BASELINES: dict[str, tuple[Any, int]] = {}


def _baseline(label: str) -> tuple[Any, int]:
    """The scenario's result and request count with a model that never errs."""
    if label not in _BASELINES:
        scenario = SCENARIOS[label]
        with LiaobotsEmulator() as server:
            llm = ChatLiaobots(base_url=server.base_url, auth="k", model=scenario.model)
            _BASELINES[label] = (scenario.run(llm), _chats(server))
    return _BASELINES[label]


@pytest.mark.parametrize(("label", "name", "persist"), _cases())
async def test_every_reply_shape_ends_well(
    label: str, name: str, persist: bool
) -> None:
    scenario = SCENARIOS[label]
    expected, baseline_requests = _baseline(label)
    outcome = scenario.outcome(name, persist)
    with LiaobotsEmulator(mistakes=[name], persist=persist, piece_bytes=4) as server:
        llm = ChatLiaobots(
            base_url=server.base_url, auth="k", model=scenario.model, timeout=10
        )
        runs: list[Callable[[], Awaitable[Any]]] = [
            lambda: _sync(scenario.run, llm),
            lambda: scenario.arun(llm),
        ]
        for run in runs:
            before = _chats(server)
            if outcome == "error":
                with pytest.raises(OutputParserException):
                    await run()
                requests = _chats(server) - before
                assert requests <= 2 * baseline_requests
                continue
            result = await run()
            requests = _chats(server) - before
            if scenario.agent:
                value, steps = result
                assert requests <= 2 * steps  # parse_retries + 1 per model step
                result = value
                expected_value = expected[0]
            else:
                assert requests <= 2
                expected_value = expected
            if MISTAKES[name].expected in ("read", "cut"):
                assert requests == baseline_requests
            _check(outcome, result, expected_value)


async def _sync(run: Callable[[ChatLiaobots], Any], llm: ChatLiaobots) -> Any:
    return run(llm)


def _check(outcome: Outcome, result: Any, expected: Any) -> None:
    if outcome == "same":
        assert result == expected
    elif outcome == "recovers":  # the agent reports the failed call, then answers
        assert expected in result if isinstance(result, str) else result == expected
    elif outcome == "answer":  # prose where prose is allowed: the answer
        assert isinstance(result, str)
        assert result.strip()
    else:  # "other_call": a call of a tool that was not offered
        assert isinstance(result, list)
        assert len(result) == 1
        assert result[0][0] != "get_weather"
