"""ChatLiaobots: LangChain messages in, streamed ``AIMessageChunk``s out.

The data flow of one call (``_stream``; ``_astream`` is the same over asyncio):

```text
messages ──_plan: prompt.prompting.plan_call──▶ a Call: instructions added,
                                its turns and the rule a reply must keep
for each turn (one request; more only to repair a reply that broke the rule):
  turn ──_exchange, the one seam to the wire:
           prompt.messages.to_wire──▶ prompt + wire messages
           wire.budget.keep_newest/fit (the service's history rule,
                counted by tokens.TOKENIZER), wire.request.build_request──▶ Request
           wire.exchange.chat──▶ the call's commands (sans-I/O; nothing sent)
       ──transport.drivers──▶ performed over the client that
                                transport.clients owns for these settings
       ──▶ text pieces as they arrive
       ──Turn.feed: tokens.ReplyBudget (max_tokens), then
                    prompt.reply.ReplyParser──▶ ChatGenerationChunks (text,
                                tool calls), held back while the rule judges
──_last_chunk: Call.last_chunk──▶ a final chunk_position="last" chunk: finish
                 reason and the usage of every request (cl100k_base, as the
                 service counts)
```

The settings are fields here; their checks, errors and warnings (unknown
names, unsent sampling parameters, insecure settings, ``model_copy``'s
validation) are `langchain_liaobots.settings`.

``_generate``/``_agenerate`` concatenate the streams, so ``invoke`` and ``stream``
share one path; ``_generate_with_cache`` makes ``invoke`` carry the usage even
when core streams it, and ``_get_invocation_params``, which core calls once per
call on the caller's stack, warns of per-call arguments that go unread. The
class reads top-down: the LangChain entry points first, then the steps they
call.
"""

from __future__ import annotations

import copy
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from functools import partial
from types import TracebackType
from typing import Any, Literal

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
    BaseMessage,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import (
    AliasChoices,
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
    LiaobotsHistoryDroppedWarning,
)
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.prompt.prompting import (
    Call,
    Turn,
    plan_call,
    with_call_errors,
)
from langchain_liaobots.prompt.structured import Method, structured_output
from langchain_liaobots.prompt.tools import (
    function_of,
    normalize_tool_choice,
    one_call_only,
)
from langchain_liaobots.registry import ModelSpec, get_model, register_discovered
from langchain_liaobots.settings import (
    BASE_URL_ENV,
    UNSENT_PARAMS,
    check_given,
    clean_auth,
    headers_error,
    validated_copy,
    warn,
    warn_of_settings,
    warn_unknown,
    warn_unsent,
)
from langchain_liaobots.tokens import TOKENIZER, count_input_tokens
from langchain_liaobots.transport.clients import (
    CLIENTS,
    DEFAULT_MAX_CONNECTIONS,
    Client,
)
from langchain_liaobots.transport.drivers import AsyncDriver, SyncDriver
from langchain_liaobots.wire import exchange
from langchain_liaobots.wire.budget import (
    ANSWER_TOKENS,
    dropped_message,
    fit,
    keep_newest,
    served_prompt,
)
from langchain_liaobots.wire.protocol import (
    DEFAULT_PROMPT,
    BodyFormat,
)
from langchain_liaobots.wire.request import (
    build_models_request,
    build_request,
    check_provider,
)
from langchain_liaobots.wire.urls import normalize_base_url

__all__ = ["ChatLiaobots"]

