"""Reading a model's reply: text deltas in, answer text and tool calls out.

Liaobots carries everything as text, so the prompt-based layer
(`langchain_liaobots.prompt.tools`, `langchain_liaobots.prompt.structured`)
writes its instructions into the system prompt and reads the model's reply back
here. This module is sans-I/O (pure functions and one state machine):

* `ReplyParser` turns the answer's text deltas into text pieces and
  tool-call chunks as they arrive, and records an error text for every invalid
  call. It reads the shapes models really write, not only the one the prompt
  asks for: a call object bare or in a code fence (any info string), with prose
  around it, one or several; the package's ``{"tool_calls": [...]}``, a single
  ``{"name", "arguments"}`` entry, OpenAI's ``{"type": "function", "function":
  {...}}`` entries and the ``function`` / ``function_call`` / ``tool_call``
  wrappers, a bare list of calls; JSON5 (single quotes, trailing commas,
  unquoted keys, comments); and ReAct's ``Action:`` / ``Action Input:`` lines.
  Plain text streams at once; only a possible call opening is held back until
  it is decided, within `OPENING_LIMIT` characters, so a reply is read in time
  linear in its length whatever it holds. A complete call becomes a tool-call
  chunk with a generated id; a malformed, cut-off or too deeply nested one
  (`MAX_NESTING`) becomes an invalid tool call, never an exception and never
  "completed". With ``strict`` only the package's own ``{"tool_calls": [...]}``
  envelope, opening the reply, is read as a call. With a JSON answer format it
  keeps only the JSON object.
* `loads_bounded` is ``json.loads`` that refuses JSON nested deeper than
  `MAX_NESTING` levels (`NestingError`) and numbers of too many digits with a
  ``ValueError``, never a ``RecursionError``; the calls, JSON answers and JSON
  sections are read with it (and JSON5, whose decoder stops at 32 levels).
* `json_section` and `read_json_section` are the one format of a
  JSON value inside ``<tag>`` … ``</tag>`` that the tool offer (``<tools>``)
  and the answer schema (``<json_schema>``) use, and the one reader of it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import pyjson5
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk

__all__ = [
    "MARKUP_TAG",
    "MAX_NESTING",
    "OPENING_LIMIT",
    "NestingError",
    "Piece",
    "ReplyParser",
    "json_section",
    "json_text",
    "loads_bounded",
    "new_call_id",
    "read_json_section",
]

Piece = str | ToolCallChunk
"""What `ReplyParser` yields: answer text, or one tool-call chunk."""


def new_call_id() -> str:
    """Return a fresh tool-call id such as ``"call_1f0c…"`` (24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"


_TOO_MANY_DIGITS: Final = (
    "not valid JSON: it holds a number of more digits than Python reads"
)


MAX_NESTING: Final = 100
"""The deepest JSON read from a reply (calls, arguments, JSON answers): deeper
is unreadable, as Python's parser stops near 1,000 levels and JSON5's at 32."""


class NestingError(ValueError):
    """JSON nested deeper than `MAX_NESTING` levels."""

    def __init__(self) -> None:
        """Say what the limit is."""
        super().__init__(
            f"JSON nested deeper than {MAX_NESTING} levels, which is not read"
        )


def loads_bounded(text: str) -> Any:
    """``json.loads``, refusing JSON nested deeper than `MAX_NESTING` levels.

    Args:
        text: The JSON text.

    Returns:
        The decoded value.

    Raises:
        NestingError: If it nests too deep (never a ``RecursionError``).
        ValueError: If it is not JSON (``json.JSONDecodeError``), or holds an
            integer of more digits than Python reads.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestingError from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # Python's own limit on an integer's digits
        raise ValueError(_TOO_MANY_DIGITS) from None
    level = [value]
    for _ in range(MAX_NESTING):
        level = [
            inner
            for v in level
            if isinstance(v, (dict, list))
            for inner in (v.values() if isinstance(v, dict) else v)
        ]
        if not level:
            return value
    raise NestingError


MARKUP_TAG: Final = r"(?=/?(?:tool_result|tools|json_schema)(?![\w-]))"
"""Follows the ``<`` of one of the package's tags, opening or closing (a
lookahead; match case-insensitively)."""
_TAG_IN_JSON = re.compile(rf"(?i)<{MARKUP_TAG}")
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False)
"""``json.dumps(..., ensure_ascii=False)``, without a new encoder per call."""


def json_text(value: Any) -> str:
    r"""Write a JSON value for a prompt, unable to open or close the package's tags.

    A ``<`` that would open or close one of the package's tags inside the
    JSON's strings (a tool description holding ``</tools>``) is written
    ``\u003c``, which JSON reads as ``<``. (Every ``<`` of JSON text is inside
    a string, and never after an unescaped backslash.)

    Args:
        value: A JSON-serializable value.

    Returns:
        The value as JSON (``ensure_ascii=False``).
    """
    text = _ENCODER.encode(value)
    return _TAG_IN_JSON.sub(r"\\u003c", text) if "<" in text else text


def json_section(tag: str, value: Any) -> str:
    """Write a JSON value as a ``<tag>`` section of a prompt.

    The value is written by `json_text`, so no value can end the section.

    Args:
        tag: The section's tag name, e.g. ``"tools"``.
        value: A JSON-serializable value.

    Returns:
        ``<tag>``, newline, the value as JSON, newline, ``</tag>``.
    """
    return f"<{tag}>\n{json_text(value)}\n</{tag}>"


def read_json_section(text: str, tag: str) -> Any | None:
    """Read back the first section `json_section` wrote into ``text``.

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
        return loads_bounded(text[start + len(opening) : end])
    except ValueError:
        return None


