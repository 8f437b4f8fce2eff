"""URL and origin policy: URLs in, bare bases, origins and verdicts out.

* `normalize_base_url` reduces a user's ``base_url`` to the bare base the
  endpoint paths are appended to, refusing credentials, queries, fragments and
  the shapes below;
* `origin_of` is a base URL's ``scheme://host[:port]`` (the ``origin`` and
  ``referer`` headers);
* `strict_origin` reads a URL's `Origin` (scheme, host, port, the default
  port filled in; its ``str`` is safe to quote) only when every HTTP library
  reads the same one, and otherwise raises `AmbiguousURLError` saying what it
  refused; `same_origin` compares origins read that way (the redirect
  policy's test);
* `is_loopback` tells whether a URL's host is this machine.

The one origin policy: ``urllib3`` (the sync path), ``yarl`` (the async path)
and ``urllib.parse`` disagree about some URLs (``urllib3`` ends the host at a
backslash where ``urllib.parse`` reads on to an ``@``; ``urllib.parse`` drops
tabs and newlines; percent-escapes in a host are decoded by some). A URL is
read here only if it has none of those shapes: printable ASCII without
backslash or space, ``scheme://host[:port]`` with no ``user@`` part, a host of
dot-separated labels of letters, digits, ``-``, ``_``, ``~`` (or a bracketed
IPv6 address) and a port of digits. Every library reads such a URL's origin
alike (``tests/unit_tests/test_urls.py`` checks it against ``urllib.parse``,
``urllib3``, ``requests``' prepared URL and ``yarl``), so the origin compared
is the one the connection is opened to.

Nothing here touches a socket or resolves a name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from langchain_liaobots.wire.protocol import CHAT_PATH

__all__ = [
    "AmbiguousURLError",
    "Origin",
    "is_loopback",
    "normalize_base_url",
    "odd_character",
    "origin_of",
    "same_origin",
    "strict_origin",
]

_API_SUFFIXES: Final = (CHAT_PATH, "/api")

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

_SPLIT: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)
"""RFC 3986's reading of an absolute URL: scheme, authority, the rest."""

_HOST_PORT: Final = re.compile(
    r"""
    (?: (?P<name> [A-Za-z0-9_~-]+ (?: \.[A-Za-z0-9_~-]+ )* \.? )
      | \[ (?P<ipv6> [0-9A-Fa-f:.]+ ) \] )
    (?: : (?P<port> [0-9]{1,5} ) )?
    """,
    re.VERBOSE,
)
"""A host (a plain name or IPv4 address, or a bracketed IPv6 one) and a port."""


class AmbiguousURLError(ValueError):
    """A URL whose origin HTTP libraries could read differently; never read."""


