"""wire.auth: Credentials' setup, signing, rejection and scrubbing; codes checked."""

from __future__ import annotations

import pytest

from langchain_liaobots.errors import (
    LiaobotsCaptchaError,
    LiaobotsUnexpectedResponseError,
    error_for_status,
)
from langchain_liaobots.wire.auth import Credentials, Step, auth_code_problem
from langchain_liaobots.wire.protocol import USER_PATH
from langchain_liaobots.wire.request import Request
from langchain_liaobots.wire.retries import CallRetries


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
    assert (
        retries.delay_after(refused, started=False, generation=generation, draw=0.5)
        == 0.0
    )
    assert creds.next_step() is not None  # the code is dropped
    assert creds.code is None
    assert (
        retries.delay_after(refused, started=False, generation=generation, draw=0.5)
        is None
    )
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
    ("code", "problem"),
    [
        ("abc-DEF_123.~", None),
        ("with inner space", None),
        ("code\n", "a control character at position 5"),
        ("\x00code", "a control character at position 1"),
        ("co\x7fde", "a control character at position 3"),
        ("co\x85de", "a control character at position 3"),
        ("codé", "a character outside printable ASCII at position 4"),
        ("c\u2028", "a character outside printable ASCII at position 2"),
    ],
)
def test_auth_code_problem_names_what_and_where_never_the_code(
    code: str, problem: str | None
) -> None:
    assert auth_code_problem(code) == problem


@pytest.mark.parametrize(
    ("acquired", "said"),
    [
        ('"secret-code\\r\\nx-evil: 1"', "a control character at position 12"),
        ('"   "', "it is blank"),
    ],
)
def test_an_acquired_code_that_cannot_be_sent_is_a_typed_error(
    acquired: str, said: str
) -> None:
    creds = Credentials("http://127.0.0.1:1", None, acquire=True)
    step = creds.next_step()
    assert step is not None
    body = f'{{"authCode": {acquired}}}'.encode()
    with pytest.raises(LiaobotsUnexpectedResponseError) as caught:
        creds.complete(step, body, 200)
    assert f"authCode that cannot be sent in a header ({said})" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert creds.code is None


def test_an_acquired_code_is_stripped_of_surrounding_whitespace() -> None:
    creds = Credentials("http://127.0.0.1:1", None, acquire=True)
    step = creds.next_step()
    assert step is not None
    creds.complete(step, b'{"authCode": " the-code\\n"}', 200)
    assert creds.code == "the-code"
