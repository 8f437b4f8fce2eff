"""Message conversion and the model registry."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
)

from langchain_liaobots import ModelSpec, get_model, known_model_ids, register_model
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
    with pytest.raises(ValueError, match="at least one user or assistant"):
        to_wire([SystemMessage("only")], "")


def test_registry_seed_entries_are_exact() -> None:
    assert get_model("gpt-4").to_wire() == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }
    assert get_model("gpt-3.5-turbo").to_wire() == {
        "id": "gpt-3.5-turbo",
        "name": "GPT-3.5",
        "maxLength": 12000,
        "tokenLimit": 4000,
    }
    later = get_model("gpt-4o-free").to_wire()
    assert later["maxLength"] == 31200
    assert later["provider"] == "OpenAI"


def test_unknown_model_lists_known_ids() -> None:
    with pytest.raises(ValueError, match="Unknown Liaobots model 'gpt-9'") as err:
        get_model("gpt-9")
    for model_id in known_model_ids():
        assert model_id in str(err.value)


def test_register_custom_model() -> None:
    spec = register_model(
        {"id": "my-test-model", "name": "Mine", "maxLength": 900, "tokenLimit": 300}
    )
    assert get_model("my-test-model") is spec
    assert isinstance(spec, ModelSpec)
    with pytest.raises(ValueError, match="tokenLimit"):
        register_model({"id": "bad", "name": "Bad", "maxLength": 9})
