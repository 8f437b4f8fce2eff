"""registry: the seed entries, unknown ids, custom models, per-base-URL listings."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from langchain_liaobots import (
    ModelSpec,
    get_model,
    known_model_ids,
    register_model,
    registry,
)
from langchain_liaobots.errors import LiaobotsUnexpectedResponseError
from langchain_liaobots.registry import (
    MAX_LISTED_MODELS,
    MAX_LISTING_SERVERS,
    register_discovered,
)


def test_registry_seed_entries_are_exact() -> None:
    assert get_model("gpt-4").to_wire() == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }
    assert get_model("gpt-3.5-turbo").to_wire() == {
        "id": "gpt-3.5-turbo",
        "name": "GPT-3.5",
        "maxLength": 12000,
        "tokenLimit": 4000,
    }
    later = get_model("gpt-4o-free").to_wire()
    assert later["maxLength"] == 31200
    assert later["provider"] == "OpenAI"


def test_unknown_model_lists_known_ids() -> None:
    with pytest.raises(ValueError, match="Unknown Liaobots model 'gpt-9'") as err:
        get_model("gpt-9")
    for model_id in known_model_ids():
        assert model_id in str(err.value)


def test_register_custom_model() -> None:
    spec = register_model(
        {"id": "my-test-model", "name": "Mine", "maxLength": 900, "tokenLimit": 300}
    )
    assert get_model("my-test-model") is spec
    assert isinstance(spec, ModelSpec)
    with pytest.raises(ValueError, match="tokenLimit"):
        register_model({"id": "bad", "name": "Bad", "maxLength": 9})


# -- discovery: a listing applies to its base URL only ---------------------------

A = "http://127.0.0.1:1001"
B = "http://127.0.0.1:1002"


@pytest.fixture(autouse=True)
def _no_listings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_LISTED", OrderedDict())


def _entry(model_id: str, **fields: object) -> dict[str, object]:
    return {"id": model_id, "name": model_id, "maxLength": 9, "tokenLimit": 3, **fields}


def test_a_listing_applies_to_its_base_url_only() -> None:
    register_discovered([_entry("listed-1"), _entry("gpt-4o-free")], A)
    assert get_model("listed-1", A).max_length == 9
    assert get_model("gpt-4o-free", A).max_length == 9  # A's own word on it
    assert get_model("gpt-4o-free", B).max_length == 31200  # built-in elsewhere
    assert get_model("gpt-4o-free").max_length == 31200
    with pytest.raises(ValueError, match="Unknown Liaobots model 'listed-1'"):
        get_model("listed-1", B)
    with pytest.raises(ValueError, match="Unknown Liaobots model 'listed-1'"):
        get_model("listed-1")
    assert "listed-1" in known_model_ids(A)
    assert "listed-1" not in known_model_ids(B)
    assert "listed-1" not in known_model_ids()


def test_a_new_listing_replaces_that_base_urls_earlier_one() -> None:
    register_discovered([_entry("old")], A)
    register_discovered([_entry("old")], B)
    assert [m.id for m in register_discovered([_entry("new")], A)] == ["new"]
    with pytest.raises(ValueError, match="'old'"):
        get_model("old", A)
    assert get_model("old", B).id == "old"


def test_a_huge_listing_is_capped_and_replaces_no_built_in_elsewhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = [_entry("gpt-4o-free", maxLength=1)] + [
        _entry(f"m{i}") for i in range(50_000)
    ]
    found = register_discovered(huge, A)
    assert len(found) == MAX_LISTED_MODELS == 1000
    assert "Kept the first 1000 of the 50001" in caplog.text
    assert get_model("gpt-4o-free", A).max_length == 1
    assert get_model("gpt-4o-free", B).max_length == 31200
    assert get_model("gpt-4o-free").max_length == 31200
    assert len(known_model_ids(B)) == len(known_model_ids()) < 20


def test_only_the_most_recent_listings_are_kept() -> None:
    bases = [f"http://127.0.0.1:{2000 + i}" for i in range(MAX_LISTING_SERVERS + 1)]
    for base in bases:
        register_discovered([_entry("per-server")], base)
    with pytest.raises(ValueError, match="'per-server'"):
        get_model("per-server", bases[0])  # the least recently listed went
    assert get_model("per-server", bases[-1]).id == "per-server"
    assert len(registry._LISTED) == MAX_LISTING_SERVERS


def test_a_seed_keeps_its_limits_and_takes_the_listings_labels() -> None:
    (gpt4,) = register_discovered(
        [_entry("gpt-4", name="GPT-4 (changed)", provider="OpenAI", model="ChatGPT")],
        A,
    )
    assert gpt4.max_length == 24000
    assert gpt4.token_limit == 8000
    assert gpt4.name == "GPT-4"
    assert gpt4.provider == "OpenAI"
    assert gpt4.family == "ChatGPT"
    assert get_model("gpt-4", A) == gpt4
    assert get_model("gpt-4").provider is None  # other base URLs: the seed as is
    assert get_model("gpt-4", B).provider is None


def test_the_users_own_entry_wins_over_a_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        registry._REGISTRY, "gpt-4o-free", registry._REGISTRY["gpt-4o-free"]
    )
    mine = register_model(_entry("gpt-4o-free", maxLength=77))
    register_discovered([_entry("gpt-4o-free", maxLength=5)], A)
    assert get_model("gpt-4o-free", A) is mine


def test_an_answer_that_is_not_a_list_is_a_typed_error() -> None:
    with pytest.raises(LiaobotsUnexpectedResponseError, match="not an array"):
        register_discovered({"models": []}, A)
