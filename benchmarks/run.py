"""The six figures of issue 5, measured side by side in one run (``make bench``).

Data flow: :func:`main` starts :mod:`benchmarks.servers` in a separate process
(the package's ``LiaobotsEmulator`` and an OpenAI-compatible endpoint per
scenario), then measures, in this process and with the peers interleaved round
by round:

1. client CPU per piece (``time.process_time`` of this process / pieces);
2. wall time of a burst of pieces sent as fast as the server can write;
3. wall time of concurrent ``astream`` calls with a slow first byte, and the
   whole concurrency curve (1…256 streams) for the plot;
4. the delay from a piece leaving the server (its send time is the piece's
   text) to ``stream()`` yielding it;
5. ``import langchain_liaobots`` versus langchain-core's chat-model module, each
   in a fresh interpreter;
6. the local server's capacity: streams held at once with zero errors.

It prints medians (over rounds) and ratios, writes ``results.json`` and, when
matplotlib is installed, ``results.png``. ``--smoke`` shrinks every size so the
whole run takes seconds (for CI); its figures are not meaningful.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.peers import (
    PROMPT,
    CoreFloor,
    PacedCoreFloor,
    RawAsyncLoop,
    RawLoop,
    RawLoopModel,
    make_liaobots,
    make_openai,
    make_threaded,
    openai_available,
    paced_sleeps,
)
from benchmarks.servers import Scenario, answer_text

__all__ = ["FULL", "SMOKE", "Sizes", "main"]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

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
class Sizes:
    """The sizes of one run.

    Attributes:
        name: ``"full"`` or ``"smoke"``.
        cpu_pieces: Pieces per answer for figure 1.
        cpu_pace: Seconds between pieces for figure 1.
        cpu_rounds: Rounds of figure 1.
        burst_pieces: Pieces per answer for figure 2 (no pacing).
        burst_rounds: Rounds of figure 2.
        conc_streams: Concurrent streams of figure 3.
        conc_pieces: Pieces per stream in figures 3 and the curve.
        conc_pace: Seconds between those pieces.
        ttfb: Seconds to the first byte in figure 3 and the curve.
        conc_rounds: Rounds at ``conc_streams`` streams.
        curve: The stream counts of the concurrency curve.
        curve_rounds: Rounds at the other points of the curve.
        thread_rounds_upto: Above this many streams the thread-executor peer
            (seconds per round) is measured once.
        lat_pieces: Pieces per answer for figure 4.
        lat_pace: Seconds between those pieces.
        lat_rounds: Rounds of figure 4.
        import_rounds: Fresh interpreters per module for figure 5.
        capacity_levels: Concurrent streams tried for figure 6.
        capacity_pieces: Pieces per stream for figure 6.
        capacity_pace: Seconds between those pieces.
    """

    name: str
    cpu_pieces: int
    cpu_pace: float
    cpu_rounds: int
    burst_pieces: int
    burst_rounds: int
    conc_streams: int
    conc_pieces: int
    conc_pace: float
    ttfb: float
    conc_rounds: int
    curve: tuple[int, ...]
    curve_rounds: int
    thread_rounds_upto: int
    lat_pieces: int
    lat_pace: float
    lat_rounds: int
    import_rounds: int
    capacity_levels: tuple[int, ...]
    capacity_pieces: int
    capacity_pace: float


FULL = Sizes(
    name="full",
    cpu_pieces=500,
    cpu_pace=0.0005,
    cpu_rounds=15,
    burst_pieces=2000,
    burst_rounds=15,
    conc_streams=64,
    conc_pieces=50,
    conc_pace=0.001,
    ttfb=0.5,
    conc_rounds=5,
    curve=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    curve_rounds=3,
    thread_rounds_upto=64,
    lat_pieces=100,
    lat_pace=0.005,
    lat_rounds=5,
    import_rounds=15,
    capacity_levels=(64, 128, 256, 512),
    capacity_pieces=20,
    capacity_pace=0.05,
)

SMOKE = Sizes(
    name="smoke",
    cpu_pieces=50,
    cpu_pace=0.0005,
    cpu_rounds=2,
    burst_pieces=200,
    burst_rounds=2,
    conc_streams=8,
    conc_pieces=10,
    conc_pace=0.001,
    ttfb=0.1,
    conc_rounds=1,
    curve=(1, 8),
    curve_rounds=1,
    thread_rounds_upto=8,
    lat_pieces=20,
    lat_pace=0.005,
    lat_rounds=1,
    import_rounds=2,
    capacity_levels=(16, 32),
    capacity_pieces=5,
    capacity_pace=0.02,
)

PIECE_BYTES = 16


# -- helpers -------------------------------------------------------------------


def _say(line: str = "") -> None:
    print(line, flush=True)


def _stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
    }


def _pct(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _text_of(items: Iterable[Any]) -> str:
    parts = []
    for item in items:
        content = item if isinstance(item, str) else item.content
        if isinstance(content, str):
            parts.append(content)
    return "".join(parts)


def _rotated(names: Sequence[str], i: int) -> list[str]:
    k = i % len(names)
    return [*names[k:], *names[:k]]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    body = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[c]) for r in body) for c in range(len(header))]
    for n, row in enumerate(body):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        _say("  " + "  ".join(cells))
        if n == 0:
            _say("  " + "  ".join("-" * w for w in widths))


def _x(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


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


# -- figures 1 and 2: sync streams ---------------------------------------------


def _sync_round(make: Callable[[], Iterable[Any]]) -> tuple[float, float, list[Any]]:
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    items = list(make())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return cpu, wall, items


def _sync_peers(
    urls: dict[str, str], pieces: int, pace: float
) -> dict[str, Callable[[], Any]]:
    text = answer_text(pieces, PIECE_BYTES)
    raw = RawLoop(urls["liaobots"])
    parts = [text[i : i + PIECE_BYTES] for i in range(0, len(text), PIECE_BYTES)]
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
    peers = _sync_peers(urls, pieces, pace)
    out: dict[str, dict[str, Any]] = {
        name: {"cpu": [], "wall": [], "chunks": []} for name in peers
    }
    for make in peers.values():  # warm-up: connections, imports, caches
        _sync_round(make)
    for r in range(rounds):
        for name in _rotated(list(peers), r):
            cpu, wall, items = _sync_round(peers[name])
            if _text_of(items) != text:
                msg = f"{name} returned the wrong text"
                raise RuntimeError(msg)
            out[name]["cpu"].append(cpu)
            out[name]["wall"].append(wall)
            out[name]["chunks"].append(len(items))
    for entry in out.values():
        entry["us_per_piece"] = _stats([c / pieces * 1e6 for c in entry["cpu"]])
        entry["wall_s"] = _stats(entry["wall"])
    return out


def report_cpu(res: dict[str, dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """Print figure 1 and return its verdict.

    Args:
        res: The output of :func:`measure_sync` for the paced scenario.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values, ratios, target verdict).
    """
    _say(
        f"[1] client CPU per piece: {sizes.cpu_pieces} pieces x {PIECE_BYTES} B, "
        f"paced {sizes.cpu_pace * 1e3:g} ms ({sizes.cpu_rounds} rounds, "
        "process CPU time / pieces)"
    )
    _table(
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
    oai = res[OPENAI]["us_per_piece"]["median"] if OPENAI in res else None
    composed = res[COMPOSED]["us_per_piece"]["median"]
    floor_ratio = liao / (raw + core)
    _say(f"  ChatLiaobots / (raw loop + core floor) = {floor_ratio:.2f}  (<= 1.25)")
    _say(f"  ChatLiaobots / raw loop inside core    = {liao / composed:.2f}")
    _say(f"  ChatLiaobots / raw loop                = {liao / raw:.2f}")
    met = floor_ratio <= 1.25
    summary: dict[str, Any] = {
        "value": liao,
        "unit": "us/piece",
        "raw": raw,
        "core": core,
        "composed": composed,
        "ratio_vs_floor": floor_ratio,
        "ratio_vs_composed": liao / composed,
    }
    if oai is not None:
        summary["openai"] = oai
        summary["ratio_vs_openai"] = liao / oai
        _say(f"  ChatLiaobots / ChatOpenAI              = {liao / oai:.3f}  (<= 0.15)")
        met = met and liao / oai <= 0.15
    if PACED_CORE in res:
        between = (
            res[PACED_CORE]["us_per_piece"]["median"]
            - res[SLEEPS]["us_per_piece"]["median"]
        )
        summary["core_between_waits"] = between
        _say(
            f"  core's per-chunk work between waits ~ {between:.1f} us "
            f"(back to back: {core:.1f} us)"
        )
    summary["met"] = met
    return summary


def report_burst(res: dict[str, dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """Print figure 2 and return its verdict.

    Args:
        res: The output of :func:`measure_sync` for the burst scenario.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values, ratios, target verdict).
    """
    _say(
        f"[2] wall time for {sizes.burst_pieces} pieces x {PIECE_BYTES} B sent as "
        f"fast as possible ({sizes.burst_rounds} rounds)"
    )
    _table(
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
    _say(f"  ChatLiaobots / raw loop              = {liao / raw:.2f}  (target <= 2)")
    _say(f"  ChatLiaobots / raw loop inside core  = {liao / composed:.2f}")
    core_alone = res[CORE]["wall_s"]["median"]
    _say(f"  langchain-core floor alone / raw loop = {core_alone / raw:.2f}")
    summary: dict[str, Any] = {
        "value": liao * 1e3,
        "unit": "ms",
        "raw": raw * 1e3,
        "composed": composed * 1e3,
        "core": core_alone * 1e3,
        "ratio_vs_raw": liao / raw,
        "ratio_vs_composed": liao / composed,
        "met": liao / raw <= 2,
    }
    if OPENAI in res:
        oai = res[OPENAI]["wall_s"]["median"]
        summary["openai"] = oai * 1e3
        _say(f"  ChatLiaobots / ChatOpenAI = {liao / oai:.2f}")
    return summary


# -- figure 3 and the curve: concurrent astream ------------------------------------


async def _drain(stream: AsyncIterator[Any]) -> str:
    return _text_of([item async for item in stream])


async def _async_round(
    make: Callable[[], AsyncIterator[Any]], n: int, text: str
) -> tuple[float, int]:
    gc.collect()
    t0 = time.perf_counter()
    got = await asyncio.gather(
        *(_drain(make()) for _ in range(n)), return_exceptions=True
    )
    wall = time.perf_counter() - t0
    return wall, sum(1 for g in got if g != text)


async def measure_concurrency(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Wall time of N concurrent streams, for every N of the curve and every peer.

    Args:
        urls: The slow-first-byte scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        ``{"levels": [...], "peers": {name: {N: stats}}, "errors": {...}}``.
    """
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
    await _async_round(lambda: threaded.astream(PROMPT), 6, text)  # warm threads
    for n in sizes.curve:
        rounds = sizes.conc_rounds if n == sizes.conc_streams else sizes.curve_rounds
        samples: dict[str, list[float]] = {name: [] for name in fast}
        for make in fast.values():  # warm the pool to n connections
            await _async_round(make, n, text)
        for r in range(rounds):
            for name in _rotated(list(fast), r):
                wall, errors = await _async_round(fast[name], n, text)
                samples[name].append(wall)
                result["errors"][name] += errors
        thread_rounds = rounds if n <= sizes.thread_rounds_upto else 1
        samples[THREAD] = []
        for _ in range(thread_rounds):
            wall, errors = await _async_round(lambda: threaded.astream(PROMPT), n, text)
            samples[THREAD].append(wall)
            result["errors"][THREAD] += errors
        cells = []
        for name, walls in samples.items():
            result["peers"][name][str(n)] = _stats(walls)
            cells.append(f"{name.split()[0]} {statistics.median(walls):.3f}s")
        _say(f"    {n:>4} streams: " + " | ".join(cells))
    await raw.aclose()
    await liao.aclose()
    return result


