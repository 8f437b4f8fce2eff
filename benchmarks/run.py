"""The figures of issues 5, 14 and 15, side by side in one run (``make bench``).

Data flow: :func:`main` starts :mod:`benchmarks.servers` in a separate process
(the package's ``LiaobotsEmulator`` and an OpenAI-compatible endpoint per
scenario), then measures, in this process and with the peers interleaved round
by round, each figure of :data:`benchmarks.targets.TARGETS` (one ``fig_*``
module each):

1. client CPU per piece (``time.process_time`` of this process / pieces);
2. wall time of a burst of pieces sent as fast as the server can write;
3. wall time of concurrent ``astream`` calls with a slow first byte, and the
   whole concurrency curve (1…256 streams) for the plot;
4. the delay from a piece leaving the server (its send time is the piece's
   text) to ``stream()`` yielding it;
5. ``import langchain_liaobots`` versus langchain-core's chat-model module, each
   in a fresh interpreter;
6. the local server's capacity: streams held at once with zero errors;
7. preparing a long conversation's request (10 to 8,000 messages) against
   ``ChatOpenAI._get_request_payload`` (issue 15; no server);
8. 1,024 concurrent ``astream`` calls against the raw aiohttp loop inside
   langchain-core: wall time and memory per stream (each round in a fresh
   interpreter);
9. how runs end over the emulator's catalogue of imperfect-model replies
   (issue 14; an in-process emulator per run);
10. reading hostile replies (a call's opening followed by N spaces, long runs,
    deep nesting) at N and 4N characters: 4N / N (issue 20; no server).

It prints medians (over rounds) and ratios, writes ``results.json`` and, when
matplotlib is installed, ``results.png``. ``--smoke`` shrinks every size so the
whole run takes seconds (for CI); its figures are not meaningful. ``--only 1,3``
runs those figures alone; like ``--smoke`` it writes to ``benchmarks/out/``
unless ``--out`` says otherwise, so the committed results stay whole.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import (
    fig_burst,
    fig_capacity,
    fig_concurrency,
    fig_cpu,
    fig_hostile,
    fig_imports,
    fig_latency,
    fig_loop,
    fig_pool,
    fig_prepare,
    fig_replies,
)
from benchmarks.common import BENCH_DIR, Figure, machine_info, say, serve, table
from benchmarks.peers import PROMPT, make_liaobots, openai_available
from benchmarks.sizes import FULL, SMOKE, Sizes

__all__ = ["FIGURES", "FULL", "SMOKE", "Sizes", "main"]

FIGURES: tuple[Figure, ...] = (
    fig_cpu.FIGURE,
    fig_burst.FIGURE,
    fig_concurrency.FIGURE,
    fig_latency.FIGURE,
    fig_imports.FIGURE,
    fig_capacity.FIGURE,
    fig_prepare.FIGURE,
    fig_pool.FIGURE,
    fig_replies.FIGURE,
    fig_hostile.FIGURE,
    fig_loop.FIGURE,
)
"""Every figure, in the order they run and print."""


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


def summary_table(
    run: Sequence[Figure], figures: dict[str, dict[str, Any]], smoke: bool
) -> None:
    """Print the figures run with their targets and verdicts.

    Args:
        run: The figures run, in order.
        figures: Figure id to summary.
        smoke: Whether this was a smoke-sized run (verdicts not meaningful).
    """
    rows = []
    for fig in run:
        s = figures[fig.target.id]
        verdict = "indicative" if smoke else ("met" if s["met"] else "NOT MET")
        rows.append((fig.target.label(s), *fig.row(s), fig.target.target, verdict))
    say("Summary (medians)")
    table(("figure", "ChatLiaobots", "peers", "ratio", "target", "verdict"), rows)


def _select(only: str | None, parser: argparse.ArgumentParser) -> list[Figure]:
    if only is None:
        return list(FIGURES)
    ids = {part.strip() for part in only.split(",") if part.strip()}
    unknown = ids - {fig.target.id for fig in FIGURES}
    if unknown or not ids:
        parser.error(f"--only: no figure {', '.join(sorted(unknown)) or only!r}")
    return [fig for fig in FIGURES if fig.target.id in ids]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the figures, print them, write the results file and the plot.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.

    Returns:
        The results, as written to ``results.json``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument(
        "--only",
        metavar="IDS",
        help="comma-separated figures to run, e.g. 1,3 ("
        + "; ".join(f"{f.target.id}: {f.target.title}" for f in FIGURES)
        + ")",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for results.json/.png"
    )
    args = parser.parse_args(argv)
    selected = _select(args.only, parser)
    sizes = SMOKE if args.smoke else FULL
    partial = args.smoke or args.only is not None
    out_dir = args.out or (BENCH_DIR / "out" if partial else BENCH_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    for var in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        os.environ.pop(var, None)

    started = time.perf_counter()
    info = machine_info()
    say(f"langchain-liaobots benchmark ({sizes.name} mode)")
    say(
        f"machine: nproc {info['nproc']}, {info['cpu_model']}, {info['python']}, "
        f"{info['platform']}, load avg {info['loadavg_at_start'][0]:.2f}"
    )
    say("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    if args.only is not None:
        say("figures: " + ", ".join(fig.target.id for fig in selected) + " only")
    if not openai_available():
        say("note: langchain-openai is not installed; the ChatOpenAI peer is skipped")
    scenarios = {
        fig.scenario[0]: fig.scenario[1](sizes) for fig in selected if fig.scenario
    }
    raw: dict[str, Any] = {}
    figures: dict[str, dict[str, Any]] = {}
    with serve(scenarios) if scenarios else contextlib.nullcontext({}) as urls:
        if urls:
            first = next(iter(urls.values()))
            say(
                "servers: LiaobotsEmulator + OpenAI-compatible SSE endpoint, "
                f"one process apart (pid {first['pid']}), 127.0.0.1"
            )
        if "cpu" in urls:  # figure 1's per-piece CPU presumes reused connections
            raw["reuse"] = verify_reuse(urls["cpu"])
            say(f"connection reuse: {raw['reuse']}")
        say()
        for fig in selected:
            got = fig.measure(urls[fig.scenario[0]] if fig.scenario else {}, sizes)
            raw[fig.key] = asyncio.run(got) if inspect.isawaitable(got) else got
            summary = fig.report(raw[fig.key], sizes)
            summary["met"] = fig.target.judge(summary, sizes)
            figures[fig.target.id] = summary
            say()
    summary_table(selected, figures, smoke=args.smoke)
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
    say()
    say(f"results: {json_path}")
    if {"cpu", "concurrency"} <= raw.keys():
        from benchmarks.plot import plot

        png = plot(results, out_dir / "results.png")
        say(f"plot: {png}" if png else "plot: skipped (matplotlib is not installed)")
    else:
        say("plot: skipped (it draws figures 1 and 3)")
    say(
        f"total {results['seconds']:.0f} s; load avg at the end "
        f"{results['loadavg_at_end'][0]:.2f} (other work on the machine skews figures)"
    )
    return results


if __name__ == "__main__":
    main()
