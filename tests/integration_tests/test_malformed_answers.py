"""A peer that answers, but not in HTTP: a typed error, sent once, the code kept out.

The servers are `tests.helpers.hostile`'s raw-socket servers (no code shared
with the package), on 127.0.0.1, writing a status line or a header that no
HTTP library reads. Before, such an answer was taken for a broken connection:
"Could not reach", and the request was sent ``max_retries + 1`` times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from langchain_liaobots import ChatLiaobots, LiaobotsUnexpectedResponseError
from tests.helpers.hostile import HostileServer

CODE = "malformed-answer-code-42"

NOT_HTTP = {
    "a status line without a code": b"HTTP/1.1 abc\r\n\r\n",
    "no status line at all": b"garbage\r\n\r\n",
    "a status code out of range": b"HTTP/1.1 99999 Huge\r\n\r\n",
}


def _ainvoke(llm: ChatLiaobots) -> Callable[[], object]:
    return lambda: asyncio.run(llm.ainvoke("hi"))


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize("answer", list(NOT_HTTP.values()), ids=list(NOT_HTTP))
def test_an_answer_that_is_not_http_is_typed_and_sent_once(
    path: str, answer: bytes
) -> None:
    with HostileServer(lambda: [answer]) as server:
        base_url = server.base_url
        llm = ChatLiaobots(base_url=base_url, auth=CODE, max_retries=3)
        call = (lambda: llm.invoke("hi")) if path == "sync" else _ainvoke(llm)
        with pytest.raises(LiaobotsUnexpectedResponseError) as info:
            call()
        assert len(server.heads) == 1  # not re-sent
    said = str(info.value)
    assert said.startswith(f"{base_url}/api/chat answered, but the answer ")
    assert "not valid HTTP" in said
    assert "check base_url" in said
    assert CODE not in said
    assert not info.value.is_retryable


def test_a_header_line_that_is_not_a_header_is_typed_on_the_async_path() -> None:
    # requests (http.client) skips such a line and reads the answer; aiohttp's
    # parser refuses it: typed, sent once.
    answer = b"HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 2\r\n\r\nhi"
    with HostileServer(lambda: [answer]) as server:
        llm = ChatLiaobots(base_url=server.base_url, auth=CODE, max_retries=3)
        assert llm.invoke("hi").content == "hi"
        with pytest.raises(LiaobotsUnexpectedResponseError, match="not valid HTTP"):
            asyncio.run(llm.ainvoke("hi"))
        assert len(server.heads) == 2  # one each