def report_concurrency(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 3 and return its verdict.

    Args:
        res: The output of :func:`measure_concurrency`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values, ratios, target verdict).
    """
    n = str(sizes.conc_streams)
    ideal = sizes.ttfb + (sizes.conc_pieces - 1) * sizes.conc_pace
    _say(
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
    _table(("peer", "median s", "min", "max", "rounds", "errors (all N)"), rows)
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
    met = liao <= 0.75 if sizes.name == "full" else True
    if alone is not None:
        _say(f"  ChatLiaobots x{n} / one stream alone = {_x(liao, alone)}")
    if AOPENAI in res["peers"]:
        oai = res["peers"][AOPENAI][n]["median"]
        summary["openai"] = oai
        summary["ratio_vs_openai"] = liao / oai
        _say(f"  ChatLiaobots / ChatOpenAI           = {_x(liao, oai)}")
        met = met and liao < oai
    _say(f"  ChatLiaobots / thread-executor path = {_x(liao, thread)}")
    _say(f"  target: <= 0.75 s and ahead of ChatOpenAI (ChatLiaobots: {liao:.3f} s)")
    summary["met"] = met
    return summary


# -- figure 4: latency -------------------------------------------------------------


def _delays(stamped: list[tuple[float, str]]) -> list[float]:
    """Turn ``(yield time, text)`` pairs into one delay per completed piece."""
    delays, buf = [], ""
    for when, text in stamped:
        buf += text
        while len(buf) >= PIECE_BYTES:
            piece, buf = buf[:PIECE_BYTES], buf[PIECE_BYTES:]
            delays.append(when - float(piece))
    return delays


def _content(item: Any) -> str:
    content = item if isinstance(item, str) else item.content
    return content if isinstance(content, str) else ""


async def measure_latency(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
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
        return [(time.monotonic(), _content(item)) for item in make()]

    async def run_async(
        make: Callable[[], AsyncIterator[Any]],
    ) -> list[tuple[float, str]]:
        return [(time.monotonic(), _content(item)) async for item in make()]

    delays: dict[str, list[float]] = {name: [] for name in (*sync, *asyn)}
    for r in range(sizes.lat_rounds + 1):  # round 0 warms up
        for name in _rotated(list(delays), r):
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
            "p95_ms": _pct(ds, 0.95) * 1e3,
            "max_ms": max(ds) * 1e3,
            "pieces": len(ds),
        }
    return out


def report_latency(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 4 and return its verdict.

    Args:
        res: The output of :func:`measure_latency`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values, target verdict on the p95).
    """
    _say(
        f"[4] delay from a piece leaving the server to the client yielding it: "
        f"{sizes.lat_pieces} pieces {sizes.lat_pace * 1e3:g} ms apart "
        f"({sizes.lat_rounds} rounds)"
    )
    _table(
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
    _say(f"  ChatLiaobots.stream p95 = {liao['p95_ms']:.3f} ms  (target < 5 ms)")
    return {
        "value": liao["median_ms"],
        "p95": liao["p95_ms"],
        "max": liao["max_ms"],
        "raw": res[RAW]["median_ms"],
        "unit": "ms",
        "openai": res[OPENAI]["median_ms"] if OPENAI in res else None,
        "met": liao["p95_ms"] < 5,
    }


# -- figure 5: import time -----------------------------------------------------------

_IMPORT_CODE = (
    "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
)
IMPORT_OURS = "import langchain_liaobots"
IMPORT_CORE = "import langchain_core.language_models.chat_models"
IMPORT_CLASS = "from langchain_liaobots import ChatLiaobots"
IMPORTS = (IMPORT_OURS, IMPORT_CORE, IMPORT_CLASS)


def measure_imports(rounds: int) -> dict[str, Any]:
    """Time each import statement in fresh interpreters, alternating.

    Bytecode is cached for every module alike, as after ``pip install`` (this
    environment may set ``PYTHONDONTWRITEBYTECODE``, which would leave an
    editable checkout compiling from source on every import): the children
    share a private ``PYTHONPYCACHEPREFIX`` that the warm-up round fills.

    Args:
        rounds: Fresh interpreters per statement (after one warm-up each).

    Returns:
        Per import statement: samples (seconds) and stats.
    """
    samples: dict[str, list[float]] = {stmt: [] for stmt in IMPORTS}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")
        }
        env["PYTHONPYCACHEPREFIX"] = cache
        for r in range(rounds + 1):
            for stmt in _rotated(list(IMPORTS), r):
                got = subprocess.run(
                    [sys.executable, "-c", _IMPORT_CODE.format(stmt=stmt)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                    env=env,
                )
                if r:
                    samples[stmt].append(float(got.stdout.strip()))
    return {stmt: {"samples": s, **_stats(s)} for stmt, s in samples.items()}


def report_imports(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 5 and return its verdict.

    Args:
        res: The output of :func:`measure_imports`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values, ratio, target verdict).
    """
    _say(f"[5] import time, fresh interpreter each ({sizes.import_rounds} rounds)")
    _table(
        ("import", "median ms", "min", "max"),
        (
            (
                name,
                f"{e['median'] * 1e3:.1f}",
                f"{e['min'] * 1e3:.1f}",
                f"{e['max'] * 1e3:.1f}",
            )
            for name, e in res.items()
        ),
    )
    ours = res[IMPORT_OURS]["median"]
    core = res[IMPORT_CORE]["median"]
    cls = res[IMPORT_CLASS]["median"]
    _say(f"  import langchain_liaobots / core chat-model module = {ours / core:.3f}")
    _say(f"  from langchain_liaobots import ChatLiaobots / core  = {cls / core:.3f}")
    _say("  target: <= 1.15")
    return {
        "value": ours * 1e3,
        "unit": "ms",
        "core": core * 1e3,
        "class": cls * 1e3,
        "ratio_vs_core": ours / core,
        "class_ratio_vs_core": cls / core,
        "met": max(ours, cls) / core <= 1.15,
    }


# -- figure 6: server capacity --------------------------------------------------------


async def measure_capacity(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Hold N streams at once against the emulator; count errors and the peak.

    Args:
        urls: The capacity scenario's server URLs.
        sizes: The run's sizes.

    Returns:
        Per level: errors, the server's peak of concurrent streams, wall time;
        and the same for ``ChatLiaobots.astream`` at ``min(256, max level)``.
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
            wall, errors = await _async_round(make, n, text)
            stats = await (await admin.get(base + "/bench/stats")).json()
            return {"errors": errors, "peak": stats["peak"], "wall_s": wall}

        for n in sizes.capacity_levels:
            levels[str(n)] = await level(raw.stream, n)
        n_liao = min(256, max(sizes.capacity_levels))
        with_liao = await level(lambda: liao.astream(PROMPT), n_liao)
    await raw.aclose()
    await liao.aclose()
    return {"raw": levels, "liaobots": {str(n_liao): with_liao}}


def report_capacity(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 6 and return its verdict.

    Args:
        res: The output of :func:`measure_capacity`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (capacity, target verdict).
    """
    secs = sizes.capacity_pieces * sizes.capacity_pace
    _say(
        f"[6] local server capacity: N streams held at once, {sizes.capacity_pieces} "
        f"pieces {sizes.capacity_pace * 1e3:g} ms apart (~{secs:g} s each)"
    )
    rows = [
        (f"raw aiohttp x{n}", str(e["errors"]), str(e["peak"]), f"{e['wall_s']:.3f}")
        for n, e in res["raw"].items()
    ]
    rows += [
        (
            f"ChatLiaobots.astream x{n}",
            str(e["errors"]),
            str(e["peak"]),
            f"{e['wall_s']:.3f}",
        )
        for n, e in res["liaobots"].items()
    ]
    _table(("client", "errors", "server peak streams", "wall s"), rows)
    held = [
        int(n)
        for n, e in res["raw"].items()
        if e["errors"] == 0 and e["peak"] >= int(n)
    ]
    capacity = max(held, default=0)
    _say(
        f"  held with zero errors: {capacity} concurrent streams (largest level "
        f"tried: {max(sizes.capacity_levels)}; target >= 256)"
    )
    return {
        "value": capacity,
        "unit": "streams",
        "tried": max(sizes.capacity_levels),
        "met": capacity >= 256,
    }


# -- reporting ----------------------------------------------------------------


def verify_reuse(urls: dict[str, str], calls: int = 10) -> dict[str, int]:
    """Count the connections the server sees for sequential ChatLiaobots calls.

    Args:
        urls: A scenario's server URLs.
        calls: Sequential calls on each path.

    Returns:
        Distinct client connections seen by the server for ``calls`` sync
        ``invoke`` calls and for ``calls`` async ``ainvoke`` calls (1 each when
        the pools reuse their connection).
    """
    import requests

    base = urls["liaobots"]
    liao = make_liaobots(base)

    def connections() -> int:
        count: int = requests.get(base + "/bench/stats", timeout=10).json()[
            "connections"
        ]
        requests.post(base + "/bench/reset", timeout=10)
        return count

    connections()
    for _ in range(calls):
        liao.invoke(PROMPT)
    sync_conns = connections()

    async def run_async() -> None:
        for _ in range(calls):
            await liao.ainvoke(PROMPT)
        await liao.aclose()

    asyncio.run(run_async())
    liao.close()
    return {
        f"sync_connections_for_{calls}_calls": sync_conns,
        f"async_connections_for_{calls}_calls": connections(),
    }


def summary_table(figures: dict[str, dict[str, Any]], smoke: bool) -> None:
    """Print the six figures with their targets and verdicts.

    Args:
        figures: Figure number to summary.
        smoke: Whether this was a smoke-sized run (verdicts not meaningful).
    """

    def fmt(v: float | None, unit: str = "") -> str:
        return "-" if v is None else f"{v:.3g}{unit}"

    f1, f2, f3, f4, f5, f6 = (figures[str(i)] for i in range(1, 7))
    rows = [
        (
            "1 CPU per piece (us)",
            fmt(f1["value"]),
            f"raw {fmt(f1['raw'])}, core {fmt(f1['core'])}, "
            f"raw-in-core {fmt(f1['composed'])}, ChatOpenAI {fmt(f1.get('openai'))}",
            f"{f1['ratio_vs_floor']:.2f}x (raw+core), "
            f"{f1['ratio_vs_composed']:.2f}x raw-in-core, "
            f"{fmt(f1.get('ratio_vs_openai'))}x ChatOpenAI",
            "<=1.25x (raw+core), <=0.15x ChatOpenAI",
        ),
        (
            "2 burst wall (ms)",
            fmt(f2["value"]),
            f"raw {fmt(f2['raw'])}, core alone {fmt(f2['core'])}, "
            f"raw-in-core {fmt(f2['composed'])}, ChatOpenAI {fmt(f2.get('openai'))}",
            f"{f2['ratio_vs_raw']:.2f}x raw, "
            f"{f2['ratio_vs_composed']:.2f}x raw-in-core",
            "<=2x raw",
        ),
        (
            f"3 {f3['streams']} x astream (s)",
            fmt(f3["value"]),
            f"alone {fmt(f3['alone'])}, aiohttp floor {fmt(f3['floor'])}, "
            f"ChatOpenAI {fmt(f3.get('openai'))}, threads {fmt(f3['threaded'])}",
            f"{fmt(f3.get('ratio_vs_openai'))}x ChatOpenAI, "
            f"{f3['value'] / f3['threaded']:.2f}x threads",
            "<=0.75 s, < ChatOpenAI",
        ),
        (
            "4 delay to yield (ms)",
            f"{fmt(f4['value'])} (p95 {fmt(f4['p95'])})",
            f"raw {fmt(f4['raw'])}, ChatOpenAI {fmt(f4.get('openai'))}",
            "",
            "<5 ms (p95)",
        ),
        (
            "5 import (ms)",
            f"{fmt(f5['value'])}; from-import {fmt(f5['class'])}",
            f"core chat_models {fmt(f5['core'])}",
            f"{f5['ratio_vs_core']:.3f}x; {f5['class_ratio_vs_core']:.3f}x",
            "<=1.15x (both)",
        ),
        (
            "6 server capacity",
            f"{f6['value']} streams",
            f"tried up to {f6['tried']}",
            "",
            ">=256, 0 errors",
        ),
    ]
    verdict = [
        ("indicative" if smoke else ("met" if figures[str(i)]["met"] else "NOT MET"))
        for i in range(1, 7)
    ]
    _say("Summary (medians)")
    _table(
        ("figure", "ChatLiaobots", "peers", "ratio", "target", "verdict"),
        ((*row, v) for row, v in zip(rows, verdict, strict=True)),
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every figure, print them, write the results file and the plot.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.

    Returns:
        The results, as written to ``results.json``.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for results.json/.png"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    out_dir = args.out or (BENCH_DIR / "out" if args.smoke else BENCH_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    for var in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        os.environ.pop(var, None)

    started = time.perf_counter()
    info = machine_info()
    _say(f"langchain-liaobots benchmark ({sizes.name} mode)")
    _say(
        f"machine: nproc {info['nproc']}, {info['cpu_model']}, {info['python']}, "
        f"{info['platform']}, load avg {info['loadavg_at_start'][0]:.2f}"
    )
    _say("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    if not openai_available():
        _say("note: langchain-openai is not installed; the ChatOpenAI peer is skipped")
    scenarios = {
        "cpu": Scenario(pieces=sizes.cpu_pieces, pace=sizes.cpu_pace),
        "burst": Scenario(pieces=sizes.burst_pieces),
        "conc": Scenario(
            pieces=sizes.conc_pieces, pace=sizes.conc_pace, ttfb=sizes.ttfb
        ),
        "latency": Scenario(pieces=sizes.lat_pieces, pace=sizes.lat_pace, stamped=True),
        "capacity": Scenario(pieces=sizes.capacity_pieces, pace=sizes.capacity_pace),
    }
    raw: dict[str, Any] = {}
    figures: dict[str, dict[str, Any]] = {}
    with serve(scenarios) as urls:
        _say(
            "servers: LiaobotsEmulator + OpenAI-compatible SSE endpoint, "
            f"one process apart (pid {urls['cpu']['pid']}), 127.0.0.1"
        )
        raw["reuse"] = verify_reuse(urls["cpu"])
        _say(f"connection reuse: {raw['reuse']}")
        _say()
        raw["cpu"] = measure_sync(
            urls["cpu"], sizes.cpu_pieces, sizes.cpu_rounds, sizes.cpu_pace
        )
        figures["1"] = report_cpu(raw["cpu"], sizes)
        _say()
        raw["burst"] = measure_sync(
            urls["burst"], sizes.burst_pieces, sizes.burst_rounds
        )
        figures["2"] = report_burst(raw["burst"], sizes)
        _say()
        _say("    concurrency curve (median wall s per round):")
        raw["concurrency"] = asyncio.run(measure_concurrency(urls["conc"], sizes))
        figures["3"] = report_concurrency(raw["concurrency"], sizes)
        _say()
        raw["latency"] = asyncio.run(measure_latency(urls["latency"], sizes))
        figures["4"] = report_latency(raw["latency"], sizes)
        _say()
        raw["imports"] = measure_imports(sizes.import_rounds)
        figures["5"] = report_imports(raw["imports"], sizes)
        _say()
        raw["capacity"] = asyncio.run(measure_capacity(urls["capacity"], sizes))
        figures["6"] = report_capacity(raw["capacity"], sizes)
        _say()
    summary_table(figures, smoke=args.smoke)
    results = {
        "mode": sizes.name,
        "machine": info,
        "sizes": asdict(sizes),
        "scenarios": {k: asdict(v) for k, v in scenarios.items()},
        "figures": figures,
        "measurements": raw,
        "seconds": time.perf_counter() - started,
        "loadavg_at_end": os.getloadavg(),
    }
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    _say()
    _say(f"results: {json_path}")
    from benchmarks.plot import plot

    png = plot(results, out_dir / "results.png")
    _say(f"plot: {png}" if png else "plot: skipped (matplotlib is not installed)")
    _say(
        f"total {results['seconds']:.0f} s; load avg at the end "
        f"{results['loadavg_at_end'][0]:.2f} (other work on the machine skews figures)"
    )
    return results


if __name__ == "__main__":
    main()
