"""The emulator's default responder: a validated chat payload in, answer text out.

A responder is any callable ``(payload: dict) -> str``; the server streams the
string it returns. The default one plays a deterministic model that follows the
instructions langchain-liaobots writes into the system prompt (read back with
`read_tool_instructions` and
`read_answer_instructions`), so tests,
demos and agents run end to end offline. In order, the first rule that applies:

1. **Tools offered, and a call wanted** — it replies
   ``{"tool_calls": [{"name": ..., "arguments": {...}}]}``. With ``tool_choice``
   naming a tool: that tool. With ``"any"``: one call — the first tool the
   request asks for that has no result since the request, else the first tool
   without one, else the first tool. With ``"auto"``: when the last message is
   the request, every tool it asks for (none: no call). A request *asks for* a
   tool when it contains the tool's name, however it is spelt (``get_weather``,
   ``get weather``, ``GetWeather`` or ``getWeather`` name both ``get_weather``
   and ``GetWeather``), or a word of four letters or more from it
   (``weather``; generic words such as ``tool`` and ``function`` do not count).
2. **A JSON answer asked for** — an object conforming to the schema, or, in JSON
   mode (no schema), one whose keys are the words quoted in the request
   (``{"answer": <request>}`` when none is quoted).
3. **After tool results** — a text answer reporting them, one line each:
   ``<tool> returned: <result>`` (``<tool> failed: <error>``).
4. **Otherwise** — ``"You said: <the last user message>"``.

The *request* is the last user message that is neither a tool result nor the
package's repair request (which asks again for the same request); the
package's markup escaped in it, and in tool results, is read unescaped. Arguments and
JSON values are read from it and from the successful tool results after it, field
by field in schema order:

* numbers — the numbers in the results, then in the request, in order;
* strings — the request's quoted text (``'…'``, ``"…"``, ``“…”``, ``「…」``,
  ``«…»``…), then its names (runs of capitalised words, the first word of a
  sentence excepted, and runs of letters of scripts without case: Chinese,
  Japanese, Arabic, …), then the results' texts; when none is left, the field's
  default, else the whole request;
* booleans — true when the texts say ``true`` or ``yes``; enums — the first value
  the texts mention, else the first value; ``const`` — its value;
* a required field with no value gets its default, else its lower bound or 0
  (numbers), ``false``, ``[]`` (or ``minItems`` filled items); optional fields
  with no value are left out.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_liaobots.prompt.structured import (
    REPAIR_PREFIX,
    AnswerFormat,
    read_answer_instructions,
)
from langchain_liaobots.prompt.tools import (
    ToolOffer,
    ToolResult,
    read_tool_instructions,
    read_tool_result,
    unescape_markup,
)

__all__ = ["Responder", "default_responder"]

Responder = Callable[[dict[str, Any]], str]
"""Maps a validated ``/api/chat`` payload to the answer text to stream."""

_MISSING: Final = object()
_GENERIC_WORDS: Final = frozenset(
    {"tool", "tools", "function", "functions", "call", "data", "info", "value"}
)
_QUOTED = re.compile(  # "…", '…' (not an apostrophe), and typographic quotes
    r'"([^"\n]+)"|(?<!\w)\'([^\'\n]+)\'(?!\w)'
    r"|\u201c([^\u201d\n]+)\u201d|\u2018([^\u2019\n]+)\u2019"
    r"|\u300c([^\u300d\n]+)\u300d|\u300e([^\u300f\n]+)\u300f"
    r"|\u00ab([^\u00bb\n]+)\u00bb"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_TOKEN = re.compile(r"[^\W_]+")
_SENTENCE_END: Final = ".!?\n\u3002\uff01\uff1f"
_OPENING_PUNCTUATION: Final = " \t\"'([\u201c\u2018\u00ab\u300c\u300e"


@dataclass(frozen=True)
class _Conversation:
    """What the responder reads from the messages.

    Attributes:
        request: The last user message that is not a tool result.
        results: The tool results after it, in order.
        ends_with_result: Whether the last message is a tool result.
    """

    request: str
    results: list[ToolResult]
    ends_with_result: bool

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, str]], prompt: str) -> _Conversation:
        if not messages:  # the prompt alone: the service forwards it so
            return cls(request=prompt, results=[], ends_with_result=False)
        request, results = "", list[ToolResult]()
        for message in messages:
            if message["role"] != "user":
                continue
            result = read_tool_result(message["content"])
            if message["content"].startswith(REPAIR_PREFIX):
                continue  # the package asks again; the request stays the same
            if result is None:  # the user's text, its markup unescaped
                request, results = unescape_markup(message["content"]), []
            else:
                results.append(result)
        last = messages[-1]
        ends = last["role"] == "user" and read_tool_result(last["content"]) is not None
        return cls(request=request, results=results, ends_with_result=ends)


def default_responder(payload: dict[str, Any]) -> str:
    """Answer deterministically, following the package's instructions.

    Args:
        payload: A validated ``/api/chat`` payload.

    Returns:
        A tool-call JSON object, a JSON answer, a report of tool results, or
        ``"You said: <text of the last user message>"`` (rules in the module
        docstring).
    """
    prompt: str = payload["prompt"]
    convo = _Conversation.of(payload["messages"], prompt)
    offer = read_tool_instructions(prompt)
    chosen = _choose_tools(offer, convo) if offer is not None else []
    if chosen:
        calls = [{"name": f["name"], "arguments": _arguments(f, convo)} for f in chosen]
        return json.dumps({"tool_calls": calls}, ensure_ascii=False)
    answer = read_answer_instructions(prompt)
    if answer is not None:
        return json.dumps(_json_answer(answer, convo), ensure_ascii=False)
    if convo.results:
        return "\n".join(
            f"{r.name or 'The tool'} {'returned' if r.ok else 'failed'}: {r.text}"
            for r in convo.results
        )
    return f"You said: {convo.request}"


# -- which tools ---------------------------------------------------------------


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\W_]+", spaced) if w]


def _mentions(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, ignoring case."""
    words = " ".join(_TOKEN.findall(phrase.lower()))
    return bool(words) and f" {words} " in f" {' '.join(_TOKEN.findall(text.lower()))} "


