"""The wire format, pure: bytes, strings and dicts in; requests, text and decisions out.

The rules of this package, kept by every module in it:

Rule 1: no I/O. Nothing here opens a socket, reads a file or the environment,
or sends anything; a request is a value (:class:`~.request.Request`) and an
answer arrives as bytes handed in. (Decisions are logged on the
``langchain_liaobots`` logger; its handlers are the application's.)

Rule 2: no clocks, and no chance in any decision. Whatever depends on the time
or on chance takes it as an argument: ``parse_retry_after(value, now)`` and
``retry_delay(..., draw)`` in :mod:`~langchain_liaobots.wire.retries`. The
exchange asks its driver for them with the :data:`~.exchange.NOW` and
:data:`~.exchange.DRAW` commands and waits with ``Sleep``; the driver reads the
clock, draws the number and sleeps. The one exception: fresh identifiers (a
request's conversation id, the login token) are drawn where the request is
built (``uuid4``, ``secrets``); they decide nothing.

Rule 3: no threads and no locks. Nothing here starts a thread or creates a
lock. :class:`~.auth.Credentials`, the one state shared between threads, is
guarded by a lock its owner (:mod:`langchain_liaobots.transport.clients`)
creates and hands in; without one it is for one thread. The setup flight that
callers share is the owner's too (``JOIN_SETUP``/``LandSetup`` ask for it).

Rule 4: one call's sequence is written once. Every decision of a call (setup,
signing, redirects, status to error, reading, retries) lives in the generator
of :mod:`~langchain_liaobots.wire.exchange`; the drivers perform its commands
and decide nothing.

Requests are built in :mod:`~langchain_liaobots.wire.request`, answers decoded in
:mod:`~langchain_liaobots.wire.response`, credentials and the retry policy kept in
:mod:`~langchain_liaobots.wire.auth` and :mod:`~langchain_liaobots.wire.retries`,
and one call's whole sequence written once in
:mod:`~langchain_liaobots.wire.exchange`.
"""
