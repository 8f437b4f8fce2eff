"""Figure 3: wall time of concurrent ``astream`` calls with a slow first byte.

Measured at every point of the concurrency curve (1…256 streams, for the plot)
for the raw aiohttp loop, ChatLiaobots, ChatOpenAI and langchain-core's default
thread-executor ``_astream``; the figure itself is the curve's point at
``conc_streams`` streams.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator, Callable
from typing import Any

from benchmarks.common import (
    ALIAO,
    AOPENAI,
    ARAW,
    PIECE_BYTES,
    THREAD,
    Figure,
    fmt,
    rotated,
    say,
    stats,
    table,
    x,
)
from benchmarks.peers import (
    PROMPT,
    RawAsyncLoop,
    make_liaobots,
    make_openai,
    make_threaded,
    openai_available,
)
from benchmarks.rounds import async_round
from benchmarks.servers import Scenario, answer_text
from benchmarks.sizes import Sizes
from benchmarks.targets import CONC_WALL_S, target

__all__ = ["FIGURE", "measure", "report", "row"]


def scenario(sizes: Sizes) -> Scenario:
    """Return the slow-first-byte delivery of figure 3."""
    return Scenario(pieces=sizes.conc_pieces, pace=sizes.conc_pace, ttfb=sizes.ttfb)


async def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Wall time of N concurrent streams, for every N of the curve and every peer.

    Prints the curve as it goes (it takes a while).

    Args:
        urls: The slow-first-byte scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        ``{"levels": [...], "peers": {name: {N: stats}}, "errors": {...}}``.
    """
    say("    concurrency curve (median wall s per round):")
    text = answer_text(sizes.conc_pieces, PIECE_BYTES)
    raw = RawAsyncLoop(urls["liaobots"])
    liao = make_liaobots(urls["liaobots"])
    threaded = make_threaded(urls["liaobots"])
    fast: dict[str, Callable[[], AsyncIterator[Any]]] = {
        ARAW: raw.stream,
        ALIAO: lambda: liao.astream(PROMPT),
    }
    if openai_available():
        oai = make_openai(urls["openai"])
        fast[AOPENAI] = lambda: oai.astream(PROMPT)
    peers = [*fast, THREAD]
    result: dict[str, Any] = {
        "levels": list(sizes.curve),
        "peers": {name: {} for name in peers},
        "errors": dict.fromkeys(peers, 0),
    }
    await async_round(lambda: threaded.astream(PROMPT), 6, text)  # warm threads
    for n in sizes.curve:
        rounds = sizes.conc_rounds if n == sizes.conc_streams else sizes.curve_rounds
        samples: dict[str, list[float]] = {name: [] for name in fast}
        for make in fast.values():  # warm the pool to n connections
            await async_round(make, n, text)
        for r in range(rounds):
            for name in rotated(list(fast), r):
                wall, errors = await async_round(fast[name], n, text)
                samples[name].append(wall)
                result["errors"][name] += errors
        thread_rounds = rounds if n <= sizes.thread_rounds_upto else 1
        samples[THREAD] = []
        for _ in range(thread_rounds):
            wall, errors = await async_round(lambda: threaded.astream(PROMPT), n, text)
            samples[THREAD].append(wall)
            result["errors"][THREAD] += errors
        cells = []
        for name, walls in samples.items():
            result["peers"][name][str(n)] = stats(walls)
            cells.append(f"{name.split()[0]} {statistics.median(walls):.3f}s")
        say(f"    {n:>4} streams: " + " | ".join(cells))
    await raw.aclose()
    await liao.aclose()
    return result


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 3 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values and ratios).
    """
    n = str(sizes.conc_streams)
    ideal = sizes.ttfb + (sizes.conc_pieces - 1) * sizes.conc_pace
    say(
        f"[3] {n} concurrent astream calls, {sizes.ttfb:g} s to first byte, "
        f"{sizes.conc_pieces} pieces {sizes.conc_pace * 1e3:g} ms apart "
        f"({sizes.conc_rounds} rounds; server-side minimum {ideal:.3f} s)"
    )
    alone = res["peers"][ALIAO]["1"]["median"] if "1" in res["peers"][ALIAO] else None
    rows = []
    if alone is not None:
        rows.append(("one ChatLiaobots stream alone", f"{alone:.3f}", "", "", "", ""))
    for name, per in res["peers"].items():
        s = per[n]
        rows.append(
            (
                f"{name} x{n}",
                f"{s['median']:.3f}",
                f"{s['min']:.3f}",
                f"{s['max']:.3f}",
                f"{s['n']}",
                str(res["errors"][name]),
            )
        )
    table(("peer", "median s", "min", "max", "rounds", "errors (all N)"), rows)
    liao = res["peers"][ALIAO][n]["median"]
    thread = res["peers"][THREAD][n]["median"]
    summary: dict[str, Any] = {
        "value": liao,
        "unit": "s",
        "streams": int(n),
        "alone": alone,
        "threaded": thread,
        "floor": res["peers"][ARAW][n]["median"],
    }
    if alone is not None:
        say(f"  ChatLiaobots x{n} / one stream alone = {x(liao, alone)}")
    if AOPENAI in res["peers"]:
        oai = res["peers"][AOPENAI][n]["median"]
        summary["openai"] = oai
        summary["ratio_vs_openai"] = liao / oai
        say(f"  ChatLiaobots / ChatOpenAI           = {x(liao, oai)}")
    say(f"  ChatLiaobots / thread-executor path = {x(liao, thread)}")
    say(
        f"  target: <= {CONC_WALL_S:g} s and ahead of ChatOpenAI "
        f"(ChatLiaobots: {liao:.3f} s)"
    )
    return summary


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 3's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        fmt(s["value"]),
        f"alone {fmt(s['alone'])}, aiohttp floor {fmt(s['floor'])}, "
        f"ChatOpenAI {fmt(s.get('openai'))}, threads {fmt(s['threaded'])}",
        f"{fmt(s.get('ratio_vs_openai'))}x ChatOpenAI, "
        f"{s['value'] / s['threaded']:.2f}x threads",
    )


FIGURE = Figure(
    target=target("3"),
    key="concurrency",
    measure=measure,
    report=report,
    row=row,
    scenario=("conc", scenario),
)
