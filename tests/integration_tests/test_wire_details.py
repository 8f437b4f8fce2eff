"""Every framing piece by piece, SSE per the format, errors that tell the cause.

Issue 9, items 6-9, over HTTP against the emulator on both paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from langchain_liaobots import (
    ChatLiaobots,
    LiaobotsAuthenticationError,
    LiaobotsConnectionError,
    LiaobotsError,
    LiaobotsStreamCutError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.emulator import Answer, Cut, LiaobotsEmulator, Status
from langchain_liaobots.wire.protocol import CHAT_PATH

MODES = ["sync", "async"]


@pytest.fixture
def server() -> Iterator[LiaobotsEmulator]:
    with LiaobotsEmulator(piece_bytes=3, auth_codes={"right-code"}) as emulator:
        yield emulator


def _llm(server: LiaobotsEmulator, **kw: object) -> ChatLiaobots:
    settings: dict[str, object] = {
        "base_url": server.base_url,
        "auth": "right-code",
        "timeout": 10,
    }
    settings.update(kw)
    return ChatLiaobots(**settings)  # type: ignore[arg-type]


def _call(llm: ChatLiaobots, mode: str, text: str) -> str:
    if mode == "sync":
        return "".join(str(c.content) for c in llm.stream(text))
    return str(asyncio.run(llm.ainvoke(text)).content)


def _chats(server: LiaobotsEmulator) -> int:
    return sum(r.path == CHAT_PATH for r in server.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("framing", ["raw", "sse"])
@pytest.mark.parametrize("transfer", ["chunked", "length", "close", "gzip"])
def test_every_transfer_framing_gives_the_exact_answer(
    server: LiaobotsEmulator, mode: str, framing: str, transfer: str
) -> None:
    text = "héllo wörld, 你好 — done"
    server.script(Answer(framing=framing, transfer=transfer))  # type: ignore[arg-type]
    assert _call(_llm(server), mode, text) == f"You said: {text}"


@pytest.mark.parametrize("mode", MODES)
def test_content_length_answer_cut_short_keeps_its_bytes_and_is_not_retried(
    server: LiaobotsEmulator, mode: str
) -> None:
    server.script(Cut(after=1, transfer="length", piece_bytes=13))
    with pytest.raises(LiaobotsStreamCutError) as info:
        _call(_llm(server), mode, "hello world")
    assert info.value.partial_text == "You said: hel"
    assert _chats(server) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "body",
    [
        # CR-only line endings
        b'data: {"content": "one "}\r\rdata: {"content": "two"}\r\r',
        # CRLF, a BOM, comments, event/id/retry fields, [DONE]
        b"\xef\xbb\xbf: hello\r\nevent: message\r\nid: 1\r\nretry: 5\r\n"
        b'data: {"content": "one "}\r\n\r\ndata: {"content": "two"}\r\n\r\n'
        b"data: [DONE]\r\n\r\n",
        # one event whose data spans several lines
        b'data: {"content":\ndata:  "one two"}\n\n',
    ],
    ids=["cr", "crlf-bom-fields-done", "multiline-data"],
)
def test_sse_per_the_format(server: LiaobotsEmulator, mode: str, body: bytes) -> None:
    server.script(Status(status=200, body=body, content_type="text/event-stream"))
    assert _call(_llm(server), mode, "x") in ("one two",)


@pytest.mark.parametrize("mode", MODES)
def test_sse_event_that_is_not_json_is_a_typed_error_with_the_text(
    server: LiaobotsEmulator, mode: str
) -> None:
    body = b'data: {"content": "kept"}\n\ndata: {not json\n\n'
    server.script(Status(status=200, body=body, content_type="text/event-stream"))
    with pytest.raises(LiaobotsUnexpectedResponseError, match="not a JSON") as info:
        _call(_llm(server), mode, "x")
    assert info.value.partial_text == "kept"
    assert _chats(server) == 1


@pytest.mark.parametrize("mode", MODES)
def test_refused_connection_says_so_and_keeps_the_cause(mode: str) -> None:
    with LiaobotsEmulator() as closed:
        url = closed.base_url
    llm = ChatLiaobots(base_url=url, auth="right-code", max_retries=0)
    with pytest.raises(LiaobotsConnectionError, match="refused") as info:
        _call(llm, mode, "x")
    assert info.value.__cause__ is not None


@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_code_leaves_the_packages_own_words_alone(
    server: LiaobotsEmulator, mode: str
) -> None:
    with pytest.raises(LiaobotsAuthenticationError) as info:
        _call(_llm(server, auth="wrong"), mode, "x")
    assert "missing, wrong or exhausted" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_code_echoed_by_the_service_is_scrubbed(
    server: LiaobotsEmulator, mode: str
) -> None:
    server.script(Status(status=500, body="bad code right-code"))
    with pytest.raises(LiaobotsError) as info:
        _call(_llm(server, max_retries=0), mode, "x")
    assert "right-code" not in str(info.value)
    assert "bad code ***" in str(info.value)
