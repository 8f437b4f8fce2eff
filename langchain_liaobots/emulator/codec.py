"""The server's side of the chat format: request bytes in, payloads and SSE bytes out.

The emulator speaks the format the client builds, from the same definitions
(`langchain_liaobots.wire.protocol`):

* `parse_payload` validates a ``POST /api/chat`` body (the server's side
  of `build_payload`): body bytes in, a
  validated payload dict out, or a ``ValueError`` saying what is wrong;
* `encode_sse` frames one event as a server-sent event line (the server's
  side of what `AnswerReader` decodes).

Nothing here touches a socket.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_liaobots.wire.protocol import (
    MODEL_FIELDS,
    PAYLOAD_FIELDS,
    PAYLOAD_FIELDS_2025,
    SSE_DATA,
    SSE_DONE,
    WIRE_ROLES,
)

__all__ = ["encode_sse", "parse_payload"]


def encode_sse(event: Mapping[str, Any] | None) -> bytes:
    """Encode one server-sent event line: the server's side of the SSE framing.

    Args:
        event: The event's JSON object, or ``None`` for the ``[DONE]`` marker.

    Returns:
        ``data: {json}`` followed by a blank line.
    """
    if event is None:
        return SSE_DATA + b" " + SSE_DONE + b"\n\n"
    return SSE_DATA + b" " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"


def _fail(what: str) -> ValueError:
    return ValueError(f"Invalid Liaobots chat request: {what}.")


def _check_model(payload: Mapping[str, Any]) -> None:
    if "models" in payload and "model" not in payload:
        missing = [f for f in PAYLOAD_FIELDS_2025 if f not in payload]
        if missing:
            raise _fail(
                f"missing field(s) {', '.join(missing)}; a 2025 body needs "
                f"{', '.join(PAYLOAD_FIELDS_2025)}"
            )
        models = payload["models"]
        if (
            not isinstance(models, list)
            or not models
            or not all(
                isinstance(m, dict)
                and isinstance(m.get("modelId"), str)
                and m["modelId"]
                and isinstance(m.get("provider"), str)
                for m in models
            )
        ):
            raise _fail(
                "'models' must be a non-empty list of {'modelId': string, "
                "'provider': string}"
            )
        if not isinstance(payload["search"], str):
            raise _fail('\'search\' must be a string ("false" or "true")')
        return
    missing = [f for f in PAYLOAD_FIELDS if f not in payload]
    if missing:
        raise _fail(
            f"missing field(s) {', '.join(missing)}; "
            f"required: {', '.join(PAYLOAD_FIELDS)}"
        )
    model = payload["model"]
    if not isinstance(model, dict) or any(f not in model for f in MODEL_FIELDS):
        raise _fail(f"'model' must be an object with {', '.join(MODEL_FIELDS)}")
    if not all(
        isinstance(model[f], int) and not isinstance(model[f], bool) and model[f] >= 0
        for f in MODEL_FIELDS[2:]
    ):
        raise _fail(
            "'model.maxLength' and 'model.tokenLimit' must be integers >= 0 "
            "(0: unknown)"
        )


def parse_payload(body: bytes) -> dict[str, Any]:
    """Validate a ``POST /api/chat`` body: the server's side of `build_payload`.

    Both shapes are accepted: the specified one (``model``) and the 2025 one
    (``models`` and ``search``).

    Args:
        body: The raw request body.

    Returns:
        The payload dict, with every field of its shape checked.

    Raises:
        ValueError: Naming the first thing that is wrong and what is accepted.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _fail(f"the body must be a JSON object, got {type(payload).__name__}")
    _check_model(payload)
    if not isinstance(payload["conversationId"], str) or not payload["conversationId"]:
        raise _fail("'conversationId' must be a non-empty string (a UUIDv4)")
    messages = payload["messages"]
    if not isinstance(messages, list):  # [] too: the prompt alone is forwarded
        raise _fail("'messages' must be a list")
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
