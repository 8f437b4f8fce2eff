"""A prompt of system messages only, and counting it, as LangChain's recipes do.

The "Summarize text" tutorial's prompt is one system message; LangChain's
memory recipe (``trim_messages(..., token_counter=llm, include_system=True)``)
counts a system message alone and the empty list. chatbot-ui's server forwards
a request with no messages as the prompt alone, so that is how it is sent.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import trim_messages
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.tokens import TOKENIZER
from langchain_liaobots.wire.protocol import DEFAULT_PROMPT

SUMMARIZE = ChatPromptTemplate.from_messages(
    [("system", "Write a concise summary of the following:\n\n{context}")]
)


def test_a_system_only_prompt_is_sent_as_the_prompt_alone(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    summary = (SUMMARIZE | llm | StrOutputParser()).invoke({"context": "Cats nap."})
    payload = fresh_emulator.requests[-1].payload
    assert payload is not None
    assert payload["messages"] == []
    assert payload["prompt"] == "Write a concise summary of the following:\n\nCats nap."
    assert "Cats nap." in summary


async def test_a_system_only_prompt_async_and_streamed(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(base_url=fresh_emulator.base_url, auth="k")
    chain = SUMMARIZE | llm | StrOutputParser()
    streamed = "".join([p async for p in chain.astream({"context": "Dogs run."})])
    assert "Dogs run." in streamed
    assert "Dogs run." in await chain.ainvoke({"context": "Dogs run."})
    assert all(
        r.payload and r.payload["messages"] == [] for r in fresh_emulator.requests
    )


def test_counting_a_system_message_alone_and_nothing() -> None:
    llm = ChatLiaobots(base_url="http://127.0.0.1:9", auth="k")
    assert llm.get_num_tokens_from_messages([SystemMessage("hello world")]) == 2
    assert llm.get_num_tokens_from_messages([]) == TOKENIZER.count(DEFAULT_PROMPT)


def test_trim_messages_with_the_model_as_counter_keeps_the_system_message(
    fresh_emulator: LiaobotsEmulator,
) -> None:
    llm = ChatLiaobots(
        base_url=fresh_emulator.base_url, auth="k", model="gpt-3.5-turbo"
    )
    history = [SystemMessage("You are terse.")]
    for i in range(60):
        history += [HumanMessage(f"question {i} " * 20), AIMessage(f"answer {i}")]
    history.append(HumanMessage("last question"))
    budget = 500
    kept = trim_messages(
        history,
        token_counter=llm,
        max_tokens=budget,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert kept[0] == history[0]
    assert kept[-1] == history[-1]
    assert len(kept) < len(history)
    assert llm.get_num_tokens_from_messages(kept) <= budget
    assert llm.invoke(kept).content == "You said: last question"
