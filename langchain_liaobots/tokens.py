"""Token counting with the service's tokenizer: text in, cl100k_base counts out.

The Liaobots chat server (a chatbot-ui fork: docs/models.md) counts tokens with
tiktoken's **cl100k_base**: the system prompt and each message's content, no
roles and no per-message overhead. Everything in this package that counts
tokens uses that one counter, so they all agree with the service:

* the service's history rule before sending (`langchain_liaobots.wire.budget`);
* ``usage_metadata`` on answers;
* ``ChatLiaobots.get_num_tokens`` / ``get_num_tokens_from_messages``;
* the client-side ``max_tokens`` cut and the service's 1,000-token answer cap
  (`ReplyBudget`);
* the emulator's copy of the service's rules: the history it keeps, and its
  answers cut at 1,000 tokens (`Tokenizer.truncate`).

The encoding is loaded once, on first use, from the data file shipped inside
the package (``langchain_liaobots/data/cl100k_base.tiktoken``, the file tiktoken
itself downloads, checked against the same sha256), so nothing is fetched from
the network. If it cannot be loaded (tiktoken missing, the file damaged), the
counts fall back to langchain-core's estimate (about four characters a token),
one `LiaobotsTokenizerWarning` says so, and `TOKENIZER.exact <Tokenizer.exact>`
is ``False`` (usage is then marked ``usage_estimated``).

Counts of texts already seen are kept (a bounded table), so an agent loop that
sends its growing history again pays for its new messages only; a growing
answer is counted piece by piece by `StreamCounter`, in time proportional to
each piece.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from langchain_liaobots.errors import LiaobotsTokenizerWarning
from langchain_liaobots.wire.budget import SPECIAL_TOKENS

__all__ = [
    "TOKENIZER",
    "ReplyBudget",
    "StreamCounter",
    "Tokenizer",
    "count_input_tokens",
]

DATA_FILE: Final = Path(__file__).parent / "data" / "cl100k_base.tiktoken"
"""cl100k_base's ranks, as tiktoken publishes them (1,681,126 bytes)."""
DATA_SHA256: Final = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
"""The sha256 tiktoken checks the downloaded file against."""
PATTERN: Final = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
    r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
"""cl100k_base's split pattern (tiktoken's ``openai_public.cl100k_base``)."""
CHARS_PER_TOKEN: Final = 4
"""The fallback estimate's ratio: ``count_tokens_approximately``'s default."""
CACHE_ENTRIES: Final = 16_384
"""Counts of at most this many texts are kept; the oldest go first."""
CACHE_CHARS: Final = 16 * 1024 * 1024
"""...and of at most this many characters in all (a long-lived server's memory
stays bounded whatever its users send); a longer text is counted, not kept."""
TRUNCATE_HEAD_CHARS: Final = 8
"""`Tokenizer.truncate` first encodes this many characters a token kept (cl100k_base
averages about four); a head that is all long tokens is grown until it suffices."""
STREAM_TAIL_CHARS: Final = 256
"""`StreamCounter` settles its text once the unsettled tail is this long."""
PART_CHARS: Final = 4096
"""A longer text is counted in parts of about this many characters, cut where
cl100k_base's pieces start (`BREAK`), so the count is the same and its time
stays linear: tiktoken's time grows faster than the length of one long piece
(8 MiB of spaces took 9 s whole)."""
RUN_CHARS: Final = 65_536
"""A run with no `BREAK` (only spaces, one letter repeated) is one part up to
this long; a longer one is cut inside, and its count may differ from
tiktoken's by a token or so per cut: no conversation holds such text, and
bounded time matters more there."""
STREAM_TAIL_MAX: Final = 1024
"""`StreamCounter` cuts a tail this long that cannot settle (one long piece):
its ``max_tokens`` cut may then fall a token or so from tiktoken's."""
BREAK: Final = r"[^\P{White_Space}\r\n](?=\P{White_Space})|(?<=\p{L})(?=\P{L})"
"""Where a cl100k_base piece always starts, whatever follows: a space or tab
before a non-space (it leads the next piece, or stands alone), and the end of
a run of letters (no piece goes on past one). Counts before and after add up."""


