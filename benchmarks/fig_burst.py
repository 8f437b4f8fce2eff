"""Figure 2: wall time of a burst of pieces sent as fast as the server can write.

The same sync peers as figure 1 (:func:`benchmarks.rounds.measure_sync`), with
no pacing: here the client's per-chunk work is the whole wall time.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.common import (
    COMPOSED,
    CORE,
    LIAO,
    OPENAI,
    PIECE_BYTES,
    RAW,
    Figure,
    fmt,
    say,
    table,
)
from benchmarks.rounds import measure_sync
from benchmarks.servers import Scenario
from benchmarks.sizes import Sizes
from benchmarks.targets import BURST_VS_RAW, target

__all__ = ["FIGURE", "measure", "report", "row"]


def scenario(sizes: Sizes) -> Scenario:
    """Return the unpaced delivery of figure 2."""
    return Scenario(pieces=sizes.burst_pieces)


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, dict[str, Any]]:
    """Measure every sync peer's wall time for the burst (:func:`measure_sync`)."""
    return measure_sync(urls, sizes.burst_pieces, sizes.burst_rounds)


def report(res: dict[str, dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """Print figure 2 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values and ratios).
    """
    say(
        f"[2] wall time for {sizes.burst_pieces} pieces x {PIECE_BYTES} B sent as "
        f"fast as possible ({sizes.burst_rounds} rounds)"
    )
    table(
        ("peer", "median ms", "min", "max", "chunks/call", "CPU us/piece"),
        (
            (
                name,
                f"{e['wall_s']['median'] * 1e3:.1f}",
                f"{e['wall_s']['min'] * 1e3:.1f}",
                f"{e['wall_s']['max'] * 1e3:.1f}",
                f"{statistics.median(e['chunks']):.0f}",
                f"{e['us_per_piece']['median']:.1f}",
            )
            for name, e in res.items()
        ),
    )
    raw = res[RAW]["wall_s"]["median"]
    liao = res[LIAO]["wall_s"]["median"]
    composed = res[COMPOSED]["wall_s"]["median"]
    say(
        f"  ChatLiaobots / raw loop              = {liao / raw:.2f}  "
        f"(target <= {BURST_VS_RAW:g})"
    )
    say(f"  ChatLiaobots / raw loop inside core  = {liao / composed:.2f}")
    core_alone = res[CORE]["wall_s"]["median"]
    say(f"  langchain-core floor alone / raw loop = {core_alone / raw:.2f}")
    summary: dict[str, Any] = {
        "value": liao * 1e3,
        "unit": "ms",
        "raw": raw * 1e3,
        "composed": composed * 1e3,
        "core": core_alone * 1e3,
        "ratio_vs_raw": liao / raw,
        "ratio_vs_composed": liao / composed,
    }
    if OPENAI in res:
        oai = res[OPENAI]["wall_s"]["median"]
        summary["openai"] = oai * 1e3
        say(f"  ChatLiaobots / ChatOpenAI = {liao / oai:.2f}")
    return summary


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 2's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        fmt(s["value"]),
        f"raw {fmt(s['raw'])}, core alone {fmt(s['core'])}, "
        f"raw-in-core {fmt(s['composed'])}, ChatOpenAI {fmt(s.get('openai'))}",
        f"{s['ratio_vs_raw']:.2f}x raw, {s['ratio_vs_composed']:.2f}x raw-in-core",
    )


FIGURE = Figure(
    target=target("2"),
    key="burst",
    measure=measure,
    report=report,
    row=row,
    scenario=("burst", scenario),
)
