"""Prompt-based tool calling: tools and tool history as text.

Liaobots has no native tool calling, so everything travels as text. This module
is the sans-I/O core of that layer (pure functions, no sockets), used by
`langchain_liaobots.prompt.prompting` for every call:

* **tools in** — `normalize_tool_choice` and `render_tool_instructions`
  describe the tools (OpenAI function schemas inside ``<tools>`` … ``</tools>``),
  the reply format ``{"tool_calls": [{"name": …, "arguments": {…}}]}`` and the
  ``tool_choice`` rule for the system prompt;
* **history in** — `render_ai` writes an assistant's earlier tool calls in
  that reply format and `render_tool_result` writes a ``ToolMessage`` as a
  ``<tool_result …>`` block (both called by `langchain_liaobots.prompt.messages`);
* **reply out** — the model's reply is read back into text and tool calls by
  `ReplyParser`.

`read_tool_instructions` and `read_tool_result` are the readers'
side of the same formats; the emulator's responder plays a model with them.

Text from outside (a tool's result, a user's or an assistant's text) cannot
write the package's markup: `escape_markup` writes the ``<`` that would open or
close a ``<tool_result>``, ``<tools>`` or ``<json_schema>`` tag as ``&lt;``
(readable to a model), so a tool's text cannot close its block or forge
another; `unescape_markup` reverses it. In JSON (an assistant's calls, the
tools' descriptions) `langchain_liaobots.prompt.reply.json_text` writes it as
``\u003c``, which JSON reads as ``<``.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_core.messages import AIMessage, ToolMessage

from langchain_liaobots.prompt.reply import (
    MARKUP_TAG,
    json_section,
    json_text,
    loads_bounded,
    read_json_section,
)

__all__ = [
    "CALL_WHEN_NEEDED",
    "MUST_CALL_ANY",
    "MUST_CALL_NAMED",
    "ONE_CALL",
    "RESULT_OPENINGS",
    "ToolChoice",
    "ToolOffer",
    "ToolResult",
    "escape_markup",
    "function_of",
    "normalize_tool_choice",
    "one_call_only",
    "read_tool_instructions",
    "read_tool_result",
    "render_ai",
    "render_tool_instructions",
    "render_tool_result",
    "repair_ask",
    "text_blocks_only",
    "unescape_markup",
]

ToolChoice = str
"""A normalized tool choice: ``"auto"``, ``"none"``, ``"any"`` or a tool name."""

MUST_CALL_ANY: Final = "You must call at least one of these tools in this reply."
"""The instruction for ``tool_choice="any"`` (also ``"required"`` and ``True``)."""

MUST_CALL_NAMED: Final = 'You must call the tool "{name}" in this reply.'
"""The instruction for a forced tool; ``{name}`` is the tool's name."""

CALL_WHEN_NEEDED: Final = (
    "Call a tool only when you need its result; otherwise answer normally."
)
"""The instruction for ``tool_choice="auto"``."""

ONE_CALL: Final = "Call at most one tool per reply: list exactly one call."
"""The instruction for ``parallel_tool_calls=False``."""

_SEVERAL_CALLS: Final = "List several calls to call several tools at once."

_TOOLS_TAG: Final = "tools"
_RESULT_TAG: Final = "tool_result"

RESULT_OPENINGS: Final = (f"<{_RESULT_TAG}", "\nObservation:")
"""Stop sequences of a reply with tools offered: a model that starts writing a
tool's result (the ``<tool_result`` block, or a ReAct ``Observation:``) is
inventing it, so the reply ends there, as at a stop sequence."""

_REPLY_FORMAT: Final = (
    'the JSON object {"tool_calls": [...]} described in the instructions'
)

_DROPPED_AI_BLOCKS: Final = frozenset(
    {"tool_use", "tool_call", "tool_call_chunk"}  # rendered from tool_calls
    | {"reasoning", "thinking", "redacted_thinking"}  # another model's reasoning
)
_FORCE_ANY: Final = frozenset({"any", "required"})
_MUST_CALL_NAMED_RE = re.compile(
    re.escape(MUST_CALL_NAMED).replace(re.escape("{name}"), "(.+?)")
)
_MARKUP_RE = re.compile(rf"(?i)(?:<|&(?:amp;)*lt;){MARKUP_TAG}")
"""A ``<`` opening or closing one of the package's tags, or one escaped already."""
_ESCAPED_RE = re.compile(rf"(?i)&(?:amp;)*lt;{MARKUP_TAG}")
_RESULT_RE = re.compile(
    r'<tool_result name="([^"]*)" id="([^"]*)" status="(success|error)">\n'
    r"(.*)\n</tool_result>",
    re.S,
)


