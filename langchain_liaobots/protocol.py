"""The sans-I/O request side of the Liaobots protocol: dicts in, request bytes out.

Nothing here touches a socket. The transports (:mod:`langchain_liaobots.transport`)
and the local server (:mod:`langchain_liaobots.emulator`) share these
definitions of the wire format:

* :func:`build_request` turns a registry entry, a prompt and wire messages into
  a :class:`Request` (URL, headers, JSON body bytes) after :func:`check_limits`
  has checked the input against ``maxLength`` and ``tokenLimit``;
* :func:`parse_payload` is the server's side of the same format: body bytes in,
  a validated payload dict out, or a ``ValueError`` saying what is wrong.

The response side (bytes in, text out) is :mod:`langchain_liaobots.decoding`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages.utils import count_tokens_approximately

from langchain_liaobots._version import __version__
from langchain_liaobots.registry import ModelSpec

__all__ = [
    "CHAT_PATH",
    "DEFAULT_PROMPT",
    "Request",
    "build_payload",
    "build_request",
    "check_limits",
    "origin_of",
    "parse_payload",
]

CHAT_PATH: Final = "/api/chat"
"""The path of the streaming chat endpoint."""

AUTH_HEADER: Final = "x-auth-code"
"""The header that carries the auth code."""

USER_AGENT: Final = f"langchain-liaobots/{__version__}"
"""The ``user-agent`` sent with every request."""

DEFAULT_PROMPT: Final = (
    "You are ChatGPT, a large language model trained by OpenAI. Follow the "
    "user's instructions carefully. Respond using markdown."
)
"""The system prompt sent when the conversation has no system message."""

PAYLOAD_FIELDS: Final = ("conversationId", "model", "messages", "key", "prompt")
"""The fields of a chat request body, in the order they are sent."""

MODEL_FIELDS: Final = ("id", "name", "maxLength", "tokenLimit")
"""The fields every ``model`` entry of a request body must carry."""

WIRE_ROLES: Final = ("user", "assistant", "system")
"""The roles a wire message may carry."""

HTML_CONTENT_TYPE: Final = "text/html"
SSE_CONTENT_TYPE: Final = "text/event-stream"
RAW_CONTENT_TYPE: Final = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, ready for any transport.

    Attributes:
        url: The absolute URL to POST to.
        headers: The request headers (the auth code among them).
        body: The JSON body, UTF-8 encoded.
    """

    url: str
    headers: Mapping[str, str]
    body: bytes

    def __repr__(self) -> str:
        """Show the URL and size only: the headers hold the auth code."""
        return f"Request(url={self.url!r}, body=<{len(self.body)} bytes>)"


