"""Shared fixtures: a Liaobots-compatible local server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[LiaobotsEmulator]:
    """One fast local server for the whole run (no pacing, 7-byte pieces)."""
    with LiaobotsEmulator(piece_bytes=7) as server:
        yield server


@pytest.fixture
def fresh_emulator() -> Iterator[LiaobotsEmulator]:
    """A local server of a test's own, so its request log starts empty."""
    with LiaobotsEmulator(piece_bytes=5) as server:
        yield server


@pytest.fixture
def llm(emulator: LiaobotsEmulator) -> ChatLiaobots:
    return ChatLiaobots(base_url=emulator.base_url, auth="test-code", timeout=10)
