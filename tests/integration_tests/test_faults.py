"""The fault matrix: every failure the local server can produce, over real HTTP.

Each case scripts the emulator, calls ChatLiaobots four ways (invoke, stream,
ainvoke, astream) and checks the exception type, ``partial_text``, the text a
stream yielded before the failure, and how many chat requests the server saw
(proving a retry, or that there was none). ``python tests/integration_tests/
test_faults.py`` prints the matrix as a table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import (
    NOT_FOUND_PAGE,
    Answer,
    Behaviour,
    Cut,
    Disconnect,
    HtmlPage,
    LiaobotsEmulator,
    Redirect,
    SseError,
    Stall,
    Status,
)
from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsCaptchaError,
    LiaobotsConnectionError,
    LiaobotsError,
    LiaobotsHTMLPageError,
    LiaobotsNotFoundError,
    LiaobotsOutOfCreditError,
    LiaobotsPermissionDeniedError,
    LiaobotsRateLimitError,
    LiaobotsRedirectError,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire.protocol import CHAT_PATH

CODE = "matrix-code-5eb1d7"
PROMPT = "abcdefghij"
ANSWER = f"You said: {PROMPT}"  # pieces of 5 bytes: "You s" "aid: " "abcde" "fghij"
TIMEOUT = 0.5
SLACK = 2.0
NOW = {"Retry-After": "0"}


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    id: str
    script: tuple[Behaviour, ...]
    error: type[LiaobotsError] | None
    requests: int
    partial: str = ""
    answer: str = ANSWER
    client: dict[str, Any] = field(default_factory=dict)
    core: type[Exception] | None = None  # the langchain_core class it must be


CASES = [
    Case(
        "401",
        (Status(status=401, body='{"message":"401 Unauthorized" }'),),
        LiaobotsAuthenticationError,
        1,
        core=ModelAuthenticationError,
    ),
    Case(
        "402 out of credit",
        (Status(status=402, body="Error"),),
        LiaobotsOutOfCreditError,
        1,
        core=ModelRateLimitError,
    ),
    Case(
        "403",
        (Status(status=403, body="Forbidden"),),
        LiaobotsPermissionDeniedError,
        1,
        core=ModelPermissionDeniedError,
    ),
    Case(
        "404",
        (Status(status=404, body="Not Found"),),
        LiaobotsNotFoundError,
        1,
        core=ModelNotFoundError,
    ),
    Case(
        "429 x3, Retry-After 0",
        (Status(status=429, headers=NOW),) * 3,
        LiaobotsRateLimitError,
        3,
        core=ModelRateLimitError,
    ),
    Case(
        "429 then answer",
        (Status(status=429, headers=NOW),),
        None,
        2,
    ),
    Case(
        "500 x2, back-off",
        (Status(status=500, body="Error"),) * 2,
        LiaobotsAPIError,
        2,
        client={"max_retries": 1},
        core=ModelAPIError,
    ),
    Case(
        "500, 503 then answer",
        (Status(status=500, body="Error", headers=NOW), Status(status=503)),
        None,
        3,
    ),
    Case(
        "418 unexpected status",
        (Status(status=418, body="teapot"),),
        LiaobotsUnexpectedResponseError,
        1,
        core=ModelAPIError,
    ),
    Case(
        "200 captcha page",
        (HtmlPage(),),
        LiaobotsCaptchaError,
        1,
    ),
    Case(
        "200 HTML 404 page",
        (HtmlPage(page=NOT_FOUND_PAGE),),
        LiaobotsHTMLPageError,
        1,
    ),
    Case(
        "200 HTML as text/plain",
        (Status(status=200, body=NOT_FOUND_PAGE),),
        LiaobotsHTMLPageError,
        1,
    ),
    Case(
        "cut after 2 pieces",
        (Cut(after=2),),
        LiaobotsStreamCutError,
        1,
        partial="You said: ",
        core=ModelConnectionError,
    ),
    Case(
        "cut after 3 pieces, stop pending",
        (Cut(after=3),),
        LiaobotsStreamCutError,
        1,
        partial="You said: abcde",
        client={"stop": ["cdef?"]},
    ),
    Case(
        "cut before any text x2",
        (Cut(after=0),) * 2,
        LiaobotsStreamCutError,
        2,
        client={"max_retries": 1},
    ),
    Case(
        "cut before any text, then answer",
        (Cut(after=0),),
        None,
        2,
    ),
    Case(
        "disconnect x2",
        (Disconnect(),) * 2,
        LiaobotsConnectionError,
        2,
        client={"max_retries": 1},
        core=ModelConnectionError,
    ),
    Case(
        "stall before headers",
        (Stall(after=None),),
        LiaobotsTimeoutError,
        1,
        core=ModelTimeoutError,
    ),
    Case(
        "stall after headers",
        (Stall(after=0),),
        LiaobotsTimeoutError,
        1,
    ),
    Case(
        "stall after 3 pieces",
        (Stall(after=3),),
        LiaobotsTimeoutError,
        1,
        partial="You said: abcde",
        core=ModelTimeoutError,
    ),
    Case(
        "stall shorter than timeout",
        (Stall(after=1, seconds=0.2),),
        None,
        1,
        client={"timeout": 5},
    ),
    Case(
        "slow drip longer than timeout",
        (Answer(text="drip!", piece_bytes=1, pace=0.25),),
        None,
        1,
        answer="drip!",
        client={"timeout": 0.8},
    ),
    Case(
        "invalid UTF-8 bytes",
        (Answer(data=b"ok \xff\xfe x \xe4\xbd", piece_bytes=1),),
        None,
        1,
        answer="ok \ufffd\ufffd x \ufffd",
    ),
    Case(
        "split multi-byte characters",
        (Answer(text="naïve 你好 👋🏽", piece_bytes=1),),
        None,
        1,
        answer="naïve 你好 👋🏽",
    ),
    Case(
        "SSE framing with [DONE]",
        (Answer(framing="sse", done=True),),
        None,
        1,
    ),
    Case(
        "SSE error 402 after 2 events",
        (SseError(status=402, after=2),),
        LiaobotsOutOfCreditError,
        1,
        partial="You said: ",
    ),
    Case(
        "SSE error 500 before text, then answer",
        (SseError(status=500, after=0),),
        None,
        2,
    ),
    Case(
        "307 same origin",
        (Redirect(location=CHAT_PATH),),
        None,
        2,
    ),
    Case(
        "302 (would become GET)",
        (Redirect(location=CHAT_PATH, status=302),),
        LiaobotsRedirectError,
        1,
    ),
    Case(
        "307 loop",
        (Redirect(location=CHAT_PATH),) * 6,
        LiaobotsRedirectError,
        6,
    ),
]

MODES = ["invoke", "stream", "ainvoke", "astream"]


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=5) as emulator:
        yield emulator


def _model(server: LiaobotsEmulator, case: Case) -> ChatLiaobots:
    options: dict[str, Any] = {"timeout": TIMEOUT, "max_retries": 2, **case.client}
    return ChatLiaobots(base_url=server.base_url, auth=CODE, **options)


async def _call(llm: ChatLiaobots, mode: str) -> tuple[str, BaseException | None]:
    """Return (text received, error raised) for one call."""
    got: list[str] = []
    try:
        if mode == "invoke":
            got.append(str(llm.invoke(PROMPT).content))
        elif mode == "ainvoke":
            got.append(str((await llm.ainvoke(PROMPT)).content))
        elif mode == "stream":
            for chunk in llm.stream(PROMPT):
                got.append(chunk.text)
        else:
            async for chunk in llm.astream(PROMPT):
                got.append(chunk.text)
    except LiaobotsError as err:
        return "".join(got), err
    return "".join(got), None


def _chat_requests(server: LiaobotsEmulator) -> list[dict[str, str]]:
    return [r.headers for r in server.requests if r.path == CHAT_PATH]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_fault(server: LiaobotsEmulator, case: Case, mode: str) -> None:
    server.script(*case.script)
    llm = _model(server, case)
    start = time.monotonic()
    text, err = await _call(llm, mode)
    elapsed = time.monotonic() - start
    seen = _chat_requests(server)
    assert len(seen) == case.requests
    assert all(h["x-auth-code"] == CODE for h in seen)
    assert server.pending == []
    if case.error is None:
        assert err is None
        assert text == case.answer
        return
    assert type(err) is case.error, err
    assert isinstance(err, LiaobotsError)
    if case.core is not None:
        assert isinstance(err, case.core)
    assert err.partial_text == case.partial
    if isinstance(err, LiaobotsTimeoutError):  # nothing hangs
        assert elapsed < TIMEOUT + SLACK
    if mode in ("stream", "astream"):
        # What was yielded is partial_text, or a prefix of it when the rest
        # arrived with the failure (or was held back by a stop sequence).
        assert case.partial.startswith(text)
        if not case.client.get("stop") and case.error is not LiaobotsOutOfCreditError:
            assert text == case.partial
    else:
        assert text == ""
    assert CODE not in str(err)
    assert CODE not in repr(err)
    if err.status_code is not None:
        assert f"{err.status_code}" in str(err)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "target",
    ["other port", "other scheme", "other host"],
)
async def test_redirect_to_another_origin_is_not_followed(
    server: LiaobotsEmulator, mode: str, target: str
) -> None:
    with LiaobotsEmulator() as other:
        port = server.base_url.rsplit(":", 1)[1]
        location = {
            "other port": other.base_url + CHAT_PATH,
            "other scheme": f"https://127.0.0.1:{port}{CHAT_PATH}",
            "other host": f"http://localhost:{port}{CHAT_PATH}",
        }[target]
        server.script(Redirect(location=location))
        _, err = await _call(_model(server, Case("", (), None, 0)), mode)
        assert type(err) is LiaobotsRedirectError
        assert other.requests == []
        assert len(server.requests) == 1
        assert "not followed" in str(err)
        assert CODE not in str(err)


if __name__ == "__main__":
    import asyncio

    def _row(case: Case, mode: str) -> str:
        with LiaobotsEmulator(piece_bytes=5) as emulator:
            emulator.script(*case.script)
            _, err = asyncio.run(_call(_model(emulator, case), mode))
            kind = type(err).__name__ if err else f"answer {case.answer!r}"
            partial = repr(getattr(err, "partial_text", "")) if err else "-"
            return f"{kind} | {partial} | {len(_chat_requests(emulator))}"

    print("| failure | sync (invoke) | async (ainvoke) |")
    print("|---|---|---|")
    for case in CASES:
        print(f"| {case.id} | {_row(case, 'invoke')} | {_row(case, 'ainvoke')} |")
