r"""Figure 10: reading hostile replies, at N and 4N characters (issue 20, item 5).

Each shape is a reply that once took time quadratic in its length: a possible
call opening (``{``, ``[``, a code fence, ``\nAction:``) followed by N spaces,
and the other long runs a reply can hold (a tool name, an Action Input line, a
call's argument, braces, trailing spaces, JSON nested N deep). Each is read the
way ``ChatLiaobots`` reads an answer with a tool bound (a planned turn's
``feed`` and ``finish``, which run the reply parser and make the chunks), in
16-character pieces, at N and at 4N characters; the figure is the time of 4N
over the time of N, about 4 when reading is linear. The work is CPU alone, so
each time is this process's CPU time (``time.process_time``), the fastest of
the rounds: the least disturbed by other work on the machine. No server is
involved.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage

from benchmarks.common import Figure, say, stats, table
from benchmarks.sizes import Sizes
from benchmarks.targets import HOSTILE_4X_RATIO, target
from langchain_liaobots.prompt.prompting import plan_call

__all__ = ["FIGURE", "SHAPES", "measure", "read_reply", "report", "row"]

PIECE = 16
"""Characters per piece, as the issue measured them."""

SHAPES: dict[str, tuple[str, str, str]] = {
    "{ + spaces": ("{", " ", ""),
    "[ + spaces": ("[", " ", ""),
    "fence + spaces": ("```", " ", ""),
    "fence line + spaces": ("```\n", " ", ""),
    "\\nAction: + spaces": ("ok\nAction:", " ", ""),
    "Action: + a long name": ("Action: ", "a", ""),
    "a long Action Input": ("Action: t\nAction Input: ", "a", "\n"),
    "a long argument": ('{"name": "t", "arguments": {"a": "', "a", '"}}'),
    "braces": ("", "{", ""),
    "nested N deep": ("", "[", ""),
    "text + trailing spaces": ("Hello", " ", ""),
}
"""Each shape's head, the character repeated N times, and its tail."""


def read_reply(text: str) -> int:
    """Read ``text`` as a turn with a tool bound reads an answer; count chunks."""
    tool = {"name": "t", "description": "A tool.", "parameters": {"type": "object"}}
    turn = plan_call([HumanMessage("x")], "", {"tools": [tool]}).first
    chunks = 0
    for start in range(0, len(text), PIECE):
        chunks += sum(1 for _ in turn.feed(text[start : start + PIECE]))
    return chunks + sum(1 for _ in turn.finish())


def _timed(text: str) -> float:
    started = time.process_time()
    read_reply(text)
    return time.process_time() - started


def measure(_urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Time each shape at N and 4N characters.

    Args:
        _urls: Unused (no server).
        sizes: ``hostile_length`` (N) and ``hostile_rounds`` (after a warm-up).

    Returns:
        Per shape: the samples (CPU seconds) and their stats at N and at 4N.
    """
    results: dict[str, Any] = {}
    for name, (head, fill, tail) in SHAPES.items():
        entry: dict[str, Any] = {}
        for scale in (1, 4):
            text = head + fill * (sizes.hostile_length * scale) + tail
            _timed(text)  # warm-up
            samples = [_timed(text) for _ in range(sizes.hostile_rounds)]
            entry[f"{scale}x"] = {"samples": samples, **stats(samples)}
        results[name] = entry
    return results


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 10 and return its summary (the worst ratio over the shapes).

    Each time is the fastest round's (see the module docstring).

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The summary: the worst 4N/N ratio, its shape, and N.
    """
    n = sizes.hostile_length
    say(
        f"[10] reading hostile replies in {PIECE}-character pieces, N = {n:,} "
        f"(fastest of {sizes.hostile_rounds} rounds)"
    )
    rows, ratios = [], {}
    for name, entry in res.items():
        one, four = entry["1x"]["min"], entry["4x"]["min"]
        ratios[name] = four / one
        rows.append(
            (name, f"{one * 1e3:.1f}", f"{four * 1e3:.1f}", f"{four / one:.2f}x")
        )
    table(("shape", "N: CPU ms", "4N: CPU ms", "4N / N"), rows)
    say(f"  target: 4N / N <= {HOSTILE_4X_RATIO:g} for every shape (linear: 4)")
    worst = max(ratios, key=ratios.__getitem__)
    return {"value": ratios[worst], "unit": "x", "shape": worst, "length": n}


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 10's ChatLiaobots, peers and ratio cells of the summary."""
    return (f"{s['value']:.2f}x", f"worst: {s['shape']}", "-")


FIGURE = Figure(
    target=target("10"), key="hostile", measure=measure, report=report, row=row
)
