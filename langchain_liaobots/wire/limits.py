"""The limit check: a registry entry and a request's input in, its tokens out.

`check_limits` checks the system prompt and the wire messages against the
model's ``maxLength`` (characters, counted exactly) and ``tokenLimit`` (tokens,
estimated by `tokens`) before anything is sent,
and returns the estimated input tokens, the count usage reports. A request over
either budget is a ``ContextOverflowError``. Nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langchain_core.exceptions import ContextOverflowError

from langchain_liaobots.registry import ModelSpec
from langchain_liaobots.wire.tokens import count_input_tokens

__all__ = ["check_limits"]


def check_limits(
    spec: ModelSpec, prompt: str, messages: Sequence[Mapping[str, str]]
) -> int:
    """Check a request's input against the model's ``maxLength`` and ``tokenLimit``.

    Characters are counted exactly over the prompt and every message's content;
    tokens are estimated offline by
    `count_input_tokens`, the counter that
    usage and ``get_num_tokens_from_messages`` use too. A limit that is unknown
    (``0`` in the registry entry) is not checked.

    Args:
        spec: The model's registry entry.
        prompt: The system prompt to send.
        messages: The wire messages to send.

    Returns:
        The estimated input tokens, as usage reports them.

    Raises:
        ContextOverflowError: If either budget is exceeded; nothing has been sent.
    """
    chars = len(prompt) + sum(len(m["content"]) for m in messages)
    if spec.char_limit is not None and chars > spec.char_limit:
        msg = (
            f"The request has {chars} characters of input; model {spec.id!r} accepts "
            f"at most {spec.max_length} (maxLength). Shorten the conversation."
        )
        raise ContextOverflowError(msg)
    tokens = count_input_tokens(prompt, messages)
    if spec.input_token_limit is not None and tokens > spec.input_token_limit:
        msg = (
            f"The request has about {tokens} tokens of input; model {spec.id!r} "
            f"accepts at most {spec.token_limit} (tokenLimit). Shorten the "
            "conversation."
        )
        raise ContextOverflowError(msg)
    return tokens
