"""Figure 6: the local server's capacity, streams held at once with zero errors.

The raw aiohttp loop holds N streams against the emulator at each level; the
server counts the streams it holds at once. ChatLiaobots.astream then holds
the target's number (or the largest level, if smaller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from benchmarks.common import PIECE_BYTES, Figure, say, table
from benchmarks.peers import PROMPT, RawAsyncLoop, make_liaobots
from benchmarks.rounds import async_round
from benchmarks.servers import Scenario, answer_text
from benchmarks.sizes import Sizes
from benchmarks.targets import CAPACITY_STREAMS, target

__all__ = ["FIGURE", "measure", "report", "row"]


def scenario(sizes: Sizes) -> Scenario:
    """Return the slow delivery of figure 6 (streams stay open for a while)."""
    return Scenario(pieces=sizes.capacity_pieces, pace=sizes.capacity_pace)


async def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Hold N streams at once against the emulator; count errors and the peak.

    Args:
        urls: The capacity scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        Per level: errors, the server's peak of concurrent streams, wall time;
        and the same for ``ChatLiaobots.astream`` at
        ``min(CAPACITY_STREAMS, max level)``.
    """
    import aiohttp

    base = urls["liaobots"]
    text = answer_text(sizes.capacity_pieces, PIECE_BYTES)
    raw = RawAsyncLoop(base, limit=0)
    liao = make_liaobots(base)
    levels: dict[str, Any] = {}
    async with aiohttp.ClientSession() as admin:

        async def level(
            make: Callable[[], AsyncIterator[Any]], n: int
        ) -> dict[str, Any]:
            await (await admin.post(base + "/bench/reset")).release()
            wall, errors = await async_round(make, n, text)
            stats = await (await admin.get(base + "/bench/stats")).json()
            return {"errors": errors, "peak": stats["peak"], "wall_s": wall}

        for n in sizes.capacity_levels:
            levels[str(n)] = await level(raw.stream, n)
        n_liao = min(CAPACITY_STREAMS, max(sizes.capacity_levels))
        with_liao = await level(lambda: liao.astream(PROMPT), n_liao)
    await raw.aclose()
    await liao.aclose()
    return {"raw": levels, "liaobots": {str(n_liao): with_liao}}


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 6 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (the capacity and the largest level tried).
    """
    secs = sizes.capacity_pieces * sizes.capacity_pace
    say(
        f"[6] local server capacity: N streams held at once, {sizes.capacity_pieces} "
        f"pieces {sizes.capacity_pace * 1e3:g} ms apart (~{secs:g} s each)"
    )
    clients = [("raw aiohttp", res["raw"]), ("ChatLiaobots.astream", res["liaobots"])]
    table(
        ("client", "errors", "server peak streams", "wall s"),
        (
            (f"{client} x{n}", str(e["errors"]), str(e["peak"]), f"{e['wall_s']:.3f}")
            for client, per in clients
            for n, e in per.items()
        ),
    )
    held = [
        int(n)
        for n, e in res["raw"].items()
        if e["errors"] == 0 and e["peak"] >= int(n)
    ]
    capacity = max(held, default=0)
    say(
        f"  held with zero errors: {capacity} concurrent streams (largest level "
        f"tried: {max(sizes.capacity_levels)}; target >= {CAPACITY_STREAMS})"
    )
    return {
        "value": capacity,
        "unit": "streams",
        "tried": max(sizes.capacity_levels),
    }


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 6's ChatLiaobots, peers and ratio cells of the summary."""
    return (f"{s['value']} streams", f"tried up to {s['tried']}", "")


FIGURE = Figure(
    target=target("6"),
    key="capacity",
    measure=measure,
    report=report,
    row=row,
    scenario=("capacity", scenario),
)
