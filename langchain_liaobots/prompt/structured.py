"""Structured output: a schema in, JSON answers asked for and parsed back out.

Liaobots has no JSON mode, so a JSON answer is asked for in the system prompt
and the reply parser (`langchain_liaobots.prompt.reply.ReplyParser`) keeps only
the JSON object. This module holds that layer's sans-I/O parts:

* `read_response_format` accepts an OpenAI-style ``response_format``
  per-call kwarg — ``{"type": "json_schema", "json_schema": {"name", "schema"}}``
  (what ``langchain.agents.create_agent`` binds for models it believes support
  native structured output, e.g. ``gpt-4o-free``) or ``{"type": "json_object"}``;
* `render_answer_instructions` writes the system-prompt section asking for
  a bare JSON object (with the schema inside ``<json_schema>`` … ``</json_schema>``)
  and `read_answer_instructions` reads it back (the emulator's side);
* `structured_output` builds ``with_structured_output``'s runnable for
  the three methods: ``json_schema`` (the schema is sent), ``json_mode`` (only
  "answer with JSON" is sent; describe the keys in your prompt) and
  ``function_calling`` (the schema becomes a forced tool);
* the repair: when a reply does not parse, does not validate against a Pydantic
  schema, or (``function_calling``) calls no tool, up to ``parse_retries`` more
  turns show the model its own reply and the error (`REPAIR_REQUEST`) and
  ask again. With ``include_raw=True`` the result is LangChain's ``{"raw",
  "parsed", "parsing_error"}``, the last attempt's; after more than one,
  ``raw.response_metadata["attempts"]`` says how many;
* streaming: ``stream`` and ``astream`` yield growing partial values as each
  attempt's reply arrives (LangChain's JSON parsers' partials), then the
  checked result; the repair works as in ``invoke``.
  Only structured output is repaired: a plain ``bind_tools`` call whose
  arguments are wrong stays an ``invalid_tool_calls`` entry or a call for the
  caller (an agent's tool node) to answer with an error, as with other models.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import pyjson5
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    message_chunk_to_message,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import Generation
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import (
    convert_to_json_schema,
    convert_to_openai_tool,
)
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ValidationError

from langchain_liaobots.prompt.reply import (
    json_section,
    loads_bounded,
    read_json_section,
)

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForChainRun,
        CallbackManagerForChainRun,
    )
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import RunnableConfig
    from pydantic import BaseModel

__all__ = [
    "JSON_ONLY",
    "JSON_REPAIR_ASK",
    "REPAIR_PREFIX",
    "REPAIR_REQUEST",
    "AnswerFormat",
    "Method",
    "answer_keys",
    "error_text",
    "parse_whole_json",
    "read_answer_instructions",
    "read_response_format",
    "read_whole_json",
    "render_answer_instructions",
    "structured_output",
]

Method = Literal["json_schema", "json_mode", "function_calling"]
"""The ways ``with_structured_output`` can ask for structured output."""

JSON_ONLY: Final = (
    "Give your answer as only a JSON object, with no text before or after it "
    "and no code fence."
)
"""The instruction that asks for a bare JSON answer."""

_SCHEMA_TAG: Final = "json_schema"
_METHODS: Final = ("json_schema", "json_mode", "function_calling")

REPAIR_REQUEST: Final = (
    "Your previous reply could not be used:\n{error}\n\nReply again, corrected: {ask}"
)
"""The repair turn's message; ``{error}`` is the parse or validation error."""

REPAIR_PREFIX: Final = REPAIR_REQUEST.partition("{error}")[0].strip()
"""How every repair turn's message starts."""

JSON_REPAIR_ASK: Final = "only the whole JSON object, with no other text."
"""What a repair turn asks for after a reply that holds no whole JSON object."""

_REPAIR_ASK: Final = {
    "json_schema": "only the JSON object, conforming to the schema, no other text.",
    "json_mode": JSON_REPAIR_ASK,
    "function_calling": (
        'call the tool "{name}" with arguments that conform to its JSON Schema.'
    ),
}
_TROUBLESHOOTING: Final = (
    "For troubleshooting, visit",
    "For further information visit",
)


@dataclass(frozen=True)
class AnswerFormat:
    """A request for a JSON answer.

    Attributes:
        schema: The JSON Schema the answer must conform to; ``None`` asks for
            any JSON object (JSON mode).
    """

    schema: dict[str, Any] | None


