"""The figures' targets, in one table: what each measures and when it is met.

Every threshold lives here once: the ``fig_*`` modules print them next to their
figures, :data:`TARGETS` spells them out for the summary, and each target's
``judge`` decides "met" from the figure's summary (the dict a figure's report
returns, which ``results.json`` keeps under ``figures``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks.sizes import Sizes

__all__ = [
    "BURST_VS_RAW",
    "CAPACITY_STREAMS",
    "CONC_WALL_S",
    "CPU_VS_FLOOR",
    "CPU_VS_OPENAI",
    "HOSTILE_4X_RATIO",
    "IMPORT_VS_CORE",
    "LATENCY_P95_MS",
    "LOOP_TOKENIZED_VS_FIRST",
    "POOL_MEM_VS_RAW",
    "POOL_WALL_VS_RAW",
    "PREPARE_VS_OPENAI",
    "REPLIES_PER_STEP",
    "TARGETS",
    "Target",
    "target",
]

CPU_VS_FLOOR = 1.25
"""Figure 1: ChatLiaobots CPU per piece / (raw loop + core floor), at most."""
CPU_VS_OPENAI = 0.15
"""Figure 1: ChatLiaobots CPU per piece / ChatOpenAI's, at most."""
BURST_VS_RAW = 2.0
"""Figure 2: ChatLiaobots burst wall time / the raw loop's, at most."""
CONC_WALL_S = 0.75
"""Figure 3: seconds for the concurrent ``astream`` calls, at most (full size)."""
LATENCY_P95_MS = 5.0
"""Figure 4: p95 delay from a piece leaving the server to its yield, below (ms)."""
IMPORT_VS_CORE = 1.15
"""Figure 5: import time / langchain-core's chat-model module, at most."""
CAPACITY_STREAMS = 256
"""Figure 6: concurrent streams the local server holds with zero errors, at least."""
PREPARE_VS_OPENAI = 1.0
"""Figure 7: preparing the longest conversation's request / ChatOpenAI's, at most."""
REPLIES_PER_STEP = 2
"""Figure 9: model requests per agent step, at most (``parse_retries + 1``)."""
POOL_WALL_VS_RAW = 1.1
"""Figure 8: wall time of 1,024 concurrent streams / the raw loop inside core's."""
POOL_MEM_VS_RAW = 1.1
"""Figure 8: memory per stream (RSS delta / streams) / the raw loop inside core's."""

HOSTILE_4X_RATIO = 5.0
"""Figure 10: time to read a hostile reply of 4N characters / of N, at most."""
LOOP_TOKENIZED_VS_FIRST = 1.5
"""Figure 11: characters tokenized at the loop's last step / at its second."""

Judge = Callable[[Mapping[str, Any], Sizes], bool]


@dataclass(frozen=True)
class Target:
    """One figure: its id, what it measures, its target and how it is judged.

    Attributes:
        id: ``"1"`` … ``"11"``: the section ``[id]`` and the key in ``results.json``.
        name: The figure's name in the summary, formatted with its summary
            (``"{streams} x astream (s)"``).
        title: What the figure measures, in a few words (``--only`` help).
        target: The target, as the summary prints it.
        judge: Whether the figure's summary meets the target at these sizes.
    """

    id: str
    name: str
    title: str
    target: str
    judge: Judge

    def label(self, summary: Mapping[str, Any]) -> str:
        """Return the figure's row label in the summary, e.g. ``1 CPU per piece``."""
        return f"{self.id} {self.name.format(**summary)}"


def _cpu_met(s: Mapping[str, Any], sizes: Sizes) -> bool:
    met: bool = s["ratio_vs_floor"] <= CPU_VS_FLOOR
    if "ratio_vs_openai" in s:
        met = met and s["ratio_vs_openai"] <= CPU_VS_OPENAI
    return met


