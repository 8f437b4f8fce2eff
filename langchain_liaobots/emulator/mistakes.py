"""An imperfect model: correct answers in, the deviations real models write out.

The default responder follows the package's instructions exactly; GPT-3.5 and
GPT-4-class models often do not. This module holds the catalogue of what they
write instead (`MISTAKES`: names to `Mistake`, in the order the
docs list them) and the responder wrapper that makes them
(`with_mistakes`, behind ``LiaobotsEmulator(mistakes=...)``):

* a `Mistake` is a pure function from a `Reply` (the correct
  answer text the wrapped responder gave: a ``{"tool_calls": [...]}`` object or
  a JSON answer, plus the names of the offered tools) to the imperfect text. It
  parses the correct JSON and writes it again, so it works for any tool or
  schema. Its ``expected`` says how a well-behaved client ends up with it;
* `with_mistakes` applies one of the named mistakes to each tool-call or
  JSON answer (plain text passes unchanged): with one name, that one; with
  several, a seeded random draw per reply among those that apply to it. After a
  repair request (a user message starting with `REPAIR_PREFIX`) or a failed
  tool call it answers the original request correctly, or keeps erring with
  ``persist=True``; the exchanges of errors it was told of earlier are
  dropped from what the wrapped responder reads, so a failed call is still
  to be made;
* `catalogue_table` renders the catalogue as the Markdown table of the
  docs.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from langchain_core.messages import ToolMessage

from langchain_liaobots.emulator.responder import Responder
from langchain_liaobots.prompt.structured import (
    REPAIR_PREFIX,
    read_answer_instructions,
)
from langchain_liaobots.prompt.tools import (
    read_tool_instructions,
    read_tool_result,
    render_tool_result,
)

__all__ = [
    "MISTAKES",
    "REPAIR_PREFIX",
    "Expected",
    "Kind",
    "Mistake",
    "MistakenResponder",
    "Reply",
    "catalogue_table",
    "mistake_names",
    "with_mistakes",
]

Kind = Literal["tool_call", "json"]
"""The kinds of answer a mistake can apply to: a tool call, a JSON answer."""

Expected = Literal["read", "repaired", "tool_node", "cut"]
"""What a well-behaved client ends with, given a mistake's reply:

* ``"read"`` — the call or answer is read correctly from the one reply;
* ``"repaired"`` — it takes a repair turn (with ``persist=True``: a typed error);
* ``"tool_node"`` — a call of an unknown tool, which an agent's tool node
  answers with an error;
* ``"cut"`` — the call is read and the text the model forged after it dropped.
"""


_KIND_NAMES: Final = {"tool_call": "tool calls", "json": "JSON answers"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPE_OR_QUOTE = re.compile(r"\\.|'")
_INVENTED_RESULT: Final = "The request succeeded."
_NO_ACCESS: Final = (
    "I'm sorry, but I don't have access to real-time data or external tools, "
    "so I can't look that up. Please check a reliable source for the latest "
    "information."
)
_HALLUCINATED: Final = "web_search"
_CLOSING: Final = "Let me know if you need anything else."


@dataclass(frozen=True)
class Reply:
    """A correct answer, as a mistake reads it.

    Attributes:
        text: The correct answer text: ``{"tool_calls": [...]}`` JSON for a tool
            call, or the JSON answer.
        kind: ``"tool_call"`` or ``"json"``.
        tools: The names of the offered tools, in order (empty for a JSON
            answer).
    """

    text: str
    kind: Kind
    tools: tuple[str, ...] = ()

    @property
    def value(self) -> Any:
        """The correct answer parsed from JSON."""
        return json.loads(self.text)

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The calls of a tool-call answer: ``{"name", "arguments"}`` dicts."""
        calls: list[dict[str, Any]] = self.value["tool_calls"]
        return calls


@dataclass(frozen=True)
class Mistake:
    """One deviation from the instructions, as real models make it.

    Attributes:
        name: The catalogue name, e.g. ``"single_quotes"``.
        description: One line for the docs: what the model writes.
        applies_to: The kinds of answer it applies to.
        expected: What a well-behaved client ends with (see `Expected`).
        rewrite: Turns the correct answer into the imperfect text.
    """

    name: str
    description: str
    applies_to: frozenset[Kind]
    expected: Expected
    rewrite: Callable[[Reply], str] = field(repr=False)


