"""The service's 1,000-token answer cap is reported as a cut, on every path.

chatbot-ui's server asks its upstream for ``max_tokens: 1000`` and streams what
comes back with no marker, so an answer of 1,000 tokens was cut by the
service: ``finish_reason`` says ``"length"``, and the tool and JSON rules treat
it as cut (no repair turn for a reply that never had the room to finish).
"""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import Answer, LiaobotsEmulator
from langchain_liaobots.tokens import TOKENIZER
from tests.helpers.replies import get_weather

CAPPED = " ".join(["word"] * 1000)  # exactly 1,000 cl100k_base tokens
SHORT = " ".join(["word"] * 900)


def test_the_texts_are_what_they_say() -> None:
    assert TOKENIZER.count(CAPPED) == 1000
    assert TOKENIZER.count(SHORT) == 900


async def test_an_answer_at_the_cap_ends_with_length_on_every_path(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    fresh_emulator.script(*[Answer(text=CAPPED, piece_bytes=400)] * 4)
    assert llm.invoke("talk").response_metadata["finish_reason"] == "length"
    streamed = list(llm.stream("talk"))
    assert streamed[-1].response_metadata["finish_reason"] == "length"
    invoked = await llm.ainvoke("talk")
    assert invoked.response_metadata["finish_reason"] == "length"
    assert invoked.usage_metadata is not None
    assert invoked.usage_metadata["output_tokens"] == 1000
    last = [c async for c in llm.astream("talk")][-1]
    assert isinstance(last, AIMessageChunk)
    assert last.response_metadata["finish_reason"] == "length"


def test_a_shorter_answer_stops(fresh_emulator: LiaobotsEmulator) -> None:
    fresh_emulator.script(Answer(text=SHORT, piece_bytes=400))
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    assert llm.invoke("talk").response_metadata["finish_reason"] == "stop"


async def test_a_forced_call_cut_at_the_cap_is_not_repaired(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    fresh_emulator.script(*[Answer(text=CAPPED, piece_bytes=400)] * 2)
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    forced = llm.bind_tools([get_weather], tool_choice="any")
    message = forced.invoke("weather in 'Paris'?")
    assert message.response_metadata["finish_reason"] == "length"
    assert not message.tool_calls
    answer = await llm.bind(response_format={"type": "json_object"}).ainvoke(
        "a JSON object please"
    )
    assert answer.response_metadata["finish_reason"] == "length"
    assert len(fresh_emulator.requests) == 2  # one request each: no repair turn
