"""The sans-I/O core: payloads, limits, decoding and stop sequences, no sockets."""

from __future__ import annotations

import json
import uuid

import pytest
from langchain_core.exceptions import ContextOverflowError

from langchain_liaobots.emulator.codec import parse_payload
from langchain_liaobots.errors import LiaobotsHTMLPageError, LiaobotsOutOfCreditError
from langchain_liaobots.registry import ModelSpec, get_model
from langchain_liaobots.wire.limits import check_limits
from langchain_liaobots.wire.protocol import DEFAULT_PROMPT
from langchain_liaobots.wire.request import (
    build_headers,
    build_payload,
    build_request,
    with_auth_headers,
)
from langchain_liaobots.wire.response import AnswerReader, StopScanner

MSGS = [{"role": "user", "content": "hi"}]


def test_payload_has_exactly_the_specified_fields() -> None:
    payload = build_payload(get_model("gpt-4"), "be brief", MSGS)
    assert list(payload) == ["conversationId", "model", "messages", "key", "prompt"]
    assert uuid.UUID(payload["conversationId"]).version == 4
    assert payload["model"] == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }
    assert payload["messages"] == MSGS
    assert payload["key"] == ""
    assert payload["prompt"] == "be brief"


def test_conversation_id_is_fresh_per_request() -> None:
    spec = get_model("gpt-3.5-turbo")
    ids = {build_payload(spec, "", MSGS)["conversationId"] for _ in range(50)}
    assert len(ids) == 50


def test_headers_derive_origin_and_referer_from_base_url() -> None:
    headers = build_headers("https://liaobots.com/some/path")
    assert headers["origin"] == "https://liaobots.com"
    assert headers["referer"] == "https://liaobots.com/"
    assert "x-auth-code" not in headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("langchain-liaobots/")


def test_request_body_round_trips_through_the_servers_parser() -> None:
    req = build_request("http://127.0.0.1:1", get_model("gpt-4"), "p", MSGS)
    assert req.url == "http://127.0.0.1:1/api/chat"
    assert parse_payload(req.body)["messages"] == MSGS
    signed = with_auth_headers(req, "code-1", "gkp2=s")
    assert signed.headers["x-auth-code"] == "code-1"
    assert signed.headers["cookie"] == "gkp2=s"
    assert "x-auth-code" not in req.headers
    assert "code-1" not in repr(signed)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b"{}", "missing field(s) conversationId, model, messages, key, prompt"),
    ],
)
def test_parse_payload_names_what_is_wrong(body: bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match="Invalid Liaobots chat request") as err:
        parse_payload(body)
    assert fragment in str(err.value)


def test_parse_payload_rejects_bad_roles_and_models() -> None:
    good = build_payload(get_model("gpt-4"), "", MSGS)
    bad_role = {**good, "messages": [{"role": "tool", "content": "x"}]}
    with pytest.raises(ValueError, match=r"messages\[0\] must be"):
        parse_payload(json.dumps(bad_role).encode())
    bad_model = {**good, "model": {"id": "gpt-4"}}
    with pytest.raises(ValueError, match="'model' must be an object with id, name"):
        parse_payload(json.dumps(bad_model).encode())


def test_limits_count_characters_and_tokens() -> None:
    spec = ModelSpec(id="tiny", name="Tiny", maxLength=100, tokenLimit=20)
    check_limits(spec, "", [{"role": "user", "content": "x" * 40}])
    with pytest.raises(ContextOverflowError, match=r"101 characters.*at most 100"):
        check_limits(spec, "", [{"role": "user", "content": "x" * 101}])
    with pytest.raises(
        ContextOverflowError, match=r"tokens.*at most 20 \(tokenLimit\)"
    ):
        check_limits(spec, "", [{"role": "user", "content": "x" * 90}])


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


def test_default_prompt_is_the_specified_persona() -> None:
    assert "ChatGPT" in DEFAULT_PROMPT
    assert "markdown" in DEFAULT_PROMPT.lower()
