"""The token estimate on the wire form equals core's over the messages as sent.

``wire.tokens`` counts ``{"role", "content"}`` dicts directly instead of
converting them back into LangChain messages; these properties pin it to
``count_tokens_approximately`` over the equivalent messages (the system prompt
and every wire message as the ``SystemMessage``/``HumanMessage``/``AIMessage``
it is sent as), for conversations with tool calls, tool results, unicode and
system prompts, so usage numbers never change.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import count_tokens_approximately

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.prompt.messages import WireMessage, to_wire
from langchain_liaobots.wire.tokens import (
    ReplyBudget,
    count_input_tokens,
    count_reply_tokens,
    count_text_tokens,
    count_tokens,
)

DEFAULT_PROMPT = "You are a helpful assistant."

texts = st.text(max_size=60)  # unicode: CJK, emoji, combining marks, controls
names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
args = st.dictionaries(
    names,
    st.one_of(st.integers(), texts, st.booleans(), st.none(), st.lists(texts)),
    max_size=3,
)


@st.composite
def tool_call(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(names),
        "args": draw(args),
        "id": draw(st.from_regex(r"call_[A-Za-z0-9]{1,8}", fullmatch=True)),
        "type": "tool_call",
    }


@st.composite
def message(draw: st.DrawFn) -> BaseMessage:
    kind = draw(st.sampled_from(["system", "human", "ai", "tool", "chat", "blocks"]))
    text = draw(texts)
    if kind == "system":
        return SystemMessage(text)
    if kind == "human":
        return HumanMessage(text)
    if kind == "ai":
        return AIMessage(text, tool_calls=draw(st.lists(tool_call(), max_size=2)))
    if kind == "tool":
        return ToolMessage(
            text,
            tool_call_id=draw(st.from_regex(r"call_[a-z0-9]{1,8}", fullmatch=True)),
            name=draw(st.one_of(st.none(), names)),
            status=draw(st.sampled_from(["success", "error"])),
        )
    if kind == "chat":
        role = draw(st.sampled_from(["user", "assistant", "system", "Human", "AI"]))
        return ChatMessage(content=text, role=role)
    return HumanMessage([{"type": "text", "text": t} for t in draw(st.lists(texts))])


conversations = st.lists(message(), max_size=12).map(
    lambda ms: [*ms, HumanMessage("and now?")]  # at least one wire message
)


def core_estimate(prompt: str, wire: list[WireMessage]) -> int:
    """Core's count over the messages as sent: the prompt and each wire turn."""
    as_sent: list[BaseMessage] = [SystemMessage(prompt)]
    for m in wire:
        cls = HumanMessage if m["role"] == "user" else AIMessage
        as_sent.append(cls(m["content"]))
    return count_tokens_approximately(as_sent)


@settings(max_examples=200, deadline=None)
@given(conversations, texts)
def test_input_estimate_equals_core_over_the_messages_as_sent(
    messages: list[BaseMessage], default_prompt: str
) -> None:
    prompt, wire = to_wire(messages, default_prompt)
    expected = core_estimate(prompt, wire)
    assert count_input_tokens(prompt, wire) == expected
    # ... and the dict form core accepts too (what this module used to call)
    assert (
        count_tokens_approximately([{"role": "system", "content": prompt}, *wire])
        == expected
    )


@settings(max_examples=100, deadline=None)
@given(conversations)
def test_get_num_tokens_from_messages_equals_core(
    messages: list[BaseMessage],
) -> None:
    llm = ChatLiaobots(auth="test-code", prompt=DEFAULT_PROMPT)
    prompt, wire = to_wire(messages, DEFAULT_PROMPT)
    assert llm.get_num_tokens_from_messages(messages) == core_estimate(prompt, wire)


@given(texts)
def test_reply_and_text_estimates_equal_core(text: str) -> None:
    assert count_reply_tokens(text) == count_tokens_approximately([AIMessage(text)])
    assert count_text_tokens(text) == (
        count_tokens_approximately([HumanMessage(text)])
        - count_tokens_approximately([HumanMessage("")])
    )


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant"]), texts)))
def test_the_estimate_is_additive_over_messages(turns: list[tuple[str, str]]) -> None:
    wire = [{"role": role, "content": content} for role, content in turns]
    assert count_tokens(wire) == sum(count_tokens([m]) for m in wire)


def test_known_values() -> None:
    # ceil((len(content) + len(role)) / 4) + 3 per message
    assert count_tokens([]) == 0
    assert count_tokens([{"role": "user", "content": ""}]) == 1 + 3
    assert count_tokens([{"role": "user", "content": "abcd"}]) == 2 + 3
    assert count_tokens([{"role": "user", "content": "abcde"}]) == 3 + 3
    assert count_tokens([{"role": "assistant", "content": "日本語"}]) == 3 + 3
    assert count_text_tokens("") == 0
    assert count_text_tokens("abcde") == 2


def test_a_long_conversation_counts_like_core() -> None:
    messages: list[BaseMessage] = [SystemMessage("Be brief.")]
    for i in range(4000):
        messages.append(HumanMessage(f"question {i} ❓"))
        messages.append(
            AIMessage(
                f"answer {i}",
                tool_calls=[{"name": "f", "args": {"i": i}, "id": f"c{i}"}]
                if i % 10 == 0
                else [],
            )
        )
    prompt, wire = to_wire(messages, DEFAULT_PROMPT)
    assert count_input_tokens(prompt, wire) == core_estimate(prompt, wire)


def test_reply_budget_cuts_at_the_same_estimate() -> None:
    text = "one two three four five six seven"
    budget = ReplyBudget(8)  # ceil((len + len("assistant")) / 4) + 3 <= 8
    kept = budget.take(text)
    assert budget.exhausted
    assert kept == text[:11]
    assert count_reply_tokens(kept) == 8
    assert count_reply_tokens(text[:12]) == 9
