"""Prompt-based tool calling: tools and replies as text, parsed back into calls.

Liaobots has no native tool calling, so everything travels as text. This module
is the sans-I/O core of that layer (pure functions and one state machine, no
sockets), used by :mod:`langchain_liaobots.prompt.prompting` for every call:

* **tools in** — :func:`normalize_tool_choice` and :func:`render_tool_instructions`
  describe the tools (OpenAI function schemas inside ``<tools>`` … ``</tools>``),
  the reply format ``{"tool_calls": [{"name": …, "arguments": {…}}]}`` and the
  ``tool_choice`` rule for the system prompt;
* **history in** — :func:`render_ai` writes an assistant's earlier tool calls in
  that reply format and :func:`render_tool_result` writes a ``ToolMessage`` as a
  ``<tool_result …>`` block (both called by :mod:`langchain_liaobots.prompt.messages`);
* **reply out** — :class:`ReplyParser` turns the answer's text deltas into text
  pieces and tool-call chunks as they arrive. Plain text streams at once; only a
  possible call opening (``{"tool_calls"``, ``{"name"``, or a code fence holding
  one) is held back until it is decided. A complete call becomes tool-call chunks
  with generated ids; a malformed one becomes an invalid tool call, never an
  exception.

:func:`read_tool_instructions` and :func:`read_tool_result` are the readers'
side of the same formats; the emulator's responder plays a model with them.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk

__all__ = [
    "CALL_WHEN_NEEDED",
    "MUST_CALL_ANY",
    "MUST_CALL_NAMED",
    "Piece",
    "ReplyParser",
    "ToolChoice",
    "ToolOffer",
    "ToolResult",
    "function_of",
    "new_call_id",
    "normalize_tool_choice",
    "read_tool_instructions",
    "read_tool_result",
    "render_ai",
    "render_tool_instructions",
    "render_tool_result",
    "text_blocks_only",
]

ToolChoice = str
"""A normalized tool choice: ``"auto"``, ``"none"``, ``"any"`` or a tool name."""

Piece = str | ToolCallChunk
"""What :class:`ReplyParser` yields: answer text, or one tool-call chunk."""

MUST_CALL_ANY: Final = "You must call at least one of these tools in this reply."
"""The instruction for ``tool_choice="any"`` (also ``"required"`` and ``True``)."""

MUST_CALL_NAMED: Final = 'You must call the tool "{name}" in this reply.'
"""The instruction for a forced tool; ``{name}`` is the tool's name."""

CALL_WHEN_NEEDED: Final = (
    "Call a tool only when you need its result; otherwise answer normally."
)
"""The instruction for ``tool_choice="auto"``."""

_TOOLS_OPEN: Final = "<tools>\n"
_TOOLS_CLOSE: Final = "\n</tools>"
_RESULT_TAG: Final = "tool_result"
_CALL_KEYS: Final = ("tool_calls", "name")
_ARG_KEYS: Final = ("arguments", "args", "parameters")
_TOOL_BLOCK_TYPES: Final = frozenset({"tool_use", "tool_call", "tool_call_chunk"})
_FORCE_ANY: Final = frozenset({"any", "required"})
_FENCE: Final = "```"
_FENCE_INFO = re.compile(r"[\w+.-]*[ \t]*\r?")
_NAME_IN_TEXT = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_MUST_CALL_NAMED_RE = re.compile(
    re.escape(MUST_CALL_NAMED).replace(re.escape("{name}"), "(.+?)")
)
_OPENERS = {True: re.compile("[{`]"), False: re.compile("[{]")}
_RESULT_RE = re.compile(
    r'<tool_result name="([^"]*)" id="([^"]*)" status="(success|error)">\n'
    r"(.*)\n</tool_result>",
    re.S,
)


# -- tools in ------------------------------------------------------------------


def new_call_id() -> str:
    """Return a fresh tool-call id such as ``"call_1f0c…"`` (24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"


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
            name or ``{"type": "function", "function": {"name": ...}}`` (must
            call that one).
        names: The names of the bound tools.

    Returns:
        ``"auto"``, ``"none"``, ``"any"`` or the name of the forced tool.

    Raises:
        ValueError: If the value is not one of the above, names an unbound tool,
            or forces a call with no tools bound.
    """
    if choice is None or choice == "auto":
        return "auto"
    if choice is False or choice == "none":
        return "none"
    if choice is True or (isinstance(choice, str) and choice in _FORCE_ANY):
        normalized = "any"
    elif isinstance(choice, str):
        normalized = choice
    elif isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        normalized = str(choice["function"].get("name", ""))
    else:
        msg = (
            f"Unsupported tool_choice {choice!r}: use 'auto', 'none', 'any' "
            "('required', True), a tool name, or {'type': 'function', "
            "'function': {'name': ...}}."
        )
        raise ValueError(msg)
    if not names:
        msg = f"tool_choice={choice!r} forces a tool call, but no tools are bound."
        raise ValueError(msg)
    if normalized != "any" and normalized not in names:
        msg = (
            f"tool_choice names {normalized!r}, which is not a bound tool; bound "
            f"tools: {', '.join(names)}."
        )
        raise ValueError(msg)
    return normalized