# -- tools in ------------------------------------------------------------------


def function_of(tool: Mapping[str, Any]) -> dict[str, Any]:
    """Return the function part of an OpenAI tool dict.

    Args:
        tool: ``{"type": "function", "function": {"name", "description",
            "parameters"}}`` as ``convert_to_openai_tool`` returns it.

    Returns:
        ``{"name", "description", "parameters"}``.

    Raises:
        ValueError: If the tool is not a function tool (a provider's built-in
            tool such as web search cannot be called through Liaobots).
    """
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, Mapping):
        msg = (
            f"Liaobots can call function tools only; got {dict(tool)!r}. Pass "
            "LangChain tools, functions, Pydantic models or OpenAI function dicts."
        )
        raise ValueError(msg)
    return {
        "name": str(function["name"]),
        "description": str(function.get("description", "")),
        "parameters": function.get("parameters", {"type": "object", "properties": {}}),
    }


def normalize_tool_choice(choice: Any, names: Sequence[str]) -> ToolChoice:
    """Normalize a ``tool_choice`` value.

    Args:
        choice: ``None``/``"auto"`` (the model decides), ``"none"``/``False``
            (no tool), ``"any"``/``"required"``/``True`` (must call one), a tool
            name (must call that one), or the same as a dict in OpenAI's or
            Anthropic's shapes: ``{"type": "function", "function": {"name":
            ...}}`` or ``{"type": "function", "name": ...}``, ``{"type":
            "tool", "name": ...}``, ``{"type": "auto" | "any" | "none"}``.
        names: The names of the bound tools.

    Returns:
        ``"auto"``, ``"none"``, ``"any"`` or the name of the forced tool.

    Raises:
        ValueError: If the value is not one of the above, names an unbound tool,
            or forces a call with no tools bound.
    """
    given = choice
    if isinstance(choice, Mapping):
        choice = _choice_of_dict(choice)
    if choice is None or choice == "auto":
        return "auto"
    if choice is False or choice == "none":
        return "none"
    if choice is True or (isinstance(choice, str) and choice in _FORCE_ANY):
        normalized = "any"
    elif isinstance(choice, str):
        normalized = choice
    else:
        msg = (
            f"Unsupported tool_choice {given!r}: use 'auto', 'none', 'any' "
            "('required', True), a tool name, {'type': 'function', "
            "'function': {'name': ...}}, {'type': 'tool', 'name': ...} or "
            "{'type': 'auto' | 'any' | 'none'}."
        )
        raise ValueError(msg)
    if not names:
        msg = f"tool_choice={given!r} forces a tool call, but no tools are bound."
        raise ValueError(msg)
    if normalized != "any" and normalized not in names:
        msg = (
            f"tool_choice names {normalized!r}, which is not a bound tool; bound "
            f"tools: {', '.join(names)}."
        )
        raise ValueError(msg)
    return normalized


def _choice_of_dict(choice: Mapping[str, Any]) -> Any:
    """The tool name or the keyword a dict-shaped ``tool_choice`` stands for.

    Returns:
        A name or ``"auto"``/``"any"``/``"none"``; the dict itself when its
        shape is unknown (the caller's error names it).
    """
    kind = choice.get("type")
    function = choice.get("function")
    if kind == "function" and isinstance(function, Mapping):
        named = function.get("name")
    elif kind in ("function", "tool"):
        named = choice.get("name")
    elif kind in ("auto", "any", "none"):
        return kind
    else:
        return choice
    return named if isinstance(named, str) and named else choice


def one_call_only(choice: Any, parallel_tool_calls: Any) -> bool:
    """Whether a reply may call at most one tool.

    Args:
        choice: The ``tool_choice`` as given (Anthropic's dicts may carry
            ``disable_parallel_tool_use``).
        parallel_tool_calls: ``None`` or ``True`` (several calls allowed) or
            ``False`` (one call at most), as ``ChatOpenAI`` takes it.

    Returns:
        ``True`` for one call at most.

    Raises:
        ValueError: If ``parallel_tool_calls`` is not ``None`` or a bool.
    """
    if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
        msg = (
            f"parallel_tool_calls must be True, False or None, got "
            f"{parallel_tool_calls!r}."
        )
        raise ValueError(msg)
    disabled = isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use")
    return parallel_tool_calls is False or disabled is True


