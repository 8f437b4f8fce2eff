"""Structured output repairs itself: one more turn shows the model its reply and
the error, over real HTTP against the local server."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import Answer, LiaobotsEmulator
from langchain_liaobots.wire.protocol import CHAT_PATH

PROSE = "Sure! Here is a joke about cats: why did the cat sit on the computer?"
QUESTION = "Tell me a joke about 'cats' with a 'mouse' punchline."


class Joke(BaseModel):
    setup: str
    punchline: str


def chats(server: LiaobotsEmulator) -> list[list[dict[str, str]]]:
    return [
        r.payload["messages"]
        for r in server.requests
        if r.path == CHAT_PATH and r.payload is not None
    ]


def model(server: LiaobotsEmulator, **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(base_url=server.base_url, auth="k", **kwargs)


def test_prose_is_repaired_with_one_more_turn(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    joke = model(fresh_emulator).with_structured_output(Joke).invoke(QUESTION)
    assert isinstance(joke, Joke)
    first, second = chats(fresh_emulator)
    assert first == [{"role": "user", "content": QUESTION}]
    assert second[:2] == [*first, {"role": "assistant", "content": PROSE}]
    ask = second[2]
    assert ask["role"] == "user"
    assert "Invalid json output" in ask["content"]
    assert PROSE in ask["content"]  # the error quotes the reply
    assert "troubleshooting" not in ask["content"]  # links are for developers


@pytest.mark.parametrize("path", ["sync", "async"])
async def test_include_raw_has_langchains_three_keys_and_counts_attempts_in_raw(
    fresh_emulator: LiaobotsEmulator, path: str
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    structured = model(fresh_emulator).with_structured_output(Joke, include_raw=True)
    out: Any = (
        structured.invoke(QUESTION)
        if path == "sync"
        else await structured.ainvoke(QUESTION)
    )
    raw, parsed, parsing_error = out.values()  # LangChain's documented unpacking
    assert list(out) == ["raw", "parsed", "parsing_error"]
    assert isinstance(parsed, Joke)
    assert parsing_error is None
    assert raw.response_metadata["attempts"] == 2  # where the model puts it too
    assert raw.content != PROSE  # the last attempt's reply
    assert len(chats(fresh_emulator)) == 2


def test_parse_retries_zero_turns_the_repair_off(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    structured = model(fresh_emulator, parse_retries=0).with_structured_output(Joke)
    with pytest.raises(OutputParserException, match="Invalid json output"):
        structured.invoke(QUESTION)
    assert len(chats(fresh_emulator)) == 1


def test_a_model_that_never_answers_in_json_fails_after_the_retries() -> None:
    with LiaobotsEmulator(responder=lambda _: PROSE) as server:
        llm = model(server, parse_retries=2)
        out: Any = llm.with_structured_output(Joke, include_raw=True).invoke(QUESTION)
        assert out["parsed"] is None
        assert isinstance(out["parsing_error"], OutputParserException)
        assert out["raw"].content == PROSE
        assert out["raw"].response_metadata["attempts"] == 3
        with pytest.raises(OutputParserException):
            llm.with_structured_output(Joke).invoke(QUESTION)
        assert len(chats(server)) == 6


def test_tool_arguments_that_fail_the_schema_are_repaired(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    bad_call = '{"tool_calls": [{"name": "Joke", "arguments": {"setup": 1}}]}'
    fresh_emulator.script(Answer(text=bad_call))
    structured = model(fresh_emulator).with_structured_output(
        Joke, method="function_calling"
    )
    assert isinstance(structured.invoke(QUESTION), Joke)
    _, second = chats(fresh_emulator)
    replay, ask = second[-2:]
    assert replay["role"] == "assistant"
    assert '"setup": 1' in replay["content"]
    assert "validation error" in ask["content"]
    assert 'call the tool "Joke"' in ask["content"]


async def test_a_reply_without_the_forced_call_is_repaired(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(Answer(text=PROSE))
    structured = model(fresh_emulator).with_structured_output(
        Joke, method="function_calling", include_raw=True
    )
    out: Any = await structured.ainvoke(QUESTION)
    assert isinstance(out["parsed"], Joke)
    _, second = chats(fresh_emulator)
    assert second[-2] == {"role": "assistant", "content": PROSE}
    assert "did not call the tool" in second[-1]["content"]