# -- reading JSON leniently and finding calls in it ----------------------------------

_ARG_KEYS: Final = ("arguments", "args", "parameters")
_WRAPPERS: Final = ("function", "function_call", "tool_call")
_LIST_KEYS: Final = ("tool_calls", "tool_call")
_CUT_OFF: Final = "the JSON object was cut off before it closed"


def _lenient_json(text: str) -> Any:
    """Decode JSON, or failing that JSON5 (quotes, trailing commas, comments).

    Raises:
        ValueError: If ``text`` is neither, with the JSON5 decoder's message, or
            nests deeper than `MAX_NESTING` levels (`NestingError`).
    """
    try:
        return loads_bounded(text)
    except json.JSONDecodeError:
        pass  # too deep or too long a number is no better in JSON5
    try:
        return pyjson5.decode(text)
    except pyjson5.Json5DecoderException as error:
        raise ValueError(f"not valid JSON (even leniently): {error.message}") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _unwrap(entry: dict[str, Any]) -> dict[str, Any]:
    """The object naming the call inside ``{"function": {...}}`` and the like."""
    while "name" not in entry:
        inner = next(
            (entry[k] for k in _WRAPPERS if isinstance(entry.get(k), dict)), None
        )
        if inner is None:
            break
        entry = inner
    return entry


def _is_call(value: Any) -> bool:
    """Whether a JSON value is shaped like one call.

    A named object with arguments (``{"name", "arguments"}``; a name alone is
    data such as a person), or a wrapper around a named object; not a tool's
    definition (a name, a description and parameters).
    """
    if not isinstance(value, dict):
        return False
    inner = _unwrap(value)
    if not isinstance(inner.get("name"), str):
        return False
    if "description" in inner and not ("arguments" in inner or "args" in inner):
        return False  # a tool's definition, its "parameters" a JSON schema
    return inner is not value or any(k in value for k in _ARG_KEYS)


_FIRST_KEY = re.compile(r"""\A[^{\[]*\{\s*["']?([\w$-]*)""")


def _first_key(text: str) -> list[str] | None:
    """The first key of the object ``text`` opens (``None`` if it opens a list)."""
    found = _FIRST_KEY.match(text)
    return None if found is None else [found.group(1)]


