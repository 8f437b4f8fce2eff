"""The benchmark runs end to end at toy sizes; its figures are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIGURES = (
    "1 CPU per piece",
    "2 burst wall",
    "x astream (s)",
    "4 delay to yield",
    "5 import",
    "6 server capacity",
    "7 prepare 100 messages",
    "x astream, pool (s)",
    "9 imperfect-model replies",
    "10 hostile replies, 4N / N",
)


def test_benchmark_smoke_run_prints_every_figure(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for section in (
        "[1]",
        "[2]",
        "[3]",
        "[4]",
        "[5]",
        "[6]",
        "[7]",
        "[8]",
        "[9]",
        "[10]",
        "Summary",
    ):
        assert section in proc.stdout
    for figure in FIGURES:
        assert figure in proc.stdout
    assert (tmp_path / "results.json").is_file()