# -- writing JSON the wrong way ----------------------------------------------------


def _quoted(text: str, quote: str) -> str:
    written = json.dumps(text, ensure_ascii=False)
    if quote == '"':
        return written

    def swap(match: re.Match[str]) -> str:
        found = match.group()
        return '"' if found == '\\"' else "\\'" if found == "'" else found

    return quote + _ESCAPE_OR_QUOTE.sub(swap, written[1:-1]) + quote


def _dump(
    value: Any,
    *,
    quote: str = '"',
    bare_keys: bool = False,
    trailing: bool = False,
    indent: int | None = None,
    level: int = 0,
) -> str:
    """Write ``value`` as ``json.dumps(value, ensure_ascii=False)`` does, or not.

    Args:
        value: A JSON value.
        quote: The quote around strings and keys.
        bare_keys: Write keys that are identifiers without quotes.
        trailing: Write a comma after the last item of every object and list.
        indent: Spaces a level, one item a line; ``None`` writes one line.
        level: The nesting level of ``value``.

    Returns:
        The text.
    """
    if isinstance(value, str):
        return _quoted(value, quote)
    if not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False)

    def inner(item: Any) -> str:
        return _dump(
            item,
            quote=quote,
            bare_keys=bare_keys,
            trailing=trailing,
            indent=indent,
            level=level + 1,
        )

    if isinstance(value, dict):
        items = [
            f"{k if bare_keys and _IDENTIFIER.fullmatch(k) else _quoted(k, quote)}: "
            f"{inner(v)}"
            for k, v in value.items()
        ]
        opening, closing = "{", "}"
    else:
        items = [inner(v) for v in value]
        opening, closing = "[", "]"
    end = "," if trailing else ""
    if indent is None:
        return f"{opening}{', '.join(items)}{end}{closing}"
    pad, outer = " " * (indent * (level + 1)), " " * (indent * level)
    body = ",\n".join(pad + item for item in items)
    return f"{opening}\n{body}{end}\n{outer}{closing}"


