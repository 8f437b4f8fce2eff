"""A live check against the real Liaobots service: ``make live``.

Skipped unless ``LIAOBOTS_AUTH_CODE`` is set (``LIAOBOTS_BASE_URL`` and
``LIAOBOTS_MODEL`` choose the address and the model; defaults: the package's
and ``gpt-4``). Marked ``live``, so the default run leaves it out; its tests
carry ``enable_socket`` to lift pytest-socket's 127.0.0.1-only rule.

Any failure fails the check with the typed error's class and message (for
example ``LiaobotsHTMLPageError: ... service down``): a live check that skipped
when the service is down would report a dead service as fine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_liaobots import ChatLiaobots, LiaobotsError

pytestmark = [
    pytest.mark.live,
    pytest.mark.enable_socket,
    pytest.mark.skipif(
        not os.environ.get("LIAOBOTS_AUTH_CODE"),
        reason="set LIAOBOTS_AUTH_CODE to run the live check",
    ),
]


class Joke(BaseModel):
    setup: str
    punchline: str


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny"


@pytest.fixture
def live() -> ChatLiaobots:
    return ChatLiaobots(
        model=os.environ.get("LIAOBOTS_MODEL", "gpt-4"), timeout=60, max_retries=2
    )


@contextmanager
def typed_failure() -> Iterator[None]:
    """Fail with the typed error's class and message, without a long traceback."""
    try:
        yield
    except (LiaobotsError, OutputParserException) as err:
        pytest.fail(f"{type(err).__name__}: {err}", pytrace=False)


def test_invoke(live: ChatLiaobots) -> None:
    with typed_failure():
        msg = live.invoke("Say hello in one word.")
    assert msg.text.strip()
    assert msg.usage_metadata is not None


def test_stream(live: ChatLiaobots) -> None:
    with typed_failure():
        chunks = list(live.stream("Count from 1 to 5."))
    assert "".join(c.text for c in chunks).strip()
    assert chunks[-1].chunk_position == "last"


def test_tool_call(live: ChatLiaobots) -> None:
    with typed_failure():
        msg = live.bind_tools([get_weather], tool_choice="get_weather").invoke(
            "What is the weather in Paris?"
        )
    assert [c["name"] for c in msg.tool_calls] == ["get_weather"]


def test_structured_output(live: ChatLiaobots) -> None:
    with typed_failure():
        joke = live.with_structured_output(Joke).invoke("Tell me a joke about cats.")
    assert isinstance(joke, Joke)
