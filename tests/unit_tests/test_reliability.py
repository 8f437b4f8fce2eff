"""The sans-I/O reliability core: error mapping, retry policy, redirects, auth state."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelRateLimitError

from langchain_liaobots.emulator.faults import (
    Answer,
    Cut,
    HtmlPage,
    SseError,
    Stall,
    Status,
    TooManyRequests,
    parse_fault,
)
from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsCaptchaError,
    LiaobotsConnectionError,
    LiaobotsInvalidRequestError,
    LiaobotsNotFoundError,
    LiaobotsOutOfCreditError,
    LiaobotsPermissionDeniedError,
    LiaobotsRateLimitError,
    LiaobotsRedirectError,
    LiaobotsTimeoutError,
    LiaobotsUnexpectedResponseError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials, Step
from langchain_liaobots.wire.protocol import USER_PATH
from langchain_liaobots.wire.request import Request, follow_redirect
from langchain_liaobots.wire.retries import CallRetries, parse_retry_after, retry_delay
from langchain_liaobots.wire.urls import is_loopback, same_origin


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, LiaobotsInvalidRequestError, False),
        (401, LiaobotsAuthenticationError, False),
        (402, LiaobotsOutOfCreditError, False),
        (403, LiaobotsPermissionDeniedError, False),
        (404, LiaobotsNotFoundError, False),
        (429, LiaobotsRateLimitError, True),
        (500, LiaobotsAPIError, True),
        (503, LiaobotsAPIError, True),
        (418, LiaobotsUnexpectedResponseError, False),
        (307, LiaobotsUnexpectedResponseError, False),
    ],
)
def test_status_maps_to_type_and_retryability(
    status: int, cls: type, retryable: bool
) -> None:
    err = error_for_status(status, b"Error\n  body")
    assert type(err) is cls
    assert err.is_retryable is retryable
    assert err.status_code == status
    assert f"HTTP {status}" in str(err)
    assert "'Error body'" in str(err)


def test_out_of_credit_is_a_rate_limit_that_says_so() -> None:
    err = error_for_status(402, "Error")
    assert isinstance(err, ModelRateLimitError)
    assert "out of credit" in str(err)
    event = error_for_status(402, "Error", in_stream=True, partial_text="ab")
    assert "error event (res_status 402) inside the answer" in str(event)
    assert event.partial_text == "ab"
    assert "(empty body)" in str(error_for_status(500, b""))


def test_retry_delay_policy() -> None:
    api = error_for_status(500, "")
    assert retry_delay(2, 2, api) is None  # exhausted
    assert retry_delay(0, 2, error_for_status(401, "")) is None  # not retryable
    assert retry_delay(0, 2, LiaobotsTimeoutError("slow")) is None  # never
    late = error_for_status(429, "", retry_after=7.0)
    assert retry_delay(0, 2, late) == 7.0
    assert retry_delay(0, 2, error_for_status(429, "", retry_after=1e9)) == 60.0
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)]):
        delays = {retry_delay(attempt, 9, api) for _ in range(50)}
        assert all(d is not None and low <= d <= high for d in delays)
        assert len(delays) > 1  # jitter
    capped = [retry_delay(9, 99, api) for _ in range(20)]
    assert all(d is not None and 4.0 <= d <= 8.0 for d in capped)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-1") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_call_retries_never_after_the_answer_started() -> None:
    retries = CallRetries(5, Credentials("http://127.0.0.1:1", "code"))
    cut = LiaobotsConnectionError("cut")
    assert retries.delay_after(cut, started=True, generation=0) is None
    assert retries.delay_after(cut, started=False, generation=0) is not None


def _acquiring() -> Credentials:
    creds = Credentials("http://127.0.0.1:1", None, acquire=True, login=True)
    step = creds.next_step()
    assert step is not None
    assert step.kind == "login"
    creds.remember(["gkp2=s1; Path=/; HttpOnly", "junk; =;"])
    creds.complete(step, b"{}", 200)
    step = creds.next_step()
    assert isinstance(step, Step)
    assert step.kind == "acquire"
    assert step.request.url.endswith(USER_PATH)
    assert step.request.headers["cookie"] == "gkp2=s1"
    creds.complete(step, b'{"authCode": "first-code"}', 200)
    assert creds.next_step() is None
    return creds


def test_credentials_acquire_sign_and_refresh_once() -> None:
    creds = _acquiring()
    signed, generation = creds.sign(Request("http://127.0.0.1:1/api/chat", {}, b""))
    assert signed.headers["x-auth-code"] == "first-code"
    assert signed.headers["cookie"] == "gkp2=s1"
    retries = CallRetries(0, creds)
    refused = error_for_status(401, "")
    assert retries.delay_after(refused, started=False, generation=generation) == 0.0
    assert creds.next_step() is not None  # the code is dropped
    assert creds.code is None
    assert retries.delay_after(refused, started=False, generation=generation) is None
    assert "first-code" not in repr(creds)


def test_credentials_stale_generation_keeps_the_new_code() -> None:
    creds = _acquiring()
    _, old = creds.sign(Request("http://127.0.0.1:1/api/chat", {}, b""))
    step = Step("acquire", Request("http://127.0.0.1:1/api/user", {}, b""))
    creds.complete(step, b'{"authCode": "second-code"}', 200)
    assert creds.reject(error_for_status(402, ""), old)  # try again...
    assert creds.code == "second-code"  # ...with the newer code, not a third


def test_credentials_captcha_means_a_new_login() -> None:
    creds = _acquiring()
    _, generation = creds.sign(Request("http://127.0.0.1:1/api/chat", {}, b""))
    assert creds.reject(LiaobotsCaptchaError("captcha"), generation)
    step = creds.next_step()
    assert step is not None
    assert step.kind == "login"
    assert "cookie" not in step.request.headers


def test_a_given_code_is_never_dropped() -> None:
    creds = Credentials("http://127.0.0.1:1", "given", acquire=True)
    assert creds.next_step() is None
    assert not creds.reject(error_for_status(401, ""), creds.generation)
    assert creds.code == "given"
    scrub = Credentials("http://127.0.0.1:1", "given-code-xyz").scrub_text
    assert scrub("code given-code-xyz refused") == "code *** refused"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://h:80/a", "http://H/b", True),
        ("https://h/a", "https://h:443/b", True),
        ("http://h/a", "https://h/a", False),
        ("http://h:1/a", "http://h:2/a", False),
        ("http://h/a", "http://g/a", False),
        ("http://127.0.0.1/a", "http://localhost/a", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same


def test_redirect_rules() -> None:
    req = Request("http://127.0.0.1:1/api/chat", {"x-auth-code": "c"}, b"{}")
    moved = follow_redirect(req, 308, "/api/v2/chat", 0)
    assert moved.url == "http://127.0.0.1:1/api/v2/chat"
    assert moved.body == req.body
    with pytest.raises(LiaobotsRedirectError, match=r"another origin \(http://e:1\)"):
        follow_redirect(req, 307, "http://user:pw@e:1/x?code=c", 0)
    with pytest.raises(LiaobotsRedirectError, match="into a GET"):
        follow_redirect(req, 303, "/api/chat", 0)
    with pytest.raises(LiaobotsRedirectError, match="without a Location"):
        follow_redirect(req, 307, None, 0)
    with pytest.raises(LiaobotsRedirectError, match="more than 5"):
        follow_redirect(req, 307, "/api/chat", 5)


def test_loopback_hosts() -> None:
    assert is_loopback("http://127.0.0.1:9")
    assert is_loopback("http://127.8.0.1")
    assert is_loopback("http://[::1]:9")
    assert is_loopback("http://LOCALHOST")
    assert not is_loopback("http://10.0.0.1")
    assert not is_loopback("http://example.com")


@pytest.mark.parametrize(
    ("spec", "behaviour"),
    [
        ("status=402,Error", Status(status=402, body="Error")),
        ("status=500,a,b", Status(status=500, body="a,b")),
        ("cut=3", Cut(after=3)),
        ("stall", Stall(after=0)),
        ("stall=headers", Stall(after=None)),
        ("drip=0.5", Answer(pace=0.5, piece_bytes=1)),
        ("bytes=6fff", Answer(data=b"o\xff", piece_bytes=1)),
        ("sse", Answer(framing="sse")),
        ("sse-error=429,2", SseError(status=429, after=2)),
        ("captcha", HtmlPage()),
        ("too-many-requests", TooManyRequests()),
        ("status=500@/api/user", Status(status=500, path=USER_PATH)),
    ],
)
def test_fault_specs(spec: str, behaviour: object) -> None:
    assert parse_fault(spec) == behaviour


@pytest.mark.parametrize("spec", ["nope", "cut", "cut=x", "bytes=zz", "captcha=1"])
def test_bad_fault_specs_say_what_is_accepted(spec: str) -> None:
    with pytest.raises(ValueError, match=repr(spec).replace("\\", "\\\\")):
        parse_fault(spec)
