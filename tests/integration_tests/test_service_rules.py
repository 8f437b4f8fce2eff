"""Issue 19's "Done when": the package keeps the service's rules, against its server.

The server is ``tests/helpers/chatbot_ui.py``: chatbot-ui's handler written again
with tiktoken's own cl100k_base, sharing no code with the package. Every verdict
here is the server's: what it kept of each request it received, what its own
rule (`chatbot_ui.keep_newest`) says of each request the package refused.

* the sweep: English, Chinese, JSON and code conversations on gpt-3.5-turbo and
  gpt-4, from small to past the limit, several sizes on either side of it:
  0 sent and silently cut, 0 refused that the service keeps whole;
* ``context_overflow="drop_oldest"``, the ``trim_messages`` recipe, a long
  ``create_agent`` run with ``SummarizationMiddleware``: nothing the server cuts;
* the 1,000-token cap, the upstream errors in the reason phrase, ``temperature``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import SummarizationMiddleware
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool

import langchain_liaobots
from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsAPIError,
    LiaobotsError,
    LiaobotsOutOfCreditError,
    LiaobotsRateLimitError,
    LiaobotsUnsupportedParameterWarning,
    get_model,
    register_model,
)
from langchain_liaobots.errors import (
    LiaobotsContextOverflowError,
    LiaobotsHistoryDroppedWarning,
    LiaobotsUpstreamKeyError,
)
from tests.helpers.chatbot_ui import (
    ANSWER_TOKENS,
    ChatbotUI,
    Upstream,
    count,
    keep_newest,
    served_prompt,
)

MODELS = ("gpt-3.5-turbo", "gpt-4")
KINDS = ("english", "chinese", "json", "code")
LENGTHS = (3, 7, 15)
"""Messages per conversation (user first and last), each longer than the last."""
COARSE = (0.05, 0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 1.02, 1.05, 1.1, 1.3)
"""Sizes as fractions of the largest the server keeps whole."""
FINE = (-12, -3, -2, -1, 0, 1, 2, 3, 12)
"""Sizes, in characters, around the largest the server keeps whole."""
SOURCE_CHARS = 60_000
"""The length of the text each conversation's messages are prefixes of."""
UNBOUNDED = 10**9
"""The ``tokenLimit`` of the twin models that record what a refused call sends."""


def model(server: ChatbotUI, name: str = "gpt-4", **kwargs: Any) -> ChatLiaobots:
    return ChatLiaobots(
        base_url=server.base_url, auth="k", model=name, timeout=10, **kwargs
    )


async def call(llm: ChatLiaobots, path: str, text: str) -> AIMessage:
    """``invoke`` or ``ainvoke``, by ``path``."""
    if path == "sync":
        return llm.invoke(text)
    return await llm.ainvoke(text)


# -- conversations, deterministic ---------------------------------------------

_WORDS = [
    "the",
    "service",
    "keeps",
    "every",
    "message",
    "from",
    "the",
    "newest",
    "back",
    "while",
    "its",
    "count",
    "fits",
    "a",
    "careful",
    "reader",
    "answers",
    "questions",
    "about",
    "trains",
    "rivers",
    "mountains",
    "and",
    "history",
    "of",
    "small",
    "towns",
    "near",
    "sea",
    "with",
    "notes",
    "on",
    "weather",
    "food",
    "music",
]
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发"
    "年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如"
    "水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然"
)


@cache
def text(kind: str, seed: int, chars: int) -> str:
    """A deterministic text of one kind, ``chars`` long: a prefix of `_source`."""
    return _source(kind, seed, chars)[:chars]


@cache
def _source(kind: str, seed: int, chars: int) -> str:
    """A deterministic text of one kind, at least ``chars`` long."""
    rng, parts, size = random.Random(f"{kind}-{seed}"), [], 0
    while size < chars:
        if kind == "english":
            words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
            part = " ".join(words).capitalize() + ". "
        elif kind == "chinese":
            part = "".join(rng.choice(_HANZI) for _ in range(rng.randint(5, 14)))
            part += rng.choice(
                "\uff0c\u3002\uff1b"
            )  # full-width comma, stop, semicolon
        elif kind == "json":
            record = {
                "id": size,
                "name": rng.choice(_WORDS),
                "score": round(rng.random() * 100, 2),
                "tags": rng.sample(_WORDS, 2),
                "ok": rng.random() < 0.5,
            }
            part = json.dumps(record, indent=2) + ",\n"
        else:
            n, word = rng.randint(1, 999), rng.choice(_WORDS)
            part = (
                f"def {word}_{n}(items, limit={n}):\n"
                f"    # keep the {word} items under the limit\n"
                f"    return [x * {n % 7 + 1} for x in items if x < limit]\n\n"
            )
        parts.append(part)
        size += len(part)
    return "".join(parts)


