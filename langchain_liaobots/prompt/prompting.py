"""One call's prompt-based layer: per-call kwargs in; instructions, turns, a rule out.

``ChatLiaobots._stream`` and ``_astream`` both start with `plan_call`,
which takes the kwargs that `ChatLiaobots.bind_tools` and
``with_structured_output`` bind (``tools``, ``tool_choice``,
``parallel_tool_calls``, ``response_format``, ``check_reply``,
``parse_retries``, ``strict_calls``; OpenAI's legacy ``functions`` and
``function_call`` map onto tools) off the call and returns a `Call`.
Iterating `Call.turns` gives one `Turn` per request:

* ``messages`` — the conversation plus one ``SystemMessage`` carrying the
  instructions (the tools and reply format of `langchain_liaobots.prompt.tools`,
  the JSON answer format of `langchain_liaobots.prompt.structured`); when the
  conversation has no system message the model's default prompt is kept first;
  a repair turn adds the model's last reply and a `REPAIR_REQUEST`;
* ``kwargs`` — the remaining per-call options (``model``, …), and ``stops``,
  the stop sequences that end a reply which starts writing its own tool result;
* `Turn.feed` / `Turn.finish` — the answer's text deltas in,
  ``ChatGenerationChunk`` s out, through a
  `ReplyBudget` (the client-side
  ``max_tokens`` cut: once `Turn.exhausted`, the caller stops reading)
  and one `ReplyParser`.

The call's `Rule` says what a reply must hold: a readable call (of the
named tool) when ``tool_choice`` forces one; not only unreadable calls; a whole
JSON object for a bound ``response_format``. A turn holds back what the rule
must judge (every tool call; all of the reply under a forced choice or a JSON
answer) until `Turn.finish`; plain text under ``tool_choice="auto"``
streams at once. A reply that breaks the rule gets up to ``parse_retries``
repair turns, then `LiaobotsReplyError`. A reply cut at ``max_tokens`` is
not judged: what was kept goes out (``finish_reason`` ``"length"``), and if
nothing was, under a forced choice or a JSON answer, the call raises
`LiaobotsReplyError` naming ``max_tokens``. With ``parallel_tool_calls=False``
only a reply's first call is kept.

The sync and async paths differ only in how they iterate over the transport.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    UsageMetadata,
)
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_liaobots.errors import LiaobotsReplyError, excerpt
from langchain_liaobots.prompt import structured, tools
from langchain_liaobots.prompt.reply import Piece, ReplyParser
from langchain_liaobots.tokens import TOKENIZER, ReplyBudget
from langchain_liaobots.wire.budget import reached_answer_cap

__all__ = ["PLAN_KWARGS", "Call", "Rule", "Turn", "plan_call", "with_call_errors"]

PLAN_KWARGS = (
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "check_reply",
    "parse_retries",
    "functions",
    "function_call",
    "strict_calls",
)
"""The per-call kwargs this layer consumes; the rest go to the request."""


@dataclass(frozen=True)
class Rule:
    """What a reply must hold, judged once it is whole.

    Attributes:
        choice: The normalized ``tool_choice`` (``"auto"``, ``"any"`` or a
            tool name); ``None`` when no tools are offered.
        names: The offered tools' names.
        json_answer: Whether a JSON object is asked for (``response_format``).
        retries: Repair turns allowed after a reply that breaks the rule.
    """

    choice: tools.ToolChoice | None
    names: tuple[str, ...]
    json_answer: bool
    retries: int

    @property
    def holds_text(self) -> bool:
        """Whether the reply's text waits for the verdict (else it streams)."""
        return self.json_answer or self.choice not in (None, "auto")

    @property
    def ask(self) -> str:
        """What the repair turn asks the model to do."""
        if self.choice is not None and self.choice != "auto":
            return tools.repair_ask(self.choice, self.names)
        if self.json_answer:
            return structured.JSON_REPAIR_ASK
        return tools.repair_ask("auto", self.names)

    def judge(self, calls: Sequence[_Seen], text: str, streamed: bool) -> str | None:
        """Return what the reply's calls did wrong, or ``None`` if they keep the rule.

        A JSON answer's text is judged by `Turn`, which also rewrites it.

        Args:
            calls: The reply's tool calls, readable or not, in order.
            text: The reply's text that was held back.
            streamed: Whether some of its text already went out.
        """
        valid = [c.name for c in calls if c.error is None]
        unreadable = "".join(
            f" Its call{f' of {c.name!r}' if c.name else ''} could not be read: "
            f"{c.error.rstrip('.')}."
            for c in calls
            if c.error is not None
        )
        called = (
            f"it called {', '.join(repr(n) for n in valid)}"
            if valid
            else "it called none"
        )
        if self.choice == "any":
            if not any(n in self.names for n in valid):
                return (
                    "The reply had to call one of the tools "
                    f"{', '.join(self.names)}, but {called}.{unreadable}"
                )
        elif self.choice not in (None, "auto"):
            if self.choice not in valid:
                return (
                    f'The reply had to call the tool "{self.choice}", but '
                    f"{called}.{unreadable}"
                )
        elif unreadable and not valid and not streamed and not text.strip():
            return f"The reply called tools, but no call could be read.{unreadable}"
        return None