def _asks_for(name: str, request: str) -> bool:
    """Whether ``request`` names the tool, in any spelling, or a word of it.

    ``get_weather``, ``get weather``, ``GetWeather`` and ``getWeather`` all
    name the tool ``get_weather`` (and ``GetWeather``); ``weather`` is a word
    of it.
    """
    words = _name_words(name)
    if _mentions(request, " ".join(words)):
        return True
    if "".join(words) in _TOKEN.findall(request.lower()):
        return True
    spoken = _name_words(request)
    return any(w in spoken for w in words if len(w) >= 4 and w not in _GENERIC_WORDS)


def _choose_tools(offer: ToolOffer, convo: _Conversation) -> list[dict[str, Any]]:
    functions = offer.functions
    if offer.choice == "auto":
        if convo.ends_with_result:
            return []
        return [f for f in functions if _asks_for(f["name"], convo.request)]
    if offer.choice != "any":
        return [f for f in functions if f["name"] == offer.choice][:1]
    answered = {r.name for r in convo.results}
    fresh = [f for f in functions if f["name"] not in answered] or functions
    asked = [f for f in fresh if _asks_for(f["name"], convo.request)]
    return (asked or fresh)[:1]


# -- which values --------------------------------------------------------------


def _quoted(text: str) -> tuple[list[str], str]:
    """Return the quoted strings of ``text`` and the text without them."""
    found = [
        next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)
    ]
    return found, _QUOTED.sub(" ", text)


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(_OPENING_PUNCTUATION)
    return not before or before[-1] in _SENTENCE_END


def _names(text: str) -> list[str]:
    """Return runs of capitalised words (not sentence-initial) or caseless letters."""
    names: list[str] = []
    run: tuple[int, int] | None = None
    for match in _WORD.finditer(text):
        word, start = match.group(), match.start()
        first = word[0]
        caseless = not first.isupper() and not first.islower()
        capitalised = first.isupper() and len(word) > 1
        if caseless or (capitalised and not _starts_sentence(text, start)):
            if run is not None and not text[run[1] : start].strip(" \t"):
                run = (run[0], match.end())
            else:
                if run is not None:
                    names.append(text[run[0] : run[1]])
                run = (start, match.end())
        elif run is not None:
            names.append(text[run[0] : run[1]])
            run = None
    if run is not None:
        names.append(text[run[0] : run[1]])
    return names


