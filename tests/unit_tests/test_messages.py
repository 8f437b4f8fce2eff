"""prompt.messages: LangChain messages to the service's prompt and roles."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
)

from langchain_liaobots.prompt.messages import to_wire


def test_roles_and_system_prompts() -> None:
    prompt, wire = to_wire(
        [
            SystemMessage("one"),
            HumanMessage("hi"),
            SystemMessage("two"),
            AIMessage("hello"),
            ChatMessage(role="user", content="again"),
        ],
        "default",
    )
    assert prompt == "one\n\ntwo"
    assert wire == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]


def test_default_prompt_when_no_system_message() -> None:
    assert to_wire([HumanMessage("hi")], "default")[0] == "default"


def test_text_blocks_are_joined() -> None:
    msg = HumanMessage(
        content=[{"type": "text", "text": "a"}, "b", {"type": "text", "text": "c"}]
    )
    assert to_wire([msg], "")[1] == [{"role": "user", "content": "abc"}]


def test_image_block_is_a_clear_error() -> None:
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "see"},
            {"type": "image_url", "image_url": {"url": "x"}},
        ]
    )
    with pytest.raises(
        ValueError, match=r"messages\[0\]\.content\[1\] is a 'image_url' block"
    ):
        to_wire([msg], "")


def test_unknown_roles_and_types_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="role 'critic'"):
        to_wire([ChatMessage(role="critic", content="x")], "")
    with pytest.raises(TypeError, match="RemoveMessage"):
        to_wire([HumanMessage("x"), RemoveMessage(id="m1")], "")


def test_a_system_prompt_alone_is_sent_with_no_messages() -> None:
    # chatbot-ui's server forwards it so: the prompt as the system message.
    assert to_wire([SystemMessage("Summarize: text")], "default") == (
        "Summarize: text",
        [],
    )
    assert to_wire([], "default") == ("default", [])


def test_an_assistants_reasoning_blocks_are_dropped() -> None:
    msg = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "Think first."},
            {"type": "thinking", "thinking": "More.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "text", "text": "Hello!"},
        ]
    )
    assert to_wire([msg], "")[1] == [{"role": "assistant", "content": "Hello!"}]


def test_text_plain_blocks_are_text() -> None:
    block = {"type": "text-plain", "text": "notes", "mime_type": "text/plain"}
    msg = HumanMessage(content=[{"type": "text", "text": "Read: "}, block])
    assert to_wire([msg], "")[1] == [{"role": "user", "content": "Read: notes"}]


def test_reasoning_from_the_user_is_still_a_clear_error() -> None:
    msg = HumanMessage(content=[{"type": "reasoning", "reasoning": "x"}])
    with pytest.raises(ValueError, match=r"content\[0\] is a 'reasoning' block"):
        to_wire([msg], "")


def test_legacy_function_calling_history_is_a_call_and_its_result() -> None:
    call = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    _, wire = to_wire(
        [
            HumanMessage("Weather?"),
            AIMessage("", additional_kwargs={"function_call": call}),
            FunctionMessage(name="get_weather", content="Sunny"),
        ],
        "",
    )
    assert wire[1] == {
        "role": "assistant",
        "content": '{"tool_calls": [{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}]}',
    }
    assert wire[2] == {
        "role": "user",
        "content": '<tool_result name="get_weather" id="" status="success">\n'
        "Sunny\n</tool_result>",
    }
