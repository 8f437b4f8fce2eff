"""The wire format, pure: no sockets, no threads, no clocks.

Requests are built in :mod:`~langchain_liaobots.wire.request`, answers decoded in
:mod:`~langchain_liaobots.wire.response`, credentials and the retry policy kept in
:mod:`~langchain_liaobots.wire.auth` and :mod:`~langchain_liaobots.wire.retries`,
and one call's whole sequence written once in
:mod:`~langchain_liaobots.wire.exchange`.
"""
