"""ChatLiaobots: LangChain messages in, streamed ``AIMessageChunk``s out.

The data flow of one call::

    messages ──messages.to_wire──▶ prompt + wire messages
             ──protocol.build_request──▶ Request (limits checked, nothing sent yet)
             ──transport.stream_text──▶ text pieces as they arrive
             ──_chunk──▶ ChatGenerationChunk … and a final chunk_position="last"

``_generate``/``_agenerate`` concatenate the streams, so ``invoke`` and ``stream``
share one path; ``_astream`` is native asyncio over the same core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils import from_env, secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from langchain_liaobots.errors import LiaobotsAuthenticationError
from langchain_liaobots.messages import to_wire
from langchain_liaobots.protocol import (
    DEFAULT_PROMPT,
    Request,
    build_request,
    origin_of,
)
from langchain_liaobots.registry import get_model
from langchain_liaobots.transport import AsyncTransport, SyncTransport

__all__ = ["ChatLiaobots"]

PROVIDER = "liaobots"


class ChatLiaobots(BaseChatModel):
    """Chat model for the Liaobots chat service.

    Setup:
        Install ``langchain-liaobots`` and set the auth code::

            pip install langchain-liaobots
            export LIAOBOTS_AUTH_CODE="your-code"

        Without the service, run the bundled local server
        (``python -m langchain_liaobots.emulator``) and point ``base_url`` at it.

    Key init args:
        model: The registry id (alias ``model_name``), e.g. ``"gpt-4"``.
        auth: The auth code (alias ``api_key``); env ``LIAOBOTS_AUTH_CODE``.
        base_url: The service URL; env ``LIAOBOTS_BASE_URL``.
        timeout: Seconds to connect and for each silence while reading.
        max_retries: Retries for failures before the answer starts.

    Instantiate:
        .. code-block:: python

            from langchain_liaobots import ChatLiaobots

            llm = ChatLiaobots(model="gpt-4", timeout=30)

    Invoke:
        .. code-block:: python

            llm.invoke("Hello")  # AIMessage(content="...")

    Stream:
        .. code-block:: python

            for chunk in llm.stream("Hello"):
                print(chunk.text, end="", flush=True)

    Async:
        .. code-block:: python

            await llm.ainvoke("Hello")
            async for chunk in llm.astream("Hello"):
                ...

    Response metadata:
        The last chunk of a stream (and so the message ``invoke`` returns)
        carries ``{"model_name": "gpt-4", "finish_reason": "stop",
        "model_provider": "liaobots"}``. The service reports no token usage, so
        there is no ``usage_metadata``.
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(default="gpt-4", alias="model_name")
    """The registry id of the model, e.g. ``"gpt-4"`` or ``"gpt-3.5-turbo"``."""

    auth: SecretStr | None = Field(
        default_factory=secret_from_env("LIAOBOTS_AUTH_CODE", default=None),
        alias="api_key",
    )
    """The auth code sent as ``x-auth-code`` (also accepted as ``api_key``).

    Defaults to the ``LIAOBOTS_AUTH_CODE`` environment variable."""

    base_url: str = Field(
        default_factory=from_env("LIAOBOTS_BASE_URL", default="https://liaobots.com")
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
    """Accepted and reported in traces; the protocol has no field to send it."""

    max_tokens: int | None = None
    """Accepted and reported in traces; the protocol has no field to send it."""

    _sync: SyncTransport | None = PrivateAttr(default=None)
    _async: AsyncTransport | None = PrivateAttr(default=None)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        origin_of(value)
        return value.rstrip("/")

    @property
    def _llm_type(self) -> str:
        return "liaobots-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Map the secret field to its environment variable for ``dumpd``."""
        return {"auth": "LIAOBOTS_AUTH_CODE"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """Parameters that identify this model for caching; never the auth code."""
        return {"model": self.model, "base_url": self.base_url, "prompt": self.prompt}

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
        return ModelProfile(max_input_tokens=spec.token_limit, text_inputs=True)

    # -- the data flow -------------------------------------------------------

    def _request(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
    ) -> tuple[Request, list[str], str]:
        """Turn messages and per-call options into a request; nothing is sent."""
        model_id = kwargs.get("model", self.model)
        spec = get_model(model_id)
        if self.auth is None or not self.auth.get_secret_value():
            msg = (
                "No Liaobots auth code: set the LIAOBOTS_AUTH_CODE environment "
                "variable or pass ChatLiaobots(auth=...)."
            )
            raise LiaobotsAuthenticationError(msg)
        prompt, wire = to_wire(messages, self.prompt)
        request = build_request(
            self.base_url, self.auth.get_secret_value(), spec, prompt, wire
        )
        stops = stop if stop is not None else (self.stop or [])
        return request, stops, model_id

    def _transport(self) -> SyncTransport:
        if self._sync is None:
            self._sync = SyncTransport(
                timeout=self.timeout, max_retries=self.max_retries
            )
        return self._sync

    def _atransport(self) -> AsyncTransport:
        if self._async is None:
            self._async = AsyncTransport(
                timeout=self.timeout, max_retries=self.max_retries
            )
        return self._async

    @staticmethod
    def _last_chunk(model_id: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                chunk_position="last",
                response_metadata={
                    "model_name": model_id,
                    "finish_reason": "stop",
                    "model_provider": PROVIDER,
                },
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request, stops, model_id = self._request(messages, stop, kwargs)
        for text in self._transport().stream_text(request, stops):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        yield self._last_chunk(model_id)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request, stops, model_id = self._request(messages, stop, kwargs)
        async for text in self._atransport().stream_text(request, stops):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        yield self._last_chunk(model_id)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, **kwargs))

    # -- resources -----------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections of the sync path."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close the pooled connections of the async path in the running loop."""
        if self._async is not None:
            await self._async.aclose()