def _entries(data: Any) -> list[Any] | str | None:
    """The call entries a decoded reply object holds.

    Returns:
        The entries; an error text if it holds a malformed list of calls;
        ``None`` if it is not a call at all (it is data, passed on as text).
    """
    if isinstance(data, list):
        return data if data and all(_is_call(e) for e in data) else None
    if not isinstance(data, dict):
        return None
    for key in _LIST_KEYS:
        if key in data:
            entries = data[key]
            if isinstance(entries, dict):
                return [entries]
            if isinstance(entries, list):
                return entries
            return f"its {key!r} is not a list of calls"
    return [data] if _is_call(data) else None


# -- recognizing a call's opening, a prefix at a time ----------------------------------

_MORE: Final = -1
"""A matcher's verdict: the text ends before it can decide."""
_NO: Final = -2
"""A matcher's verdict: the text does not open a call."""
_SPACE: Final = " \t\r\n"
_RUNS: Final = {
    chars: re.compile(f"[{re.escape(chars)}]*") for chars in (_SPACE, " \t", " \t\r")
}
"""The runs `_skip` skips, matched in C."""
OPENING_LIMIT: Final = 1000
"""The characters an opening is decided in: one still undecided after them
(a brace followed by a thousand spaces) is text. Every decision reads a bounded
prefix, so a reply is read in time linear in its length, whatever it holds."""
_FENCE: Final = "```"
_FENCE_INFO = re.compile(r"[ \t]*[\w+.-]*[ \t]*\r?")
_WORD = re.compile(r"[A-Za-z_]*")
_TOOL_NAME = re.compile(r"[\w-]*")  # OpenAI's names: letters, digits, _ and -
_OPENING_KEYS: Final = frozenset(
    {"tool_calls", "tool_call", "function_call", "function", "name", "arguments"}
    | {"id", "role"}  # OpenAI's entry, and its assistant message {"role", ...}
)
_TYPE: Final = "type"
"""Opens a call only as ``"type": "function"`` (OpenAI's entry)."""
_CALL_HINT = re.compile(  # a key only a call has: JSON that may not parse is one
    r"""(?<![\w$])["']?(?:tool_calls?|function(?:_call)?|arguments|args|parameters)"""
    r"""["']?\s*:"""
)
_NAME_IN_TEXT = re.compile(  # the tool's name in the text of a call that did not parse
    r"""(?<![\w$])["']?name["']?\s*:\s*(["'])((?:(?!\1)[^\\]|\\.)*)\1"""
)
_OPENERS = {
    True: re.compile(r"[{\[`\n]"),
    False: re.compile("[{]"),
}


def _skip(s: str, i: int, chars: str = _SPACE) -> int:
    return _RUNS[chars].match(s, i).end()  # type: ignore[union-attr]  # matches ""


def _capped(at: int, rest: str) -> int:
    """A matcher's verdict on ``rest``: `_NO` once it is undecided for too long."""
    return _NO if at == _MORE and len(rest) >= OPENING_LIMIT else at


def _expect(s: str, i: int, word: str) -> int:
    """The index past ``word`` at ``s[i]``, else `_MORE` or `_NO`."""
    if s.startswith(word, i):
        return i + len(word)
    return _MORE if word.startswith(s[i:]) else _NO


def _fence_body(s: str) -> int:
    """Where the content of the code fence opening ``s`` starts (past spaces)."""
    i = _expect(s, 0, _FENCE)
    if i < 0:
        return i
    newline = s.find("\n", i)
    if not _FENCE_INFO.fullmatch(s[i:] if newline < 0 else s[i:newline]):
        return _NO
    if newline < 0:
        return _MORE
    i = _skip(s, newline + 1)
    return i if i < len(s) else _MORE


