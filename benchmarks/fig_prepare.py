"""Figure 7: preparing a long conversation's request, against ``ChatOpenAI``'s.

What ``ChatLiaobots._stream`` does before sending (plan the turn, look up the
pooled client, convert the messages, check the limits with the token estimate,
build the request object) is timed against ``ChatOpenAI._get_request_payload``
on the same LangChain messages, at each conversation length of the run's sizes.
No server is involved and nothing is sent. The conversations mix plain turns
with tool calls and their results, as an agent's history does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from benchmarks.common import LIAO, OPENAI, Figure, rotated, say, stats, table, x
from benchmarks.sizes import Sizes
from benchmarks.targets import PREPARE_VS_OPENAI, target
from langchain_liaobots import ChatLiaobots, register_model

__all__ = ["FIGURE", "conversation", "measure", "report", "row"]

UNLIMITED = "bench-unlimited"
"""A registry entry without limits, so 8,000 messages pass the limit check."""


def conversation(length: int) -> list[BaseMessage]:
    """Build a conversation of ``length`` messages: a system prompt, then turns.

    Every fourth exchange is an assistant tool call and its tool result.

    Args:
        length: The number of messages, at least 2.

    Returns:
        The messages, ending with a user turn.
    """
    messages: list[BaseMessage] = [SystemMessage("You are a helpful assistant.")]
    i = 0
    while len(messages) < length - 1:
        messages.append(HumanMessage(f"Question {i}: what is the weather in city {i}?"))
        if i % 4 == 3:
            call = {"name": "get_weather", "args": {"city": f"city {i}"}, "id": f"c{i}"}
            messages.append(AIMessage("", tool_calls=[call]))
            messages.append(
                ToolMessage(f"Sunny, {i % 30} degrees", tool_call_id=f"c{i}")
            )
        else:
            messages.append(AIMessage(f"Answer {i}: sunny and warm in city {i} today."))
        i += 1
    messages = messages[: length - 1]
    messages.append(HumanMessage("And tomorrow?"))
    return messages


def _preparers() -> dict[str, Callable[[list[BaseMessage]], object]]:
    register_model({"id": UNLIMITED, "name": "Bench", "maxLength": 0, "tokenLimit": 0})
    liao = ChatLiaobots(model=UNLIMITED, base_url="http://127.0.0.1:9", auth="bench")

    def ours(messages: list[BaseMessage]) -> object:
        turn = liao._plan(messages, {}).first
        return liao._exchange(liao._client(), turn, None)  # built, never run

    preparers: dict[str, Callable[[list[BaseMessage]], object]] = {LIAO: ours}
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        return preparers
    openai = ChatOpenAI(
        model="gpt-4", base_url="http://127.0.0.1:9/v1", api_key="bench"
    )
    preparers[OPENAI] = openai._get_request_payload
    return preparers


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Time each preparer on each conversation length, alternating.

    Args:
        urls: Unused (figure 7 needs no server).
        sizes: The run's sizes: ``prepare_lengths`` and ``prepare_rounds`` (after
            one warm-up round).

    Returns:
        Per length (as a string) and per client: samples (seconds) and stats.
    """
    preparers = _preparers()
    results: dict[str, Any] = {}
    for length in sizes.prepare_lengths:
        messages = conversation(length)
        samples: dict[str, list[float]] = {name: [] for name in preparers}
        for r in range(sizes.prepare_rounds + 1):
            for name in rotated(list(preparers), r):
                started = time.perf_counter()
                preparers[name](messages)
                elapsed = time.perf_counter() - started
                if r:
                    samples[name].append(elapsed)
        results[str(length)] = {
            name: {"samples": s, **stats(s)} for name, s in samples.items()
        }
    return results


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 7 and return its summary (at the longest conversation).

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values in ms and the ratio).
    """
    say(
        "[7] preparing a request: messages -> payload -> request object "
        f"(median of {sizes.prepare_rounds} rounds)"
    )
    rows = []
    for length, entry in res.items():
        ours = entry[LIAO]["median"]
        peer = entry.get(OPENAI, {}).get("median")
        rows.append(
            (
                f"{int(length):,} messages",
                f"{ours * 1e3:.2f}",
                "-" if peer is None else f"{peer * 1e3:.2f}",
                "-" if peer is None else x(ours, peer),
            )
        )
    table(("conversation", "ChatLiaobots ms", "ChatOpenAI ms", "ratio"), rows)
    say(f"  target: <= {PREPARE_VS_OPENAI:g}x ChatOpenAI at the longest")
    longest = res[str(max(sizes.prepare_lengths))]
    summary: dict[str, Any] = {
        "value": longest[LIAO]["median"] * 1e3,
        "unit": "ms",
        "messages": f"{max(sizes.prepare_lengths):,}",
    }
    if OPENAI in longest:
        summary["openai"] = longest[OPENAI]["median"] * 1e3
        summary["ratio_vs_openai"] = summary["value"] / summary["openai"]
    return summary


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 7's ChatLiaobots, peers and ratio cells of the summary."""
    if "openai" not in s:
        return (f"{s['value']:.3g}", "ChatOpenAI not installed", "-")
    return (
        f"{s['value']:.3g}",
        f"ChatOpenAI {s['openai']:.3g}",
        f"{s['ratio_vs_openai']:.2f}x",
    )


FIGURE = Figure(
    target=target("7"), key="prepare", measure=measure, report=report, row=row
)
