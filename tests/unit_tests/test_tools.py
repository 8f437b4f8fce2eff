"""Prompt-based tools and structured output, without sockets."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.prompt.prompting import plan_call
from langchain_liaobots.prompt.reply import ReplyParser, json_section, read_json_section
from langchain_liaobots.prompt.structured import (
    JSON_ONLY,
    AnswerFormat,
    read_answer_instructions,
    read_response_format,
    render_answer_instructions,
)
from langchain_liaobots.prompt.tools import (
    MUST_CALL_ANY,
    ToolResult,
    normalize_tool_choice,
    read_tool_instructions,
    read_tool_result,
    render_tool_instructions,
    render_tool_result,
)

WEATHER = {
    "name": "get_weather",
    "description": "Get the weather.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'


@tool
def get_weather(city: str) -> str:
    """Get the weather."""
    return "Sunny"


def parse(reply: str, *, calls: bool = True, json_only: bool = False) -> list[Any]:
    """Feed ``reply`` one character at a time; return every piece in order."""
    ids = (f"id{i}" for i in itertools.count())
    parser = ReplyParser(
        tool_calls=calls, json_only=json_only, new_id=lambda: next(ids)
    )
    pieces: list[Any] = []
    for ch in reply:
        pieces.extend(parser.feed(ch))
    return pieces + parser.finish()


def message(pieces: list[Any]) -> AIMessageChunk:
    """Aggregate pieces as LangChain aggregates a stream."""
    total = AIMessageChunk(content="")
    for piece in pieces:
        if isinstance(piece, str):
            total += AIMessageChunk(content=piece)
        else:
            total += AIMessageChunk(content="", tool_call_chunks=[piece])
    return total


# -- tool_choice -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("none", "none"),
        (False, "none"),
        ("any", "any"),
        ("required", "any"),
        (True, "any"),
        ("get_weather", "get_weather"),
        ({"type": "function", "function": {"name": "add"}}, "add"),
    ],
)
def test_tool_choice_is_normalized(choice: Any, expected: str) -> None:
    assert normalize_tool_choice(choice, ["get_weather", "add"]) == expected


def test_tool_choice_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="'nope', which is not a bound tool"):
        normalize_tool_choice("nope", ["get_weather"])
    with pytest.raises(ValueError, match="no tools are bound"):
        normalize_tool_choice("any", [])
    with pytest.raises(ValueError, match="Unsupported tool_choice 3"):
        normalize_tool_choice(3, ["get_weather"])


# -- instructions and history ----------------------------------------------------


@pytest.mark.parametrize("choice", ["auto", "any", "get_weather"])
def test_tool_instructions_round_trip(choice: str) -> None:
    text = render_tool_instructions([WEATHER], choice)
    offer = read_tool_instructions(f"Be brief.\n\n{text}")
    assert offer is not None
    assert offer.functions == [WEATHER]
    assert offer.choice == choice


def test_no_tool_instructions_reads_as_none() -> None:
    assert read_tool_instructions("You are helpful. <tools> are nice.") is None


def test_tool_result_round_trip_keeps_status_and_odd_characters() -> None:
    msg = ToolMessage(
        'line 1\n"quoted" <b>', name='a"b', tool_call_id="id&1", status="error"
    )
    rendered = render_tool_result(msg, str(msg.content))
    assert rendered.startswith('<tool_result name="a&quot;b" id="id&amp;1"')
    assert read_tool_result(rendered) == ToolResult(
        name='a"b', call_id="id&1", ok=False, text='line 1\n"quoted" <b>'
    )
    assert read_tool_result("What is <tool_result>?") is None


def test_history_renders_calls_and_results() -> None:
    prompt, wire = to_wire(
        [
            HumanMessage("weather?"),
            AIMessage(
                [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "c1",
                        "name": "get_weather",
                        "input": {},
                    },
                ],
                tool_calls=[
                    {"name": "get_weather", "args": {"city": "巴黎"}, "id": "c1"}
                ],
            ),
            ToolMessage([{"type": "text", "text": "Sun"}, "ny"], tool_call_id="c1"),
        ],
        "default",
    )
    assert prompt == "default"
    assert wire[1] == {
        "role": "assistant",
        "content": 'Checking.\n{"tool_calls": [{"id": "c1", "name": "get_weather", '
        '"arguments": {"city": "巴黎"}}]}',
    }
    result = read_tool_result(wire[2]["content"])
    assert wire[2]["role"] == "user"
    assert result == ToolResult(name="", call_id="c1", ok=True, text="Sunny")


def test_tool_message_with_an_image_is_a_clear_error() -> None:
    image = {"type": "image", "url": "https://example.com/a.png"}
    with pytest.raises(ValueError, match=r"messages\[1\]\.content\[0\] is a 'image'"):
        to_wire([HumanMessage("x"), ToolMessage([image], tool_call_id="c")], "")


# -- the reply parser ---------------------------------------------------------------


def test_without_tools_text_passes_through_untouched() -> None:
    parser = ReplyParser(tool_calls=False, json_only=False)
    assert parser.feed('  {"tool_calls": ') == ['  {"tool_calls": ']
    assert parser.feed("") == []
    assert parser.finish() == []


def test_plain_text_streams_as_it_arrives_when_tools_are_offered() -> None:
    parser = ReplyParser(tool_calls=True, json_only=False)
    assert parser.feed("\n Hel") == ["Hel"]
    assert parser.feed("lo {x} ") == ["lo", " {", "x}"]
    assert parser.feed("there") == [" there"]
    assert parser.finish() == []


def test_only_a_possible_call_opening_is_held() -> None:
    parser = ReplyParser(tool_calls=True, json_only=False)
    assert parser.feed('Sure. {"tool_') == ["Sure."]
    assert parser.feed("calls") == []
    assert parser.feed('": []}') == []
    assert parser.finish() == []


def test_a_bare_call_becomes_tool_call_chunks() -> None:
    assert parse(f"  {CALL}\n") == [
        {
            "name": "get_weather",
            "args": '{"city": "Paris"}',
            "id": "id0",
            "index": 0,
            "type": "tool_call_chunk",
        }
    ]


def test_prose_and_a_fenced_call_are_separated() -> None:
    reply = f"Let me check.\n\n```json\n{CALL}\n```\nOne moment."
    msg = message(parse(reply))
    assert msg.content == "Let me check.\n\nOne moment."
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert msg.invalid_tool_calls == []


def test_several_calls_and_call_shapes() -> None:
    reply = (
        '{"tool_calls": [{"name": "a", "arguments": {"x": 1}}, '
        '{"name": "b", "args": "{\\"y\\": \\"你好\\"}"}, {"name": "c"}]}'
        ' {"name": "d", "parameters": {}}'
    )
    pieces = parse(reply)
    assert [p["index"] for p in pieces] == [0, 1, 2, 3]
    assert len({p["id"] for p in pieces}) == 4
    msg = message(pieces)
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("a", {"x": 1}),
        ("b", {"y": "你好"}),
        ("c", {}),
        ("d", {}),
    ]


def test_json_that_is_not_a_call_stays_text() -> None:
    reply = '```json\n{"name": "Bob", "age": 3}\n``` and {"tool_calls" : 1'
    msg = message(parse('```json\n{"name": "Bob", "age": 3}\n``` ok'))
    assert msg.content == '```json\n{"name": "Bob", "age": 3}\n``` ok'
    assert msg.tool_calls == []
    assert message(parse(reply)).invalid_tool_calls  # the cut-off call after it


@pytest.mark.parametrize(
    ("reply", "name", "offending"),
    [
        (
            '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Par',
            "get_weather",
            '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Par',
        ),
        (
            "{\"tool_calls\": [{'name': 'get_weather'}]}",
            None,
            "{\"tool_calls\": [{'name': 'get_weather'}]}",
        ),
        (
            '{"tool_calls": [{"name": "get_weather", "arguments": "city=Paris"}]}',
            "get_weather",
            "city=Paris",
        ),
        (
            '{"tool_calls": [{"name": "get_weather", "arguments": ["Paris"]}]}',
            "get_weather",
            '["Paris"]',
        ),
        ('{"tool_calls": [{"arguments": {"a": 1}}]}', None, '{"arguments": {"a": 1}}'),
        ('{"tool_calls": "get_weather"}', None, '{"tool_calls": "get_weather"}'),
    ],
)
def test_malformed_calls_become_invalid_tool_calls(
    reply: str, name: str | None, offending: str
) -> None:
    msg = message(parse(reply))
    assert msg.tool_calls == []
    assert msg.content == ""
    (invalid,) = msg.invalid_tool_calls
    assert invalid["name"] == name
    assert invalid["args"] is not None
    assert json.loads(invalid["args"]) == offending


def test_json_only_keeps_just_the_object() -> None:
    reply = 'Here it is:\n```json\n{"a": {"b": "}"}}\n```\nBye.'
    assert "".join(parse(reply, calls=False, json_only=True)) == '{"a": {"b": "}"}}'
    parser = ReplyParser(tool_calls=False, json_only=True)
    assert parser.feed("Sure: ") == []
    assert parser.feed('{"a"') == ['{"a"']
    assert parser.feed(": 1} trailing") == [": 1}"]
    assert parser.finish() == []


def test_json_only_without_an_object_returns_the_text_at_the_end() -> None:
    assert parse("I cannot.", calls=False, json_only=True) == ["I cannot."]


def test_json_only_with_tools_still_finds_calls() -> None:
    msg = message(parse(f"```\n{CALL}\n```", json_only=True))
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]
    answer = message(parse('{"name": "Paris", "size": 2}', json_only=True))
    assert answer.content == '{"name": "Paris", "size": 2}'
    assert answer.tool_calls == []


REPLIES = [
    "Plain answer with {braces} and `code`.",
    f"Prose first.\n```json\n{CALL}\n```\nThen more prose.",
    CALL + "\n" + CALL,
    '{"tool_calls": [{"name": "x", "arguments": "bad"}]} tail',
    '{"tool_calls": [{"name": "x", "arguments": {"k": "v\\"}"',
    "```python\nprint({'a': 1})\n```",
]


@given(st.sampled_from(REPLIES), st.sets(st.integers(1, 80)), st.booleans())
def test_any_split_of_a_reply_gives_the_same_result(
    reply: str, cuts: set[int], json_only: bool
) -> None:
    edges = [0, *sorted(c for c in cuts if c < len(reply)), len(reply)]
    ids = (f"id{i}" for i in itertools.count())
    parser = ReplyParser(tool_calls=True, json_only=json_only, new_id=lambda: next(ids))
    pieces: list[Any] = []
    for start, end in itertools.pairwise(edges):
        pieces.extend(parser.feed(reply[start:end]))
    pieces.extend(parser.finish())
    whole = ReplyParser(tool_calls=True, json_only=json_only, new_id=lambda: "id")
    expected = message([*whole.feed(reply), *whole.finish()])
    got = message(pieces)
    assert got.content == expected.content
    assert [(c["name"], c["args"]) for c in got.tool_calls] == [
        (c["name"], c["args"]) for c in expected.tool_calls
    ]
    assert [c["args"] for c in got.invalid_tool_calls] == [
        c["args"] for c in expected.invalid_tool_calls
    ]


# -- planning a call ----------------------------------------------------------------


def test_plan_keeps_the_default_prompt_and_adds_instructions() -> None:
    turn = plan_call(
        [HumanMessage("hi")],
        "default prompt",
        {"tools": [get_weather], "tool_choice": "any", "model": "gpt-3.5-turbo"},
    ).first
    assert turn.kwargs == {"model": "gpt-3.5-turbo"}
    prompt, wire = to_wire(turn.messages, "unused")
    assert prompt.startswith("default prompt\n\n# Tools")
    assert MUST_CALL_ANY in prompt
    assert wire == [{"role": "user", "content": "hi"}]


def test_plan_appends_to_the_callers_system_prompt() -> None:
    response_format = {"type": "json_schema", "json_schema": {"schema": WEATHER}}
    turn = plan_call(
        [SystemMessage("mine"), HumanMessage("hi")],
        "default",
        {"response_format": response_format},
    ).first
    prompt, _ = to_wire(turn.messages, "default")
    assert prompt.startswith(f"mine\n\n# Answer format\n\n{JSON_ONLY}")
    assert read_answer_instructions(prompt) == AnswerFormat(schema=WEATHER)
    assert read_tool_instructions(prompt) is None


def test_plan_without_tools_or_with_tool_choice_none_changes_nothing() -> None:
    messages = [HumanMessage("hi")]
    for kwargs in ({}, {"tools": [get_weather], "tool_choice": "none"}):
        turn = plan_call(messages, "default", kwargs).first
        assert turn.messages == messages
        assert turn.parser.feed(' {"tool_calls"') == [' {"tool_calls"']


def test_plan_rejects_what_it_cannot_send() -> None:
    with pytest.raises(ValueError, match="function tools only"):
        plan_call([HumanMessage("x")], "", {"tools": [{"type": "web_search"}]})
    with pytest.raises(ValueError, match="Unsupported response_format"):
        plan_call([HumanMessage("x")], "", {"response_format": {"type": "xml"}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, AnswerFormat(schema=None)),
        (
            {"type": "json_schema", "json_schema": {"name": "W", "schema": WEATHER}},
            AnswerFormat(schema=WEATHER),
        ),
    ],
)
def test_response_format_shapes(value: Any, expected: AnswerFormat | None) -> None:
    assert read_response_format(value) == expected


def test_answer_instructions_round_trip() -> None:
    for answer in (AnswerFormat(schema=None), AnswerFormat(schema=WEATHER)):
        assert read_answer_instructions(render_answer_instructions(answer)) == answer
    assert read_answer_instructions("Answer in JSON please.") is None


# -- binding ---------------------------------------------------------------------


class Person(BaseModel):
    """A person."""

    name: str


def test_bind_tools_binds_openai_tools_and_the_normalized_choice() -> None:
    llm = ChatLiaobots(auth="k")
    bound: Any = llm.bind_tools([get_weather, Person], tool_choice="required")
    assert [t["function"]["name"] for t in bound.kwargs["tools"]] == [
        "get_weather",
        "Person",
    ]
    assert bound.kwargs["tools"][0]["type"] == "function"
    assert bound.kwargs["tool_choice"] == "any"
    with pytest.raises(ValueError, match="'Nobody', which is not a bound tool"):
        llm.bind_tools([Person], tool_choice="Nobody")


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_with_structured_output_binds_its_method(method: str) -> None:
    llm = ChatLiaobots(auth="k", parse_retries=0)  # no repair: a plain llm | parser
    chain: Any = llm.with_structured_output(Person, method=method)
    kwargs = chain.first.kwargs
    assert kwargs["ls_structured_output_format"] == {
        "kwargs": {"method": method},
        "schema": Person,
    }
    if method == "function_calling":
        assert kwargs["tool_choice"] == "Person"
    else:
        expected = "json_schema" if method == "json_schema" else "json_object"
        assert kwargs["response_format"]["type"] == expected


def test_with_structured_output_rejects_bad_options() -> None:
    llm = ChatLiaobots(auth="k")
    with pytest.raises(ValueError, match="Unknown method 'xml'"):
        llm.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strict is not supported"):
        llm.with_structured_output(Person, method="json_mode", strict=True)
    with pytest.raises(ValueError, match="unsupported arguments"):
        llm.with_structured_output(Person, tools=[])


def test_one_json_section_format_for_tools_and_schemas() -> None:
    text = "before\n" + json_section("tools", [{"a": "<b>"}]) + "\nafter"
    assert read_json_section(text, "tools") == [{"a": "<b>"}]
    assert read_json_section(text, "json_schema") is None
    assert read_json_section("<tools>\nnot json\n</tools>", "tools") is None
