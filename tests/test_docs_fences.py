"""Every code block of the docs says its language, so no Python block escapes testing.

The Python blocks run through Sybil (see ``conftest.py``), which only sees
blocks fenced as ``python``; a block fenced ``py`` or without a language would
be shown to readers but never run.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ALLOWED = {"python", "bash", "text"}


def test_every_fence_names_an_allowed_language() -> None:
    fences = 0
    for page in PAGES:
        opening = True
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines()):
            match = re.match(r"^```(\S*)", line)
            if not match:
                continue
            if opening:
                fences += 1
                where = f"{page.name}:{number + 1}"
                assert match.group(1) in ALLOWED, f"{where}: {line!r}"
            opening = not opening
        assert opening, f"{page.name}: a code block is not closed"
    assert fences >= 40
