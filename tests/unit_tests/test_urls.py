"""wire.urls: the one origin policy, checked against the parsers that open connections.

`strict_origin` reads a URL only when ``urllib.parse``, ``urllib3`` (and
``requests``' prepared URL, which the sync path connects to) and ``yarl`` (the
async path) all read the same scheme, host and port; the property tests build
hostile URLs from the shapes those parsers disagree on and check that every URL
accepted is read alike by all of them. No sockets.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yarl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from langchain_liaobots.wire.urls import (
    AmbiguousURLError,
    Origin,
    is_loopback,
    normalize_base_url,
    same_origin,
    strict_origin,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _key(scheme: str | None, host: str | None, port: int | None) -> tuple[Any, ...]:
    scheme = (scheme or "").lower()
    host = (host or "").strip("[]").lower()
    with contextlib.suppress(ValueError):
        host = ipaddress.IPv6Address(host).compressed
    return (scheme, host, port or _DEFAULT_PORTS.get(scheme))


def _readings(url: str) -> dict[str, tuple[Any, ...]]:
    """Each parser's (scheme, host, port) of a URL; a parser that fails raises."""
    split = urlsplit(url)
    lib3 = parse_url(url)
    prepared = parse_url(requests.Request("POST", url).prepare().url or "")
    async_url = yarl.URL(url)
    return {
        "urllib.parse": _key(split.scheme, split.hostname, split.port),
        "urllib3": _key(lib3.scheme, lib3.host, lib3.port),
        "requests": _key(prepared.scheme, prepared.host, prepared.port),
        "yarl": _key(async_url.scheme, async_url.raw_host, async_url.port),
    }


def _read_alike_or_refused(url: str) -> None:
    try:
        origin = strict_origin(url)
    except AmbiguousURLError:
        return
    expected = (origin.scheme, origin.host, origin.port)
    assert _readings(url) == dict.fromkeys(_readings(url), expected), url


_ODD = [
    *"ab1Z.:@\\%[]~_-;!$&'()*+,= \t\r\n/?#\x00\x7f\u00e9\uff0f\u3002",
    *("0", "9", "::1", "%5c", "%40", "%2e"),
]
_pieces = st.lists(st.sampled_from(_ODD), max_size=14).map("".join)
_built = st.builds(
    lambda scheme, authority, rest: f"{scheme}://{authority}{rest}",
    st.sampled_from(["http", "https", "HTTP", "ftp", "http:"]),
    _pieces,
    _pieces,
)
_templates = st.sampled_from(
    [
        "http://127.0.0.1:1000/api/chat",
        "http://127.0.0.1:2000@127.0.0.1:1000/api/chat",
        "http://[::1]:1000/x",
        "https://Example.COM./a",
        "http://a_b~c-d:08/",
    ]
)
_edits = st.lists(st.tuples(st.integers(0, 45), st.sampled_from(_ODD)), max_size=4)


def _mutated(template: str, edits: list[tuple[int, str]]) -> str:
    for at, text in edits:
        template = template[:at] + text + template[at:]
    return template