def conversation(kind: str, chars: int, length: int = 7) -> list[BaseMessage]:
    """``length`` growing messages of ``chars`` characters in all (and a system
    one for JSON and code)."""
    total = length * (length + 1) // 2
    sizes = [chars * w // total for w in range(1, length)]
    sizes.append(chars - sum(sizes))
    messages: list[BaseMessage] = []
    if kind in ("json", "code"):
        messages.append(SystemMessage(f"You review {kind} that users paste. Be brief."))
    for i, size in enumerate(sizes):
        body = _source(kind, i, SOURCE_CHARS)[:size]  # prefixes of one text
        messages.append(HumanMessage(body) if i % 2 == 0 else AIMessage(body))
    return messages


def served(messages: list[BaseMessage]) -> tuple[str, list[dict[str, str]]]:
    """The prompt and messages as the service receives these (no tools)."""
    system = [str(m.content) for m in messages if isinstance(m, SystemMessage)]
    rest = [m for m in messages if not isinstance(m, SystemMessage)]
    return (system[0] if system else ""), [{"content": str(m.content)} for m in rest]


def input_tokens(payload: dict[str, Any]) -> int:
    """What the server counts of a body: its prompt and every message's content."""
    prompt = count(served_prompt(payload["prompt"]))
    return prompt + sum(count(m["content"]) for m in payload["messages"])


def whole(kind: str, name: str, chars: int, length: int) -> bool:
    prompt, messages = served(conversation(kind, chars, length))
    limit = get_model(name).token_limit
    return keep_newest(prompt, messages, limit) == len(messages)


@cache
def boundary(kind: str, name: str, length: int = 7) -> int:
    """The largest size the server keeps whole (by its own count), bisected."""
    low, high = 50, 200
    while whole(kind, name, high, length):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if whole(kind, name, mid, length) else (low, mid)
    return low


@dataclass(frozen=True)
class Case:
    kind: str
    model: str
    length: int
    chars: int

    @property
    def messages(self) -> list[BaseMessage]:
        return conversation(self.kind, self.chars, self.length)


def cases() -> Iterator[Case]:
    for kind in KINDS:
        for name in MODELS:
            for length in LENGTHS:
                edge = boundary(kind, name, length)
                sizes = {round(edge * f) for f in COARSE} | {edge + d for d in FINE}
                for chars in sorted(sizes):
                    yield Case(kind, name, length, chars)


@pytest.fixture(scope="module")
def twins() -> dict[str, str]:
    """Each model's twin: same name, a limit nothing reaches, to record payloads."""
    ids = {}
    for name in MODELS:
        spec = get_model(name)
        twin = register_model(
            {
                "id": f"{name}-probe-unbounded",
                "name": spec.name,
                "maxLength": spec.max_length,
                "tokenLimit": UNBOUNDED,
            }
        )
        ids[name] = twin.id
    return ids


# -- the sweep ------------------------------------------------------------------


@dataclass
class Tally:
    """The sweep's counts, per case kind and model, and its failures."""

    sent: dict[tuple[str, str], int] = field(default_factory=dict)
    refused: dict[tuple[str, str], int] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)
    refused_whole: list[str] = field(default_factory=list)
    misreported: list[str] = field(default_factory=list)

    def on_sent(
        self, case: Case, server: ChatbotUI, before: int, msg: AIMessage
    ) -> None:
        key = (case.kind, case.model)
        self.sent[key] = self.sent.get(key, 0) + 1
        received = server.requests[before:]
        for got in received:
            if got.dropped:
                self.cut.append(f"{case}: {got.dropped} of {got.kept + got.dropped}")
        counted = [input_tokens(got.payload) for got in received]
        usage = msg.usage_metadata
        if usage is None or [usage["input_tokens"]] != counted:
            self.misreported.append(
                f"{case}: usage {usage}, the server counts {counted}"
            )

    def on_refused(
        self, case: Case, err: LiaobotsContextOverflowError, server: ChatbotUI
    ) -> None:
        """Judge a refusal with the server's rule over what would have been sent."""
        key = (case.kind, case.model)
        self.refused[key] = self.refused.get(key, 0) + 1
        payload = server.requests[-1].payload  # sent through the twin
        limit = get_model(case.model).token_limit
        kept = keep_newest(payload["prompt"], payload["messages"], limit)
        dropped = len(payload["messages"]) - kept
        if not dropped:
            self.refused_whole.append(str(case))
        kept_tokens = input_tokens(
            {"prompt": payload["prompt"], "messages": payload["messages"][dropped:]}
        )
        said = (err.dropped, err.token_limit, err.input_tokens)
        if said != (dropped, limit, kept_tokens):
            self.misreported.append(
                f"{case}: said (dropped, limit, kept tokens) {said}, the server "
                f"{(dropped, limit, kept_tokens)}"
            )

    def check(self, kinds: tuple[str, ...] = KINDS, at_least: int = 5) -> None:
        print(  # the numbers, for the report (pytest -s)
            f"sent {sum(self.sent.values())}, refused {sum(self.refused.values())}, "
            f"silently cut {len(self.cut)}, refused whole {len(self.refused_whole)}"
        )
        assert self.cut == []
        assert self.refused_whole == []
        assert self.misreported == []
        for kind in kinds:  # both sides of the limit were reached, for every pair
            for name in MODELS:
                assert self.sent.get((kind, name), 0) >= at_least
                assert self.refused.get((kind, name), 0) >= at_least


