"""wire.response: AnswerReader (bytes to text, SSE, HTML pages, the answer
limit), StopScanner, decode_json (hostile JSON)."""

from __future__ import annotations

import pytest

from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsHTMLPageError,
    LiaobotsOutOfCreditError,
    LiaobotsResponseTooLargeError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire.response import (
    ANSWER_LIMIT,
    AnswerReader,
    StopScanner,
    decode_json,
)


def _read(pieces: list[bytes], content_type: str | None = None, stop=()) -> str:
    reader = AnswerReader(content_type, stop)
    out = [reader.feed(p) for p in pieces]
    out.append(reader.finish())
    assert "".join(out) == reader.text
    return reader.text


TEXT = "naïve café — 你好, мир 👋🏽 done"


def test_multibyte_text_split_at_every_byte_boundary() -> None:
    data = TEXT.encode()
    for i in range(len(data) + 1):
        assert _read([data[:i], data[i:]]) == TEXT
        for j in range(i, len(data) + 1):
            assert _read([data[:i], data[i:j], data[j:]]) == TEXT


def test_one_byte_pieces_decode_exactly() -> None:
    data = TEXT.encode()
    assert _read([data[i : i + 1] for i in range(len(data))]) == TEXT


def test_invalid_bytes_become_replacement_characters() -> None:
    assert _read([b"ok \xff\xfe x", b"\xe4\xbd"]) == "ok \ufffd\ufffd x\ufffd"


def test_html_page_is_an_error_not_an_answer() -> None:
    page = "<!DOCTYPE html><html><title>人机验证</title><div coupert-item=1>".encode()
    with pytest.raises(LiaobotsHTMLPageError, match="captcha"):
        _read([page[:3], page[3:]])
    with pytest.raises(LiaobotsHTMLPageError, match="HTML page"):
        _read([b"  <html><body>404</body></html>"])
    with pytest.raises(LiaobotsHTMLPageError):
        _read([b"anything"], content_type="text/html; charset=utf-8")


def test_text_that_merely_starts_like_a_marker_is_kept() -> None:
    assert _read([b"<", b"b>bold</b>"]) == "<b>bold</b>"
    assert _read([b"d", b"a", b"te: today"]) == "date: today"
    assert _read([b"d"]) == "d"
    assert _read([b"  "]) == "  "


def test_sse_framing_is_detected_and_decoded() -> None:
    body = (
        'data: {"role": "assistant", "content": "Hel"}\n\n'
        'data: {"content": "lo 你"}\n\ndata: {"role": "user", "content": "no"}\n'
        'data: {"role": "assistant"}\n\ndata: {"content": "好"}\n\ndata: [DONE]\n\n'
    ).encode()
    assert _read([body]) == "Hello 你好"
    for i in range(len(body) + 1):
        assert (
            _read([body[:i], body[i:]], content_type="text/event-stream")
            == "Hello 你好"
        )


def test_sse_error_event_raises_the_mapped_error_with_partial_text() -> None:
    reader = AnswerReader("text/event-stream")
    assert reader.feed(b'data: {"content": "par"}\n') == "par"
    with pytest.raises(LiaobotsOutOfCreditError, match="402") as err:
        reader.feed(b'data: {"error": true, "res_status": 402, "message": "Error"}\n')
    assert err.value.partial_text == "par"


