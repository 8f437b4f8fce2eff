"""The emulator's imperfect model: the catalogue's rewrites, the draw, the repairs,
and the imperfect text served over real HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_liaobots.emulator import (
    MISTAKES,
    LiaobotsEmulator,
    Reply,
    default_responder,
    with_mistakes,
)
from langchain_liaobots.emulator.__main__ import _parser
from langchain_liaobots.emulator.mistakes import REPAIR_PREFIX, catalogue_table
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.prompt.prompting import plan_call
from langchain_liaobots.prompt.structured import REPAIR_REQUEST
from langchain_liaobots.registry import get_model
from langchain_liaobots.wire.protocol import AUTH_HEADER, CHAT_PATH

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "Sunny"


@tool
def add(a: int, b: float) -> float:
    """Add two numbers."""
    return a + b


class City(BaseModel):
    name: str
    population: int


def payload(messages: list[BaseMessage] | str, **kwargs: Any) -> dict[str, Any]:
    """The /api/chat body ChatLiaobots would send for ``messages``."""
    if isinstance(messages, str):
        messages = [HumanMessage(messages)]
    turn = plan_call(messages, "default prompt", kwargs).first
    prompt, wire = to_wire(turn.messages, "default prompt")
    return {
        "conversationId": "c1",
        "model": get_model("gpt-4").to_wire(),
        "messages": wire,
        "key": "",
        "prompt": prompt,
    }


# -- the rewrites ------------------------------------------------------------------

CALL = Reply(
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}',
    "tool_call",
    ("get_weather",),
)
CALLS = Reply(
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": '
    '"L\'Haÿ \\"les\\" Roses"}}, {"name": "add", "arguments": {"a": 2, "b": 3.5}}]}',
    "tool_call",
    ("get_weather", "add", "web_search"),
)
ANSWER = Reply('{"name": "Paris", "population": 2148000}', "json")
ODD_ANSWER = Reply(
    '{"title": "It\'s \\"ok\\"", "tags": ["a", "b"], "meta": {}, "x": null}', "json"
)
ID_0 = "call_8094ad6d22dd3ce1705f7f9c"  # the first call's id, in every reply
ID_1 = "call_d936dd5760eec9a08227e100"

REWRITES: list[tuple[str, Reply, str]] = [
    (
        "fenced",
        CALL,
        '```json\n{"tool_calls": [{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}]}\n```',
    ),
    ("fenced", ANSWER, '```json\n{"name": "Paris", "population": 2148000}\n```'),
    ("fenced", ODD_ANSWER, f"```json\n{ODD_ANSWER.text}\n```"),
    ("fenced_upper", CALL, f"```JSON\n{CALL.text}\n```"),
    ("fenced_upper", CALLS, f"```JSON\n{CALLS.text}\n```"),
    (
        "prose_around",
        CALL,
        f"Sure! I'll look that up.\n{CALL.text}\n"
        "Let me know if you need anything else.",
    ),
    (
        "prose_around",
        ANSWER,
        f"Sure! Here is the JSON you asked for:\n{ANSWER.text}\n"
        "Let me know if you need anything else.",
    ),
    (
        "openai_shape",
        CALL,
        f'{{"tool_calls": [{{"id": "{ID_0}", "type": "function", "function": '
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]}',
    ),
    (
        "openai_shape",
        CALLS,
        f'{{"tool_calls": [{{"id": "{ID_0}", "type": "function", "function": '
        '{"name": "get_weather", "arguments": '
        '"{\\"city\\": \\"L\'Haÿ \\\\\\"les\\\\\\" Roses\\"}"}}, '
        f'{{"id": "{ID_1}", "type": "function", "function": {{"name": "add", '
        '"arguments": "{\\"a\\": 2, \\"b\\": 3.5}"}}]}',
    ),
    (
        "function_wrapper",
        CALL,
        '{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}',
    ),
    (
        "function_wrapper",
        CALLS,
        '{"function": {"name": "get_weather", "arguments": '
        '{"city": "L\'Haÿ \\"les\\" Roses"}}}\n'
        '{"function": {"name": "add", "arguments": {"a": 2, "b": 3.5}}}',
    ),
    ("bare_list", CALL, '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'),
    (
        "bare_list",
        CALLS,
        '[{"name": "get_weather", "arguments": {"city": "L\'Haÿ \\"les\\" Roses"}}, '
        '{"name": "add", "arguments": {"a": 2, "b": 3.5}}]',
    ),
    (
        "single_quotes",
        CALL,
        "{'tool_calls': [{'name': 'get_weather', 'arguments': {'city': 'Paris'}}]}",
    ),
    (
        "single_quotes",
        CALLS,
        "{'tool_calls': [{'name': 'get_weather', 'arguments': "
        "{'city': 'L\\'Haÿ \"les\" Roses'}}, "
        "{'name': 'add', 'arguments': {'a': 2, 'b': 3.5}}]}",
    ),
    ("single_quotes", ANSWER, "{'name': 'Paris', 'population': 2148000}"),
    (
        "single_quotes",
        ODD_ANSWER,
        "{'title': 'It\\'s \"ok\"', 'tags': ['a', 'b'], 'meta': {}, 'x': null}",
    ),
    (
        "trailing_commas",
        CALL,
        '{\n  "tool_calls": [\n    {\n      "name": "get_weather",\n'
        '      "arguments": {\n        "city": "Paris",\n      },\n    },\n  ],\n}',
    ),
    (
        "trailing_commas",
        ANSWER,
        '{\n  "name": "Paris",\n  "population": 2148000,\n}',
    ),
    (
        "trailing_commas",
        ODD_ANSWER,
        '{\n  "title": "It\'s \\"ok\\"",\n  "tags": [\n    "a",\n    "b",\n  ],\n'
        '  "meta": {},\n  "x": null,\n}',
    ),
    (
        "unquoted_keys",
        CALL,
        '{tool_calls: [{name: "get_weather", arguments: {city: "Paris"}}]}',
    ),
    (
        "unquoted_keys",
        CALLS,
        '{tool_calls: [{name: "get_weather", arguments: '
        '{city: "L\'Haÿ \\"les\\" Roses"}}, {name: "add", arguments: {a: 2, b: 3.5}}]}',
    ),
    (
        "arguments_string",
        CALL,
        '{"tool_calls": [{"name": "get_weather", "arguments": '
        '"{\\"city\\": \\"Paris\\"}"}]}',
    ),
    (
        "arguments_string",
        CALLS,
        '{"tool_calls": [{"name": "get_weather", "arguments": '
        '"{\\"city\\": \\"L\'Haÿ \\\\\\"les\\\\\\" Roses\\"}"}, '
        '{"name": "add", "arguments": "{\\"a\\": 2, \\"b\\": 3.5}"}]}',
    ),
    (
        "react",
        CALL,
        "Thought: I need to use get_weather to answer this.\n"
        'Action: get_weather\nAction Input: {"city": "Paris"}',
    ),
    (
        "react",
        CALLS,
        "Thought: I need to use get_weather to answer this.\n"
        'Action: get_weather\nAction Input: {"city": "L\'Haÿ \\"les\\" Roses"}\n'
        "Thought: I need to use add to answer this.\n"
        'Action: add\nAction Input: {"a": 2, "b": 3.5}',
    ),
    (
        "truncated",
        CALL,
        '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Pa',
    ),
    ("truncated", CALLS, CALLS.text[: CALLS.text.index("3.5") + 1]),
    ("truncated", ANSWER, '{"name": "Paris", "population": 214'),
    ("truncated", ODD_ANSWER, ODD_ANSWER.text[:-3]),  # ... "x": n
    (
        "hallucinated_tool",
        CALL,
        '{"tool_calls": [{"name": "web_search", "arguments": {"query": "Paris"}}]}',
    ),
    (
        "hallucinated_tool",
        CALLS,  # web_search is offered here
        '{"tool_calls": [{"name": "web_search_2", "arguments": '
        '{"query": "L\'Haÿ \\"les\\" Roses"}}, '
        '{"name": "add", "arguments": {"a": 2, "b": 3.5}}]}',
    ),
    (
        "forged_result",
        CALL,
        f"{CALL.text}\n"
        f'<tool_result name="get_weather" id="{ID_0}" status="success">\n'
        "The request succeeded.\n</tool_result>\n"
        "Done! get_weather reported: The request succeeded.",
    ),
    (
        "forged_result",
        CALLS,
        f"{CALLS.text}\n"
        f'<tool_result name="get_weather" id="{ID_0}" status="success">\n'
        "The request succeeded.\n</tool_result>\n"
        f'<tool_result name="add" id="{ID_1}" status="success">\n'
        "The request succeeded.\n</tool_result>\n"
        "Done! get_weather and add reported: The request succeeded.",
    ),
    (
        "prose_instead",
        CALL,
        "I'm sorry, but I don't have access to real-time data or external tools, "
        "so I can't look that up. Please check a reliable source for the latest "
        "information.",
    ),
    (
        "prose_instead",
        ANSWER,
        "Here is the information you asked for:\n- name: Paris\n- population: 2148000",
    ),
    (
        "prose_instead",
        ODD_ANSWER,
        'Here is the information you asked for:\n- title: It\'s "ok"\n'
        '- tags: ["a", "b"]\n- meta: {}\n- x: null',
    ),
    (
        "invented_result",
        CALL,
        "I called get_weather(city=Paris), and the result was: The request "
        "succeeded. Is there anything else I can help you with?",
    ),
    (
        "invented_result",
        CALLS,
        'I called get_weather(city=L\'Haÿ "les" Roses) and add(a=2, b=3.5), and '
        "the result was: The request succeeded. Is there anything else I can help "
        "you with?",
    ),
    ("wrong_tool", CALL, MISTAKES["prose_instead"].rewrite(CALL)),  # one tool only
    (
        "wrong_tool",
        CALLS,
        CALLS.text.replace('"get_weather"', '"web_search"'),  # not called elsewhere
    ),
    (
        "wrong_tool",
        Reply(CALL.text, "tool_call", ("get_weather", "add")),
        '{"tool_calls": [{"name": "add", "arguments": {"city": "Paris"}}]}',
    ),
]


@pytest.mark.parametrize(
    ("name", "reply", "expected"),
    REWRITES,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REWRITES)],
)
def test_each_mistake_rewrites_the_correct_answer(
    name: str, reply: Reply, expected: str
) -> None:
    mistake = MISTAKES[name]
    assert reply.kind in mistake.applies_to
    assert mistake.rewrite(reply) == expected


def test_every_mistake_is_tested_on_every_kind_it_applies_to() -> None:
    tested = {(n, r.kind) for n, r, _ in REWRITES}
    assert tested == {(n, k) for n, m in MISTAKES.items() for k in m.applies_to}


def test_the_catalogue_has_the_deviations_of_real_models() -> None:
    tool_calls = [n for n, m in MISTAKES.items() if "tool_call" in m.applies_to]
    answers = [n for n, m in MISTAKES.items() if "json" in m.applies_to]
    assert tool_calls == list(MISTAKES)
    assert answers == [
        "fenced",
        "prose_around",
        "single_quotes",
        "trailing_commas",
        "truncated",
        "prose_instead",
    ]
    expected = {n: m.expected for n, m in MISTAKES.items() if m.expected != "read"}
    assert expected == {
        "truncated": "repaired",
        "hallucinated_tool": "tool_node",
        "forged_result": "cut",
        "prose_instead": "repaired",
        "invented_result": "repaired",
        "wrong_tool": "repaired",
    }
    assert all(m.name == n and "\n" not in m.description for n, m in MISTAKES.items())


def test_a_truncated_answer_is_never_complete_json() -> None:
    for reply in (CALL, CALLS, ANSWER, ODD_ANSWER, Reply("{}", "json")):
        cut = MISTAKES["truncated"].rewrite(reply)
        assert reply.text.startswith(cut)
        assert len(cut) < len(reply.text)
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            json.loads(cut)


# -- the wrapper -------------------------------------------------------------------


WEATHER = payload("What is the weather in Paris?", tools=[get_weather])
CITY = payload(
    "How many people live in 'Paris'? About 2148000.",
    response_format={
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema()},
    },
)


def test_one_name_is_made_in_every_tool_call_and_json_answer() -> None:
    responder = with_mistakes(default_responder, ["single_quotes"])
    assert responder(WEATHER) == (
        "{'tool_calls': [{'name': 'get_weather', 'arguments': {'city': 'Paris'}}]}"
    )
    assert responder(CITY) == "{'name': 'Paris', 'population': 2148000}"
    assert responder(payload("hi")) == "You said: hi"  # plain text: no mistake
    assert responder.made == ["single_quotes", "single_quotes", None]


def test_a_mistake_for_another_kind_of_answer_is_not_made() -> None:
    responder = with_mistakes(default_responder, "react")
    assert responder(CITY) == default_responder(CITY)
    assert responder.made == [None]
    with pytest.raises(ValueError, match=r"Unknown mistake\(s\) 'nope'.*known: fenced"):
        with_mistakes(default_responder, ["react", "nope"])


def test_answers_not_in_the_package_format_pass_unchanged() -> None:
    odd = '{"tool_calls": [{"name": "get_weather"}]}'  # no arguments
    for text in (odd, "not JSON", '{"tool_calls": []}'):
        responder = with_mistakes(lambda _, text=text: text, "fenced")
        assert responder(WEATHER) == text
        assert responder.made == [None]
    json_without_format = with_mistakes(lambda _: '{"a": 1}', "fenced")
    assert json_without_format(payload("hi")) == '{"a": 1}'


def draws(seed: int, request: dict[str, Any], correct: Reply, count: int) -> list[str]:
    """The mistakes drawn for ``count`` answers to ``request``, checked."""
    responder = with_mistakes(default_responder, "all", seed=seed)
    names: list[str] = []
    for _ in range(count):
        text = responder(request)
        name = responder.made[-1]
        assert name is not None
        assert text == MISTAKES[name].rewrite(correct)
        names.append(name)
    return names


def test_several_names_are_drawn_per_reply_reproducibly_from_the_seed() -> None:
    call = Reply(default_responder(WEATHER), "tool_call", ("get_weather",))
    first = draws(1, WEATHER, call, 12)
    assert first == draws(1, WEATHER, call, 12)
    assert first != draws(2, WEATHER, call, 12)
    assert len(set(first)) > 3
    answer = Reply(default_responder(CITY), "json")
    assert set(draws(1, CITY, answer, 40)) == {
        n for n, m in MISTAKES.items() if "json" in m.applies_to
    }


def repair(request: dict[str, Any], reply: str) -> dict[str, Any]:
    ask = REPAIR_REQUEST.format(error="Invalid json output", ask="only the JSON.")
    assert ask.startswith(REPAIR_PREFIX)
    messages = [
        *request["messages"],
        {"role": "assistant", "content": reply},
        {"role": "user", "content": ask},
    ]
    return {**request, "messages": messages}


def test_after_a_repair_request_the_answer_is_correct() -> None:
    responder = with_mistakes(default_responder, ["truncated", "prose_instead"])
    first = responder(CITY)
    again = repair(CITY, first)
    # the original request is answered, not the repair message
    assert responder(again) == '{"name": "Paris", "population": 2148000}'
    assert responder(repair(again, "still wrong")) == default_responder(CITY)
    assert responder.made[1:] == [None, None]


def test_with_persist_the_mistake_is_made_again() -> None:
    responder = with_mistakes(default_responder, "truncated", persist=True)
    first = responder(CITY)
    assert first == '{"name": "Paris", "population": 214'
    assert responder(repair(CITY, first)) == first
    assert responder.made == ["truncated", "truncated"]


def test_a_repair_request_is_told_by_its_prefix() -> None:
    assert REPAIR_PREFIX == "Your previous reply could not be used:"
    responder = with_mistakes(default_responder, "fenced")
    tool_repair = {
        **WEATHER,
        "messages": [
            *WEATHER["messages"],
            {"role": "assistant", "content": "I can't."},
            {"role": "user", "content": f"{REPAIR_PREFIX}\nno call. Call the tool."},
        ],
    }
    assert responder(tool_repair) == default_responder(WEATHER)
    later = [AIMessage("ok"), HumanMessage("not a repair: Your previous reply")]
    plain = payload([HumanMessage("What is the weather in Paris?"), *later])
    assert responder(plain) == "You said: not a repair: Your previous reply"


# -- over HTTP and on the command line ------------------------------------------------


def test_the_emulator_serves_the_imperfect_text() -> None:
    with LiaobotsEmulator(mistakes=["react"], piece_bytes=3) as server:
        resp = requests.post(
            server.base_url + CHAT_PATH,
            json=WEATHER,
            headers={AUTH_HEADER: "k"},
            timeout=5,
        )
        resp.encoding = "utf-8"
        assert resp.status_code == 200
        assert resp.text == (
            "Thought: I need to use get_weather to answer this.\n"
            'Action: get_weather\nAction Input: {"city": "Paris"}'
        )
        assert server.requests[-1].payload == WEATHER


def test_the_emulator_checks_the_names() -> None:
    with pytest.raises(ValueError, match="Unknown mistake"):
        LiaobotsEmulator(mistakes=["fenced", "fencd"])
    assert LiaobotsEmulator().responder is default_responder


def test_the_command_line_takes_mistakes_seed_and_persist() -> None:
    args = _parser().parse_args(["--mistakes", "single_quotes,fenced", "--seed", "1"])
    assert (args.mistakes, args.seed, args.persist) == (
        ["single_quotes", "fenced"],
        1,
        False,
    )
    assert _parser().parse_args(["--mistakes", "all", "--persist"]).mistakes == list(
        MISTAKES
    )
    assert _parser().parse_args([]).mistakes is None


# -- the docs ------------------------------------------------------------------------


def test_the_docs_list_the_catalogue() -> None:
    text = DOCS.read_text(encoding="utf-8")
    header = catalogue_table().splitlines()[0]
    found = re.search(rf"^{re.escape(header)}\n(?:\|.*\n)*", text, re.M)
    assert found is not None, f"no table headed {header!r} in {DOCS.name}"
    assert found.group().rstrip("\n") == catalogue_table()


class Report(BaseModel):
    """A weather report."""

    city: str
    summary: str


def test_a_failed_call_corrected_earlier_does_not_count_as_answered() -> None:
    # The model called Report wrongly, was told (the structured-output tool's
    # "Error: ..." result), called get_weather instead and got its result: the
    # report is still to be made, not another get_weather call (issue 21.16).
    ask = "What is the weather in Paris?"
    messages: list[BaseMessage] = [
        HumanMessage(ask),
        AIMessage(
            "", tool_calls=[{"name": "Report", "args": {"city": "Paris"}, "id": "c1"}]
        ),
        ToolMessage("Error: 1 validation error for Report", tool_call_id="c1"),
        AIMessage(
            "",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c2"}],
        ),
        ToolMessage("Sunny", tool_call_id="c2", name="get_weather"),
    ]
    body = payload(messages, tools=[get_weather, Report], tool_choice="any")
    responder = with_mistakes(default_responder, "fenced")
    text = responder(body)
    assert responder.made == ["fenced"]  # not just told: a mistake is made
    assert '"Report"' in text
    assert '"get_weather"' not in text
    # the correct answer, as without the earlier error
    without = payload(
        [*messages[:1], *messages[3:]], tools=[get_weather, Report], tool_choice="any"
    )
    plain = with_mistakes(default_responder, "fenced", persist=False)
    told = {
        **body,
        "messages": [
            *body["messages"],
            {"role": "assistant", "content": "{}"},
            {"role": "user", "content": f"{REPAIR_PREFIX}\nno call."},
        ],
    }
    assert plain(told) == default_responder(without)
    assert plain.made == [None]
