"""A chatbot-ui server on 127.0.0.1: the service's own rules, not the package's.

Liaobots' chat API is a fork of chatbot-ui (``mckaywrigley/chatbot-ui``, branch
``legacy``; /work/shared/liaobots-protocol.md §1a). This server does what that
code does with ``POST /api/chat`` (``pages/api/chat.ts``,
``utils/server/index.ts``), written again from it with the standard library's
``http.server`` and **tiktoken's own** ``get_encoding("cl100k_base")``:

* in: the JSON ``ChatBody`` (``model`` with ``tokenLimit``, ``messages``,
  ``prompt``, ``key``; an optional ``temperature``, which later versions read);
* the prompt is the body's, else `DEFAULT_SYSTEM_PROMPT`; its tokens, then
  each message's content tokens from the newest back, are counted, and the
  messages are kept while ``count + tokens + 1000 <= tokenLimit``: the first
  that does not fit and every older one are dropped, silently (`keep_newest`);
* an upstream model is played by a responder (`Upstream` in, answer text out);
  the answer is cut at 1,000 tokens (encode, take 1,000, decode), as
  ``max_tokens: 1000`` upstream cuts it, and streamed as raw UTF-8 with
  chunked encoding, no marker;
* an upstream error (`ChatbotUI.fail`, or with ``upstream_context`` the
  model's own context-length check, `context_error`) is HTTP 500, body
  ``Error``, with the upstream message as the reason phrase; any other
  failure (a body that is not JSON, a special token such as ``<|endoftext|>``
  in a text, which tiktoken's ``encode`` refuses) is 500 ``Error`` with the
  standard phrase.

Every request is recorded (`ChatbotUI.requests`: the payload, what was kept
and dropped, the temperature). It imports nothing from ``langchain_liaobots``:
the package's data file is only copied, as tiktoken's cache entry (tiktoken
checks its sha256), so the counting is tiktoken's code, not the package's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Final

import tiktoken

from tests.helpers.threads import ThreadedHTTPServer

DEFAULT_SYSTEM_PROMPT: Final = (
    "You are ChatGPT, a large language model trained by OpenAI. Follow the "
    "user's instructions carefully. Respond using markdown."
)
"""chatbot-ui's ``utils/app/const.ts``."""
ANSWER_TOKENS: Final = 1000
"""``max_tokens`` upstream (``utils/server/index.ts``), kept free in the limit."""
DEFAULT_TEMPERATURE: Final = 1.0
"""The upstream temperature when the body has none."""
UPSTREAM_CONTEXT: Final = {"gpt-3.5-turbo": 4097, "gpt-4": 8192}
"""The upstream models' own context windows (OpenAI's, 2023), for the opt-in
upstream check: chatbot-ui does not know them."""
TIKTOKEN_URL: Final = (
    "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
)
DATA_FILE: Final = (
    Path(__file__).resolve().parents[2]
    / "langchain_liaobots"
    / "data"
    / "cl100k_base.tiktoken"
)
"""The ranks file the package ships: tiktoken's own download, byte for byte."""


@cache
def cl100k() -> tiktoken.Encoding:
    """tiktoken's cl100k_base, loaded offline through tiktoken's own cache.

    Returns:
        ``tiktoken.get_encoding("cl100k_base")``.
    """
    with tempfile.TemporaryDirectory() as cache_dir:
        shutil.copy(
            DATA_FILE, Path(cache_dir) / hashlib.sha1(TIKTOKEN_URL.encode()).hexdigest()
        )
        before = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
        try:
            return tiktoken.get_encoding("cl100k_base")
        finally:
            if before is None:
                del os.environ["TIKTOKEN_CACHE_DIR"]
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = before


@lru_cache(maxsize=4096)  # the same count each time: only faster tests
def count(text: str) -> int:
    """Count a text as chatbot-ui does (``encoding.encode``).

    Raises:
        ValueError: For a special token in the text, as tiktoken's ``encode`` does.
    """
    return len(cl100k().encode(text))


def served_prompt(prompt: str | None) -> str:
    """The prompt the server uses: the body's, or the default when it is empty."""
    return prompt or DEFAULT_SYSTEM_PROMPT


def keep_newest(
    prompt: str | None, messages: Sequence[Mapping[str, Any]], token_limit: int
) -> int:
    """How many of the newest messages chatbot-ui keeps (its loop, as written).

    Args:
        prompt: The body's ``prompt``.
        messages: The body's messages, oldest first.
        token_limit: The body's ``model.tokenLimit``.

    Returns:
        The number kept; the others, the oldest, are dropped.
    """
    token_count, kept = count(served_prompt(prompt)), 0
    for message in reversed(messages):
        tokens = count(message["content"])
        if token_count + tokens + ANSWER_TOKENS > token_limit:
            break
        token_count += tokens
        kept += 1
    return kept


def upstream_tokens(prompt: str, messages: Sequence[Mapping[str, Any]]) -> int:
    """OpenAI's count of the upstream request (its cookbook's
    ``num_tokens_from_messages``): 3 a message, its role and content, 3 more
    to start the reply; the system prompt is the first message."""
    wire = [{"role": "system", "content": prompt}, *messages]
    return sum(3 + count(m["role"]) + count(m["content"]) for m in wire) + 3


