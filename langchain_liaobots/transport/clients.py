"""The one owner of client state: a model's wire settings in, pooled clients out.

Every pooled HTTP client of the process lives in :data:`CLIENTS`, keyed by a
:class:`ClientKey`: everything that changes what goes on the wire (base URL,
the credentials' identity, timeout, TLS verification, proxy, extra headers, an
application's own HTTP client) and the process id. A model computes its key on
every call, so a ``model_copy`` with a new auth code or timeout, a
``configurable_fields`` variant, or a forked worker always reaches a client of
its own, with nothing for the user to do.

A :class:`Client` holds one key's state:

* its :class:`~langchain_liaobots.wire.auth.Credentials` (acquired code,
  session cookies) and the :class:`SetupFlight` that runs their setup steps
  once across all threads and event loops;
* one ``requests.Session`` for the sync path;
* one ``aiohttp.ClientSession`` per running event loop, in a lock-guarded
  map. A session is closed with its loop's ``shutdown_asyncgens()`` (as
  ``asyncio.run`` does); one whose loop was closed without that is reclaimed
  (closed and its sockets released) the next time the client is used or
  closed.

In a forked child, :data:`CLIENTS` drops the parent's pools (they share
sockets with the parent) and keeps each key's credentials. At interpreter exit
every client is closed.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import os
import socket
import threading
import weakref
from collections.abc import AsyncGenerator, Coroutine, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, select_proxy

from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.request import BodyFormat

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "CLIENTS",
    "AuthKey",
    "Client",
    "ClientKey",
    "Clients",
    "SetupFlight",
    "code_digest",
]

_POOL_SIZE = 256

_PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)
"""The variables that can send a request through a proxy."""


def code_digest(code: str | None) -> str:
    """Return a short digest that tells auth codes apart without holding one.

    Args:
        code: The auth code, if any.

    Returns:
        ``""`` for no code, else 16 hex digits.
    """
    if not code:
        return ""
    return hashlib.blake2b(code.encode(), digest_size=8).hexdigest()


class AuthKey(NamedTuple):
    """What identifies a configuration's credentials in one process.

    Attributes:
        pid: The process id (a forked child never uses its parent's state).
        base_url: The service's base URL.
        code: :func:`code_digest` of the given auth code.
        acquire: Whether a code is acquired from the service.
        login: Whether the session login is used.
        body_format: The protocol era of the request bodies (setup steps too).
    """

    pid: int
    base_url: str
    code: str
    acquire: bool
    login: bool
    body_format: BodyFormat


class ClientKey(NamedTuple):
    """Everything that decides which pooled client a call may use.

    Attributes:
        auth: The credentials' identity (keys that differ only in the fields
            below share one :class:`Credentials`).
        timeout: Seconds to connect and for each silence.
        verify: Whether TLS certificates are verified.
        proxy: The proxy URL, or ``None`` for the environment's settings.
        headers: Extra headers sent with every request, sorted.
        http_client: The application's own ``requests.Session``, if any.
        http_async_client: The application's own ``aiohttp.ClientSession``.
    """

    auth: AuthKey
    timeout: float
    verify: bool
    proxy: str | None
    headers: tuple[tuple[str, str], ...]
    http_client: Any
    http_async_client: Any


class SetupFlight:
    """One flight of setup steps at a time, shared by threads and event loops.

    The first caller to :meth:`join` leads: it performs the steps and
    lands the outcome with :meth:`land`. Later callers get the leader's future and wait
    on it (sync callers with ``result()``, async callers with
    ``asyncio.wrap_future``); a failure reaches each of them as the same error.
    """

    def __init__(self) -> None:
        """Start with no flight under way."""
        self._lock = threading.Lock()
        self._current: Future[None] | None = None

    def join(self) -> Future[None] | None:
        """Lead a new flight (``None``) or get the one under way to wait on.

        Returns:
            ``None`` when the caller leads, else the leader's future.
        """
        with self._lock:
            current = self._current
            if current is None or current.done():
                self._current = Future()
                return None
            return current

    def land(self, error: BaseException | None) -> None:
        """End the flight the caller leads.

        Args:
            error: The failure every waiter should see, or ``None``.
        """
        with self._lock:
            current = self._current
        if current is None or current.done():
            return
        if error is None:
            current.set_result(None)
        else:
            current.set_exception(error)


def _run_to_end(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never suspends (closing on a closed loop) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()  # it wanted the loop after all; it is gone


@dataclass
class _LoopSession:
    """The async path's pooled session in one event loop."""

    session: aiohttp.ClientSession
    keeper: AsyncGenerator[None, None]
    sockets: weakref.WeakSet[socket.socket]

    def reclaim(self) -> None:
        """Close the session of a closed loop, and release its sockets."""
        _run_to_end(self.keeper.aclose())
        for sock in list(self.sockets):
            sock.close()


