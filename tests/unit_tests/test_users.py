"""Profiles, early validation, token counting and the last clients' bodies, offline."""

from __future__ import annotations

import json
import warnings

import pytest

from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsUnsupportedParameterWarning,
    ModelSpec,
    register_model,
)
from langchain_liaobots.emulator.codec import parse_payload
from langchain_liaobots.tokens import TOKENIZER, ReplyBudget
from langchain_liaobots.wire.budget import keep_newest
from langchain_liaobots.wire.request import build_payload
from langchain_liaobots.wire.urls import normalize_base_url

BASE = "http://127.0.0.1:9"


def test_profile_of_a_seed_model() -> None:
    assert ChatLiaobots(model="gpt-4", base_url=BASE).profile == {
        "max_input_tokens": 7000,  # tokenLimit less the answer's 1,000
        "max_output_tokens": 1000,
        "text_inputs": True,
        "text_outputs": True,
        "image_inputs": False,
        "audio_inputs": False,
        "video_inputs": False,
        "pdf_inputs": False,
        "tool_calling": True,
        "tool_choice": True,
        "structured_output": False,
        "temperature": True,
    }


def test_profile_of_custom_models_takes_their_flags() -> None:
    register_model(
        {
            "id": "custom-native",
            "name": "Native",
            "maxLength": 0,
            "tokenLimit": 0,
            "structured_output": True,
            "tool_choice": False,
        }
    )
    profile = ChatLiaobots(model="custom-native", base_url=BASE).profile
    assert profile is not None
    assert "max_input_tokens" not in profile  # unknown
    assert profile["structured_output"] is True
    assert profile["tool_choice"] is False
    assert profile["tool_calling"] is True
    spec = register_model(
        ModelSpec(id="custom-plain", name="P", maxLength=9, tokenLimit=3)
    )
    assert "structured_output" not in spec.to_wire()  # flags never travel


def test_unknown_model_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="gpt-4") as info:
        ChatLiaobots(model="gpt-9000", base_url=BASE)
    assert "register_model" in str(info.value)
    assert "'gpt-9000'" in str(info.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://liaobots.com", "https://liaobots.com"),
        ("https://liaobots.com/", "https://liaobots.com"),
        ("https://liaobots.com/api/chat", "https://liaobots.com"),
        ("https://liaobots.com/api/chat/", "https://liaobots.com"),
        ("https://liaobots.com/api", "https://liaobots.com"),
        ("https://proxy.example/liaobots/api/", "https://proxy.example/liaobots"),
        ("http://127.0.0.1:8080/prefix", "http://127.0.0.1:8080/prefix"),
    ],
)
def test_base_url_is_normalized(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected
    assert ChatLiaobots(base_url=given).base_url == expected


@pytest.mark.parametrize(
    "given", ["https://liaobots.com/?x=1", "https://liaobots.com#top", "ftp://x"]
)
def test_base_url_with_a_query_or_fragment_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        ChatLiaobots(base_url=given)


def test_unsent_parameters_warn_once_naming_them() -> None:
    with pytest.warns(LiaobotsUnsupportedParameterWarning) as record:
        llm = ChatLiaobots(
            base_url=BASE, temperature=0.2, top_p=0.9, seed=7, n=1, max_tokens=50
        )
    assert len(record) == 1
    message = str(record[0].message)
    assert "top_p, seed, n" in message
    assert "temperature is sent" in message
    assert "max_tokens" in message  # ... is honoured
    assert llm.temperature == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ChatLiaobots(base_url=BASE, max_tokens=50, stop=[], temperature=0)
    with pytest.warns(LiaobotsUnsupportedParameterWarning, match="1000 tokens"):
        ChatLiaobots(base_url=BASE, max_tokens=4000)


def test_max_tokens_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        ChatLiaobots(base_url=BASE, max_tokens=0)
    with pytest.raises(ValueError, match="max_tokens must be a positive integer"):
        ReplyBudget(-1)


def test_text_tokens_are_cl100k_base_counts() -> None:
    llm = ChatLiaobots(base_url=BASE)
    assert llm.get_num_tokens("") == 0
    assert llm.get_num_tokens("hello world") == 2
    assert llm.get_num_tokens("tiktoken is great!") == 6  # tiktoken's README


def test_reply_budget_keeps_the_longest_prefix_that_fits() -> None:
    budget = ReplyBudget(10)
    kept = "".join(budget.take(piece) for piece in ["hello ", "there, " * 9, "more"])
    assert budget.exhausted
    assert TOKENIZER.count(kept) <= 10 < TOKENIZER.count(kept + "t")
    assert budget.take("anything") == ""
    unlimited = ReplyBudget(None)
    assert unlimited.take("x" * 10_000) == "x" * 10_000
    assert not unlimited.exhausted


def test_unknown_limits_are_not_checked_and_travel_as_zero() -> None:
    spec = ModelSpec(
        id="zeros", name="Z", maxLength=0, tokenLimit=0, context=0, provider="P"
    )
    huge = [{"role": "user", "content": "x y " * 100_000}]
    kept = keep_newest("prompt", huge, spec.input_token_limit, TOKENIZER.count)
    assert kept.dropped == 0
    body = json.dumps(build_payload(spec, "p", [{"role": "user", "content": "hi"}]))
    assert parse_payload(body.encode())["model"]["tokenLimit"] == 0
    known = ModelSpec(id="known", name="K", maxLength=0, tokenLimit=10)
    assert keep_newest("p", huge, known.input_token_limit, TOKENIZER.count).kept == 0


def test_parse_payload_still_refuses_negative_limits() -> None:
    body = build_payload(
        ModelSpec(id="m", name="M", maxLength=1, tokenLimit=1),
        "p",
        [{"role": "user", "content": "hi"}],
    )
    body["model"]["tokenLimit"] = -1
    with pytest.raises(ValueError, match=r"integers >= 0 \(0: unknown\)"):
        parse_payload(json.dumps(body).encode())
