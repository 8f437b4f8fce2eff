"""The API reference renders: the built site shows no reStructuredText.

The reference pages are made by mkdocstrings from the docstrings, which are
written in Markdown; a reST construct there (``.. code-block::``, a paragraph
ending in ``::`` before a literal block, a ``:class:`` role) would show as
literal text. Build the site and look at what a reader sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Prose(HTMLParser):
    """The text of a page outside code (``pre`` and ``code`` elements)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("pre", "code"):
            self.depth += 1
        elif tag in ("p", "li", "div", "br"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code"):
            self.depth -= 1
        elif tag in ("p", "li"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def _prose(html: str) -> str:
    parser = _Prose()
    parser.feed(html)
    return "".join(parser.parts)


def test_the_built_reference_shows_no_restructuredtext(tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-d", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = sorted((site / "reference").glob("*/index.html"))
    assert len(pages) >= 4
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert ".. code-block" not in html, page
        prose = _prose(html)
        literal_markers = [
            line for line in prose.splitlines() if line.rstrip().endswith("::")
        ]
        assert literal_markers == [], (page, literal_markers[:3])
        roles = re.findall(r":(?:class|func|meth|data|attr|mod|exc):`", html)
        assert roles == [], (page, roles[:3])
