"""Every ```python sample in the README runs, against the local server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from langchain_liaobots.emulator import LiaobotsEmulator

README = Path(__file__).resolve().parent.parent / "README.md"
SAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_samples() -> None:
    assert len(SAMPLES) >= 5


@pytest.mark.parametrize(
    "source", SAMPLES, ids=[f"sample{i}" for i in range(len(SAMPLES))]
)
def test_readme_sample_runs(
    source: str, emulator: LiaobotsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIAOBOTS_BASE_URL", emulator.base_url)
    monkeypatch.setenv("LIAOBOTS_AUTH_CODE", "readme-code")
    exec(compile(source, str(README), "exec"), {"__name__": "__readme__"})