@dataclass(frozen=True, slots=True)
class Origin:
    """A URL's origin as every HTTP library reads it.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The host, lower-cased (an IPv6 address compressed, without
            brackets).
        port: The port, the scheme's default filled in.
    """

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        """``scheme://host:port``, safe to quote (no path, query or credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def odd_character(text: str) -> str | None:
    """Name the first character of a URL that HTTP libraries treat differently.

    Args:
        text: A URL, or a part of one (a relative ``Location``).

    Returns:
        ``"holds <the character, and why>"``, or ``None`` if every character is
        printable ASCII other than a backslash.
    """
    for char in text:
        if char == "\\":
            return (
                "holds a backslash, which urllib3 reads as the end of the host "
                "and urllib.parse as part of it"
            )
        if not "!" <= char <= "~":
            kind = "a non-ASCII character" if char > "~" else "a control character"
            kind = "a space" if char == " " else kind
            return (
                f"holds {kind} (U+{ord(char):04X}), which HTTP libraries drop or keep"
            )
    return None


def strict_origin(url: str) -> Origin:
    """Read an absolute ``http``/``https`` URL's origin, only if it is unambiguous.

    Args:
        url: The URL.

    Returns:
        Its origin.

    Raises:
        AmbiguousURLError: If HTTP libraries could read its origin differently
            (a backslash, a control character, a space or a non-ASCII
            character anywhere; credentials, a percent-escape or another sign
            in the host; a port out of range), or it is not an absolute
            ``http``/``https`` URL. The message says what the URL has
            (``"holds a backslash, ..."``) and never repeats the URL.
    """
    problem = odd_character(url)
    if problem is not None:
        raise AmbiguousURLError(problem)
    split = _SPLIT.fullmatch(url)
    scheme = split.group(1).lower() if split else ""
    if split is None or scheme not in _DEFAULT_PORTS:
        raise AmbiguousURLError("is not an absolute http:// or https:// URL")
    authority = split.group(2)
    if "@" in authority:
        raise AmbiguousURLError("carries credentials (user@) before its host")
    parts = _HOST_PORT.fullmatch(authority)
    if parts is None:
        raise AmbiguousURLError(
            "has a host that is not a plain name (dot-separated labels of "
            "letters, digits, '-', '_', '~'), an IPv4 address or a bracketed IPv6 "
            "address, with an optional :port of digits"
        )
    port = int(parts["port"]) if parts["port"] else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise AmbiguousURLError(f"has port {port}, not in 1-65535")
    return Origin(scheme, _host(parts["name"], parts["ipv6"]), port)


def _host(name: str | None, ipv6: str | None) -> str:
    """A host as compared: a name lower-cased, an IPv6 address compressed."""
    if name:
        return name.lower()
    try:
        return ipaddress.IPv6Address(ipv6).compressed
    except ValueError:
        raise AmbiguousURLError(
            "has a bracketed host that is not an IPv6 address"
        ) from None


def origin_of(base_url: str) -> str:
    """Return ``scheme://host[:port]`` of a URL, without path or trailing slash.

    Args:
        base_url: An absolute ``http`` or ``https`` URL.

    Returns:
        The origin.

    Raises:
        ValueError: If the URL is not absolute ``http``/``https``.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = (
            f"base_url must be an absolute http(s) URL such as "
            f"'https://liaobots.com'; got {base_url!r}."
        )
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}"


def normalize_base_url(base_url: str, setting: str = "base_url") -> str:
    """Reduce a base URL to the bare base that the endpoint paths are appended to.

    Surrounding whitespace is dropped; a trailing slash and a trailing
    ``/api/chat`` or ``/api`` are removed (``https://liaobots.com/api/chat/``
    becomes ``https://liaobots.com``); another path (a proxy's prefix) is kept.

    Args:
        base_url: An absolute ``http``/``https`` URL.
        setting: Where the value came from, named in the error
            (``"base_url"``, or the environment variable that held it).

    Returns:
        The bare base URL.

    Raises:
        ValueError: If the URL carries credentials (``user:password@``), is not
            absolute ``http``/``https``, has a query or a fragment (which the
            endpoint paths cannot follow), or has a shape whose origin HTTP
            libraries read differently (`strict_origin`). The message names
            ``setting``; the credentials are never repeated.
    """
    base_url = base_url.strip()
    parts = urlsplit(base_url)
    if "@" in parts.netloc and odd_character(base_url) is None:
        msg = (
            f"{setting} must not carry credentials (user:password@host): they would "
            "be sent in the origin and referer headers and shown in traces and "
            "repr. Pass the auth code as auth= (a gateway's credentials as "
            f"default_headers=) and the address as {parts.scheme}://"
            f"{parts.netloc.rpartition('@')[2]}{parts.path}."
        )
        raise ValueError(msg)
    try:
        strict_origin(base_url)
    except AmbiguousURLError as exc:
        msg = (
            f"{setting} must be an absolute http(s) URL such as "
            f"'https://liaobots.com' (an internationalized host in its xn-- form); "
            f"it {exc}: {base_url!r}."
        )
        raise ValueError(msg) from None
    if "?" in base_url or "#" in base_url:
        msg = (
            f"{setting} must be the service's address without a query or fragment, "
            f"such as 'https://liaobots.com'; got {base_url!r}."
        )
        raise ValueError(msg)
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port, as every HTTP library reads them.

    Args:
        a: An absolute URL.
        b: Another absolute URL.

    Returns:
        True if both have the same origin; False if they differ or if either
        is one that `strict_origin` refuses.
    """
    try:
        return strict_origin(a) == strict_origin(b)
    except AmbiguousURLError:
        return False


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine (``localhost``, 127.0.0.0/8, ``::1``).

    Args:
        url: An absolute URL.

    Returns:
        True for a loopback host.
    """
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
