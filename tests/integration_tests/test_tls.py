"""The application's own client keeps its TLS settings unless verify_tls is set.

A real HTTPS server on 127.0.0.1 (`RecordingServer`, no code shared with the
package) with a certificate signed by a CA made in the test: only a client
given that CA's ``ca.pem`` verifies it. An own ``requests.Session`` with
``verify="ca.pem"`` (or ``trust_env`` and ``REQUESTS_CA_BUNDLE``), or an own
``aiohttp`` session whose connector trusts the CA, works through
``ChatLiaobots`` as it works alone; an explicit ``verify_tls`` wins over it.
"""

from __future__ import annotations

import shutil
import ssl
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import requests

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.errors import LiaobotsSecurityWarning, LiaobotsTLSError
from tests.helpers.peers import RecordingServer
from tests.helpers.tls import make_ca

CODE = "tls-probe-code-40a9"

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning"
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a CA")
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(ca: tuple[Path, ssl.SSLContext]) -> Iterator[RecordingServer]:
    with RecordingServer(ssl_context=ca[1]) as peer:
        yield peer


@pytest.fixture
def ca_pem(ca: tuple[Path, ssl.SSLContext]) -> str:
    return str(ca[0])


@pytest.fixture(autouse=True)
def _no_ca_bundle_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without REQUESTS_CA_BUNDLE: with trust_env it beats verify=."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _model(server: RecordingServer, **settings: object) -> ChatLiaobots:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LiaobotsSecurityWarning)
        return ChatLiaobots(base_url=server.base_url, auth=CODE, **settings)


def test_the_ca_is_needed(server: RecordingServer) -> None:
    """Without the CA nothing verifies the server (the tests below can fail)."""
    with pytest.raises(LiaobotsTLSError):
        _model(server).invoke("hi")
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(server.base_url + "/api/chat", timeout=5)


# -- requests.Session ------------------------------------------------------------


def test_an_own_sessions_ca_bundle_is_honoured(
    server: RecordingServer, ca_pem: str
) -> None:
    session = requests.Session()
    session.verify = ca_pem
    assert session.post(server.base_url + "/api/chat", timeout=5).ok  # alone
    llm = _model(server, http_client=session)
    assert llm.invoke("hi").content == RecordingServer.ANSWER
    assert server.seen[-1].headers["x-auth-code"] == CODE


def test_an_own_sessions_trust_env_is_honoured(
    server: RecordingServer, ca_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_pem)
    trusting = requests.Session()  # trust_env: reads REQUESTS_CA_BUNDLE
    llm = _model(server, http_client=trusting)
    assert llm.invoke("hi").content == RecordingServer.ANSWER
    distrusting = requests.Session()
    distrusting.trust_env = False  # its default CAs only
    with pytest.raises(LiaobotsTLSError):
        _model(server, http_client=distrusting).invoke("hi")


def test_an_explicit_verify_tls_wins_over_an_own_session(
    server: RecordingServer, ca_pem: str
) -> None:
    unverified = requests.Session()
    unverified.verify = False
    with pytest.raises(LiaobotsTLSError):
        _model(server, http_client=unverified, verify_tls=True).invoke("hi")
    assert _model(server, http_client=unverified).invoke("hi").content  # its own
    verifying = requests.Session()  # the default CAs, which lack the test's
    llm = _model(server, http_client=verifying, verify_tls=False)
    assert llm.invoke("hi").content == RecordingServer.ANSWER
    bundled = requests.Session()
    bundled.verify = ca_pem  # verification too: kept under verify_tls=True
    llm = _model(server, http_client=bundled, verify_tls=True)
    assert llm.invoke("hi").content == RecordingServer.ANSWER


def test_model_copy_with_verify_tls_is_explicit(
    server: RecordingServer, ca_pem: str
) -> None:
    session = requests.Session()
    session.verify = ca_pem
    llm = _model(server, http_client=session)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LiaobotsSecurityWarning)
        off = llm.model_copy(update={"verify_tls": False})
    session.verify = True  # the default CAs: only verify_tls=False passes now
    assert off.invoke("hi").content == RecordingServer.ANSWER
    with pytest.raises(LiaobotsTLSError):
        llm.invoke("hi")


# -- aiohttp.ClientSession -------------------------------------------------------


@pytest.fixture
async def trusting_session(ca_pem: str) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=ca_pem)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context)
    ) as session:
        yield session


async def test_an_own_connectors_ssl_is_honoured(
    server: RecordingServer, trusting_session: aiohttp.ClientSession
) -> None:
    llm = _model(server, http_async_client=trusting_session)
    assert (await llm.ainvoke("hi")).content == RecordingServer.ANSWER
    with pytest.raises(LiaobotsTLSError):  # the CA is the connector's, not ours
        await _model(server).ainvoke("hi")


async def test_an_explicit_verify_tls_wins_over_an_own_connector(
    server: RecordingServer,
) -> None:
    async with aiohttp.ClientSession() as verifying:  # the default CAs
        with pytest.raises(LiaobotsTLSError):
            await _model(server, http_async_client=verifying).ainvoke("hi")
        llm = _model(server, http_async_client=verifying, verify_tls=False)
        assert (await llm.ainvoke("hi")).content == RecordingServer.ANSWER
    unverified_connector = aiohttp.TCPConnector(ssl=False)
    async with aiohttp.ClientSession(connector=unverified_connector) as unverified:
        assert await _model(server, http_async_client=unverified).ainvoke("hi")
        llm = _model(server, http_async_client=unverified, verify_tls=True)
        with pytest.raises(LiaobotsTLSError):
            await llm.ainvoke("hi")