def render_tool_instructions(
    functions: Sequence[Mapping[str, Any]],
    choice: ToolChoice,
    *,
    one_call: bool = False,
) -> str:
    """Render the system-prompt section that offers tools.

    Args:
        functions: ``{"name", "description", "parameters"}`` dicts.
        choice: A normalized tool choice other than ``"none"``.
        one_call: Ask for one call per reply (``parallel_tool_calls=False``)
            instead of inviting several.

    Returns:
        The section: the tools as JSON inside ``<tools>``, the reply format,
        how many calls a reply may hold and the rule of ``choice``.
    """
    if choice == "any":
        rule = MUST_CALL_ANY
    elif choice == "auto":
        rule = CALL_WHEN_NEEDED
    else:
        rule = MUST_CALL_NAMED.format(name=choice)
    return (
        "# Tools\n\n"
        "You can call the tools below. Each has a name, a description and a "
        "JSON Schema of its arguments:\n"
        f"{json_section(_TOOLS_TAG, list(functions))}\n\n"
        "To call tools, reply with only this JSON object and no other text:\n"
        '{"tool_calls": [{"name": "<tool name>", "arguments": {"<argument>": '
        "<value>}}]}\n"
        f"{ONE_CALL if one_call else _SEVERAL_CALLS} Each result comes "
        f"back in a message that starts with <{_RESULT_TAG}.\n"
        f"{rule}"
    )


def repair_ask(choice: ToolChoice, names: Sequence[str]) -> str:
    """What a repair turn asks for after a reply that broke ``choice``'s rule.

    Args:
        choice: A normalized tool choice other than ``"none"``.
        names: The offered tools' names.

    Returns:
        The request, to follow "Reply again, corrected: ".
    """
    if choice == "auto":
        return f"write your tool calls again as {_REPLY_FORMAT}, or answer in text."
    target = (
        f"one of the tools {', '.join(names)}"
        if choice == "any"
        else f'the tool "{choice}"'
    )
    return (
        f"call {target} with arguments that conform to its JSON Schema, replying "
        f"with only {_REPLY_FORMAT}."
    )


@dataclass(frozen=True)
class ToolOffer:
    """The tools a system prompt offers, as `read_tool_instructions` reads them.

    Attributes:
        functions: ``{"name", "description", "parameters"}`` dicts, in order.
        choice: ``"auto"``, ``"any"`` or the name of the forced tool.
    """

    functions: list[dict[str, Any]]
    choice: ToolChoice


def read_tool_instructions(prompt: str) -> ToolOffer | None:
    """Read back what `render_tool_instructions` wrote into a prompt.

    Args:
        prompt: A request's system prompt.

    Returns:
        The offer, or ``None`` when the prompt offers no tools.
    """
    functions = read_json_section(prompt, _TOOLS_TAG)
    if not isinstance(functions, list):
        return None
    rest = prompt[prompt.find(f"</{_TOOLS_TAG}>") :]
    named = _MUST_CALL_NAMED_RE.search(rest)
    if MUST_CALL_ANY in rest:
        choice = "any"
    elif named:
        choice = named.group(1)
    else:
        choice = "auto"
    return ToolOffer(functions=functions, choice=choice)


# -- history in ----------------------------------------------------------------


def escape_markup(text: str) -> str:
    """Write text from outside so that it cannot open or close the package's tags.

    The ``<`` of ``<tool_result``, ``</tool_result``, ``<tools``, ``</tools``,
    ``<json_schema`` and ``</json_schema`` (any case) becomes ``&lt;``; an
    ``&lt;`` already before such a tag name gains an ``amp;`` (``&amp;lt;``),
    so `unescape_markup` gives the text back exactly. Other text is unchanged.

    Args:
        text: A tool's result, or a user's or an assistant's text.

    Returns:
        The text, safe to place inside a ``<tool_result>`` block or a turn.
    """
    if "<" not in text and "&" not in text:  # most text: one scan in C
        return text
    return _MARKUP_RE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    found = match.group()
    return "&lt;" if found == "<" else f"&amp;{found[1:]}"


def unescape_markup(text: str) -> str:
    """Reverse `escape_markup`.

    Args:
        text: Text written by `escape_markup`.

    Returns:
        The original text.
    """
    return _ESCAPED_RE.sub(_unescaped, text)


def _unescaped(match: re.Match[str]) -> str:
    found = match.group()
    return "<" if len(found) == len("&lt;") else f"&{found[len('&amp;') :]}"