def test_sweep_sync_none_cut_none_refused_whole(twins: dict[str, str]) -> None:
    tally = Tally()
    with ChatbotUI() as server:
        for case in cases():
            before = len(server.requests)
            try:
                msg = model(server, case.model).invoke(case.messages)
            except LiaobotsContextOverflowError as err:
                assert len(server.requests) == before  # nothing was sent
                model(server, twins[case.model]).invoke(case.messages)
                tally.on_refused(case, err, server)
            else:
                tally.on_sent(case, server, before, msg)
    tally.check()


async def test_sweep_async_none_cut_none_refused_whole(twins: dict[str, str]) -> None:
    tally = Tally()
    with ChatbotUI() as server:
        for case in cases():
            before = len(server.requests)
            try:
                msg = await model(server, case.model).ainvoke(case.messages)
            except LiaobotsContextOverflowError as err:
                assert len(server.requests) == before
                await model(server, twins[case.model]).ainvoke(case.messages)
                tally.on_refused(case, err, server)
            else:
                tally.on_sent(case, server, before, msg)
    tally.check()


@tool
def lookup(page: int) -> str:
    """Look a page up."""
    return "page"


def tool_conversation(chars: int, steps: int = 4) -> list[BaseMessage]:
    """A task, then ``steps`` tool calls whose JSON results grow, ``chars`` in all."""
    total = steps * (steps + 1) // 2
    messages: list[BaseMessage] = [HumanMessage("Look up every page, then report.")]
    for i in range(steps):
        call = {"name": "lookup", "args": {"page": i}, "id": f"call_{i}"}
        result = _source("json", 300 + i, SOURCE_CHARS)[: chars * (i + 1) // total]
        messages.append(AIMessage("", tool_calls=[call]))
        messages.append(ToolMessage(result, tool_call_id=call["id"], name="lookup"))
    return messages


def _kept_whole_by_twin(server: ChatbotUI, twin: Any, name: str, chars: int) -> bool:
    """The server's rule over what the package sends (recorded through the twin)."""
    twin.invoke(tool_conversation(chars))
    payload = server.requests[-1].payload
    limit = get_model(name).token_limit
    kept = keep_newest(payload["prompt"], payload["messages"], limit)
    return kept == len(payload["messages"])


async def test_tool_conversations_none_cut_none_refused_whole(
    twins: dict[str, str],
) -> None:
    """Tool calls and results as the package writes them, tools in the prompt."""
    tally = Tally()
    with ChatbotUI() as server:
        for name in MODELS:
            twin = model(server, twins[name]).bind_tools([lookup])
            low, high = 100, 40_000  # bisected over the package's own payloads
            while high - low > 1:
                mid = (low + high) // 2
                whole = _kept_whole_by_twin(server, twin, name, mid)
                low, high = (mid, high) if whole else (low, mid)
            bound = model(server, name).bind_tools([lookup])
            sizes = {round(low * f) for f in (0.5, 0.9, 1.1, 1.3)}
            for chars in sorted(sizes | {low + d for d in FINE}):
                case = Case("tools", name, 9, chars)
                messages = tool_conversation(chars)
                for path in ("sync", "async"):
                    before = len(server.requests)
                    try:
                        if path == "sync":
                            msg = bound.invoke(messages)
                        else:
                            msg = await bound.ainvoke(messages)
                    except LiaobotsContextOverflowError as err:
                        assert len(server.requests) == before
                        twin.invoke(messages)
                        tally.on_refused(case, err, server)
                    else:
                        tally.on_sent(case, server, before, msg)
    tally.check(kinds=("tools",))


def test_the_overflow_error_is_langchains_and_exported() -> None:
    assert issubclass(LiaobotsContextOverflowError, ContextOverflowError)
    assert issubclass(LiaobotsContextOverflowError, LiaobotsError)


def test_the_new_names_are_exported_from_the_package() -> None:
    for name in (
        "LiaobotsContextOverflowError",
        "LiaobotsHistoryDroppedWarning",
        "LiaobotsUpstreamKeyError",
    ):
        assert name in langchain_liaobots.__all__
        assert hasattr(langchain_liaobots, name)


# -- drop_oldest, trim_messages ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_drop_oldest_sends_what_the_server_keeps_whole(kind: str) -> None:
    edge = boundary(kind, "gpt-3.5-turbo")
    messages = Case(kind, "gpt-3.5-turbo", 7, round(edge * 1.6))
    prompt, wire = served(messages.messages)
    expected = len(wire) - keep_newest(prompt, wire, 4000)
    assert expected > 0
    with ChatbotUI() as server:
        llm = model(server, "gpt-3.5-turbo", context_overflow="drop_oldest")
        with pytest.warns(LiaobotsHistoryDroppedWarning, match=f"oldest {expected} "):
            sync = llm.invoke(messages.messages)
        with pytest.warns(LiaobotsHistoryDroppedWarning, match=f"oldest {expected} "):
            chunks = [c async for c in llm.astream(messages.messages)]
        streamed = sum(chunks[1:], chunks[0])
        for msg in (sync, streamed):
            assert msg.response_metadata["dropped_messages"] == expected
        assert [r.dropped for r in server.requests] == [0, 0]
        assert [len(r.payload["messages"]) for r in server.requests] == [
            len(wire) - expected
        ] * 2


def _history(turns: int) -> list[BaseMessage]:
    """A long chat: a system message, then turns mixing the four kinds."""
    messages: list[BaseMessage] = [SystemMessage("You are a patient reviewer.")]
    for i in range(turns):
        kind = KINDS[i % len(KINDS)]
        said = text(kind, 10 + i, 200 + 40 * i)
        messages.append(HumanMessage(f"Turn {i}: {said}"))
        messages.append(AIMessage(f"Noted turn {i}. " + said[: 100 + 10 * i]))
    messages.append(HumanMessage("Now sum it all up."))
    return messages


@pytest.mark.parametrize("name", MODELS)
async def test_the_trim_messages_recipe_keeps_a_long_history_whole(name: str) -> None:
    history = _history(40)
    with ChatbotUI() as server:
        llm = model(server, name)
        budget = llm.profile["max_input_tokens"]  # type: ignore[index]
        assert budget == get_model(name).token_limit - ANSWER_TOKENS
        trimmed = trim_messages(
            history,
            token_counter=llm,
            max_tokens=budget,
            strategy="last",
            include_system=True,
            start_on="human",
        )
        assert 2 < len(trimmed) < len(history)
        assert isinstance(trimmed[0], SystemMessage)
        assert llm.get_num_tokens_from_messages(trimmed) <= budget
        llm.invoke(trimmed)
        await llm.ainvoke(trimmed)
        got = server.requests
        assert [r.dropped for r in got] == [0, 0]
        assert len(got[0].payload["messages"]) == len(trimmed) - 1
        # and the recipe fills the budget: the two older messages would not fit
        start = len(history) - (len(trimmed) - 1)
        older = [{"content": str(m.content)} for m in history[start - 2 : start]]
        wire = [*older, *got[0].payload["messages"]]
        limit = get_model(name).token_limit
        assert keep_newest(got[0].payload["prompt"], wire, limit) < len(wire)


def test_trim_messages_of_a_system_message_alone_or_nothing() -> None:
    with ChatbotUI() as server:
        llm = model(server, "gpt-3.5-turbo")
        budget = llm.profile["max_input_tokens"]  # type: ignore[index]
        system = [SystemMessage("You are terse.")]
        for history in (system, []):
            assert llm.get_num_tokens_from_messages(list(history)) > 0
            kept = trim_messages(
                history,
                token_counter=llm,
                max_tokens=budget,
                strategy="last",
                include_system=True,
                start_on="human",
            )
            assert kept == history
        llm.invoke(system)
        assert server.requests[-1].payload["messages"] == []
        assert server.requests[-1].payload["prompt"] == "You are terse."


def _many_short_turns() -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage("You are a reviewer.")]
    for i in range(120):
        messages.append(HumanMessage(text("english", 200 + i, 150)))
        messages.append(AIMessage(text("chinese", 200 + i, 40)))
    messages.append(HumanMessage("Sum it all up."))
    return messages