def render_tool_instructions(
    functions: Sequence[Mapping[str, Any]], choice: ToolChoice
) -> str:
    """Render the system-prompt section that offers tools.

    Args:
        functions: ``{"name", "description", "parameters"}`` dicts.
        choice: A normalized tool choice other than ``"none"``.

    Returns:
        The section: the tools as JSON inside ``<tools>``, the reply format and
        the rule of ``choice``.
    """
    if choice == "any":
        rule = MUST_CALL_ANY
    elif choice == "auto":
        rule = CALL_WHEN_NEEDED
    else:
        rule = MUST_CALL_NAMED.format(name=choice)
    listing = json.dumps(list(functions), ensure_ascii=False)
    return (
        "# Tools\n\n"
        "You can call the tools below. Each has a name, a description and a "
        "JSON Schema of its arguments:\n"
        f"{_TOOLS_OPEN}{listing}{_TOOLS_CLOSE}\n\n"
        "To call tools, reply with only this JSON object and no other text:\n"
        '{"tool_calls": [{"name": "<tool name>", "arguments": {"<argument>": '
        "<value>}}]}\n"
        "List several calls to call several tools at once. Each result comes "
        f"back in a message that starts with <{_RESULT_TAG}.\n"
        f"{rule}"
    )


@dataclass(frozen=True)
class ToolOffer:
    """The tools a system prompt offers, as :func:`read_tool_instructions` reads them.

    Attributes:
        functions: ``{"name", "description", "parameters"}`` dicts, in order.
        choice: ``"auto"``, ``"any"`` or the name of the forced tool.
    """

    functions: list[dict[str, Any]]
    choice: ToolChoice


def read_tool_instructions(prompt: str) -> ToolOffer | None:
    """Read back what :func:`render_tool_instructions` wrote into a prompt.

    Args:
        prompt: A request's system prompt.

    Returns:
        The offer, or ``None`` when the prompt offers no tools.
    """
    start = prompt.find(_TOOLS_OPEN)
    end = prompt.find(_TOOLS_CLOSE, start + 1)
    if start < 0 or end < 0:
        return None
    try:
        functions = json.loads(prompt[start + len(_TOOLS_OPEN) : end])
    except ValueError:
        return None
    if not isinstance(functions, list):
        return None
    rest = prompt[end:]
    named = _MUST_CALL_NAMED_RE.search(rest)
    if MUST_CALL_ANY in rest:
        choice = "any"
    elif named:
        choice = named.group(1)
    else:
        choice = "auto"
    return ToolOffer(functions=functions, choice=choice)


# -- history in ----------------------------------------------------------------


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
    """Render an assistant turn: its text, then its tool calls in the reply format.

    Invalid tool calls are left out: they were never run, so no result follows.

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


def render_tool_result(message: ToolMessage, text: str) -> str:
    """Render a tool's result as a ``<tool_result …>`` block for a user turn.

    Args:
        message: The tool message, for its name, call id and ``status``.
        text: Its content as text.

    Returns:
        ``<tool_result name="…" id="…" status="success|error">`` + newline +
        the text + newline + ``</tool_result>``.
    """
    name = html.escape(message.name or "", quote=True)
    call_id = html.escape(message.tool_call_id, quote=True)
    status = "error" if message.status == "error" else "success"
    return (
        f'<{_RESULT_TAG} name="{name}" id="{call_id}" status="{status}">\n'
        f"{text}\n</{_RESULT_TAG}>"
    )


@dataclass(frozen=True)
class ToolResult:
    """A tool result read back from a user turn.

    Attributes:
        name: The tool's name (may be empty).
        call_id: The id of the call it answers.
        ok: ``False`` when the tool reported an error.
        text: The result text.
    """

    name: str
    call_id: str
    ok: bool
    text: str


def read_tool_result(content: str) -> ToolResult | None:
    """Read back a block written by :func:`render_tool_result`.

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
        text=text,
    )


# -- reply out -----------------------------------------------------------------

_Opening = Literal["call", "maybe", "no"]
_State = Literal["plain", "start", "text", "call", "answer", "fence_close", "done"]


