"""Message conversion: LangChain messages in, the Liaobots prompt and messages out.

Liaobots carries a conversation as a system ``prompt`` string plus a list of
``{"role": "user" | "assistant", "content": str}`` dicts. This module turns a
LangChain message list into that pair:

* every ``SystemMessage`` (in order) joins the prompt and is not repeated in
  ``messages``; with none, the caller's default prompt is used. A
  conversation of system messages only is sent with no ``messages``, as the
  service's server forwards it: the prompt alone;
* ``HumanMessage`` → ``user``, ``AIMessage`` → ``assistant``, ``ChatMessage``
  by its role;
* text content blocks (``text``, v1's ``text-plain``) are joined; an
  assistant's reasoning blocks are dropped
  (`langchain_liaobots.prompt.tools.text_blocks_only`); a block the protocol
  cannot carry (an image, a file, audio) is a ``ValueError`` naming it;
* an ``AIMessage``'s tool calls follow its text in the reply format the model
  was asked to use (``{"tool_calls": [...]}``), and a ``ToolMessage`` becomes a
  ``user`` turn holding a ``<tool_result name=… id=… status=…>`` block — both
  rendered by `langchain_liaobots.prompt.tools`; a ``ToolMessage`` without a
  ``name`` is named after the earlier call its ``tool_call_id`` answers;
  legacy OpenAI function calling maps onto the same: an
  ``additional_kwargs["function_call"]`` is a call, a ``FunctionMessage`` a
  tool result (with no call id);
* the package's markup in user, assistant and tool text is escaped
  (`langchain_liaobots.prompt.tools.escape_markup`): text from outside cannot
  open, close or forge a tool result. System messages are the application's
  own and are sent as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_liaobots.prompt import tools

__all__ = ["WireMessage", "content_text", "to_wire"]

WireMessage = dict[str, str]
"""One entry of the request's ``messages`` list: ``{"role", "content"}``."""

_CHAT_ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}


_TEXT_BLOCKS = frozenset({"text", "text-plain"})
"""Block types whose ``text`` is sent: ``text`` and v1's ``text-plain``."""


def content_text(content: str | list[Any], where: str) -> str:
    """Join the text of a message's content, rejecting what Liaobots cannot carry.

    Args:
        content: A message's ``content``: a string or a list of content blocks.
        where: Names the message in error messages, e.g. ``"messages[2]"``.

    Returns:
        The text blocks (strings, ``{"type": "text"}`` and v1's
        ``{"type": "text-plain"}``) joined in order.

    Raises:
        ValueError: If a block is not text (an image, a file, audio, ...).
    """
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for i, block in enumerate(content):
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") in _TEXT_BLOCKS:
            parts.append(str(block.get("text", "")))
        else:
            kind = (
                block.get("type", "untyped")
                if isinstance(block, dict)
                else type(block).__name__
            )
            msg = (
                f"{where}.content[{i}] is a {kind!r} block; Liaobots carries text "
                "only (strings, {'type': 'text'} and {'type': 'text-plain'} "
                "blocks). Remove the block or describe it in text."
            )
            raise ValueError(msg)
    return "".join(parts)


def _call_names(message: AIMessage) -> dict[str, str]:
    """The tool's name of each call of an assistant message, by call id."""
    names: dict[str, str] = {}
    for call in [*message.tool_calls, *message.invalid_tool_calls]:
        call_id, name = call.get("id"), call.get("name")
        if call_id and name:
            names[call_id] = name
    return names


def to_wire(
    messages: Sequence[BaseMessage], default_prompt: str
) -> tuple[str, list[WireMessage]]:
    """Convert LangChain messages into Liaobots' ``prompt`` and ``messages``.

    Args:
        messages: The conversation, as LangChain messages.
        default_prompt: The prompt sent when there is no ``SystemMessage``.

    Returns:
        ``(prompt, wire_messages)``.

    Raises:
        ValueError: If content cannot be carried, or a role is unknown.
        TypeError: If a message is of a type Liaobots cannot represent.
    """
    system: list[str] = []
    wire: list[WireMessage] = []
    called: dict[str, str] = {}  # a call's id -> its tool's name
    escape = tools.escape_markup
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        content = message.content
        # The most frequent first: a long history is mostly plain text turns.
        if isinstance(message, HumanMessage):
            text = content if isinstance(content, str) else content_text(content, where)
            wire.append({"role": "user", "content": escape(text)})
        elif isinstance(message, AIMessage):
            if isinstance(content, str) and not (
                message.tool_calls
                or message.invalid_tool_calls
                or message.additional_kwargs
            ):
                wire.append({"role": "assistant", "content": escape(content)})
                continue
            text = content_text(tools.text_blocks_only(content), where)
            wire.append(
                {"role": "assistant", "content": tools.render_ai(text, message)}
            )
            called.update(_call_names(message))
        elif isinstance(message, ToolMessage):
            text = content_text(message.content, where)
            name = called.get(message.tool_call_id, "")
            wire.append(
                {
                    "role": "user",
                    "content": tools.render_tool_result(message, text, name),
                }
            )
        elif isinstance(message, SystemMessage):
            system.append(content_text(message.content, where))
        elif isinstance(message, FunctionMessage):  # legacy OpenAI function calling
            text = content_text(message.content, where)
            result = ToolMessage(text, name=message.name, tool_call_id="")
            wire.append(
                {"role": "user", "content": tools.render_tool_result(result, text)}
            )
        elif isinstance(message, ChatMessage):
            role = message.role.lower()
            if role == "system":
                system.append(content_text(message.content, where))
                continue
            if role not in _CHAT_ROLES:
                msg = (
                    f"{where} has role {message.role!r}; Liaobots accepts the roles "
                    "'user', 'assistant' and 'system'."
                )
                raise ValueError(msg)
            wire.append(
                {
                    "role": _CHAT_ROLES[role],
                    "content": tools.escape_markup(
                        content_text(message.content, where)
                    ),
                }
            )
        else:
            msg = (
                f"{where} is a {type(message).__name__}; Liaobots accepts System, "
                "Human, AI, Tool, Function and Chat messages."
            )
            raise TypeError(msg)
    prompt = "\n\n".join(system) if system else default_prompt
    return prompt, wire