@dataclass(frozen=True)
class _Seen:
    """One tool call of a reply: its name, and why it cannot be read (if so)."""

    name: str | None
    error: str | None


@dataclass
class Turn:
    """One request of a call: what to send, and how to read the answer.

    Attributes:
        messages: The conversation to send, instructions included.
        kwargs: The per-call kwargs left for the request.
        stops: Stop sequences of the layer: a reply that starts writing its
            own tool result ends there (``()`` without tools).
        new_parser: Makes the turn's reader of the answer's text deltas.
        budget: Counts the answer's tokens and cuts it at ``max_tokens``.
        rule: What the reply must hold; ``None`` takes any reply.
        one_call: Keep only the reply's first call (``parallel_tool_calls=False``).
        legacy: Mirror a call as ``additional_kwargs["function_call"]`` (the
            call came with OpenAI's legacy ``functions``).
        input_tokens: The request's input tokens, set by the sender.
        dropped: How many of the oldest messages the sender dropped to fit
            the service's budget (``context_overflow="drop_oldest"``).
        broken: After `finish`, what the reply did wrong, or ``None``.
        cut_empty: After `finish`, whether ``max_tokens`` cut the reply before
            it kept anything the rule asks for (the call then raises).
        parser: Reads the answer's text deltas.
    """

    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    stops: tuple[str, ...]
    new_parser: Callable[[], ReplyParser]
    budget: ReplyBudget
    rule: Rule | None
    one_call: bool = False
    legacy: bool = False
    input_tokens: int = 0
    dropped: int = 0
    broken: str | None = None
    cut_empty: bool = False
    parser: ReplyParser = field(init=False)
    _held: list[Piece] = field(default_factory=list)
    _streamed: bool = False
    _dropped: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        """Make the turn's parser."""
        self.parser = self.new_parser()

    def feed(self, text: str) -> Iterator[ChatGenerationChunk]:
        """Turn one text delta of the answer into chunks.

        Args:
            text: The delta.

        Returns:
            The chunks that may go out now: text (unless the rule must judge
            it first), only the part within ``max_tokens``.
        """
        return self._chunks(self._pass(self.parser.feed(self.budget.take(text))))

    @property
    def exhausted(self) -> bool:
        """Whether the answer reached ``max_tokens``: read no more of it."""
        return self.budget.exhausted

    @property
    def cut(self) -> bool:
        """Whether the answer was cut: at ``max_tokens``, or by the service's cap."""
        return self.budget.exhausted or reached_answer_cap(self.output_tokens)

    @property
    def finish_reason(self) -> str:
        """``"length"`` (`cut`), ``"tool_calls"`` or ``"stop"``."""
        if self.cut:
            return "length"
        return "tool_calls" if self.parser.calls_made else "stop"

    @property
    def call_errors(self) -> dict[str, str]:
        """Why each unreadable call that went out could not be read, by id."""
        errors = self.parser.errors
        return {k: v for k, v in errors.items() if k not in self._dropped}

    @property
    def output_tokens(self) -> int:
        """The tokens of the reply read, as the service counts its content."""
        return self.budget.tokens

    def finish(self) -> Iterator[ChatGenerationChunk]:
        """End the answer and judge it.

        Returns:
            The chunks still to go out: everything held back when the reply
            keeps the rule (or was `cut`: its text, or its cut-off call as an
            invalid one); nothing when it breaks it
            (`broken` says how).
        """
        out = self._pass(self.parser.finish())
        if self.rule is not None and not self.cut:
            self.broken = self._judged(self.rule)
        elif self.rule is not None and self.rule.holds_text:
            self.cut_empty = not any(
                not isinstance(p, str) or p.strip() for p in [*out, *self._held]
            )
        if self.broken is None:
            out.extend(self._held)
        return self._chunks(out)

    def repaired(self) -> Turn:
        """The next turn: this one's messages, the reply, and the repair request."""
        assert self.rule is not None
        assert self.broken is not None
        ask = structured.REPAIR_REQUEST.format(error=self.broken, ask=self.rule.ask)
        return Turn(
            messages=[
                *self.messages,
                AIMessage(self.budget.text),
                HumanMessage(ask),
            ],
            kwargs=self.kwargs,
            stops=self.stops,
            new_parser=self.new_parser,
            budget=ReplyBudget(self.budget.max_tokens),
            rule=self.rule,
            one_call=self.one_call,
            legacy=self.legacy,
        )

    def _pass(self, pieces: list[Piece]) -> list[Piece]:
        """Let through what may go out now; hold back what the rule judges."""
        if self.one_call:
            pieces = [p for p in pieces if isinstance(p, str) or self._first_call(p)]
        if self.rule is None:
            return pieces
        out: list[Piece] = []
        for piece in pieces:
            if isinstance(piece, str) and not self.rule.holds_text:
                out.append(piece)
                self._streamed = self._streamed or not piece.isspace()
            else:
                self._held.append(piece)
        return out

    def _first_call(self, call: ToolCallChunk) -> bool:
        """Whether ``call`` is the reply's first; a later one is dropped."""
        if call["index"] == 0:  # the parser numbers a reply's calls from 0
            return True
        self._dropped.add(call["id"] or "")
        return False

    def _chunks(self, pieces: Iterable[Piece]) -> Iterator[ChatGenerationChunk]:
        """Text and calls as chunks; a legacy call mirrored as ``function_call``."""
        for piece in pieces:
            if isinstance(piece, str):
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
                continue
            extra: dict[str, Any] = {}
            if self.legacy and (piece["id"] or "") not in self.parser.errors:
                extra = {
                    "function_call": {"name": piece["name"], "arguments": piece["args"]}
                }
            message = AIMessageChunk(
                content="", tool_call_chunks=[piece], additional_kwargs=extra
            )
            yield ChatGenerationChunk(message=message)

    def _calls(self) -> list[_Seen]:
        errors = self.parser.errors
        return [
            _Seen(name=p["name"], error=errors.get(p["id"] or ""))
            for p in self._held
            if not isinstance(p, str)
        ]

    def _held_text(self) -> str:
        return "".join(p for p in self._held if isinstance(p, str))

    def _judged(self, rule: Rule) -> str | None:
        """Judge the whole reply; a JSON5 or fenced JSON answer becomes strict JSON."""
        calls = self._calls()
        text = self._held_text()
        broken = rule.judge(calls, text, self._streamed)
        if (
            broken is not None
            or not rule.json_answer
            or any(c.error is None for c in calls)
        ):
            return broken
        try:
            value, exact = structured.read_whole_json(text)
        except OutputParserException as err:
            return structured.error_text(err)
        if not exact:
            strict = json.dumps(value, ensure_ascii=False)
            self._held = [strict, *(p for p in self._held if not isinstance(p, str))]
        return None