def _key(s: str, i: int) -> int:
    """The index past a call's first key at ``s[i]``, quoted either way or not."""
    quote = s[i] if i < len(s) and s[i] in "\"'" else ""
    start = i + len(quote)
    end = _WORD.match(s, start).end()  # type: ignore[union-attr]  # matches ""
    word = s[start:end]
    if end == len(s):
        keys = (*_OPENING_KEYS, _TYPE)
        return _MORE if any(k.startswith(word) for k in keys) else _NO
    if word not in _OPENING_KEYS and word != _TYPE:
        return _NO
    unquoted_end = end if s[end] in f"{_SPACE}:" else _NO
    i = _expect(s, end, quote) if quote else unquoted_end
    if i < 0 or word != _TYPE:
        return i
    i = _expect(s, _skip(s, i), ":")
    if i < 0:
        return i
    i = _skip(s, i)
    if i == len(s):
        return _MORE
    if s[i] not in "\"'":
        return _NO
    return _expect(s, i + 1, f"function{s[i]}")


def _json_opening(s: str) -> int:
    """Where a call object opens in ``s``, which starts with ``{``, ``[`` or a backtick.

    Returns:
        The offset of the object's ``{`` or ``[`` (past a code fence's first
        line), or `_MORE` / `_NO`.
    """
    at = 0
    if s[0] == "`":
        at = _fence_body(s)
        if at < 0:
            return at
    i = at
    if s[i] == "[":
        i = _skip(s, i + 1)
        if i == len(s):
            return _MORE
    if s[i] != "{":
        return _NO
    i = _key(s, _skip(s, i + 1))
    return i if i < 0 else at


def _opening_at(buf: str, found: re.Match[str]) -> int:
    """Where the first possible opening in ``buf`` is, or -1.

    Args:
        buf: The text.
        found: The first brace, bracket, backtick or newline in it.

    Returns:
        The offset of the ``{``, ``[`` or backtick, or of a newline followed
        by an ``A`` (perhaps ``Action:``) or ending ``buf``.
    """
    while True:
        at = found.start()
        if buf[at] != "\n" or at + 1 == len(buf) or buf[at + 1] == "A":
            return at
        next_found = _OPENERS[True].search(buf, at + 1)
        if next_found is None:
            return -1
        found = next_found


def _envelope_opening(s: str) -> int:
    """Whether ``s``, which starts with ``{``, opens the package's own envelope.

    Returns:
        ``0`` for ``{"tool_calls"`` (strict JSON, spaces allowed after the
        brace), else `_MORE` / `_NO`.
    """
    i = _expect(s, _skip(s, 1), '"tool_calls"')
    return i if i < 0 else 0


def _react_opening(s: str) -> tuple[int, str]:
    """Read ReAct's ``Action: <tool>`` and ``Action Input:`` lines opening ``s``.

    The tool's name may be in backticks; ``Input`` may be ``input``.

    Returns:
        The offset of the Action Input (past spaces) and the tool's name, or
        `_MORE` / `_NO` and ``""``.
    """
    i = _expect(s, 0, "Action")
    if i >= 0:
        i = _expect(s, _skip(s, i, " \t"), ":")
    if i < 0:
        return i, ""
    start = _skip(s, i, " \t")
    quote = "`" if s.startswith("`", start) else ""  # Markdown: `get_weather`
    start += len(quote)
    end = _TOOL_NAME.match(s, start).end()  # type: ignore[union-attr]  # matches ""
    if end == len(s):
        return _MORE, ""
    if end == start:
        return _NO, ""
    i = _expect(s, end, quote)
    if i >= 0:
        i = _expect(s, _skip(s, i, " \t\r"), "\n")
    if i >= 0:
        i = _skip(s, i, " \t")
        i = max(_expect(s, i, "Action Input"), _expect(s, i, "Action input"))
    if i >= 0:
        i = _expect(s, _skip(s, i, " \t"), ":")
    if i >= 0:
        i = _skip(s, i, " \t")
        if i == len(s):
            i = _MORE
    return i, s[start:end]