def _conc_met(s: Mapping[str, Any], sizes: Sizes) -> bool:
    # At smoke sizes the time to first byte is shorter: only the ranking counts.
    met: bool = s["value"] <= CONC_WALL_S if sizes.name == "full" else True
    if "ratio_vs_openai" in s:
        met = met and s["ratio_vs_openai"] < 1
    return met


TARGETS: tuple[Target, ...] = (
    Target(
        "1",
        "CPU per piece (us)",
        "client CPU per streamed piece",
        f"<={CPU_VS_FLOOR:g}x (raw+core), <={CPU_VS_OPENAI:g}x ChatOpenAI",
        _cpu_met,
    ),
    Target(
        "2",
        "burst wall (ms)",
        "wall time of a burst of pieces",
        f"<={BURST_VS_RAW:g}x raw",
        lambda s, _: s["ratio_vs_raw"] <= BURST_VS_RAW,
    ),
    Target(
        "3",
        "{streams} x astream (s)",
        "concurrent astream calls, slow first byte (and the curve)",
        f"<={CONC_WALL_S:g} s, < ChatOpenAI",
        _conc_met,
    ),
    Target(
        "4",
        "delay to yield (ms)",
        "delay from a piece leaving the server to its yield",
        f"<{LATENCY_P95_MS:g} ms (p95)",
        lambda s, _: s["p95"] < LATENCY_P95_MS,
    ),
    Target(
        "5",
        "import (ms)",
        "import time in a fresh interpreter",
        f"<={IMPORT_VS_CORE:g}x (both)",
        lambda s, _: (
            max(s["ratio_vs_core"], s["class_ratio_vs_core"]) <= IMPORT_VS_CORE
        ),
    ),
    Target(
        "6",
        "server capacity",
        "streams the local server holds at once",
        f">={CAPACITY_STREAMS}, 0 errors",
        lambda s, _: s["value"] >= CAPACITY_STREAMS,
    ),
    Target(
        "7",
        "prepare {messages} messages (ms)",
        "preparing a long conversation's request",
        f"<={PREPARE_VS_OPENAI:g}x ChatOpenAI",
        lambda s, _: s.get("ratio_vs_openai", 0.0) <= PREPARE_VS_OPENAI,
    ),
    Target(
        "8",
        "{streams} x astream, pool (s)",
        "many concurrent astream calls: wall and memory per stream",
        f"<={POOL_WALL_VS_RAW:g}x wall, <={POOL_MEM_VS_RAW:g}x memory (raw-in-core)",
        lambda s, _: (
            s["ratio_vs_composed"] <= POOL_WALL_VS_RAW
            and s["mem_ratio_vs_composed"] <= POOL_MEM_VS_RAW
        ),
    ),
    Target(
        "9",
        "imperfect-model replies",
        "how runs end over the catalogue of reply shapes",
        f"0 empty, 0 other, <={REPLIES_PER_STEP} requests/step",
        lambda s, _: (
            s["empty"] == 0 and s["wrong"] == 0 and s["per_step"] <= REPLIES_PER_STEP
        ),
    ),
    Target(
        "10",
        "hostile replies, 4N / N",
        "reading hostile replies at N and 4N characters",
        f"<={HOSTILE_4X_RATIO:g}x for every shape",
        lambda s, _: s["value"] <= HOSTILE_4X_RATIO,
    ),
    Target(
        "11",
        "{steps}-step agent loop, last step",
        "per-step preparation of an agent loop (token counts kept)",
        f"<={LOOP_TOKENIZED_VS_FIRST:g}x chars tokenized (last / second step)",
        lambda s, _: s["tokenized_ratio"] <= LOOP_TOKENIZED_VS_FIRST,
    ),
)
"""The figures, in the order they run and print."""


def target(id_: str) -> Target:
    """Return the row of :data:`TARGETS` with this id.

    Raises:
        KeyError: If no figure has this id.
    """
    for t in TARGETS:
        if t.id == id_:
            return t
    raise KeyError(id_)
