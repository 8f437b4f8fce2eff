"""ChatLiaobots: LangChain messages in, streamed ``AIMessageChunk``s out.

The data flow of one call (``_stream``; ``_astream`` is the same over asyncio):

```text
messages ──_plan: prompt.prompting.plan_call──▶ a Call: instructions added,
                                its turns and the rule a reply must keep
for each turn (one request; more only to repair a reply that broke the rule):
  turn ──_exchange, the one seam to the wire:
           prompt.messages.to_wire──▶ prompt + wire messages
           wire.limits.check_limits, wire.request.build_request──▶ Request
           wire.exchange.chat──▶ the call's commands (sans-I/O; nothing sent)
       ──transport.drivers──▶ performed over the client that
                                transport.clients owns for these settings
       ──▶ text pieces as they arrive
       ──Turn.feed: wire.tokens.ReplyBudget (max_tokens), then
                    prompt.reply.ReplyParser──▶ ChatGenerationChunks (text,
                                tool calls), held back while the rule judges
──_last_chunk──▶ a final chunk_position="last" chunk: finish reason and the
                 estimated usage of every request
```

``_generate``/``_agenerate`` concatenate the streams, so ``invoke`` and ``stream``
share one path. The class reads top-down: the LangChain entry points first,
then the steps they call.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
)
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    UsageMetadata,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from langchain_liaobots.account import AccountState, parse_account
from langchain_liaobots.errors import (
    LiaobotsSecurityWarning,
    LiaobotsUnsupportedParameterWarning,
)
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.prompt.prompting import PLAN_KWARGS, Call, Turn, plan_call
from langchain_liaobots.prompt.structured import Method, structured_output
from langchain_liaobots.prompt.tools import function_of, normalize_tool_choice
from langchain_liaobots.registry import ModelSpec, get_model, register_discovered
from langchain_liaobots.transport.clients import (
    CLIENTS,
    DEFAULT_MAX_CONNECTIONS,
    Client,
)
from langchain_liaobots.transport.drivers import AsyncDriver, SyncDriver
from langchain_liaobots.wire import exchange
from langchain_liaobots.wire.auth import auth_code_problem
from langchain_liaobots.wire.limits import check_limits
from langchain_liaobots.wire.protocol import (
    DEFAULT_PROMPT,
    PROTOCOL_HEADERS,
    BodyFormat,
)
from langchain_liaobots.wire.request import build_models_request, build_request
from langchain_liaobots.wire.tokens import (
    count_input_tokens,
    count_text_tokens,
)
from langchain_liaobots.wire.urls import is_loopback, normalize_base_url

__all__ = ["ChatLiaobots"]

PROVIDER = "liaobots"

UNSENT_PARAMS = (
    "temperature",
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "n",
)
"""Fields other chat models have, accepted but not sent: the protocol has no slot.

