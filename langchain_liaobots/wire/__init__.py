"""The wire format, pure: no sockets, no threads, no clocks.

The format's constants are :mod:`~langchain_liaobots.wire.protocol`; URL and
origin policy is :mod:`~langchain_liaobots.wire.urls`; a request's input is
checked against the model's limits in :mod:`~langchain_liaobots.wire.limits`
(over the token estimate of :mod:`~langchain_liaobots.wire.tokens`). Requests
are built, given their auth headers and redirected in
:mod:`~langchain_liaobots.wire.request`, answers decoded in
:mod:`~langchain_liaobots.wire.response`, credentials and the retry policy kept
in :mod:`~langchain_liaobots.wire.auth` and
:mod:`~langchain_liaobots.wire.retries`, and one call's whole sequence written
once in :mod:`~langchain_liaobots.wire.exchange`.
"""
