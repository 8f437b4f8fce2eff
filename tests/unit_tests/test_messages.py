"""prompt.messages: LangChain messages to the service's prompt and roles."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
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
    with pytest.raises(TypeError, match="FunctionMessage"):
        to_wire([FunctionMessage(name="f", content="x")], "")


def test_a_system_prompt_alone_is_sent_with_no_messages() -> None:
    # chatbot-ui's server forwards it so: the prompt as the system message.
    assert to_wire([SystemMessage("Summarize: text")], "default") == (
        "Summarize: text",
        [],
    )
    assert to_wire([], "default") == ("default", [])
