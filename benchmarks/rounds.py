"""The measuring rounds several figures share.

:func:`measure_sync` streams one answer per sync peer per round (figures 1 and
2); :func:`async_round` runs N ``astream`` calls at once (figures 3 and 6).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from benchmarks.common import (
    COMPOSED,
    CORE,
    LIAO,
    OPENAI,
    PACED_CORE,
    PIECE_BYTES,
    RAW,
    SLEEPS,
    pieces_of,
    rotated,
    stats,
    text_of,
)
from benchmarks.peers import (
    PROMPT,
    CoreFloor,
    PacedCoreFloor,
    RawLoop,
    RawLoopModel,
    make_liaobots,
    make_openai,
    openai_available,
    paced_sleeps,
)
from benchmarks.servers import answer_text

__all__ = ["async_round", "measure_sync"]


def _sync_round(make: Callable[[], Iterable[Any]]) -> tuple[float, float, list[Any]]:
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    items = list(make())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return cpu, wall, items


def _sync_peers(
    urls: dict[str, str], text: str, pace: float
) -> dict[str, Callable[[], Any]]:
    raw = RawLoop(urls["liaobots"])
    parts = pieces_of(text)
    core = CoreFloor(pieces=parts)
    composed = RawLoopModel(url=urls["liaobots"])
    liao = make_liaobots(urls["liaobots"])
    peers: dict[str, Callable[[], Any]] = {
        RAW: raw.stream,
        CORE: lambda: core.stream(PROMPT),
        COMPOSED: lambda: composed.stream(PROMPT),
        LIAO: lambda: liao.stream(PROMPT),
    }
    if openai_available():
        oai = make_openai(urls["openai"])
        peers[OPENAI] = lambda: oai.stream(PROMPT)
    if pace:
        paced = PacedCoreFloor(pieces=parts, pace=pace)
        peers[PACED_CORE] = lambda: paced.stream(PROMPT)
        peers[SLEEPS] = lambda: paced_sleeps(parts, pace)
    return peers


def measure_sync(
    urls: dict[str, str], pieces: int, rounds: int, pace: float = 0.0
) -> dict[str, dict[str, Any]]:
    """Stream one answer per peer per round; record CPU and wall time.

    Args:
        urls: The scenario's server URLs.
        pieces: Pieces per answer (of :data:`PIECE_BYTES` bytes).
        rounds: Rounds; the peers' order rotates every round.
        pace: The server's pace; when set, two diagnostic peers show what
            core's per-chunk work costs between waits.

    Returns:
        Per peer: CPU and wall samples, their stats, chunks per call, errors.

    Raises:
        RuntimeError: If a peer returns the wrong text.
    """
    text = answer_text(pieces, PIECE_BYTES)
    peers = _sync_peers(urls, text, pace)
    out: dict[str, dict[str, Any]] = {
        name: {"cpu": [], "wall": [], "chunks": []} for name in peers
    }
    for make in peers.values():  # warm-up: connections, imports, caches
        _sync_round(make)
    for r in range(rounds):
        for name in rotated(list(peers), r):
            cpu, wall, items = _sync_round(peers[name])
            if text_of(items) != text:
                msg = f"{name} returned the wrong text"
                raise RuntimeError(msg)
            out[name]["cpu"].append(cpu)
            out[name]["wall"].append(wall)
            out[name]["chunks"].append(len(items))
    for entry in out.values():
        entry["us_per_piece"] = stats([c / pieces * 1e6 for c in entry["cpu"]])
        entry["wall_s"] = stats(entry["wall"])
    return out


async def _drain(stream: AsyncIterator[Any]) -> str:
    return text_of([item async for item in stream])


async def async_round(
    make: Callable[[], AsyncIterator[Any]], n: int, text: str
) -> tuple[float, int]:
    """Run ``n`` streams at once and time them all.

    Args:
        make: Starts one stream.
        n: Streams at once.
        text: The answer each stream should return.

    Returns:
        The wall time in seconds and the number of streams that failed or
        returned another text.
    """
    gc.collect()
    t0 = time.perf_counter()
    got = await asyncio.gather(
        *(_drain(make()) for _ in range(n)), return_exceptions=True
    )
    wall = time.perf_counter() - t0
    return wall, sum(1 for g in got if g != text)
