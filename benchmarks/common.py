"""Helpers every figure shares: peer labels, statistics, tables, the servers.

Nothing here measures anything; :mod:`benchmarks.rounds` holds the measuring
loops that several figures share, and each ``fig_*`` module its own figure.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.servers import Scenario
from benchmarks.sizes import Sizes
from benchmarks.targets import Target

__all__ = [
    "ALIAO",
    "AOPENAI",
    "ARAW",
    "BENCH_DIR",
    "COMPOSED",
    "CORE",
    "LIAO",
    "OPENAI",
    "PACED_CORE",
    "PIECE_BYTES",
    "RAW",
    "ROOT",
    "SLEEPS",
    "THREAD",
    "Figure",
    "content",
    "fmt",
    "machine_info",
    "pct",
    "pieces_of",
    "rotated",
    "say",
    "serve",
    "stats",
    "table",
    "text_of",
    "x",
]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

PIECE_BYTES = 16
"""Bytes (ASCII characters) per streamed piece, in every scenario."""

# The peers' labels, as printed and as keys of ``results.json``.
RAW = "raw requests loop (floor)"
CORE = "langchain-core floor (no I/O)"
COMPOSED = "raw loop inside langchain-core"
PACED_CORE = "(diag.) core floor, sleep before each chunk"
SLEEPS = "(diag.) the sleeps alone"
LIAO = "ChatLiaobots.stream"
OPENAI = "ChatOpenAI.stream"
ARAW = "raw aiohttp loop (floor)"
ALIAO = "ChatLiaobots.astream"
AOPENAI = "ChatOpenAI.astream"
THREAD = "default thread-executor _astream"


@dataclass(frozen=True)
class Figure:
    """How to measure and print one figure of :data:`benchmarks.targets.TARGETS`.

    Attributes:
        target: The figure's row of the targets table.
        key: Its measurements' key in ``results.json`` (``measurements``).
        measure: ``(urls, sizes)`` to raw measurements, or an awaitable of them;
            ``urls`` are those of the figure's scenario (empty when it has none).
        report: ``(measurements, sizes)``: prints the section ``[id]`` and
            returns the figure's summary (the judge adds ``met``).
        row: The summary's ChatLiaobots, peers and ratio cells for a summary.
        scenario: The scenario's name and how the sizes make it, when the figure
            needs the servers.
    """

    target: Target
    key: str
    measure: Callable[[dict[str, str], Sizes], Any | Awaitable[Any]]
    report: Callable[[Any, Sizes], dict[str, Any]]
    row: Callable[[dict[str, Any]], tuple[str, str, str]]
    scenario: tuple[str, Callable[[Sizes], Scenario]] | None = None


def say(line: str = "") -> None:
    """Print one line of the report at once (the run is long; flush as we go)."""
    print(line, flush=True)


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Return the median, min, max and count of the samples."""
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def pct(samples: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile of the samples (nearest rank, no interpolation)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def content(item: Any) -> str:
    """Return the text of a streamed item: a ``str`` or a message chunk."""
    text = item if isinstance(item, str) else item.content
    return text if isinstance(text, str) else ""


def text_of(items: Iterable[Any]) -> str:
    """Return the text of a whole stream, as :func:`content` joined."""
    return "".join(content(item) for item in items)


def pieces_of(text: str) -> list[str]:
    """Split an answer into its pieces of :data:`PIECE_BYTES` characters."""
    return [text[i : i + PIECE_BYTES] for i in range(0, len(text), PIECE_BYTES)]


def rotated(names: Sequence[str], i: int) -> list[str]:
    """Return the names rotated by ``i``, so that each round starts elsewhere."""
    k = i % len(names)
    return [*names[k:], *names[:k]]


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print a table: first column left-aligned, the others right-aligned."""
    body = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[c]) for r in body) for c in range(len(header))]
    for n, row in enumerate(body):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        say("  " + "  ".join(cells))
        if n == 0:
            say("  " + "  ".join("-" * w for w in widths))


def x(a: float, b: float) -> str:
    """Format the ratio ``a / b`` as ``"1.23x"`` (``"n/a"`` when ``b`` is 0)."""
    return f"{a / b:.2f}x" if b else "n/a"


def fmt(v: float | None, unit: str = "") -> str:
    """Format a summary value to 3 significant digits (``"-"`` when missing)."""
    return "-" if v is None else f"{v:.3g}{unit}"


def machine_info() -> dict[str, Any]:
    """Describe the machine, the interpreter and the package versions.

    Returns:
        nproc, CPU model, Python version, platform, load average and versions.
    """
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in (
        "langchain-liaobots",
        "langchain-core",
        "langchain-openai",
        "openai",
        "httpx",
        "requests",
        "urllib3",
        "aiohttp",
        "pydantic",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
        "versions": versions,
    }


@contextmanager
def serve(scenarios: dict[str, Scenario]) -> Iterator[dict[str, dict[str, str]]]:
    """Run :mod:`benchmarks.servers` in a child process for the scenarios.

    Args:
        scenarios: Scenario name to delivery.

    Yields:
        Scenario name to ``{"liaobots": url, "openai": url, "pid": ...}``.

    Raises:
        RuntimeError: If the server process does not start.
    """
    spec = json.dumps({name: asdict(s) for name, s in scenarios.items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.servers", spec],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            msg = "the benchmark servers did not start"
            raise RuntimeError(msg)
        urls: dict[str, dict[str, str]] = json.loads(line)
        for entry in urls.values():
            entry["pid"] = str(proc.pid)
        yield urls
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