def read_response_format(value: Any) -> AnswerFormat | None:
    """Read an OpenAI-style ``response_format`` kwarg.

    Args:
        value: ``None`` or ``{"type": "text"}`` (plain text),
            ``{"type": "json_object"}`` (any JSON object) or
            ``{"type": "json_schema", "json_schema": {"name": ..., "schema":
            {...}}}`` (an object conforming to the schema).

    Returns:
        The answer format, or ``None`` for plain text.

    Raises:
        ValueError: If the value has another shape.
    """
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return AnswerFormat(schema=None)
    spec = value.get("json_schema") if kind == "json_schema" else None
    if isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping):
        return AnswerFormat(schema=dict(spec["schema"]))
    msg = (
        f"Unsupported response_format {value!r}: use {{'type': 'json_schema', "
        "'json_schema': {'name': ..., 'schema': {...}}}, {'type': 'json_object'} "
        "or {'type': 'text'}."
    )
    raise ValueError(msg)


def answer_keys(answer: AnswerFormat | None) -> list[str] | None:
    """The top-level properties of a JSON answer's schema, if it names them.

    Args:
        answer: The requested format, or ``None``.

    Returns:
        The property names, or ``None`` (no schema, or one without
        ``properties``).
    """
    schema = None if answer is None else answer.schema
    properties = None if schema is None else schema.get("properties")
    return list(properties) if isinstance(properties, Mapping) else None


def render_answer_instructions(answer: AnswerFormat) -> str:
    """Render the system-prompt section that asks for a bare JSON answer.

    Args:
        answer: The requested format.

    Returns:
        The section.
    """
    text = f"# Answer format\n\n{JSON_ONLY}"
    if answer.schema is None:
        return text
    return (
        f"{text}\nIt must conform to this JSON Schema:\n"
        f"{json_section(_SCHEMA_TAG, answer.schema)}"
    )


def read_answer_instructions(prompt: str) -> AnswerFormat | None:
    """Read back what `render_answer_instructions` wrote into a prompt.

    Args:
        prompt: A request's system prompt.

    Returns:
        The requested format, or ``None`` if the prompt asks for no JSON answer.
    """
    if JSON_ONLY not in prompt:
        return None
    schema = read_json_section(prompt, _SCHEMA_TAG)
    return AnswerFormat(schema=schema if isinstance(schema, dict) else None)


def _json_schema(schema: dict[str, Any] | type, strict: bool | None) -> dict[str, Any]:
    """Return the JSON Schema of a Pydantic class, TypedDict or schema dict."""
    is_function = isinstance(schema, dict) and (
        "function" in schema or {"name", "parameters"} <= schema.keys()
    )
    if isinstance(schema, dict) and not is_function:
        return schema
    return convert_to_json_schema(schema, strict=strict)


def error_text(error: Exception) -> str:
    """The error for the model: without the links meant for developers."""
    lines = str(error).strip().splitlines()
    return "\n".join(
        line for line in lines if not line.strip().startswith(_TROUBLESHOOTING)
    )


_FENCED = re.compile(r"\A```[\w+.-]*[ \t]*\r?\n(.*?)\n?```\Z", re.S)


def parse_whole_json(text: str) -> Any:
    """Parse a JSON answer that must be whole (see `read_whole_json`).

    Args:
        text: The answer text (a code fence around it is accepted).

    Returns:
        The parsed value.

    Raises:
        OutputParserException: ``"Invalid json output: <text>"`` and why.
    """
    return read_whole_json(text)[0]


def read_whole_json(text: str) -> tuple[Any, bool]:
    """Parse a JSON answer that must be whole, and say whether it was strict.

    Strict JSON first; then JSON5 (single quotes, trailing commas, unquoted
    keys, comments), which models write. A value cut off before it closes is
    never completed: it is an error.

    Args:
        text: The answer text (a code fence around it is accepted).

    Returns:
        The parsed value, and whether ``text`` (stripped) was strict JSON as it
        stands (no fence, no JSON5).

    Raises:
        OutputParserException: ``"Invalid json output: <text>"`` and why.
    """
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    body = fenced.group(1).strip() if fenced else stripped
    try:
        return loads_bounded(body), fenced is None
    except json.JSONDecodeError as err:
        strict = err
    except ValueError as err:  # too deep, or a number of too many digits
        msg = f"Invalid json output: {text}\nIt is not readable: {err}."
        raise OutputParserException(msg, llm_output=text) from err
    try:
        return pyjson5.decode(body), False
    except pyjson5.Json5Exception:
        pass
    if not body:
        why = "The reply holds no JSON."
    elif strict.pos >= len(body):
        why = "The JSON is cut off: it ends before the value is complete."
    else:
        why = f"It is not valid JSON: {strict.msg} at character {strict.pos}."
    msg = f"Invalid json output: {text}\n{why}"
    raise OutputParserException(msg, llm_output=text) from strict