Set on the model or passed per call, they warn with
`LiaobotsUnsupportedParameterWarning`."""


def _warn_unsent(params: dict[str, Any]) -> None:
    """Warn that the sampling parameters among ``params`` that are set go unsent."""
    unsent = [name for name, value in params.items() if value is not None]
    if unsent:
        warnings.warn(
            f"ChatLiaobots accepts {', '.join(unsent)} but cannot send "
            f"{'it' if len(unsent) == 1 else 'them'}: the Liaobots protocol "
            "has no field for sampling parameters, so the service uses its "
            "own settings. max_tokens is honoured (on the client).",
            LiaobotsUnsupportedParameterWarning,
            stacklevel=3,
        )


CALL_KWARGS = ("model", "max_tokens", "stream_usage", *PLAN_KWARGS, *UNSENT_PARAMS)
"""The per-call arguments ``ChatLiaobots`` reads (``invoke(..., name=value)``)."""


def _unknown_names(given: Iterable[Any], known: Iterable[str]) -> list[str]:
    """Name each of ``given`` that is not ``known``, with the closest known name."""
    names = sorted(set(known))
    hints = []
    for name in sorted(str(k) for k in given if k not in names):
        close = difflib.get_close_matches(name, names, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return hints


def _warn_unknown(kwargs: dict[str, Any]) -> None:
    """Warn that per-call arguments no option reads are ignored."""
    hints = _unknown_names(kwargs, CALL_KWARGS)
    if hints:
        warnings.warn(
            f"ChatLiaobots ignores the per-call argument(s) {', '.join(hints)}; "
            f"it reads {', '.join(CALL_KWARGS)}.",
            LiaobotsUnsupportedParameterWarning,
            stacklevel=3,
        )


class ChatLiaobots(BaseChatModel):
    """Chat model for the Liaobots chat service.

    Setup:
        Install ``langchain-liaobots`` and set the auth code:

        ```bash
        pip install langchain-liaobots
        export LIAOBOTS_AUTH_CODE="your-code"
        ```

        Without the service, run the bundled local server
        (``python -m langchain_liaobots.emulator``) and point ``base_url`` at it.

    Key init args:
        - `model`: The registry id (alias ``model_name``), e.g. ``"gpt-4"``; an
          unknown id is a ``ValueError`` at construction.
        - `auth`: The auth code (alias ``api_key``); env ``LIAOBOTS_AUTH_CODE``.
        - `base_url`: The service URL; env ``LIAOBOTS_BASE_URL``.
        - `timeout`: Seconds to connect and for each silence while reading.
        - `max_retries`: Retries for failures before the answer starts.
        - `max_tokens`: Stop reading the answer after about this many tokens.
        - `stream_usage`: Put the estimated usage on the last streamed chunk.
        - `parse_retries`: Repair turns for a reply that breaks the call's rule.
        - `verify_tls`: Verify TLS certificates (default; turning it off warns).
        - `acquire_auth_code`: Opt in to getting a code from the service.
        - `session_login`: Opt in to the session-cookie login.
        - `body_format`: ``"2023"`` (specified) or ``"2025"`` request bodies.
        - `max_connections`: The connection pool's size (default 1,024).

        Every field, with its default, is listed below.

    Instantiate:
        ```python
        from langchain_liaobots import ChatLiaobots

        llm = ChatLiaobots(model="gpt-4", timeout=30)
        ```

    Invoke:
        ```python
        llm.invoke("Hello")  # AIMessage(content="...")
        ```

    Stream:
        ```python
        for chunk in llm.stream("Hello"):
            print(chunk.text, end="", flush=True)
        ```

    Async:
        ```python
        await llm.ainvoke("Hello")
        async for chunk in llm.astream("Hello"):
            ...
        ```

    Tool calling:
        Prompt-based (Liaobots has no native tool calling): the tools and a
        JSON reply format go into the system prompt, and the reply is parsed
        back into ``tool_calls``. Plain-text answers still stream as they arrive.

        ```python
        from langchain_core.tools import tool


        @tool(description="Get the weather in a city.")
        def get_weather(city: str) -> str:
            return "Sunny"


        msg = llm.bind_tools([get_weather]).invoke("Weather in 'Paris'?")
        msg.tool_calls
        # [{"name": "get_weather", "args": {"city": "Paris"},
        #   "id": "call_…", "type": "tool_call"}]
        ```

        ``tool_choice``: ``"auto"`` (default), ``"none"``, ``"any"`` /
        ``"required"`` / ``True``, or a tool name to force that tool. A forced
        choice is kept: a reply without the call gets ``parse_retries`` repair
        turns, then raises ``LiaobotsReplyError``.

    Structured output:
        ```python
        from pydantic import BaseModel


        class City(BaseModel):
            name: str
            population: int


        llm.with_structured_output(City).invoke("'Paris' has 2102650 people")
        # City(name="Paris", population=2102650)
        ```

        ``method="json_schema"`` (default; the schema is sent),
        ``"json_mode"`` (JSON only; describe the keys in the prompt) or
        ``"function_calling"`` (the schema as a forced tool). A bound
        ``response_format={"type": "json_schema", ...}`` makes the answer bare
        JSON text.

    Token usage:
        The service reports no usage, so it is estimated offline with the
        counter the limit check uses (``count_tokens_approximately`` over the
        prompt and messages really sent, tool and JSON instructions included;
        the reply as the assistant turn it becomes):

        ```python
        llm.invoke("Hello").usage_metadata
        # {"input_tokens": 36, "output_tokens": 7, "total_tokens": 43}
        ```

        Streams carry it once, on the last chunk (``stream_usage=False``
        leaves it off). ``llm.get_num_tokens_from_messages(messages, tools)``
        gives the same input estimate before sending.

    Response metadata:
        The last chunk of a stream (and so the message ``invoke`` returns)
        carries ``{"model_name": "gpt-4", "finish_reason": "stop",
        "model_provider": "liaobots", "usage_estimated": True}``
        (``finish_reason`` is ``"tool_calls"`` when the reply called a tool and
        ``"length"`` when it was cut at ``max_tokens``; ``usage_estimated``
        marks the estimated ``usage_metadata`` and is absent without it).
    """

    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)
    """``hide_input_in_errors``: a validation error never repeats what was
    passed, which may hold the auth code or a URL's credentials."""

    model: str = Field(default="gpt-4", alias="model_name")
    """The registry id of the model, e.g. ``"gpt-4"`` or ``"gpt-3.5-turbo"``."""

    auth: SecretStr | None = Field(
        default_factory=secret_from_env("LIAOBOTS_AUTH_CODE", default=None),
        alias="api_key",
        validate_default=True,
    )
    """The auth code sent as ``x-auth-code`` (also accepted as ``api_key``).

    Defaults to the ``LIAOBOTS_AUTH_CODE`` environment variable."""

    base_url: str = Field(
        default_factory=from_env("LIAOBOTS_BASE_URL", default="https://liaobots.com"),
        validate_default=True,
    )
    """The service's base URL; ``/api/chat`` is appended.

    Defaults to ``LIAOBOTS_BASE_URL``, else ``https://liaobots.com``."""

    timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    """Seconds allowed to connect, and for each silence while reading the answer."""

    max_retries: int = Field(default=2, ge=0)
    """Retries (with back-off) for failures before the first byte of the answer."""

    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences, applied on the client; ``[]`` means none."""

    streaming: bool = False
    """Whether ``invoke`` streams internally (firing ``on_llm_new_token``)."""

    prompt: str = DEFAULT_PROMPT
    """The system prompt sent when the conversation has no system message."""

    temperature: float | None = None
    """Accepted and reported in traces, never sent: the protocol has no slot for
    it (setting it warns once, with `LiaobotsUnsupportedParameterWarning`)."""

    top_p: float | None = None
    """Accepted, never sent (warns once, like ``temperature``)."""

    top_k: int | None = None
    """Accepted, never sent (warns once, like ``temperature``)."""

    frequency_penalty: float | None = None
    """Accepted, never sent (warns once, like ``temperature``)."""

    presence_penalty: float | None = None
    """Accepted, never sent (warns once, like ``temperature``)."""

    seed: int | None = None
    """Accepted, never sent (warns once, like ``temperature``)."""

    n: int | None = None
    """Accepted, never sent (warns once, like ``temperature``): one answer per call."""

    max_tokens: int | None = Field(default=None, gt=0)
    """Honoured on the client: reading stops once the answer reaches about this
    many tokens (the usage estimate's counter), the connection is closed and
    ``finish_reason`` is ``"length"``. Also accepted per call."""

    stream_usage: bool = True
    """Put the estimated ``usage_metadata`` on the last chunk of a stream (also
    a per-call kwarg). ``invoke`` always carries it."""

    parse_retries: int = Field(default=1, ge=0)
    """Repair turns for a reply that breaks the call's rule (a forced
    ``tool_choice`` not met, only unreadable tool calls, no whole JSON object
    for a bound ``response_format``) and, in ``with_structured_output``, for a
    reply that does not parse or validate: the model is shown its reply and
    what was wrong, and asked again. After the last, the call raises
    `LiaobotsReplyError` (an
    ``OutputParserException``); ``0`` raises at the first such reply. Also a
    per-call kwarg."""

    verify_tls: bool = True
    """Verify the service's TLS certificate. Turning it off warns: anyone on the
    network path could then read the auth code and the conversation."""

    acquire_auth_code: bool = False
    """Opt in: with no ``auth``, get a code from ``POST /api/user`` (cached for
    every model with the same base URL and credentials settings in this
    process) and a fresh one, once per call, if the service refuses it
    with 401/402 before any text has streamed. A given code is never replaced."""

    session_login: bool = False
    """Opt in: first ``POST /recaptcha/api/login`` for the session cookie, keep
    the cookie jar (shared like the acquired code), and log in again, once per
    call, when the captcha page arrives."""

    proxy: str | None = Field(
        default_factory=from_env("LIAOBOTS_PROXY", default=None), repr=False
    )
    """A proxy URL for both paths (``http://host:port``; HTTPS goes through
    ``CONNECT``). Defaults to ``LIAOBOTS_PROXY``; when unset, the standard
    ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` apply to both paths."""

    default_headers: dict[str, str] | None = Field(default=None, repr=False)
    """Extra headers sent with every request (e.g. a gateway's key). Headers the
    protocol owns (``x-auth-code``, ``content-type``, ``cookie``, ...) are
    refused."""

    max_connections: int | None = Field(default=DEFAULT_MAX_CONNECTIONS, ge=1)
    """The most connections open at once to the service's origin, on each path
    (the ``requests`` pool's ``pool_maxsize``, with callers beyond it waiting
    for a free connection, and ``aiohttp``'s ``TCPConnector(limit=...)``);
    ``None`` for no limit. Every model with the same connection settings
    (origin, TLS, proxy, this size) shares one pool, whatever its auth code.

    Defaults to 1,024: enough for 1,024 concurrent streams to run at once
    (a smaller pool makes the excess wait for a connection, however idle the
    open ones are while the service thinks), and within the usual limit of
    open files per process."""

    http_client: Any | None = Field(default=None, exclude=True)
    """A ``requests.Session`` the application owns (mounted adapters, its own
    certificates); used for the sync path and never closed by the model."""

    http_async_client: Any | None = Field(default=None, exclude=True)
    """An ``aiohttp.ClientSession`` the application owns, used for the async
    path (in its own event loop) and never closed by the model."""

    body_format: BodyFormat = "2023"
    """The era of the request bodies: ``"2023"`` (the specified ``model``
    object, an empty login body, ``{"authcode"}`` for ``/api/user``) or
    ``"2025"``, what the last clients sent (``models: [{"modelId",
    "provider"}]`` and ``search: "false"``, so the model's registry entry needs
    a ``provider``; ``{"token": <20 random characters>}`` for the login;
    ``{"authcode", "recommendUrl": "<base_url origin>/zh"}`` for ``/api/user``)."""

    @model_validator(mode="before")
    @classmethod
    def _check_known_settings(cls, values: Any) -> Any:
        """Refuse a setting no field has, naming the closest known one."""
        if not isinstance(values, dict):
            return values
        known = set(cls.model_fields)
        known.update(f.alias for f in cls.model_fields.values() if f.alias)
        hints = _unknown_names(values, known)
        if hints:
            msg = (
                f"ChatLiaobots has no setting {', '.join(hints)}. The settings are "
                "listed in docs/configuration.md; per-call options go to invoke() "
                "or bind()."
            )
            raise ValueError(msg)
        return values

    @field_validator("default_headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if not value:
            return value
        owned = sorted(k for k in value if k.lower() in PROTOCOL_HEADERS)
        if owned:
            msg = (
                f"default_headers may not set {', '.join(owned)}: the protocol owns "
                f"{', '.join(sorted(PROTOCOL_HEADERS))} (pass the auth code as "
                "auth=). Other headers are accepted."
            )
            raise ValueError(msg)
        return value

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        code = value.get_secret_value().strip()  # e.g. a file's last newline
        problem = auth_code_problem(code)
        if problem:
            msg = (
                f"auth (or LIAOBOTS_AUTH_CODE) holds {problem}; an auth code is "
                "printable ASCII (surrounding whitespace is stripped)."
            )
            raise ValueError(msg)
        return SecretStr(code)

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        get_model(value)  # a ValueError naming the known ids and register_model
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return normalize_base_url(value)

    @model_validator(mode="after")
    def _warn_if_unsent(self) -> ChatLiaobots:
        _warn_unsent({name: getattr(self, name) for name in UNSENT_PARAMS})
        return self

    @model_validator(mode="after")
    def _warn_if_insecure(self) -> ChatLiaobots:
        if not self.verify_tls:
            warnings.warn(
                "ChatLiaobots(verify_tls=False): the service's TLS certificate is "
                "not verified, so anyone on the network path can read the auth "
                "code and the conversation.",
                LiaobotsSecurityWarning,
                stacklevel=2,
            )
        sends_code = self.auth is not None or self.acquire_auth_code
        parts = urlsplit(self.base_url)
        if sends_code and parts.scheme == "http" and not is_loopback(self.base_url):
            warnings.warn(
                f"ChatLiaobots sends the auth code over plain http to {parts.hostname}"
                ", where anyone on the network path can read it; use https.",
                LiaobotsSecurityWarning,
                stacklevel=2,
            )
        return self

    @property
    def _llm_type(self) -> str:
        return "liaobots-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """``dumpd``/``dumps`` write the model; ``loads`` needs it allowed.

        The auth code is written as a secret reference (see
        `lc_secrets`); ``http_client`` and ``http_async_client`` are left
        out. Load with ``valid_namespaces=["langchain_liaobots"]`` and
        ``allowed_objects=[ChatLiaobots]`` (see docs/configuration.md).

        Returns:
            ``True``.
        """
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Map the secret field to its environment variable for ``dumpd``."""
        return {"auth": "LIAOBOTS_AUTH_CODE"}

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        """The LLM cache key: what changes the answer, never the auth code.

        The identifying parameters, the stop sequences in effect (the call's,
        else the model's own) and the call's kwargs. Not core's serialized
        form: it would carry ``default_headers`` and ``proxy`` (which may hold
        a gateway's credentials) and settings that leave the answer unchanged.
        """
        stops = stop if stop is not None else (self.stop or [])
        params = {
            **self._identifying_params,
            "_type": self._llm_type,
            **kwargs,
            "stop": stops,
        }
        return str(sorted(params.items()))

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """Parameters that identify this model for caching; never the auth code."""
        return {
            "model": self.model,
            "base_url": self.base_url,
            "prompt": self.prompt,
            "body_format": self.body_format,
            "max_tokens": self.max_tokens,
        }

    def _get_ls_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model", self.model),
            ls_model_type="chat",
        )
        stops = stop if stop is not None else self.stop
        if stops:
            params["ls_stop"] = stops
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        return params

    def _resolve_model_profile(self) -> ModelProfile | None:
        spec = get_model(self.model)
        profile = ModelProfile(
            text_inputs=True,
            text_outputs=True,
            image_inputs=False,
            audio_inputs=False,
            video_inputs=False,
            pdf_inputs=False,
            tool_calling=spec.tool_calling,
            tool_choice=spec.tool_choice,
            structured_output=spec.structured_output,
            temperature=False,
        )
        if spec.input_token_limit is not None:
            profile["max_input_tokens"] = spec.input_token_limit
        return profile

    # -- token counting ------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Estimate the tokens a text adds to a request, offline.

        The counter of the limit check and of ``usage_metadata``
        (``count_tokens_approximately``: about four characters a token); no
        tokenizer package is needed.

        Args:
            text: Any text.

        Returns:
            The estimate, without a message's role and per-message tokens.
        """
        return count_text_tokens(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Estimate the input tokens of a call, as the limit check counts them.

        Counts what would really be sent: the system prompt (the default one
        when there is no ``SystemMessage``), the tool instructions for
        ``tools`` (with ``tool_choice="auto"``), and every message as
        rendered on the wire (tool calls and results included). It equals the
        ``input_tokens`` of the ``usage_metadata`` of that call.

        Args:
            messages: The conversation.
            tools: Tools as ``bind_tools`` accepts them, or ``None``.

        Returns:
            The estimate.
        """
        turn = plan_call(messages, self.prompt, {"tools": tools}).first
        return count_input_tokens(*to_wire(turn.messages, self.prompt))

    # -- the data flow: callers first ----------------------------------------

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._plan(messages, kwargs)
        client = self._client()
        for turn in call.turns():  # one request, or more to repair the reply
            texts = SyncDriver(client).stream(self._exchange(client, turn, stop))
            try:
                for text in texts:
                    yield from turn.feed(text)
                    if turn.exhausted:
                        break
            finally:  # stop reading: closes the response (consumer gone, max_tokens)
                texts.close()
            yield from turn.finish()
        yield self._last_chunk(call, kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._plan(messages, kwargs)
        client = self._client()
        for turn in call.turns():  # one request, or more to repair the reply
            texts = AsyncDriver(client).stream(self._exchange(client, turn, stop))
            try:
                async for text in texts:
                    for chunk in turn.feed(text):
                        yield chunk
                    if turn.exhausted:
                        break
            finally:  # stop reading: closes the response (consumer gone, max_tokens)
                await texts.aclose()
            for chunk in turn.finish():
                yield chunk
        yield self._last_chunk(call, kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stream = self._stream(messages, stop, **{**kwargs, "stream_usage": True})
        return _with_call_errors(generate_from_stream(stream))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stream = self._astream(messages, stop, **{**kwargs, "stream_usage": True})
        return _with_call_errors(await agenerate_from_stream(stream))

    def _plan(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> Call:
        """Plan the call: instructions in, its turns and their rule out."""
        return plan_call(
            messages,
            self.prompt,
            kwargs,
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            parse_retries=self.parse_retries,
        )

    def _client(self) -> Client:
        """The client of this model's settings and process, looked up per call.

        So a copy with other settings, or a forked child, never uses
        another's credentials or request settings.
        """
        return CLIENTS.for_settings(self)

    def _exchange(
        self, client: Client, turn: Turn, stop: list[str] | None
    ) -> exchange.Exchange:
        """The one seam to the wire: a planned turn in, its exchange out.

        Instance defaults and the turn's per-call kwargs become the request
        (the messages in the service's form, the limits checked, the
        request built; nothing is sent yet), with the caller's stop
        sequences (else the model's) and the turn's. Records the request's
        estimated input tokens on the turn.
        """
        _warn_unsent({name: turn.kwargs.get(name) for name in UNSENT_PARAMS})
        _warn_unknown(turn.kwargs)
        spec = get_model(turn.kwargs.get("model", self.model))
        prompt, wire = to_wire(turn.messages, self.prompt)
        turn.input_tokens = check_limits(spec, prompt, wire)
        stops = stop if stop is not None else (self.stop or [])
        return exchange.chat(
            build_request(
                self.base_url, spec, prompt, wire, body_format=self.body_format
            ),
            client.credentials,
            timeout=self.timeout,
            max_retries=self.max_retries,
            stop=[*stops, *turn.stops],
        )

    def _last_chunk(self, call: Call, kwargs: dict[str, Any]) -> ChatGenerationChunk:
        """The final chunk: finish reason, unreadable calls and the usage.

        The usage (unless turned off) counts every request of the call, repair
        turns included, once each; it is estimated (``usage_estimated`` says
        so): the service reports none.
        """
        metadata: dict[str, Any] = {
            "model_name": kwargs.get("model", self.model),
            "finish_reason": call.last.finish_reason,
            "model_provider": PROVIDER,
        }
        if len(call.taken) > 1:
            metadata["attempts"] = len(call.taken)
        if call.tool_call_errors:
            metadata["tool_call_errors"] = call.tool_call_errors
        usage: UsageMetadata | None = None
        if kwargs.get("stream_usage", self.stream_usage):
            input_tokens, output_tokens = call.input_tokens, call.output_tokens
            # A cast: under mypy's Python 3.10 the TypedDict's NotRequired keys
            # (typing.NotRequired, 3.11+) read as required.
            usage = cast(
                "UsageMetadata",
                {
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
            )
            metadata["usage_estimated"] = True
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                chunk_position="last",
                response_metadata=metadata,
                usage_metadata=usage,
            )
        )

    # -- tools and structured output -----------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; they are described to the model in the system prompt.

        Args:
            tools: LangChain tools, functions, Pydantic classes, TypedDicts or
                OpenAI function dicts; bound in OpenAI format under ``tools``.
            tool_choice: ``"auto"``/``None`` (the model decides), ``"none"``
                (no call), ``"any"``/``"required"``/``True`` (must call a tool),
                or a tool name / ``{"type": "function", "function": {"name":
                ...}}`` (must call that tool).
            strict: Passed to ``convert_to_openai_tool``.
            **kwargs: More kwargs to bind, e.g. ``response_format``.

        Returns:
            A runnable whose messages carry ``tool_calls``.

        Raises:
            ValueError: If a tool is not a function tool, or ``tool_choice`` is
                unsupported or names no bound tool.
        """
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        choice = normalize_tool_choice(
            tool_choice, [function_of(t)["name"] for t in formatted]
        )
        return super().bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Method = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return a runnable whose output is parsed into ``schema``.

        Args:
            schema: A Pydantic class (v2 or v1), a TypedDict, a JSON Schema dict
                or an OpenAI function dict.
            method: ``"json_schema"`` (the schema is sent and the answer is a
                bare JSON object), ``"json_mode"`` (a JSON object is asked for
                but the schema is not sent: describe the keys in your prompt) or
                ``"function_calling"`` (the schema becomes a forced tool).
            include_raw: Return ``{"raw": AIMessage, "parsed": ...,
                "parsing_error": ..., "attempts": [...]}`` instead of raising on
                a parsing error: ``raw``/``parsing_error`` of the last attempt,
                ``attempts`` every attempt's ``{"raw", "parsing_error"}``.
            strict: Ask for exactly the schema; not with ``"json_mode"``.
            **kwargs: Not supported; any is an error.

        Returns:
            A runnable returning a Pydantic instance (for a Pydantic schema) or
            a dict.

        Raises:
            ValueError: For unknown kwargs or method, or ``strict`` with
                ``"json_mode"``.
        """
        if kwargs:
            msg = f"Received unsupported arguments {kwargs}"
            raise ValueError(msg)
        return structured_output(
            self,
            schema,
            method=method,
            include_raw=include_raw,
            strict=strict,
            retries=self.parse_retries,
        )

    # -- the account and the service's models ----------------------------------

    def _account_exchange(self, client: Client) -> exchange.Exchange[AccountState]:
        return exchange.fetch_json(
            client.credentials.account_request,
            parse_account,
            client.credentials,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _models_exchange(self, client: Client) -> exchange.Exchange[list[ModelSpec]]:
        base_url = self.base_url
        return exchange.fetch_json(
            lambda: build_models_request(base_url),
            register_discovered,
            client.credentials,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def account(self) -> AccountState:
        """Fetch the account state of the auth code (``POST /api/user``).

        With ``acquire_auth_code=True`` and no code yet, a code is acquired
        first. Retried like a chat call.

        Returns:
            The state (balance, free GPT-4 messages left, …); its ``auth_code``
            is a ``SecretStr``.

        Raises:
            LiaobotsError: A typed error; "Too many requests" is a
                `LiaobotsRateLimitError`.
        """
        client = self._client()
        return SyncDriver(client).call(self._account_exchange(client))

    async def aaccount(self) -> AccountState:
        """Async `account`.

        Returns:
            The account state.

        Raises:
            LiaobotsError: A typed error.
        """
        client = self._client()
        return await AsyncDriver(client).acall(self._account_exchange(client))

    def discover_models(self) -> list[ModelSpec]:
        """Ask the service for its models (``POST /api/models``) and register them.

        The seed entries (``gpt-4``, ``gpt-3.5-turbo``) keep their specified
        values; other discovered ids become usable as ``model=``.

        Returns:
            The registered entries, in the service's order.

        Raises:
            LiaobotsError: A typed error.
        """
        client = self._client()
        return SyncDriver(client).call(self._models_exchange(client))

    async def adiscover_models(self) -> list[ModelSpec]:
        """Async `discover_models`.

        Returns:
            The registered entries, in the service's order.

        Raises:
            LiaobotsError: A typed error.
        """
        client = self._client()
        return await AsyncDriver(client).acall(self._models_exchange(client))

    # -- resources -----------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections of this model's settings (sync path).

        Sessions of event loops that were closed are reclaimed too. Every
        model with the same connection settings shares the pool; it reopens
        on the next call. An application's own ``http_client`` is never
        closed. A pool no model uses any more is closed without this.
        """
        self._client().close()

    async def aclose(self) -> None:
        """Close the pooled connections of this model's settings.

        The sync pool, and the running event loop's session.
        """
        await self._client().aclose()

    def __enter__(self) -> Self:
        """Use the model in a ``with`` block; its pools close at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pools (see `close`)."""
        self.close()

    async def __aenter__(self) -> Self:
        """Use the model in an ``async with`` block; its pools close at the end."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pools (see `aclose`)."""
        await self.aclose()


def _with_call_errors(result: ChatResult) -> ChatResult:
    """Fill each invalid tool call's ``error`` from the recorded reasons.

    Merged chunks lose them (LangChain rebuilds invalid calls from the
    chunks), so the last chunk carries them as ``tool_call_errors``.
    """
    for generation in result.generations:
        message = generation.message
        errors = message.response_metadata.get("tool_call_errors") or {}
        if isinstance(message, AIMessage):
            for call in message.invalid_tool_calls:
                call["error"] = errors.get(call.get("id") or "", call.get("error"))
    return result