async def test_the_recipe_with_tools_counts_the_tools() -> None:
    """With tools bound, the prompt carries their instructions: count them too."""
    history = _many_short_turns()
    with ChatbotUI() as server:
        llm = model(server, "gpt-3.5-turbo")
        bound = llm.bind_tools([write_report])
        budget = llm.profile["max_input_tokens"]  # type: ignore[index]
        counter = partial(llm.get_num_tokens_from_messages, tools=[write_report])
        trimmed = trim_messages(
            history,
            token_counter=counter,
            max_tokens=budget,
            strategy="last",
            include_system=True,
            start_on="human",
        )
        bound.invoke(trimmed)
        await bound.ainvoke(trimmed)
        assert [r.dropped for r in server.requests] == [0, 0]
        assert input_tokens(server.requests[0].payload) == counter(trimmed)
        # counted without the tools, the same history is refused, never cut
        plain = trim_messages(
            history,
            token_counter=llm,
            max_tokens=budget,
            strategy="last",
            include_system=True,
            start_on="human",
        )
        assert len(plain) > len(trimmed)
        with pytest.raises(LiaobotsContextOverflowError):
            bound.invoke(plain)
        assert len(server.requests) == 2


async def test_a_repair_turn_the_server_would_cut_is_refused_not_sent() -> None:
    """A forced call answered in prose: the repair turn adds the reply and the
    request, and is checked against the budget like the first."""
    prose = text("english", 55, 1500)
    messages = conversation("english", boundary("english", "gpt-3.5-turbo") - 1500)
    with ChatbotUI(lambda upstream: prose) as server:
        bound = model(server, "gpt-3.5-turbo").bind_tools(
            [write_report], tool_choice="write_report"
        )
        with pytest.raises(LiaobotsContextOverflowError):
            bound.invoke(messages)
        assert len(server.requests) == 1  # the first turn; its repair refused
        with pytest.raises(LiaobotsContextOverflowError):
            await bound.ainvoke(messages)
        assert [r.dropped for r in server.requests] == [0, 0]