class _WholeJsonOutputParser(JsonOutputParser):
    """A JSON parser whose final result must be whole (see `parse_whole_json`).

    Partial results, the previews while streaming, stay lenient; when a
    stream ends, its whole text is parsed once more and a cut-off answer is an
    error.
    """

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        if partial:
            try:
                return super().parse_result(result, partial=True)
            except (RecursionError, ValueError):  # too deep, too many digits
                return None  # no preview; the whole answer is judged at the end
        return parse_whole_json(result[0].text)

    def _transform(
        self,
        input: Iterator[str | BaseMessage],  # noqa: A002 (the base's name)
    ) -> Iterator[Any]:
        seen: list[str | BaseMessage] = []
        yield from super()._transform(_kept(input, seen))
        self.parse_result([Generation(text=_joined(seen))])

    async def _atransform(
        self,
        input: AsyncIterator[str | BaseMessage],  # noqa: A002 (the base's name)
    ) -> AsyncIterator[Any]:
        seen: list[str | BaseMessage] = []
        async for value in super()._atransform(_akept(input, seen)):
            yield value
        self.parse_result([Generation(text=_joined(seen))])


class _WholePydanticOutputParser(PydanticOutputParser, _WholeJsonOutputParser):  # type: ignore[type-arg]
    """A Pydantic parser over `_WholeJsonOutputParser`."""


def _kept(
    items: Iterator[str | BaseMessage], seen: list[str | BaseMessage]
) -> Iterator[str | BaseMessage]:
    for item in items:
        seen.append(item)
        yield item


async def _akept(
    items: AsyncIterator[str | BaseMessage], seen: list[str | BaseMessage]
) -> AsyncIterator[str | BaseMessage]:
    async for item in items:
        seen.append(item)
        yield item


def _joined(items: list[str | BaseMessage]) -> str:
    return "".join(i if isinstance(i, str) else i.text for i in items)


@dataclass
class _Attempts:
    """The turns of one structured call: replies in, the next input or the result.

    Sans-I/O, so the sync and async runs share it: `take` each reply;
    it returns the messages to send next, or ``None`` when done.
    """

    repair: _Repair
    messages: list[BaseMessage]
    log: list[dict[str, Any]] = field(default_factory=list)
    parsed: Any = None

    def take(self, raw: AIMessage) -> list[BaseMessage] | None:
        parsed, error = self.repair.parse(raw)
        self.log.append({"raw": raw, "parsing_error": error})
        if error is None or len(self.log) > self.repair.retries:
            self.parsed = parsed
            return None
        ask = REPAIR_REQUEST.format(error=error_text(error), ask=self.repair.ask)
        self.messages = [*self.messages, raw, HumanMessage(ask)]
        return self.messages

    def result(self) -> Any:
        """The parsed value, or LangChain's ``{"raw", "parsed", "parsing_error"}``.

        With more than one attempt, the raw message's ``response_metadata``
        says how many (``attempts``), as a repaired model call's does.

        Raises:
            OutputParserException: The last attempt's error (without
                ``include_raw``).
        """
        last = self.log[-1]
        if self.repair.include_raw:
            raw: AIMessage = last["raw"]
            if len(self.log) > 1:
                metadata = {**raw.response_metadata, "attempts": len(self.log)}
                raw = raw.model_copy(update={"response_metadata": metadata})
            return {
                "raw": raw,
                "parsed": self.parsed,
                "parsing_error": last["parsing_error"],
            }
        if last["parsing_error"] is not None:
            raise last["parsing_error"]
        return self.parsed


