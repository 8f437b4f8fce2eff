"""The one owner of client state: a model's wire settings in, pooled clients out.

A model asks `CLIENTS` for a `Client` on every call (`Clients.for_settings`),
which makes a `ClientKey` of its settings, split by what each setting changes:

* `PoolKey`, what changes the **connection**: the origin (scheme, host,
  port), TLS verification, the proxy, ``max_connections``, an application's
  own HTTP client, and the process id. One `Pool` per key holds a
  ``requests.Session`` for the sync path and one ``aiohttp.ClientSession`` per
  running event loop. A thousand tenants with their own codes share one pool.
  An application's own client keeps its TLS settings (a ``requests.Session``'s
  ``verify`` / CA bundle and ``trust_env``, an ``aiohttp`` connector's
  ``ssl``) unless the model sets ``verify_tls`` explicitly: the pool hands the
  drivers each request's ``verify`` (`Pool.requests_verify`) and ``ssl``
  (`Pool.aiohttp_ssl`).
* `AuthKey`, what identifies the **credentials**: base URL, the auth
  code's digest, the opt-in setup steps and the body format. One
  `Credentials` (acquired code, session
  cookies; guarded by a lock this module gives it, as ``wire/`` holds none)
  and one `SetupFlight` per key, shared by threads and event loops, so
  concurrent first calls run the setup steps once.
* The **request settings**, ``timeout`` and ``default_headers``: the drivers
  apply them to each request, with the code and the cookies the credentials
  sign it with. The pools keep no cookie jar, so tenants sharing a pool never
  share a cookie.

Pools and credentials live while a model uses them: each model is bound to
its client through a weak reference. When the last model bound to credentials
is collected, they are dropped. When the last model bound to a pool is
collected, the pool goes idle: its connections stay open for the next model
with the same settings (short-lived models, one per tenant or per request,
reuse them), and only the `IDLE_POOLS` most recently idle pools are
kept; older ones are closed.
A per-loop session closes with its loop's ``shutdown_asyncgens()`` (as
``asyncio.run`` does) and leaves the map then; one whose loop was closed
without that is reclaimed (closed, its transports finished and sockets
released, without warnings) when the pool is next used, closed or dropped, so
a closed loop is never kept alive for long.

In a forked child, `CLIENTS` gives every pool a fresh, empty twin (the
parent's connections stay the parent's) and keeps each key's credentials. At
interpreter exit every pool is closed.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import os
import socket
import ssl
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, select_proxy

from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.protocol import BodyFormat

if TYPE_CHECKING:
    import aiohttp
    from pydantic import SecretStr

__all__ = [
    "CLIENTS",
    "DEFAULT_MAX_CONNECTIONS",
    "IDLE_POOLS",
    "AuthKey",
    "Client",
    "ClientKey",
    "ClientSettings",
    "Clients",
    "Counts",
    "Pool",
    "PoolKey",
    "SetupFlight",
    "code_digest",
    "pool_origin",
]

DEFAULT_MAX_CONNECTIONS = 1024
"""The default of ``ChatLiaobots.max_connections``: connections per pool."""

IDLE_POOLS = 4
"""Pools no model uses that stay open (most recently idle first); the rest close."""

_KEPT_WHEN_UNLIMITED = DEFAULT_MAX_CONNECTIONS
"""Idle connections the sync path keeps when ``max_connections`` is ``None``."""

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


@lru_cache(maxsize=64)
def pool_origin(base_url: str) -> str:
    """Return the part of a base URL that picks a connection: scheme, host, port.

    Args:
        base_url: The service's (normalized) base URL.

    Returns:
        ``scheme://host:port``, the port made explicit.
    """
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


class PoolKey(NamedTuple):
    """What changes a connection: the pooled clients' identity in one process.

    Attributes:
        pid: The process id (a forked child never uses its parent's sockets).
        origin: `pool_origin` of the base URL.
        verify: Whether TLS certificates are verified; ``None`` when the model
            did not set ``verify_tls`` and brought its own client, whose TLS
            settings then decide.
        proxy: The proxy URL, or ``None`` for the environment's settings.
        max_connections: The pool's size, ``None`` for no limit.
        http_client: The application's own ``requests.Session``, if any.
        http_async_client: The application's own ``aiohttp.ClientSession``.
    """

    pid: int
    origin: str
    verify: bool | None
    proxy: str | None
    max_connections: int | None
    http_client: Any
    http_async_client: Any


class AuthKey(NamedTuple):
    """What identifies a configuration's credentials in one process.

    Attributes:
        pid: The process id (a forked child never uses its parent's state).
        base_url: The service's base URL.
        code: `code_digest` of the given auth code.
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
    """Everything a call's client is made of: pool, credentials, request settings.

    Attributes:
        pool: The connection settings (keys with one pool key share one pool).
        auth: The credentials' identity.
        timeout: Seconds to connect and for each silence, applied per request.
        headers: Extra headers sent with every request, sorted; per request.
    """

    pool: PoolKey
    auth: AuthKey
    timeout: float
    headers: tuple[tuple[str, str], ...]


class Counts(NamedTuple):
    """How much state `CLIENTS` holds (what the pool tests count).

    Attributes:
        pools: Pools in use (one per connection configuration).
        idle_pools: Pools no model uses, still open (at most `IDLE_POOLS`).
        credentials: Credentials states (one per credentials identity in use).
        models: Models bound to a client.
        loop_sessions: Per-loop ``aiohttp`` sessions, over all open pools.
    """

    pools: int
    idle_pools: int
    credentials: int
    models: int
    loop_sessions: int


class SetupFlight:
    """One flight of setup steps at a time, shared by threads and event loops.

    The first caller to `join` leads: it performs the steps and
    lands the outcome with `land`. Later callers get the leader's future and wait
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


@lru_cache(maxsize=1)
def _verifying_context() -> ssl.SSLContext:
    """The default verifying context (for an own connector that does not verify)."""
    return ssl.create_default_context()


def _run_to_end(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never suspends (closing on a closed loop) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()  # it wanted the loop after all; it is gone


_CLOSING: set[asyncio.Task[None]] = set()
"""Tasks closing a dropped pool's session in a live loop (kept until done)."""


def _close_in_loop(keeper: AsyncGenerator[None, None]) -> None:
    """In the session's loop: close it (the keeper's ``finally``) as a task."""
    task = asyncio.get_running_loop().create_task(keeper.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


@dataclass(eq=False)
class _LoopSession:
    """The async path's pooled session in one event loop."""

    loop: asyncio.AbstractEventLoop
    session: aiohttp.ClientSession
    sockets: weakref.WeakSet[socket.socket]
    keeper: AsyncGenerator[None, None] = field(init=False)

    def reclaim(self) -> None:
        """Release the session of a closed loop: transports, sockets, session.

        The loop can no longer run the callbacks that finish its transports,
        so each transport of one of the session's sockets gets the one the
        loop would have run (``_call_connection_lost``, asyncio's own), which
        closes the socket and leaves nothing for the transport's finalizer to
        warn about.
        """
        transports: Mapping[int, Any] = getattr(self.loop, "_transports", None) or {}
        for sock in list(self.sockets):
            fd = sock.fileno()
            lost = getattr(transports.get(fd), "_call_connection_lost", None)
            if fd >= 0 and lost is not None:
                with contextlib.suppress(Exception):  # its protocol's loop is gone
                    lost(None)
            sock.close()
        _run_to_end(self.keeper.aclose())

    def dispose(self) -> None:
        """Close the session whatever its loop's state (its pool is dropped)."""
        if not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(_close_in_loop, self.keeper)
            except RuntimeError:  # closed meanwhile
                pass
            else:
                return
        self.reclaim()


async def _keeper(
    session: aiohttp.ClientSession, forget: Callable[[], None]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        forget()
        await session.close()


class Pool:
    """One connection configuration's pooled HTTP clients in one process."""

    def __init__(self, key: PoolKey) -> None:
        """Create the pool; no connection is opened yet.

        Args:
            key: The connection settings it serves.
        """
        self.key = key
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopSession] = {}

    @property
    def loop_sessions(self) -> int:
        """How many per-loop sessions the pool holds."""
        return len(self._loops)

    # -- TLS -----------------------------------------------------------------

    def requests_verify(self) -> bool | str | None:
        """The ``verify`` of a sync request: ``verify_tls``, or the own session's.

        Returns:
            ``None`` to let the application's own session decide (its
            ``verify``, a CA bundle, and with ``trust_env`` the
            ``REQUESTS_CA_BUNDLE`` variable); else ``False``, or ``True`` (the
            own session's CA bundle when it has one: that verifies too).
        """
        verify, own = self.key.verify, self.key.http_client
        if own is None or verify is False:
            return verify is not False
        if verify is None:
            return None
        bundle = getattr(own, "verify", None)
        return bundle if isinstance(bundle, str) else True

    def aiohttp_ssl(self) -> bool | ssl.SSLContext:
        """The ``ssl`` of an async request: ``verify_tls``, or the own connector's.

        Returns:
            ``True`` to let the connector decide (the pool's own, made with
            ``verify_tls``; or the application's, with its own ``ssl``);
            ``False`` when ``verify_tls=False`` was set; a verifying context
            when ``verify_tls=True`` was set and the application's connector
            does not verify.
        """
        verify, own = self.key.verify, self.key.http_async_client
        if own is None or verify is None:
            return True
        if verify is False:
            return False
        own_ssl = getattr(getattr(own, "connector", None), "_ssl", True)
        return _verifying_context() if own_ssl is False else True

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
                self._session = self._open_sync()
            return self._session

    def _open_sync(self) -> requests.Session:
        session = requests.Session()
        # Cookies are each Credentials' own, signed into every request: a
        # pool shared by many credentials keeps none.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        size = self.key.max_connections
        adapter = HTTPAdapter(
            pool_connections=4,
            pool_maxsize=size or _KEPT_WHEN_UNLIMITED,
            pool_block=size is not None,  # at most `size` at once, as on aiohttp
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if self.key.proxy:
            session.proxies = {"http": self.key.proxy, "https": self.key.proxy}
        return session

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

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.key.max_connections or 0,
                ssl=self.key.verify is not False,
                socket_factory=make_socket,
            ),
            # Every request brings its own timeout (the model's).
            timeout=aiohttp.ClientTimeout(total=None),
            # Cookies are each Credentials' own, signed into every request.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            # No trust_env: it costs two thread hops per request (netrc and
            # proxy look-ups); the driver reads the proxy variables itself.
            trust_env=False,
        )
        state = _LoopSession(loop, session, sockets)
        state.keeper = _keeper(session, lambda: self._forget(state))
        self._loops[loop] = state
        return state

    def _forget(self, state: _LoopSession) -> None:
        """Drop a session whose keeper is closing, so its loop is not kept."""
        with self._lock:
            if self._loops.get(state.loop) is state:
                del self._loops[state.loop]

    def _sweep(self) -> list[_LoopSession]:
        """Take out the sessions of closed loops (call with the lock held)."""
        closed = [loop for loop in self._loops if loop.is_closed()]
        return [self._loops.pop(loop) for loop in closed]

    # -- closing -----------------------------------------------------------

    def reclaim_closed(self) -> None:
        """Reclaim the sessions of closed loops (so no closed loop is kept)."""
        with self._lock:
            stale = self._sweep()
        for state in stale:
            state.reclaim()

    def close(self) -> None:
        """Close the sync session and reclaim the sessions of closed loops.

        An application's own clients are never closed.
        """
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
        self.reclaim_closed()

    async def aclose(self) -> None:
        """`close`, and close the running loop's session."""
        self.close()
        state = self._loops.get(asyncio.get_running_loop())
        if state is not None:
            await state.keeper.aclose()

    def dispose(self) -> None:
        """Close everything: no model uses the pool any more.

        Sessions of live loops are closed in their loops, the others at once.
        """
        with self._lock:
            session, self._session = self._session, None
            states = list(self._loops.values())
            self._loops.clear()
        if session is not None:
            session.close()
        for state in states:
            state.dispose()


class Client:
    """One call's view of its state: a shared pool, shared credentials, settings."""

    __slots__ = ("credentials", "flight", "headers", "key", "pool", "timeout")

    def __init__(
        self, key: ClientKey, pool: Pool, credentials: Credentials, flight: SetupFlight
    ) -> None:
        """Bundle the pieces; nothing is opened.

        Args:
            key: The key this client serves.
            pool: The pool of ``key.pool``.
            credentials: The auth state of ``key.auth``.
            flight: The setup flight of those credentials.
        """
        self.key = key
        self.pool = pool
        self.credentials = credentials
        self.flight = flight
        self.timeout = key.timeout
        self.headers: Mapping[str, str] = dict(key.headers)

    def close(self) -> None:
        """Close the pool's sync session (see `Pool.close`)."""
        self.pool.close()

    async def aclose(self) -> None:
        """Close the pool's sync session and the running loop's session."""
        await self.pool.aclose()


class _Entry:
    """A shared thing (pool or credentials) and how many models use it."""

    __slots__ = ("users", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.users = 0


@dataclass(eq=False)
class _Binding:
    """A model's current client; released when the model goes or rebinds."""

    uid: int
    client: Client
    pool: _Entry
    auth: _Entry
    ref: weakref.ref[Any] | None = None
    released: bool = False


class ClientSettings(Protocol):
    """What a model's client is made of: the settings ``ChatLiaobots`` has."""

    base_url: str
    auth: SecretStr | None
    timeout: float
    verify_tls: bool
    proxy: str | None
    max_connections: int | None
    default_headers: dict[str, str] | None
    http_client: Any | None
    http_async_client: Any | None
    acquire_auth_code: bool
    session_login: bool
    body_format: BodyFormat

    @property
    def model_fields_set(self) -> set[str]:
        """The settings given explicitly (``verify_tls`` among them, or not)."""


class Clients:
    """The owner of every pool and credentials state of the process."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._pools: dict[PoolKey, _Entry] = {}
        self._idle: OrderedDict[PoolKey, _Entry] = OrderedDict()
        self._auth: dict[AuthKey, _Entry] = {}
        self._bindings: dict[int, _Binding] = {}
        self._dead: deque[_Binding] = deque()

    def for_settings(self, model: ClientSettings) -> Client:
        """Return the client of a model's settings in this process.

        The settings split into the pool's key, the credentials' key and the
        request settings (see the module docstring); the model is bound to
        the client it gets.

        Args:
            model: The model asking (held weakly).

        Returns:
            The client.
        """
        code = model.auth.get_secret_value() if model.auth else None
        pid = os.getpid()
        own = model.http_client is not None or model.http_async_client is not None
        explicit = "verify_tls" in model.model_fields_set
        key = ClientKey(
            pool=PoolKey(
                pid=pid,
                origin=pool_origin(model.base_url),
                verify=model.verify_tls if explicit or not own else None,
                proxy=model.proxy,
                max_connections=model.max_connections,
                http_client=model.http_client,
                http_async_client=model.http_async_client,
            ),
            auth=AuthKey(
                pid=pid,
                base_url=model.base_url,
                code=code_digest(code),
                acquire=model.acquire_auth_code,
                login=model.session_login,
                body_format=model.body_format,
            ),
            timeout=model.timeout,
            headers=tuple(sorted((model.default_headers or {}).items())),
        )
        return self.get(key, code, model)

    def get(self, key: ClientKey, code: str | None, user: object) -> Client:
        """Return the client of a key for a model, binding the model to it.

        The model keeps the pool and the credentials of its key in use until
        it is collected or asks with another key.

        Args:
            key: The caller's key (its pids are the current process).
            code: The given auth code (its digest is in the key).
            user: The model asking (held weakly).

        Returns:
            The client.
        """
        if self._dead:
            self._reap()
        binding = self._bindings.get(id(user))
        if (
            binding is not None
            and binding.client.key == key
            and binding.ref is not None
            and binding.ref() is user
        ):
            return binding.client
        with self._lock:
            binding = self._bind(key, code, user)
            idle, unused = self._reap_locked()
        self._retire(idle, unused)
        return binding.client

    def _bind(self, key: ClientKey, code: str | None, user: object) -> _Binding:
        """Bind a model to the client of a key (call with the lock held)."""
        uid = id(user)
        old = self._bindings.get(uid)
        if old is not None and old.ref is not None and old.ref() is user:
            if old.client.key == key:
                return old  # another thread bound it meanwhile
            self._dead.append(old)  # the model moved to another key
        pool = self._pools.get(key.pool)
        if pool is None:
            pool = self._idle.pop(key.pool, None) or _Entry(Pool(key.pool))
            self._pools[key.pool] = pool
        auth = self._auth.get(key.auth)
        if auth is None:
            ident = key.auth
            credentials = Credentials(
                ident.base_url,
                code,
                acquire=ident.acquire,
                login=ident.login,
                body_format=ident.body_format,
                lock=threading.RLock(),
            )
            auth = self._auth[key.auth] = _Entry((credentials, SetupFlight()))
        binding = self._bindings[uid] = self._attach(uid, key, pool, auth, user)
        return binding

    def _attach(
        self, uid: int, key: ClientKey, pool: _Entry, auth: _Entry, user: object
    ) -> _Binding:
        """Make a binding of a model to shared entries, counting it as a user."""
        pool.users += 1
        auth.users += 1
        binding = _Binding(uid, Client(key, pool.value, *auth.value), pool, auth)
        binding.ref = weakref.ref(user, lambda _: self._died(binding))
        return binding

    def _died(self, binding: _Binding) -> None:
        """A bound model was collected (any thread, any moment): release it."""
        self._dead.append(binding)
        self._reap()

    def _reap(self) -> None:
        """Release dead bindings now if the lock is free, else leave them queued.

        Never waits: it may run from the collector inside a locked section.
        """
        if not self._lock.acquire(blocking=False):
            return
        try:
            idle, unused = self._reap_locked()
        finally:
            self._lock.release()
        self._retire(idle, unused)

    def _reap_locked(self) -> tuple[list[Pool], list[Pool]]:
        """Release queued bindings (lock held).

        Returns:
            The pools that went idle, and the idle pools to close.
        """
        idle: list[Pool] = []
        unused: list[Pool] = []
        while self._dead:
            binding = self._dead.popleft()
            if binding.released:
                continue
            binding.released = True
            if self._bindings.get(binding.uid) is binding:
                del self._bindings[binding.uid]
            key = binding.client.key
            binding.auth.users -= 1
            if binding.auth.users == 0 and self._auth.get(key.auth) is binding.auth:
                del self._auth[key.auth]
            binding.pool.users -= 1
            if binding.pool.users == 0 and self._pools.get(key.pool) is binding.pool:
                del self._pools[key.pool]
                self._idle[key.pool] = binding.pool
                idle.append(binding.pool.value)
        while len(self._idle) > IDLE_POOLS:
            unused.append(self._idle.popitem(last=False)[1].value)
        return idle, unused

    @staticmethod
    def _retire(idle: list[Pool], unused: list[Pool]) -> None:
        """Let idle pools keep no closed loop; close the pools past the cap."""
        for pool in idle:
            pool.reclaim_closed()
        for pool in unused:
            pool.dispose()

    def counts(self) -> Counts:
        """Count the state held now (after releasing collected models' state).

        Returns:
            The counts.
        """
        self._reap()
        with self._lock:
            pools = [e.value for e in (*self._pools.values(), *self._idle.values())]
            return Counts(
                pools=len(self._pools),
                idle_pools=len(self._idle),
                credentials=len(self._auth),
                models=len(self._bindings),
                loop_sessions=sum(pool.loop_sessions for pool in pools),
            )

    def close_all(self) -> None:
        """Close every pool's sync session and reclaim closed loops' sessions.

        Run at interpreter exit, so no session is left open then.
        """
        with self._lock:
            pools = [e.value for e in (*self._pools.values(), *self._idle.values())]
        for pool in pools:
            pool.close()

    def after_fork_in_child(self) -> None:
        """Give the child empty twins of the pools; keep each key's credentials.

        Every model keeps its binding, re-keyed to the child's process id, so
        it finds its credentials (acquired code, cookies) and opens its own
        connections. The parent's connections stay the parent's.
        """
        self._lock = threading.Lock()  # the parent's may have been held
        pid = os.getpid()
        pools: dict[int, _Entry] = {}
        auths: dict[int, _Entry] = {}
        self._pools, self._auth, self._idle = {}, {}, OrderedDict()
        self._dead.clear()
        for binding in list(self._bindings.values()):
            user = binding.ref() if binding.ref is not None else None
            if user is None or binding.released:
                del self._bindings[binding.uid]
                continue
            old = binding.client.key
            key = old._replace(
                pool=old.pool._replace(pid=pid), auth=old.auth._replace(pid=pid)
            )
            pool = pools.get(id(binding.pool))
            if pool is None:
                pool = pools[id(binding.pool)] = _Entry(Pool(key.pool))
                self._pools[key.pool] = pool
            auth = auths.get(id(binding.auth))
            if auth is None:
                credentials, _ = binding.auth.value
                auth = auths[id(binding.auth)] = _Entry(
                    (credentials.forked(threading.RLock()), SetupFlight())
                )
                self._auth[key.auth] = auth
            binding.released = True  # the parent's binding: its callback is moot
            self._bindings[binding.uid] = self._attach(
                binding.uid, key, pool, auth, user
            )


CLIENTS = Clients()
"""The process's one owner of pooled clients."""

os.register_at_fork(after_in_child=CLIENTS.after_fork_in_child)
atexit.register(CLIENTS.close_all)
