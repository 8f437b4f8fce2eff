"""The service's history rule on the client: refused unsent, or dropped and said.

The emulator is the server here; what it received shows what was sent. The
rule itself is driven by hand in tests/unit_tests/test_budget.py, and against
a chatbot-ui-like server of its own in test_service_rules.py.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsContextOverflowError,
    LiaobotsHistoryDroppedWarning,
)
from langchain_liaobots.emulator import LiaobotsEmulator


def long_history(turns: int = 40) -> list[BaseMessage]:
    history: list[BaseMessage] = []
    for i in range(turns):
        history += [
            HumanMessage(f"Question {i}: " + "tell me more " * 30),
            AIMessage("ok"),
        ]
    return [*history, HumanMessage("And finally?")]


async def test_a_history_the_service_would_cut_is_refused_unsent(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url, auth="k", model="gpt-3.5-turbo"
    )
    with pytest.raises(LiaobotsContextOverflowError, match="drop the oldest 19 of 81"):
        llm.invoke(long_history())
    with pytest.raises(LiaobotsContextOverflowError) as err:
        await llm.ainvoke(long_history())
    assert (err.value.dropped, err.value.token_limit) == (19, 4000)
    with pytest.raises(LiaobotsContextOverflowError):
        list(llm.stream(long_history()))
    assert fresh_emulator.requests == []


async def test_drop_oldest_sends_what_the_service_keeps_and_says_so(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url,
        auth="k",
        model="gpt-3.5-turbo",
        context_overflow="drop_oldest",
    )
    with pytest.warns(LiaobotsHistoryDroppedWarning, match="oldest 19 of 81") as seen:
        answer = llm.invoke(long_history())
    assert seen[0].filename == __file__  # the caller's line
    assert answer.response_metadata["dropped_messages"] == 19
    payload = fresh_emulator.requests[-1].payload
    assert payload is not None
    assert len(payload["messages"]) == 62
    assert payload["messages"][-1]["content"] == "And finally?"
    with pytest.warns(LiaobotsHistoryDroppedWarning):
        chunks = [c async for c in llm.astream(long_history())]
    assert chunks[-1].response_metadata["dropped_messages"] == 19
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] <= llm.profile["max_input_tokens"]