@dataclass
class Call:
    """A call's turns: the first request, then any repair turns.

    Attributes:
        first: The first turn.
        taken: The turns iterated so far.
    """

    first: Turn
    taken: list[Turn] = field(default_factory=list)

    def turns(self) -> Iterator[Turn]:
        """Yield each turn to send; the caller feeds and finishes it.

        After a turn whose reply broke the rule, the next is its repair turn,
        up to the rule's ``retries``.

        Raises:
            LiaobotsReplyError: When the last allowed reply broke the rule too.
        """
        turn = self.first
        while True:
            self.taken.append(turn)
            yield turn
            if turn.cut_empty:
                raise _cut_error(turn, len(self.taken))
            if turn.broken is None:
                return
            assert turn.rule is not None
            if len(self.taken) > turn.rule.retries:
                raise _reply_error(turn, len(self.taken))
            turn = turn.repaired()

    @property
    def last(self) -> Turn:
        """The latest turn."""
        return self.taken[-1]

    @property
    def input_tokens(self) -> int:
        """The input tokens of every request sent."""
        return sum(t.input_tokens for t in self.taken)

    @property
    def output_tokens(self) -> int:
        """The tokens of every reply read."""
        return sum(t.output_tokens for t in self.taken)

    @property
    def tool_call_errors(self) -> dict[str, str]:
        """Why each unreadable call of the returned reply could not be read."""
        return self.last.call_errors

    def last_chunk(
        self, model_name: str, provider: str, *, usage: bool
    ) -> ChatGenerationChunk:
        """The call's final chunk (``chunk_position="last"``): how it ended.

        Args:
            model_name: The model's id, for ``response_metadata``.
            provider: ``model_provider``.
            usage: Put ``usage_metadata`` on it: every request of the call
                (repair turns included) once, counted with the service's
                tokenizer; ``usage_estimated`` marks the fallback estimate,
                when the tokenizer could not be loaded.

        Returns:
            The chunk: ``finish_reason``, ``attempts`` (after a repair),
            ``tool_call_errors`` and ``dropped_messages`` when there are any.
        """
        metadata: dict[str, Any] = {
            "model_name": model_name,
            "finish_reason": self.last.finish_reason,
            "model_provider": provider,
        }
        if len(self.taken) > 1:
            metadata["attempts"] = len(self.taken)
        if self.tool_call_errors:
            metadata["tool_call_errors"] = self.tool_call_errors
        if self.last.dropped:
            metadata["dropped_messages"] = self.last.dropped
        counted: UsageMetadata | None = None
        if usage:
            input_tokens, output_tokens = self.input_tokens, self.output_tokens
            # A cast: under mypy's Python 3.10 the TypedDict's NotRequired keys
            # (typing.NotRequired, 3.11+) read as required.
            counted = cast(
                "UsageMetadata",
                {
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
            )
            if not TOKENIZER.exact:
                metadata["usage_estimated"] = True
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                chunk_position="last",
                response_metadata=metadata,
                usage_metadata=counted,
            )
        )


