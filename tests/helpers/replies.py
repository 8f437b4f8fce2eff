"""The ways an app uses ChatLiaobots, replayed against an imperfect model.

Each :class:`Scenario` is one use (``bind_tools`` with a forced or an automatic
choice, ``create_agent`` plain or with a structured-output strategy, the three
``with_structured_output`` methods), run the same way on the sync and async
paths, and says how it should end for each entry of the emulator's catalogue
(:data:`~langchain_liaobots.emulator.mistakes.MISTAKES`). The catalogue test
(``tests/integration_tests/test_imperfect_models.py``) checks those outcomes,
the docs table of :func:`reply_table` states them, and the benchmark figure
of replies (``benchmarks/fig_replies.py``) counts how runs end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain.agents import create_agent
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.emulator.mistakes import MISTAKES
from langchain_liaobots.wire.protocol import CHAT_PATH

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


def chats(server: LiaobotsEmulator) -> int:
    """How many chat requests the server has answered."""
    return sum(r.path == CHAT_PATH for r in server.requests)


_BASELINES: dict[str, tuple[Any, int]] = {}


def baseline(label: str) -> tuple[Any, int]:
    """The scenario's result and request count with a model that never errs."""
    if label not in _BASELINES:
        scenario = SCENARIOS[label]
        with LiaobotsEmulator() as server:
            llm = ChatLiaobots(base_url=server.base_url, auth="k", model=scenario.model)
            _BASELINES[label] = (scenario.run(llm), chats(server))
    return _BASELINES[label]


def cases() -> list[tuple[str, str, bool]]:
    """Every (scenario, mistake, persist) worth running.

    A mistake runs where it applies; ``persist`` too where a model that never
    complies ends in an error rather than in the agent's own loop.
    """
    out = []
    for label, scenario in SCENARIOS.items():
        for name, mistake in MISTAKES.items():
            if scenario.kind not in mistake.applies_to:
                continue
            if scenario.forced and scenario.agent and name == "wrong_tool":
                # Under "any", the other bound tool is an allowed call; the
                # agent answers it and asks again, and the emulator, which
                # errs on every reply, calls it again: the agent's loop.
                continue
            out.append((label, name, False))
            erring = scenario.outcome(name, persist=True) == "error"
            if erring and not scenario.endless(name):
                out.append((label, name, True))
    return out


REPAIRED = "after a repair turn¹"
_CUT = "; the invented result is dropped"


def _call_cell(label: str, name: str) -> str:
    outcome = SCENARIOS[label].outcome(name, persist=False)
    expected = MISTAKES[name].expected
    if outcome == "answer":
        return "the text, as the answer"
    if outcome == "other_call":
        return "the call, of the unknown tool"
    if expected == "read":
        return "the call"
    if expected == "cut":
        return f"the call{_CUT}"
    return f"the call, {REPAIRED}"


def _json_cell(name: str) -> str:
    mistake = MISTAKES[name]
    if "json" not in mistake.applies_to:
        return "—"
    return "the object" if mistake.expected == "read" else f"the object, {REPAIRED}"


def _agent_cell(name: str) -> str:
    outcome = SCENARIOS["create_agent"].outcome(name, persist=False)
    if outcome == "answer":
        return "ends, with the text as its answer"
    if outcome == "recovers":
        return "its tool node reports the unknown tool; the model calls again"
    if MISTAKES[name].expected in ("read", "cut"):
        return "goes on"
    return f"goes on, {REPAIRED}"


def reply_table() -> str:
    """The docs table: each reply shape, what ChatLiaobots returns, what an agent does.

    Derived from the scenarios' outcomes, which the catalogue test checks.
    """
    rows = [
        '| the model writes | `bind_tools` (`tool_choice="auto"`) '
        "| a forced `tool_choice` | a JSON answer | `create_agent` |",
        "|---|---|---|---|---|",
    ]
    for name in MISTAKES:
        cells = [
            f"`{name}`",
            _call_cell("bind_tools auto", name),
            _call_cell("bind_tools forced", name),
            _json_cell(name),
            _agent_cell(name),
        ]
        rows.append(f"| {' | '.join(cells)} |")
    return "\n".join(rows)


@dataclass(frozen=True)
class CaseResult:
    """How one run of a case ended.

    Attributes:
        end: ``"right"`` (the outcome the scenario gives for the mistake:
            the mistake-free result, or prose where prose is allowed),
            ``"typed error"`` (an ``OutputParserException``, such as
            ``LiaobotsReplyError``), ``"empty"`` (an answer with no text and
            no call) or ``"wrong"`` (anything else).
        requests: Chat requests the run made.
        per_step: The most requests per model step (agents: requests over
            the assistant turns of the final state).
    """

    end: Literal["right", "typed error", "empty", "wrong"]
    requests: int
    per_step: float


def run_case(label: str, name: str, persist: bool) -> CaseResult:
    """Run one case on the sync path against an emulator making the mistake."""
    scenario = SCENARIOS[label]
    expected, _ = baseline(label)
    outcome = scenario.outcome(name, persist)
    with LiaobotsEmulator(mistakes=[name], persist=persist) as server:
        llm = ChatLiaobots(
            base_url=server.base_url, auth="k", model=scenario.model, timeout=10
        )
        try:
            result = scenario.run(llm)
        except OutputParserException:
            return CaseResult("typed error", chats(server), chats(server))
        except AssertionError as err:
            end: Literal["empty", "wrong"] = (
                "empty" if "an empty answer" in str(err) else "wrong"
            )
            return CaseResult(end, chats(server), chats(server))
        requests = chats(server)
    steps = 1
    if scenario.agent:
        result, steps = result
        expected = expected[0]
    right = (
        (outcome == "same" and result == expected)
        or (outcome == "recovers" and (expected in result or result == expected))
        or (outcome == "answer" and isinstance(result, str) and bool(result.strip()))
        or (outcome == "other_call" and isinstance(result, list) and len(result) == 1)
    )
    return CaseResult("right" if right else "wrong", requests, requests / steps)
