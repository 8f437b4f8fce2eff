"""tokens: cl100k_base counts offline, the piecewise stream count, the fallback.

The reference is tiktoken's own ``get_encoding("cl100k_base")``, loaded through
tiktoken's cache (``TIKTOKEN_CACHE_DIR``, the file named by the sha1 of its
download URL, as tiktoken names it) from the file the package ships: tiktoken's
code, not ours, reads it there.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_liaobots.errors import LiaobotsTokenizerWarning
from langchain_liaobots.tokens import (
    BREAK,
    DATA_FILE,
    DATA_SHA256,
    PART_CHARS,
    RUN_CHARS,
    STREAM_TAIL_MAX,
    TOKENIZER,
    ReplyBudget,
    Tokenizer,
    count_input_tokens,
)

URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

TEXTS = [
    "",
    "hello world",
    "tiktoken is great!",
    "你好\uff0c世界。今天天气很好\uff0c我们去公园散步吧。",
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2, 3]}}',
    "def f(x):\n    return x ** 2  # square\n\n\n    \n",
    "It's we'll they're I'd  \t\r\n  spaces   and 1234567 digits!!!",
    "<|endoftext|> is plain text here",
    "emoji 🎉🎉 and combining e\u0301 and \u00a0nbsp",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tiktoken = pytest.importorskip("tiktoken")
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    shutil.copy(DATA_FILE, cache / hashlib.sha1(URL.encode()).hexdigest())
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    try:
        return tiktoken.get_encoding("cl100k_base")
    finally:
        mp.undo()


def test_the_shipped_file_is_tiktokens() -> None:
    assert hashlib.sha256(DATA_FILE.read_bytes()).hexdigest() == DATA_SHA256
    assert TOKENIZER.exact
    assert TOKENIZER.name == "cl100k_base"


@pytest.mark.parametrize("text", TEXTS)
def test_counts_are_tiktokens(reference: Any, text: str) -> None:
    assert TOKENIZER.count(text) == len(reference.encode_ordinary(text))
    assert TOKENIZER.count(text, remember=False) == TOKENIZER.count(text)


def test_known_counts() -> None:
    assert TOKENIZER.count("hello world") == 2
    assert TOKENIZER.count("tiktoken is great!") == 6


def test_input_is_prompt_plus_contents_without_overhead() -> None:
    messages = [
        {"role": "user", "content": "hello world"},
        {"role": "assistant", "content": "tiktoken is great!"},
    ]
    assert count_input_tokens("hello world", messages) == 2 + 2 + 6
    assert count_input_tokens("", []) == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet="ab l1'\n\t\r.!你é",
            max_size=40,
        ),
        max_size=40,
    )
)
def test_a_stream_counted_piece_by_piece_matches_the_whole(
    reference: Any, pieces: list[str]
) -> None:
    counter = TOKENIZER.counter()
    text = ""
    for piece in pieces:
        assert counter.with_piece(piece) == len(reference.encode_ordinary(text + piece))
        counter.extend(piece)
        text += piece


TRICKY = (
    "abcXYZ  \t\n\r'.,!?{}[]()\"-_:;0123456789你好\uff0c\u3002é\u0301\u00a0\u3000\u2028"
    "\x1c\x85🎉ßİΩ١ǅ\u200b\ufeff"
)
"""Letters of several scripts, spaces of several kinds, newlines, marks."""


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=60))
def test_the_count_adds_up_across_every_break(reference: Any, text: str) -> None:
    whole = len(reference.encode_ordinary(text))
    for found in regex.finditer(BREAK, text):
        cut = found.start()
        parts = (
            reference.encode_ordinary(text[:cut]),
            reference.encode_ordinary(text[cut:]),
        )
        assert len(parts[0]) + len(parts[1]) == whole, (text, cut)


def test_a_long_text_is_counted_in_parts_with_the_same_count(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [
        "hello",
        "world",
        "你好\uff0c世界\u3002",
        '{"a": [1, 2]}',
        "def f(x):\n",
        "\n\n",
    ]
    text = " ".join(words[i % len(words)] + str(i) for i in range(4000))
    encoded: list[int] = []
    encoding = TOKENIZER._load()
    real = encoding.encode_ordinary
    monkeypatch.setattr(
        encoding, "encode_ordinary", lambda t: encoded.append(len(t)) or real(t)
    )
    assert TOKENIZER.count(text, remember=False) == len(reference.encode_ordinary(text))
    assert len(text) > 10 * PART_CHARS
    assert max(encoded) <= PART_CHARS  # linear time: no part longer than that
    assert sum(encoded) == len(text)


@pytest.mark.parametrize("run", [" ", "x", "{", "你", "ab"])
def test_a_run_with_no_break_is_exact_up_to_its_limit_then_near(
    reference: Any, run: str
) -> None:
    for text, within in [
        ("You said: " + run * (RUN_CHARS // 2 // len(run)), 0),  # one part
        ("x " + run * (3 * RUN_CHARS // len(run)) + " y", 3),  # cut 3 times
    ]:
        exact = len(reference.encode_ordinary(text))
        assert abs(TOKENIZER.count(text, remember=False) - exact) <= within


def test_a_stream_of_one_long_piece_counts_bounded_tails(
    reference: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[int] = []
    encoding = TOKENIZER._load()
    real = encoding.encode_ordinary
    monkeypatch.setattr(
        encoding, "encode_ordinary", lambda t: encoded.append(len(t)) or real(t)
    )
    budget = ReplyBudget(100_000)
    for _ in range(2_000):  # 32,000 spaces: one piece that never settles
        budget.take(" " * 16)
    assert max(encoded) <= STREAM_TAIL_MAX + 16  # each piece: a bounded count
    assert budget.tokens == len(reference.encode_ordinary(" " * 32_000))


def test_a_long_stream_settles_its_head() -> None:
    counter = TOKENIZER.counter()
    for _ in range(200):
        counter.extend("word, another word. ")
    assert counter.with_piece("") == TOKENIZER.count("word, another word. " * 200)
    assert len(counter._tail) < 300  # the head was counted and let go


def test_reply_budget_counts_only_with_max_tokens() -> None:
    free = ReplyBudget(None)
    assert free.take("hello world") == "hello world"
    assert free.tokens == 2
    budget = ReplyBudget(3)
    assert budget.take("hello world") == "hello world"
    assert budget.take(" and more") == " and"
    assert budget.exhausted
    assert budget.tokens == 3


def test_the_table_of_counts_is_bounded_in_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("langchain_liaobots.tokens.CACHE_CHARS", 1_000)
    tokenizer = Tokenizer()
    texts = [f"{i:03d} " + "x" * 96 for i in range(50)]  # 100 characters each
    for text in texts:
        assert tokenizer.count(text) == TOKENIZER.count(text, remember=False)
    kept = list(tokenizer._counts)
    assert kept == texts[-10:]  # the newest ten: 1,000 characters
    assert tokenizer._cached_chars == sum(map(len, kept)) == 1_000
    assert tokenizer.count("y" * 1_001) == TOKENIZER.count("y" * 1_001)
    assert list(tokenizer._counts) == kept  # counted, too long to keep
    tokenizer.count(texts[0])  # counted again, and kept: the oldest goes
    assert list(tokenizer._counts) == [*texts[-9:], texts[0]]


def test_a_reply_is_counted_once_and_kept_out_of_the_table() -> None:
    reply = ReplyBudget(None)
    text = "a reply that will not come again, " * 40
    reply.take(text)
    assert reply.tokens == reply.tokens == TOKENIZER.count(text, remember=False)
    assert text not in TOKENIZER._counts
    reply.take("and more")
    assert reply.tokens == TOKENIZER.count(text + "and more", remember=False)


def test_without_the_data_the_estimate_is_used_and_said_once(tmp_path: Path) -> None:
    lost = Tokenizer(tmp_path / "missing.tiktoken")
    with pytest.warns(LiaobotsTokenizerWarning, match="estimated"):
        assert lost.count("abcde") == 2  # ceil(5 / 4), as count_tokens_approximately
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not lost.exact
        assert lost.name == "estimate"
        counter = lost.counter()
        for piece in ["abc", "defgh", "i" * 300]:
            counter.extend(piece)
        assert counter.with_piece("") == lost.count("abcdefgh" + "i" * 300)


def test_a_damaged_file_is_refused_by_its_hash(tmp_path: Path) -> None:
    damaged = tmp_path / "cl100k_base.tiktoken"
    damaged.write_bytes(DATA_FILE.read_bytes()[:-10])
    with pytest.warns(LiaobotsTokenizerWarning):
        assert not Tokenizer(damaged).exact


LONG_TEXTS = [
    "The answer goes on and on, sentence after sentence. " * 400,
    "你好\uff0c世界。今天天气很好\uff0c我们去公园散步吧。" * 300,
    '{"name": "get_weather", "arguments": {"city": "Paris"}}, ' * 300,
    "def f(x):\n    return x ** 2  # square\n" * 400,
    "emoji 🎉🎉 and e\u0301 " * 500,
    "=" * 70_000,  # long tokens: the encoded head has to grow
]


@pytest.mark.parametrize("text", LONG_TEXTS)
def test_truncate_keeps_what_the_first_tokens_decode_to(
    reference: Any, text: str
) -> None:
    cut = TOKENIZER.truncate(text, 1000)
    first = reference.decode_bytes(reference.encode_ordinary(text)[:1000])
    assert text.startswith(cut)
    assert TOKENIZER.count(cut, remember=False) <= 1000
    assert first.startswith(cut.encode())
    assert len(first) - len(cut.encode()) < 4  # at most a split character dropped


def test_truncate_returns_a_text_that_fits_unchanged() -> None:
    text = "hello world"
    assert TOKENIZER.truncate(text, 2) is text
    assert TOKENIZER.truncate(text, 1) == "hello"
    assert TOKENIZER.truncate(text, 0) == ""


@pytest.mark.parametrize("tokens", [-1, 1.5, True, "3"])
def test_truncate_refuses_a_bad_count(tokens: Any) -> None:
    with pytest.raises(ValueError, match=r"whole number of 0 or more, got"):
        TOKENIZER.truncate("hello", tokens)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab l1'\n\t\r.!你é🎉", max_size=200), st.integers(0, 40))
def test_truncate_is_a_prefix_within_the_count(text: str, tokens: int) -> None:
    cut = TOKENIZER.truncate(text, tokens)
    assert text.startswith(cut)
    assert TOKENIZER.count(cut, remember=False) <= tokens
    if TOKENIZER.count(text, remember=False) <= tokens:
        assert cut == text


def test_truncate_with_the_estimate_keeps_four_characters_a_token(
    tmp_path: Path,
) -> None:
    lost = Tokenizer(tmp_path / "missing.tiktoken")
    with pytest.warns(LiaobotsTokenizerWarning):
        assert lost.truncate("abcdefghijklmnop", 3) == "abcdefghijkl"
    assert lost.count("abcdefghijkl") == 3