class _ObjectEnd:
    """Finds where a JSON (or JSON5) object closes, fed one slice at a time.

    Brackets inside strings (either quote) and comments do not count.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""
        self.escaped = False
        self.comment = ""
        self.last = ""  # a "/" that may open a comment, a "*" that may close one

    def feed(self, text: str) -> int:
        """Return the index just past the closing brace in ``text``, or -1."""
        for i, ch in enumerate(text):
            last, self.last = self.last, ""
            if self.quote:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == self.quote:
                    self.quote = ""
            elif self.comment == "//":
                if ch == "\n":
                    self.comment = ""
            elif self.comment == "/*":
                if last == "*" and ch == "/":
                    self.comment = ""
                else:
                    self.last = ch
            elif last == "/" and ch in "/*":
                self.comment = "/" + ch
            elif ch in "\"'":
                self.quote = ch
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.depth == 0:
                    return i + 1
            elif ch == "/":
                self.last = ch
        return -1


# -- the reply parser ------------------------------------------------------------


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Adjacent text pieces as one: a delta of braces is one chunk, not one each."""
    if len(pieces) < 2:
        return pieces
    merged: list[Piece] = []
    text: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece)
            continue
        if text:
            merged.append("".join(text))
            text = []
        merged.append(piece)
    if text:
        merged.append("".join(text))
    return merged


_State = Literal[
    "plain", "start", "text", "call", "answer", "fence_close", "react_line", "done"
]


