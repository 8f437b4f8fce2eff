"""Figure 1: client CPU per piece (``time.process_time`` of this process / pieces).

The server paces its pieces, so each chunk follows a socket wait as in real
use; ChatLiaobots is set against the raw ``requests`` loop, langchain-core's
floor (no I/O), the raw loop inside core, and ChatOpenAI.
"""

from __future__ import annotations

import statistics
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
    Figure,
    fmt,
    say,
    table,
)
from benchmarks.rounds import measure_sync
from benchmarks.servers import Scenario
from benchmarks.sizes import Sizes
from benchmarks.targets import CPU_VS_FLOOR, CPU_VS_OPENAI, target

__all__ = ["FIGURE", "measure", "report", "row"]


def scenario(sizes: Sizes) -> Scenario:
    """Return the paced delivery of figure 1."""
    return Scenario(pieces=sizes.cpu_pieces, pace=sizes.cpu_pace)


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, dict[str, Any]]:
    """Measure every sync peer's CPU per piece (:func:`measure_sync`)."""
    return measure_sync(urls, sizes.cpu_pieces, sizes.cpu_rounds, sizes.cpu_pace)


def report(res: dict[str, dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """Print figure 1 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values and ratios).
    """
    say(
        f"[1] client CPU per piece: {sizes.cpu_pieces} pieces x {PIECE_BYTES} B, "
        f"paced {sizes.cpu_pace * 1e3:g} ms ({sizes.cpu_rounds} rounds, "
        "process CPU time / pieces)"
    )
    table(
        ("peer", "median us/piece", "min", "max", "chunks/call", "wall s/call"),
        (
            (
                name,
                f"{e['us_per_piece']['median']:.1f}",
                f"{e['us_per_piece']['min']:.1f}",
                f"{e['us_per_piece']['max']:.1f}",
                f"{statistics.median(e['chunks']):.0f}",
                f"{e['wall_s']['median']:.3f}",
            )
            for name, e in res.items()
        ),
    )
    raw = res[RAW]["us_per_piece"]["median"]
    core = res[CORE]["us_per_piece"]["median"]
    liao = res[LIAO]["us_per_piece"]["median"]
    composed = res[COMPOSED]["us_per_piece"]["median"]
    floor_ratio = liao / (raw + core)
    say(
        f"  ChatLiaobots / (raw loop + core floor) = {floor_ratio:.2f}  "
        f"(<= {CPU_VS_FLOOR:g})"
    )
    say(f"  ChatLiaobots / raw loop inside core    = {liao / composed:.2f}")
    say(f"  ChatLiaobots / raw loop                = {liao / raw:.2f}")
    summary: dict[str, Any] = {
        "value": liao,
        "unit": "us/piece",
        "raw": raw,
        "core": core,
        "composed": composed,
        "ratio_vs_floor": floor_ratio,
        "ratio_vs_composed": liao / composed,
    }
    if OPENAI in res:
        oai = res[OPENAI]["us_per_piece"]["median"]
        summary["openai"] = oai
        summary["ratio_vs_openai"] = liao / oai
        say(
            f"  ChatLiaobots / ChatOpenAI              = {liao / oai:.3f}  "
            f"(<= {CPU_VS_OPENAI:g})"
        )
    if PACED_CORE in res:
        between = (
            res[PACED_CORE]["us_per_piece"]["median"]
            - res[SLEEPS]["us_per_piece"]["median"]
        )
        summary["core_between_waits"] = between
        say(
            f"  core's per-chunk work between waits ~ {between:.1f} us "
            f"(back to back: {core:.1f} us)"
        )
    return summary


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 1's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        fmt(s["value"]),
        f"raw {fmt(s['raw'])}, core {fmt(s['core'])}, "
        f"raw-in-core {fmt(s['composed'])}, ChatOpenAI {fmt(s.get('openai'))}",
        f"{s['ratio_vs_floor']:.2f}x (raw+core), "
        f"{s['ratio_vs_composed']:.2f}x raw-in-core, "
        f"{fmt(s.get('ratio_vs_openai'))}x ChatOpenAI",
    )


FIGURE = Figure(
    target=target("1"),
    key="cpu",
    measure=measure,
    report=report,
    row=row,
    scenario=("cpu", scenario),
)