def _scan(pieces: list[str], stops: list[str]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = "".join(scanner.feed(p) for p in pieces)
    return out + scanner.flush(), scanner.stopped


@pytest.mark.parametrize("cut", range(len("Hello STOP world") + 1))
def test_stop_sequence_split_anywhere(cut: int) -> None:
    text = "Hello STOP world"
    assert _scan([text[:cut], text[cut:]], ["STOP"]) == ("Hello ", True)


def test_stop_sequence_across_many_pieces_and_earliest_wins() -> None:
    assert _scan(list("abc<end>def"), ["<end>", "c<"]) == ("ab", True)
    assert _scan(["a<en", "d but no"], ["<end>"]) == ("a<end but no", False)
    assert _scan(["tail <en"], ["<end>"]) == ("tail <en", False)
    assert _scan(["no stops"], []) == ("no stops", False)
    assert _scan(["x"], [""]) == ("x", False)


def test_reader_applies_stop_and_reports_stopped() -> None:
    reader = AnswerReader("text/plain", ["wor"])
    assert reader.feed(b"hello w") == "hello "
    assert reader.feed(b"orld") == ""
    assert reader.stopped
    assert reader.text == "hello "


def test_sse_crlf_split_across_pieces_is_one_line_end() -> None:
    reader = AnswerReader("text/event-stream")
    out = reader.feed(b'data: {"content": "a"}\r')
    out += reader.feed(b'\ndata: {"content": "b"}\r\n\r\n')
    assert out + reader.finish() == "ab"


# -- limits and hostile JSON ---------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "text/event-stream", None])
def test_an_answer_past_the_limit_is_typed_and_keeps_the_text_up_to_it(
    content_type: str | None,
) -> None:
    sse = content_type == "text/event-stream"
    piece = b'data: {"content": "abcd"}\n\n' if sse else b"abcd"
    reader = AnswerReader(content_type, limit=10 * len(piece) + 3)
    out = "".join(reader.feed(piece) for _ in range(10))
    with pytest.raises(LiaobotsResponseTooLargeError) as caught:
        reader.feed(piece)
    error = caught.value
    assert out == "abcd" * 10
    # Raw text keeps the 3 bytes within the limit; SSE only whole events.
    assert error.partial_text == "abcd" * 10 + ("" if sse else "abc")
    assert error.status_code == 200
    assert reader.received_bytes == 10 * len(piece) + 3
    assert f"more than {10 * len(piece) + 3} bytes" in str(error)


def test_an_answer_exactly_at_the_limit_is_read_whole() -> None:
    reader = AnswerReader("text/plain", limit=8)
    assert reader.feed(b"abcd") + reader.feed(b"efgh") + reader.finish() == "abcdefgh"
    with pytest.raises(LiaobotsResponseTooLargeError):
        reader.feed(b"i")


def test_a_line_longer_than_the_limit_is_typed_not_buffered() -> None:
    reader = AnswerReader("text/event-stream", limit=ANSWER_LIMIT)
    reader.feed(b'data: {"content": "')
    piece = b"a" * 65536
    assert all(reader.feed(piece) == "" for _ in range(ANSWER_LIMIT // len(piece) - 1))
    with pytest.raises(LiaobotsResponseTooLargeError):
        reader.feed(piece)


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "events",
    [
        [f"data: {DEEP}\n\n"],  # one line: read at once
        [f"data: {DEEP[:5000]}\n", f"data: {DEEP[5000:]}\n\n"],  # gathered lines
    ],
    ids=["line", "lines"],
)
def test_sse_json_nested_too_deeply_is_typed_and_keeps_the_text(
    events: list[str],
) -> None:
    reader = AnswerReader("text/event-stream")
    body = 'data: {"content": "before"}\n\n' + "".join(events)
    with pytest.raises(LiaobotsUnexpectedResponseError, match="nested too deeply") as e:
        reader.feed(body.encode())
    assert e.value.partial_text == "before"


def test_an_error_event_whose_message_is_not_text_quotes_the_event() -> None:
    reader = AnswerReader("text/event-stream")
    nested = "[" * 900 + "]" * 900
    with pytest.raises(LiaobotsAPIError, match=r"res_status 500.*\[\[\[") as caught:
        reader.feed(f'data: {{"error": true, "message": {nested}}}\n\n'.encode())
    assert caught.value.status_code == 500


@pytest.mark.parametrize("body", [DEEP.encode(), b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_json_nested_too_deeply_is_a_typed_error(body: bytes) -> None:
    with pytest.raises(
        LiaobotsUnexpectedResponseError,
        match=r"/api/models with HTTP 200 and JSON nested too deeply to read",
    ):
        decode_json(body, 200, "/api/models")