def test_the_counts_are_the_servers() -> None:
    """``get_num_tokens_from_messages`` is what the server counts, tools or not."""
    with ChatbotUI() as server:
        llm = model(server, "gpt-4")
        for kind in KINDS:
            messages = conversation(kind, 3000)
            llm.invoke(messages)
            counted = llm.get_num_tokens_from_messages(messages)
            assert counted == input_tokens(server.requests[-1].payload)
            llm.bind_tools([write_report]).invoke(messages)
            counted = llm.get_num_tokens_from_messages(messages, tools=[write_report])
            assert counted == input_tokens(server.requests[-1].payload)
        assert all("<tools>" in r.payload["prompt"] for r in server.requests[1::2])


@pytest.mark.parametrize("system", [[], [SystemMessage("")]], ids=["none", "empty"])
def test_an_empty_or_absent_prompt_counts_as_the_servers_default(
    system: list[BaseMessage],
) -> None:
    edge = boundary("english", "gpt-3.5-turbo")  # found with the default prompt
    with ChatbotUI() as server:
        llm = model(server, "gpt-3.5-turbo")
        llm.invoke([*system, *conversation("english", edge)])
        assert server.requests[-1].dropped == 0
        with pytest.raises(LiaobotsContextOverflowError):
            llm.invoke([*system, *conversation("english", edge + 1)])
        assert len(server.requests) == 1