def _numbers(text: str) -> list[float | int]:
    return [float(n) if "." in n else int(n) for n in _NUMBER.findall(text)]


class _Values:
    """The pools of values read from a conversation, consumed field by field."""

    def __init__(self, convo: _Conversation) -> None:
        results = [r.text for r in convo.results if r.ok]
        texts = [*results, convo.request]
        quoted, unquoted = _quoted(convo.request)
        self.numbers = deque(n for text in texts for n in _numbers(text))
        self.strings = deque([*quoted, *_names(unquoted), *results])
        self.request = convo.request
        self.text = "\n".join(texts)


class _Filler:
    """Builds a value conforming to a JSON Schema from a conversation's values."""

    def __init__(self, root: Mapping[str, Any], values: _Values) -> None:
        self.root = root
        self.values = values

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return self._resolve(target) if isinstance(target, Mapping) else {}

    def fill(self, schema: Mapping[str, Any], *, required: bool) -> Any:
        """Return a value for ``schema``, or ``_MISSING`` for an omitted field."""
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._enum(list(schema["enum"]), schema, required=required)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self._resolve(o) for o in schema[key]]
                usable = [o for o in options if o.get("type") != "null"] or options
                return self.fill(usable[0], required=required)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            merged.update({k: v for k, v in schema.items() if k != "allOf"})
            return self.fill(merged, required=required)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None and "properties" in schema:
            kind = "object"
        if kind == "object":
            return self._object(schema) if required else _MISSING
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer", required=required)
        if kind == "string":
            return self._string(schema, required=required)
        if kind == "boolean":
            return self._boolean(schema, required=required)
        if kind == "array":
            if not required:
                return _MISSING
            item, count = schema.get("items", {}), schema.get("minItems", 0)
            return [self.fill(item, required=True) for _ in range(count)]
        if kind == "null":
            return None
        return self.values.request if required else _MISSING

    def _object(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        needed = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for key, sub in schema.get("properties", {}).items():
            value = self.fill(sub, required=key in needed)
            if value is not _MISSING:
                out[key] = value
        return out

    def _number(
        self, schema: Mapping[str, Any], *, integer: bool, required: bool
    ) -> Any:
        if self.values.numbers:
            value: float = self.values.numbers.popleft()
        elif not required:
            return _MISSING
        elif isinstance(schema.get("default"), (int, float)):
            value = schema["default"]
        elif "minimum" in schema:
            value = max(0, schema["minimum"])
        elif "exclusiveMinimum" in schema:
            value = max(0, schema["exclusiveMinimum"] + 1)
        else:
            value = 0
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        if "exclusiveMaximum" in schema:
            value = min(value, schema["exclusiveMaximum"] - 1)
        return int(value) if integer else value

    def _string(self, schema: Mapping[str, Any], *, required: bool) -> Any:
        if self.values.strings:
            return self.values.strings.popleft()
        if not required:
            return _MISSING
        default = schema.get("default")
        return default if isinstance(default, str) else self.values.request

    def _boolean(self, schema: Mapping[str, Any], *, required: bool) -> Any:
        if _mentions(self.values.text, "true") or _mentions(self.values.text, "yes"):
            return True
        if not required:
            return _MISSING
        return bool(schema.get("default", False))

    def _enum(
        self, options: list[Any], schema: Mapping[str, Any], *, required: bool
    ) -> Any:
        for option in options:
            if _mentions(self.values.text, str(option)):
                return option
        if not required:
            return _MISSING
        default = schema.get("default")
        return default if default in options else options[0]


def _arguments(function: Mapping[str, Any], convo: _Conversation) -> dict[str, Any]:
    parameters = function.get("parameters") or {}
    value = _Filler(parameters, _Values(convo)).fill(parameters, required=True)
    return value if isinstance(value, dict) else {}


def _json_answer(answer: AnswerFormat, convo: _Conversation) -> Any:
    values = _Values(convo)
    if answer.schema is not None:
        return _Filler(answer.schema, values).fill(answer.schema, required=True)
    keys, _ = _quoted(convo.request)
    return dict.fromkeys(keys, convo.request) or {"answer": convo.request}
