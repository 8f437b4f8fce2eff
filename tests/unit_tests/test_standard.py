"""The langchain-tests standard unit suite."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_liaobots import ChatLiaobots


class TestChatLiaobotsStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatLiaobots]:
        return ChatLiaobots

    @property
    def chat_model_params(self) -> dict:
        return {"model": "gpt-4", "base_url": "http://127.0.0.1:9"}

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {
                "LIAOBOTS_AUTH_CODE": "env-code",
                "LIAOBOTS_BASE_URL": "http://127.0.0.1:7",
            },
            {},
            {"auth": "env-code", "base_url": "http://127.0.0.1:7"},
        )

    @pytest.mark.xfail(
        reason=(
            "load(allowed_objects='all') admits only the classes of langchain-core's "
            "own serialization mapping; ChatLiaobots loads with "
            "allowed_objects=[ChatLiaobots] (tests/integration_tests/test_handles.py)"
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)