def origin_of(base_url: str) -> str:
    """Return ``scheme://host[:port]`` of a URL, without path or trailing slash.

    Args:
        base_url: An absolute ``http`` or ``https`` URL.

    Returns:
        The origin.

    Raises:
        ValueError: If the URL is not absolute ``http``/``https``.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = (
            f"base_url must be an absolute http(s) URL such as "
            f"'https://liaobots.com'; got {base_url!r}."
        )
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}"


def check_limits(
    spec: ModelSpec, prompt: str, messages: Sequence[Mapping[str, str]]
) -> None:
    """Check a request's input against the model's ``maxLength`` and ``tokenLimit``.

    Characters are counted exactly over the prompt and every message's content;
    tokens are approximated offline (about four characters a token plus a few per
    message, as ``count_tokens_approximately`` does).

    Args:
        spec: The model's registry entry.
        prompt: The system prompt to send.
        messages: The wire messages to send.

    Raises:
        ContextOverflowError: If either budget is exceeded; nothing has been sent.
    """
    chars = len(prompt) + sum(len(m["content"]) for m in messages)
    if chars > spec.max_length:
        msg = (
            f"The request has {chars} characters of input; model {spec.id!r} accepts "
            f"at most {spec.max_length} (maxLength). Shorten the conversation."
        )
        raise ContextOverflowError(msg)
    tokens = count_tokens_approximately(
        [{"role": "system", "content": prompt}, *(dict(m) for m in messages)]
    )
    if tokens > spec.token_limit:
        msg = (
            f"The request has about {tokens} tokens of input; model {spec.id!r} "
            f"accepts at most {spec.token_limit} (tokenLimit). Shorten the "
            "conversation."
        )
        raise ContextOverflowError(msg)


def build_payload(
    spec: ModelSpec,
    prompt: str,
    messages: Sequence[Mapping[str, str]],
    conversation_id: str | None = None,
) -> dict[str, Any]:
    """Build the JSON body of ``POST /api/chat``.

    Args:
        spec: The model's registry entry, sent whole as ``model``.
        prompt: The system prompt.
        messages: ``{"role", "content"}`` dicts, roles ``user``/``assistant``.
        conversation_id: Defaults to a fresh UUIDv4.

    Returns:
        The body as a dict with the fields of :data:`PAYLOAD_FIELDS`.
    """
    return {
        "conversationId": conversation_id or str(uuid.uuid4()),
        "model": spec.to_wire(),
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "key": "",
        "prompt": prompt,
    }


def build_headers(base_url: str, auth_code: str) -> dict[str, str]:
    """Build the request headers of the chat endpoint.

    Args:
        base_url: The service's base URL; ``origin``/``referer`` derive from it.
        auth_code: The auth code for ``x-auth-code``.

    Returns:
        The headers.
    """
    origin = origin_of(base_url)
    return {
        "content-type": "application/json",
        AUTH_HEADER: auth_code,
        "origin": origin,
        "referer": origin + "/",
        "user-agent": USER_AGENT,
    }


def build_request(
    base_url: str,
    auth_code: str,
    spec: ModelSpec,
    prompt: str,
    messages: Sequence[Mapping[str, str]],
) -> Request:
    """Check the limits and build the complete chat request.

    Args:
        base_url: The service's base URL.
        auth_code: The auth code.
        spec: The model's registry entry.
        prompt: The system prompt.
        messages: The wire messages.

    Returns:
        The request.

    Raises:
        ContextOverflowError: If the input exceeds the model's limits.
    """
    check_limits(spec, prompt, messages)
    body = json.dumps(
        build_payload(spec, prompt, messages), ensure_ascii=False, separators=(",", ":")
    ).encode()
    return Request(
        url=base_url.rstrip("/") + CHAT_PATH,
        headers=build_headers(base_url, auth_code),
        body=body,
    )


def _fail(what: str) -> ValueError:
    return ValueError(f"Invalid Liaobots chat request: {what}.")


def parse_payload(body: bytes) -> dict[str, Any]:
    """Validate a ``POST /api/chat`` body: the server's side of :func:`build_payload`.

    Args:
        body: The raw request body.

    Returns:
        The payload dict, with every field of :data:`PAYLOAD_FIELDS` checked.

    Raises:
        ValueError: Naming the first thing that is wrong and what is accepted.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _fail(f"the body must be a JSON object, got {type(payload).__name__}")
    missing = [f for f in PAYLOAD_FIELDS if f not in payload]
    if missing:
        raise _fail(
            f"missing field(s) {', '.join(missing)}; "
            f"required: {', '.join(PAYLOAD_FIELDS)}"
        )
    if not isinstance(payload["conversationId"], str) or not payload["conversationId"]:
        raise _fail("'conversationId' must be a non-empty string (a UUIDv4)")
    model = payload["model"]
    if not isinstance(model, dict) or any(f not in model for f in MODEL_FIELDS):
        raise _fail(f"'model' must be an object with {', '.join(MODEL_FIELDS)}")
    if not all(isinstance(model[f], int) and model[f] > 0 for f in MODEL_FIELDS[2:]):
        raise _fail(
            "'model.maxLength' and 'model.tokenLimit' must be positive integers"
        )
    messages = payload["messages"]
    if not isinstance(messages, list) or not messages:
        raise _fail("'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in WIRE_ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise _fail(
                f"messages[{i}] must be {{'role': one of {', '.join(WIRE_ROLES)}, "
                "'content': string}"
            )
    if not isinstance(payload["key"], str):
        raise _fail("'key' must be a string (always \"\")")
    if not isinstance(payload["prompt"], str):
        raise _fail("'prompt' must be a string")
    return payload