def _property(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@_property(400)
@given(st.one_of(_built, st.builds(_mutated, _templates, _edits), st.text()))
def test_every_url_accepted_is_read_alike_by_every_parser(url: str) -> None:
    _read_alike_or_refused(url)


@pytest.mark.long
@_property(20_000)
@given(st.one_of(_built, st.builds(_mutated, _templates, _edits), st.text()))
def test_every_url_accepted_is_read_alike_by_every_parser_long(url: str) -> None:
    _read_alike_or_refused(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:2000\\@127.0.0.1:1000/api/chat", "backslash"),
        ("http:\\\\127.0.0.1:2000/x", "backslash"),
        ("http://127.0.0.1:2000\t@127.0.0.1:1000/x", "control character (U+0009)"),
        ("http://127.0.0.1:1000\n/x", "control character (U+000A)"),
        ("http://127.0.0.1:1000\r/x", "control character (U+000D)"),
        ("http://127.0.0.1:1000\x00/x", "control character (U+0000)"),
        (" http://127.0.0.1:1000/x", "space (U+0020)"),
        ("http://127.0.0.1:1000 /x", "space"),
        ("http://127.0.0.1\uff0f@e/x", "non-ASCII character (U+FF0F)"),
        ("http://b\u00fccher.example/", "non-ASCII"),
        ("http://user@127.0.0.1:1000/x", "credentials"),
        ("http://127.0.0.1:1000;@127.0.0.1:2000/", "credentials"),
        ("http://127.0.0.1:2000@127.0.0.1:1000/", "credentials"),
        ("http://127.0.0.1%3a2000/x", "not a plain name"),
        ("http://127.0.0.1:1000%2f@e/x", "credentials"),
        ("http://e:1:2/x", "not a plain name"),
        ("http://e:/x", "not a plain name"),
        ("http://.e/x", "not a plain name"),
        ("http://a..b/x", "not a plain name"),
        ("http://[::1%25lo]:1/x", "not a plain name"),
        ("http://[1:2:3]:1/x", "not an IPv6 address"),
        ("http://e:99999/x", "port 99999"),
        ("http://e:0/x", "port 0"),
        ("ftp://e/x", "not an absolute http"),
        ("//e/x", "not an absolute http"),
        ("/api/chat", "not an absolute http"),
        ("http:/e/x", "not an absolute http"),
    ],
)
def test_ambiguous_shapes_are_refused_naming_the_shape(url: str, problem: str) -> None:
    with pytest.raises(AmbiguousURLError, match=r"^(holds|carries|has|is) ") as err:
        strict_origin(url)
    assert problem in str(err.value)
    assert url not in str(err.value)
    assert not same_origin(url, url)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:1000/api/chat", Origin("http", "127.0.0.1", 1000)),
        ("HTTPS://Example.COM/a?b#c", Origin("https", "example.com", 443)),
        ("http://e:080/", Origin("http", "e", 80)),
        ("http://[0:0::1]:9/", Origin("http", "::1", 9)),
        ("http://e/x\\y", None),  # a backslash anywhere is refused
        ("http://e#@f:1/", Origin("http", "e", 80)),
        ("http://e?@f:1/", Origin("http", "e", 80)),
    ],
)
def test_plain_shapes_are_read(url: str, origin: Origin | None) -> None:
    if origin is None:
        with pytest.raises(AmbiguousURLError):
            strict_origin(url)
        return
    assert strict_origin(url) == origin
    _read_alike_or_refused(url)


def test_an_ipv6_origin_is_shown_in_brackets() -> None:
    assert str(strict_origin("http://[::1]/")) == "http://[::1]:80"
    assert str(strict_origin("HTTPS://H.example/")) == "https://h.example:443"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://h:80/a", "http://H/b", True),
        ("https://h/a", "https://h:443/b", True),
        ("http://h/a", "https://h/a", False),
        ("http://h:1/a", "http://h:2/a", False),
        ("http://h/a", "http://g/a", False),
        ("http://127.0.0.1/a", "http://localhost/a", False),
        ("http://h:2\\@h:1/a", "http://h:1/a", False),
        ("http://x@h:1/a", "http://h:1/a", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same


def test_loopback_hosts() -> None:
    assert is_loopback("http://127.0.0.1:9")
    assert is_loopback("http://127.8.0.1")
    assert is_loopback("http://[::1]:9")
    assert is_loopback("http://LOCALHOST")
    assert not is_loopback("http://10.0.0.1")
    assert not is_loopback("http://example.com")


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("http://127.0.0.1:2\\@127.0.0.1:1", "backslash"),
        ("http://127.0.0.1:1\t/x", "control character"),
        ("http://b\u00fccher.example", "xn--"),
        ("http://127.0.0.1:1:2", "not a plain name"),
        ("liaobots.com", "absolute http(s) URL"),
    ],
)
def test_a_base_url_of_an_ambiguous_shape_is_refused_naming_the_setting(
    given: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=r"^LIAOBOTS_BASE_URL must be") as err:
        normalize_base_url(given, setting="LIAOBOTS_BASE_URL")
    assert problem in str(err.value)


def test_surrounding_whitespace_of_a_base_url_is_dropped() -> None:
    assert normalize_base_url(" http://127.0.0.1:9/api/chat\n") == "http://127.0.0.1:9"
