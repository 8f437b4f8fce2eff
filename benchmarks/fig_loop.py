"""Figure 11: the per-step preparation of a 100-step agent loop.

An agent sends its whole, growing history at every step. Before sending,
``ChatLiaobots`` applies the service's history rule, which counts every
message with cl100k_base; counts of texts already seen are kept, so a step
should tokenize only what is new. At each step of a simulated loop (a task,
then per step a tool call and its result of a few hundred tokens) this figure
measures:

* the **characters tokenized** by that step's preparation (deterministic: the
  target, flat in the step number, is judged on it);
* the preparation's wall time (plan, convert, count, build the request), next
  to ``ChatOpenAI._get_request_payload`` on the same messages (which counts no
  tokens), and the time of the counting alone with and without the kept counts.

No server is involved and nothing is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from benchmarks.common import LIAO, OPENAI, Figure, say, table, x
from benchmarks.sizes import Sizes
from benchmarks.targets import LOOP_TOKENIZED_VS_FIRST, target
from langchain_liaobots import ChatLiaobots, register_model
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.tokens import TOKENIZER, Tokenizer
from langchain_liaobots.wire.budget import keep_newest

__all__ = ["FIGURE", "measure", "report", "row"]

LOOP_MODEL = "bench-loop"
"""A registry entry large enough for the whole loop's history."""

RESULT = (
    "Observation {i}: the table has rows for each city with its forecast, "
    "humidity, wind speed and direction; city {i} reports 21 degrees, light "
    "rain in the afternoon, and a 40% chance of storms overnight. "
) * 4


def _step_messages(i: int) -> list[BaseMessage]:
    call = {"name": "lookup", "args": {"query": f"city {i} forecast"}, "id": f"c{i}"}
    return [
        AIMessage(f"Step {i}: looking up city {i}.", tool_calls=[call]),
        ToolMessage(RESULT.format(i=i), tool_call_id=f"c{i}", name="lookup"),
    ]


class _Tally:
    """Counts the characters the package's tokenizer encodes (wraps ``_count``)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.chars = 0
        self._inner: Callable[[str], int] = tokenizer._count
        tokenizer._count = self  # type: ignore[method-assign]

    def __call__(self, text: str) -> int:
        self.chars += len(text)
        return self._inner(text)


def _openai() -> Callable[[list[BaseMessage]], object] | None:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        return None
    peer = ChatOpenAI(model="gpt-4", base_url="http://127.0.0.1:9/v1", api_key="b")
    return peer._get_request_payload


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Run the loop's preparation step by step.

    Args:
        urls: Unused (no server).
        sizes: The run's sizes: ``loop_steps``.

    Returns:
        Per step: characters tokenized, and seconds for ours, the peer's,
        the counting with kept counts and the counting afresh; and the
        seconds the tokenizer took to load on first use.
    """
    register_model(
        {"id": LOOP_MODEL, "name": "Loop", "maxLength": 0, "tokenLimit": 1_000_000}
    )
    llm = ChatLiaobots(model=LOOP_MODEL, base_url="http://127.0.0.1:9", auth="b")
    peer = _openai()
    started = time.perf_counter()
    TOKENIZER.count("load")  # the shipped file is read once, on first use
    load = time.perf_counter() - started
    tally = _Tally(TOKENIZER)
    fresh = Tokenizer()
    fresh.count("load")
    history: list[BaseMessage] = [HumanMessage("Plan a trip: check every city.")]
    steps: list[dict[str, float]] = []
    for i in range(1, sizes.loop_steps + 1):
        history.extend(_step_messages(i))
        before = tally.chars
        started = time.perf_counter()
        turn = llm._plan(history, {}).first
        llm._exchange(llm._client(), turn, None)  # built, never run
        ours = time.perf_counter() - started
        entry = {"step": i, "tokenized": tally.chars - before, LIAO: ours}
        prompt, wire = to_wire(turn.messages, llm.prompt)
        started = time.perf_counter()
        keep_newest(prompt, wire, 1_000_000, TOKENIZER.count)
        entry["count_kept"] = time.perf_counter() - started
        started = time.perf_counter()
        keep_newest(prompt, wire, 1_000_000, lambda t: fresh.count(t, remember=False))
        entry["count_fresh"] = time.perf_counter() - started
        if peer is not None:
            started = time.perf_counter()
            peer(history)
            entry[OPENAI] = time.perf_counter() - started
        steps.append(entry)
    return {"steps": steps, "load": load}


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 11 and return its summary.

    Args:
        res: The output of `measure`.
        sizes: The run's sizes.

    Returns:
        The summary: characters tokenized at the first and last steps, and the
        last step's times.
    """
    steps = res["steps"]
    say(f"[11] a {sizes.loop_steps}-step agent loop: preparation per step")
    say(
        "  loading cl100k_base from the shipped file (first use): "
        f"{res['load'] * 1e3:.0f} ms"
    )
    shown = sorted({1, 2, 10, 25, 50, len(steps)} & set(range(1, len(steps) + 1)))
    rows = []
    for n in shown:
        e = steps[n - 1]
        peer = e.get(OPENAI)
        rows.append(
            (
                str(n),
                f"{e['tokenized']:,.0f}",
                f"{e['count_kept'] * 1e6:.0f}",
                f"{e['count_fresh'] * 1e6:.0f}",
                f"{e[LIAO] * 1e3:.2f}",
                "-" if peer is None else f"{peer * 1e3:.2f}",
                "-" if peer is None else x(e[LIAO], peer),
            )
        )
    table(
        (
            "step",
            "chars tokenized",
            "count us (kept)",
            "count us (afresh)",
            "ChatLiaobots ms",
            "ChatOpenAI ms",
            "ratio",
        ),
        rows,
    )
    first, last = steps[1] if len(steps) > 1 else steps[0], steps[-1]
    summary: dict[str, Any] = {
        "steps": len(steps),
        "tokenized_first": first["tokenized"],
        "tokenized_last": last["tokenized"],
        "tokenized_ratio": last["tokenized"] / max(first["tokenized"], 1),
        "value": last[LIAO] * 1e3,
        "unit": "ms",
        "count_kept_us": last["count_kept"] * 1e6,
        "count_fresh_us": last["count_fresh"] * 1e6,
        "load_ms": res["load"] * 1e3,
    }
    if OPENAI in last:
        summary["openai"] = last[OPENAI] * 1e3
        summary["ratio_vs_openai"] = summary["value"] / summary["openai"]
    say(
        f"  target: the last step tokenizes <= {LOOP_TOKENIZED_VS_FIRST:g}x "
        "the characters of the second (only its new messages)"
    )
    return summary


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 11's ChatLiaobots, peers and ratio cells of the summary."""
    peer = f"ChatOpenAI {s['openai']:.3g}" if "openai" in s else "-"
    return (
        f"{s['value']:.3g} ms; {s['tokenized_last']:,.0f} chars tokenized",
        peer,
        f"{s['tokenized_ratio']:.2f}x tokenized (step {s['steps']} / 2)",
    )


FIGURE = Figure(
    target=target("11"), key="loop", measure=measure, report=report, row=row
)
