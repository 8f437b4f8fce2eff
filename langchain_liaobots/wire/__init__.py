"""The wire format, pure: bytes, strings and dicts in; requests, text and decisions out.

The rules of this package, kept by every module in it:

Rule 1: no I/O. Nothing here opens a socket, reads a file or the environment,
or sends anything; a request is a value (`Request`) and an
answer arrives as bytes handed in. (Decisions are logged on the
``langchain_liaobots`` logger; its handlers are the application's.)

Rule 2: no clocks, and no chance in any decision. Whatever depends on the time
or on chance takes it as an argument: ``parse_retry_after(value, now)`` and
``retry_delay(..., draw)`` in `retries`. The
exchange asks its driver for them with the `NOW` and
`DRAW` commands and waits with ``Sleep``; the driver reads the
clock, draws the number and sleeps. The one exception: fresh identifiers (a
request's conversation id, the login token) are drawn where the request is
built (``uuid4``, ``secrets``); they decide nothing.

Rule 3: no threads and no locks. Nothing here starts a thread or creates a
lock. `Credentials`, the one state shared between threads, is
guarded by a lock its owner (`langchain_liaobots.transport.clients`)
creates and hands in; without one it is for one thread. The setup flight that
callers share is the owner's too (``JOIN_SETUP``/``LandSetup`` ask for it).

Rule 4: one call's sequence is written once. Every decision of a call (setup,
signing, redirects, status to error, reading, retries) lives in the generator
of `exchange`; the drivers perform its commands
and decide nothing.

The format's constants are `protocol`; URL and
origin policy is `urls`; the service's budget rule (which messages its server
keeps, its answer cap) is `budget`, over a tokenizer handed in. Requests
are built, given their auth headers and redirected in
`request`, answers decoded in
`response`, credentials and the retry policy kept
in `auth` and
`retries`, and one call's whole sequence written
once in `exchange`.

Rule 5: nothing from above. A module here imports the wire, the errors, the
registry's `ModelSpec` and the version, nothing else of the package
(``tests/unit_tests/test_wire_imports.py`` checks it).
"""
