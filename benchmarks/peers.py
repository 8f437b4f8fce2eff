"""The clients measured side by side: ChatLiaobots, its floors and its peers.

Every peer turns one request into the answer's text pieces, so the benchmark
can drive them all the same way:

* :class:`RawLoop`: the seed's loop (``requests`` + ``iter_content``, each chunk
  decoded on its own), over a pooled session: the floor of the sync path;
* :class:`RawAsyncLoop`: the same over ``aiohttp`` (``iter_any``): the floor of
  the async path;
* :class:`CoreFloor`: a ``BaseChatModel`` that yields ready-made chunks with no
  I/O: langchain-core's own per-chunk cost;
* :class:`RawLoopModel`: the raw loop inside a minimal ``BaseChatModel``: both
  floors composed, the least any ``requests`` integration costs;
* :class:`RawAsyncLoopModel`: the same for the async path, :class:`RawAsyncLoop`
  inside a ``BaseChatModel``'s ``_astream``;
* :class:`ThreadedLiaobots`: ``ChatLiaobots`` with ``BaseChatModel``'s default
  ``_astream`` (``_stream`` in the default thread executor, one hop per chunk);
* ``ChatOpenAI`` (``langchain-openai``, when installed), built by :func:`make_openai`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import requests
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from langchain_liaobots import ChatLiaobots

__all__ = [
    "CoreFloor",
    "PacedCoreFloor",
    "RawAsyncLoop",
    "RawAsyncLoopModel",
    "RawLoop",
    "RawLoopModel",
    "ThreadedLiaobots",
    "make_liaobots",
    "make_openai",
    "openai_available",
    "paced_sleeps",
]

AUTH = "bench-code"
PROMPT = "hi"


def _seed_request(base_url: str) -> tuple[str, dict[str, str], bytes]:
    """Build the seed's request by hand (Era A), independent of the product."""
    body = {
        "conversationId": str(uuid.uuid4()),
        "model": {
            "id": "gpt-4",
            "name": "GPT-4",
            "maxLength": 24000,
            "tokenLimit": 8000,
        },
        "messages": [{"role": "user", "content": PROMPT}],
        "key": "",
        "prompt": "You are a helpful assistant.",
    }
    headers = {
        "content-type": "application/json",
        "x-auth-code": AUTH,
        "origin": base_url,
        "referer": base_url + "/",
        "user-agent": "bench-raw-loop",
    }
    return base_url + "/api/chat", headers, json.dumps(body).encode()


class RawLoop:
    """The seed's raw loop: ``requests`` + ``iter_content(2046)`` + ``decode()``.

    The request is built once; only the HTTP exchange and the loop are repeated,
    over one pooled session, so this is the least a ``requests`` client can do.
    """

    def __init__(self, base_url: str) -> None:
        """Prepare the request for a Liaobots-compatible server.

        Args:
            base_url: The server's base URL.
        """
        self.url, self.headers, self.body = _seed_request(base_url)
        self.session = requests.Session()

    def stream(self) -> Iterator[str]:
        """POST the request and yield each chunk of the body, decoded.

        Yields:
            The answer's text, chunk by chunk.
        """
        with self.session.post(
            self.url, data=self.body, headers=self.headers, stream=True, timeout=60
        ) as resp:
            for chunk in resp.iter_content(chunk_size=2046):
                yield chunk.decode()


