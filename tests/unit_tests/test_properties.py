"""Property-based tests of the sans-I/O core (hypothesis), no sockets.

Arbitrary message lists give a valid payload or a clear ``ValueError`` /
``TypeError``; arbitrary bytes split anywhere give exactly the text (or the same
typed error) as the body read whole; the JSON readers, the redirect rule and
``Retry-After`` never fail any other way; a model's reply split anywhere gives
the reply parser's result for it whole, with no call text left in the content.
Each property runs twice: a short run in the default suite, and a ``long`` run
of 10,000 examples (``make fuzz``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_liaobots.account import parse_account
from langchain_liaobots.emulator.codec import encode_sse, parse_payload
from langchain_liaobots.errors import LiaobotsError, LiaobotsRedirectError
from langchain_liaobots.prompt.messages import to_wire
from langchain_liaobots.prompt.reply import ReplyParser
from langchain_liaobots.registry import ModelSpec
from langchain_liaobots.wire.request import Request, build_request, follow_redirect
from langchain_liaobots.wire.response import AnswerReader, StopScanner, decode_json
from langchain_liaobots.wire.retries import parse_retry_after
from langchain_liaobots.wire.urls import same_origin

SHORT_EXAMPLES = 60
LONG_EXAMPLES = 10_000
BIG = ModelSpec(
    id="fuzz", name="Fuzz", maxLength=10**9, tokenLimit=10**9, provider="Fuzz"
)
BASE = "http://127.0.0.1:8765"


def property_test(
    *strategies: st.SearchStrategy[Any],
) -> Callable[[Callable[..., None]], tuple[Any, Any]]:
    """Make a short test and a ``long``-marked 10,000-example test of one body."""

    def make(body: Callable[..., None]) -> tuple[Any, Any]:
        def run(examples: int) -> Any:
            return settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            )(given(*strategies)(body))

        return run(SHORT_EXAMPLES), pytest.mark.long(run(LONG_EXAMPLES))

    return make


# -- strategies ----------------------------------------------------------------

texts = st.text(max_size=30)
blocks = st.one_of(
    texts,
    st.builds(lambda t: {"type": "text", "text": t}, texts),
    st.builds(
        lambda kind: {"type": kind, "url": "x"},
        st.sampled_from(["image_url", "image", "file", "audio"]),
    ),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
contents = st.one_of(texts, st.lists(blocks, max_size=3))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(min_size=1, max_size=10),
            "args": st.dictionaries(st.text(max_size=5), json_values, max_size=2),
            "id": st.text(min_size=1, max_size=6),
        }
    ),
    max_size=2,
)
messages = st.lists(
    st.one_of(
        st.builds(SystemMessage, content=contents),
        st.builds(HumanMessage, content=contents),
        st.builds(AIMessage, content=contents, tool_calls=tool_calls),
        st.builds(
            ChatMessage,
            role=st.sampled_from(["user", "Human", "assistant", "ai", "system", "x"]),
            content=contents,
        ),
        st.builds(
            ToolMessage,
            content=contents,
            tool_call_id=st.text(min_size=1, max_size=6),
            status=st.sampled_from(["success", "error"]),
        ),
        st.builds(FunctionMessage, name=st.just("f"), content=contents),
    ),
    max_size=6,
)
plain_turns = st.lists(
    st.tuples(st.sampled_from(["user", "assistant"]), texts), min_size=1, max_size=6
)
formats = st.sampled_from(["2023", "2025"])


def splits(data_size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, data_size), max_size=8).map(sorted)


def cut(data: Any, cuts: list[int]) -> list[Any]:
    """Split ``data`` (bytes or str) at the given offsets (clamped, sorted)."""
    edges = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """What ``fn(*args)`` returns, or the exception it raises."""
    try:
        return fn(*args)
    except Exception as exc:
        return exc


@st.composite
def body_and_cuts(draw: st.DrawFn, body: st.SearchStrategy[bytes]) -> list[bytes]:
    data = draw(body)
    return cut(data, draw(splits(len(data))))


def _read(pieces: list[bytes], content_type: str | None, stop: list[str]) -> Any:
    """The text a reader returns for these pieces, or the error it raised."""
    reader = AnswerReader(content_type, stop)
    out: list[str] = []
    try:
        for piece in pieces:
            out.append(reader.feed(piece))
            if reader.stopped:
                break
        out.append(reader.finish())
    except LiaobotsError as err:
        return (type(err), str(err), err.partial_text)
    assert "".join(out) == reader.text
    return reader.text


content_types = st.sampled_from(
    [None, "text/plain", "text/plain; charset=utf-8", "application/octet-stream"]
)


def _starts_like_markup(text: str) -> bool:
    start = text.lstrip().lower()
    return start.startswith(("<!doctype html", "<html", "data:"))


# -- message conversion -> payload ------------------------------------------------


def _messages_give_a_payload_or_a_clear_error(
    msgs: list[BaseMessage], body_format: Any
) -> None:
    converted = outcome(to_wire, msgs, "default prompt")
    if isinstance(converted, Exception):
        assert type(converted) in (ValueError, TypeError), converted
        assert str(converted)
        return
    prompt, wire = converted
    request = build_request(BASE, BIG, prompt, wire, body_format=body_format)
    payload = parse_payload(request.body)
    assert payload["messages"] == wire
    assert payload["prompt"] == prompt
    assert {m["role"] for m in wire} <= {"user", "assistant"}


test_messages_payload, test_messages_payload_long = property_test(messages, formats)(
    _messages_give_a_payload_or_a_clear_error
)


def _plain_turns_are_carried_exactly(
    turns: list[tuple[str, str]], system: list[str], body_format: Any
) -> None:
    cls = {"user": HumanMessage, "assistant": AIMessage}
    msgs: list[BaseMessage] = [SystemMessage(s) for s in system]
    msgs += [cls[role](content=text) for role, text in turns]
    prompt, wire = to_wire(msgs, "default prompt")
    assert wire == [{"role": r, "content": t} for r, t in turns]
    assert prompt == ("\n\n".join(system) if system else "default prompt")
    request = build_request(BASE, BIG, prompt, wire, body_format=body_format)
    assert parse_payload(request.body)["messages"] == wire


test_plain_turns, test_plain_turns_long = property_test(
    plain_turns, st.lists(texts, max_size=2), formats
)(_plain_turns_are_carried_exactly)


# -- decoding ------------------------------------------------------------------


def _raw_text_split_anywhere_is_exact(
    text: str, cuts: list[int], content_type: str | None
) -> None:
    if _starts_like_markup(text):
        return
    assert _read(cut(text.encode(), cuts), content_type, []) == text


test_raw_text, test_raw_text_long = property_test(
    st.text(max_size=60), splits(240), content_types
)(_raw_text_split_anywhere_is_exact)


def _any_bytes_split_anywhere_match_the_whole(
    pieces: list[bytes], content_type: str | None
) -> None:
    data = b"".join(pieces)
    whole = _read([data], content_type, [])
    assert _read(pieces, content_type, []) == whole
    lenient = data.decode("utf-8", "replace")
    if content_type in (None, "text/plain") and not _starts_like_markup(lenient):
        assert whole == lenient


test_any_bytes, test_any_bytes_long = property_test(
    body_and_cuts(st.binary(max_size=80)),
    st.sampled_from([None, "text/plain", "text/event-stream", "text/html"]),
)(_any_bytes_split_anywhere_match_the_whole)


sse_events = st.lists(
    st.one_of(
        st.builds(lambda t: {"role": "assistant", "content": t}, texts),
        st.builds(lambda t: {"content": t}, texts),
        st.builds(lambda t: {"role": "user", "content": t}, texts),
        st.just({"role": "assistant"}),
        st.builds(lambda n: {"id": n}, st.integers()),
    ),
    max_size=6,
)


def _sse_events_split_anywhere_give_their_text(
    events: list[dict[str, Any]], done: bool, cuts: list[int], sniff: bool
) -> None:
    body = b"".join(encode_sse(e) for e in events) + (encode_sse(None) if done else b"")
    pieces = cut(body, cuts)
    expected = "".join(
        e["content"] for e in events if "content" in e and e.get("role") != "user"
    )
    content_type = None if sniff and body else "text/event-stream"
    assert _read(pieces, content_type, []) == expected


test_sse, test_sse_long = property_test(
    sse_events, st.booleans(), splits(400), st.booleans()
)(_sse_events_split_anywhere_give_their_text)


def _stop_sequences_cut_before_the_first(
    text: str, stops: list[str], cuts: list[int]
) -> None:
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    expected = text[: min(hits)] if hits else text
    scanner = StopScanner(stops)
    out = "".join(scanner.feed(piece) for piece in cut(text, cuts))
    assert out + scanner.flush() == expected
    assert scanner.stopped == bool(hits)


test_stop, test_stop_long = property_test(
    st.text(alphabet="ab<>ne d", max_size=40),
    st.lists(st.text(alphabet="ab<>ne d", max_size=4), max_size=3),
    splits(40),
)(_stop_sequences_cut_before_the_first)


# -- the reply parser -------------------------------------------------------------

_WEATHER = '"name": "get_weather", "arguments": {"city": "巴黎 {x}"}'
# (text, calls it makes, whether it leaves text that is not plain prose)
reply_fragments = st.sampled_from(
    [
        ("Sure, let me check. ", 0, False),
        ("\n\nOne moment.\n", 0, False),
        ("Thought: I should ask.\n", 0, False),
        ("{" + _WEATHER + "}", 1, False),
        ('```json\n{"tool_calls": [{' + _WEATHER + "}]}\n```\n", 1, False),
        ("```JSON\n{tool_calls: [{'name': 'a', args: {},},],}\n```", 1, False),
        (
            '[{"type": "function", "function": {"name": "b", "arguments": "{}"}}]',
            1,
            False,
        ),
        ('{"function_call": {"name": "c", "arguments": "{\\"k\\": 1}"}}', 1, False),
        ("\nAction: get_weather\nAction Input: {'city': 'Oslo'}\n", 1, False),
        ("\nAction: get_weather\nAction Input: Oslo\n", 1, False),
        ('{"tool_calls": [{"arguments": {}}]}', 1, False),
        ('Data: {"name": "Bob", "age": 3} ', 0, True),
        ("```python\nprint({'a': [1]})\n```\n", 0, True),
        ("[1, {2}] `x` {y} ", 0, True),
        ("Action: nothing.\n", 0, True),
        ('{"tool_calls": [{"name": "cut", "arguments": {"a": "}', 0, True),
    ]
)


def _parse_reply(
    pieces: list[str], json_only: bool
) -> tuple[Any, list[str], dict[str, str]]:
    ids = (f"id{i}" for i in itertools.count())
    parser = ReplyParser(tool_calls=True, json_only=json_only, new_id=lambda: next(ids))
    out = [p for piece in pieces for p in parser.feed(piece)] + parser.finish()
    text = "".join(p for p in out if isinstance(p, str))
    calls = [(c["name"], c["args"], c["id"]) for c in out if not isinstance(c, str)]
    return (text, calls), parser.valid_calls, dict(parser.errors)


def _replies_split_anywhere_parse_as_whole(
    fragments: list[tuple[str, int, bool]], cuts: list[int], json_only: bool
) -> None:
    reply = "".join(f[0] for f in fragments)
    whole = _parse_reply([reply], json_only)
    assert _parse_reply(cut(reply, cuts), json_only) == whole
    (text, calls), valid, errors = whole
    if not any(f[2] for f in fragments):  # only prose and complete calls
        assert len(calls) == sum(f[1] for f in fragments)
        assert len(valid) + len(errors) == len(calls)
        if not json_only:
            assert not set(text) & set("{}[]`"), text
            assert "Action" not in text


test_reply_splits, test_reply_splits_long = property_test(
    st.lists(reply_fragments, max_size=6), splits(400), st.booleans()
)(_replies_split_anywhere_parse_as_whole)


# -- the JSON readers, redirects, Retry-After ---------------------------------------


def _chat_bodies_parse_or_say_what_is_wrong(body: bytes) -> None:
    payload = outcome(parse_payload, body)
    if isinstance(payload, Exception):
        assert type(payload) is ValueError, payload
        assert "Invalid Liaobots chat request" in str(payload)
    else:
        assert isinstance(payload, dict)


def _payload_like(value: Any) -> bytes:
    return json.dumps(value).encode()


test_parse_payload, test_parse_payload_long = property_test(
    st.one_of(
        st.binary(max_size=40),
        st.dictionaries(
            st.sampled_from(
                ["conversationId", "model", "models", "messages", "key", "prompt"]
            ),
            json_values,
        ).map(_payload_like),
    )
)(_chat_bodies_parse_or_say_what_is_wrong)


def _json_answers_give_a_state_or_a_typed_error(body: bytes) -> None:
    state = outcome(lambda: parse_account(decode_json(body, 200, "/api/user")))
    if isinstance(state, Exception):
        assert isinstance(state, LiaobotsError), state
    else:
        assert state.auth_code.get_secret_value()


test_account_reader, test_account_reader_long = property_test(
    st.one_of(
        st.binary(max_size=30),
        json_values.map(_payload_like),
        st.dictionaries(
            st.sampled_from(["authCode", "balance", "data", "referral"]), json_values
        ).map(_payload_like),
    )
)(_json_answers_give_a_state_or_a_typed_error)


def _redirects_never_leave_the_origin(location: str, status: int, hops: int) -> None:
    headers = {"x-auth-code": "SECRET-CODE-42"}
    request = Request(url=BASE + "/api/chat", headers=headers, body=b"")
    target = outcome(follow_redirect, request, status, location, hops)
    if isinstance(target, Exception):
        assert type(target) is LiaobotsRedirectError, target
        assert "SECRET-CODE-42" not in str(target)
    else:
        assert same_origin(target.url, BASE)
        assert status in (307, 308)
        assert hops < 5


test_redirects, test_redirects_long = property_test(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["/api/chat", "//evil.example/api", "https://127.0.0.1:8765/"]),
        st.builds(lambda p: f"http://127.0.0.1:{p}/x", st.integers(0, 70000)),
    ),
    st.sampled_from([301, 302, 303, 307, 308]),
    st.integers(0, 7),
)(_redirects_never_leave_the_origin)


def _retry_after_is_absent_or_non_negative(value: str) -> None:
    seconds = parse_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or seconds >= 0


test_retry_after, test_retry_after_long = property_test(
    st.one_of(
        st.text(max_size=30),
        st.floats().map(str),
        st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "nan", "inf"]),
    )
)(_retry_after_is_absent_or_non_negative)
