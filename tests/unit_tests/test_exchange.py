"""wire.exchange driven by hand: each command, each failure, no sockets.

In httpx's style (``tests/test_auth.py``): ``cmd = next(flow)`` takes the next
command, ``flow.send(result)`` answers it and ``flow.throw(Failure(...))``
fails it, as a driver would.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from langchain_liaobots.account import parse_account
from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsConnectionError,
    LiaobotsContextOverflowError,
    LiaobotsRateLimitError,
    LiaobotsRedirectError,
    LiaobotsResponseTooLargeError,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    LiaobotsTLSError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire import auth, exchange
from langchain_liaobots.wire.auth import Credentials
from langchain_liaobots.wire.exchange import (
    DRAW,
    JOIN_SETUP,
    NOW,
    READ,
    RELEASE,
    Emit,
    Exchange,
    Failure,
    Head,
    LandSetup,
    Send,
    Sleep,
)
from langchain_liaobots.wire.protocol import LOGIN_PATH, USER_PATH
from langchain_liaobots.wire.request import Request, build_user_request
from langchain_liaobots.wire.response import ANSWER_LIMIT

BASE = "http://127.0.0.1:1"
CHAT = Request(f"{BASE}/api/chat", {"content-type": "application/json"}, b"{}")
TEXT = {"content-type": "text/plain; charset=utf-8"}
JSON = {"content-type": "application/json"}


def _chat(
    credentials: Credentials | None = None,
    *,
    max_retries: int = 2,
    stop: Sequence[str] = (),
) -> Exchange:
    creds = Credentials(BASE, "the-code") if credentials is None else credentials
    return exchange.chat(CHAT, creds, timeout=5, max_retries=max_retries, stop=stop)


def _head(
    status: int = 200,
    headers: Mapping[str, str] = TEXT,
    cookies: Sequence[str] = (),
) -> Head:
    return Head(status, headers, cookies)


def _sent(flow: Exchange[Any], cmd: object) -> Send:
    """Check a command is a Send and return it."""
    assert isinstance(cmd, Send), cmd
    return cmd


def _body(flow: Exchange[Any], head: Head, *pieces: bytes) -> object:
    """Answer a Send with ``head`` and READs with ``pieces``; the next command."""
    cmd = flow.send(head)
    for piece in pieces:
        assert cmd is READ, cmd
        cmd = flow.send(piece)
    return cmd


def _returned(flow: Exchange[Any], result: object = None) -> object:
    with pytest.raises(StopIteration) as done:
        flow.send(result)
    return done.value.value


# -- the commands --------------------------------------------------------------


def test_commands_and_signals_print_their_names() -> None:
    assert [repr(s) for s in (READ, RELEASE, NOW, DRAW, JOIN_SETUP)] == [
        "READ",
        "RELEASE",
        "NOW",
        "DRAW",
        "JOIN_SETUP",
    ]
    assert repr(Emit("hi")) == "Emit(text='hi')"
    assert repr(Sleep(0.5)) == "Sleep(seconds=0.5)"
    assert repr(LandSetup(None)) == "LandSetup(error=None)"
    signed = Request(CHAT.url, {"x-auth-code": "the-code"}, b"{}")
    assert "the-code" not in repr(Send(signed))


def test_chat_sends_the_signed_request_then_reads_emits_and_releases() -> None:
    flow = _chat()
    send = _sent(flow, next(flow))
    assert send.request.url == CHAT.url
    assert send.request.headers["x-auth-code"] == "the-code"
    assert send.request.body == CHAT.body
    assert flow.send(_head()) is READ
    assert flow.send(b"hel") == Emit("hel")
    assert flow.send(None) is READ
    assert flow.send(b"lo") == Emit("lo")
    assert flow.send(None) is READ
    assert flow.send(b"") is RELEASE
    assert _returned(flow) is None


def test_a_tail_the_decoder_held_is_emitted_after_the_release() -> None:
    flow = _chat()
    next(flow)
    assert _body(flow, _head(), b"caf\xc3") == Emit("caf")
    assert flow.send(None) is READ
    assert flow.send(b"") is RELEASE
    assert flow.send(None) == Emit("\ufffd")
    assert _returned(flow) is None


def test_a_stop_sequence_ends_the_answer_without_reading_on() -> None:
    flow = _chat(stop=["STOP"])
    next(flow)
    assert _body(flow, _head(), b"hello STOP more") == Emit("hello ")
    # No READ, no RELEASE: the driver closes the response the exchange left.
    assert _returned(flow) is None


def test_closing_mid_answer_ends_the_exchange_at_once() -> None:
    flow = _chat()
    next(flow)
    assert _body(flow, _head(), b"hello ") == Emit("hello ")
    flow.close()
    assert flow.gi_frame is None
    with pytest.raises(StopIteration):
        next(flow)


def test_a_json_exchange_returns_its_parsed_value() -> None:
    creds = Credentials(BASE, "the-code")
    flow = exchange.fetch_json(
        creds.account_request, parse_account, creds, timeout=5, max_retries=0
    )
    send = _sent(flow, next(flow))
    assert send.request.url == f"{BASE}{USER_PATH}"
    assert send.request.headers["x-auth-code"] == "the-code"
    body = (b'{"authCode": "the-code",', b' "balance": 2.5}')
    assert _body(flow, _head(headers=JSON), *body, b"") is RELEASE
    state = _returned(flow)
    assert state == parse_account({"authCode": "the-code", "balance": 2.5})


def test_a_json_answer_too_large_is_refused() -> None:
    creds = Credentials(BASE, "the-code")
    flow = exchange.fetch_json(
        lambda: build_user_request(BASE, "the-code"),
        dict,
        creds,
        timeout=5,
        max_retries=0,
    )
    next(flow)
    assert flow.send(_head(headers=JSON)) is READ
    big = b" " * (exchange.JSON_BODY_LIMIT + 1)
    assert flow.send(big) is DRAW  # nothing more is read, nor parsed
    with pytest.raises(LiaobotsResponseTooLargeError, match="more than") as info:
        flow.send(0.5)
    assert info.value.status_code == 200


# -- failures before the answer: retried with back-off, or raised -------------


def test_a_refused_connection_is_retried_after_the_drawn_back_off() -> None:
    flow = _chat(max_retries=2)
    first = _sent(flow, next(flow))
    assert flow.throw(Failure("refused", ConnectionRefusedError(111, "no"))) is DRAW
    assert flow.send(0.0) == Sleep(0.25)  # the lowest of 0.25 to 0.5 s
    again = _sent(flow, flow.send(None))
    assert again.request == first.request
    assert flow.throw(Failure("refused", ConnectionRefusedError())) is DRAW
    assert flow.send(0.5) == Sleep(0.75)  # then 0.5 to 1 s
    _sent(flow, flow.send(None))
    assert _body(flow, _head(), b"ok") == Emit("ok")


def test_a_connect_failure_past_the_retries_says_what_happened() -> None:
    flow = _chat(max_retries=0)
    next(flow)
    cause = ConnectionRefusedError(111, "Connection refused")
    assert flow.throw(Failure("refused", cause)) is DRAW
    with pytest.raises(LiaobotsConnectionError, match="refused") as info:
        flow.send(0.5)
    assert info.value.__cause__ is cause
    assert "ConnectionRefusedError" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("refused", "the connection was refused"),
        ("unresolved", "the host name did not resolve"),
        ("reset", "the connection was reset"),
        ("proxy", "the proxy failed"),
        ("io", "a network error"),
    ],
)
def test_each_connection_failure_kind_is_said_in_words(kind: str, said: str) -> None:
    flow = _chat(max_retries=0)
    next(flow)
    assert flow.throw(Failure(kind, OSError("it broke"))) is DRAW
    with pytest.raises(LiaobotsConnectionError) as info:
        flow.send(0.5)
    assert f"Could not reach {BASE}/api/chat ({said}: OSError: it broke)" in str(
        info.value
    )


def test_a_timeout_before_the_answer_is_never_retried() -> None:
    flow = _chat(max_retries=5)
    next(flow)
    assert flow.throw(Failure("timeout", TimeoutError("timed out"))) is DRAW
    with pytest.raises(LiaobotsTimeoutError, match=r"No answer from .* within 5 s"):
        flow.send(0.5)


def test_an_answer_that_is_not_http_is_never_retried() -> None:
    flow = _chat(max_retries=5)
    next(flow)
    cause = http.client.BadStatusLine("garbage")
    assert flow.throw(Failure("malformed", cause)) is DRAW
    with pytest.raises(LiaobotsUnexpectedResponseError) as info:
        flow.send(0.5)
    assert str(info.value).startswith(
        f"{BASE}/api/chat answered, but the answer was not valid HTTP: "
        "BadStatusLine: garbage; check base_url"
    )
    assert info.value.__cause__ is cause
    assert not info.value.is_retryable


def test_a_tls_failure_names_the_handshake() -> None:
    flow = _chat(max_retries=0)
    next(flow)
    assert flow.throw(Failure("tls", OSError("bad cert"))) is DRAW
    with pytest.raises(LiaobotsTLSError, match="TLS handshake"):
        flow.send(0.5)


def test_a_5xx_is_read_then_retried_with_back_off() -> None:
    flow = _chat(max_retries=1)
    next(flow)
    assert _body(flow, _head(503), b"busy", b"") is DRAW
    assert flow.send(0.0) == Sleep(0.25)
    _sent(flow, flow.send(None))
    assert _body(flow, _head(503), b"still busy", b"") is DRAW
    with pytest.raises(LiaobotsAPIError, match="busy"):
        flow.send(0.0)


def test_an_error_body_is_read_only_so_far() -> None:
    flow = _chat(max_retries=0)
    next(flow)
    cmd = flow.send(_head(500))
    reads = 0
    while cmd is READ:
        reads += 1
        cmd = flow.send(b"x" * 1000)
    assert reads == 3  # 2048 bytes are enough for the message
    assert cmd is DRAW


def test_retry_after_in_seconds_sets_the_delay() -> None:
    flow = _chat(max_retries=1)
    next(flow)
    assert _body(flow, _head(429, {"retry-after": "3"}), b"") is NOW
    assert flow.send(1e9) is DRAW
    assert flow.send(0.9) == Sleep(3.0)


def test_retry_after_as_an_http_date_counts_from_the_drivers_clock() -> None:
    now = parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    flow = _chat(max_retries=1)
    next(flow)
    head = _head(429, {"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"})
    assert _body(flow, head, b"slow down", b"") is NOW
    assert flow.send(now) is DRAW
    assert flow.send(0.9) == Sleep(30.0)
    _sent(flow, flow.send(None))
    assert _body(flow, _head(429, {"retry-after": "7"}), b"") is NOW
    assert flow.send(now) is DRAW
    with pytest.raises(LiaobotsRateLimitError) as info:
        flow.send(0.9)
    assert info.value.retry_after == 7.0


def test_a_4xx_is_not_retried() -> None:
    flow = _chat(max_retries=3)
    next(flow)
    assert _body(flow, _head(401), b"Error", b"") is DRAW
    with pytest.raises(LiaobotsAuthenticationError, match="HTTP 401"):
        flow.send(0.5)


def test_the_services_context_error_is_not_retried() -> None:
    flow = _chat(max_retries=3)
    next(flow)
    head = Head(500, TEXT, (), "This model's maximum context length is 8192 tokens.")
    assert _body(flow, head, b"Error", b"") is DRAW
    with pytest.raises(LiaobotsContextOverflowError, match="maximum context length"):
        flow.send(0.5)


def test_the_services_rate_limit_phrase_is_retried_then_typed() -> None:
    flow = _chat(max_retries=1)
    next(flow)
    head = Head(500, TEXT, (), "Rate limit reached for default-gpt-4 on tokens.")
    assert _body(flow, head, b"Error", b"") is DRAW
    assert flow.send(0.0) == Sleep(0.25)
    _sent(flow, flow.send(None))
    assert _body(flow, head, b"Error", b"") is DRAW
    with pytest.raises(LiaobotsRateLimitError, match="Rate limit reached"):
        flow.send(0.0)


# -- failures in the middle of the answer: raised with the text so far --------


def test_a_cut_mid_answer_keeps_the_partial_text_and_is_not_retried() -> None:
    flow = _chat(max_retries=5)
    next(flow)
    assert _body(flow, _head(), b"hello ") == Emit("hello ")
    assert flow.send(None) is READ
    cause = ConnectionResetError(104, "reset")
    assert flow.throw(Failure("reset", cause)) is DRAW
    with pytest.raises(LiaobotsStreamCutError, match="after 6 characters") as info:
        flow.send(0.5)
    assert info.value.partial_text == "hello "
    assert info.value.__cause__ is cause


def test_an_answer_past_its_limit_keeps_the_partial_text_and_is_not_retried() -> None:
    flow = _chat(max_retries=5)
    next(flow)
    assert _body(flow, _head(), b"hello ") == Emit("hello ")
    assert flow.send(None) is READ
    rest = ANSWER_LIMIT - len("hello ")
    assert flow.send(b"a" * rest) == Emit("a" * rest)
    assert flow.send(None) is READ
    assert flow.send(b"!") is DRAW  # the read stopped at the limit
    with pytest.raises(LiaobotsResponseTooLargeError) as info:
        flow.send(0.5)
    assert info.value.partial_text == "hello " + "a" * rest


def test_a_silence_mid_answer_is_a_timeout_with_the_partial_text() -> None:
    flow = _chat()
    next(flow)
    assert _body(flow, _head(), b"hel") == Emit("hel")
    flow.send(None)
    assert flow.throw(Failure("timeout", TimeoutError())) is DRAW
    with pytest.raises(LiaobotsTimeoutError, match="sent nothing for 5 s") as info:
        flow.send(0.5)
    assert info.value.partial_text == "hel"


# -- redirects -----------------------------------------------------------------


def test_a_same_origin_redirect_is_followed_with_the_same_body() -> None:
    flow = _chat()
    next(flow)
    moved = _sent(flow, flow.send(_head(308, {"location": "/api/v2/chat"})))
    assert moved.request.url == f"{BASE}/api/v2/chat"
    assert moved.request.body == CHAT.body
    assert moved.request.headers["x-auth-code"] == "the-code"
    assert _body(flow, _head(), b"ok") == Emit("ok")


def test_a_redirect_to_another_origin_is_refused() -> None:
    flow = _chat(max_retries=3)
    next(flow)
    assert flow.send(_head(307, {"location": "http://elsewhere:1/x"})) is DRAW
    with pytest.raises(LiaobotsRedirectError, match="another origin"):
        flow.send(0.5)


# -- the setup flight ------------------------------------------------------------


def _setup_credentials() -> Credentials:
    return Credentials(BASE, None, acquire=True, login=True)


def test_a_cold_call_logs_in_acquires_a_code_then_sends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    for name in ("build_login_request", "build_user_request"):
        real = getattr(auth, name)
        monkeypatch.setattr(
            auth, name, lambda *a, _r=real, _n=name: built.append(_n) or _r(*a)
        )
    flow = _chat(_setup_credentials())
    assert next(flow) is JOIN_SETUP
    login = _sent(flow, flow.send(True))
    assert login.request.url == f"{BASE}{LOGIN_PATH}"
    head = _head(headers=JSON, cookies=["gkp2=session; Path=/"])
    acquire = _sent(flow, _body(flow, head, b"{}", b"") and flow.send(None))
    assert acquire.request.url == f"{BASE}{USER_PATH}"
    assert acquire.request.headers["cookie"] == "gkp2=session"
    code = b'{"authCode": "new-code-1"}'
    assert _body(flow, _head(headers=JSON), code, b"") is RELEASE
    assert flow.send(None) == LandSetup(None)
    send = _sent(flow, flow.send(None))
    assert send.request.headers["x-auth-code"] == "new-code-1"
    assert send.request.headers["cookie"] == "gkp2=session"
    assert built == ["build_login_request", "build_user_request"]  # once each


def test_a_caller_that_waited_for_the_flight_sends_with_its_outcome() -> None:
    creds = _setup_credentials()
    flow = _chat(creds)
    assert next(flow) is JOIN_SETUP
    # Another caller leads the flight and finishes it meanwhile.
    while (step := creds.next_step()) is not None:
        creds.complete(step, b'{"authCode": "their-code"}', 200)
    send = _sent(flow, flow.send(False))
    assert send.request.headers["x-auth-code"] == "their-code"


def test_a_waiter_joins_again_when_setup_is_still_due() -> None:
    flow = _chat(_setup_credentials())
    assert next(flow) is JOIN_SETUP
    assert flow.send(False) is JOIN_SETUP  # the leader's flight did not cure it


def test_a_failed_setup_step_lands_the_flight_with_its_error() -> None:
    flow = _chat(_setup_credentials(), max_retries=0)
    assert next(flow) is JOIN_SETUP
    _sent(flow, flow.send(True))
    landed = _body(flow, _head(500), b"down", b"")
    assert isinstance(landed, LandSetup)
    assert isinstance(landed.error, LiaobotsAPIError)
    assert flow.send(None) is DRAW
    with pytest.raises(LiaobotsAPIError) as info:
        flow.send(0.5)
    assert info.value is landed.error


def test_a_refused_acquired_code_is_replaced_once() -> None:
    creds = Credentials(BASE, None, acquire=True)
    flow = _chat(creds, max_retries=0)
    assert next(flow) is JOIN_SETUP
    _sent(flow, flow.send(True))
    first = (b'{"authCode": "code-one"}', b"")
    assert _body(flow, _head(headers=JSON), *first) is RELEASE
    assert flow.send(None) == LandSetup(None)
    _sent(flow, flow.send(None))
    assert _body(flow, _head(401), b"") is DRAW
    assert flow.send(0.5) == Sleep(0.0)  # fresh credentials, at once
    assert flow.send(None) is JOIN_SETUP
    _sent(flow, flow.send(True))
    second = (b'{"authCode": "code-two"}', b"")
    assert _body(flow, _head(headers=JSON), *second) is RELEASE
    assert flow.send(None) == LandSetup(None)
    send = _sent(flow, flow.send(None))
    assert send.request.headers["x-auth-code"] == "code-two"
