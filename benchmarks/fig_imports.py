"""Figure 5: ``import langchain_liaobots`` against langchain-core's chat-model module.

Each import runs in a fresh interpreter; no server is involved.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks.common import ROOT, Figure, fmt, rotated, say, stats, table
from benchmarks.sizes import Sizes
from benchmarks.targets import IMPORT_VS_CORE, target

__all__ = ["FIGURE", "IMPORTS", "measure", "report", "row"]

_IMPORT_CODE = (
    "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
)
IMPORT_OURS = "import langchain_liaobots"
IMPORT_CORE = "import langchain_core.language_models.chat_models"
IMPORT_CLASS = "from langchain_liaobots import ChatLiaobots"
IMPORTS = (IMPORT_OURS, IMPORT_CORE, IMPORT_CLASS)


def measure(urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Time each import statement in fresh interpreters, alternating.

    Bytecode is cached for every module alike, as after ``pip install`` (this
    environment may set ``PYTHONDONTWRITEBYTECODE``, which would leave an
    editable checkout compiling from source on every import): the children
    share a private ``PYTHONPYCACHEPREFIX`` that the warm-up round fills.

    Args:
        urls: Unused (figure 5 needs no server).
        sizes: The run's sizes: ``import_rounds`` fresh interpreters per
            statement, after one warm-up each.

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
        for r in range(sizes.import_rounds + 1):
            for stmt in rotated(list(IMPORTS), r):
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
    return {stmt: {"samples": s, **stats(s)} for stmt, s in samples.items()}


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 5 and return its summary.

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The figure's summary (values and ratios).
    """
    say(f"[5] import time, fresh interpreter each ({sizes.import_rounds} rounds)")
    table(
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
    say(f"  import langchain_liaobots / core chat-model module = {ours / core:.3f}")
    say(f"  from langchain_liaobots import ChatLiaobots / core  = {cls / core:.3f}")
    say(f"  target: <= {IMPORT_VS_CORE:g}")
    return {
        "value": ours * 1e3,
        "unit": "ms",
        "core": core * 1e3,
        "class": cls * 1e3,
        "ratio_vs_core": ours / core,
        "class_ratio_vs_core": cls / core,
    }


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 5's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        f"{fmt(s['value'])}; from-import {fmt(s['class'])}",
        f"core chat_models {fmt(s['core'])}",
        f"{s['ratio_vs_core']:.3f}x; {s['class_ratio_vs_core']:.3f}x",
    )


FIGURE = Figure(
    target=target("5"), key="imports", measure=measure, report=report, row=row
)
