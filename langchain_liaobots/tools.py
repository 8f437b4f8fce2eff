"""Prompt-based tool calling: tool calls and tool results in, conversation text out.

Liaobots has no native tool calling, so tool calls an assistant made and the
results tools returned travel as text inside the conversation. This module
renders them; :mod:`langchain_liaobots.messages` calls it while converting a
message list.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

__all__ = ["render_ai", "render_tool_result", "text_blocks_only"]

_TOOL_BLOCK_TYPES = frozenset({"tool_use", "tool_call", "tool_call_chunk"})


def text_blocks_only(content: str | list[Any]) -> str | list[Any]:
    """Drop tool-call blocks from an assistant's content.

    Tool calls are rendered from ``AIMessage.tool_calls``; the provider-specific
    blocks that mirror them in ``content`` would only repeat them.

    Args:
        content: An ``AIMessage``'s content.

    Returns:
        The content without tool-call blocks.
    """
    if isinstance(content, str):
        return content
    return [
        b
        for b in content
        if not (isinstance(b, dict) and b.get("type") in _TOOL_BLOCK_TYPES)
    ]


def render_ai(text: str, message: AIMessage) -> str:
    """Render an assistant turn: its text, then its tool calls as JSON.

    Args:
        text: The turn's text content.
        message: The assistant message, for its ``tool_calls``.

    Returns:
        The turn as one string.
    """
    if not message.tool_calls:
        return text
    calls = [
        {"id": c.get("id"), "name": c["name"], "arguments": c["args"]}
        for c in message.tool_calls
    ]
    rendered = json.dumps({"tool_calls": calls}, ensure_ascii=False)
    return f"{text}\n{rendered}" if text else rendered


def render_tool_result(message: ToolMessage) -> str:
    """Render a tool's result as a user turn the model can read.

    Args:
        message: The tool message (string or list content; ``status`` may be
            ``"error"``).

    Returns:
        The result as one string.
    """
    content = message.content
    if not isinstance(content, str):
        content = "".join(
            b if isinstance(b, str) else str(b.get("text", json.dumps(b)))
            for b in content
        )
    kind = "error" if message.status == "error" else "result"
    name = f" {message.name}" if message.name else ""
    return f"Tool{name} {kind} (call {message.tool_call_id}): {content}"
