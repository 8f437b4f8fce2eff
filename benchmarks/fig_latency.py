"""Figure 4: the delay from a piece leaving the server to ``stream()`` yielding it.

Each piece's text is the server's ``time.monotonic()`` at send time (client and
server share the machine's clock), so every yield gives one delay.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from benchmarks.common import (
    ALIAO,
    LIAO,
    OPENAI,
    PIECE_BYTES,
    RAW,
    Figure,
    content,
    fmt,
    pct,
    rotated,
    say,
    table,
)
from benchmarks.peers import (
    PROMPT,
    RawLoop,
    make_liaobots,
    make_openai,
    openai_available,
)
from benchmarks.servers import Scenario
from benchmarks.sizes import Sizes
from benchmarks.targets import LATENCY_P95_MS, target

__all__ = ["FIGURE", "measure", "report", "row"]


def scenario(sizes: Sizes) -> Scenario:
    """Return the time-stamped delivery of figure 4."""
    return Scenario(pieces=sizes.lat_pieces, pace=sizes.lat_pace, stamped=True)


def _delays(stamped: list[tuple[float, str]]) -> list[float]:
    """Turn ``(yield time, text)`` pairs into one delay per completed piece."""
    delays, buf = [], ""
    for when, text in stamped:
        buf += text
        while len(buf) >= PIECE_BYTES:
            piece, buf = buf[:PIECE_BYTES], buf[PIECE_BYTES:]
            delays.append(when - float(piece))
    return delays


async def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Delay from each piece's send time (its own text) to its yield.

    The sync peers run in a worker thread so one event loop can host the async
    ones; each sync peer still runs alone.

    Args:
        urls: The stamped scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        Per peer: all delays (seconds) and their median, p95 and max.
    """
    raw = RawLoop(urls["liaobots"])
    liao = make_liaobots(urls["liaobots"])
    sync: dict[str, Callable[[], Iterable[Any]]] = {
        RAW: raw.stream,
        LIAO: lambda: liao.stream(PROMPT),
    }
    asyn: dict[str, Callable[[], AsyncIterator[Any]]] = {
        ALIAO: lambda: liao.astream(PROMPT)
    }
    if openai_available():
        oai = make_openai(urls["openai"])
        sync[OPENAI] = lambda: oai.stream(PROMPT)

    def run_sync(make: Callable[[], Iterable[Any]]) -> list[tuple[float, str]]:
        return [(time.monotonic(), content(item)) for item in make()]

    async def run_async(
        make: Callable[[], AsyncIterator[Any]],
    ) -> list[tuple[float, str]]:
        return [(time.monotonic(), content(item)) async for item in make()]

    delays: dict[str, list[float]] = {name: [] for name in (*sync, *asyn)}
    for r in range(sizes.lat_rounds + 1):  # round 0 warms up
        for name in rotated(list(delays), r):
            if name in sync:
                got = await asyncio.to_thread(run_sync, sync[name])
            else:
                got = await run_async(asyn[name])
            if r:
                delays[name].extend(_delays(got))
    await liao.aclose()
    out: dict[str, Any] = {}
    for name, ds in delays.items():
        out[name] = {
            "median_ms": statistics.median(ds) * 1e3,
            "p95_ms": pct(ds, 0.95) * 1e3,
            "max_ms": max(ds) * 1e3,
            "pieces": len(ds),
        }
    return out


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 4 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (median, p95 and max delay of ChatLiaobots.stream).
    """
    say(
        f"[4] delay from a piece leaving the server to the client yielding it: "
        f"{sizes.lat_pieces} pieces {sizes.lat_pace * 1e3:g} ms apart "
        f"({sizes.lat_rounds} rounds)"
    )
    table(
        ("peer", "median ms", "p95 ms", "max ms", "pieces"),
        (
            (
                name,
                f"{e['median_ms']:.3f}",
                f"{e['p95_ms']:.3f}",
                f"{e['max_ms']:.3f}",
                str(e["pieces"]),
            )
            for name, e in res.items()
        ),
    )
    liao = res[LIAO]
    say(
        f"  ChatLiaobots.stream p95 = {liao['p95_ms']:.3f} ms  "
        f"(target < {LATENCY_P95_MS:g} ms)"
    )
    return {
        "value": liao["median_ms"],
        "p95": liao["p95_ms"],
        "max": liao["max_ms"],
        "raw": res[RAW]["median_ms"],
        "unit": "ms",
        "openai": res[OPENAI]["median_ms"] if OPENAI in res else None,
    }


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 4's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        f"{fmt(s['value'])} (p95 {fmt(s['p95'])})",
        f"raw {fmt(s['raw'])}, ChatOpenAI {fmt(s.get('openai'))}",
        "",
    )


FIGURE = Figure(
    target=target("4"),
    key="latency",
    measure=measure,
    report=report,
    row=row,
    scenario=("latency", scenario),
)