def with_call_errors(result: ChatResult) -> ChatResult:
    """Fill each invalid tool call's ``error`` from the recorded reasons.

    Merged chunks lose them (LangChain rebuilds invalid calls from the
    chunks), so `Call.last_chunk` carries them as ``tool_call_errors``.

    Args:
        result: What ``generate_from_stream`` made of a call's chunks.

    Returns:
        The same result, its invalid calls' ``error`` filled in.
    """
    for generation in result.generations:
        message = generation.message
        errors = message.response_metadata.get("tool_call_errors") or {}
        if isinstance(message, AIMessage):
            for call in message.invalid_tool_calls:
                call["error"] = errors.get(call.get("id") or "", call.get("error"))
    return result


def _rule_text(rule: Rule) -> str:
    if rule.choice is not None and rule.choice != "auto":
        return f"tool_choice={rule.choice!r} requires a tool call"
    if rule.json_answer:
        return "response_format asks for a whole JSON object"
    return "a reply may not hold only tool calls that cannot be read"


def _cut_error(turn: Turn, attempts: int) -> LiaobotsReplyError:
    """The error for a reply that ``max_tokens`` cut before it kept anything."""
    assert turn.rule is not None
    msg = (
        f"max_tokens={turn.budget.max_tokens} cut the reply before it held "
        f"anything ({excerpt(turn.budget.text)} was kept), but "
        f"{_rule_text(turn.rule)}. Raise max_tokens (the reply format alone "
        "needs a few dozen tokens), or leave it unset."
    )
    return LiaobotsReplyError(msg, llm_output=turn.budget.text, attempts=attempts)


def _reply_error(turn: Turn, attempts: int) -> LiaobotsReplyError:
    rule = turn.rule
    assert rule is not None
    what = _rule_text(rule)
    msg = (
        f"{what}, and after {attempts} replies (parse_retries={rule.retries}) the "
        f"last still broke it: {turn.broken} The reply was "
        f"{excerpt(turn.budget.text)}. Raise parse_retries, or use a model that "
        "follows the tool and JSON instructions better."
    )
    return LiaobotsReplyError(msg, llm_output=turn.budget.text, attempts=attempts)


def _has_system(messages: Sequence[BaseMessage]) -> bool:
    return any(
        isinstance(m, SystemMessage)
        or (isinstance(m, ChatMessage) and m.role.lower() == "system")
        for m in messages
    )


