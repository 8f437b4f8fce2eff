"""Real service or embedded emulator: the environment in, ``ChatLiaobots`` settings out.

Demos and smoke tests want one switch: talk to the real Liaobots service when
``LIAOBOTS_AUTH_CODE`` is set, otherwise to a `LiaobotsEmulator` started
for the duration of a ``with`` block. `real_or_emulated` yields the
keyword arguments for ``ChatLiaobots(**settings)`` and says which it chose.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_liaobots.emulator.server import LiaobotsEmulator

__all__ = ["real_or_emulated"]


@contextmanager
def real_or_emulated(
    *,
    pace: float = 0.0,
    piece_bytes: int = 16,
    announce: Callable[[str], None] = print,
) -> Iterator[dict[str, Any]]:
    """Yield ``ChatLiaobots`` settings for the real service or an embedded emulator.

    Args:
        pace: The emulator's seconds between answer pieces.
        piece_bytes: The emulator's bytes per answer piece.
        announce: Told, in one line, which backend was chosen.

    Yields:
        ``{}`` when ``LIAOBOTS_AUTH_CODE`` is set (``ChatLiaobots`` then reads
        the code and ``LIAOBOTS_BASE_URL`` from the environment), else the
        ``base_url`` and ``auth`` of an emulator that runs until the block ends.
    """
    if os.environ.get("LIAOBOTS_AUTH_CODE"):
        url = os.environ.get("LIAOBOTS_BASE_URL", "https://liaobots.com")
        announce(f"Using the real Liaobots service at {url}")
        yield {}
        return
    with LiaobotsEmulator(pace=pace, piece_bytes=piece_bytes) as server:
        announce(
            f"LIAOBOTS_AUTH_CODE is not set: using the local emulator at "
            f"{server.base_url}"
        )
        yield {"base_url": server.base_url, "auth": "local-demo"}