PROVIDER = "liaobots"


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
        - `timeout`: Seconds to connect and for each silence while reading
          (alias ``request_timeout``).
        - `max_retries`: Retries for failures before the answer starts.
        - `max_tokens`: Stop reading the answer after about this many tokens
          (alias ``max_completion_tokens``).
        - `stream_usage`: Put the usage on the last streamed chunk.
        - `parse_retries`: Repair turns for a reply that breaks the call's rule.
        - `verify_tls`: Verify TLS certificates (default; turning it off warns).
        - `acquire_auth_code`: Opt in to getting a code from the service.
        - `session_login`: Opt in to the session-cookie login.
        - `body_format`: ``"2023"`` (specified) or ``"2025"`` request bodies.
        - `max_connections`: The connection pool's size (default 1,024).

        Every field, with its default, is listed below. ``model_copy``
        validates its ``update`` the same way.

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
        ``"required"`` / ``True``, or a tool name to force that tool (OpenAI's
        and Anthropic's dict shapes too). A forced
        choice is kept: a reply without the call gets ``parse_retries`` repair
        turns, then raises ``LiaobotsReplyError``. ``parallel_tool_calls=False``
        asks for one call per reply and keeps only the first.

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
        The service reports no usage, so it is counted as the service counts:
        cl100k_base (shipped with the package) over the prompt and each
        message's content really sent, tool and JSON instructions included,
        and over the reply's text:

        ```python
        llm.invoke("Hello").usage_metadata
        # {"input_tokens": 27, "output_tokens": 4, "total_tokens": 31}
        ```

        Streams carry it once, on the last chunk (``stream_usage=False``
        leaves it off). ``llm.get_num_tokens_from_messages(messages, tools)``
        gives the same input count before sending: the count the service's
        history rule compares with ``profile["max_input_tokens"]``.

    Response metadata:
        The last chunk of a stream (and so the message ``invoke`` returns)
        carries ``{"model_name": "gpt-4", "finish_reason": "stop",
        "model_provider": "liaobots"}`` (``finish_reason`` is
        ``"tool_calls"`` when the reply called a tool and ``"length"`` when it
        was cut at ``max_tokens`` or by the service's 1,000-token cap;
        ``dropped_messages`` says how many old messages
        ``context_overflow="drop_oldest"`` dropped; ``usage_estimated`` marks
        an estimated usage, when the tokenizer could not be loaded).
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
        default_factory=from_env(BASE_URL_ENV, default="https://liaobots.com"),
        validate_default=True,
    )
    """The service's base URL; ``/api/chat`` is appended.

    Defaults to ``LIAOBOTS_BASE_URL``, else ``https://liaobots.com``."""

    timeout: float = Field(
        default=60.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias=AliasChoices("timeout", "request_timeout"),
    )
    """Seconds allowed to connect, and for each silence while reading the answer
    (also accepted as ``request_timeout``, ChatOpenAI's name)."""

    max_retries: int = Field(default=2, ge=0)
    """Retries (with back-off) for failures before the first byte of the answer."""

    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences, applied on the client; ``[]`` means none."""

    streaming: bool = False
    """Whether ``invoke`` streams internally (firing ``on_llm_new_token``)."""

    prompt: str = DEFAULT_PROMPT
    """The system prompt sent when the conversation has no system message."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sent as the body's ``temperature`` when set (also per call); absent when
    unset, so the service uses its default. A deployment of the service older
    than that field ignores it."""

    top_p: float | None = None
    """Accepted, never sent: the protocol has no field for it (it warns)."""

    top_k: int | None = None
    """Accepted, never sent: the protocol has no field for it (it warns)."""

    frequency_penalty: float | None = None
    """Accepted, never sent: the protocol has no field for it (it warns)."""

    presence_penalty: float | None = None
    """Accepted, never sent: the protocol has no field for it (it warns)."""

    seed: int | None = None
    """Accepted, never sent: the protocol has no field for it (it warns)."""

    n: int | None = None
    """Accepted, never sent (it warns): the service gives one answer per call."""

    max_tokens: int | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("max_tokens", "max_completion_tokens"),
    )
    """Honoured on the client: reading stops once the answer reaches this many
    cl100k_base tokens, the connection is closed and ``finish_reason`` is
    ``"length"``. Also accepted as ``max_completion_tokens`` (ChatOpenAI's
    name), and per call. The service itself stops every answer at 1,000
    tokens (also ``"length"``), so a larger value warns."""

    context_overflow: Literal["raise", "drop_oldest"] = "raise"
    """What to do with a conversation the service would cut: its server keeps
    messages from the newest back while they fit ``tokenLimit`` less 1,000
    tokens and silently drops the older ones (docs/models.md). ``"raise"``
    (default): a `LiaobotsContextOverflowError` before anything is sent,
    saying how many would be dropped. ``"drop_oldest"``: drop them here, as
    the service would, with a `LiaobotsHistoryDroppedWarning` and
    ``response_metadata["dropped_messages"]``."""

    stream_usage: bool = True
    """Put the ``usage_metadata`` on the last chunk of a stream (also
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
    def _check_given(cls, values: Any) -> Any:
        """Refuse unknown settings and a bad ``LIAOBOTS_BASE_URL``, by name."""
        if isinstance(values, dict):
            check_given(cls, values)
        return values

    @field_validator("default_headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        error = headers_error(value or {})
        if error:
            raise ValueError(error)
        return value

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else SecretStr(clean_auth(value))

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return normalize_base_url(value)

    @model_validator(mode="after")
    def _check_model(self) -> ChatLiaobots:
        # A ValueError naming the known ids (with base_url's listed ones) and
        # register_model; and one naming body_format if it cannot name the model.
        check_provider(get_model(self.model, self.base_url), self.body_format)
        warn_of_settings(self)
        return self

    @property
    def model_name(self) -> str:
        """The model's id, `model`, under ChatOpenAI's name for it."""
        return self.model

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self:
        """Copy the model; the settings of ``update`` are validated as at creation.

        So a wrong value fails here, naming the setting and what it accepts,
        not at the next call; aliases (``model_name``, ``api_key``,
        ``request_timeout``, ...) are read as in ``ChatLiaobots(...)``, and an
        unknown name is refused. Warnings come only for what the update
        changes. ``http_client`` and ``http_async_client`` are shared, never
        copied, even with ``deep=True``.

        Args:
            update: Settings to change, by name or alias.
            deep: Copy the other settings' values deeply.

        Returns:
            The copy.

        Raises:
            pydantic.ValidationError: A ``ValueError`` naming the setting.
        """
        clients = (self.http_client, self.http_async_client)
        shared = {id(client): client for client in clients if client is not None}
        copied = copy.deepcopy(self, shared) if deep else super().model_copy()
        return validated_copy(self, copied, update) if update else copied

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
        spec = get_model(self.model, self.base_url)
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
            temperature=True,
            max_output_tokens=ANSWER_TOKENS,
        )
        if spec.input_token_limit is not None:  # what the service keeps whole
            budget = spec.input_token_limit - ANSWER_TOKENS
            profile["max_input_tokens"] = max(budget, 0)
        return profile

    # -- token counting ------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Count the tokens a text adds to a request, as the service counts them.

        cl100k_base, the service's tokenizer (shipped with the package, so
        offline); the counter of its history rule and of ``usage_metadata``.

        Args:
            text: Any text.

        Returns:
            Its tokens as a message's content.
        """
        return TOKENIZER.count(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Count the input tokens of a call, as the service's budget counts them.

        Counts what would really be sent: the system prompt (the default one
        when there is no ``SystemMessage``), the tool instructions for
        ``tools`` (with ``tool_choice="auto"``), and every message's content
        as rendered on the wire (tool calls and results included); roles and
        per-message overhead are not counted, as the service does not count
        them. It equals the ``input_tokens`` of the ``usage_metadata`` of that
        call; keep it within ``profile["max_input_tokens"]`` and the service
        keeps the whole conversation (``trim_messages(..., token_counter=llm)``
        does: docs/models.md).

        Args:
            messages: The conversation (a system prompt alone, or none, counts
                the prompt that would be sent).
            tools: Tools as ``bind_tools`` accepts them, or ``None``.

        Returns:
            The count.
        """
        turn = plan_call(messages, self.prompt, {"tools": tools}).first
        prompt, wire = to_wire(turn.messages, self.prompt)
        return count_input_tokens(served_prompt(prompt), wire)

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
        stream = self._stream(messages, stop, **kwargs)
        return with_call_errors(generate_from_stream(stream))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stream = self._astream(messages, stop, **kwargs)
        return with_call_errors(await agenerate_from_stream(stream))

    def _generate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """``invoke``'s path, whether core streams it or calls `_generate`.

        ``streaming=True`` (or a streaming callback) makes core read
        `_stream` directly; either way the message carries the usage, so
        ``stream_usage=False`` only ever leaves it off a stream's chunks.
        """
        return super()._generate_with_cache(
            messages, stop, run_manager, **{**kwargs, "stream_usage": True}
        )

    async def _agenerate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """``ainvoke``'s path: as `_generate_with_cache`, the usage always on."""
        return await super()._agenerate_with_cache(
            messages, stop, run_manager, **{**kwargs, "stream_usage": True}
        )

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The call's parameters for callbacks; warns of per-call arguments unread.

        Core calls it once per call, on the caller's stack (``ainvoke``'s
        requests run in a task of their own), so the warnings point at the
        caller's line.
        """
        warn_unsent({name: kwargs.get(name) for name in UNSENT_PARAMS})
        warn_unknown(kwargs)
        return super()._get_invocation_params(stop=stop, **kwargs)

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
        (the messages in the service's form, fitted to its history rule, the
        request built; nothing is sent yet), with the caller's stop
        sequences (else the model's) and the turn's. Records the request's
        input tokens, and any messages dropped, on the turn.
        """
        spec = get_model(turn.kwargs.get("model", self.model), self.base_url)
        prompt, wire = to_wire(turn.messages, self.prompt)
        kept = keep_newest(prompt, wire, spec.input_token_limit, TOKENIZER.count)
        drop = self.context_overflow == "drop_oldest"
        sent = fit(spec.id, kept, wire, drop_oldest=drop)
        if kept.dropped:
            warn(dropped_message(spec.id, kept), LiaobotsHistoryDroppedWarning)
        turn.input_tokens, turn.dropped = kept.input_tokens, kept.dropped
        stops = stop if stop is not None else (self.stop or [])
        temperature = turn.kwargs.get("temperature", self.temperature)
        return exchange.chat(
            build_request(
                self.base_url,
                spec,
                prompt,
                sent,
                body_format=self.body_format,
                temperature=temperature,
            ),
            client.credentials,
            timeout=self.timeout,
            max_retries=self.max_retries,
            stop=[*stops, *turn.stops],
        )

    def _last_chunk(self, call: Call, kwargs: dict[str, Any]) -> ChatGenerationChunk:
        """The final chunk: finish reason, unreadable calls and the usage.

        The usage (unless turned off) counts every request of the call once,
        with the service's tokenizer (the service reports none).
        """
        return call.last_chunk(
            kwargs.get("model", self.model),
            PROVIDER,
            usage=kwargs.get("stream_usage", self.stream_usage),
        )

    # -- tools and structured output -----------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; they are described to the model in the system prompt.

        Args:
            tools: LangChain tools, functions, Pydantic classes, TypedDicts or
                OpenAI function dicts; bound in OpenAI format under ``tools``.
            tool_choice: ``"auto"``/``None`` (the model decides), ``"none"``
                (no call), ``"any"``/``"required"``/``True`` (must call a tool),
                or a tool name / ``{"type": "function", "function": {"name":
                ...}}`` (must call that tool); Anthropic's ``{"type": "auto" |
                "any" | "none"}`` and ``{"type": "tool", "name": ...}`` too
                (with ``"disable_parallel_tool_use": True``, one call).
            strict: Passed to ``convert_to_openai_tool``.
            parallel_tool_calls: ``False``: the model is asked for one call
                per reply, and of a reply with several only the first is
                kept. ``None``/``True``: several calls are allowed.
            **kwargs: More kwargs to bind, e.g. ``response_format``.

        Returns:
            A runnable whose messages carry ``tool_calls``.

        Raises:
            ValueError: If a tool is not a function tool, ``tool_choice`` is
                unsupported or names no bound tool, or ``parallel_tool_calls``
                is not a bool.
        """
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        choice = normalize_tool_choice(
            tool_choice, [function_of(t)["name"] for t in formatted]
        )
        if one_call_only(tool_choice, parallel_tool_calls):
            kwargs["parallel_tool_calls"] = False
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
                "parsing_error": ...}`` (the last attempt's) instead of raising
                on a parsing error; after a repair,
                ``raw.response_metadata["attempts"]`` counts the attempts.
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
            partial(register_discovered, base_url=base_url),
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
        """Ask the service for its models (``POST /api/models``), kept for base_url.

        The listed ids become usable as ``model=`` for this ``base_url`` only
        (`register_discovered`: bounded, never touching other base URLs); the
        seed entries keep their specified limits.

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