class ReplyParser:
    """A state machine over an answer's text deltas: text and tool calls out.

    Feed each text delta as it arrives with `feed`, then call
    `finish`; both return the `Piece` s decided so far, in order.
    Splitting the same reply differently never changes the result.

    * With neither tools nor a JSON answer format, text passes through untouched.
    * With tools offered, plain text is passed on at once; only a possible call
      opening is held until decided: an object or a list of objects whose first
      key (quoted either way or not) is one a call starts with (``tool_calls``,
      ``name``, ``function``, ``"type": "function"`` …), the same as the first
      thing in a code fence, or an ``Action:`` line. A complete call object
      (JSON, else JSON5) becomes one tool-call chunk per call (a fresh id each,
      ``args`` as JSON text); its code fence, and whitespace that would end the
      message's text, are dropped. An object that opens like a call but holds
      none (a person's ``{"name", "age"}``, a list of other data) is passed on
      as text. ``Action: <tool>`` with ``Action Input: <object>`` on the next
      line is a call too; text before it stays text.
    * A malformed call (unparseable or cut-off JSON, a call without a name,
      arguments that are not an object) becomes a chunk whose ``args`` is a JSON
      *string* holding the offending text, so LangChain files it under
      ``invalid_tool_calls`` (its lenient partial-JSON repair cannot turn a
      string into arguments). `errors` says what was wrong with it.
    * With ``strict``, only the package's own envelope is a call: a
      ``{"tool_calls": [...]}`` object in strict JSON that opens the reply
      (whitespace aside). Everything else is text: a call after prose or
      after the first envelope, in a code fence, in another shape, in JSON5,
      or as ReAct lines. For agents whose replies may quote untrusted text.
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
        tool_names: Collection[str] | None = None,
        answer_keys: Collection[str] | None = None,
        new_id: Callable[[], str] = new_call_id,
        strict: bool = False,
    ) -> None:
        """Configure what to look for.

        Args:
            tool_calls: Whether tools were offered (look for calls).
            json_only: Whether the answer must be bare JSON.
            tool_names: The offered tools' names (``None``: any name). With
                ``json_only``, an object that names another tool and has the
                answer's keys is the JSON answer, not a call (an answer schema
                may have ``name`` and ``arguments``).
            answer_keys: The answer schema's top-level properties; ``None``
                when it has none (then an object outside the ``tool_calls``
                envelope that names another tool is the answer).
            new_id: Makes tool-call ids.
            strict: Read only the package's own envelope, opening the reply,
                as a call.
        """
        self._calls = tool_calls  # strict: until the envelope is read
        self._strict = strict
        self._in_text = tool_calls and not strict  # calls found within text
        self._json_only = json_only
        self._names = None if tool_names is None else frozenset(tool_names)
        self._answer_keys = None if answer_keys is None else frozenset(answer_keys)
        self._new_id = new_id
        self._openers = _OPENERS[self._in_text]
        self._state: _State = "start" if tool_calls or json_only else "plain"
        self._buf = ""
        self._parts: list[str] = []  # a call or Action Input read so far, before _buf
        self._space: list[str] = []
        self._space_ends_text = False
        self._held: list[str] = []
        self._prefix = ""
        self._fenced = False
        self._react = ""
        self._end = _ObjectEnd()
        self._index = 0
        self._valid: list[str] = []
        self._errors: dict[str, str] = {}

    @property
    def calls_made(self) -> int:
        """How many tool calls (valid or not) the reply has produced so far."""
        return self._index

    @property
    def valid_calls(self) -> list[str]:
        """The names of the valid tool calls so far, in order."""
        return list(self._valid)

    @property
    def errors(self) -> Mapping[str, str]:
        """What was wrong with each invalid tool call so far, by call id."""
        return MappingProxyType(self._errors)

    def feed(self, text: str) -> list[Piece]:
        """Take the next text delta.

        Args:
            text: The delta.

        Returns:
            The pieces decided by it (possibly none); adjacent text as one.
        """
        if self._state == "plain":
            return [text] if text else []
        self._buf += text
        out: list[Piece] = []
        while self._buf and self._step(out):
            pass
        return _merged(out)

    def finish(self) -> list[Piece]:
        """End the reply and return what was still undecided.

        Returns:
            The remaining pieces: held text, or an invalid call for a call
            object that never closed.
        """
        out: list[Piece] = []
        if self._state == "call":
            self._cut_off(out, self._pending())
        elif self._state == "react_line":
            out.extend(self._arguments(self._react, self._pending().strip()))
        elif self._state == "text":
            self._emit(out, self._buf)
        self._buf = ""
        if self._held:
            out.append("".join(self._held))
            self._held.clear()
        if self._space and not self._space_ends_text:
            out.append("".join(self._space))
        self._space.clear()
        self._state = "done"
        return out

    # -- states ----------------------------------------------------------------

    def _step(self, out: list[Piece]) -> bool:
        """Advance one state; return False when more text is needed."""
        if self._state == "text":
            return self._text(out)
        if self._state == "start":
            stripped = self._buf.lstrip()
            self._buf = stripped
            if not stripped:
                return False
            opened = self._open_reply(stripped) if self._calls else False
            if opened is not False:
                return bool(opened)
            self._state = "text"
            return True
        if self._state in ("call", "answer"):
            return self._object(out)
        if self._state == "fence_close":
            return self._fence_close()
        if self._state == "react_line":
            return self._react_line(out)
        self._buf = ""  # "done": whatever follows a JSON answer is dropped
        return False

    def _text(self, out: list[Piece]) -> bool:
        """Pass text on up to a possible opening; enter what it opens.

        Openings that open nothing pass on as text without copying the rest of
        the buffer, so a delta full of braces is read in linear time.
        """
        buf, pos = self._buf, 0
        while True:
            found = self._openers.search(buf, pos)
            at = -1 if found is None else _opening_at(buf, found)
            if at < 0:
                self._emit(out, buf[pos:])
                self._buf = ""
                return False
            self._emit(out, buf[pos:at])
            line = 1 if buf[at] == "\n" else 0  # a newline: does "Action:" follow?
            opened: bool | None = False
            if self._in_text:
                opened = self._open(buf, at + line) if len(buf) > at + line else None
            if opened is None:
                self._buf = buf[at:]
                return False
            if opened:
                self._emit(out, buf[at : at + line])
                return True
            if self._json_only and buf[at] == "{":
                self._held.clear()
                self._space.clear()
                self._buf = buf[at:]
                self._enter("answer")
                return True
            self._emit(out, buf[at : at + line + 1])
            pos = at + line + 1

    def _open_reply(self, rest: str) -> bool | None:
        """What opens the reply (or follows a call): ``Action:``, or the envelope.

        Returns:
            Whether a call was entered; ``None`` while undecided.
        """
        if not self._strict:
            return self._open(rest, 0) if rest[0] == "A" else False
        if rest[0] != "{":
            return False
        head = rest[:OPENING_LIMIT]
        at = _capped(_envelope_opening(head), head)
        if at == _MORE:
            return None
        if at == _NO:
            return False
        self._space_ends_text = True
        self._prefix, self._buf = "", rest
        self._enter("call")
        return True

    def _open(self, buf: str, start: int) -> bool | None:
        """Enter a call if ``buf[start:]`` opens one; ``None`` while undecided.

        The verdict reads at most `OPENING_LIMIT` characters.
        """
        rest = buf[start : start + OPENING_LIMIT]
        if rest[0] in "{[`":
            at, react = _json_opening(rest), ""
        else:
            at, react = _react_opening(rest)
        at = _capped(at, rest)
        if at == _MORE:
            return None
        if at == _NO:
            return False
        self._space_ends_text = True
        self._prefix, self._buf = rest[:at], buf[start + at :]
        self._fenced = rest[0] == "`"
        self._react = react
        if react and rest[at] != "{":
            self._prefix = ""
            self._state = "react_line"
        else:
            self._enter("call")
        return True

    def _enter(self, state: _State) -> None:
        self._state = state
        self._end = _ObjectEnd()
        self._parts.clear()

    def _pending(self) -> str:
        """The text read since the call (or Action Input) began; taken."""
        text = "".join((*self._parts, self._buf))
        self._parts.clear()
        self._buf = ""
        return text

    def _object(self, out: list[Piece]) -> bool:
        buf = self._buf
        end = self._end.feed(buf)  # each character is scanned once
        if self._state == "answer":  # streams; nothing is kept in the buffer
            out.append(buf if end < 0 else buf[:end])
            if end < 0:
                self._buf = ""
                return False
            self._state = "done"
            return True
        if end < 0:  # kept as a part: the buffer never grows by copying
            self._parts.append(buf)
            self._buf = ""
            return False
        self._buf = buf[:end]
        raw = self._pending()
        self._buf = buf[end:]
        if self._react:
            name, self._react = self._react, ""
            out.extend(self._arguments(name, raw))
            self._state = "start"
            return True
        calls = self._parse_calls(raw)
        if calls is not None:
            out.extend(calls)
            self._calls = self._calls and not self._strict  # strict: one envelope
            self._state = "fence_close" if self._fenced else "start"
        elif self._json_only:
            out.append(raw)
            self._held.clear()
            self._state = "done"
        else:
            self._state = "text"
            self._fenced = False
            self._emit(out, self._prefix + raw)
        return True

    def _fence_close(self) -> bool:
        """After a call in a code fence: drop the closing fence, or read the next."""
        stripped = self._buf.lstrip()
        self._buf = stripped
        if len(stripped) < len(_FENCE) and _FENCE.startswith(stripped):
            return False
        if stripped[0] in "{[":  # another call in the same fence?
            rest = stripped[:OPENING_LIMIT]
            at = _capped(_json_opening(rest), rest)
            if at == _MORE:
                return False
            if at == 0:
                self._prefix = ""
                self._enter("call")
                return True
        elif stripped.startswith(_FENCE):
            self._buf = stripped[len(_FENCE) :]
        self._fenced = False
        self._state = "start"
        return True

    def _react_line(self, out: list[Piece]) -> bool:
        """Read an Action Input that is not an object: the rest of its line."""
        buf = self._buf
        newline = buf.find("\n")  # in the new text only
        if newline < 0:
            self._parts.append(buf)
            self._buf = ""
            return False
        self._buf = buf[:newline]
        line = self._pending()
        self._buf = buf[newline + 1 :]
        out.extend(self._arguments(self._react, line.strip()))
        self._state = "start"
        return True

    # -- output ----------------------------------------------------------------

    def _emit(self, out: list[Piece], text: str) -> None:
        """Pass text on, holding trailing whitespace (dropped if a call follows)."""
        if not text:
            return
        if self._json_only:
            self._held.append(text)
            return
        core = text.rstrip()
        if not core:  # kept as a part: a run of spaces is not copied again
            self._space.append(text)
            return
        out.append("".join((*self._space, core)))
        self._space_ends_text = False
        self._space = [text[len(core) :]] if len(core) < len(text) else []

    def _cut_off(self, out: list[Piece], text: str) -> None:
        """End a call object that never closed: invalid if it looks like a call."""
        if self._react:
            out.extend(self._invalid(self._react, text, _CUT_OFF))
        elif _CALL_HINT.search(text):
            found = _NAME_IN_TEXT.search(text)
            name = found.group(2) if found else None
            if self._answer_not_call(_first_key(text), [name]):
                self._emit(out, self._prefix + text)
            else:
                out.extend(self._invalid(name, text, _CUT_OFF))
        else:
            self._emit(out, self._prefix + text)

    def _answer_not_call(self, keys: Collection[str] | None, names: list[Any]) -> bool:
        """Whether a call-shaped object is the JSON answer, not a call.

        It is when a JSON answer is asked for, it names a tool that was not
        offered, and its keys are the answer schema's (without a schema: it
        is not the ``{"tool_calls": [...]}`` envelope). A call of an unknown
        tool in the reply format stays a call.

        Args:
            keys: The object's top-level keys (``None`` for a list).
            names: The names of the calls it would be.
        """
        known = self._names
        if not self._json_only or known is None or keys is None:
            return False
        if all(n in known for n in names):
            return False
        if self._answer_keys is not None:
            return set(keys) <= self._answer_keys
        return not set(keys) & set(_LIST_KEYS)

    def _parse_calls(self, raw: str) -> list[Piece] | None:
        """Turn a complete call-like object into chunks; ``None`` if not a call."""
        try:
            data = loads_bounded(raw) if self._strict else _lenient_json(raw)
        except ValueError as error:
            if not _CALL_HINT.search(raw):
                return None
            found = _NAME_IN_TEXT.search(raw)
            name = found.group(2) if found else None
            if self._answer_not_call(_first_key(raw), [name]):
                return None
            return self._invalid(name, raw, str(error))
        entries = _entries(data)
        if isinstance(entries, str):
            return self._invalid(None, raw, entries)
        if entries is None or self._answer_not_call(
            list(data) if isinstance(data, dict) else None,
            [_unwrap(e).get("name") if isinstance(e, dict) else None for e in entries],
        ):
            return None
        out: list[Piece] = []
        for entry in entries:
            out.extend(self._call(entry))
        return out

    def _call(self, entry: Any) -> list[Piece]:
        if not isinstance(entry, dict):
            return self._invalid(None, _dumps(entry), "the call is not a JSON object")
        inner = _unwrap(entry)
        name = inner.get("name")
        if not isinstance(name, str) or not name:
            text = _dumps(entry)
            named = name if isinstance(name, str) else None
            return self._invalid(named, text, "the call has no tool name")
        key = next((k for k in _ARG_KEYS if k in inner), None)
        return self._arguments(name, {} if key is None else inner[key])

    def _arguments(self, name: str, args: Any) -> list[Piece]:
        """One call's chunk, from its arguments as an object or as JSON text."""
        if isinstance(args, str):
            if not args.strip():
                args = {}
            else:
                try:
                    decoded = _lenient_json(args)
                except ValueError as error:
                    return self._invalid(name, args, f"its arguments are {error}")
                if not isinstance(decoded, dict):
                    error_text = f"its arguments are not a JSON object: {args}"
                    return self._invalid(name, args, error_text)
                args = decoded
        if not isinstance(args, dict):
            text = _dumps(args)
            return self._invalid(
                name, text, f"its arguments are not a JSON object: {text}"
            )
        self._valid.append(name)
        return [self._chunk(name, _dumps(args), self._new_id())]

    def _invalid(self, name: str | None, text: str, error: str) -> list[Piece]:
        call_id = self._new_id()
        self._errors[call_id] = error
        return [self._chunk(name, _dumps(text), call_id)]

    def _chunk(self, name: str | None, args: str, call_id: str) -> ToolCallChunk:
        index = self._index
        self._index += 1
        return tool_call_chunk(name=name, args=args, id=call_id, index=index)