def plan_call(
    messages: Sequence[BaseMessage],
    default_prompt: str,
    kwargs: Mapping[str, Any],
    *,
    max_tokens: int | None = None,
    parse_retries: int = 0,
) -> Call:
    """Plan one call from its messages and per-call kwargs.

    Args:
        messages: The conversation.
        default_prompt: The model's prompt for conversations without a system
            message.
        kwargs: The call's kwargs; ``tools`` (any format
            ``convert_to_openai_tool`` accepts), ``tool_choice``,
            ``parallel_tool_calls`` (``False``: one call per reply; later
            calls are dropped), ``response_format``, ``parse_retries``
            (overrides the argument), ``check_reply`` (``False``: take any
            reply, as ``with_structured_output`` does, which checks and
            repairs the reply itself), ``strict_calls`` (``True``: only the
            package's own ``{"tool_calls": [...]}`` envelope, opening the
            reply, is read as a call; see `ReplyParser`) and OpenAI's legacy
            ``functions`` and ``function_call`` (tools and ``tool_choice``;
            one call per reply, mirrored as
            ``additional_kwargs["function_call"]``) are consumed here.
        max_tokens: Cut the answer after this many tokens (``None``: no cut).
        parse_retries: Repair turns for a reply that breaks the call's rule.

    Returns:
        The call.

    Raises:
        ValueError: If a tool is not a function tool, ``tool_choice``,
            ``function_call``, ``parallel_tool_calls`` or ``response_format``
            is not supported, ``strict_calls`` is not a bool, or
            ``max_tokens`` is not a positive integer.
    """
    rest = {k: v for k, v in kwargs.items() if k not in PLAN_KWARGS}
    given, given_choice, legacy = _tool_kwargs(kwargs)
    functions = [tools.function_of(convert_to_openai_tool(t)) for t in given]
    names = tuple(f["name"] for f in functions)
    choice = tools.normalize_tool_choice(given_choice, names)
    one_call = legacy or tools.one_call_only(
        given_choice, kwargs.get("parallel_tool_calls")
    )
    answer = structured.read_response_format(kwargs.get("response_format"))
    strict = kwargs.get("strict_calls", False)
    if not isinstance(strict, bool):
        msg = f"strict_calls must be True or False, got {strict!r}."
        raise ValueError(msg)
    calls = bool(functions) and choice != "none"
    sections = []
    if calls:
        sections.append(
            tools.render_tool_instructions(functions, choice, one_call=one_call)
        )
    if answer is not None:
        sections.append(structured.render_answer_instructions(answer))
    planned = list(messages)
    if sections:
        head = [] if _has_system(planned) else [SystemMessage(default_prompt)]
        planned = [*head, *planned, SystemMessage("\n\n".join(sections))]
    rule = None
    if sections and kwargs.get("check_reply", True):
        rule = Rule(
            choice=choice if calls else None,
            names=names,
            json_answer=answer is not None,
            retries=kwargs.get("parse_retries", parse_retries),
        )
    return Call(
        Turn(
            messages=planned,
            kwargs=rest,
            stops=tools.RESULT_OPENINGS if calls else (),
            new_parser=partial(
                ReplyParser,
                tool_calls=calls,
                json_only=answer is not None,
                tool_names=names,
                answer_keys=structured.answer_keys(answer),
                strict=strict,
            ),
            budget=ReplyBudget(max_tokens),
            rule=rule,
            one_call=one_call,
            legacy=legacy,
        )
    )


def _tool_kwargs(kwargs: Mapping[str, Any]) -> tuple[list[Any], Any, bool]:
    """The tools, the ``tool_choice`` and whether legacy function calling is used.

    OpenAI's legacy ``functions`` (``create_openai_functions_agent`` binds
    them) are tools too, and its ``function_call`` (``"auto"``, ``"none"``,
    ``{"name": ...}``) is the ``tool_choice`` when none is given.

    Raises:
        ValueError: If ``function_call`` has another shape.
    """
    legacy = list(kwargs.get("functions") or ())
    given = [*(kwargs.get("tools") or ()), *legacy]
    choice = kwargs.get("tool_choice")
    function_call = kwargs.get("function_call")
    if choice is None and function_call is not None:
        if isinstance(function_call, Mapping) and "name" in function_call:
            choice = function_call["name"]
        elif function_call in ("auto", "none"):
            choice = function_call
        else:
            msg = (
                f"Unsupported function_call {function_call!r}: use 'auto', "
                "'none' or {'name': ...} (or tool_choice with bind_tools)."
            )
            raise ValueError(msg)
    return given, choice, bool(legacy)
