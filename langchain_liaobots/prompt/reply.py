"""Reading a model's reply: text deltas in, answer text and tool calls out.

Liaobots carries everything as text, so the prompt-based layer
(:mod:`langchain_liaobots.prompt.tools`, :mod:`langchain_liaobots.prompt.structured`)
writes its instructions into the system prompt and reads the model's reply back
here. This module is sans-I/O (pure functions and one state machine):

* :class:`ReplyParser` turns the answer's text deltas into text pieces and
  tool-call chunks as they arrive. Plain text streams at once; only a possible
  call opening (``{"tool_calls"``, ``{"name"``, or a code fence holding one) is
  held back until it is decided. A complete call becomes tool-call chunks with
  generated ids; a malformed one becomes an invalid tool call, never an
  exception. With a JSON answer format it keeps only the JSON object.
* :func:`json_section` and :func:`read_json_section` are the one format of a
  JSON value inside ``<tag>`` … ``</tag>`` that the tool offer (``<tools>``)
  and the answer schema (``<json_schema>``) use, and the one reader of it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal

from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk

__all__ = [
    "Piece",
    "ReplyParser",
    "json_section",
    "new_call_id",
    "read_json_section",
]

Piece = str | ToolCallChunk
"""What :class:`ReplyParser` yields: answer text, or one tool-call chunk."""

_CALL_KEYS: Final = ("tool_calls", "name")
_ARG_KEYS: Final = ("arguments", "args", "parameters")
_FENCE: Final = "```"
_FENCE_INFO = re.compile(r"[\w+.-]*[ \t]*\r?")
_NAME_IN_TEXT = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_OPENERS = {True: re.compile("[{`]"), False: re.compile("[{]")}


def new_call_id() -> str:
    """Return a fresh tool-call id such as ``"call_1f0c…"`` (24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def json_section(tag: str, value: Any) -> str:
    """Write a JSON value as a ``<tag>`` section of a prompt.

    Args:
        tag: The section's tag name, e.g. ``"tools"``.
        value: A JSON-serializable value.

    Returns:
        ``<tag>``, newline, the value as JSON, newline, ``</tag>``.
    """
    return f"<{tag}>\n{json.dumps(value, ensure_ascii=False)}\n</{tag}>"


def read_json_section(text: str, tag: str) -> Any | None:
    """Read back the first section :func:`json_section` wrote into ``text``.

    Args:
        text: A prompt (or any text) that may hold the section.
        tag: The section's tag name.

    Returns:
        The parsed JSON value, or ``None`` if there is no such section or its
        content is not JSON.
    """
    opening, closing = f"<{tag}>\n", f"\n</{tag}>"
    start = text.find(opening)
    end = text.find(closing, start + 1)
    if start < 0 or end < 0:
        return None
    try:
        return json.loads(text[start + len(opening) : end])
    except ValueError:
        return None


# -- the reply parser ------------------------------------------------------------

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
        self.errors: dict[str, str] = {}
        """Why each invalid call could not be read, by call id."""

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
        chunk = self._chunk(name, json.dumps(text, ensure_ascii=False))
        self.errors[chunk["id"] or ""] = "the call is not valid JSON"
        return [chunk]

    def _chunk(self, name: str | None, args: str) -> ToolCallChunk:
        index = self._index
        self._index += 1
        return tool_call_chunk(name=name, args=args, id=self._new_id(), index=index)