async def test_drop_oldest_still_refuses_when_the_newest_alone_is_too_long() -> None:
    huge = [HumanMessage(text("chinese", 3, 5000))]
    with ChatbotUI() as server:
        llm = model(server, "gpt-3.5-turbo", context_overflow="drop_oldest")
        with pytest.raises(LiaobotsContextOverflowError) as caught:
            llm.invoke(huge)
        assert caught.value.dropped == 1
        with pytest.raises(LiaobotsContextOverflowError):
            await llm.ainvoke(huge)
        assert server.requests == []


def test_a_special_token_the_server_cannot_count_is_not_sent() -> None:
    # chatbot-ui's encoder throws on it (500 Error, every time): refused unsent.
    with ChatbotUI() as server:
        llm = model(server, max_retries=RETRIES)
        with pytest.raises(ValueError, match="special token"):
            llm.invoke("What does <|endoftext|> mean?")
        assert server.requests == []


def test_the_server_fails_as_chatbot_ui_on_what_it_cannot_count() -> None:
    body = {"model": {"tokenLimit": 8000}, "prompt": "", "key": ""}
    with ChatbotUI() as server:
        special = {**body, "messages": [{"role": "user", "content": "<|endoftext|>"}]}
        for raw in (
            json.dumps(special).encode(),
            b"{not json",
            json.dumps(body).encode(),
        ):
            got = server.answer(raw)
            assert (got.status, got.phrase, got.answer) == (500, None, "")
        fine = {**body, "messages": [{"role": "user", "content": "endoftext"}]}
        assert server.answer(json.dumps(fine).encode()).status == 200


# -- an agent with SummarizationMiddleware ----------------------------------------

CHAPTERS = 12
_CHAPTER = re.compile(r"Chapter (\d+) of \d+")


CHAPTER_CHARS = {"gpt-4": (1200, 1150), "gpt-3.5-turbo": (600, 550)}
"""English and Chinese characters of a chapter: about 1,400 tokens for gpt-4,
750 for gpt-3.5-turbo (a fifth of the budget), four times the estimate's
count, so a summary that comes one step late is a request the server cuts."""


def chapter(number: int, name: str) -> str:
    english, chinese = CHAPTER_CHARS[name]
    return (
        f"Chapter {number} of {CHAPTERS}.\n"
        f"{text('english', 100 + number, english)}\n"
        f"{text('chinese', 100 + number, chinese)}"
    )


def reader(upstream: Upstream) -> str:
    """A model that reads the chapters one by one, then says it is done."""
    if "<tools>" not in upstream.prompt:  # the middleware's summary request
        return "## SESSION INTENT\nRead the report.\n## SUMMARY\nReading, in order."
    seen = [
        int(m.group(1))
        for message in upstream.messages
        for m in _CHAPTER.finditer(message["content"])
    ]
    last = max(seen, default=0)
    if last < CHAPTERS:
        call = {"name": "read_chapter", "arguments": {"number": last + 1}}
        return json.dumps({"tool_calls": [call]})
    return f"I have read all {CHAPTERS} chapters."


def _agent(llm: ChatLiaobots, read: list[int]) -> Any:
    @tool
    def read_chapter(number: int) -> str:
        """Read one chapter of the report, by number."""
        read.append(number)
        return chapter(number, llm.model)

    return create_agent(
        llm,
        tools=[read_chapter],
        middleware=[
            SummarizationMiddleware(
                llm, trigger=("fraction", 0.8), keep=("messages", 4)
            )
        ],
    )


def _check_agent_run(server: ChatbotUI, read: list[int], state: dict[str, Any]) -> None:
    assert read == list(range(1, CHAPTERS + 1))
    assert state["messages"][-1].text == f"I have read all {CHAPTERS} chapters."
    assert [r.dropped for r in server.requests] == [0] * len(server.requests)
    summaries = [r for r in server.requests if "<tools>" not in r.payload["prompt"]]
    assert summaries  # the middleware did summarise
    sizes = [input_tokens(r.payload) for r in server.requests]
    print(f"{len(server.requests)} requests, {len(summaries)} summaries, sizes {sizes}")