class RawAsyncLoop:
    """The async floor: ``aiohttp`` + ``iter_any`` + ``decode()``, pooled session."""

    def __init__(self, base_url: str, *, limit: int = 256) -> None:
        """Prepare the request; the session is made in the running loop.

        Args:
            base_url: The server's base URL.
            limit: The connection pool's size (0: unlimited).
        """
        self.url, self.headers, self.body = _seed_request(base_url)
        self.limit = limit
        self._session: Any = None

    async def stream(self) -> AsyncIterator[str]:
        """POST the request and yield each chunk of the body, decoded.

        Yields:
            The answer's text, chunk by chunk.
        """
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limit)
            )
        async with self._session.post(
            self.url, data=self.body, headers=self.headers
        ) as resp:
            resp.raise_for_status()
            async for chunk in resp.content.iter_any():
                yield chunk.decode()

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class _StreamedModel(BaseChatModel):
    """A peer whose ``invoke`` concatenates its ``_stream``, as ChatLiaobots does."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, **kwargs))


class CoreFloor(_StreamedModel):
    """A chat model that yields ready-made text pieces with no I/O at all.

    Its ``stream()`` cost is langchain-core's per-chunk machinery plus building
    one ``AIMessageChunk`` per piece: what any integration pays at least.
    """

    pieces: list[str]
    """The text pieces every call yields."""

    @property
    def _llm_type(self) -> str:
        return "core-floor"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self.pieces:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class PacedCoreFloor(CoreFloor):
    """:class:`CoreFloor` with a ``time.sleep(pace)`` before every chunk.

    A diagnostic: with :func:`paced_sleeps` it shows what langchain-core's
    per-chunk work costs when each chunk follows a wait (cold caches, a wake-up
    per chunk) rather than back to back.
    """

    pace: float
    """Seconds to sleep before each chunk."""

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self.pieces:
            time.sleep(self.pace)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def paced_sleeps(pieces: list[str], pace: float) -> Iterator[str]:
    """Yield the pieces with a ``time.sleep(pace)`` before each: the waits alone.

    Args:
        pieces: The text pieces.
        pace: Seconds to sleep before each.

    Yields:
        The pieces.
    """
    for piece in pieces:
        time.sleep(pace)
        yield piece


class RawLoopModel(_StreamedModel):
    """The least a ``requests`` integration can be: the seed's loop in core.

    Its ``_stream`` is :class:`RawLoop` with each decoded chunk wrapped in an
    ``AIMessageChunk``: the raw loop and langchain-core's per-chunk machinery
    composed, measured in the same run as ChatLiaobots (the two floors summed
    separately miss what each costs when it runs between socket waits).
    """

    url: str
    """The server's base URL."""

    _loop: RawLoop | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "raw-loop-model"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if self._loop is None:
            self._loop = RawLoop(self.url)
        for text in self._loop.stream():
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))


class RawAsyncLoopModel(BaseChatModel):
    """The least an ``aiohttp`` integration can be: the raw async loop in core.

    Its ``_astream`` is :class:`RawAsyncLoop` (an unlimited pool, so no stream
    waits for a connection) with each decoded chunk wrapped in an
    ``AIMessageChunk``. Async only: the benchmark only calls ``astream``.
    """

    url: str
    """The server's base URL."""

    _loop: RawAsyncLoop | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "raw-async-loop-model"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        msg = "RawAsyncLoopModel is async only: use astream."
        raise NotImplementedError(msg)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self._loop is None:
            self._loop = RawAsyncLoop(self.url, limit=0)
        async for text in self._loop.stream():
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))

    async def aclose(self) -> None:
        """Close the loop's session."""
        if self._loop is not None:
            await self._loop.aclose()


class ThreadedLiaobots(ChatLiaobots):
    """``ChatLiaobots`` whose ``_astream`` is langchain-core's default.

    The default runs the sync ``_stream`` in the event loop's default thread
    executor and hops to a thread for every chunk: the async path an
    integration gets for free when it implements only ``_stream``.
    """

    _astream = BaseChatModel._astream  # type: ignore[assignment]


def make_liaobots(base_url: str) -> ChatLiaobots:
    """Build the ChatLiaobots under test for a server.

    Args:
        base_url: The emulator's base URL.

    Returns:
        The model, with default settings.
    """
    return ChatLiaobots(base_url=base_url, auth=AUTH)


def make_threaded(base_url: str) -> ThreadedLiaobots:
    """Build the thread-executor peer for a server.

    Args:
        base_url: The emulator's base URL.

    Returns:
        The model, with default settings.
    """
    return ThreadedLiaobots(base_url=base_url, auth=AUTH)


def openai_available() -> bool:
    """Whether ``langchain-openai`` is installed (the ``bench`` extra)."""
    try:
        import langchain_openai  # noqa: F401
    except ImportError:
        return False
    return True


def make_openai(base_url: str) -> BaseChatModel:
    """Build the ChatOpenAI peer for the benchmark's OpenAI-compatible endpoint.

    Args:
        base_url: The endpoint's base URL (ending in ``/v1``).

    Returns:
        A ``ChatOpenAI`` with no retries and default settings otherwise.
    """
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model="gpt-4", base_url=base_url, api_key=AUTH, max_retries=0, timeout=60
    )