def context_error(
    model_id: str, prompt: str, messages: Sequence[Mapping[str, Any]]
) -> str | None:
    """The upstream's context-length error for a request, or ``None``.

    Args:
        model_id: The body's ``model.id``.
        prompt: The prompt the server sends.
        messages: The messages it keeps.

    Returns:
        OpenAI's message when the request and ``max_tokens`` exceed the
        model's window (`UPSTREAM_CONTEXT`; ``None`` for a model not there).
    """
    window = UPSTREAM_CONTEXT.get(model_id)
    used = upstream_tokens(prompt, messages)
    if window is None or used + ANSWER_TOKENS <= window:
        return None
    return (
        f"This model's maximum context length is {window} tokens. However, you "
        f"requested {used + ANSWER_TOKENS} tokens ({used} in the messages, "
        f"{ANSWER_TOKENS} in the completion). Please reduce the length of the "
        "messages or completion."
    )


def cap(text: str) -> str:
    """The answer as ``max_tokens: 1000`` lets it through: its first 1,000 tokens."""
    encoding = cl100k()
    return encoding.decode(encoding.encode_ordinary(text)[:ANSWER_TOKENS])


@dataclass(frozen=True)
class Upstream:
    """What the upstream model is sent: the prompt and the kept messages."""

    prompt: str
    messages: list[dict[str, Any]]
    temperature: float


Responder = Callable[[Upstream], str]
"""Plays the upstream model: what it is sent in, its whole answer out."""


def say_ok(upstream: Upstream) -> str:
    """The default responder: a short answer."""
    return "OK."


@dataclass(frozen=True)
class Received:
    """One request, as the server saw and treated it.

    Attributes:
        payload: The JSON body (``None`` when it was not one).
        kept: How many of its messages were kept.
        dropped: How many of the oldest were dropped, silently.
        temperature: The body's ``temperature`` (``None`` when absent).
        answer: The text answered (``""`` for an error), after the cap.
        status: The HTTP status answered.
        phrase: A 500's reason phrase, the upstream message (``None``: the
            standard phrase, a failure of the server itself).
    """

    payload: Any
    kept: int
    dropped: int
    temperature: float | None
    answer: str
    status: int
    phrase: str | None


class ChatbotUI(ThreadedHTTPServer):
    """The server; a context manager. ``base_url`` is where it listens."""

    def __init__(
        self,
        responder: Responder = say_ok,
        *,
        piece_bytes: int = 64,
        upstream_context: bool = False,
    ) -> None:
        """Create the server (it starts on ``__enter__``).

        Args:
            responder: Plays the upstream model.
            piece_bytes: The size of each written piece of an answer.
            upstream_context: Also play the upstream's own context check
                (`context_error`): a request chatbot-ui keeps whole can still
                be too long for the model, which counts each message's role
                and overhead.
        """
        self.responder = responder
        self.upstream_context = upstream_context
        self.requests: list[Received] = []
        self._failures: deque[str | None] = deque()
        self._lock = threading.Lock()
        self._piece_bytes = piece_bytes
        cl100k()  # loaded before the first request
        super().__init__(_handler(self))

    def fail(self, phrase: str | None, times: int = 1) -> None:
        """Answer the next ``times`` requests with an upstream error.

        Args:
            phrase: The upstream error's message, sent as the reason phrase;
                ``None`` for a failure that is not an upstream error (the
                standard phrase).
            times: How many requests in a row fail.
        """
        with self._lock:
            self._failures.extend([phrase] * times)

    def answer(self, body: bytes) -> Received:
        """Treat one request body as chatbot-ui does, and record it.

        Args:
            body: The request's body.

        Returns:
            The record: what was kept, and the answer or the failure.
        """
        payload: Any = None
        try:  # chatbot-ui's try: any failure here is 500 Error, standard phrase
            payload = json.loads(body)
            prompt, messages = payload["prompt"], payload["messages"]
            kept = keep_newest(prompt, messages, payload["model"]["tokenLimit"])
        except Exception:
            return self._record(Received(payload, 0, 0, None, "", 500, None))
        temperature = payload.get("temperature")
        dropped = len(messages) - kept
        upstream = Upstream(
            prompt=served_prompt(prompt),
            messages=list(messages[dropped:]),
            temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
        )
        with self._lock:
            failing = bool(self._failures)
            phrase = self._failures.popleft() if failing else None
        if not failing and self.upstream_context:
            phrase = context_error(
                payload["model"]["id"], upstream.prompt, upstream.messages
            )
            failing = phrase is not None
        if failing:  # the upstream call failed: its message is the reason phrase
            return self._record(
                Received(payload, kept, dropped, temperature, "", 500, phrase)
            )
        text = cap(self.responder(upstream))
        return self._record(
            Received(payload, kept, dropped, temperature, text, 200, None)
        )

    def _record(self, received: Received) -> Received:
        with self._lock:
            self.requests.append(received)
        return received


def _handler(server: ChatbotUI) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to ``server``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10
        disable_nagle_algorithm = True  # each piece goes out as it is written

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path != "/api/chat":
                self._error(None, status=404)
                return
            received = server.answer(body)
            if received.status != 200:
                self._error(received.phrase)
                return
            self._stream(received.answer.encode())

        def _error(self, phrase: str | None, status: int = 500) -> None:
            self.send_response(status, phrase)
            self.send_header("content-type", "text/plain;charset=UTF-8")
            self.send_header("content-length", "5")
            self.end_headers()
            self.wfile.write(b"Error")

        def _stream(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            size = server._piece_bytes
            for start in range(0, len(data), size):
                piece = data[start : start + size]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
