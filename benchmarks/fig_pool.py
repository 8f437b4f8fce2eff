"""Figure 8: 1,024 concurrent ``astream`` calls: wall time and memory per stream.

The streams have a slow first byte and then pace their pieces, so a pool
smaller than the burst makes the excess wait for a connection. ChatLiaobots
(its default pool) runs against the raw aiohttp loop inside langchain-core
(:class:`~benchmarks.peers.RawAsyncLoopModel`, an unlimited pool).

Each round of each peer runs in a fresh interpreter (``python -m
benchmarks.fig_pool PEER URL STREAMS PIECES``), so memory freed by one peer is
never reused by the other: after a small warm-up round, it runs all the
streams at once and prints, as one JSON line, the wall time and the rise of the
process's peak RSS (``ru_maxrss``), which over the streams is the memory per
stream, and the client's CPU time (a diagnostic: on a small machine the
client and the server compete for the cores, so wall time follows CPU). The
peers alternate round by round, against the same server.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from benchmarks.common import (
    ALIAO,
    PIECE_BYTES,
    ROOT,
    Figure,
    fmt,
    rotated,
    say,
    stats,
    table,
    x,
)
from benchmarks.peers import PROMPT, RawAsyncLoopModel, make_liaobots
from benchmarks.rounds import async_round
from benchmarks.servers import Scenario, answer_text
from benchmarks.sizes import Sizes
from benchmarks.targets import POOL_MEM_VS_RAW, POOL_WALL_VS_RAW, target

__all__ = ["FIGURE", "PEERS", "child", "measure", "report", "row"]

ACOMPOSED = "raw aiohttp loop inside langchain-core"
PEERS = {"liaobots": ALIAO, "composed": ACOMPOSED}
"""The peers' names on the child's command line, and their labels."""

_WARM = 4
"""Streams of the child's warm-up round (imports, first connections)."""


def scenario(sizes: Sizes) -> Scenario:
    """Return the slow-first-byte, paced delivery of figure 8."""
    return Scenario(pieces=sizes.pool_pieces, pace=sizes.pool_pace, ttfb=sizes.ttfb)


def _peak_rss() -> int:
    """The process's peak resident set so far, in bytes (Linux: KiB reported)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _child_round(
    peer: str, url: str, streams: int, pieces: int
) -> dict[str, Any]:
    text = answer_text(pieces, PIECE_BYTES)
    liao = make_liaobots(url)
    composed = RawAsyncLoopModel(url=url)
    model = liao if peer == "liaobots" else composed

    def make() -> AsyncIterator[Any]:
        return model.astream(PROMPT)

    await async_round(make, _WARM, text)
    gc.collect()
    before = _peak_rss()
    cpu = time.process_time()
    wall, errors = await async_round(make, streams, text)
    cpu = time.process_time() - cpu
    rise = _peak_rss() - before
    await liao.aclose()
    await composed.aclose()
    return {"wall_s": wall, "cpu_s": cpu, "rss_rise": rise, "errors": errors}


def child(argv: list[str]) -> None:
    """Run one peer's round in this (fresh) interpreter; print it as JSON.

    Args:
        argv: ``PEER URL STREAMS PIECES``, PEER one of :data:`PEERS`.
    """
    peer, url, streams, pieces = argv
    got = asyncio.run(_child_round(peer, url, int(streams), int(pieces)))
    print(json.dumps(got), flush=True)


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Run each peer's rounds in fresh interpreters, alternating.

    Args:
        urls: The figure's scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        Per peer label: the rounds' wall times, RSS rises and errors, and stats.
    """
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in PEERS}
    for r in range(sizes.pool_rounds):
        for name in rotated(list(PEERS), r):
            got = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.fig_pool",
                    name,
                    urls["liaobots"],
                    str(sizes.pool_streams),
                    str(sizes.pool_pieces),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            samples[name].append(json.loads(got.stdout.strip().splitlines()[-1]))
    out: dict[str, Any] = {}
    for name, rounds in samples.items():
        out[PEERS[name]] = {
            "rounds": rounds,
            "wall_s": stats([s["wall_s"] for s in rounds]),
            "cpu_s": stats([s["cpu_s"] for s in rounds]),
            "per_stream_bytes": stats(
                [s["rss_rise"] / sizes.pool_streams for s in rounds]
            ),
            "errors": sum(s["errors"] for s in rounds),
        }
    return out


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 8 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values and ratios).
    """
    n = sizes.pool_streams
    ideal = sizes.ttfb + (sizes.pool_pieces - 1) * sizes.pool_pace
    say(
        f"[8] {n} concurrent astream calls, {sizes.ttfb:g} s to first byte, "
        f"{sizes.pool_pieces} pieces {sizes.pool_pace * 1e3:g} ms apart "
        f"({sizes.pool_rounds} rounds, a fresh interpreter each; server-side "
        f"minimum {ideal:.3f} s)"
    )
    table(
        ("peer", "median s", "min", "max", "client CPU s", "KiB/stream", "errors"),
        (
            (
                f"{name} x{n}",
                f"{e['wall_s']['median']:.3f}",
                f"{e['wall_s']['min']:.3f}",
                f"{e['wall_s']['max']:.3f}",
                f"{e['cpu_s']['median']:.3f}",
                f"{e['per_stream_bytes']['median'] / 1024:.1f}",
                str(e["errors"]),
            )
            for name, e in res.items()
        ),
    )
    liao, composed = res[ALIAO], res[ACOMPOSED]
    wall, wall_floor = liao["wall_s"]["median"], composed["wall_s"]["median"]
    mem = liao["per_stream_bytes"]["median"]
    mem_floor = composed["per_stream_bytes"]["median"]
    say(
        f"  ChatLiaobots / raw loop inside core, wall       = {x(wall, wall_floor)}"
        f"  (target <= {POOL_WALL_VS_RAW:g})"
    )
    say(
        f"  ChatLiaobots / raw loop inside core, per stream = {x(mem, mem_floor)}"
        f"  (target <= {POOL_MEM_VS_RAW:g})"
    )
    return {
        "value": wall,
        "unit": "s",
        "streams": n,
        "composed": wall_floor,
        "kib_per_stream": mem / 1024,
        "composed_kib_per_stream": mem_floor / 1024,
        "ratio_vs_composed": wall / wall_floor,
        "mem_ratio_vs_composed": mem / mem_floor if mem_floor else float("inf"),
        "errors": liao["errors"] + composed["errors"],
    }


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 8's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        f"{fmt(s['value'])}, {fmt(s['kib_per_stream'])} KiB/stream",
        f"raw-in-core {fmt(s['composed'])}, "
        f"{fmt(s['composed_kib_per_stream'])} KiB/stream",
        f"{s['ratio_vs_composed']:.2f}x wall, {s['mem_ratio_vs_composed']:.2f}x memory",
    )


FIGURE = Figure(
    target=target("8"),
    key="pool",
    measure=measure,
    report=report,
    row=row,
    scenario=("pool", scenario),
)

if __name__ == "__main__":
    child(sys.argv[1:])
