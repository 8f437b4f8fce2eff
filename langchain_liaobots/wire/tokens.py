"""Token counting: wire messages in, an offline token estimate out.

The Liaobots service reports no token usage and no tokenizer is bundled, so one
offline estimate serves everything that counts tokens, and they all agree:

* the limit check before sending (`check_limits`
  against ``tokenLimit``);
* ``usage_metadata`` on answers (marked ``usage_estimated`` in their metadata);
* ``ChatLiaobots.get_num_tokens`` / ``get_num_tokens_from_messages``;
* the client-side ``max_tokens`` cut (`ReplyBudget`).

`count_tokens` is that estimate: langchain-core's
``count_tokens_approximately`` (with its defaults) over ``{"role", "content"}``
wire messages, computed on the wire form directly. For such a message core
counts ``ceil((len(content) + len(role)) / 4) + 3`` tokens: about four
characters a token, the role included, plus three tokens per message (a wire
message has no name, tool calls or tool-call id of its own, and the wire roles
``system``/``user``/``assistant`` are the OpenAI roles core counts). Converting
each dict back into a LangChain message to ask core would cost a Pydantic
validation per message, which dominated the preparation of long conversations.
The estimate is additive over messages, so a reply counted with
`count_reply_tokens` adds exactly that many tokens to the next request's
input when it comes back as an assistant turn. Nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

__all__ = [
    "ReplyBudget",
    "count_input_tokens",
    "count_reply_tokens",
    "count_text_tokens",
    "count_tokens",
]

CHARS_PER_TOKEN: Final = 4
"""``count_tokens_approximately``'s default ``chars_per_token``."""
TOKENS_PER_MESSAGE: Final = 3
"""``count_tokens_approximately``'s default ``extra_tokens_per_message``."""


def count_tokens(messages: Iterable[Mapping[str, str]]) -> int:
    """Estimate the tokens of wire messages: the one counter of this package.

    Args:
        messages: ``{"role", "content"}`` dicts, roles ``system``, ``user`` or
            ``assistant``.

    Returns:
        The estimate: what ``count_tokens_approximately`` with its defaults
        gives for these dicts, without converting them into messages.
    """
    total = 0
    for m in messages:
        chars = len(m["content"]) + len(m["role"])
        total += -(-chars // CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE  # ceil division
    return total


def count_input_tokens(prompt: str, messages: Sequence[Mapping[str, str]]) -> int:
    """Estimate a chat request's input: its system prompt and every message.

    Args:
        prompt: The request's ``prompt`` (with any tool or answer instructions).
        messages: The request's wire messages.

    Returns:
        The estimate, as the limit check counts it.
    """
    return count_tokens([{"role": "system", "content": prompt}, *messages])


def count_reply_tokens(text: str) -> int:
    """Estimate a reply's tokens: the assistant turn it becomes in the history.

    Args:
        text: The reply text as received.

    Returns:
        The estimate, role and per-message tokens included.
    """
    return count_tokens([{"role": "assistant", "content": text}])


def count_text_tokens(text: str) -> int:
    """Estimate the tokens a text adds to a request as a message's content.

    Args:
        text: Any text.

    Returns:
        The estimate without the message's own role and per-message tokens
        (``0`` for ``""``).
    """
    return count_tokens([{"role": "user", "content": text}]) - count_tokens(
        [{"role": "user", "content": ""}]
    )


class ReplyBudget:
    """Counts a reply's tokens as it streams, and cuts it at ``max_tokens``.

    Feed each text delta to `take`; it returns the part within the
    budget. Once a delta goes over it, the reply is cut at the longest prefix
    whose `count_reply_tokens` is at most ``max_tokens`` and
    `exhausted` is set: the caller stops reading and closes the answer.
    """

    def __init__(self, max_tokens: int | None) -> None:
        """Create the budget.

        Args:
            max_tokens: The most reply tokens to keep; ``None`` for no limit.

        Raises:
            ValueError: If ``max_tokens`` is not a positive integer or ``None``.
        """
        if max_tokens is not None and (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or max_tokens < 1
        ):
            msg = f"max_tokens must be a positive integer or None, got {max_tokens!r}."
            raise ValueError(msg)
        self.max_tokens = max_tokens
        self._parts: list[str] = []
        self.exhausted = False

    @property
    def text(self) -> str:
        """The reply kept so far."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def tokens(self) -> int:
        """The reply's tokens so far (`count_reply_tokens`)."""
        return count_reply_tokens(self.text)

    def take(self, piece: str) -> str:
        """Take the next text delta.

        Args:
            piece: The delta.

        Returns:
            The delta, or its part within the budget (``""`` once exhausted).
        """
        if self.exhausted:
            return ""
        limit = self.max_tokens
        if limit is None or count_reply_tokens(self.text + piece) <= limit:
            self._parts.append(piece)
            return piece
        fits, over = 0, len(piece)  # the longest prefix that fits, by bisection
        while over - fits > 1:
            mid = (fits + over) // 2
            if count_reply_tokens(self.text + piece[:mid]) <= limit:
                fits = mid
            else:
                over = mid
        self.exhausted = True
        self._parts.append(piece[:fits])
        return piece[:fits]