TASK = {"messages": [HumanMessage("Read every chapter of the report, in order.")]}


@pytest.mark.parametrize("name", MODELS)
def test_a_long_agent_run_with_summarization_is_never_cut(name: str) -> None:
    read: list[int] = []
    with ChatbotUI(reader) as server:
        agent = _agent(model(server, name), read)
        state = agent.invoke(TASK, {"recursion_limit": 200})
        _check_agent_run(server, read, state)


@pytest.mark.parametrize("name", MODELS)
async def test_a_long_async_agent_run_with_summarization_is_never_cut(
    name: str,
) -> None:
    read: list[int] = []
    with ChatbotUI(reader) as server:
        agent = _agent(model(server, name), read)
        state = await agent.ainvoke(TASK, {"recursion_limit": 200})
        _check_agent_run(server, read, state)


# -- the upstream's own window ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "short", "long"), [("gpt-3.5-turbo", 7, 41), ("gpt-4", 15, 61)]
)
async def test_the_upstream_window_can_refuse_what_the_server_keeps_whole(
    name: str, short: int, long: int
) -> None:
    """chatbot-ui counts no roles and no per-message overhead; the upstream model
    does (4 a message) in a window 97 (gpt-3.5-turbo: 4,097) or 192 (gpt-4:
    8,192) tokens larger than ``tokenLimit``. At the server's budget a long list
    of messages is refused upstream: a context overflow, named, sent once."""
    with ChatbotUI(upstream_context=True) as server:
        llm = model(server, name, max_retries=RETRIES)
        llm.invoke(conversation("english", boundary("english", name, short), short))
        assert server.requests[-1].status == 200
        messages = conversation("english", boundary("english", name, long), long)
        with pytest.raises(LiaobotsContextOverflowError, match="maximum context"):
            llm.invoke(messages)
        with pytest.raises(LiaobotsContextOverflowError, match="maximum context"):
            await llm.ainvoke(messages)
        assert [(r.status, r.dropped) for r in server.requests[1:]] == [(500, 0)] * 2


# -- the 1,000-token cap ------------------------------------------------------------


def _long(kind: str) -> Callable[[Upstream], str]:
    return lambda upstream: text(kind, 7, 20_000)


def _finish(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return sum(chunks[1:], chunks[0])


@pytest.mark.parametrize("kind", KINDS)
async def test_an_answer_at_the_cap_ends_with_length(kind: str) -> None:
    with ChatbotUI(_long(kind)) as server:
        llm = model(server)
        messages = [
            llm.invoke("Write a lot."),
            _finish(list(llm.stream("Write a lot."))),
            await llm.ainvoke("Write a lot."),
            _finish([c async for c in llm.astream("Write a lot.")]),
        ]
        sent = server.requests[0].answer
        assert count(sent) <= ANSWER_TOKENS
        for msg in messages:
            assert msg.content == sent
            assert msg.response_metadata["finish_reason"] == "length"
            assert msg.usage_metadata is not None
            assert msg.usage_metadata["output_tokens"] >= ANSWER_TOKENS - 4
        assert len(server.requests) == 4


async def test_a_short_answer_ends_with_stop() -> None:
    with ChatbotUI(lambda upstream: text("english", 7, 2000)) as server:
        llm = model(server)
        for msg in (llm.invoke("Write."), await llm.ainvoke("Write.")):
            assert msg.response_metadata["finish_reason"] == "stop"
            assert msg.usage_metadata is not None
            assert msg.usage_metadata["output_tokens"] == count(str(msg.content))
            assert count(str(msg.content)) < ANSWER_TOKENS - 4


def test_max_tokens_above_the_cap_warns() -> None:
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match="1000 tokens"):
        ChatLiaobots(base_url="http://127.0.0.1:9", auth="k", max_tokens=1500)


@tool
def write_report(text: str) -> str:
    """File the report."""
    return "filed"


def _long_call(upstream: Upstream) -> str:
    report = text("english", 8, 20_000)
    return json.dumps(
        {"tool_calls": [{"name": "write_report", "arguments": {"text": report}}]}
    )


def _long_json(upstream: Upstream) -> str:
    return json.dumps({"name": "Report", "text": text("english", 9, 20_000)})


FORMAT = {"type": "json_schema", "json_schema": {"name": "Report", "schema": {}}}