def _opening(s: str) -> tuple[_Opening, int]:
    """Decide whether ``s`` (starting with ``{`` or a backtick) opens a tool call.

    Returns:
        ``("call", i)`` with ``i`` the offset of the ``{``; ``("maybe", 0)``
        while more text is needed; ``("no", 0)`` otherwise.
    """
    i = 0
    if s[0] == "`":
        if not s.startswith(_FENCE):
            return ("maybe" if _FENCE.startswith(s) else "no"), 0
        newline = s.find("\n", len(_FENCE))
        info = s[len(_FENCE) :] if newline < 0 else s[len(_FENCE) : newline]
        if not _FENCE_INFO.fullmatch(info):
            return "no", 0
        if newline < 0:
            return "maybe", 0
        i = newline + 1
        while i < len(s) and s[i].isspace():
            i += 1
        if i == len(s):
            return "maybe", 0
        if s[i] != "{":
            return "no", 0
    j = i + 1
    while j < len(s) and s[j].isspace():
        j += 1
    if j == len(s):
        return "maybe", 0
    if s[j] != '"':
        return "no", 0
    rest = s[j + 1 :]
    keys = [f'{k}"' for k in _CALL_KEYS]
    if any(rest.startswith(k) for k in keys):
        return "call", i
    return ("maybe" if any(k.startswith(rest) for k in keys) else "no"), 0