class Tokenizer:
    """cl100k_base counts, loaded on first use; the estimate if it cannot load.

    One instance, `TOKENIZER`, serves the package. It is safe to share
    between threads and survives ``fork`` (its locks are renewed in the child).
    """

    def __init__(self, data_file: Path = DATA_FILE) -> None:
        """Create the tokenizer; nothing is loaded until the first count.

        Args:
            data_file: The cl100k_base ranks file to load.
        """
        self._data_file = data_file
        self._encoding: Any = None
        self._split: Any = None
        self._break: Any = None
        self._loaded = False
        self._counts: dict[str, int] = {}
        self._cached_chars = 0
        self._renew_locks()
        os.register_at_fork(after_in_child=self._renew_locks)

    def _renew_locks(self) -> None:
        self._load_lock = threading.Lock()
        self._cache_lock = threading.Lock()

    @property
    def exact(self) -> bool:
        """Whether counts are cl100k_base's (``False``: the estimate)."""
        return self._load() is not None

    @property
    def name(self) -> str:
        """``"cl100k_base"``, or ``"estimate"`` when it could not be loaded."""
        return "cl100k_base" if self.exact else "estimate"

    def _load(self) -> Any:
        if self._loaded:
            return self._encoding
        with self._load_lock:
            if not self._loaded:
                self._encoding, self._split, self._break = _load_encoding(
                    self._data_file
                )
                self._loaded = True
        return self._encoding

    def count(self, text: str, *, remember: bool = True) -> int:
        """Count the tokens of a text, as the service counts a message's content.

        Special-token strings such as ``<|endoftext|>`` are counted as plain
        text.

        Args:
            text: Any text.
            remember: Keep the count for the next time this text is counted
                (``False`` for text that will not come again).

        Returns:
            Its cl100k_base tokens (the estimate when the encoding is missing).
        """
        counts = self._counts
        found = counts.get(text)
        if found is not None:  # a text seen before: most of a long history
            return found
        found = self._count(text)
        if not remember or len(text) > CACHE_CHARS:
            return found
        with self._cache_lock:
            if text in counts:  # another thread counted it meanwhile
                return found
            while counts and (
                len(counts) >= CACHE_ENTRIES
                or self._cached_chars + len(text) > CACHE_CHARS
            ):
                oldest = next(iter(counts))
                del counts[oldest]
                self._cached_chars -= len(oldest)
            counts[text] = found
            self._cached_chars += len(text)
        return found

    def truncate(self, text: str, tokens: int) -> str:
        """Cut a text to at most ``tokens`` tokens, as a model stopped there sends it.

        The text is what its first ``tokens`` tokens decode to, without a
        character split by the cut, shortened further (rarely) until it counts
        ``tokens`` or fewer on its own. Only the head of a long text is encoded.

        Args:
            text: Any text.
            tokens: The most tokens to keep (0 or more).

        Returns:
            ``text`` itself when it fits, else its longest such prefix. For the
            estimate, the first ``tokens * 4`` characters.

        Raises:
            ValueError: If ``tokens`` is not a whole number of 0 or more.
        """
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            msg = f"tokens must be a whole number of 0 or more, got {tokens!r}."
            raise ValueError(msg)
        encoding = self._load()
        if encoding is None:
            return text[: tokens * CHARS_PER_TOKEN]
        size = (tokens + 1) * TRUNCATE_HEAD_CHARS
        head = text[:size]
        ids = encoding.encode_ordinary(head)
        while len(ids) <= tokens and len(head) < len(text):  # a head of long tokens
            size *= 4
            head = text[:size]
            ids = encoding.encode_ordinary(head)
        if len(ids) <= tokens:
            return text
        cut: str = encoding.decode_bytes(ids[:tokens]).decode("utf-8", errors="ignore")
        while cut and len(encoding.encode_ordinary(cut)) > tokens:
            cut = cut[:-1]
        return cut

    def _count(self, text: str) -> int:
        encoding = self._load()
        if encoding is None:
            return -(-len(text) // CHARS_PER_TOKEN)  # ceil division
        if len(text) <= PART_CHARS:
            return len(encoding.encode_ordinary(text))
        return sum(len(encoding.encode_ordinary(part)) for part in self._parts(text))

    def _parts(self, text: str) -> Iterator[str]:
        """``text`` in parts of about `PART_CHARS`, cut at a `BREAK`.

        A run with no break is one part, up to `RUN_CHARS`, then cut inside.
        """
        start, end, search = 0, len(text), self._break.search
        while end - start > PART_CHARS:
            found = search(text, start + PART_CHARS // 2, start + PART_CHARS)
            found = found or search(text, start + PART_CHARS, start + RUN_CHARS)
            cut = found.start() if found else min(start + RUN_CHARS, end)
            yield text[start:cut]
            start = cut
        yield text[start:]

    def settled(self, text: str) -> int:
        """Where the text's last two pieces start: text before it is settled.

        cl100k_base encodes each piece of its split pattern on its own, and
        text appended later can change only the last two pieces of a text, so
        the tokens before this index never change.

        Args:
            text: A text that may still grow.

        Returns:
            The index (``0`` when the text has fewer than three pieces). For
            the estimate, the longest prefix of whole four-character groups.
        """
        if self._load() is None:
            return len(text) - len(text) % CHARS_PER_TOKEN
        starts = [m.start() for m in self._split.finditer(text)]
        return starts[-2] if len(starts) > 2 else 0

    def counter(self) -> StreamCounter:
        """A counter for a text that grows piece by piece (a streamed answer).

        Returns:
            A new `StreamCounter` over this tokenizer.
        """
        return StreamCounter(self)


def _load_encoding(data_file: Path) -> tuple[Any, Any, Any]:
    """Load cl100k_base from ``data_file``: the encoding, its split, `BREAK`.

    ``(None, None, None)``, with a warning, if it cannot be loaded.
    """
    try:
        import regex  # tiktoken's own dependency
        import tiktoken  # loaded on the first count
        from tiktoken.load import load_tiktoken_bpe

        ranks = load_tiktoken_bpe(str(data_file), expected_hash=DATA_SHA256)
        encoding = tiktoken.Encoding(
            name="cl100k_base",
            pat_str=PATTERN,
            mergeable_ranks=ranks,
            special_tokens=SPECIAL_TOKENS,
        )
        return encoding, regex.compile(PATTERN), regex.compile(BREAK)
    except Exception as exc:  # any failure falls back, said once
        warnings.warn(
            "langchain-liaobots could not load the cl100k_base tokenizer the "
            f"service counts with ({type(exc).__name__}: {exc}); token counts, "
            "the history budget and usage are estimated (about 4 characters a "
            "token) and may differ from the service's. Reinstall the package "
            "with its tiktoken dependency to fix this.",
            LiaobotsTokenizerWarning,
            stacklevel=2,
        )
        return None, None, None


TOKENIZER: Final = Tokenizer()
"""The package's tokenizer."""


def count_input_tokens(prompt: str, messages: Iterable[Mapping[str, str]]) -> int:
    """Count a request's input as the service does: prompt plus each content.

    Args:
        prompt: The system prompt as the service uses it.
        messages: ``{"role", "content"}`` wire messages.

    Returns:
        The tokens, roles and per-message overhead not counted.
    """
    count = TOKENIZER.count
    return count(prompt) + sum(count(m["content"]) for m in messages)


class StreamCounter:
    """Counts a growing text's tokens in time proportional to each new piece.

    The text is kept as a settled head, counted once, and a short tail that
    is counted again as pieces arrive (see `Tokenizer.settled`).
    """

    __slots__ = ("_head_tokens", "_tail", "_tokenizer")

    def __init__(self, tokenizer: Tokenizer) -> None:
        """Start an empty count.

        Args:
            tokenizer: The tokenizer to count with.
        """
        self._tokenizer = tokenizer
        self._head_tokens = 0
        self._tail = ""

    def with_piece(self, piece: str) -> int:
        """The tokens the text would have with ``piece`` appended (not kept).

        Args:
            piece: Text that may follow.

        Returns:
            The count.
        """
        return self._head_tokens + self._tokenizer.count(
            self._tail + piece, remember=False
        )

    def extend(self, piece: str) -> None:
        """Append a piece; text that can no longer change is counted once.

        Args:
            piece: The next text.
        """
        tail = self._tail + piece
        if len(tail) >= STREAM_TAIL_CHARS:
            cut = self._tokenizer.settled(tail)
            # one long piece that cannot settle: bounded (see STREAM_TAIL_MAX)
            if not cut and len(tail) > STREAM_TAIL_MAX:
                cut = len(tail) - STREAM_TAIL_CHARS
            if cut:
                self._head_tokens += self._tokenizer.count(tail[:cut], remember=False)
                tail = tail[cut:]
        self._tail = tail


class ReplyBudget:
    """Keeps a reply as it streams, counts it, and cuts it at ``max_tokens``.

    Feed each text delta to `take`; it returns the part within the budget.
    Once a delta goes over it, the reply is cut at the longest prefix of at
    most ``max_tokens`` tokens and `exhausted` is set: the caller stops
    reading and closes the answer. Without ``max_tokens`` nothing is counted
    while the reply streams: `tokens` counts it once, at the end.
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
        self._counter = TOKENIZER.counter() if max_tokens is not None else None
        self._counted = (0, 0)  # (length, tokens) of the reply last counted
        self.exhausted = False

    @property
    def text(self) -> str:
        """The reply kept so far."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def tokens(self) -> int:
        """The reply's tokens so far, as the service counts a message's content.

        Counted once for each length the reply reaches, and kept here: a reply
        is not text that comes again, so it stays out of the shared table.
        """
        text = self.text
        if self._counted[0] != len(text):
            self._counted = (len(text), TOKENIZER.count(text, remember=False))
        return self._counted[1]

    def take(self, piece: str) -> str:
        """Take the next text delta.

        Args:
            piece: The delta.

        Returns:
            The delta, or its part within the budget (``""`` once exhausted).
        """
        if self.exhausted:
            return ""
        counter, limit = self._counter, self.max_tokens
        if counter is None or limit is None or counter.with_piece(piece) <= limit:
            if counter is not None:
                counter.extend(piece)
            self._parts.append(piece)
            return piece
        fits, over = 0, len(piece)  # the longest prefix that fits, by bisection
        while over - fits > 1:
            mid = (fits + over) // 2
            if counter.with_piece(piece[:mid]) <= limit:
                fits = mid
            else:
                over = mid
        self.exhausted = True
        self._parts.append(piece[:fits])
        return piece[:fits]
