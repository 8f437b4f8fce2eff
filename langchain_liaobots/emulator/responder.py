"""The emulator's default responder: a validated chat payload in, answer text out.

A responder is any callable ``(payload: dict) -> str``; the server streams the
string it returns. The default one is deterministic so tests and demos can rely
on it: it answers ``"You said: <the last user message>"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Responder", "default_responder"]

Responder = Callable[[dict[str, Any]], str]
"""Maps a validated ``/api/chat`` payload to the answer text to stream."""


def default_responder(payload: dict[str, Any]) -> str:
    """Answer deterministically from the conversation.

    Args:
        payload: A validated ``/api/chat`` payload.

    Returns:
        ``"You said: <text of the last user message>"``.
    """
    user = [m["content"] for m in payload["messages"] if m["role"] == "user"]
    return f"You said: {user[-1] if user else ''}"