def _call_id(index: int, name: str) -> str:
    """A call id in OpenAI's style, the same for the same call of every reply."""
    digest = hashlib.sha256(f"{index}:{name}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def _calls_of(calls: Sequence[Mapping[str, Any]]) -> str:
    """``calls`` in the package's reply format."""
    return json.dumps({"tool_calls": list(calls)}, ensure_ascii=False)


def _arguments_text(arguments: Mapping[str, Any]) -> str:
    """``city=Paris, days=3``: arguments as a model mentions them in prose."""
    return ", ".join(f"{k}={_plain(v)}" for k, v in arguments.items())


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- the rewrites ------------------------------------------------------------------


def _fenced(info: str) -> Callable[[Reply], str]:
    def rewrite(reply: Reply) -> str:
        return f"```{info}\n{reply.text}\n```"

    return rewrite


def _prose_around(reply: Reply) -> str:
    before = (
        "Sure! I'll look that up."
        if reply.kind == "tool_call"
        else "Sure! Here is the JSON you asked for:"
    )
    return f"{before}\n{reply.text}\n{_CLOSING}"


def _openai_shape(reply: Reply) -> str:
    calls = [
        {
            "id": _call_id(i, c["name"]),
            "type": "function",
            "function": {
                "name": c["name"],
                "arguments": json.dumps(c["arguments"], ensure_ascii=False),
            },
        }
        for i, c in enumerate(reply.calls)
    ]
    return json.dumps({"tool_calls": calls}, ensure_ascii=False)


def _function_wrapper(reply: Reply) -> str:
    return "\n".join(
        json.dumps({"function": c}, ensure_ascii=False) for c in reply.calls
    )


def _bare_list(reply: Reply) -> str:
    return json.dumps(reply.calls, ensure_ascii=False)


def _single_quotes(reply: Reply) -> str:
    return _dump(reply.value, quote="'")


def _trailing_commas(reply: Reply) -> str:
    return _dump(reply.value, trailing=True, indent=2)


def _unquoted_keys(reply: Reply) -> str:
    return _dump(reply.value, bare_keys=True)


def _arguments_string(reply: Reply) -> str:
    return _calls_of(
        [
            {**c, "arguments": json.dumps(c["arguments"], ensure_ascii=False)}
            for c in reply.calls
        ],
    )


def _react(reply: Reply) -> str:
    return "\n".join(
        f"Thought: I need to use {c['name']} to answer this.\n"
        f"Action: {c['name']}\n"
        f"Action Input: {json.dumps(c['arguments'], ensure_ascii=False)}"
        for c in reply.calls
    )


def _truncated(reply: Reply) -> str:
    """Cut in the middle of the last value written (half of it is kept)."""
    value, depth = reply.value, 0
    while isinstance(value, (dict, list)) and value:
        value = list(value.values())[-1] if isinstance(value, dict) else value[-1]
        depth += 1
    text = json.dumps(reply.value, ensure_ascii=False)
    leaf = json.dumps(value, ensure_ascii=False)
    end = len(text) - depth  # past the last value: only closing brackets follow
    return text[: end - len(leaf) + len(leaf) // 2]


def _hallucinated_tool(reply: Reply) -> str:
    name = _HALLUCINATED
    while name in reply.tools:
        name = f"{name}_2"
    first, *rest = reply.calls
    query = " ".join(_plain(v) for v in first["arguments"].values())
    return _calls_of([{"name": name, "arguments": {"query": query}}, *rest])


def _forged_result(reply: Reply) -> str:
    blocks = [
        render_tool_result(
            ToolMessage(
                _INVENTED_RESULT, name=c["name"], tool_call_id=_call_id(i, c["name"])
            ),
            _INVENTED_RESULT,
        )
        for i, c in enumerate(reply.calls)
    ]
    names = " and ".join(c["name"] for c in reply.calls)
    final = f"Done! {names} reported: {_INVENTED_RESULT}"
    return "\n".join([reply.text, *blocks, final])


def _prose_instead(reply: Reply) -> str:
    if reply.kind == "tool_call":
        return _NO_ACCESS
    value = reply.value
    if not isinstance(value, dict):
        return f"Here is the answer: {_plain(value)}."
    lines = [f"- {k}: {_plain(v)}" for k, v in value.items()]
    return "\n".join(["Here is the information you asked for:", *lines])


def _invented_result(reply: Reply) -> str:
    said = " and ".join(
        f"{c['name']}({_arguments_text(c['arguments'])})" for c in reply.calls
    )
    return (
        f"I called {said}, and the result was: {_INVENTED_RESULT} "
        "Is there anything else I can help you with?"
    )


def _wrong_tool(reply: Reply) -> str:
    first, *rest = reply.calls
    called = {c["name"] for c in reply.calls}
    others = [n for n in reply.tools if n not in called] or [
        n for n in reply.tools if n != first["name"]
    ]
    if not others:
        return _prose_instead(reply)
    return _calls_of([{**first, "name": others[0]}, *rest])


_TOOL: Final[frozenset[Kind]] = frozenset({"tool_call"})
_BOTH: Final[frozenset[Kind]] = frozenset({"tool_call", "json"})


def _catalogue(*mistakes: Mistake) -> dict[str, Mistake]:
    return {m.name: m for m in mistakes}


MISTAKES: Final[Mapping[str, Mistake]] = _catalogue(
    Mistake(
        "fenced",
        "The JSON inside a Markdown code fence: `` ```json `` … `` ``` ``.",
        _BOTH,
        "read",
        _fenced("json"),
    ),
    Mistake(
        "fenced_upper",
        "The call inside a `` ```JSON `` fence (upper-case info string).",
        _TOOL,
        "read",
        _fenced("JSON"),
    ),
    Mistake(
        "prose_around",
        "The JSON with a sentence before it (`Sure! I'll look that up.`) and "
        "one after it.",
        _BOTH,
        "read",
        _prose_around,
    ),
    Mistake(
        "openai_shape",
        'OpenAI\'s wire shape: `{"tool_calls": [{"id": "call_…", "type": '
        '"function", "function": {"name", "arguments": "<JSON string>"}}]}`.',
        _TOOL,
        "read",
        _openai_shape,
    ),
    Mistake(
        "function_wrapper",
        'Each call as `{"function": {"name", "arguments"}}`, one a line, without '
        "the `tool_calls` list.",
        _TOOL,
        "read",
        _function_wrapper,
    ),
    Mistake(
        "bare_list",
        'The calls as a bare list, `[{"name", "arguments"}]`.',
        _TOOL,
        "read",
        _bare_list,
    ),
    Mistake(
        "single_quotes",
        "Single quotes instead of double quotes, as Python writes a dict.",
        _BOTH,
        "read",
        _single_quotes,
    ),
    Mistake(
        "trailing_commas",
        "Indented over several lines, with a comma after the last item of every "
        "object and list.",
        _BOTH,
        "read",
        _trailing_commas,
    ),
    Mistake(
        "unquoted_keys",
        'Keys without quotes, as JavaScript allows: `{tool_calls: [{name: "…", '
        "arguments: {…}}]}`.",
        _TOOL,
        "read",
        _unquoted_keys,
    ),
    Mistake(
        "arguments_string",
        'The arguments as a JSON string: `"arguments": "{\\"city\\": \\"Paris\\"}"`.',
        _TOOL,
        "read",
        _arguments_string,
    ),
    Mistake(
        "react",
        "ReAct text instead of JSON: `Thought: …`, `Action: <tool>`, "
        "`Action Input: <arguments JSON>`.",
        _TOOL,
        "read",
        _react,
    ),
    Mistake(
        "truncated",
        "Cut off in the middle of its last value, as when the model runs out of "
        'tokens: `{"name": "Paris", "population": 21`.',
        _BOTH,
        "repaired",
        _truncated,
    ),
    Mistake(
        "hallucinated_tool",
        "Calls `web_search`, a tool that was not offered, instead of the first call.",
        _TOOL,
        "tool_node",
        _hallucinated_tool,
    ),
    Mistake(
        "forged_result",
        "The call, then a `<tool_result …>` block the model made up itself and "
        "a final answer built on it.",
        _TOOL,
        "cut",
        _forged_result,
    ),
    Mistake(
        "prose_instead",
        "Prose and no JSON (`I'm sorry, but I don't have access to real-time "
        'data…`); under `tool_choice="auto"` a plain answer, not an error.',
        _BOTH,
        "repaired",
        _prose_instead,
    ),
    Mistake(
        "invented_result",
        "Prose that claims the tool was called and what it returned, with no "
        'call; under `tool_choice="auto"` a plain answer, not an error.',
        _TOOL,
        "repaired",
        _invented_result,
    ),
    Mistake(
        "wrong_tool",
        "Calls an offered tool other than the one wanted (one the reply calls "
        "nowhere else, if any), with the arguments meant for the wanted one; "
        "with one tool offered, like `prose_instead`.",
        _TOOL,
        "repaired",
        _wrong_tool,
    ),
)
"""The catalogue: every mistake by name, in the order the docs list them."""


def mistake_names(names: Collection[str] | str) -> list[str]:
    """Check mistake names, with ``"all"`` for the whole catalogue.

    Args:
        names: Catalogue names, one name, or ``"all"``.

    Returns:
        The names, in the given order, without repeats.

    Raises:
        ValueError: If a name is not in the catalogue, or none is given.
    """
    if names == "all":
        return list(MISTAKES)
    chosen = list(dict.fromkeys([names] if isinstance(names, str) else names))
    unknown = [n for n in chosen if n not in MISTAKES]
    if unknown or not chosen:
        msg = (
            f"Unknown mistake(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(MISTAKES)}, or 'all'."
        )
        raise ValueError(msg)
    return chosen


def _is_repair(message: Mapping[str, str]) -> bool:
    return message["role"] == "user" and message["content"].startswith(REPAIR_PREFIX)


def _is_failed_call(message: Mapping[str, str]) -> bool:
    """Whether a message is a tool result that reports an error.

    That is ``status="error"``, or text that starts with ``Error`` (how
    LangChain's structured-output strategy words one).
    """
    result = read_tool_result(message["content"]) if message["role"] == "user" else None
    return result is not None and (not result.ok or result.text.startswith("Error"))


def _without_repairs(payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The payload as if the model had not erred, and whether it was just told.

    The model is told of an error by a repair turn (its reply, then the user's
    repair request) or by failed tool calls (its reply, then results with
    ``status="error"`` or text starting with ``Error``, as a tool node sends for
    an unknown tool and an agent's structured-output tool for bad arguments).
    Every such exchange is dropped, wherever it is in the conversation, so a
    mistake corrected earlier does not count as an answered call later (an
    agent's ``Report`` that failed validation is still to be called). It was
    *just* told when the conversation ends with one.
    """
    messages: list[Mapping[str, str]] = payload["messages"]
    kept: list[Mapping[str, str]] = []
    for message in messages:
        if kept and (_is_repair(message) or _is_failed_call(message)):
            if len(kept) > 1 and kept[-1]["role"] == "assistant":
                kept.pop()  # the reply it answers
            continue
        kept.append(message)
    told = len(messages) > 1 and (
        _is_repair(messages[-1]) or _is_failed_call(messages[-1])
    )
    return {**payload, "messages": kept}, told


def _is_call(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("arguments"), dict)
    )


def _reply_of(payload: Mapping[str, Any], text: str) -> Reply | None:
    """Read the correct answer of ``payload``: a tool call, a JSON answer, or None.

    A tool call is a non-empty ``{"tool_calls": [{"name", "arguments"}]}`` when
    tools are offered; a JSON answer is any JSON when one is asked for.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return None
    offer = read_tool_instructions(payload["prompt"])
    calls = value.get("tool_calls") if isinstance(value, dict) else None
    if offer is not None and isinstance(calls, list) and calls:
        if not all(map(_is_call, calls)):
            return None
        return Reply(text, "tool_call", tuple(f["name"] for f in offer.functions))
    if read_answer_instructions(payload["prompt"]) is not None:
        return Reply(text, "json")
    return None


class MistakenResponder:
    """A responder that makes the catalogue's mistakes in another's answers.

    Attributes:
        responder: The wrapped responder, which gives the correct answers.
        names: The mistakes it may make, in order.
        persist: Whether it keeps erring after a repair request.
        made: For each answer, the name of the mistake made, or ``None``.
    """

    def __init__(
        self,
        responder: Responder,
        names: Collection[str] | str,
        *,
        seed: int,
        persist: bool,
    ) -> None:
        """Wrap ``responder``; see `with_mistakes`."""
        self.responder = responder
        self.names = mistake_names(names)
        self.persist = persist
        self.made: list[str | None] = []
        self._random = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret

    def __call__(self, payload: dict[str, Any]) -> str:
        """Answer ``payload`` with one of the mistakes, when one applies.

        Args:
            payload: A validated ``/api/chat`` payload.

        Returns:
            The wrapped responder's answer to the payload without its repair
            turns, rewritten by the mistake drawn; unchanged when it is plain
            text, when no named mistake applies to it, or, unless
            ``persist``, once the model was told of an error (a repair
            request, or a tool result with ``status="error"``, as an agent's
            tool node sends for a call of an unknown tool).
        """
        original, told = _without_repairs(payload)
        text = self.responder(original)
        reply = _reply_of(original, text)
        usable = (
            []
            if reply is None or (told and not self.persist)
            else [n for n in self.names if reply.kind in MISTAKES[n].applies_to]
        )
        if reply is None or not usable:
            self.made.append(None)
            return text
        name = usable[0] if len(usable) == 1 else self._random.choice(usable)
        self.made.append(name)
        return MISTAKES[name].rewrite(reply)


def with_mistakes(
    responder: Responder,
    names: Collection[str] | str = "all",
    *,
    seed: int = 0,
    persist: bool = False,
) -> MistakenResponder:
    """Wrap a responder so it answers as an imperfect model.

    Args:
        responder: Gives the correct answers, e.g. ``default_responder``.
        names: The catalogue's mistakes to make (`MISTAKES`), one name,
            or ``"all"``.
        seed: Seeds the draw of a mistake per answer when several apply.
        persist: Keep erring after a repair request or a failed tool call (to
            test the error path); by default the model, once told of its
            error, answers correctly.

    Returns:
        The responder.

    Raises:
        ValueError: If a name is not in the catalogue.
    """
    return MistakenResponder(responder, names, seed=seed, persist=persist)


def catalogue_table() -> str:
    """Render the catalogue as the Markdown table of the docs.

    Returns:
        A table with one row per mistake: name, the answers it applies to, what
        the model writes, and what a well-behaved client ends with.
    """
    rows = [
        "| name | applies to | what the model writes | expected |",
        "|---|---|---|---|",
    ]
    for m in MISTAKES.values():
        kinds = ", ".join(
            _KIND_NAMES[k] for k in ("tool_call", "json") if k in m.applies_to
        )
        rows.append(f"| `{m.name}` | {kinds} | {m.description} | `{m.expected}` |")
    return "\n".join(rows)