@dataclass
class _Partials:
    """One streamed attempt: its chunks in, growing partial values out.

    Attributes:
        parser: Parses the text so far leniently; ``None`` yields no partials
            (a forced tool's call arrives whole).
        chunks: The attempt's message chunks so far.
        last: The last partial value given out.
    """

    parser: JsonOutputParser | None
    chunks: list[AIMessageChunk] = field(default_factory=list)
    last: Any = None
    _texts: list[str] = field(default_factory=list)

    def take(self, chunk: AIMessageChunk) -> list[Any]:
        """Take the next chunk; return the new partial value, if it changed."""
        self.chunks.append(chunk)
        if self.parser is None or not chunk.text:
            return []
        self._texts.append(chunk.text)
        text = "".join(self._texts)
        value = self.parser.parse_result([Generation(text=text)], partial=True)
        if value is None or value == self.last:
            return []
        self.last = value
        return [value]

    def message(self) -> AIMessage:
        """The attempt's whole reply."""
        if not self.chunks:
            return AIMessage("")
        merged = add_ai_message_chunks(self.chunks[0], *self.chunks[1:])
        return cast("AIMessage", message_chunk_to_message(merged))


@dataclass(frozen=True)
class _Repair:
    """Structured output that repairs itself: ask, parse, and ask again on error."""

    model: BaseChatModel
    llm: Runnable[LanguageModelInput, Any]
    parser: Runnable[Any, Any]
    retries: int
    include_raw: bool
    ask: str
    tool_name: str | None

    def parse(self, raw: AIMessage) -> tuple[Any, Exception | None]:
        """Parse one reply: the value, or the error to show the model."""
        try:
            parsed = self.parser.invoke(raw)
        except (OutputParserException, ValidationError) as err:
            return None, err
        if parsed is None and self.tool_name is not None:
            malformed = "".join(
                f" Its call could not be read: {c.get('error') or c.get('args')}"
                for c in raw.invalid_tool_calls[:1]
            )
            msg = f'The reply did not call the tool "{self.tool_name}".{malformed}'
            return None, OutputParserException(msg, llm_output=raw.text)
        return parsed, None

    def _attempts(self, value: LanguageModelInput) -> _Attempts:
        return _Attempts(self, self.model._convert_input(value).to_messages())

    def _partials(self) -> _Partials:
        parser = self.parser if isinstance(self.parser, JsonOutputParser) else None
        return _Partials(parser)

    def stream(
        self, value: LanguageModelInput, config: RunnableConfig
    ) -> Iterator[Any]:
        """Run the turns synchronously, yielding growing partial values.

        Each attempt's partial values stream as its reply arrives; the last
        value is the checked result. With ``include_raw``, only the result.

        Raises:
            OutputParserException: When the last attempt still fails.
        """
        if self.include_raw:
            yield self.invoke(value, config)
            return
        attempts = self._attempts(value)
        messages: list[BaseMessage] | None = attempts.messages
        last: Any = None  # the last partial value given out
        while messages is not None:
            partials = self._partials()
            for chunk in self.llm.stream(messages, config):
                yield from partials.take(chunk)
            last = partials.last
            messages = attempts.take(partials.message())
        result = attempts.result()
        if result != last:
            yield result

    async def astream(
        self, value: LanguageModelInput, config: RunnableConfig
    ) -> AsyncIterator[Any]:
        """Run the turns in the event loop, yielding growing partial values.

        Raises:
            OutputParserException: When the last attempt still fails.
        """
        if self.include_raw:
            yield await self.ainvoke(value, config)
            return
        attempts = self._attempts(value)
        messages: list[BaseMessage] | None = attempts.messages
        last: Any = None  # the last partial value given out
        while messages is not None:
            partials = self._partials()
            async for chunk in self.llm.astream(messages, config):
                for partial in partials.take(chunk):
                    yield partial
            last = partials.last
            messages = attempts.take(partials.message())
        result = attempts.result()
        if result != last:
            yield result

    def invoke(self, value: LanguageModelInput, config: RunnableConfig) -> Any:
        """Run the turns synchronously."""
        attempts = self._attempts(value)
        messages: list[BaseMessage] | None = attempts.messages
        while messages is not None:
            messages = attempts.take(self.llm.invoke(messages, config))
        return attempts.result()

    async def ainvoke(self, value: LanguageModelInput, config: RunnableConfig) -> Any:
        """Run the turns in the event loop."""
        attempts = self._attempts(value)
        messages: list[BaseMessage] | None = attempts.messages
        while messages is not None:
            messages = attempts.take(await self.llm.ainvoke(messages, config))
        return attempts.result()


def structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: Method,
    include_raw: bool,
    strict: bool | None,
    retries: int = 0,
) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
    """Build the runnable behind ``ChatLiaobots.with_structured_output``.

    Args:
        model: The chat model.
        schema: A Pydantic class (v1 or v2), a TypedDict, a JSON Schema dict or
            an OpenAI function dict.
        method: ``"json_schema"``, ``"json_mode"`` or ``"function_calling"``.
        include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of
            raising on a parsing error.
        strict: Ask for exactly the schema (``additionalProperties: false``);
            not accepted with ``json_mode``.
        retries: Repair turns after a reply that does not parse or validate.
            Either way the parsed value streams as the reply arrives (with
            ``include_raw``, only the result, at the end).

    Returns:
        A runnable from the model's input to a Pydantic instance (for a
        Pydantic schema) or a dict.

    Raises:
        ValueError: If ``method`` is unknown, or ``strict`` is given with
            ``json_mode``.
    """
    if method not in _METHODS:
        msg = f"Unknown method {method!r}; use one of {', '.join(_METHODS)}."
        raise ValueError(msg)
    if method == "json_mode" and strict is not None:
        msg = "strict is not supported with method='json_mode'."
        raise ValueError(msg)
    ls_format = {"kwargs": {"method": method}, "schema": schema}
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    llm: Runnable[LanguageModelInput, Any]
    parser: Runnable[Any, Any]
    tool_name: str | None = None
    if method == "function_calling":
        tool_name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools(
            [schema],
            tool_choice=tool_name,
            strict=strict,
            check_reply=False,  # checked and repaired here, not twice
            ls_structured_output_format=ls_format,
        )
        if is_pydantic:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
        else:
            parser = JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
    else:
        if method == "json_schema":
            json_schema = _json_schema(schema, strict)
            spec: dict[str, Any] = {
                "name": json_schema.get("title", "response"),
                "schema": json_schema,
            }
            if strict is not None:
                spec["strict"] = strict
            response_format = {"type": "json_schema", "json_schema": spec}
        else:
            response_format = {"type": "json_object"}
        llm = model.bind(
            response_format=response_format,
            check_reply=False,  # checked and repaired here, not twice
            ls_structured_output_format=ls_format,
        )
        parser = (
            _WholePydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
            if is_pydantic
            else _WholeJsonOutputParser()
        )
    if not include_raw and not retries:
        return llm | parser
    repair = _Repair(
        model=model,
        llm=llm,
        parser=parser,
        retries=retries,
        include_raw=include_raw,
        ask=_REPAIR_ASK[method].format(name=tool_name),
        tool_name=tool_name,
    )
    return _StructuredOutput(repair)


class _StructuredOutput(Runnable[LanguageModelInput, Any]):
    """The repairing runnable: `_Repair`'s turns, traced as one run.

    ``invoke`` returns the checked value; ``stream`` yields growing partial
    values as LangChain's JSON output parsers do, then the checked value.
    """

    name = "StructuredOutput"

    def __init__(self, repair: _Repair) -> None:
        self.repair = repair

    def invoke(
        self,
        input: LanguageModelInput,  # noqa: A002 (the base's name)
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        return self._call_with_config(self._invoke, input, config)

    async def ainvoke(
        self,
        input: LanguageModelInput,  # noqa: A002 (the base's name)
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        return await self._acall_with_config(self._ainvoke, input, config)

    def stream(
        self,
        input: LanguageModelInput,  # noqa: A002 (the base's name)
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        yield from self._transform_stream_with_config(
            iter([input]), self._stream, config
        )

    async def astream(
        self,
        input: LanguageModelInput,  # noqa: A002 (the base's name)
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        async for value in self._atransform_stream_with_config(
            _aone(input), self._astream, config
        ):
            yield value

    # The steps run under the run's callbacks: LangChain passes the run
    # manager and the child config by these parameters' names.

    def _invoke(
        self,
        value: LanguageModelInput,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Any:
        return self.repair.invoke(value, config)

    async def _ainvoke(
        self,
        value: LanguageModelInput,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Any:
        return await self.repair.ainvoke(value, config)

    def _stream(
        self,
        inputs: Iterator[LanguageModelInput],
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Iterator[Any]:
        for value in inputs:
            yield from self.repair.stream(value, config)

    async def _astream(
        self,
        inputs: AsyncIterator[LanguageModelInput],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> AsyncIterator[Any]:
        async for value in inputs:
            async for partial in self.repair.astream(value, config):
                yield partial


async def _aone(value: LanguageModelInput) -> AsyncIterator[LanguageModelInput]:
    yield value
