"""The service's history rule: token counts in, which messages it keeps out.

Liaobots' chat server is a fork of chatbot-ui (2023), whose handler
(``pages/api/chat.ts`` of ``mckaywrigley/chatbot-ui``, branch ``legacy``)
decides what reaches the model:

* the prompt is the request's ``prompt``, or chatbot-ui's default system
  prompt when it is empty (`served_prompt`);
* it counts the prompt's cl100k_base tokens, then walks the messages **from the
  newest back**, adding each message's content tokens (roles and per-message
  overhead not counted), and stops at the first message for which
  ``count + tokens + 1000 > tokenLimit`` (the ``tokenLimit`` the request's
  ``model`` object carries): that message and every older one are **dropped,
  silently**;
* it asks upstream for ``max_tokens: 1000`` (`ANSWER_TOKENS`), so an answer
  stops at 1,000 tokens with no marker (`reached_answer_cap` tells).

`keep_newest` applies that rule with a tokenizer the caller hands in, counting
from the newest message back and stopping where the server stops; `fit` turns
its answer into the messages to send, or a `LiaobotsContextOverflowError`
saying what would be dropped (`overflow_message`), never a silent cut. Pure:
no I/O; the tokenizer is an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from langchain_liaobots.errors import LiaobotsContextOverflowError
from langchain_liaobots.wire.protocol import DEFAULT_PROMPT

__all__ = [
    "ANSWER_TOKENS",
    "SPECIAL_TOKENS",
    "Kept",
    "dropped_message",
    "fit",
    "keep_newest",
    "overflow_message",
    "reached_answer_cap",
    "served_prompt",
]

ANSWER_TOKENS: Final = 1000
"""The server's ``max_tokens`` upstream: kept free in ``tokenLimit``, and the
longest answer it lets through (``utils/server/index.ts``)."""


SPECIAL_TOKENS: Final = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
"""cl100k_base's special tokens. The server's encoder (``@dqbd/tiktoken``'s
``encode``, special tokens disallowed) throws on a text that holds one, and the
server answers 500 ``Error``; so a request holding one is refused here."""

CAP_SLACK: Final = 4
"""An answer this close to `ANSWER_TOKENS` counts as cut by the cap. The
server counts the model's own tokens; re-encoding the text received can give
a few fewer where the cut split a word (our reading, not the server's code)."""


def reached_answer_cap(tokens: int) -> bool:
    """Whether an answer of ``tokens`` tokens was stopped by the server's cap.

    Args:
        tokens: The answer's cl100k_base tokens.

    Returns:
        ``True`` at `ANSWER_TOKENS` less `CAP_SLACK` or more.
    """
    return tokens >= ANSWER_TOKENS - CAP_SLACK


def served_prompt(prompt: str) -> str:
    """The system prompt the server uses: the request's, else its default.

    Args:
        prompt: The request's ``prompt``.

    Returns:
        ``prompt``, or the default system prompt when it is empty.
    """
    return prompt or DEFAULT_PROMPT


@dataclass(frozen=True, slots=True)
class Kept:
    """What the server keeps of a request's messages (`keep_newest`).

    Attributes:
        messages: How many messages the request has.
        kept: How many of the newest the server keeps.
        input_tokens: The prompt's tokens plus the kept messages' content
            tokens: what the server counts and sends upstream.
        next_tokens: The tokens of the newest message it drops (``None`` when
            nothing is dropped).
        token_limit: The ``tokenLimit`` applied (``None``: unknown, nothing
            dropped).
    """

    messages: int
    kept: int
    input_tokens: int
    next_tokens: int | None
    token_limit: int | None

    @property
    def dropped(self) -> int:
        """How many of the oldest messages the server drops."""
        return self.messages - self.kept

    @property
    def budget(self) -> int | None:
        """The input budget: ``tokenLimit`` less the answer's 1,000 tokens."""
        return None if self.token_limit is None else self.token_limit - ANSWER_TOKENS


def keep_newest(
    prompt: str,
    messages: Sequence[Mapping[str, str]],
    token_limit: int | None,
    count: Callable[[str], int],
) -> Kept:
    """Apply the server's rule to a request.

    Args:
        prompt: The request's ``prompt`` (`served_prompt` is applied).
        messages: The request's wire messages, oldest first.
        token_limit: The request's ``tokenLimit``; ``None`` when unknown
            (``0`` in the registry): every message is kept.
        count: The tokenizer: a text's cl100k_base tokens. Messages are counted
            from the newest back, only as far as the server reads.

    Returns:
        What the server keeps.

    Raises:
        ValueError: If a text the server counts holds a special token (see
            `SPECIAL_TOKENS`): the server would fail on it.
    """
    used, kept = count(_encodable(served_prompt(prompt), "the system prompt")), 0
    for i in range(len(messages) - 1, -1, -1):
        content = messages[i]["content"]
        if "<|" in content:  # rare: only then look for a special token
            _encodable(content, f"message {i}")
        tokens = count(content)
        if token_limit is not None and used + tokens + ANSWER_TOKENS > token_limit:
            return Kept(len(messages), kept, used, tokens, token_limit)
        used += tokens
        kept += 1
    return Kept(len(messages), kept, used, None, token_limit)


def _encodable(text: str, where: str) -> str:
    """``text``, if the server's encoder takes it (no special token in it)."""
    if "<|" in text:
        found = [t for t in SPECIAL_TOKENS if t in text]
        if found:
            msg = (
                f"{where.capitalize()} holds {found[0]!r}, a special token of the "
                "service's tokenizer (cl100k_base): its server refuses such text "
                "with HTTP 500 'Error', however often it is sent. Remove or "
                "reword it (e.g. '<| endoftext |>')."
            )
            raise ValueError(msg)
    return text


def fit(
    model: str,
    kept: Kept,
    messages: Sequence[Mapping[str, str]],
    *,
    drop_oldest: bool,
) -> Sequence[Mapping[str, str]]:
    """The messages to send: all, or the kept ones, never a silent cut.

    Args:
        model: The model id, for the messages.
        kept: `keep_newest`'s result for ``messages``.
        messages: The request's wire messages.
        drop_oldest: Drop what the server would drop instead of raising
            (``context_overflow="drop_oldest"``; the caller says so with
            `dropped_message`).

    Returns:
        ``messages``, or its newest ``kept.kept``.

    Raises:
        LiaobotsContextOverflowError: If the server would drop messages and
            ``drop_oldest`` is off, or if it would keep none.
    """
    if not kept.dropped:
        return messages
    said = overflow_message(model, kept)
    if not drop_oldest or not kept.kept:
        raise LiaobotsContextOverflowError(
            said,
            dropped=kept.dropped,
            input_tokens=kept.input_tokens,
            token_limit=kept.token_limit,
        )
    return messages[kept.dropped :]


def dropped_message(model: str, kept: Kept) -> str:
    """Say what was dropped to fit the server's budget (the warning's text).

    Args:
        model: The model id.
        kept: `keep_newest`'s result, with something dropped.

    Returns:
        The message.
    """
    return (
        f"Dropped the oldest {kept.dropped} of {kept.messages} message(s) for "
        f'model {model!r}, as the service would (context_overflow="drop_oldest"'
        f"): {kept.input_tokens} tokens kept of a budget of {kept.budget}."
    )


def overflow_message(model: str, kept: Kept) -> str:
    """Say what the server would drop of a request, with the numbers.

    Args:
        model: The model id.
        kept: `keep_newest`'s result, with something dropped.

    Returns:
        The message of the error (or warning) that reports it.
    """
    some = (
        f"the prompt and the newest {kept.kept} message(s) take "
        f"{kept.input_tokens}, and the next older message {kept.next_tokens}"
        if kept.kept
        else f"the prompt takes {kept.input_tokens}, and the newest message "
        f"{kept.next_tokens}"
    )
    return (
        f"Liaobots would silently drop the oldest {kept.dropped} of "
        f"{kept.messages} message(s) for model {model!r}: its server keeps "
        f"messages from the newest back while they fit tokenLimit "
        f"({kept.token_limit}) less 1000 tokens for the answer, a budget of "
        f"{kept.budget} cl100k_base tokens; {some}. Shorten the history "
        "(trim_messages with token_counter=llm, see docs/models.md), pick a "
        "model with a larger "
        'tokenLimit, or pass context_overflow="drop_oldest" to drop them here '
        "and be told."
    )