class _ObjectEnd:
    """Finds where a JSON object closes, fed one slice at a time."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, text: str) -> int:
        """Return the index just past the closing brace in ``text``, or -1."""
        for i, ch in enumerate(text):
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.depth == 0:
                    return i + 1
        return -1


class ReplyParser:
    """A state machine over an answer's text deltas: text and tool calls out.

    Feed each text delta as it arrives with :meth:`feed`, then call
    :meth:`finish`; both return the :data:`Piece` s decided so far, in order.
    Splitting the same reply differently never changes the result.

    * With neither tools nor a JSON answer format, text passes through untouched.
    * With tools offered, plain text is passed on at once; only a possible call
      opening (``{"tool_calls"``, ``{"name"``, or a code fence whose first line
      after the opener starts so) is held until decided. A complete call object
      becomes one tool-call chunk per call (a fresh id each, ``args`` as JSON
      text); its closing fence, and whitespace that would end the message's
      text, are dropped. An object that opens like a call but is not one is
      passed on as text.
    * A malformed call (unparseable or cut-off JSON, a call without a name,
      arguments that are not an object) becomes a chunk whose ``args`` is a JSON
      *string* holding the offending text, so LangChain files it under
      ``invalid_tool_calls`` (its lenient partial-JSON repair cannot turn a
      string into arguments).
    * With a JSON answer format (``json_only``), the answer is bare JSON: text
      before the first ``{`` (a sentence, a code fence) is held and dropped once
      the object starts, the object streams as it arrives, and anything after it
      is dropped. If no object ever starts, the held text is passed on at the end.
    """

    def __init__(
        self,
        *,
        tool_calls: bool,
        json_only: bool,
        new_id: Callable[[], str] = new_call_id,
    ) -> None:
        """Configure what to look for.

        Args:
            tool_calls: Whether tools were offered (look for calls).
            json_only: Whether the answer must be bare JSON.
            new_id: Makes tool-call ids.
        """
        self._calls = tool_calls
        self._json_only = json_only
        self._new_id = new_id
        self._state: _State = "start" if tool_calls or json_only else "plain"
        self._buf = ""
        self._scanned = 0
        self._space = ""
        self._space_ends_text = False
        self._held = ""
        self._prefix = ""
        self._end = _ObjectEnd()
        self._index = 0

    @property
    def calls_made(self) -> int:
        """How many tool calls (valid or not) the reply has produced so far."""
        return self._index

    def feed(self, text: str) -> list[Piece]:
        """Take the next text delta.

        Args:
            text: The delta.

        Returns:
            The pieces decided by it (possibly none).
        """
        if self._state == "plain":
            return [text] if text else []
        self._buf += text
        out: list[Piece] = []
        while self._buf and self._step(out):
            pass
        return out

    def finish(self) -> list[Piece]:
        """End the reply and return what was still undecided.

        Returns:
            The remaining pieces: held text, or an invalid call for a call
            object that never closed.
        """
        out: list[Piece] = []
        if self._state == "call":
            out.extend(self._invalid(None, self._buf, guess=True))
        elif self._state == "text":
            self._emit(out, self._buf)
        self._buf = ""
        if self._held:
            out.append(self._held)
            self._held = ""
        if self._space and not self._space_ends_text:
            out.append(self._space)
        self._space = ""
        self._state = "done"
        return out

    # -- states ----------------------------------------------------------------

    def _step(self, out: list[Piece]) -> bool:
        """Advance one state; return False when more text is needed."""
        if self._state == "start":
            stripped = self._buf.lstrip()
            self._buf = stripped
            if stripped:
                self._state = "text"
            return bool(stripped)
        if self._state == "text":
            return self._text(out)
        if self._state in ("call", "answer"):
            return self._object(out)
        if self._state == "fence_close":
            return self._fence_close()
        self._buf = ""  # "done": whatever follows a JSON answer is dropped
        return False

    def _text(self, out: list[Piece]) -> bool:
        buf = self._buf
        found = _OPENERS[self._calls].search(buf)
        if found is None:
            self._emit(out, buf)
            self._buf = ""
            return False
        at = found.start()
        self._emit(out, buf[:at])
        rest = buf[at:]
        kind, brace = _opening(rest) if self._calls else ("no", 0)
        if kind == "maybe":
            self._buf = rest
            return False
        if kind == "call":
            self._space_ends_text = True
            self._prefix, self._buf = rest[:brace], rest[brace:]
            self._enter("call")
        elif self._json_only and rest[0] == "{":
            self._held = self._space = ""
            self._buf = rest
            self._enter("answer")
        else:
            self._emit(out, rest[0])
            self._buf = rest[1:]
        return True

    def _enter(self, state: _State) -> None:
        self._state = state
        self._end = _ObjectEnd()
        self._scanned = 0

    def _object(self, out: list[Piece]) -> bool:
        end = self._end.feed(self._buf[self._scanned :])
        if self._state == "answer":  # streams; nothing is kept in the buffer
            out.append(self._buf if end < 0 else self._buf[:end])
            if end < 0:
                self._buf = ""
                return False
            self._state = "done"
            return True
        if end < 0:
            self._scanned = len(self._buf)
            return False
        end += self._scanned
        raw, self._buf, self._scanned = self._buf[:end], self._buf[end:], 0
        calls = self._parse_calls(raw)
        if calls is not None:
            out.extend(calls)
            self._state = "fence_close" if self._prefix else "start"
        elif self._json_only:
            out.append(raw)
            self._held = ""
            self._state = "done"
        else:
            self._state = "text"
            self._emit(out, self._prefix + raw)
        return True

    def _fence_close(self) -> bool:
        stripped = self._buf.lstrip()
        if len(stripped) < len(_FENCE) and _FENCE.startswith(stripped):
            return False
        if stripped.startswith(_FENCE):
            stripped = stripped[len(_FENCE) :]
        self._buf = stripped
        self._state = "start"
        return True

    # -- output ----------------------------------------------------------------

    def _emit(self, out: list[Piece], text: str) -> None:
        """Pass text on, holding trailing whitespace (dropped if a call follows)."""
        if not text:
            return
        if self._json_only:
            self._held += text
            return
        text = self._space + text
        core = text.rstrip()
        self._space = text[len(core) :]
        if core:
            out.append(core)
            self._space_ends_text = False

    def _parse_calls(self, raw: str) -> list[Piece] | None:
        """Turn a complete call-like object into chunks; ``None`` if not a call."""
        try:
            data = json.loads(raw)
        except ValueError:
            return self._invalid(None, raw, guess=True)
        if "tool_calls" in data:
            entries = data["tool_calls"]
            if isinstance(entries, dict):
                entries = [entries]
            if not isinstance(entries, list):
                return self._invalid(None, raw)
        elif "name" in data and any(k in data for k in _ARG_KEYS):
            entries = [data]
        else:
            return None
        out: list[Piece] = []
        for entry in entries:
            out.extend(self._call(entry))
        return out

    def _call(self, entry: Any) -> list[Piece]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            text = json.dumps(entry, ensure_ascii=False)
            return self._invalid(name if isinstance(name, str) else None, text)
        args: Any = next((entry[k] for k in _ARG_KEYS if k in entry), {})
        if isinstance(args, str):
            try:
                decoded = json.loads(args)
            except ValueError:
                return self._invalid(name, args)
            if not isinstance(decoded, dict):
                return self._invalid(name, args)
            args = decoded
        if not isinstance(args, dict):
            return self._invalid(name, json.dumps(args, ensure_ascii=False))
        return [self._chunk(name, json.dumps(args, ensure_ascii=False))]

    def _invalid(
        self, name: str | None, text: str, *, guess: bool = False
    ) -> list[Piece]:
        if guess:
            found = _NAME_IN_TEXT.search(text)
            name = found.group(1) if found else None
        return [self._chunk(name, json.dumps(text, ensure_ascii=False))]

    def _chunk(self, name: str | None, args: str) -> ToolCallChunk:
        index = self._index
        self._index += 1
        return tool_call_chunk(name=name, args=args, id=self._new_id(), index=index)
