"""The langchain-tests standard integration suite, against the local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator


@pytest.fixture(scope="module")
def standard_server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=7) as server:
        yield server


class TestChatLiaobotsIntegration(ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _server(self, standard_server: LiaobotsEmulator) -> None:
        self._base_url = standard_server.base_url

    @property
    def chat_model_class(self) -> type[ChatLiaobots]:
        return ChatLiaobots

    @property
    def chat_model_params(self) -> dict:
        return {"model": "gpt-4", "base_url": self._base_url, "auth": "standard-suite"}

    # Estimated offline (the service reports none); marked usage_estimated.
    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-3.5-turbo"

    # Prompt-based tools and JSON answers (langchain_liaobots.prompt.tools/.structured);
    # the local server's responder follows those instructions.
    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True