async def test_a_forced_tool_call_cut_at_the_cap_is_not_repaired() -> None:
    with ChatbotUI(_long_call) as server:
        bound = model(server).bind_tools([write_report], tool_choice="write_report")
        sync = bound.invoke("File a long report.")
        assert len(server.requests) == 1  # no repair turn
        asynchronous = await bound.ainvoke("File a long report.")
        assert len(server.requests) == 2
        for msg in (sync, asynchronous):
            assert msg.response_metadata["finish_reason"] == "length"
            assert isinstance(msg, AIMessage)
            assert msg.tool_calls == []


async def test_a_json_answer_cut_at_the_cap_is_not_repaired() -> None:
    with ChatbotUI(_long_json) as server:
        llm = model(server)
        sync = llm.invoke("The report, as JSON.", response_format=FORMAT)
        assert len(server.requests) == 1
        asynchronous = await llm.ainvoke("The report, as JSON.", response_format=FORMAT)
        assert len(server.requests) == 2
        for msg in (sync, asynchronous):
            assert msg.response_metadata["finish_reason"] == "length"
            assert str(msg.content).startswith('{"name": "Report"')


# -- upstream errors in the reason phrase -----------------------------------------

CONTEXT = (
    "This model's maximum context length is 8192 tokens. However, your messages "
    "resulted in 9010 tokens. Please reduce the length of the messages."
)
RATE = (
    "Rate limit reached for default-gpt-4 in organization org-abc on tokens per "
    "min. Limit: 40000 / min. Please try again in 1ms. Contact us through our "
    "help center at help.openai.com if you continue to have issues."
)
QUOTA = "You exceeded your current quota, please check your plan and billing details."
KEY = (
    "Incorrect API key provided: sk-abc12***************************xyz9. You "
    "can find your API key at https://platform.openai.com/account/api-keys."
)
RETRIES = 2
ERRORS = [
    pytest.param(CONTEXT, LiaobotsContextOverflowError, 1, id="context"),
    pytest.param(RATE, LiaobotsRateLimitError, RETRIES + 1, id="rate-limit"),
    pytest.param(QUOTA, LiaobotsOutOfCreditError, 1, id="quota"),
    pytest.param(KEY, LiaobotsUpstreamKeyError, 1, id="key"),
    pytest.param(None, LiaobotsAPIError, RETRIES + 1, id="standard"),
]


@pytest.mark.parametrize(("phrase", "error", "requests"), ERRORS)
@pytest.mark.parametrize("path", ["sync", "async"])
async def test_an_upstream_error_is_named_and_retried_only_when_it_may_pass(
    path: str, phrase: str | None, error: type[LiaobotsError], requests: int
) -> None:
    with ChatbotUI() as server:
        server.fail(phrase, times=RETRIES + 1)
        llm = model(server, max_retries=RETRIES)
        with pytest.raises(error) as caught:
            await call(llm, path, "Hello")
        assert len(server.requests) == requests
        assert [r.status for r in server.requests] == [500] * requests
        assert type(caught.value) is error
        said = str(caught.value)
        assert (phrase or "HTTP 500") in said
        assert "'k'" not in said


@pytest.mark.parametrize("path", ["sync", "async"])
async def test_a_rate_limit_that_passes_is_answered(path: str) -> None:
    with ChatbotUI() as server:
        server.fail(RATE, times=1)
        llm = model(server, max_retries=RETRIES)
        msg = await call(llm, path, "Hello")
        assert msg.content == "OK."
        assert [r.status for r in server.requests] == [500, 200]


# -- temperature ------------------------------------------------------------------


async def test_temperature_is_sent_when_set_and_absent_when_not() -> None:
    with ChatbotUI() as server:
        unset, warm = model(server), model(server, temperature=0.3)
        unset.invoke("a")
        await unset.ainvoke("a")
        warm.invoke("a")
        await warm.ainvoke("a")
        unset.invoke("a", temperature=0.7)
        await unset.ainvoke("a", temperature=0.7)
        warm.invoke("a", temperature=0)
        await warm.ainvoke("a", temperature=0)
        assert [r.temperature for r in server.requests] == [
            None,
            None,
            0.3,
            0.3,
            0.7,
            0.7,
            0,
            0,
        ]
        assert ["temperature" in r.payload for r in server.requests] == [
            False,
            False,
            True,
            True,
            True,
            True,
            True,
            True,
        ]
