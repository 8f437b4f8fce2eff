"""Every ```python block of README.md and docs/ runs as a test (Sybil).

The blocks of one page run in order and share one namespace, as a reader would
run them top to bottom; each page starts its own local server, so it runs
offline as written. Before a page, ``LIAOBOTS_*`` variables are cleared (a page
must not reach the real service); after it, the servers and models it left
running are closed and the model registry is restored.
"""

from __future__ import annotations

import os
from typing import Any

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from langchain_liaobots import ChatLiaobots, registry
from langchain_liaobots.emulator.background import BackgroundServer

_SAVED = "__docs_saved_state__"


def _setup(namespace: dict[str, Any]) -> None:
    """Hide the caller's ``LIAOBOTS_*`` settings and remember the registry."""
    environ = {k: v for k, v in os.environ.items() if k.startswith("LIAOBOTS_")}
    for key in environ:
        del os.environ[key]
    namespace[_SAVED] = (environ, dict(registry._REGISTRY))


def _teardown(namespace: dict[str, Any]) -> None:
    """Close what the page left running; restore the environment and registry."""
    for value in list(namespace.values()):
        if isinstance(value, BackgroundServer):
            value.stop()
        elif isinstance(value, ChatLiaobots):
            value.close()
    environ, models = namespace.pop(_SAVED)
    os.environ.update(environ)
    registry._REGISTRY.clear()
    registry._REGISTRY.update(models)


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()
