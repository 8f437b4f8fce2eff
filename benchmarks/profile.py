"""Profile one peer's streaming loop: where does its client CPU go?

``python -m benchmarks.profile [--peer liaobots|aliaobots|raw|composed|core|openai]
[--tool cprofile|pyinstrument] [--pieces N] [--pace S] [--calls N]
[--concurrency N] [--ttfb S]`` starts the
benchmark servers in their own process (as ``make bench`` does), streams
``calls`` answers of ``pieces`` pieces through the peer under the profiler, and
prints the profile. py-spy works too, from outside::

    py-spy record -o profile.svg -- python -m benchmarks.profile --tool none
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.common import PIECE_BYTES, pieces_of, serve
from benchmarks.peers import (
    PROMPT,
    CoreFloor,
    RawLoop,
    RawLoopModel,
    make_liaobots,
    make_openai,
)
from benchmarks.servers import Scenario, answer_text

__all__ = ["main"]

_CLEANUP: list[Callable[[], Any]] = []


def _workload(
    peer: str, urls: dict[str, str], pieces: int, concurrency: int
) -> Callable[[], Any]:
    if peer == "raw":
        raw = RawLoop(urls["liaobots"])
        return lambda: list(raw.stream())
    if peer == "core":
        text = answer_text(pieces, PIECE_BYTES)
        core = CoreFloor(pieces=pieces_of(text))
        return lambda: list(core.stream(PROMPT))
    if peer == "composed":
        composed = RawLoopModel(url=urls["liaobots"])
        return lambda: list(composed.stream(PROMPT))
    if peer == "openai":
        oai = make_openai(urls["openai"])
        return lambda: list(oai.stream(PROMPT))
    liao = make_liaobots(urls["liaobots"])
    if peer == "aliaobots":

        async def drain() -> list[Any]:
            return [c async for c in liao.astream(PROMPT)]

        async def many() -> list[Any]:
            return await asyncio.gather(*(drain() for _ in range(concurrency)))

        loop = asyncio.new_event_loop()
        _CLEANUP.append(lambda: loop.run_until_complete(liao.aclose()))
        return lambda: loop.run_until_complete(many())
    return lambda: list(liao.stream(PROMPT))


_WAITS = ("recv_into", "poll", "select", "sleep", "recv")
_GROUPS = (
    ("langchain_liaobots", "langchain_liaobots (this package)"),
    ("langchain_core", "langchain_core"),
    ("pydantic", "pydantic"),
    ("requests", "requests"),
    ("urllib3", "urllib3"),
    ("aiohttp", "aiohttp"),
    ("openai", "openai + httpx"),
    ("httpx", "openai + httpx"),
    ("benchmarks", "benchmark harness"),
)


def _group(path: str, name: str) -> str:
    if path == "~":
        if any(w in name for w in _WAITS):
            return "blocking waits (socket/epoll/sleep)"
        return "C builtins"
    for key, label in _GROUPS:
        if f"/{key}/" in path:
            return label
    return "stdlib (http.client, socket, asyncio, codecs, ...)"


def _by_package(stats: pstats.Stats, pieces: int) -> None:
    """Print profiled own time (tottime) summed by package, per piece."""
    totals: dict[str, float] = {}
    for (path, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        label = _group(path, name)
        totals[label] = totals.get(label, 0.0) + row[2]
    print(
        f"own time by package, per piece (cProfile, inflated by it), {pieces} pieces:"
    )
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / pieces * 1e6:9.2f} us  {label}")


def main(argv: Sequence[str] | None = None) -> None:
    """Profile the chosen peer and print the result.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument(
        "--peer",
        default="liaobots",
        choices=("liaobots", "aliaobots", "raw", "composed", "core", "openai"),
    )
    parser.add_argument(
        "--tool", default="cprofile", choices=("cprofile", "pyinstrument", "none")
    )
    parser.add_argument("--pieces", type=int, default=500)
    parser.add_argument("--pace", type=float, default=0.0005)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument(
        "--concurrency", type=int, default=1, help="concurrent streams (aliaobots)"
    )
    parser.add_argument("--ttfb", type=float, default=0.0, help="s to first byte")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument(
        "--sort", default="tottime", help="cProfile sort key (tottime, cumulative)"
    )
    args = parser.parse_args(argv)
    scenario = Scenario(pieces=args.pieces, pace=args.pace, ttfb=args.ttfb)
    with serve({"p": scenario}) as urls:
        work = _workload(args.peer, urls["p"], args.pieces, args.concurrency)
        work()  # warm-up
        cpu0 = time.process_time()
        if args.tool == "cprofile":
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.calls):
                work()
            prof.disable()
            stats = pstats.Stats(prof)
            stats.sort_stats(args.sort).print_stats(args.top)
            _by_package(stats, args.calls * args.concurrency * args.pieces)
        elif args.tool == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            for _ in range(args.calls):
                work()
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            for _ in range(args.calls):
                work()
        cpu = time.process_time() - cpu0
        for cleanup in _CLEANUP:
            cleanup()
        streams = args.calls * args.concurrency
        print(
            f"{args.peer}: {cpu / (streams * args.pieces) * 1e6:.1f} us CPU/piece, "
            f"{cpu / streams * 1e3:.2f} ms CPU/stream ({args.tool}, {args.calls} "
            f"calls x {args.concurrency} streams x {args.pieces} pieces)"
        )


if __name__ == "__main__":
    main()
