"""One call's prompt-based layer: per-call kwargs in, instructions and a parser out.

``ChatLiaobots._stream`` and ``_astream`` both start with :func:`plan_turn`,
which takes the kwargs that :meth:`ChatLiaobots.bind_tools` and
``with_structured_output`` bind (``tools``, ``tool_choice``,
``response_format``) off the call and returns a :class:`Turn`:

* ``messages`` — the conversation plus one ``SystemMessage`` carrying the
  instructions (the tools and reply format of :mod:`langchain_liaobots.prompt.tools`,
  the JSON answer format of :mod:`langchain_liaobots.prompt.structured`); when the
  conversation has no system message the model's default prompt is kept first;
* ``kwargs`` — the remaining per-call options (``model``, …);
* :meth:`Turn.feed` / :meth:`Turn.finish` — the answer's text deltas in,
  ``ChatGenerationChunk`` s out, through a
  :class:`~langchain_liaobots.wire.tokens.ReplyBudget` (the client-side
  ``max_tokens`` cut: once :attr:`Turn.exhausted`, the caller stops reading)
  and one :class:`~langchain_liaobots.prompt.reply.ReplyParser`.

The sync and async paths differ only in how they iterate over the transport.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_liaobots.prompt import structured, tools
from langchain_liaobots.prompt.reply import Piece, ReplyParser
from langchain_liaobots.wire.tokens import ReplyBudget

__all__ = ["PLAN_KWARGS", "Turn", "plan_turn"]

PLAN_KWARGS = ("tools", "tool_choice", "response_format")
"""The per-call kwargs this layer consumes; the rest go to the request."""


@dataclass
class Turn:
    """One planned call: what to send, and how to read the answer.

    Attributes:
        messages: The conversation to send, instructions included.
        kwargs: The per-call kwargs left for the request.
        parser: Reads the answer's text deltas.
        budget: Counts the answer's tokens and cuts it at ``max_tokens``.
    """

    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    parser: ReplyParser
    budget: ReplyBudget

    def feed(self, text: str) -> Iterator[ChatGenerationChunk]:
        """Turn one text delta of the answer into chunks.

        Args:
            text: The delta.

        Returns:
            The chunks it decides: text, or one tool-call chunk each (only the
            part within ``max_tokens``).
        """
        return _chunks(self.parser.feed(self.budget.take(text)))

    @property
    def exhausted(self) -> bool:
        """Whether the answer reached ``max_tokens``: read no more of it."""
        return self.budget.exhausted

    @property
    def finish_reason(self) -> str:
        """``"length"`` (cut at ``max_tokens``), ``"tool_calls"`` or ``"stop"``."""
        if self.budget.exhausted:
            return "length"
        return "tool_calls" if self.parser.calls_made else "stop"

    def finish(self) -> Iterator[ChatGenerationChunk]:
        """End the answer.

        Returns:
            The chunks still undecided.
        """
        return _chunks(self.parser.finish())


def _chunks(pieces: Iterable[Piece]) -> Iterator[ChatGenerationChunk]:
    for piece in pieces:
        if isinstance(piece, str):
            message = AIMessageChunk(content=piece)
        else:
            message = AIMessageChunk(content="", tool_call_chunks=[piece])
        yield ChatGenerationChunk(message=message)


def _has_system(messages: Sequence[BaseMessage]) -> bool:
    return any(
        isinstance(m, SystemMessage)
        or (isinstance(m, ChatMessage) and m.role.lower() == "system")
        for m in messages
    )


def plan_turn(
    messages: Sequence[BaseMessage],
    default_prompt: str,
    kwargs: Mapping[str, Any],
    max_tokens: int | None = None,
) -> Turn:
    """Plan one call from its messages and per-call kwargs.

    Args:
        messages: The conversation.
        default_prompt: The model's prompt for conversations without a system
            message.
        kwargs: The call's kwargs; ``tools`` (any format
            ``convert_to_openai_tool`` accepts), ``tool_choice`` and
            ``response_format`` are consumed here.
        max_tokens: Cut the answer after this many tokens (``None``: no cut).

    Returns:
        The turn.

    Raises:
        ValueError: If a tool is not a function tool, ``tool_choice`` or
            ``response_format`` is not supported, or ``max_tokens`` is not a
            positive integer.
    """
    rest = {k: v for k, v in kwargs.items() if k not in PLAN_KWARGS}
    functions = [
        tools.function_of(convert_to_openai_tool(t)) for t in kwargs.get("tools") or ()
    ]
    choice = tools.normalize_tool_choice(
        kwargs.get("tool_choice"), [f["name"] for f in functions]
    )
    answer = structured.read_response_format(kwargs.get("response_format"))
    calls = bool(functions) and choice != "none"
    sections = []
    if calls:
        sections.append(tools.render_tool_instructions(functions, choice))
    if answer is not None:
        sections.append(structured.render_answer_instructions(answer))
    planned = list(messages)
    if sections:
        head = [] if _has_system(planned) else [SystemMessage(default_prompt)]
        planned = [*head, *planned, SystemMessage("\n\n".join(sections))]
    parser = ReplyParser(tool_calls=calls, json_only=answer is not None)
    return Turn(
        messages=planned, kwargs=rest, parser=parser, budget=ReplyBudget(max_tokens)
    )
