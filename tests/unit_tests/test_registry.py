"""registry: the seed entries, unknown ids, custom models."""

from __future__ import annotations

import pytest

from langchain_liaobots import ModelSpec, get_model, known_model_ids, register_model


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