class Client:
    """One key's client state in one process."""

    def __init__(
        self, key: ClientKey, credentials: Credentials, flight: SetupFlight
    ) -> None:
        """Create the state; no connection is opened yet.

        Args:
            key: The key this client serves.
            credentials: The auth state for the key (shared by every key with
                the same base URL and credentials settings).
            flight: The setup flight of those credentials.
        """
        self.key = key
        self.credentials = credentials
        self.flight = flight
        self.headers: Mapping[str, str] = dict(key.headers)
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopSession] = {}

    # -- the sync path -----------------------------------------------------

    def session(self) -> requests.Session:
        """The pooled ``requests`` session (the application's own, if given).

        Returns:
            The session.
        """
        if self.key.http_client is not None:
            return self.key.http_client  # type: ignore[no-any-return]
        session = self._session
        if session is not None:
            return session
        with self._lock:
            if self._session is None:
                session = requests.Session()
                # Cookies are the Credentials' business (one jar for both paths).
                session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                if self.key.proxy:
                    session.proxies = {"http": self.key.proxy, "https": self.key.proxy}
                self._session = session
            return self._session

    # -- the async path ----------------------------------------------------

    async def asession(self) -> aiohttp.ClientSession:
        """The running loop's pooled ``aiohttp`` session (the application's own).

        Returns:
            The session.
        """
        if self.key.http_async_client is not None:
            return self.key.http_async_client  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is not None and not state.session.closed:
            return state.session
        with self._lock:
            stale = self._sweep()
            state = self._loops.get(loop)
            created = state is None or state.session.closed
            if created:
                state = self._open(loop)
        for old in stale:
            old.reclaim()
        assert state is not None
        if created:
            # An async generator registered with the loop is closed by the
            # loop's shutdown_asyncgens() (asyncio.run does that), which closes
            # the session with its loop instead of leaving it to the collector.
            await state.keeper.__anext__()
        return state.session

    def proxy_for(self, url: str) -> str | None:
        """The proxy for a request: the ``proxy`` setting, else the environment's.

        ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` (any case)
        are read on every request, as ``requests`` reads them on the sync path.

        Args:
            url: The request's URL.

        Returns:
            The proxy URL, or ``None`` to connect directly.
        """
        if self.key.proxy:
            return self.key.proxy
        environ = os.environ
        if not any(name in environ for name in _PROXY_VARIABLES):
            return None  # the common case, without scanning the environment
        # The same rules, and code, as requests applies on the sync path.
        return select_proxy(url, get_environ_proxies(url))

    def _open(self, loop: asyncio.AbstractEventLoop) -> _LoopSession:
        import aiohttp  # lazy: sync users never pay for it

        sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

        def make_socket(addr_info: Any) -> socket.socket:
            family, kind, proto = addr_info[:3]
            sock = socket.socket(family, kind, proto)
            sockets.add(sock)
            return sock

        key = self.key
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=_POOL_SIZE, ssl=key.verify, socket_factory=make_socket
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=key.timeout, sock_read=key.timeout
            ),
            # Cookies are the Credentials' business (one jar for both paths).
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            # No trust_env: it costs two thread hops per request (netrc and
            # proxy look-ups); the driver reads the proxy variables itself.
            trust_env=False,
        )
        state = _LoopSession(session, _keeper(session), sockets)
        self._loops[loop] = state
        return state

    def _sweep(self) -> list[_LoopSession]:
        """Take out the sessions of closed loops (call with the lock held)."""
        closed = [loop for loop in self._loops if loop.is_closed()]
        return [self._loops.pop(loop) for loop in closed]

    # -- closing -----------------------------------------------------------

    def close(self) -> None:
        """Close the sync session and reclaim the sessions of closed loops.

        An application's own clients are never closed.
        """
        with self._lock:
            session, self._session = self._session, None
            stale = self._sweep()
        if session is not None:
            session.close()
        for state in stale:
            state.reclaim()

    async def aclose(self) -> None:
        """:meth:`close`, and close the running loop's session."""
        self.close()
        with self._lock:
            state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.keeper.aclose()


async def _keeper(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await session.close()


class Clients:
    """The owner of every :class:`Client` of the process."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._clients: dict[ClientKey, Client] = {}
        self._auth: dict[AuthKey, tuple[Credentials, SetupFlight]] = {}

    def get(self, key: ClientKey, code: str | None) -> Client:
        """Return the client for a key, creating it on first use.

        Keys that differ only in connection settings (timeout, TLS, proxy,
        headers) share one :class:`Credentials` and its setup flight, so an
        acquired code or a session cookie is got once per configuration.

        Args:
            key: The caller's key (its ``pid`` is the current process).
            code: The given auth code (its digest is in the key).

        Returns:
            The client.
        """
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                ident = key.auth
                auth = self._auth.get(ident)
                if auth is None:
                    credentials = Credentials(
                        ident.base_url,
                        code,
                        acquire=ident.acquire,
                        login=ident.login,
                        body_format=ident.body_format,
                    )
                    auth = self._auth[ident] = (credentials, SetupFlight())
                client = self._clients[key] = Client(key, *auth)
            return client

    def pop(self, key: ClientKey) -> Client | None:
        """Forget a key's client (the caller closes it).

        Args:
            key: The key.

        Returns:
            The client, if there was one.
        """
        with self._lock:
            return self._clients.pop(key, None)

    def close_all(self) -> None:
        """Close every client's sync pool and reclaim closed loops' sessions.

        Run at interpreter exit, so no session is left open then.
        """
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.close()

    def after_fork_in_child(self) -> None:
        """Drop the parent's pools in a forked child; keep each key's credentials.

        The parent's connections stay the parent's: the child opens its own.
        """
        self._lock = threading.Lock()  # the parent's may have been held
        pid = os.getpid()
        inherited = self._auth
        self._auth = {
            auth_key._replace(pid=pid): (credentials.forked(), SetupFlight())
            for auth_key, (credentials, _) in inherited.items()
        }
        self._clients = {}


CLIENTS = Clients()
"""The process's one owner of pooled clients."""

os.register_at_fork(after_in_child=CLIENTS.after_fork_in_child)
atexit.register(CLIENTS.close_all)