def text_blocks_only(content: str | list[Any]) -> str | list[Any]:
    """Drop tool-call and reasoning blocks from an assistant's content.

    Tool calls are rendered from ``AIMessage.tool_calls``; the provider-specific
    blocks that mirror them in ``content`` would only repeat them. Reasoning
    (``reasoning``, Anthropic's ``thinking`` and ``redacted_thinking``, as a
    reasoning model hands a conversation over in a fallback) is another
    model's scratch work, not part of its answer: Liaobots has no slot for it,
    so it is dropped, as the answer's text is what the conversation needs.

    Args:
        content: An ``AIMessage``'s content.

    Returns:
        The content without tool-call and reasoning blocks.
    """
    if isinstance(content, str):
        return content
    return [
        b
        for b in content
        if not (isinstance(b, dict) and b.get("type") in _DROPPED_AI_BLOCKS)
    ]


def render_ai(text: str, message: AIMessage) -> str:
    """Render an assistant turn: its text, its tool calls, its unreadable calls.

    Valid calls are written in the reply format; without ``tool_calls``, a
    legacy ``additional_kwargs["function_call"]`` (OpenAI function calling)
    is the call. A call that could not be read
    is written back as the model wrote it, followed by why it could not be
    read (from its ``error``, or the ``tool_call_errors`` response metadata
    ``ChatLiaobots`` records), so a later turn shows the model its mistake.
    The package's markup in any of it is escaped: `escape_markup` in text,
    `json_text` in the calls' JSON (which a JSON parser still reads unchanged).

    Args:
        text: The turn's text content.
        message: The assistant message, for its ``tool_calls``,
            ``invalid_tool_calls`` and ``additional_kwargs``.

    Returns:
        The turn as one string.
    """
    calls = [
        {"id": c.get("id"), "name": c["name"], "arguments": c["args"]}
        for c in message.tool_calls
    ] or _legacy_call(message)
    if not calls and not message.invalid_tool_calls:
        return escape_markup(text)
    parts = [escape_markup(text)] if text else []
    if calls:
        parts.append(json_text({"tool_calls": calls}))
    recorded = message.response_metadata.get("tool_call_errors") or {}
    for call in message.invalid_tool_calls:
        written = _written(call.get("args") or "")
        error = call.get("error") or recorded.get(call.get("id") or "")
        parts.append(escape_markup(written))
        parts.append(
            escape_markup(
                f"(This call could not be read{f': {error}' if error else ''}.)"
            )
        )
    return "\n".join(parts)


def _legacy_call(message: AIMessage) -> list[dict[str, Any]]:
    """The call of a legacy ``function_call`` (``{"name", "arguments"}``), if any."""
    call = message.additional_kwargs.get("function_call")
    if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
        return []
    arguments = call.get("arguments") or "{}"
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # else sent as the model wrote it
            arguments = loads_bounded(arguments)
    return [{"name": call["name"], "arguments": arguments}]


def _written(args: str) -> str:
    """The text the model wrote for an unreadable call.

    The reply parser keeps it as a JSON string; other arguments stay as they are.
    """
    try:
        written = loads_bounded(args)
    except ValueError:
        return args
    return written if isinstance(written, str) else args


def render_tool_result(message: ToolMessage, text: str, name: str = "") -> str:
    """Render a tool's result as a ``<tool_result …>`` block for a user turn.

    Args:
        message: The tool message, for its name, call id and ``status``.
        text: Its content as text; the package's markup in it is escaped
            (`escape_markup`), so it cannot close the block or forge another.
        name: The tool's name when the message has none (from the call it
            answers).

    Returns:
        ``<tool_result name="…" id="…" status="success|error">`` + newline +
        the text + newline + ``</tool_result>``.
    """
    name = html.escape(message.name or name, quote=True)
    call_id = html.escape(message.tool_call_id, quote=True)
    status = "error" if message.status == "error" else "success"
    return (
        f'<{_RESULT_TAG} name="{name}" id="{call_id}" status="{status}">\n'
        f"{escape_markup(text)}\n</{_RESULT_TAG}>"
    )


@dataclass(frozen=True)
class ToolResult:
    """A tool result read back from a user turn.

    Attributes:
        name: The tool's name (may be empty).
        call_id: The id of the call it answers.
        ok: ``False`` when the tool reported an error.
        text: The result text, as the tool returned it.
    """

    name: str
    call_id: str
    ok: bool
    text: str


def read_tool_result(content: str) -> ToolResult | None:
    """Read back a block written by `render_tool_result`.

    Args:
        content: A user turn's content.

    Returns:
        The result, or ``None`` if the turn is not a tool result.
    """
    match = _RESULT_RE.fullmatch(content)
    if match is None:
        return None
    name, call_id, status, text = match.groups()
    return ToolResult(
        name=html.unescape(name),
        call_id=html.unescape(call_id),
        ok=status == "success",
        text=unescape_markup(text),
    )
