"""What one origin says stays with it: the auth code, and its model listing.

Two real servers on 127.0.0.1 that share no code with the package: A (the
``base_url``) answers every request with a 307 and a hostile ``Location``; B
records every connection it accepts. Whichever call (chat, ``account()``,
``discover_models()``, sync or async), B must receive nothing and the call
must raise `LiaobotsRedirectError`, naming the shape or the origin refused
and never the auth code. A server's ``/api/models`` listing applies to its
base URL only: another server's models keep the built-in entries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.exceptions import ContextOverflowError
from pydantic import ValidationError

from langchain_liaobots import ChatLiaobots, get_model
from langchain_liaobots.errors import LiaobotsRedirectError
from langchain_liaobots.registry import MAX_LISTED_MODELS
from tests.helpers.peers import RecordingServer, RedirectingServer

CODE = "origin-probe-code-7d21"

SHAPES = {
    # urllib3 ends the host at the backslash (port B); urllib.parse reads on to
    # the "@" (port A): the shape that leaked on the sync path.
    "backslash before @": ("http://127.0.0.1:{b}\\@127.0.0.1:{a}{path}", "backslash"),
    "tab before @": ("http://127.0.0.1:{b}\t@127.0.0.1:{a}{path}", "control"),
    "userinfo": ("http://127.0.0.1:{a}@127.0.0.1:{b}{path}", "credentials"),
    "semicolon userinfo": ("http://127.0.0.1:{a};@127.0.0.1:{b}{path}", "credentials"),
    "percent-escaped colon": ("http://127.0.0.1%3a{b}{path}", "not a plain name"),
    "scheme-relative": ("//127.0.0.1:{b}{path}", "another origin"),
    "other port": ("http://127.0.0.1:{b}{path}", "another origin"),
    "other host name": ("http://localhost:{b}{path}", "another origin"),
}

Call = Callable[[ChatLiaobots], Any]
CALLS: dict[str, tuple[Call, bool]] = {
    "invoke": (lambda llm: llm.invoke("hi"), False),
    "ainvoke": (lambda llm: llm.ainvoke("hi"), True),
    "account": (lambda llm: llm.account(), False),
    "aaccount": (lambda llm: llm.aaccount(), True),
    "discover_models": (lambda llm: llm.discover_models(), False),
    "adiscover_models": (lambda llm: llm.adiscover_models(), True),
}


@pytest.fixture(scope="module")
def peers() -> Iterator[tuple[RedirectingServer, RecordingServer]]:
    with RedirectingServer() as a, RecordingServer() as b:
        yield a, b


async def _outcome(call: str, llm: ChatLiaobots) -> Any:
    """What the call returns, or the exception it raises."""
    run, is_async = CALLS[call]
    try:
        result = run(llm)
        return (await result) if is_async else result
    except Exception as exc:
        return exc


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_a_hostile_location_reaches_no_other_server(
    peers: tuple[RedirectingServer, RecordingServer], shape: str, call: str
) -> None:
    a, b = peers
    template, refused = SHAPES[shape]
    a.location = template.format(a=a.port, b=b.port, path="{path}")
    a.seen.clear()
    b.seen.clear()
    b.connections = 0
    llm = ChatLiaobots(base_url=a.base_url, auth=CODE, timeout=5)

    err = await _outcome(call, llm)

    assert type(err) is LiaobotsRedirectError, err
    assert b.connections == 0
    assert b.seen == []
    assert len(a.seen) == 1  # refused at once, never retried
    assert a.seen[0].headers.get("x-auth-code") == CODE  # A is the code's origin
    assert refused in str(err)
    assert "not followed" in str(err)
    assert CODE not in str(err)
    assert CODE not in repr(err)


async def test_the_peers_show_a_leak_when_one_happens(
    peers: tuple[RedirectingServer, RecordingServer],
) -> None:
    """B does record a request that reaches it (the test above can fail)."""
    _, b = peers
    b.seen.clear()
    b.connections = 0
    llm = ChatLiaobots(base_url=b.base_url, auth=CODE, timeout=5)
    assert llm.invoke("hi").content == RecordingServer.ANSWER
    assert (await llm.aaccount()).balance == 1
    assert [s.headers.get("x-auth-code") for s in b.seen] == [CODE, CODE]
    assert b.connections >= 1


# -- discovery: one server's listing applies to its base URL only ----------------


def test_a_listing_touches_no_other_base_url() -> None:
    changed = {"id": "gpt-4o-free", "name": "Tiny", "maxLength": 5, "tokenLimit": 2}
    many = [
        {"id": f"m{i}", "name": "M", "maxLength": 0, "tokenLimit": 0}
        for i in range(50_000)
    ]
    with RecordingServer() as a, RecordingServer() as b:
        a.models = [changed, *many]  # 50,001 entries, about 3 MB
        lister = ChatLiaobots(base_url=a.base_url, auth=CODE, timeout=10)
        assert len(lister.discover_models()) == MAX_LISTED_MODELS
        assert len(asyncio.run(lister.adiscover_models())) == MAX_LISTED_MODELS
        other = ChatLiaobots(base_url=b.base_url, auth=CODE, model="gpt-4o-free")
        assert other.profile is not None
        assert other.profile["max_input_tokens"] == 6800  # the built-in's, less 1000
        assert other.invoke("x" * 100).content == RecordingServer.ANSWER
        assert get_model("gpt-4o-free").max_length == 31200
        with pytest.raises(ValueError, match="Unknown Liaobots model 'm7'"):
            ChatLiaobots(base_url=b.base_url, auth=CODE, model="m7")
        own = ChatLiaobots(base_url=a.base_url, auth=CODE, model="gpt-4o-free")
        with pytest.raises(ContextOverflowError, match=r"tokenLimit \(2\)"):
            own.invoke("x" * 100)  # A's own word on its model
        assert ChatLiaobots(base_url=a.base_url, auth=CODE, model="m7").invoke("hi")


def test_body_2025_fails_at_construction_or_takes_the_listed_provider() -> None:
    with RecordingServer() as a, RecordingServer() as b:
        a.models = [{**get_model("gpt-4").to_wire(), "provider": "OpenAI"}]
        with pytest.raises(ValidationError, match="body_format='2025'") as err:
            ChatLiaobots(base_url=a.base_url, auth=CODE, body_format="2025")
        assert "'gpt-4' has no provider" in str(err.value)
        assert "discover_models()" in str(err.value)
        assert a.seen == []  # refused before anything was sent
        ChatLiaobots(base_url=a.base_url, auth=CODE).discover_models()
        llm = ChatLiaobots(base_url=a.base_url, auth=CODE, body_format="2025")
        assert llm.invoke("hi").content == RecordingServer.ANSWER
        assert asyncio.run(llm.ainvoke("hi")).content == RecordingServer.ANSWER
        for seen in a.seen[-2:]:
            body = json.loads(seen.body)
            assert body["models"] == [{"modelId": "gpt-4", "provider": "OpenAI"}]
        assert get_model("gpt-4", a.base_url).max_length == 24000  # the seed's
        with pytest.raises(ValidationError, match="body_format='2025'"):
            ChatLiaobots(base_url=b.base_url, auth=CODE, body_format="2025")
