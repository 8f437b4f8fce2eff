"""wire.budget: the service's history rule, driven by hand with a toy tokenizer.

The toy counts one token a character, so every number below can be checked by
eye against chatbot-ui's loop (``count + tokens + 1000 > tokenLimit`` stops it).
"""

from __future__ import annotations

import pytest

from langchain_liaobots.errors import LiaobotsContextOverflowError
from langchain_liaobots.wire.budget import (
    ANSWER_TOKENS,
    dropped_message,
    fit,
    keep_newest,
    reached_answer_cap,
    served_prompt,
)
from langchain_liaobots.wire.protocol import DEFAULT_PROMPT


def chars(text: str) -> int:
    return len(text)


def msgs(*sizes: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "x" * n} for n in sizes]


def test_everything_kept_within_the_budget() -> None:
    kept = keep_newest("p" * 10, msgs(5, 5), 1020, chars)
    assert (kept.kept, kept.dropped, kept.input_tokens) == (2, 0, 20)
    assert kept.next_tokens is None
    assert kept.budget == 20


def test_the_boundary_is_inclusive() -> None:
    assert keep_newest("", msgs(1), 1000 + 1 + len(DEFAULT_PROMPT), chars).kept == 1
    assert keep_newest("p", msgs(19), 1020, chars).dropped == 0  # 1 + 19 + 1000
    assert keep_newest("p", msgs(20), 1020, chars).dropped == 1  # 1021 > 1020


def test_the_oldest_go_first_and_the_walk_stops_at_the_first_misfit() -> None:
    counted: list[str] = []

    def spy(text: str) -> int:
        counted.append(text)
        return len(text)

    # newest back: 3 fits (1+3), 50 does not (1+3+50+1000 > 1030): stop there,
    # although the oldest (2) would fit on its own; 9 and 2 are never counted.
    kept = keep_newest("p", msgs(2, 9, 50, 3), 1030, spy)
    assert (kept.kept, kept.dropped, kept.next_tokens) == (1, 3, 50)
    assert kept.input_tokens == 4
    assert counted == ["p", "x" * 3, "x" * 50]


def test_an_empty_prompt_is_counted_as_the_default_prompt() -> None:
    assert served_prompt("") == DEFAULT_PROMPT
    assert served_prompt("mine") == "mine"
    kept = keep_newest("", msgs(1), None, chars)
    assert kept.input_tokens == len(DEFAULT_PROMPT) + 1


def test_an_unknown_limit_keeps_everything() -> None:
    kept = keep_newest("p", msgs(10**6, 10**6), None, chars)
    assert kept.dropped == 0
    assert kept.budget is None


def test_fit_raises_by_default_with_the_numbers() -> None:
    kept = keep_newest("p", msgs(2, 9, 50, 3), 1030, chars)
    with pytest.raises(LiaobotsContextOverflowError) as err:
        fit("gpt-4", kept, msgs(2, 9, 50, 3), drop_oldest=False)
    said = str(err.value)
    assert "drop the oldest 3 of 4" in said
    assert "tokenLimit (1030)" in said
    assert "budget of 30" in said
    assert "next older message 50" in said
    assert (err.value.dropped, err.value.token_limit) == (3, 1030)
    assert not err.value.is_retryable


def test_fit_drops_on_request_and_says_so() -> None:
    sent = msgs(2, 9, 50, 3)
    kept = keep_newest("p", sent, 1030, chars)
    assert fit("gpt-4", kept, sent, drop_oldest=True) == sent[3:]
    assert "oldest 3 of 4" in dropped_message("gpt-4", kept)
    whole = keep_newest("p", sent, 2000, chars)
    assert fit("gpt-4", whole, sent, drop_oldest=False) is sent


def test_fit_never_sends_the_prompt_alone_for_a_history() -> None:
    sent = msgs(500)
    kept = keep_newest("p", sent, 1100, chars)
    assert kept.kept == 0
    with pytest.raises(LiaobotsContextOverflowError, match="the prompt takes 1"):
        fit("gpt-4", kept, sent, drop_oldest=True)


def test_the_answer_cap() -> None:
    assert ANSWER_TOKENS == 1000
    assert reached_answer_cap(1000)
    assert reached_answer_cap(996)
    assert not reached_answer_cap(900)


@pytest.mark.parametrize(
    "token", ["<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>"]
)
def test_a_special_token_the_server_refuses_is_refused_before_sending(
    token: str,
) -> None:
    with pytest.raises(ValueError, match=r"Message 1 holds .*special token"):
        keep_newest(
            "p", [*msgs(1), {"role": "user", "content": f"a {token}"}], None, chars
        )
    with pytest.raises(ValueError, match="The system prompt holds"):
        keep_newest(f"be {token}", msgs(1), None, chars)
    assert keep_newest(
        "p", [*msgs(1), {"role": "user", "content": "<| a |>"}], None, chars
    )
