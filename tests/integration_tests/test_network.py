"""Network settings: proxies (field and environment), extra headers, own clients.

The proxy is a real forward proxy on 127.0.0.1 (``tests/helpers/proxy.py``),
for plain HTTP and for HTTPS through ``CONNECT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import requests
from requests.adapters import HTTPAdapter

from langchain_liaobots import ChatLiaobots, LiaobotsSecurityWarning
from langchain_liaobots.emulator import LiaobotsEmulator
from langchain_liaobots.wire.protocol import CHAT_PATH, USER_PATH
from tests.helpers.proxy import ForwardProxy

MODES = ["sync", "async"]


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator() as emulator:
        yield emulator


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as forward:
        yield forward


@pytest.fixture
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("LIAOBOTS_PROXY", raising=False)


def _ask(llm: ChatLiaobots, mode: str, text: str = "hi") -> str:
    if mode == "sync":
        return str(llm.invoke(text).content)
    return str(asyncio.run(llm.ainvoke(text)).content)


@pytest.mark.usefixtures("no_env_proxies")
@pytest.mark.parametrize("mode", MODES)
def test_proxy_field_carries_plain_http(
    server: LiaobotsEmulator, proxy: ForwardProxy, mode: str
) -> None:
    llm = ChatLiaobots(base_url=server.base_url, auth="c", proxy=proxy.url)
    assert _ask(llm, mode) == "You said: hi"
    assert proxy.seen == [f"POST {server.base_url}{CHAT_PATH}"]


@pytest.mark.usefixtures("no_env_proxies")
@pytest.mark.parametrize("mode", MODES)
def test_liaobots_proxy_variable_is_the_default(
    server: LiaobotsEmulator,
    proxy: ForwardProxy,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIAOBOTS_PROXY", proxy.url)
    llm = ChatLiaobots(base_url=server.base_url, auth="c")
    assert llm.proxy == proxy.url
    assert _ask(llm, mode) == "You said: hi"
    assert len(proxy.seen) == 1


@pytest.mark.usefixtures("no_env_proxies")
@pytest.mark.parametrize("mode", MODES)
def test_standard_proxy_variables_apply_to_both_paths(
    server: LiaobotsEmulator,
    proxy: ForwardProxy,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    llm = ChatLiaobots(base_url=server.base_url, auth="c", timeout=11)
    assert _ask(llm, mode) == "You said: hi"
    assert len(proxy.seen) == 1
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    bypass = llm.model_copy(update={"timeout": 12})  # a fresh pool
    assert _ask(bypass, mode) == "You said: hi"
    assert len(proxy.seen) == 1  # NO_PROXY: straight to the server


@pytest.mark.usefixtures("no_env_proxies")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("mode", MODES)
def test_https_goes_through_connect(
    tls_context: Any, proxy: ForwardProxy, mode: str
) -> None:
    with LiaobotsEmulator(ssl_context=tls_context) as server:
        with pytest.warns(LiaobotsSecurityWarning):
            llm = ChatLiaobots(
                base_url=server.base_url, auth="c", proxy=proxy.url, verify_tls=False
            )
        assert _ask(llm, mode) == "You said: hi"
        port = server.base_url.rsplit(":", 1)[1]
    assert proxy.seen == [f"CONNECT 127.0.0.1:{port}"]


@pytest.mark.parametrize("mode", MODES)
def test_default_headers_reach_every_request(
    server: LiaobotsEmulator, mode: str
) -> None:
    llm = ChatLiaobots(
        base_url=server.base_url,
        auth=None,
        acquire_auth_code=True,
        default_headers={"X-Gateway-Key": "g-1", "User-Agent": "my-app/2"},
    )
    assert _ask(llm, mode) == "You said: hi"
    assert [r.path for r in server.requests] == [USER_PATH, CHAT_PATH]
    for received in server.requests:
        assert received.headers["x-gateway-key"] == "g-1"
        assert received.headers["user-agent"] == "my-app/2"


@pytest.mark.parametrize("name", ["x-auth-code", "Content-Type", "Cookie"])
def test_protocol_headers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"default_headers may not set {name}"):
        ChatLiaobots(auth="c", default_headers={name: "x"})


class _CountingAdapter(HTTPAdapter):
    """A real adapter an application might mount, counting what it sends."""

    sent = 0

    def send(self, *args: Any, **kwargs: Any) -> requests.Response:
        type(self).sent += 1
        return super().send(*args, **kwargs)


def test_own_requests_session_is_used_and_never_closed(
    server: LiaobotsEmulator,
) -> None:
    session = requests.Session()
    session.mount("http://", _CountingAdapter())
    llm = ChatLiaobots(base_url=server.base_url, auth="c", http_client=session)
    assert llm.invoke("a").content == "You said: a"
    assert "".join(str(c.content) for c in llm.stream("b")) == "You said: b"
    llm.close()
    assert _CountingAdapter.sent == 2
    # Still the application's, still open: it can go on being used.
    assert session.post(server.base_url + CHAT_PATH, data=b"{}").status_code == 400
    session.close()


async def test_own_aiohttp_session_is_used_and_never_closed(
    server: LiaobotsEmulator,
) -> None:
    starts: list[str] = []

    async def on_start(*_: Any) -> None:
        starts.append("request")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        llm = ChatLiaobots(
            base_url=server.base_url, auth="c", http_async_client=session
        )
        assert (await llm.ainvoke("a")).content == "You said: a"
        await llm.aclose()
        assert not session.closed
        assert starts == ["request"]
