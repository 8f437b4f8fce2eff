"""wire.auth: Credentials' setup steps, signing, rejection and scrubbing."""

from __future__ import annotations

from langchain_liaobots.errors import LiaobotsCaptchaError, error_for_status
from langchain_liaobots.wire.auth import Credentials, Step
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
