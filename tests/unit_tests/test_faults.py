"""emulator.faults: the fault specs of the command line and the test scripts."""

from __future__ import annotations

import pytest

from langchain_liaobots.emulator.faults import (
    UPSTREAM_MESSAGES,
    Answer,
    Cut,
    HtmlPage,
    SseError,
    Stall,
    Status,
    TooManyRequests,
    UpstreamError,
    parse_fault,
)
from langchain_liaobots.wire.protocol import USER_PATH


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
        ("upstream=quota", UpstreamError(message=UPSTREAM_MESSAGES["quota"])),
        ("upstream=context", UpstreamError()),
        ("upstream=Model overloaded", UpstreamError(message="Model overloaded")),
        (
            "upstream=key@/api/user",
            UpstreamError(message=UPSTREAM_MESSAGES["key"], path=USER_PATH),
        ),
    ],
)
def test_fault_specs(spec: str, behaviour: object) -> None:
    assert parse_fault(spec) == behaviour


@pytest.mark.parametrize(
    "spec", ["nope", "cut", "cut=x", "bytes=zz", "captcha=1", "upstream"]
)
def test_bad_fault_specs_say_what_is_accepted(spec: str) -> None:
    with pytest.raises(ValueError, match=repr(spec).replace("\\", "\\\\")):
        parse_fault(spec)
